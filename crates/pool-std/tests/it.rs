//! The shared conformance suite and binary tests, run against the std backend, in both flavors.

pool_testkit::conformance_tests!(pool_std::Std);
pool_testkit::binary_tests!(env!("CARGO_BIN_EXE_pool-std"));

// The tuned flavor, through the same suite and the same binary tests.
pool_testkit::conformance_tests!(pool_core::tuned::Tuned<pool_std::Std>, mod conformance_tuned);
pool_testkit::binary_tests!(env!("CARGO_BIN_EXE_pool-std"), mod binary_tuned, flavor = "tuned");

/// The OS refuses a worker's thread: status 3, one line, a valid partial log.
#[test]
#[cfg(unix)] // a thread limit by setpriv and prlimit
fn refused_thread() {
    pool_testkit::binary_refused_thread(env!("CARGO_BIN_EXE_pool-std"), &["-w", "50"]);
}

/// The ablation's diagnostic flavors keep the contract.
#[test]
#[cfg(unix)] // flavors by a `sh` script
fn diagnostic_flavors() {
    pool_testkit::binary_diagnostic_flavors(env!("CARGO_BIN_EXE_pool-std"));
}
