//! Running a binary as a child process: bounded waits that name the
//! command when the bound passes, thread and address-space limits, peak
//! memory.

use super::*;

/// A program that runs `bin` with `--flavor FLAVOR` before its other
/// arguments: a two-line shell script next to `bin` that `exec`s it (same
/// process, so signals, exit status and peak memory are the binary's own).
/// Lets every binary test run on a flavor unchanged.
#[cfg(unix)]
pub fn flavored(bin: &str, flavor: &str) -> &'static str {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static SCRIPTS: OnceLock<Mutex<HashMap<(String, String), &'static str>>> = OnceLock::new();
    let mut scripts = SCRIPTS.get_or_init(Mutex::default).lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    scripts.entry((bin.to_owned(), flavor.to_owned())).or_insert_with(|| {
        use std::os::unix::fs::PermissionsExt;
        let path = format!("{bin}.{flavor}.sh");
        let quoted = bin.replace('\'', "'\\''");
        let script = format!("#!/bin/sh\nexec '{quoted}' --flavor {flavor} \"$@\"\n");
        // Written under a temporary name and renamed, so a concurrent test
        // run never executes a half-written script.
        let tmp = format!("{path}.{}", std::process::id());
        std::fs::write(&tmp, script).unwrap_or_else(|e| panic!("cannot write {tmp}: {e}"));
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::rename(&tmp, &path).unwrap_or_else(|e| panic!("cannot rename {tmp}: {e}"));
        Box::leak(path.into_boxed_str())
    })
}

/// Runs a binary with `args`, returning its output and wall time; fails,
/// naming the command, if it runs longer than [`CHILD_BOUND`].
pub fn run_binary(bin: &str, args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let output = output_within(Command::new(bin).args(args));
    (output, start.elapsed())
}

/// The longest any test waits for a child process before it kills it and
/// fails, naming the command: "it hangs", not a benchmark.
pub const CHILD_BOUND: Duration = Duration::from_secs(120);

/// The command as a line, for messages.
pub(super) fn shown(command: &Command) -> String {
    let args: Vec<String> = command.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
    format!("{} {}", command.get_program().to_string_lossy(), args.join(" "))
}

/// `command`'s output (stdout and stderr captured), waiting at most
/// [`CHILD_BOUND`]: past it the child is killed and the test fails, naming
/// the command.
pub fn output_within(command: &mut Command) -> Output {
    let name = shown(command);
    output_bounded(&name, command, CHILD_BOUND)
}

/// `command`'s exit status, its standard streams as set, waiting at most
/// [`CHILD_BOUND`] (as [`output_within`]).
pub fn status_within(command: &mut Command) -> std::process::ExitStatus {
    let name = shown(command);
    let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
    wait_bounded(&name, &mut child, CHILD_BOUND)
}

/// Starts `bin` with `args`, stdout and stderr piped.
#[cfg(unix)]
pub(super) fn spawn_piped(bin: &str, args: &[&str]) -> std::process::Child {
    use std::process::Stdio;
    Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"))
}

/// Waits for `child` at most `bound` (then kills it and fails: it hangs).
pub(super) fn wait_bounded(bin: &str, child: &mut std::process::Child, bound: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            return status;
        }
        if start.elapsed() > bound {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{bin}: still running after {bound:?}, so it was killed: it hangs");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends `signal` to `child`.
#[cfg(unix)]
pub(super) fn send(child: &std::process::Child, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid fits"));
    nix::sys::signal::kill(pid, signal).expect("signal the child");
}

/// Reads stdout until it holds `lines` lines (the pool is running and
/// logging), failing if the child ends first.
#[cfg(unix)]
pub(super) fn read_lines(bin: &str, stdout: &mut impl std::io::BufRead, log: &mut String, lines: usize) {
    while log.lines().count() < lines {
        assert!(stdout.read_line(log).expect("read stdout") > 0, "{bin} ended early:\n{log}");
    }
}

/// A number no other call in this process got.
#[cfg(unix)]
pub(super) fn unique() -> u32 {
    use std::sync::atomic::AtomicU32;
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Relaxed)
}

/// Opens `/dev/full`, where every write fails.
#[cfg(unix)]
pub(super) fn dev_full() -> std::fs::File {
    std::fs::OpenOptions::new().write(true).open("/dev/full").expect("open /dev/full")
}

/// How long a run the OS refuses threads may take to end: "did not hang",
/// not a benchmark.
pub const REFUSED_THREAD_BOUND: Duration = Duration::from_secs(60);

