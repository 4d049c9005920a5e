//! pool-redis's tests: the shared conformance suite and binary tests
//! against the local mode (each run on a private broker of its own), then
//! what only a broker-backed pool has: remote worker processes, a worker
//! killed mid-job, the broker lost mid-run, bad URLs, the private broker's
//! clean-up.

pool_core::conformance_tests!(pool_redis::Redis);
pool_core::binary_tests!(env!("CARGO_BIN_EXE_pool-redis"));

mod broker;
mod distributed;
mod support;
