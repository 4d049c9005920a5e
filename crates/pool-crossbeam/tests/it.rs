//! The shared conformance suite and binary tests, run against the crossbeam backend.

pool_core::conformance_tests!(pool_crossbeam::Crossbeam);
pool_core::binary_tests!(env!("CARGO_BIN_EXE_pool-crossbeam"));
