//! The shared conformance suite and binary tests, run against the rayon backend.

pool_core::conformance_tests!(pool_rayon::Rayon);
pool_core::binary_tests!(env!("CARGO_BIN_EXE_pool-rayon"));
