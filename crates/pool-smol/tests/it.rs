//! The shared conformance suite and binary tests, run against the smol backend, in both flavors.

pool_testkit::conformance_tests!(pool_smol::Smol);
pool_testkit::binary_tests!(env!("CARGO_BIN_EXE_pool-smol"));

// The tuned flavor, through the same suite and the same binary tests.
pool_testkit::conformance_tests!(pool_core::tuned::Tuned<pool_smol::Smol>, mod conformance_tuned);
pool_testkit::binary_tests!(env!("CARGO_BIN_EXE_pool-smol"), mod binary_tuned, flavor = "tuned");

/// Both kinds of tuned task, with 1,000 workers, whole and cancelled.
#[test]
fn tuned_tasks_conform_with_many_workers_and_a_cancel() {
    pool_testkit::many_tasks_conform_and_cancel::<pool_smol::Smol>();
}

const BIN: &str = env!("CARGO_BIN_EXE_pool-smol");

/// The OS refuses an executor thread (or async-io's own): status 3, one
/// line, no panic, no hang.
#[test]
#[cfg(unix)] // a thread limit by setpriv and prlimit
fn refused_thread() {
    let args = ["--threads", "50", "-j", "1000", "--work", "noop", "--format", "jsonl"];
    let Some(out) = pool_testkit::run_with_thread_limit(BIN, 8, &args) else {
        eprintln!("{BIN}: not root, or no setpriv or prlimit: the thread limit cannot be set; not checked");
        return;
    };
    pool_testkit::assert_refused_thread(BIN, &args, 1000, &out);
}

/// A thousand sleeping workers hold no thread: `-w 1000` of `sleep:500ms`
/// on two executor threads ends in about one sleep, every worker's job
/// running at once.
#[test]
fn many_sleeping_workers_share_two_threads() {
    let args = ["--threads", "2", "-w", "1000", "-j", "1000", "--work", "sleep:500ms", "--format", "jsonl"];
    let out = pool_testkit::output_within(std::process::Command::new(BIN).args(args));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let records = pool_core::Format::Jsonl.parse(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert_eq!(pool_core::max_in_flight(&records), Some(1_000));
}

/// The OS refuses async-io's own thread, the one its timers fall back on,
/// while the executor's would fit: that is a refused thread too, found
/// before any job is handed out (async-io panics there).
#[test]
#[cfg(unix)] // a thread limit by setpriv and prlimit
fn refused_async_io_thread() {
    let args = ["--threads", "1", "-j", "100", "--work", "sleep:1ms", "--format", "jsonl"];
    let Some(out) = pool_testkit::run_with_thread_limit(BIN, 3, &args) else {
        eprintln!("{BIN}: not root, or no setpriv or prlimit: the thread limit cannot be set; not checked");
        return;
    };
    pool_testkit::assert_refused_thread(BIN, &args, 100, &out);
}
