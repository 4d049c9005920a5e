//! Runs one backend binary as a child process and measures it: wall time,
//! exit status, and the child's own CPU time and peak RSS, through the
//! `wait4` crate: wait4(2) on Unix, GetProcessTimes and the peak working set
//! on Windows.
//!
//! Why wait4 and not `getrusage(RUSAGE_CHILDREN)` deltas: the children's
//! `ru_maxrss` is the largest of all children ever reaped, not this one's.
//! And why through a helper process (`xtask __measure PROGRAM ARGS..`, this
//! same binary, started fresh): Linux carries the spawning process's peak
//! RSS into the child's `ru_maxrss` across fork/vfork and exec, so a child
//! spawned straight from this xtask (which holds logs of 100,000 jobs)
//! would report the xtask's peak. The helper is small when it spawns, so
//! the figure is the child's own (with the helper's few MiB as a floor).
//! A timeout kills the helper's process group (on Windows: the helper and
//! its child, found through `sysinfo`).

use std::ffi::OsString;
use std::io::Read;
#[cfg(unix)]
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use wait4::Wait4 as _;

/// The helper's last stderr line: `@@xtask-rusage USER_US SYS_US MAXRSS_KIB
/// EXIT WALL_US`.
const MARKER: &str = "\n@@xtask-rusage ";

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this status.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
    /// It ran past its time limit and was killed.
    TimedOut,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit status {c}"),
            Exit::Signal(s) => write!(f, "killed by signal {s}"),
            Exit::TimedOut => f.write_str("timed out and was killed"),
        }
    }
}

/// What one child run produced.
#[derive(Clone, Debug)]
pub struct Run {
    /// How it ended.
    pub exit: Exit,
    /// From spawn to reaping of the program itself, as the helper saw it:
    /// the helper's own start is not in it (after a timeout, as this
    /// process saw the helper).
    pub wall: Duration,
    /// CPU time in user mode (all its threads).
    pub user: Duration,
    /// CPU time in the kernel (all its threads).
    pub sys: Duration,
    /// Peak resident set size, KiB.
    pub max_rss_kib: u64,
    /// Its standard output, if captured.
    pub stdout: Vec<u8>,
    /// Its standard error.
    pub stderr: String,
}

impl Run {
    /// The last non-empty line of stderr, to say why a run failed.
    pub fn last_error_line(&self) -> &str {
        self.stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("(no output on stderr)")
    }
}

/// The helper: runs `PROGRAM ARGS..` with this process's stdio, reaps it
/// with wait4 (its own usage), prints its usage and its wall time (spawn to
/// reaping) as the last stderr line, and exits as it did.
pub fn measure_main(args: &[OsString]) -> ExitCode {
    let Some((program, rest)) = args.split_first() else {
        eprintln!("xtask __measure: no program given");
        return ExitCode::from(2);
    };
    let start = Instant::now();
    let child = match Command::new(program).args(rest).spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("xtask: could not start {}: {e}", program.to_string_lossy());
            return ExitCode::from(127);
        }
    };
    let mut child = child;
    let used = match child.wait4() {
        Ok(used) => used,
        Err(e) => {
            eprintln!("xtask: waiting for {}: {e}", program.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    let wall = start.elapsed();
    let status = used.status;
    #[cfg(unix)]
    let signal = status.signal();
    #[cfg(not(unix))]
    let signal: Option<i32> = None;
    let (exit, code) = match (status.code(), signal) {
        (Some(code), _) => (format!("code:{code}"), code),
        (None, Some(signal)) => (format!("signal:{signal}"), 128 + signal),
        (None, None) => ("code:255".to_owned(), 255),
    };
    let usage = used.rusage;
    eprintln!(
        "{MARKER}{} {} {} {exit} {}",
        usage.utime.as_micros(),
        usage.stime.as_micros(),
        usage.maxrss / 1024,
        wall.as_micros()
    );
    ExitCode::from(u8::try_from(code).unwrap_or(255))
}

/// What the helper's last line says of its child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Usage {
    user: Duration,
    sys: Duration,
    max_rss_kib: u64,
    exit: Exit,
    wall: Duration,
}

/// Splits the helper's stderr into the child's own and its usage.
fn parse_usage(stderr: &str) -> Option<(&str, Usage)> {
    let at = stderr.rfind(MARKER)?;
    let mut f = stderr[at + MARKER.len()..].split_whitespace();
    let user = Duration::from_micros(f.next()?.parse().ok()?);
    let sys = Duration::from_micros(f.next()?.parse().ok()?);
    let rss = f.next()?.parse().ok()?;
    let exit = match f.next()?.split_once(':')? {
        ("code", n) => Exit::Code(n.parse().ok()?),
        ("signal", n) => Exit::Signal(n.parse().ok()?),
        _ => return None,
    };
    let wall = Duration::from_micros(f.next()?.parse().ok()?);
    Some((&stderr[..at], Usage { user, sys, max_rss_kib: rss, exit, wall }))
}

/// The xtask binary, which is the helper. Unit tests run in a test harness,
/// so they use the `xtask` binary cargo builds for the integration tests.
fn helper_exe() -> Result<std::path::PathBuf> {
    let exe = std::env::current_exe().context("could not find the xtask binary")?;
    if cfg!(test) {
        let dir = exe.parent().and_then(|deps| deps.parent()).context("test binary outside target/")?;
        return Ok(dir.join("xtask"));
    }
    Ok(exe)
}

/// Runs `cmd` (only its program and arguments are used) to completion
/// through the measuring helper, capturing stderr and (if `capture_stdout`)
/// stdout, killing it after `limit`.
pub fn run(cmd: &mut Command, capture_stdout: bool, limit: Duration) -> Result<Run> {
    let program = cmd.get_program().to_owned();
    let mut helper = Command::new(helper_exe()?);
    helper.arg("__measure").arg(&program).args(cmd.get_args());
    // Its own process group, so a timeout kills the helper and the child.
    #[cfg(unix)]
    helper.process_group(0);
    helper
        .stdin(Stdio::null())
        .stdout(if capture_stdout { Stdio::piped() } else { Stdio::null() })
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = helper.spawn().with_context(|| format!("could not start {}", program.to_string_lossy()))?;
    let pid = child.id();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();

    thread::scope(|s| {
        let out = s.spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = stdout {
                let _ = pipe.read_to_end(&mut buf);
            }
            buf
        });
        let err = s.spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = stderr {
                let _ = pipe.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        });
        let (done, finished) = mpsc::channel::<()>();
        let watchdog = s.spawn(move || {
            let timed_out = finished.recv_timeout(limit) == Err(mpsc::RecvTimeoutError::Timeout);
            if timed_out {
                kill_helper(pid);
            }
            timed_out
        });
        let status = child.wait();
        let wall = start.elapsed();
        let _ = done.send(());
        let timed_out = watchdog.join().expect("watchdog thread does not panic");
        let status = status.context("could not wait for the child")?;
        let stdout = out.join().expect("reader thread does not panic");
        let stderr = err.join().expect("reader thread does not panic");
        let (exit, user, sys, max_rss_kib, wall, stderr) = match parse_usage(&stderr) {
            _ if timed_out => (Exit::TimedOut, Duration::ZERO, Duration::ZERO, 0, wall, stderr.clone()),
            Some((own, u)) => (u.exit, u.user, u.sys, u.max_rss_kib, u.wall, own.to_owned()),
            None => (Exit::Code(status.code().unwrap_or(-1)), Duration::ZERO, Duration::ZERO, 0, wall, stderr.clone()),
        };
        Ok(Run { exit, wall, user, sys, max_rss_kib, stdout, stderr })
    })
}

