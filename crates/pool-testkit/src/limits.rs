//! Process tests of resource limits: a refused thread, a file-size limit,
//! bounded memory, a huge run stopped at once.

use super::*;

/// A log past the file-size limit (`ulimit -f`) is an unwritable log:
/// status 3 and one line, not death by SIGXFSZ.
pub fn binary_file_size_limit(bin: &str) {
    let dir = std::env::temp_dir().join(format!("workerpools-fsize-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let log = dir.join("log");
    let script = "ulimit -f 8 && exec \"$0\" \"$@\" > \"$LOG\"";
    let mut cmd = Command::new("sh");
    cmd.args(["-c", script, bin, "-w", "2", "-j", "100000", "--work", "noop", "--format", "jsonl"]).env("LOG", &log);
    let out = output_bounded(bin, &mut cmd, REFUSED_THREAD_BOUND);
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{bin} past ulimit -f: {:?}: {stderr}", out.status);
    assert_eq!(stderr.lines().count(), 1, "{bin}: one line: {stderr}");
    assert!(stderr.contains("could not write the log"), "{bin}: {stderr}");
}

/// A run of 2^40 `noop` jobs with `--queue 1024`, stopped by Ctrl-C after a
/// moment: its memory stays bounded while it runs (peak RSS under 100 MB),
/// and it ends with 130 within [`INTERRUPT_BOUND`] of the signal, whatever
/// it has in flight.
pub fn binary_huge_run_stops_fast_in_bounded_memory(bin: &str) {
    use nix::sys::signal::Signal;
    let args = ["-w", "8", "-j", "1099511627776", "--work", "noop", "--quiet", "--queue", "1024"];
    let w = if bin.contains("sequential") { "1" } else { "8" };
    let args: Vec<&str> = args.iter().map(|&a| if a == "8" { w } else { a }).collect();
    let mut child = spawn_piped(bin, &args);
    std::thread::sleep(Duration::from_millis(1500));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let peak_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    send(&child, Signal::SIGINT);
    let stopped = wait_bounded(bin, &mut child, INTERRUPT_BOUND);
    assert!(peak_kib < 100 * 1024, "{bin} {args:?}: peak RSS {peak_kib} KiB after 1.5 s");
    assert_eq!(stopped.code(), Some(130), "{bin} {args:?}: {stopped:?}");
}

/// A run the OS refused a thread (see [`run_with_thread_limit`]), of
/// `jobs` jobs logged as JSON lines: status 3 and one line saying a worker
/// could not start, no panic report; nothing done is lost: the log is whole
/// lines, and it is a valid partial log of the workers that started (every
/// job one of them started ended, every one of them exited).
pub fn assert_refused_thread(bin: &str, args: &[&str], jobs: u64, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{bin} {args:?}: {:?}: {stderr}", out.status);
    assert_eq!(stderr.lines().count(), 1, "{bin} {args:?}: {stderr}");
    assert!(stderr.starts_with("pool-"), "{bin} {args:?}: {stderr}");
    assert!(stderr.contains(": error: could not start a worker: "), "{bin} {args:?}: {stderr}");
    assert_no_panic_report(bin, args, &stderr);
    let log = String::from_utf8(out.stdout.clone()).expect("the log is UTF-8");
    let records = Format::Jsonl.parse(&log).unwrap_or_else(|e| panic!("{bin} {args:?}: log does not parse: {e}"));
    let started = records.iter().map(|r| r.worker.0).max().unwrap_or(0);
    if started > 0 {
        let run = case(started, jobs, "noop");
        check(&records, &run, Completeness::Partial).unwrap_or_else(|v| panic!("{bin} {args:?}: {v}\n{log}"));
    }
}

/// A backend whose `threads` flags (`-w 50`; pool-tokio: `--threads 50`)
/// ask for more threads than the OS starts (8 in all): the run is refused
/// as [`assert_refused_thread`] says, in both flavors. Skipped, saying so,
/// where the limit cannot be set.
pub fn binary_refused_thread(bin: &str, threads: &[&str]) {
    for flavor in ["textbook", "tuned"] {
        let args = [&["--flavor", flavor, "-j", "1000", "--work", "noop", "--format", "jsonl"], threads].concat();
        let Some(out) = run_with_thread_limit(bin, 8, &args) else {
            eprintln!("{bin}: not root, or no setpriv or prlimit: the thread limit cannot be set; not checked");
            return;
        };
        assert_refused_thread(bin, &args, 1000, &out);
    }
}

/// The memory bound of the bounded-queue run: well under the 50 MB
/// (a bounded run peaks near 5 MB, even in a debug build), and below what an
/// unbounded queue takes for three million jobs (about 55 MB on std).
pub const MEMORY_BOUND: u64 = 25 << 20;

/// The jobs of the bounded-memory run: three million (a few seconds in a
/// debug build); `WORKERPOOLS_SLOW=1` runs the ten million.
pub fn bounded_memory_jobs() -> u64 {
    if std::env::var_os("WORKERPOOLS_SLOW").is_some() { 10_000_000 } else { 3_000_000 }
}

/// `-j N --work noop --quiet --queue 1024` runs in flat memory: the peak RSS
/// of the child (see [`run_measuring_peak_rss`]) stays under [`MEMORY_BOUND`],
/// and the results check out. N is [`bounded_memory_jobs`].
pub fn binary_bounded_memory(bin: &str) {
    binary_bounded_memory_of(bin, bounded_memory_jobs());
}

/// [`binary_bounded_memory`] with `jobs` jobs, for a backend whose every job
/// is a round trip to another process (pool-redis: tens of microseconds a
/// job, so three million would take minutes).
pub fn binary_bounded_memory_of(bin: &str, jobs: u64) {
    let jobs = jobs.to_string();
    let jobs = jobs.as_str();
    let args = ["-j", jobs, "--work", "noop", "--quiet", "--queue", "1024"];
    let (out, peak) = run_measuring_peak_rss(bin, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{bin} {args:?}: {:?}: {stderr}", out.status);
    assert!(stderr.contains(&format!("{jobs} finished, 0 failed")), "{bin}: {stderr}");
    assert!(stderr.contains("results check out"), "{bin}: {stderr}");
    assert!(peak > 0, "{bin}: no peak RSS read");
    assert!(peak < MEMORY_BOUND, "{bin} {args:?}: peak RSS {} MiB", peak >> 20);
}
