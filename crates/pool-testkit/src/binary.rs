//! Process tests of a backend binary: the seed's run, its formats,
//! failures, bad input, closed or unwritable outputs, `--describe`, the
//! worker limit.

use super::*;

/// The binary with no arguments runs the seed: 13 lines that a correct pool
/// of 3 workers over 5 jobs can print, in about 2 s (`concurrent`; the
/// sequential baseline takes 5 s).
pub fn binary_runs_the_seed(bin: &str, concurrent: bool) {
    let (out, took) = run_binary(bin, &[]);
    assert!(out.status.success(), "{bin}: {:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 13, "{stdout}");
    let summary = judge(&stdout, &RunSpec::default(), Completeness::Complete);
    assert_eq!(summary, Summary::expected(3, 5, false));
    assert!(out.stderr.is_empty(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    // A sanity bound, not a benchmark: five 1 s jobs on three workers must
    // overlap (2 s ideal; serial would be 5 s).
    if concurrent {
        assert!(took < Duration::from_secs(5), "the seed run took {took:?}");
        assert_spread_like_the_seed(&stdout);
    }
}

/// The seed's five long jobs are spread as the seed spreads them: three
/// workers start one each before any job ends, and no worker runs more than
/// two — a pool that claims chunks must not let one worker hold a long job
/// it has not started while another has none.
pub fn assert_spread_like_the_seed(text_log: &str) {
    let records = Format::Text.parse(text_log).unwrap_or_else(|e| panic!("log does not parse: {e}"));
    let first_end = records.iter().position(|r| !matches!(r.event, pool_core::Event::Started { .. }));
    let early: std::collections::BTreeSet<_> = records[..first_end.unwrap_or(records.len())]
        .iter()
        .filter(|r| matches!(r.event, pool_core::Event::Started { .. }))
        .map(|r| r.worker)
        .collect();
    assert_eq!(early.len(), 3, "three workers start a job before any ends:\n{text_log}");
    let mut per_worker = std::collections::BTreeMap::<_, u32>::new();
    for r in &records {
        if matches!(r.event, pool_core::Event::Started { .. }) {
            *per_worker.entry(r.worker).or_default() += 1;
        }
    }
    assert!(per_worker.values().all(|&n| n <= 2), "no worker runs three of five: {per_worker:?}\n{text_log}");
}

/// `--format jsonl` gives JSON lines a checker accepts, with every result.
pub fn binary_writes_json_lines(bin: &str) {
    let (out, _) = run_binary(bin, &["-w", "4", "-j", "300", "--work", "spin:1us..30us", "--format", "jsonl"]);
    assert!(out.status.success(), "{bin}: {}", String::from_utf8_lossy(&out.stderr));
    let summary =
        judge(std::str::from_utf8(&out.stdout).unwrap(), &case(4, 300, "spin:1us..30us"), Completeness::Complete);
    assert_eq!(summary, Summary::expected(4, 300, true));
}

/// One worker prints the same bytes on every backend.
pub fn binary_one_worker_is_byte_exact(bin: &str) {
    let (out, _) = run_binary(bin, &["-w", "1", "-j", "50", "--work", "noop"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), one_worker_text(50));
}

/// `--quiet` prints no event line and one summary line on stderr.
pub fn binary_quiet_prints_a_summary(bin: &str) {
    let (out, _) = run_binary(bin, &["-w", "2", "-j", "10000", "--work", "noop", "--quiet"]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("10000 finished, 0 failed") && stderr.contains("results check out"), "{stderr}");
}

/// Jobs that fail inside quick-path blocks (a quiet `noop` run: blocks of
/// thousands of jobs, one panic boundary each): each fails alone, at the
/// first and last id, at a block's edge and inside one; every other job
/// finishes once and the caller's ledger says so; status 1; no panic report.
pub fn binary_failures_in_quick_blocks(bin: &str) {
    let args = ["-w", "3", "-j", "20000", "--work", "noop", "--quiet", "--panic-on", "1,4096,4097,9999,16384,20000"];
    let (out, _) = run_binary(bin, &args);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{bin} {args:?}: {stderr}");
    assert!(stderr.contains("19994 finished, 6 failed"), "{bin} {args:?}: {stderr}");
    assert!(stderr.contains("failed jobs: 1,4096,4097,9999,16384,20000"), "{bin} {args:?}: {stderr}");
    assert!(stderr.contains("results check out"), "{bin} {args:?}: {stderr}");
    assert_no_panic_report(bin, &args, &stderr);
}

/// The ablation's diagnostic flavors (tuned without one of its techniques)
/// keep the contract: a quiet run with failing jobs checks out in the
/// caller's ledger, and a logged run is judged correct by the checker.
#[cfg(unix)]
pub fn binary_diagnostic_flavors(bin: &str) {
    for flavor in [Flavor::TunedChunksOnly, Flavor::TunedBatchesOnly, Flavor::TunedJobByJob] {
        binary_failures_in_quick_blocks(flavored(bin, flavor.name()));
        let case = case(3, 500, "spin:0us..20us").panics([7, 500]).flavor(flavor);
        let args = ["-w", "3", "-j", "500", "--work", "spin:0us..20us", "--panic-on", "7,500", "--format", "jsonl"];
        let (out, _) = run_binary(flavored(bin, flavor.name()), &args);
        assert_eq!(out.status.code(), Some(1), "{bin} --flavor {flavor} {args:?}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        let case = case.format(Some(Format::Jsonl));
        let summary = judge(&stdout, &case, Completeness::Complete);
        assert_eq!(summary.first_difference(&case.expected()), None, "{bin} --flavor {flavor}");
    }
}

/// Asserts a binary's stderr carries no default panic report: failures are
/// reported once, in the log and the summary.
pub(super) fn assert_no_panic_report(bin: &str, args: &[&str], stderr: &str) {
    for noise in ["panicked at", "panicked", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(!stderr.contains(noise), "{bin} {args:?}: stderr has {noise:?}:\n{stderr}");
    }
}

/// `--panic-on`: the named jobs fail, every other job finishes, the log (in
/// both formats) is valid with `failed` lines carrying the message, the exit
/// status is 1 and the stderr summary lists the failed jobs, with no panic
/// report on stderr.
pub fn binary_panic_on(bin: &str) {
    let case = case(3, 40, "spin:0us..20us").panics([4, 11, 40]);
    for format in [Format::Text, Format::Jsonl] {
        let fmt = if format == Format::Text { "text" } else { "jsonl" };
        let args = ["-w", "3", "-j", "40", "--work", "spin:0us..20us", "--panic-on", "4,11,40", "--format", fmt];
        let (out, _) = run_binary(bin, &args);
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{bin} {args:?}: {stderr}");
        let summary = judge(&stdout, &case.clone().format(Some(format)), Completeness::Complete);
        assert_eq!(summary.first_difference(&case.clone().format(Some(format)).expected()), None, "{bin} {args:?}");
        let failed_line = match format {
            Format::Text => "failed   job 11: job 11 panicked (--panic-on)",
            Format::Jsonl => r#""event":"failed""#,
        };
        assert!(stdout.contains(failed_line), "{bin} {args:?}: no {failed_line:?} in\n{stdout}");
        assert!(stderr.contains("37 finished, 3 failed"), "{bin}: {stderr}");
        assert!(stderr.contains("failed jobs: 4,11,40"), "{bin}: {stderr}");
        assert_no_panic_report(bin, &args, &stderr);
    }
}

/// Every job panics: the run still ends, every worker exits, status 1.
pub fn binary_every_job_panics(bin: &str) {
    let ids: Vec<String> = (1..=30).map(|j: u64| j.to_string()).collect();
    let ids = ids.join(",");
    let args = ["-w", "4", "-j", "30", "--work", "noop", "--panic-on", &ids, "--format", "jsonl"];
    let (out, _) = run_binary(bin, &args);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{bin}: {stderr}");
    let summary = judge(std::str::from_utf8(&out.stdout).unwrap(), &case(4, 30, "noop"), Completeness::Complete);
    assert_eq!(summary.counts(), (0, 30, 0));
    assert!(stderr.contains("0 finished, 30 failed"), "{bin}: {stderr}");
    assert_no_panic_report(bin, &args, &stderr);
}

/// Malformed command lines, each with the flag its one-line message must
/// name.
pub const BAD_INPUTS: &[(&[&str], &str)] = &[
    (&["-w", "0"], "--workers"),
    (&["-w", "-3"], "--workers"),
    (&["-w", "three"], "--workers"),
    (&["-w", "99999999999"], "--workers"),
    (&["-w", ""], "--workers"),
    (&["-w"], "--workers"),
    // Above every backend's limit (tokio's is a million tasks; the thread
    // backends' ten thousand threads): refused, not attempted.
    (&["-w", "4000000000"], "--workers"),
    (&["-j", "-1"], "'--jobs <N>': expected a whole number of jobs from 0 to 1099511627776"),
    (&["-w", "-1"], "backend's limit)"),
    (&["-j", "1.5"], "--jobs"),
    (&["-j", "99999999999999999999999"], "--jobs"),
    (&["--seed", "-5"], "--seed"),
    (&["--seed", "x"], "--seed"),
    (&["--work", "sleep:"], "--work"),
    (&["--work", "sleep"], "--work"),
    (&["--work", "sleep:-1s"], "--work"),
    (&["--work", "spin:-5ms..1ms"], "--work"),
    (&["--work", "sleep:1fortnight"], "--work"),
    (&["--work", "sleep:99999999999999999999s"], "--work"),
    (&["--work", "sleep:1000000h"], "--work"),
    (&["--work", "bake:1s"], "--work"),
    (&["--work", ""], "--work"),
    (&["--work", "spin:1ms..0ms"], "--work"),
    (&["--work", "spin:1ms..2ms..3ms"], "--work"),
    (&["--format", "xml"], "'--format <FORMAT>' (expected one of: text, jsonl)"),
    (&["--bogus"], "--bogus"),
    (&["-x"], "-x"),
    (&["extra"], "extra"),
    (&["--panic-on", "4,,x"], "--panic-on"),
    (&["--panic-on", "0"], "--panic-on"),
    (&["--panic-on", "-4"], "--panic-on"),
    (&["--panic-on", "x"], "--panic-on"),
    (&["-j", "5", "--panic-on", "6"], "--panic-on"),
    (&["--queue", "0"], "--queue"),
    (&["--queue", "-1"], "--queue"),
    (&["--queue", "many"], "--queue"),
    // Past what any backend's bounded channel should allocate up front.
    (&["--queue", "100000000"], "'--queue <N>': expected a whole number of entries from 1 to 1048576"),
    // tokio's own flag; unknown to the other backends, refused by all.
    (&["--threads", "0"], "--threads"),
    (&["--threads", "20000"], "--threads"),
];

/// Every malformed command line gets exit status 2 and one line on stderr
/// naming the flag, nothing on stdout, and never a panic.
pub fn binary_rejects_bad_input(bin: &str) {
    let mut failures = Vec::new();
    for &(args, flag) in BAD_INPUTS {
        let (out, took) = run_binary(bin, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let problem = if out.status.code() != Some(2) {
            Some(format!("exit status {:?}", out.status))
        } else if stderr.trim().is_empty() {
            Some("no message".to_owned())
        } else if stderr.lines().count() != 1 {
            Some("more than one line".to_owned())
        } else if !stderr.contains(flag) {
            Some(format!("message does not name {flag}"))
        } else if stderr.contains("panicked") {
            Some("a panic".to_owned())
        } else if !out.stdout.is_empty() {
            Some("output on stdout".to_owned())
        } else if took > Duration::from_secs(10) {
            Some(format!("took {took:?}: the run was attempted"))
        } else {
            None
        };
        if let Some(problem) = problem {
            failures.push(format!("{args:?}: {problem}; stderr: {stderr}"));
        }
    }
    assert!(failures.is_empty(), "{bin}:\n{}", failures.join("\n"));
}

/// A closed standard output (`pool-x | head -1`): the run ends with status 3
/// and one error line, not a panic.
pub fn binary_closed_stdout(bin: &str) {
    use std::io::Read;
    use std::process::Stdio;
    let args = ["-w", "3", "-j", "200000", "--work", "noop"];
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    drop(child.stdout.take());
    let mut from = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut stderr = String::new();
        from.read_to_string(&mut stderr).map(|_| stderr)
    });
    let status = wait_bounded(bin, &mut child, CHILD_BOUND);
    let stderr = reader.join().expect("read stderr").expect("stderr is text");
    assert_eq!(status.code(), Some(3), "{bin}: {status:?}: {stderr}");
    assert!(stderr.contains("could not write the log"), "{bin}: {stderr}");
    assert_no_panic_report(bin, &args, &stderr);
}

/// What the binary says of itself (`--describe`).
pub fn description(bin: &str) -> pool_core::Description {
    let (out, _) = run_binary(bin, &["--describe"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{bin} --describe: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.lines().count(), 1, "{bin} --describe: one line: {stdout}");
    pool_core::Description::parse(&stdout).unwrap_or_else(|e| panic!("{bin} --describe: {e}"))
}

/// `--describe` is one JSON line on stdout and runs nothing; each flavor it
/// names runs, every other is refused with status 2; a description that
/// cannot be written is status 3.
pub fn binary_describes_itself(bin: &str) {
    let d = description(bin);
    assert!(d.max_workers >= 1, "{bin}: {d:?}");
    for flavor in Flavor::ALL {
        let (out, _) = run_binary(bin, &["-j", "2", "--work", "noop", "--quiet", "--flavor", flavor.name()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expected = if d.runs(flavor) { 0 } else { 2 };
        assert_eq!(out.status.code(), Some(expected), "{bin} --flavor {flavor} ({:?}): {stderr}", d.flavors);
        if expected == 2 {
            assert!(stderr.lines().count() == 1 && stderr.contains("--flavor"), "{bin}: {stderr}");
        }
    }
    #[cfg(unix)]
    {
        use std::process::Stdio;
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("open /dev/full");
        let status = status_within(Command::new(bin).arg("--describe").stdout(full).stderr(Stdio::null()));
        assert_eq!(status.code(), Some(3), "{bin} --describe >/dev/full");
    }
}

/// The backend's own limit on workers, as it describes itself; its `-w`
/// message names the same bound.
#[cfg(unix)]
pub(super) fn max_workers(bin: &str) -> u32 {
    let most = description(bin).max_workers;
    let (out, _) = run_binary(bin, &["-w", "-1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{bin} -w -1: {stderr}");
    assert!(stderr.contains(&format!("from 1 to {most} ")), "{bin}: -w -1 names another limit than {most}: {stderr}");
    most
}

/// How long starting and stopping the most workers a backend takes may
/// last: "did not hang", not a benchmark (a debug build, a busy machine).
pub const MOST_WORKERS_BOUND: Duration = Duration::from_secs(60);

/// The most workers the backend's message names is what it can do: a run
/// with that many starts and stops, and one Ctrl-C ends a run of them, both
/// within [`MOST_WORKERS_BOUND`]; one more is refused with status 2.
#[cfg(unix)]
pub fn binary_most_workers(bin: &str) {
    use std::io::BufReader;

    let most = max_workers(bin);
    let w = most.to_string();
    let mut child = spawn_piped(bin, &["-w", &w, "-j", "0", "--work", "noop", "--quiet"]);
    let status = wait_bounded(bin, &mut child, MOST_WORKERS_BOUND);
    assert_eq!(status.code(), Some(0), "{bin} -w {most} -j 0: {status:?}");

    let args = ["-w", &w, "-j", "1000000", "--work", "sleep:10ms", "--format", "jsonl"];
    let mut child = spawn_piped(bin, &args);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    read_lines(bin, &mut stdout, &mut String::new(), 1);
    send(&child, nix::sys::signal::Signal::SIGINT);
    drop(stdout);
    let status = wait_bounded(bin, &mut child, MOST_WORKERS_BOUND);
    // 130, or 3 if the log's reader (dropped above) was gone first.
    assert!(matches!(status.code(), Some(130 | 3)), "{bin} -w {most}, one Ctrl-C: {status:?}");

    let over = (u64::from(most) + 1).to_string();
    let (out, _) = run_binary(bin, &["-w", &over, "-j", "0"]);
    assert_eq!(out.status.code(), Some(2), "{bin} -w {over}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Surrounding whitespace in a value is ignored by every flag alike.
pub fn binary_whitespace_in_values(bin: &str) {
    let args = ["-w", " 3", "-j", " 4 ", "--seed", " 5", "--work", " noop ", "--panic-on", " 2, 3", "--queue", " 2"];
    let (out, _) = run_binary(bin, &[&args[..], &["--quiet"]].concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{bin} {args:?}: {stderr}");
    assert!(stderr.contains("2 finished, 2 failed") && stderr.contains("failed jobs: 2,3"), "{bin}: {stderr}");
}

/// A `--queue` far beyond what the run needs allocates only what its jobs
/// need: the queue is cut to the number of jobs, so the largest allowed
/// queue over five jobs runs in the memory of a small one.
#[cfg(unix)]
pub fn binary_queue_larger_than_the_run(bin: &str) {
    let args = ["-j", "5", "--work", "noop", "--quiet", "--queue", "1048576"];
    let (out, peak) = run_measuring_peak_rss(bin, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{bin} {args:?}: {:?}: {stderr}", out.status);
    assert!(peak < MEMORY_BOUND, "{bin} {args:?}: peak RSS {} MiB", peak >> 20);
}

/// 10,000 failed jobs make one short summary line: the first ids and how
/// many more, not every id. (5,000 on Windows, whose command line holds at
/// most 32,767 characters.)
pub fn binary_many_failures_one_short_line(bin: &str) {
    let n: u64 = if cfg!(windows) { 5_000 } else { 10_000 };
    let ids: Vec<String> = (1..=n).map(|j| j.to_string()).collect();
    let ids = ids.join(",");
    let jobs = n.to_string();
    let args = ["-j", &jobs, "--work", "noop", "--quiet", "--panic-on", &ids];
    let (out, _) = run_binary(bin, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{bin}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{bin}: {stderr}");
    assert!(stderr.len() < 400, "{bin}: a {}-byte summary", stderr.len());
    let more = format!("failed jobs: 1,2,3,4,5,6,7,8,9,10 and {} more", n - 10);
    assert!(stderr.contains(&more), "{bin}: {stderr}");
}

/// An unwritable stderr (`2>/dev/full`) loses the messages, never the
/// status: 0, 1, 2, 3 and 143 come out as documented, with no panic (101).
#[cfg(unix)]
pub fn binary_unwritable_stderr(bin: &str) {
    use std::process::Stdio;

    let cases: &[(&[&str], Option<i32>)] = &[
        (&["-j", "20", "--work", "noop", "--quiet"], Some(0)),
        (&["-j", "20", "--work", "noop", "--panic-on", "3"], Some(1)),
        (&["-w", "nine"], Some(2)),
        (&["-j", "20", "--work", "noop"], Some(3)),
    ];
    for &(args, code) in cases {
        // The log goes to /dev/full too in the status-3 case.
        let stdout = if code == Some(3) { Stdio::from(dev_full()) } else { Stdio::null() };
        let status = status_within(Command::new(bin).args(args).stdout(stdout).stderr(dev_full()));
        assert_eq!(status.code(), code, "{bin} {args:?} 2>/dev/full: {status:?}");
    }
    let mut child = Command::new(bin)
        .args(["-w", "2", "-j", "100", "--work", "sleep:20ms", "--quiet"])
        .stdout(Stdio::null())
        .stderr(dev_full())
        .spawn()
        .expect("runs");
    std::thread::sleep(Duration::from_millis(200));
    send(&child, nix::sys::signal::Signal::SIGTERM);
    let status = wait_bounded(bin, &mut child, INTERRUPT_BOUND);
    assert_eq!(status.code(), Some(143), "{bin}: SIGTERM with 2>/dev/full: {status:?}");
}

/// A closed standard output (`>&-`): the log cannot be written, so the run
/// is refused with status 3 and one line; with `--quiet` there is no log and
/// the run is fine. (`>/dev/null` is an ordinary place for a log.)
#[cfg(unix)]
pub fn binary_stdout_closed_from_the_start(bin: &str) {
    let run = |redirect: &str, quiet: bool| {
        let script = format!("exec \"$0\" \"$@\" {redirect}");
        let mut args = vec!["-c", &script, bin, "-j", "20", "--work", "noop"];
        if quiet {
            args.push("--quiet");
        }
        run_binary("sh", &args).0
    };
    let out = run(">&-", false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{bin} >&-: {:?}: {stderr}", out.status);
    assert_eq!(stderr.lines().count(), 1, "{bin} >&-: {stderr}");
    assert!(stderr.contains("standard output is closed"), "{bin}: {stderr}");
    let out = run(">&-", true);
    assert_eq!(out.status.code(), Some(0), "{bin} --quiet >&-: {}", String::from_utf8_lossy(&out.stderr));
    // `/dev/null` opened read-write by the parent (Python's
    // `subprocess.DEVNULL`, daemon launchers) is open, not closed.
    for redirect in [">/dev/null", "1<>/dev/null"] {
        let out = run(redirect, false);
        assert_eq!(out.status.code(), Some(0), "{bin} {redirect}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
