//! The xtask binary from the outside: bad input gives one clear line and a
//! non-zero exit; the measuring helper passes the child's exit through and
//! reports its usage.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Waits for `child` (stdout and stderr piped) at most a minute, then
/// kills it and fails, naming `what`: a hang fails the test, not CI.
fn finish(mut child: Child, what: &str) -> Output {
    use std::io::Read;
    let read = |mut from: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = from.read_to_end(&mut bytes);
            bytes
        })
    };
    let (out, err) = (read(Box::new(child.stdout.take().unwrap())), read(Box::new(child.stderr.take().unwrap())));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after a minute, so it was killed: it hangs");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output { status, stdout: out.join().unwrap(), stderr: err.join().unwrap() }
}

fn xtask(args: &[&str]) -> (Option<i32>, String, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = finish(child, &format!("xtask {}", args.join(" ")));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    for args in [
        &["compare", "--backends", "nope"][..],
        &["compare", "--runs", "0"],
        &["frobnicate"],
        &["compare", "--bogus"],
        &["compare", "--cell", "w=0 j=10 work=noop"],
        &["compare", "--cell", "w=2 j=10"],
        &["compare", "--cell", "w=2 j=10 work=noop", "--workloads", "cpu"],
    ] {
        let (code, _, err) = xtask(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
    let (_, _, err) = xtask(&["compare", "--workloads", "cpu,nope"]);
    assert!(
        err.contains("'nope'")
            && err.contains("[possible values: overhead, throughput, sleep, cpu, skewed, seed, broker, arrivals]"),
        "{err}"
    );
}

#[test]
fn the_helper_passes_exit_and_output_through_and_reports_usage() {
    let (code, out, err) = xtask(&["__measure", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!(code, Some(3));
    assert_eq!(out, "out\n");
    let (own, usage) = err.split_once("\n@@xtask-rusage ").unwrap();
    assert_eq!(own, "err\n");
    let fields: Vec<&str> = usage.split_whitespace().collect();
    assert_eq!((fields.len(), fields[3]), (5, "code:3"), "{usage}");
    assert!(fields[4].parse::<u64>().is_ok(), "the child's wall time in µs: {usage}");
}

/// `cargo xtask check` on a fixture in `tests/fixtures/` (read from the
/// file, and the same bytes from standard input): exit status, stdout,
/// stderr.
fn check(fixture: &str, flags: &[&str]) -> (Option<i32>, String, String) {
    use std::io::Write as _;
    let path = format!("{}/tests/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR"));
    let mut args = vec!["check"];
    args.extend(flags);
    let from_file = xtask(&[&args[..], &[path.as_str()]].concat());
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&std::fs::read(&path).unwrap()).unwrap();
    let out = finish(child, &format!("xtask {} < {fixture}", args.join(" ")));
    let from_stdin = (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert_eq!(from_file, from_stdin, "{fixture}: a file and standard input are judged alike");
    from_file
}

/// `pool-crossbeam -w 4 -j 20 --work sleep:10ms --format jsonl`.
#[test]
fn check_accepts_a_correct_log_and_prints_its_summary() {
    let flags = ["-w", "4", "-j", "20", "--work", "sleep:10ms", "--format", "jsonl"];
    let (code, out, err) = check("crossbeam-4x20-sleep10ms.jsonl", &flags);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("job 1: finished with 2\njob 2: finished with 4\n"), "{out}");
    assert!(out.ends_with("job 20: finished with 40\nworkers 1..=4 exited\n"), "{out}");
    assert_eq!(err, "xtask check: the log keeps every rule: 20 finished, 0 failed, 0 never started\n");
    // The same log against other flags: the first rule it breaks, exit 1.
    let (code, out, err) = check("crossbeam-4x20-sleep10ms.jsonl", &["-w", "4", "-j", "20", "--format", "jsonl"]);
    assert_eq!((code, out.as_str()), (Some(1), ""), "{err}");
    assert!(err.starts_with("xtask check: line "), "{err}");
    assert!(err.contains("too short for its planned sleep of 1000000 µs"), "{err}");
    let (code, _, err) = check("crossbeam-4x20-sleep10ms.jsonl", &["-w", "3", "-j", "20", "--work", "sleep:10ms"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.starts_with("xtask check: line 1: not a log line"), "{err}");
}

/// `pool-mutant --defect early-exit -w 3 -j 4 --work sleep:10ms --format
/// jsonl`: workers 2 and 3 exit at once, worker 1 runs every job.
#[test]
fn check_catches_a_worker_that_exits_while_jobs_remain() {
    let (code, out, err) =
        check("early-exit.jsonl", &["-w", "3", "-j", "4", "--work", "sleep:10ms", "--format", "jsonl"]);
    assert_eq!((code, out.as_str()), (Some(1), ""), "{err}");
    assert_eq!(
        err,
        "xtask check: line 5: worker 1 started job 2 at 10620 µs, its job number 2 since worker 2 exited at 5 µs \
         (line 1): a worker exits only when no job is left\n"
    );
}

/// `pool-mutant --defect skip-sleep -w 2 -j 3 --work sleep:1s --format
/// jsonl`: every job done at once.
#[test]
fn check_catches_a_job_that_skips_its_sleep() {
    let (code, out, err) =
        check("skipped-sleep.jsonl", &["-w", "2", "-j", "3", "--work", "sleep:1s", "--format", "jsonl"]);
    assert_eq!((code, out.as_str()), (Some(1), ""), "{err}");
    assert_eq!(
        err,
        "xtask check: line 2: job 1 took 87 µs from start to finish, too short for its planned sleep of 1000000 µs \
         (at least 999000 µs)\n"
    );
}

/// `pool-std -w 2 -j 1000 --work sleep:100ms --format jsonl`, interrupted by
/// SIGINT: valid only as a partial log.
#[test]
fn check_judges_an_interrupted_run_with_partial() {
    let flags = ["-w", "2", "-j", "1000", "--work", "sleep:100ms", "--format", "jsonl"];
    let (code, _, err) = check("std-interrupted-2x1000-sleep100ms.jsonl", &flags);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("never started"), "{err}");
    let (code, out, err) = check("std-interrupted-2x1000-sleep100ms.jsonl", &[&flags[..], &["--partial"]].concat());
    assert_eq!(code, Some(0), "{err}");
    assert!(out.ends_with(": not started\nworkers 1..=2 exited\n"), "{out}");
    assert!(out.contains("..=1000: not started\n"), "never-started jobs are said as ranges: {out}");
    assert_eq!(err, "xtask check: the log keeps every rule: 12 finished, 0 failed, 988 never started\n");
}

/// The checker's memory grows with the log, not with `-j` or `-w`: the same
/// twelve-job log judged as part of a run of 2^40 jobs (which once asked for
/// 17.6 TB and aborted), and of 2^32 - 1 workers.
#[test]
fn check_judges_a_huge_runs_log_in_memory_for_the_log() {
    let flags = ["-w", "2", "-j", "1099511627776", "--work", "sleep:100ms", "--format", "jsonl", "--partial"];
    let (code, out, err) = check("std-interrupted-2x1000-sleep100ms.jsonl", &flags);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.ends_with("..=1099511627776: not started\nworkers 1..=2 exited\n"), "{out}");
    assert_eq!(err, "xtask check: the log keeps every rule: 12 finished, 0 failed, 1099511627764 never started\n");
    let flags = ["-w", "4294967295", "-j", "1000", "--work", "sleep:100ms", "--format", "jsonl", "--partial"];
    let (code, _, err) = check("std-interrupted-2x1000-sleep100ms.jsonl", &flags);
    assert_eq!((code, err.as_str()), (Some(1), "xtask check: at end of log: worker 3 never exited\n"));
}

#[test]
fn check_bad_usage_is_one_line_and_exit_2() {
    for args in [
        &["check", "-w", "0"][..],
        &["check", "-j", "-1"],
        &["check", "--work", "nap:1s"],
        &["check", "--format", "xml"],
        &["check", "-j", "5", "--panic-on", "6"],
        &["check", "/no/such/log"],
        &["check", "a", "b"],
    ] {
        let (code, out, err) = xtask(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
    }
}

/// A reclaim (worker 2 says it took job 1 over from worker 1, which never
/// logged a thing) is refused in a log of an in-process run; `--distributed`
/// says the log is `pool-redis --remote-workers`', whose workers can die
/// between taking a job and logging its start, and then it stands.
#[test]
fn check_refuses_a_reclaim_in_an_in_process_log() {
    let flags = ["-w", "2", "-j", "1", "--work", "noop", "--format", "jsonl"];
    let (code, _, err) = check("made-up-reclaim.jsonl", &flags);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("line 1") && err.contains("only a distributed run"), "{err}");
    let (code, _, err) = check("made-up-reclaim.jsonl", &[&flags[..], &["--distributed"]].concat());
    assert_eq!(code, Some(0), "{err}");
}
