//! The shared conformance suite and binary tests, run against the crossbeam backend, in both flavors.

pool_testkit::conformance_tests!(pool_crossbeam::Crossbeam);
pool_testkit::binary_tests!(env!("CARGO_BIN_EXE_pool-crossbeam"));

// The tuned flavor, through the same suite and the same binary tests.
pool_testkit::conformance_tests!(pool_core::tuned::Tuned<pool_crossbeam::Crossbeam>, mod conformance_tuned);
pool_testkit::binary_tests!(env!("CARGO_BIN_EXE_pool-crossbeam"), mod binary_tuned, flavor = "tuned");

/// The OS refuses a worker's thread: status 3, one line, a valid partial log.
#[test]
#[cfg(unix)] // a thread limit by setpriv and prlimit
fn refused_thread() {
    pool_testkit::binary_refused_thread(env!("CARGO_BIN_EXE_pool-crossbeam"), &["-w", "50"]);
}

/// The ablation's diagnostic flavors keep the contract.
#[test]
#[cfg(unix)] // flavors by a `sh` script
fn diagnostic_flavors() {
    pool_testkit::binary_diagnostic_flavors(env!("CARGO_BIN_EXE_pool-crossbeam"));
}
