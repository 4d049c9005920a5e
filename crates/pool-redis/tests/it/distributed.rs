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

/// Pairs each joined remote worker's number with its process id, from
/// the `hello` entries of the run's event stream.
fn worker_pids(server: &Server, run: &str) -> Vec<(u32, u32)> {
    let client = redis::Client::open(server.url(None).as_str()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let entries: redis::streams::StreamRangeReply =
        redis::cmd("XRANGE").arg(format!("wp:{{{run}}}:events")).arg("-").arg("+").query(&mut conn).unwrap();
    entries.ids.iter().filter_map(|e| Some((e.get::<u32>("w")?, e.get::<u32>("hello")?))).collect()
}

fn signal(pid: u32, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap()), signal).expect("signal a worker");
}

/// The coordinator killed mid-run (SIGKILL) and started again with the same
/// command: the workers ride through the gap, the new coordinator adds only
/// the jobs not added yet (`--queue` keeps most of them back at the kill),
/// and its log is the whole run's: every job once, judged complete, holding
/// every line the first coordinator wrote.
#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn a_killed_coordinator_is_resumed_by_the_same_command() {
    for flavor in ["textbook", "tuned"] {
        let server = Server::start(&[]);
        let args = ["--remote-workers", "3", "-j", "60", "--work", "sleep:40ms", "--queue", "4", "--lease", "1s"];
        let args: Vec<&str> = args.iter().copied().chain(["--format", "jsonl", "--flavor", flavor]).collect();
        let (mut first, first_lines) = coordinator(&server, "resume", &args);
        let mut remote = workers(&server, "resume", 3);
        first_lines.wait_for("a few jobs", LIMIT, |ls| ls.len() >= 20);
        first.kill().expect("SIGKILL the coordinator");
        let _ = first.wait();
        let (mut second, lines) = coordinator(&server, "resume", &args);
        let (status, stderr) = finish(&mut second, "the resumed coordinator", LIMIT);
        assert_eq!(status.code(), Some(0), "{flavor}: {stderr}");
        assert!(stderr.contains("resuming run 'resume'"), "{flavor}: {stderr}");
        for (i, w) in remote.iter_mut().enumerate() {
            let (status, stderr) = finish(w, "a remote worker", LIMIT);
            assert_eq!(status.code(), Some(0), "{flavor}: worker process {i}: {stderr}");
            assert!(stderr.contains("is gone; waiting") && stderr.contains("has a coordinator again"), "{stderr}");
        }
        let log = lines.text();
        let flavor_of = if flavor == "tuned" { pool_core::Flavor::Tuned } else { pool_core::Flavor::Textbook };
        let summary = judge(&log, &case(3, 60, "sleep:40ms").flavor(flavor_of).distributed(), Completeness::Complete);
        assert_eq!(summary, Summary::expected(3, 60, true), "{flavor}: {log}");
        let mut whole: Vec<String> = log.lines().map(str::to_owned).collect();
        for line in first_lines.text().lines() {
            let at = whole.iter().position(|l| l == line);
            assert!(at.is_some(), "{flavor}: the first coordinator's line {line:?} is not in the resumed log:\n{log}");
            whole.swap_remove(at.unwrap());
        }
        assert!(server.keys().is_empty(), "{flavor}: keys left behind: {:?}", server.keys());
    }
}

