//! Distributed mode: a coordinator and `pool-redis worker` processes.

use std::process::Child;
use std::time::Duration;

use pool_core::{Completeness, Event, Format, LoggedOutcome, Summary};
use pool_testkit::{case, judge};

use crate::support::{Lines, Server, finish, interrupt, pool_redis};

/// How long a distributed run here may take before it counts as hung.
const LIMIT: Duration = Duration::from_secs(60);

fn coordinator(server: &Server, run: &str, args: &[&str]) -> (Child, Lines) {
    let url = server.url(None);
    let mut full = vec!["--redis", &url, "--run", run];
    full.extend_from_slice(args);
    let mut child = pool_redis(&full).spawn().expect("start the coordinator");
    let lines = Lines::collect(child.stdout.take().unwrap());
    (child, lines)
}

fn workers(server: &Server, run: &str, n: usize) -> Vec<Child> {
    let url = server.url(None);
    (0..n).map(|_| pool_redis(&["worker", "--redis", &url, "--run", run]).spawn().expect("start a worker")).collect()
}

fn all_exit_with(workers: &mut [Child], code: i32) {
    for (i, w) in workers.iter_mut().enumerate() {
        let (status, stderr) = finish(w, "a remote worker", LIMIT);
        assert_eq!(status.code(), Some(code), "worker process {i}: {status:?}: {stderr}");
    }
}

#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn remote_workers_run_every_job_once_and_exit() {
    let server = Server::start(&[]);
    let (mut coord, lines) = coordinator(
        &server,
        "plain",
        &["--remote-workers", "3", "-j", "40", "--work", "spin:5ms..10ms", "--panic-on", "7", "--format", "jsonl"],
    );
    let mut remote = workers(&server, "plain", 3);
    let (status, stderr) = finish(&mut coord, "the coordinator", LIMIT);
    assert_eq!(status.code(), Some(1), "job 7 failed: {stderr}");
    assert!(stderr.contains("39 finished, 1 failed") && stderr.contains("results check out"), "{stderr}");
    all_exit_with(&mut remote, 0);
    // Judged with the work rule: each line carries the remote worker's own
    // timestamp (see `clock`), so a job's service time is its own.
    let summary =
        judge(&lines.text(), &case(3, 40, "spin:5ms..10ms").panics([7]).distributed(), Completeness::Complete);
    let mut expected = Summary::expected(3, 40, true);
    expected.record(pool_core::JobId(7), LoggedOutcome::Failed("job 7 panicked (--panic-on)".into()));
    assert_eq!(summary, expected);
    assert!(server.keys().is_empty(), "keys left behind: {:?}", server.keys());
}

#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn a_worker_killed_mid_job_has_its_job_reclaimed() {
    let server = Server::start(&[]);
    let args = ["--remote-workers", "3", "-j", "12", "--work", "sleep:300ms", "--lease", "500ms", "--format", "jsonl"];
    let (mut coord, lines) = coordinator(&server, "kill", &args);
    let mut remote = workers(&server, "kill", 3);
    // All three are running a job: kill one of them.
    lines.wait_for("three jobs started", LIMIT, |ls| ls.iter().filter(|l| l.contains("\"started\"")).count() >= 3);
    remote[0].kill().expect("SIGKILL a worker");
    let _ = remote[0].wait();
    let (status, stderr) = finish(&mut coord, "the coordinator", LIMIT);
    assert_eq!(status.code(), Some(0), "{stderr}");
    all_exit_with(&mut remote[1..], 0);

    // Every job finished once, with its result, and the log holds under the
    // reclaim rule.
    let log = lines.text();
    // Judged with the work rule (a sleep:300ms job takes at least 299 ms):
    // the log carries the remote workers' own timestamps.
    let summary = judge(&log, &case(3, 12, "sleep:300ms").distributed(), Completeness::Complete);
    assert_eq!(summary, Summary::expected(3, 12, true), "{log}");
    let records = Format::Jsonl.parse(&log).unwrap();
    let reclaims: Vec<_> = records
        .iter()
        .filter_map(|r| match r.event {
            Event::Reclaimed { job, from } => Some((r.worker, job, from)),
            _ => None,
        })
        .collect();
    assert_eq!(reclaims.len(), 1, "one job was taken over: {log}");
    let (by, _, from) = reclaims[0];
    assert_ne!(by, from);
    assert!(
        !records.iter().any(|r| r.worker == from && r.event == Event::Exiting),
        "the killed worker never exits: {log}"
    );
    assert!(server.keys().is_empty(), "keys left behind: {:?}", server.keys());
}

#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn a_stalled_worker_whose_job_was_taken_over_reports_no_second_result() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let server = Server::start(&[]);
    let args = ["--remote-workers", "2", "-j", "8", "--work", "sleep:400ms", "--lease", "500ms", "--format", "jsonl"];
    let (mut coord, lines) = coordinator(&server, "stall", &args);
    let mut remote = workers(&server, "stall", 2);
    lines.wait_for("two jobs started", LIMIT, |ls| ls.iter().filter(|l| l.contains("\"started\"")).count() >= 2);
    let stalled = Pid::from_raw(i32::try_from(remote[0].id()).unwrap());
    kill(stalled, Signal::SIGSTOP).unwrap();
    // Long enough for its lease to run out and the other worker to take
    // its job over; then it wakes and finishes that job too.
    lines.wait_for("a takeover", LIMIT, |ls| ls.iter().any(|l| l.contains("\"reclaimed\"")));
    std::thread::sleep(Duration::from_millis(200));
    kill(stalled, Signal::SIGCONT).unwrap();
    let (status, stderr) = finish(&mut coord, "the coordinator", LIMIT);
    // A second result would end the run with status 3 ("reported ended
    // twice") and break the checker's rules.
    assert_eq!(status.code(), Some(0), "{stderr}");
    let log = lines.text();
    let summary = judge(&log, &case(2, 8, "sleep:400ms").distributed(), Completeness::Complete);
    assert_eq!(summary, Summary::expected(2, 8, true), "{log}");
    for w in &mut remote {
        let _ = finish(w, "a remote worker", LIMIT);
    }
}

