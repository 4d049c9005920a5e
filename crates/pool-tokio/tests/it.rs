//! The shared conformance suite and binary tests, run against the tokio backend, in both flavors.

pool_testkit::conformance_tests!(pool_tokio::Tokio);
pool_testkit::binary_tests!(env!("CARGO_BIN_EXE_pool-tokio"));

// The tuned flavor, through the same suite and the same binary tests.
pool_testkit::conformance_tests!(pool_core::tuned::Tuned<pool_tokio::Tokio>, mod conformance_tuned);
pool_testkit::binary_tests!(env!("CARGO_BIN_EXE_pool-tokio"), mod binary_tuned, flavor = "tuned");

#[cfg(unix)]
const BIN: &str = env!("CARGO_BIN_EXE_pool-tokio");

/// The OS refuses a runtime thread: status 3, one line, no panic, no hang
/// (tokio's builder panics there, and then waits for ever).
#[test]
#[cfg(unix)] // a thread limit by setpriv and prlimit
fn refused_thread() {
    pool_testkit::binary_refused_thread(BIN, &["--threads", "50"]);
}

/// The same where the address space is too small for the threads' stacks
/// (`ulimit -v`, which root cannot ignore): `--threads 1024` of 2 MiB each
/// under a limit 1 MiB above what a run with one runtime thread holds, so
/// the second thread's stack is refused. (A limit that leaves a started
/// thread a few KiB short instead meets std itself: a new thread panics
/// when it cannot map its signal stack, which no program can catch; the
/// README says where.)
#[test]
#[cfg(unix)] // `ulimit -v` and /proc
fn refused_thread_stacks() {
    let one_thread = vm_size_kib(&["--threads", "1", "-w", "1", "-j", "1", "--work", "sleep:3s", "--quiet"]);
    let limit = format!("-v {}", one_thread + 1024);
    for flavor in ["textbook", "tuned"] {
        let args = ["--flavor", flavor, "--threads", "1024", "-j", "1000", "--work", "noop", "--format", "jsonl"];
        let out = pool_testkit::run_with_ulimit(BIN, &limit, &args);
        pool_testkit::assert_refused_thread(BIN, &args, 1000, &out);
    }
}

/// The address space (`VmSize`, KiB) a run of `args` holds once it runs its
/// first job (read half a second in).
#[cfg(unix)]
fn vm_size_kib(args: &[&str]) -> u64 {
    let mut child = std::process::Command::new(BIN).args(args).spawn().expect("start pool-tokio");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).expect("/proc/PID/status");
    let _ = child.kill();
    let _ = child.wait();
    let line = status.lines().find(|l| l.starts_with("VmSize:")).expect("a VmSize line");
    line.trim_start_matches("VmSize:").trim().trim_end_matches("kB").trim().parse().expect("VmSize in kB")
}

/// With CPU work on blocking threads, one is started with the runtime: a
/// refusal there is an error like any other, not a panic in a worker task
/// later (tokio panics if the OS refuses a blocking thread while it has
/// none). With room for the runtime's 3 threads (and the main, signal and
/// start-up threads) but not one more, the same run succeeds with CPU work
/// inline and is refused with it on blocking threads.
#[test]
#[cfg(unix)] // a thread limit by setpriv and prlimit
fn refused_blocking_thread() {
    let run = |cpu_jobs: &'static str| {
        let args = ["--threads", "3", "--cpu-jobs", cpu_jobs, "-j", "200", "--work", "spin:10us", "--format", "jsonl"];
        pool_testkit::run_with_thread_limit(BIN, 6, &args).map(|out| (args, out))
    };
    let Some((_, inline)) = run("inline") else {
        eprintln!("{BIN}: not root, or no setpriv or prlimit: the thread limit cannot be set; not checked");
        return;
    };
    let stderr = String::from_utf8_lossy(&inline.stderr);
    assert_eq!(inline.status.code(), Some(0), "--cpu-jobs inline under 6 threads: {stderr}");
    for cpu_jobs in ["spawn-blocking", "block-in-place"] {
        let (args, out) = run(cpu_jobs).expect("the limit was set before");
        pool_testkit::assert_refused_thread(BIN, &args, 200, &out);
    }
}

/// The ablation's diagnostic flavors keep the contract.
#[test]
#[cfg(unix)] // flavors by a `sh` script
fn diagnostic_flavors() {
    pool_testkit::binary_diagnostic_flavors(env!("CARGO_BIN_EXE_pool-tokio"));
}

/// Under any limit on open files the tuned flavor, whose timers are a
/// file descriptor on tokio's reactor, either runs or ends with status 3
/// and one line, never a panic or a hang: each limit from 4 (room for the
/// loader's one file, none for the runtime) up to one that lets the run
/// through.
#[test]
#[cfg(unix)] // `prlimit --nofile`; the timer file descriptor is Linux's
fn a_file_limit_is_a_run_or_status_3() {
    let args = ["--flavor", "tuned", "-j", "100", "--work", "sleep:1ms", "--format", "jsonl"];
    if std::process::Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("no prlimit here: the file limit cannot be set; not checked");
        return;
    }
    let mut codes = Vec::new();
    for limit in 4..=10 {
        let mut command = std::process::Command::new("prlimit");
        let out = pool_testkit::output_within(command.arg(format!("--nofile={limit}")).arg(BIN).args(args));
        let stderr = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => {
                let case = pool_testkit::case(3, 100, "sleep:1ms").flavor(pool_core::Flavor::Tuned);
                let log = String::from_utf8(out.stdout).unwrap();
                let summary = pool_testkit::judge(&log, &case, pool_core::Completeness::Complete);
                assert_eq!(summary, case.expected(), "limit {limit}");
            }
            Some(3) => {
                assert_eq!(stderr.lines().count(), 1, "limit {limit}: {stderr}");
                assert!(stderr.contains("Too many open files"), "limit {limit}: {stderr}");
            }
            other => panic!("limit {limit}: status {other:?}: {stderr}"),
        }
        codes.push(out.status.code());
    }
    assert!(codes.contains(&Some(3)) && codes.contains(&Some(0)), "{codes:?}");
}