/// A coordinator that finds the run's name held by a live coordinator
/// leaves it alone, and one with other settings than the dead run's does
/// not resume it.
#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn a_live_coordinators_run_is_not_taken_and_a_dead_ones_only_with_its_settings() {
    let server = Server::start(&[]);
    let args = ["--remote-workers", "1", "-j", "100", "--work", "sleep:20ms", "--lease", "1s"];
    let (mut live, _lines) = coordinator(&server, "taken", &args);
    let mut remote = workers(&server, "taken", 1);
    std::thread::sleep(Duration::from_millis(500));
    let (mut other, _) = coordinator(&server, "taken", &args);
    let (status, stderr) = finish(&mut other, "a second coordinator", LIMIT);
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("run name 'taken' is in use"), "{stderr}");
    live.kill().expect("SIGKILL the coordinator");
    let _ = live.wait();
    let changed = ["--remote-workers", "1", "-j", "100", "--work", "sleep:30ms", "--lease", "1s"];
    let (mut wrong, _) = coordinator(&server, "taken", &changed);
    let (status, stderr) = finish(&mut wrong, "a coordinator with other settings", LIMIT);
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("has work 'sleep:20ms', not 'sleep:30ms'"), "{stderr}");
    let (mut right, _) = coordinator(&server, "taken", &args);
    let (status, stderr) = finish(&mut right, "the resumed coordinator", LIMIT);
    assert_eq!(status.code(), Some(0), "{stderr}");
    all_exit_with(&mut remote, 0);
}

/// SIGTERM on a worker mid-job hands the job back at once: with a lease of
/// ten minutes, only the hand-back lets the run end within the test's
/// limit. The job is logged as reclaimed from the stopped worker, which
/// logs nothing more and exits with 143; an idle worker stopped the same
/// way logs `exiting`.
#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn sigterm_on_a_worker_hands_its_job_back_at_once() {
    use nix::sys::signal::Signal;
    let server = Server::start(&[]);
    let args = ["--remote-workers", "3", "-j", "4", "--work", "sleep:1500ms", "--lease", "10m", "--format", "jsonl"];
    let (mut coord, lines) = coordinator(&server, "term", &args);
    let mut remote = workers(&server, "term", 3);
    lines.wait_for("three jobs started", LIMIT, |ls| ls.iter().filter(|l| l.contains("\"started\"")).count() >= 3);
    let pids = worker_pids(&server, "term");
    let busy = Format::Jsonl.parse(&lines.text()).unwrap()[0].worker;
    let pid = pids.iter().find(|(k, _)| *k == busy.0).expect("the busy worker's hello").1;
    signal(pid, Signal::SIGTERM);
    let process = remote.iter().position(|c| c.id() == pid).unwrap();
    let (status, stderr) = finish(&mut remote[process], "the stopped worker", LIMIT);
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("left run 'term': what it held went back to the stream"), "{stderr}");
    // The fourth job leaves one worker idle near the end: stop it too.
    lines.wait_for("four jobs started", LIMIT, |ls| ls.iter().filter(|l| l.contains("\"started\"")).count() >= 5);
    let (status, stderr) = finish(&mut coord, "the coordinator", LIMIT);
    assert_eq!(status.code(), Some(0), "{stderr}");
    for (i, w) in remote.iter_mut().enumerate().filter(|(i, _)| *i != process) {
        let (status, stderr) = finish(w, "a remote worker", LIMIT);
        assert_eq!(status.code(), Some(0), "worker process {i}: {stderr}");
    }
    let log = lines.text();
    let summary = judge(&log, &case(3, 4, "sleep:1500ms").distributed(), Completeness::Complete);
    assert_eq!(summary, Summary::expected(3, 4, true), "{log}");
    let records = Format::Jsonl.parse(&log).unwrap();
    assert!(
        records.iter().any(|r| matches!(r.event, Event::Reclaimed { from, .. } if from == busy)),
        "the stopped worker's job was taken over from it: {log}"
    );
    assert!(!records.iter().any(|r| r.worker == busy && r.event == Event::Exiting), "{log}");
}

