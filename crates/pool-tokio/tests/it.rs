//! The shared conformance suite and binary tests, run against the tokio backend, in both flavors.

pool_core::conformance_tests!(pool_tokio::Tokio);
pool_core::binary_tests!(env!("CARGO_BIN_EXE_pool-tokio"));

// The tuned flavor, through the same suite and the same binary tests.
pool_core::conformance_tests!(pool_core::tuned::Tuned<pool_tokio::Tokio>, mod conformance_tuned);
pool_core::binary_tests!(env!("CARGO_BIN_EXE_pool-tokio"), mod binary_tuned, flavor = "tuned");

const BIN: &str = env!("CARGO_BIN_EXE_pool-tokio");

/// The OS refuses a runtime thread: status 3, one line, no panic, no hang
/// (tokio's builder panics there, and then waits for ever).
#[test]
fn refused_thread() {
    pool_core::testing::binary_refused_thread(BIN, &["--threads", "50"]);
}

/// The same where the address space is too small for the threads' stacks
/// (`ulimit -v`, which root cannot ignore): 1024 threads of 2 MiB in 300 MB.
#[test]
fn refused_thread_stacks() {
    for flavor in ["textbook", "tuned"] {
        let args = ["--flavor", flavor, "--threads", "1024", "-j", "1000", "--work", "noop", "--format", "jsonl"];
        let out = pool_core::testing::run_with_ulimit(BIN, "-v 300000", &args);
        pool_core::testing::assert_refused_thread(BIN, &args, 1000, &out);
    }
}

/// With CPU work on blocking threads, one is started with the runtime: a
/// refusal there is an error like any other, not a panic in a worker task
/// later (tokio panics if the OS refuses a blocking thread while it has
/// none). With room for the runtime's 3 threads (and the main, signal and
/// start-up threads) but not one more, the same run succeeds with CPU work
/// inline and is refused with it on blocking threads.
#[test]
fn refused_blocking_thread() {
    let run = |cpu_jobs: &'static str| {
        let args = ["--threads", "3", "--cpu-jobs", cpu_jobs, "-j", "200", "--work", "spin:10us", "--format", "jsonl"];
        pool_core::testing::run_with_thread_limit(BIN, 6, &args).map(|out| (args, out))
    };
    let Some((_, inline)) = run("inline") else {
        eprintln!("{BIN}: not root, or no setpriv or prlimit: the thread limit cannot be set; not checked");
        return;
    };
    let stderr = String::from_utf8_lossy(&inline.stderr);
    assert_eq!(inline.status.code(), Some(0), "--cpu-jobs inline under 6 threads: {stderr}");
    for cpu_jobs in ["spawn-blocking", "block-in-place"] {
        let (args, out) = run(cpu_jobs).expect("the limit was set before");
        pool_core::testing::assert_refused_thread(BIN, &args, 200, &out);
    }
}

/// The ablation's diagnostic flavors keep the contract.
#[test]
fn diagnostic_flavors() {
    pool_core::testing::binary_diagnostic_flavors(env!("CARGO_BIN_EXE_pool-tokio"));
}
