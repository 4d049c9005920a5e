//! The shared conformance suite and binary tests, run against the std backend.

pool_core::conformance_tests!(pool_std::Std);
pool_core::binary_tests!(env!("CARGO_BIN_EXE_pool-std"));
