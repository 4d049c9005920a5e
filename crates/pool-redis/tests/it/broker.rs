//! The broker: given by URL or started privately, and what happens when it
//! is bad, refuses us or goes away.

use std::time::Duration;

use pool_core::Completeness;
use pool_testkit::{case, judge, status_within};

use crate::support::{BIN, Lines, Server, finish, pool_redis};

/// Runs the binary to the end and returns (status code, stdout, stderr).
fn run(cmd: &mut std::process::Command) -> (Option<i32>, String, String) {
    let out = pool_testkit::output_within(cmd);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn one_line(stderr: &str) -> &str {
    assert_eq!(stderr.lines().count(), 1, "one line on stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr.trim_end()
}

#[test]
fn bad_urls_are_usage_errors_that_never_print_a_password() {
    for url in ["notaurl", "localhost:6379", "http://h", "redis://:hunter2@h:notaport", ""] {
        let (code, out, err) = run(&mut pool_redis(&["--redis", url, "-j", "1"]));
        assert_eq!(code, Some(2), "{url}: {err}");
        let line = one_line(&err);
        assert!(line.contains("--redis") && !line.contains("hunter2"), "{url}: {line}");
        assert!(out.is_empty());
        let (code, _, err) = run(&mut pool_redis(&["worker", "--redis", url]));
        assert_eq!(code, Some(2), "worker {url}: {err}");
        assert!(!one_line(&err).contains("hunter2"));
    }
    let (code, _, err) = run(pool_redis(&["-j", "1"]).env(pool_redis::URL_ENV, "redis://:hunter2@h:x"));
    assert_eq!(code, Some(2), "{err}");
    assert!(!one_line(&err).contains("hunter2"));
    let (code, _, err) = run(&mut pool_redis(&["worker"]));
    assert_eq!(code, Some(2), "a worker needs a broker: {err}");
    assert!(one_line(&err).contains("--redis"));
}

#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn an_unreachable_or_refusing_broker_is_one_line_and_status_3() {
    let server = Server::start(&["--requirepass", "right"]);
    let missing = format!("unix://{}/nothing-here.sock?pass=hunter2", std::env::temp_dir().display());
    for url in ["redis://:hunter2@127.0.0.1:1".to_owned(), missing, server.url(Some("hunter2"))] {
        let (code, out, err) = run(&mut pool_redis(&["--redis", &url, "-j", "3", "--work", "noop"]));
        assert_eq!(code, Some(3), "{url}: {err}");
        let line = one_line(&err);
        assert!(line.contains("cannot reach the broker") && !line.contains("hunter2"), "{url}: {line}");
        assert!(out.is_empty(), "{url}: {out}");
    }
    // The right password works.
    let (code, out, err) = run(&mut pool_redis(&["--redis", &server.url(Some("right")), "-j", "3", "--work", "noop"]));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.lines().count(), 9);
}

#[test]
fn without_a_redis_server_on_path_it_says_how_to_get_one() {
    let (code, out, err) = run(pool_redis(&["-j", "1"]).env("PATH", ""));
    assert_eq!(code, Some(2), "{err}");
    let line = one_line(&err);
    assert!(line.contains("apt-get install redis-server") && line.contains("--redis"), "{line}");
    assert!(out.is_empty());
}

/// The pre-parse's own usage errors (a `-w` that --remote-workers
/// contradicts, no redis-server) are one line and status 2, also where
/// stderr cannot be written (`2>/dev/full`: the status, not a panic).
#[test]
fn the_binarys_own_usage_errors_are_one_line_and_status_2() {
    let (code, out, err) = run(&mut pool_redis(&["--remote-workers", "2", "-w", "3", "-j", "1"]));
    assert_eq!(code, Some(2), "{err}");
    let line = one_line(&err);
    assert!(line.contains("'--workers <N>'") && line.contains("--remote-workers 2 sets the number"), "{line}");
    assert!(out.is_empty());
    let full = || std::fs::OpenOptions::new().write(true).open("/dev/full").expect("open /dev/full");
    let status = status_within(pool_redis(&["--remote-workers", "2", "-w", "3", "-j", "1"]).stderr(full()));
    assert_eq!(status.code(), Some(2), "--remote-workers 2 -w 3 2>/dev/full");
    let status = status_within(pool_redis(&["-j", "1"]).env("PATH", "").stderr(full()));
    assert_eq!(status.code(), Some(2), "no redis-server, 2>/dev/full");
}

