//! The shared conformance suite, run against the sequential baseline, so the
//! suite itself is checked on the simplest correct pool.

pool_testkit::conformance_tests!(pool_core::Sequential, concurrent = false);
pool_testkit::binary_tests!(env!("CARGO_BIN_EXE_pool-sequential"), concurrent = false);
