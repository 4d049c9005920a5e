//! The shared conformance suite and binary tests, run against the tokio backend, in both flavors.

pool_core::conformance_tests!(pool_tokio::Tokio);
pool_core::binary_tests!(env!("CARGO_BIN_EXE_pool-tokio"));

// The tuned flavor, through the same suite and the same binary tests.
pool_core::conformance_tests!(pool_core::tuned::Tuned<pool_tokio::Tokio>, mod conformance_tuned);
pool_core::binary_tests!(env!("CARGO_BIN_EXE_pool-tokio"), mod binary_tuned, flavor = "tuned");