#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn a_shared_broker_is_left_without_the_runs_keys() {
    let server = Server::start(&[]);
    let url = server.url(None);
    for args in [
        &["-w", "3", "-j", "500", "--work", "noop", "--quiet"][..],
        &["-w", "2", "-j", "50", "--queue", "2", "--run", "named"],
    ] {
        let mut full = vec!["--redis", url.as_str()];
        full.extend_from_slice(args);
        let (code, _, err) = run(&mut pool_redis(&full));
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert!(server.keys().is_empty(), "{args:?}: keys left behind: {:?}", server.keys());
    }
}

#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn the_broker_lost_mid_run_is_status_3_and_no_hang() {
    let mut server = Server::start(&[]);
    let url = server.url(None);
    // A bounded queue keeps the server small: the memory test reads the
    // peak of every child this test process waited for.
    let mut child = pool_redis(&[
        "--redis",
        &url,
        "-w",
        "3",
        "-j",
        "1000000",
        "--work",
        "sleep:1ms",
        "--format",
        "jsonl",
        "--queue",
        "64",
    ])
    .spawn()
    .unwrap();
    let lines = Lines::collect(child.stdout.take().unwrap());
    lines.wait_for("a few jobs", Duration::from_secs(30), |ls| ls.len() >= 30);
    server.kill();
    let (status, stderr) = finish(&mut child, "pool-redis without its broker", Duration::from_secs(20));
    assert_eq!(status.code(), Some(3), "{stderr}");
    let line = one_line(&stderr);
    assert!(line.contains("lost the broker"), "{line}");
    // What was logged happened: every job that started ended, every worker
    // exited, no result is wrong.
    std::thread::sleep(Duration::from_millis(100));
    judge(&lines.text(), &case(3, 1_000_000, "sleep:1ms"), Completeness::Partial);
}

/// A broker that stops answering mid-run (paused: the socket stays open)
/// ends the run with status 3 after one reply timeout (5.5 s) and a short
/// clean-up, not one timeout per command of a pipeline: the run once took
/// 23 s with its producer done, and far longer with a batch of 512 jobs in
/// flight, which this run has.
#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn a_broker_that_stops_answering_ends_the_run_after_one_timeout() {
    let server = Server::start(&[]);
    let url = server.url(None);
    let args = ["--redis", &url, "-w", "2", "-j", "100000000", "--work", "sleep:1ms", "--format", "jsonl"];
    let mut child = pool_redis(&args).spawn().unwrap();
    let lines = Lines::collect(child.stdout.take().unwrap());
    lines.wait_for("a few jobs", Duration::from_secs(30), |ls| ls.len() >= 30);
    server.pause();
    let (status, stderr) = finish(&mut child, "pool-redis with its broker paused", Duration::from_secs(15));
    assert_eq!(status.code(), Some(3), "{stderr}");
    let line = one_line(&stderr);
    assert!(line.contains("lost the broker") && line.contains("stopped answering (nothing for 5s 500ms)"), "{line}");
    std::thread::sleep(Duration::from_millis(100));
    judge(&lines.text(), &case(2, 100_000_000, "sleep:1ms"), Completeness::Partial);
}

/// Under an address-space limit with room for the run, it runs: 64 worker
/// threads, each with a connection, under `prlimit --as` 350 MB. Before
/// malloc was kept to one arena under a limit, each thread's arena reserved
/// 64 MiB and half such runs aborted on a small allocation (SIGABRT), the
/// rest were refused a thread.
#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn an_address_space_limit_with_room_for_the_run_is_no_abort() {
    if pool_redis::find_on_path("prlimit").is_none() {
        eprintln!("no prlimit on PATH (util-linux): the address-space limit cannot be set; not checked");
        return;
    }
    for _ in 0..3 {
        let mut cmd = std::process::Command::new("prlimit");
        cmd.args(["--as=350000000", "--", BIN, "-w", "64", "-j", "1000", "--work", "noop", "--quiet"]);
        let (code, _, err) = run(cmd.env_remove(pool_redis::URL_ENV));
        assert_eq!(code, Some(0), "{err}");
    }
}

fn private_dirs(pid: u32) -> Vec<std::path::PathBuf> {
    let prefix = format!("pool-redis-{pid}-");
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}