/// Runs `bin` with `args` where the OS starts at most `tasks` threads for it
/// (`prlimit --nproc`, `ulimit -u`: a limit on a user's threads; so thread creation fails with
/// `EAGAIN` and nothing else does), waiting at most
/// [`REFUSED_THREAD_BOUND`]. Root ignores that limit, so the run is under a
/// user id of its own that runs nothing else (`setpriv`), from a copy of the
/// binary in a temporary folder that user can read. `None` where that cannot
/// be arranged (not root, no `setpriv` or `prlimit`): then the caller's test says so and
/// checks nothing.
#[cfg(unix)]
pub fn run_with_thread_limit(bin: &str, tasks: u32, args: &[&str]) -> Option<Output> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::sync::atomic::AtomicU32;
    static RUN: AtomicU32 = AtomicU32::new(0);

    let root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
    let has = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .spawn()
            .is_ok_and(|mut child| wait_bounded(tool, &mut child, CHILD_BOUND).success())
    };
    if !root || !has("setpriv") || !has("prlimit") {
        return None;
    }
    // A user id nothing else on the machine runs as, so no other process
    // counts against the limit: one per test process and run.
    let run = RUN.fetch_add(1, Relaxed);
    let uid = 200_000 + (std::process::id() % 100_000) * 16 + run % 16;
    /// Removes the folder also when the run fails the test.
    struct Remove(std::path::PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let dir = std::env::temp_dir().join(format!("pool-thread-limit-{}-{run}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary folder");
    let _remove = Remove(dir.clone());
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let copy = dir.join("pool");
    std::fs::copy(bin, &copy).unwrap_or_else(|e| panic!("cannot copy {bin}: {e}"));
    let mut command = Command::new("setpriv");
    command.args(["--reuid", &uid.to_string(), "--regid", &uid.to_string(), "--clear-groups"]);
    command.args(["prlimit", &format!("--nproc={tasks}"), "--"]).arg(&copy).args(args).current_dir(&dir);
    Some(output_bounded(bin, &mut command, REFUSED_THREAD_BOUND))
}

/// Runs `command` to the end, reading its output as it comes, and fails if
/// it takes longer than `bound` (it hangs).
pub(super) fn output_bounded(bin: &str, command: &mut Command, bound: Duration) -> Output {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    let read = |mut from: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            from.read_to_end(&mut bytes).expect("read the child's output");
            bytes
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let status = wait_bounded(bin, &mut child, bound);
    Output { status, stdout: stdout.join().unwrap(), stderr: stderr.join().unwrap() }
}

/// Runs `bin` with `args` under `sh -c 'ulimit LIMIT; exec …'` (say
/// `-v 300000`: an address space too small for the thread stacks asked
/// for, where root ignores `ulimit -u`), waiting at most
/// [`REFUSED_THREAD_BOUND`].
#[cfg(unix)]
pub fn run_with_ulimit(bin: &str, limit: &str, args: &[&str]) -> Output {
    let script = format!("ulimit {limit} && exec \"$0\" \"$@\"");
    output_bounded(bin, Command::new("sh").args(["-c", &script, bin]).args(args), REFUSED_THREAD_BOUND)
}

/// Runs `bin` with `args` and returns its output with its peak resident
/// memory in bytes: the kernel's high-water mark (`VmHWM` in
/// `/proc/PID/status`), read every few milliseconds while it runs. This
/// child's own figure: `getrusage(RUSAGE_CHILDREN)` would give the largest
/// of every child the test process ever ran, so one test's big run would
/// fail another's bound. A mark only grows, so the last reading misses at
/// most the final moments.
#[cfg(unix)]
pub fn run_measuring_peak_rss(bin: &str, args: &[&str]) -> (Output, u64) {
    use std::io::Read;
    let mut child = spawn_piped(bin, args);
    let status_file = format!("/proc/{}/status", child.id());
    let read_peak = || -> Option<u64> {
        let status = std::fs::read_to_string(&status_file).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: u64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kb * 1024)
    };
    // Read the pipes on their own threads so a full pipe cannot stall it.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let mut peak = 0;
    let status = loop {
        // Read before checking for the end: a reaped child has no status file.
        if let Some(now) = read_peak() {
            peak = peak.max(now);
        }
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let output = Output { status, stdout: out.join().unwrap(), stderr: err.join().unwrap() };
    (output, peak)
}

#[cfg(unix)]
#[cfg(test)]
mod bounded_waits {
    use super::*;

    /// A child that outlives its bound is killed, and the test fails naming
    /// the command.
    #[test]
    fn a_child_past_its_bound_is_killed_and_named() {
        let mut child = Command::new("sleep").arg("30").spawn().expect("sleep runs");
        let pid = child.id();
        let err = panic::catch_unwind(AssertUnwindSafe(|| {
            wait_bounded("sleep 30", &mut child, Duration::from_millis(100));
        }))
        .expect_err("the wait is bounded");
        let message = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("sleep 30") && message.contains("it hangs"), "{message}");
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "the child was killed and reaped");
        assert_eq!(shown(Command::new("sleep").arg("30")), "sleep 30");
    }
}
