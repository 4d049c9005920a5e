//! The shared conformance suite and binary tests, run against the rayon backend, in both flavors.

pool_testkit::conformance_tests!(pool_rayon::Rayon);
pool_testkit::binary_tests!(env!("CARGO_BIN_EXE_pool-rayon"));

// The tuned flavor, through the same suite and the same binary tests.
pool_testkit::conformance_tests!(pool_core::tuned::Tuned<pool_rayon::Rayon>, mod conformance_tuned);
pool_testkit::binary_tests!(env!("CARGO_BIN_EXE_pool-rayon"), mod binary_tuned, flavor = "tuned");

/// The OS refuses a worker's thread: status 3, one line, a valid partial log.
#[test]
#[cfg(unix)] // a thread limit by setpriv and prlimit
fn refused_thread() {
    pool_testkit::binary_refused_thread(env!("CARGO_BIN_EXE_pool-rayon"), &["-w", "50"]);
}

/// The OS starts the pool's threads but refuses the one that feeds them
/// (the limit is 8 threads: the main one, the signal watcher and 6
/// workers): status 3 and one line, not a panic, and every worker exits.
#[test]
#[cfg(unix)] // a thread limit by setpriv and prlimit
fn refused_feeding_thread() {
    pool_testkit::binary_refused_thread(env!("CARGO_BIN_EXE_pool-rayon"), &["-w", "6"]);
}

/// The ablation's diagnostic flavors keep the contract.
#[test]
#[cfg(unix)] // flavors by a `sh` script
fn diagnostic_flavors() {
    pool_testkit::binary_diagnostic_flavors(env!("CARGO_BIN_EXE_pool-rayon"));
}
