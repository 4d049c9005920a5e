//! pool-redis's tests: the shared conformance suite and binary tests
//! against the local mode (each run on a private broker of its own), then
//! what only a broker-backed pool has: remote worker processes, a worker
//! killed mid-job, the broker lost mid-run, bad URLs, the private broker's
//! clean-up.

pool_core::conformance_tests!(pool_redis::Redis);
// Sized: every job is a round trip to the broker (tens of microseconds), so
// the shared three million would take minutes; 200,000 jobs through a
// 1,024-entry queue still hold the stream (and the broker's memory) flat.
pool_core::binary_tests!(env!("CARGO_BIN_EXE_pool-redis"), bounded_memory_jobs = 200_000);

mod broker;
mod distributed;
mod support;