#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn the_private_broker_is_stopped_and_removed_also_after_sigkill() {
    let mut child = pool_redis(&["-w", "2", "-j", "3", "--work", "noop"]).spawn().unwrap();
    let pid = child.id();
    let (status, stderr) = finish(&mut child, "a short run", Duration::from_secs(30));
    assert!(status.success(), "{stderr}");
    assert!(private_dirs(pid).is_empty(), "left behind: {:?}", private_dirs(pid));

    // Killed outright, it cannot clean up itself: the reaper does.
    let mut child = pool_redis(&["-w", "2", "-j", "100000", "--work", "sleep:1ms", "--queue", "64"]).spawn().unwrap();
    let pid = child.id();
    let lines = Lines::collect(child.stdout.take().unwrap());
    lines.wait_for("a few jobs", Duration::from_secs(30), |ls| ls.len() >= 5);
    assert_eq!(private_dirs(pid).len(), 1, "the private broker's folder");
    child.kill().unwrap();
    let _ = child.wait();
    let start = std::time::Instant::now();
    while !private_dirs(pid).is_empty() {
        assert!(start.elapsed() < Duration::from_secs(10), "the reaper did not remove {:?}", private_dirs(pid));
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn help_names_the_environment_variable() {
    let out = pool_testkit::output_within(std::process::Command::new(BIN).arg("--help"));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains(pool_redis::URL_ENV) && help.contains("--remote-workers") && help.contains("--lease"),
        "{help}"
    );
}

/// A password with the characters that end a URL's authority (`#`, `/`,
/// `?`, `@`) is never printed: not by the coordinator, given by flag or
/// environment, nor by a worker, whether the URL is refused as bad (2) or
/// its broker cannot be reached (3).
#[test]
fn passwords_with_url_delimiters_are_never_printed() {
    for c in ['#', '/', '?', '@', '%', ' ', ':'] {
        let url = format!("redis://:Zq{c}9secret@127.0.0.1:1");
        let runs = [
            pool_redis(&["--redis", &url, "-j", "1", "--work", "noop"]),
            {
                let mut cmd = pool_redis(&["-j", "1", "--work", "noop"]);
                cmd.env(pool_redis::URL_ENV, &url);
                cmd
            },
            pool_redis(&["worker", "--redis", &url]),
        ];
        for mut cmd in runs {
            let (code, out, err) = run(&mut cmd);
            assert!(matches!(code, Some(2 | 3)), "{url}: {code:?} {err}");
            assert!(!err.contains("secret") && !out.contains("secret"), "{url}: {err}");
            assert!(!err.contains("Zq"), "{url}: {err}");
        }
    }
}

/// A 100 KB bad `--run` is refused with one short line, by the coordinator
/// and by a worker.
#[test]
fn a_huge_bad_run_name_is_echoed_short() {
    let name = "x".repeat(100_000);
    for args in [&["--redis", "redis://127.0.0.1:1", "--run", &name, "-j", "1"][..], &["worker", "--run", &name]] {
        let (code, _, err) = run(&mut pool_redis(args));
        assert_eq!(code, Some(2), "{err}");
        assert!(one_line(&err).len() < 300, "{} bytes: {}", err.len(), &err[..200]);
    }
}

/// Ctrl-C while the private broker starts (before the driver's signal
/// watcher runs) stops the run as a later one does: status 130 and the
/// summary, never death by the signal itself.
#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn an_early_signal_during_the_private_brokers_start_is_a_graceful_stop() {
    for delay_ms in [20, 30, 40, 60, 80, 100, 150, 200, 300, 400] {
        let mut child =
            pool_redis(&["-w", "2", "-j", "200", "--work", "sleep:10ms", "--format", "jsonl"]).spawn().unwrap();
        let lines = Lines::collect(child.stdout.take().unwrap());
        std::thread::sleep(Duration::from_millis(delay_ms));
        crate::support::interrupt(&child);
        let (status, stderr) = finish(&mut child, "pool-redis after an early Ctrl-C", Duration::from_secs(30));
        assert_eq!(status.code(), Some(130), "signal after {delay_ms} ms: {status:?}: {stderr}");
        assert!(stderr.contains("never started (interrupted)"), "after {delay_ms} ms: {stderr}");
        judge(&lines.text(), &case(2, 200, "sleep:10ms"), Completeness::Partial);
    }
}
