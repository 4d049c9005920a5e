//! pool-redis's tests: the shared conformance suite and binary tests
//! against the local mode (each run on a private broker of its own), then
//! what only a broker-backed pool has: remote worker processes, a worker
//! killed mid-job, the broker lost mid-run, bad URLs, the private broker's
//! clean-up.
//!
//! Every test that starts a broker carries
//! `#[cfg_attr(no_redis_server, ignore = …)]`: `build.rs` sets that cfg on a
//! machine without `redis-server` on PATH (unless `CI` or
//! `POOL_REDIS_REQUIRED` is set), so there they are reported as ignored,
//! with the reason, and the rest still run.
//!
//! Unix only: the tests' brokers listen on unix sockets, and they stop and
//! signal worker processes (SIGSTOP, SIGINT).
#![cfg(unix)]

pool_testkit::conformance_tests!(
    pool_redis::Redis,
    #[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
);
// Sized: every job is a round trip to the broker (tens of microseconds), so
// the shared three million would take minutes; 200,000 jobs through a
// 1,024-entry queue still hold the stream (and the broker's memory) flat.
pool_testkit::binary_tests!(
    env!("CARGO_BIN_EXE_pool-redis"),
    bounded_memory_jobs = 200_000,
    #[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
);

// The tuned flavor (batches per round trip), through the same suites.
pool_testkit::conformance_tests!(
    pool_core::tuned::Tuned<pool_redis::Redis>,
    mod conformance_tuned,
    #[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
);
pool_testkit::binary_tests!(
    env!("CARGO_BIN_EXE_pool-redis"),
    mod binary_tuned,
    flavor = "tuned",
    bounded_memory_jobs = 200_000,
    #[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
);

// Network namespaces are Linux's.
#[cfg(target_os = "linux")]
mod across_hosts;
mod broker;
mod distributed;
#[cfg(target_os = "linux")]
mod hosts;
mod support;
#[cfg(all(target_os = "linux", feature = "tls"))]
mod tls;
mod tuned;
