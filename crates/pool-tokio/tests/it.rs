//! The shared conformance suite and binary tests, run against the tokio backend.

pool_core::conformance_tests!(pool_tokio::Tokio);
pool_core::binary_tests!(env!("CARGO_BIN_EXE_pool-tokio"));