/// SIGTERM on an idle worker: it exits at once (143), logging `exiting`,
/// and the run goes on without it.
#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn sigterm_on_an_idle_worker_lets_it_exit_and_the_run_go_on() {
    use nix::sys::signal::Signal;
    let server = Server::start(&[]);
    let args = ["--remote-workers", "2", "-j", "3", "--work", "sleep:1s", "--lease", "10m", "--format", "jsonl"];
    let (mut coord, lines) = coordinator(&server, "idle", &args);
    let mut remote = workers(&server, "idle", 2);
    // Two jobs run; once the third has started, one worker is idle.
    lines.wait_for("the third job", LIMIT, |ls| ls.iter().filter(|l| l.contains("\"started\"")).count() >= 3);
    let records = Format::Jsonl.parse(&lines.text()).unwrap();
    let busy = records.iter().rev().find(|r| matches!(r.event, Event::Started { .. })).unwrap().worker;
    let idle = worker_pids(&server, "idle").into_iter().find(|(k, _)| *k != busy.0).expect("the idle worker").1;
    signal(idle, Signal::SIGTERM);
    let process = remote.iter().position(|c| c.id() == idle).unwrap();
    let (status, stderr) = finish(&mut remote[process], "the stopped worker", LIMIT);
    assert_eq!(status.code(), Some(143), "{stderr}");
    let (status, stderr) = finish(&mut coord, "the coordinator", LIMIT);
    assert_eq!(status.code(), Some(0), "{stderr}");
    let (status, stderr) = finish(&mut remote[1 - process], "the other worker", LIMIT);
    assert_eq!(status.code(), Some(0), "{stderr}");
    let log = lines.text();
    let summary = judge(&log, &case(2, 3, "sleep:1s").distributed(), Completeness::Complete);
    assert_eq!(summary, Summary::expected(2, 3, true), "{log}");
}

/// Every worker killed: the coordinator ends with status 3 in one line once
/// none has renewed its lease for a lease more.
#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn every_worker_killed_ends_the_coordinator_with_status_3() {
    let server = Server::start(&[]);
    let args = ["--remote-workers", "2", "-j", "100", "--work", "sleep:100ms", "--lease", "500ms"];
    let (mut coord, lines) = coordinator(&server, "allgone", &args);
    let mut remote = workers(&server, "allgone", 2);
    lines.wait_for("a few jobs", LIMIT, |ls| ls.len() >= 4);
    for w in &mut remote {
        w.kill().expect("SIGKILL a worker");
        let _ = w.wait();
    }
    let (status, stderr) = finish(&mut coord, "the coordinator with no workers", LIMIT);
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert_eq!(stderr.lines().filter(|l| l.contains("error")).count(), 1, "{stderr}");
    assert!(stderr.contains("every worker of run 'allgone' is gone"), "{stderr}");
    assert!(server.keys().is_empty(), "keys left behind: {:?}", server.keys());
}

/// A worker killed while it holds no job loses nothing: the run ends with
/// status 0, and its `exiting` is logged for it.
#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn a_worker_killed_while_idle_loses_nothing() {
    let server = Server::start(&[]);
    let args = ["--remote-workers", "3", "-j", "2", "--work", "sleep:1500ms", "--lease", "500ms", "--format", "jsonl"];
    let (mut coord, lines) = coordinator(&server, "idlekill", &args);
    let mut remote = workers(&server, "idlekill", 3);
    lines.wait_for("both jobs started", LIMIT, |ls| ls.iter().filter(|l| l.contains("\"started\"")).count() >= 2);
    let busy: Vec<u32> = Format::Jsonl.parse(&lines.text()).unwrap().iter().map(|r| r.worker.0).collect();
    let (idle_k, idle) = worker_pids(&server, "idlekill").into_iter().find(|(k, _)| !busy.contains(k)).unwrap();
    let process = remote.iter().position(|c| c.id() == idle).unwrap();
    remote[process].kill().expect("SIGKILL the idle worker");
    let _ = remote[process].wait();
    let (status, stderr) = finish(&mut coord, "the coordinator", LIMIT);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(&format!("worker {idle_k} of run 'idlekill' died holding no job")), "{stderr}");
    for (i, w) in remote.iter_mut().enumerate().filter(|(i, _)| *i != process) {
        let (status, stderr) = finish(w, "a remote worker", LIMIT);
        assert_eq!(status.code(), Some(0), "worker process {i}: {stderr}");
    }
    let log = lines.text();
    let summary = judge(&log, &case(3, 2, "sleep:1500ms").distributed(), Completeness::Complete);
    assert_eq!(summary, Summary::expected(3, 2, true), "{log}");
}
