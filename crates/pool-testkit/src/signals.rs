//! Process tests of stop signals: Ctrl-C, SIGTERM, SIGHUP, a second
//! signal, GNU `timeout`, a signal at start-up and with a backlog.

use super::*;

/// How long an interrupted binary may take to exit: a sanity bound, not a
/// benchmark (a job in flight lasts 100 ms).
pub const INTERRUPT_BOUND: Duration = Duration::from_secs(5);

/// A stop signal (SIGINT, SIGTERM or SIGHUP) to a running binary: it stops
/// starting jobs, lets the running ones end, every worker exits, the log is
/// a valid partial log, the summary says how many never started, and the
/// status is 128 + the signal (130, 143, 129) — promptly, not after the
/// remaining queue.
pub fn binary_stopped_by(bin: &str, signal: nix::sys::signal::Signal) {
    use std::io::{BufReader, Read};

    let (workers, jobs) = (2, 1_000);
    let args = ["-w", "2", "-j", "1000", "--work", "sleep:100ms", "--format", "jsonl"];
    let mut child = spawn_piped(bin, &args);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut log = String::new();
    read_lines(bin, &mut stdout, &mut log, 5);
    send(&child, signal);
    let sent = Instant::now();
    let status = wait_bounded(bin, &mut child, INTERRUPT_BOUND);
    let took = sent.elapsed();
    stdout.read_to_string(&mut log).unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();

    let code = i32::from(pool_core::signals::exit_status(signal));
    assert_eq!(status.code(), Some(code), "{bin}: {status:?} after {signal}; stderr: {stderr}");
    let summary = judge(&log, &case(workers, jobs, "sleep:100ms"), Completeness::Partial);
    let (finished, failed, not_started) = summary.counts();
    assert_eq!(failed, 0);
    assert!(not_started > 0, "{bin}: every job ran in {took:?} after {signal}");
    let expected = format!("{finished} finished, 0 failed, {not_started} never started (interrupted)");
    assert!(stderr.contains(&expected), "{bin}: stderr lacks {expected:?}: {stderr}");
    assert!(stderr.contains("letting running jobs end"), "{bin}: {stderr}");
    assert_no_panic_report(bin, &args, &stderr);
}

/// SIGINT (Ctrl-C): see [`binary_stopped_by`]; status 130.
pub fn binary_sigint(bin: &str) {
    binary_stopped_by(bin, nix::sys::signal::Signal::SIGINT);
}

/// SIGTERM (`kill`, `timeout`, a process manager): see
/// [`binary_stopped_by`]; status 143.
pub fn binary_sigterm(bin: &str) {
    binary_stopped_by(bin, nix::sys::signal::Signal::SIGTERM);
}

/// SIGHUP (the terminal went away): see [`binary_stopped_by`]; status 129.
pub fn binary_sighup(bin: &str) {
    binary_stopped_by(bin, nix::sys::signal::Signal::SIGHUP);
}

/// A second stop signal quits at once, with that signal's status, even
/// while jobs that would take a minute are running.
pub fn binary_second_signal_quits_at_once(bin: &str) {
    use std::io::{BufRead, BufReader};

    use nix::sys::signal::Signal;

    let args = ["-w", "2", "-j", "10", "--work", "sleep:60s"];
    let mut child = spawn_piped(bin, &args);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut log = String::new();
    // A job has started (text lines are written before a long job).
    read_lines(bin, &mut stdout, &mut log, 1);
    send(&child, Signal::SIGTERM);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    stderr.read_line(&mut said).unwrap();
    assert!(said.contains("letting running jobs end"), "{bin}: {said}");
    send(&child, Signal::SIGHUP);
    let status = wait_bounded(bin, &mut child, INTERRUPT_BOUND);
    assert_eq!(status.code(), Some(129), "{bin}: {status:?}; stderr: {said}");
    said.clear();
    stderr.read_line(&mut said).unwrap();
    assert!(said.contains("again, quitting at once"), "{bin}: {said}");
}