/// Kills the helper `pid` and its child. The helper leads its own process
/// group and is not reaped yet (the caller waits on it), so the group is
/// ours.
#[cfg(unix)]
fn kill_helper(pid: u32) {
    use nix::sys::signal::{Signal, killpg};
    if let Ok(pid) = i32::try_from(pid) {
        let _ = killpg(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// Kills the helper `pid` and its child (Windows has no process groups to
/// kill at once): the child first, found by its parent's id, while the
/// helper, not yet reaped, keeps that id.
#[cfg(not(unix))]
fn kill_helper(pid: u32) {
    use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};
    let mut system = System::new();
    system.refresh_processes_specifics(ProcessesToUpdate::All, true, ProcessRefreshKind::nothing());
    let helper = Pid::from_u32(pid);
    for process in system.processes().values().filter(|p| p.parent() == Some(helper)) {
        process.kill();
    }
    if let Some(process) = system.process(helper) {
        process.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)] // runs `sh` and `sleep`
    fn reports_status_output_and_usage_of_the_child() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo out; echo err >&2; exit 3"]);
        let run = run(&mut cmd, true, Duration::from_secs(30)).unwrap();
        assert_eq!(run.exit, Exit::Code(3));
        assert_eq!(run.stdout, b"out\n");
        assert_eq!(run.last_error_line(), "err");
        assert!(run.max_rss_kib > 0 && run.max_rss_kib < 64 * 1024, "{} KiB", run.max_rss_kib);

        // The wall time is the child's, not the helper's start besides.
        let mut cmd = Command::new("sleep");
        cmd.arg("0.2");
        let slept = super::run(&mut cmd, false, Duration::from_secs(30)).unwrap();
        assert!(slept.wall >= Duration::from_millis(200), "{:?}", slept.wall);
    }

    #[test]
    fn reads_the_helpers_usage_line() {
        let (own, usage) = parse_usage("oops\n\n@@xtask-rusage 1500 20 4096 signal:9 31000\n").unwrap();
        let want = Usage {
            user: Duration::from_micros(1500),
            sys: Duration::from_micros(20),
            max_rss_kib: 4096,
            exit: Exit::Signal(9),
            wall: Duration::from_micros(31_000),
        };
        assert_eq!((own, usage), ("oops\n", want));
        assert!(parse_usage("no marker").is_none());
        assert!(parse_usage("@@xtask-rusage 1500 20 4096 signal:9\n").is_none(), "no wall time");
    }

    #[test]
    #[cfg(unix)] // runs `sh`
    fn kills_a_child_past_its_limit() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30"]);
        let run = run(&mut cmd, false, Duration::from_millis(100)).unwrap();
        assert_eq!(run.exit, Exit::TimedOut);
    }
}