/// A coordinator killed without its clean-up (SIGKILL) leaves keys on the
/// broker, but none for ever: each expires (the run's name within the
/// owner's short claim, the rest within ten minutes).
#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn a_killed_coordinators_keys_all_expire() {
    let server = Server::start(&[]);
    let args = ["--remote-workers", "2", "-j", "200", "--work", "sleep:100ms", "--format", "jsonl"];
    let (mut coord, lines) = coordinator(&server, "killed", &args);
    let mut remote = workers(&server, "killed", 2);
    // Well within the first renewal (a second): every key is made with
    // its expiry, also those the workers add to.
    lines.wait_for("a few jobs", LIMIT, |ls| ls.len() >= 10);
    coord.kill().expect("SIGKILL the coordinator");
    let _ = coord.wait();
    let ttls = server.ttls();
    for key in ["jobs", "events", "config", "joined", "owner"] {
        assert!(ttls.iter().any(|(k, _)| k.ends_with(&format!(":{key}"))), "no {key} key: {ttls:?}");
    }
    for (key, ttl) in &ttls {
        assert!((1..=600_000).contains(ttl), "{key} has no expiry ({ttl}): {ttls:?}");
    }
    for w in &mut remote {
        let _ = w.kill();
        let _ = w.wait();
    }
}

/// The same for a local run on a shared broker.
#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn a_killed_local_runs_keys_all_expire() {
    let server = Server::start(&[]);
    let url = server.url(None);
    let args = ["--redis", &url, "-w", "2", "-j", "1000", "--work", "sleep:10ms", "--format", "jsonl"];
    let mut child = pool_redis(&args).spawn().unwrap();
    let lines = Lines::collect(child.stdout.take().unwrap());
    lines.wait_for("a few jobs", LIMIT, |ls| ls.len() >= 10);
    child.kill().expect("SIGKILL the run");
    let _ = child.wait();
    let ttls = server.ttls();
    assert!(ttls.iter().any(|(k, _)| k.ends_with(":jobs")), "no job stream: {ttls:?}");
    for (key, ttl) in &ttls {
        assert!((1..=600_000).contains(ttl), "{key} has no expiry ({ttl}): {ttls:?}");
    }
}

#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn ctrl_c_in_the_coordinator_tells_the_workers_to_exit() {
    let server = Server::start(&[]);
    let args = ["--remote-workers", "2", "-j", "200", "--work", "sleep:100ms", "--format", "jsonl"];
    let (mut coord, lines) = coordinator(&server, "sigint", &args);
    let mut remote = workers(&server, "sigint", 2);
    lines.wait_for("a few jobs", LIMIT, |ls| ls.len() >= 5);
    interrupt(&coord);
    let (status, stderr) = finish(&mut coord, "the interrupted coordinator", Duration::from_secs(10));
    assert_eq!(status.code(), Some(130), "{stderr}");
    all_exit_with(&mut remote, 0);
    let (finished, failed, not_started) =
        judge(&lines.text(), &case(2, 200, "sleep:100ms").distributed(), Completeness::Partial).counts();
    assert_eq!(failed, 0);
    assert!(not_started > 0, "every job ran after Ctrl-C");
    assert!(stderr.contains(&format!("{finished} finished, 0 failed, {not_started} never started")), "{stderr}");
    assert!(server.keys().is_empty(), "keys left behind: {:?}", server.keys());
}

#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn the_broker_lost_ends_coordinator_and_workers_with_status_3() {
    let mut server = Server::start(&[]);
    let args = ["--remote-workers", "2", "-j", "1000", "--work", "sleep:20ms", "--format", "jsonl"];
    let (mut coord, lines) = coordinator(&server, "loss", &args);
    let mut remote = workers(&server, "loss", 2);
    lines.wait_for("a few jobs", LIMIT, |ls| ls.len() >= 10);
    server.kill();
    let (status, stderr) = finish(&mut coord, "the coordinator without its broker", Duration::from_secs(20));
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert_eq!(stderr.lines().filter(|l| l.contains("error")).count(), 1, "{stderr}");
    assert!(stderr.contains("lost the broker"), "{stderr}");
    all_exit_with(&mut remote, 3);
}

#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn a_worker_beyond_the_runs_count_is_refused() {
    let server = Server::start(&[]);
    let (mut coord, _lines) =
        coordinator(&server, "full", &["--remote-workers", "1", "-j", "20", "--work", "sleep:50ms"]);
    let mut first = workers(&server, "full", 1);
    std::thread::sleep(Duration::from_millis(300));
    let mut extra = workers(&server, "full", 1);
    let (status, stderr) = finish(&mut extra[0], "an extra worker", LIMIT);
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("already has its 1 workers"), "{stderr}");
    let (status, stderr) = finish(&mut coord, "the coordinator", LIMIT);
    assert!(status.success(), "{stderr}");
    all_exit_with(&mut first, 0);
}