/// GNU `timeout` stops a run gracefully: it sends SIGTERM to the program and
/// then to its process group, and the program takes the two for one
/// request: status 143, no "quitting at once", and a valid partial log
/// (every started job ended, every worker exited). Several runs, as the
/// echo races the first signal's handling.
pub fn binary_timeout_is_one_stop(bin: &str) {
    for run in 0..6 {
        let args = ["--preserve-status", "-s", "TERM", "0.3", bin, "-w", "2", "-j", "100", "--work", "sleep:1s"];
        let mut cmd = Command::new("timeout");
        cmd.args(args).args(["--format", "jsonl"]);
        let out = output_bounded(bin, &mut cmd, INTERRUPT_BOUND + Duration::from_secs(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(143), "{bin} under timeout, run {run}: {stderr}");
        assert!(
            !stderr.contains("quitting at once"),
            "{bin} under timeout, run {run}: one request, two stops: {stderr}"
        );
        let log = String::from_utf8_lossy(&out.stdout);
        let summary = judge(&log, &case(2, 100, "sleep:1s"), Completeness::Partial);
        assert!(summary.counts().2 > 0, "{bin}: the stop left nothing unstarted");
    }
}

/// A signal in the first moments of a run, before or while the pool starts,
/// is handled like a later one: status 143 and a valid (perhaps empty)
/// log with every worker that started exiting. A signal can only find the
/// program unprepared before its `main` runs (the dynamic loader's moments):
/// then it dies with nothing written, which this accepts; anything in
/// between (a log cut short, a summary missing) fails. Which of the two a
/// delay gives depends on the machine's load, so either passes; once the
/// program runs, handling is certain ([`binary_sigterm`]).
pub fn binary_early_signal(bin: &str) {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;

    use nix::sys::signal::Signal;

    let (workers, jobs) = (3, 1_000);
    let args = ["-w", "3", "-j", "1000", "--work", "sleep:10ms", "--format", "jsonl"];
    for delay_us in [0, 0, 100, 300, 1_000, 2_000, 5_000, 10_000, 20_000, 200_000] {
        let mut child = spawn_piped(bin, &args);
        std::thread::sleep(Duration::from_micros(delay_us));
        send(&child, Signal::SIGTERM);
        let status = wait_bounded(bin, &mut child, INTERRUPT_BOUND);
        let (mut log, mut stderr) = (String::new(), String::new());
        child.stdout.take().unwrap().read_to_string(&mut log).unwrap();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        if status.signal() == Some(Signal::SIGTERM as i32) {
            assert!(
                log.is_empty() && stderr.is_empty(),
                "{bin}: killed by SIGTERM after {delay_us} us with output:\n{stderr}\n{log}"
            );
            continue;
        }
        assert_eq!(status.code(), Some(143), "{bin}: {status:?} after SIGTERM at {delay_us} us; stderr: {stderr}");
        let summary = judge(&log, &case(workers, jobs, "sleep:10ms"), Completeness::Partial);
        let (finished, failed, not_started) = summary.counts();
        let expected = format!("{finished} finished, {failed} failed, {not_started} never started (interrupted)");
        assert!(stderr.contains(&expected), "{bin}: stderr lacks {expected:?}: {stderr}");
    }
}

/// Ctrl-C with millions of jobs queued (no `--queue`): the process exits
/// promptly, not after working through the backlog, and the counts add up:
/// every job finished or never started.
pub fn binary_sigint_with_a_backlog(bin: &str) {
    use std::io::{BufReader, Read};

    let (workers, jobs) = (2, 4_000_000);
    let args = ["-w", "2", "-j", "4000000", "--work", "sleep:50ms", "--format", "jsonl"];
    let mut child = spawn_piped(bin, &args);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut log = String::new();
    read_lines(bin, &mut stdout, &mut log, 2);
    // Let the producer run ahead: the backlog is what is tested.
    std::thread::sleep(Duration::from_millis(500));
    send(&child, nix::sys::signal::Signal::SIGINT);
    let status = wait_bounded(bin, &mut child, INTERRUPT_BOUND);
    stdout.read_to_string(&mut log).unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{bin}: {status:?}; stderr: {stderr}");
    let summary = judge(&log, &case(workers, jobs, "sleep:50ms"), Completeness::Partial);
    let (finished, failed, not_started) = summary.counts();
    assert_eq!(finished + failed + not_started, jobs);
    let expected = format!("{finished} finished, 0 failed, {not_started} never started (interrupted)");
    assert!(stderr.contains(&expected), "{bin}: stderr lacks {expected:?}: {stderr}");
}
