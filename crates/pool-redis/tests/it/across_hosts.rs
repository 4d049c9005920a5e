//! Across hosts, for real (issue 19): the broker, the coordinator and four
//! worker processes each on a network host of their own ([`Hosts`]: network
//! namespaces, links delayed 1 ms each way), over TCP with an ACL user and
//! its password; one worker killed (SIGKILL) mid-job. Every job ends once,
//! the log passes the checker, the coordinator exits 0, and the password is
//! in nothing printed.
//!
//! It needs root (to make namespaces), so it runs where `POOL_REDIS_NETNS`
//! is set (`.ci/run` sets it); elsewhere it is ignored with that reason.
//! Then it also times `noop` jobs across the links and prints µs per job
//! (`--nocapture` shows it; nothing is asserted of it).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pool_core::{Completeness, Event, Flavor, Format, Summary};
use pool_testkit::{case, judge};

use crate::hosts::{BROKER_FOR_COORDINATOR, BROKER_FOR_WORKERS, Hosts};
use crate::support::{BIN, Lines, finish};

/// One way, on every link.
const DELAY: Duration = Duration::from_millis(1);
/// The whole test, after which the watchdog kills everything it started.
const LIMIT: Duration = Duration::from_secs(240);
/// How long one run may take (well within [`LIMIT`]).
const RUN_LIMIT: Duration = Duration::from_secs(90);
const PORT: u16 = 6379;
const USER: &str = "pool";
const PASSWORD: &str = "Net-ns-SECRET-41z";
const WORKERS: usize = 4;

fn url(host: &str) -> String {
    format!("redis://{USER}:{PASSWORD}@{host}:{PORT}")
}

fn assert_no_secret(text: &str, what: &str) {
    assert!(!text.contains(PASSWORD) && !text.contains("SECRET"), "the password is in {what}:\n{text}");
}

/// A folder removed when dropped.
struct Dir(std::path::PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child killed and waited for when dropped (on any failure).
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The broker: `redis-server` in its namespace, with the ACL user and the
/// default user off; ready once its unix socket (a file, so reachable from
/// here) accepts.
fn start_broker(hosts: &Hosts, dir: &std::path::Path) -> Proc {
    let socket = dir.join("redis.sock");
    let mut args = vec!["--port".to_owned(), PORT.to_string(), "--bind".to_owned()];
    args.extend(hosts.server_binds().iter().map(|a| a.to_string()));
    args.extend(["--unixsocket".to_owned(), socket.to_str().unwrap().to_owned()]);
    args.extend(["--save", "", "--appendonly", "no", "--dir"].map(String::from));
    args.push(dir.to_str().unwrap().to_owned());
    args.extend(
        ["--user", USER, "on", &format!(">{PASSWORD}"), "~*", "&*", "+@all", "--user", "default", "off"]
            .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let child = hosts
        .command("broker", "redis-server", &args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server in the broker's namespace");
    let start = Instant::now();
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(start.elapsed() < Duration::from_secs(10), "the broker did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    Proc(child)
}

fn piped(mut cmd: Command) -> Command {
    cmd.env_remove(pool_redis::URL_ENV).env_remove(pool_redis::CA_ENV);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

/// `WORKERS` worker processes on the workers' host, given the broker by
/// the environment.
fn start_workers(hosts: &Hosts, run: &str) -> Vec<Proc> {
    (0..WORKERS)
        .map(|_| {
            let mut cmd = piped(hosts.command("workers", BIN, &["worker", "--run", run]));
            cmd.env(pool_redis::URL_ENV, url(BROKER_FOR_WORKERS));
            Proc(cmd.spawn().expect("a worker process"))
        })
        .collect()
}

/// The coordinator on its host, the broker on the command line.
fn start_coordinator(hosts: &Hosts, run: &str, args: &[&str]) -> (Proc, Lines) {
    let url = url(BROKER_FOR_COORDINATOR);
    let mut full = vec!["--redis", &url, "--run", run, "--remote-workers", "4", "--format", "jsonl"];
    full.extend_from_slice(args);
    let mut child = piped(hosts.command("coord", BIN, &full)).spawn().expect("the coordinator");
    let lines = Lines::collect(child.stdout.take().unwrap());
    (Proc(child), lines)
}

#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
#[cfg_attr(
    all(not(no_redis_server), no_netns),
    ignore = "makes network namespaces (root): set POOL_REDIS_NETNS=1 to run it (.ci/run does)"
)]
fn across_hosts_a_worker_killed_mid_job_loses_no_job() {
    let mut hosts = match Hosts::make(DELAY, LIMIT) {
        Ok(hosts) => hosts,
        Err(why) => panic!("POOL_REDIS_NETNS is set but network namespaces cannot be made here: {why}"),
    };
    if let Some(why) = &hosts.no_netem {
        eprintln!("across hosts: no netem here ({why}): a relay in the broker's namespace delays the links");
    }
    hosts.relay_if_needed(PORT, DELAY).expect("the delaying relay");
    let dir = Dir(std::env::temp_dir().join(hosts.ns("broker")));
    std::fs::create_dir_all(&dir.0).unwrap();
    let _broker = start_broker(&hosts, &dir.0);

    // Jobs long enough that all four workers hold one when one is killed.
    let work = "sleep:300ms";
    let mut remote = start_workers(&hosts, "kill");
    let (mut coord, lines) = start_coordinator(&hosts, "kill", &["-j", "24", "--work", work, "--lease", "1s"]);
    let in_flight = |ls: &[String]| {
        let count = |event: &str| ls.iter().filter(|l| l.contains(event)).count();
        count("\"started\"") - count("\"finished\"")
    };
    lines.wait_for("all four workers in a job", RUN_LIMIT, |ls| in_flight(ls) >= WORKERS);
    remote[0].0.kill().expect("SIGKILL a worker");
    let _ = remote[0].0.wait();
    let (status, stderr) = finish(&mut coord.0, "the coordinator", RUN_LIMIT);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_no_secret(&stderr, "the coordinator's stderr");
    for worker in &mut remote[1..] {
        let (status, stderr) = finish(&mut worker.0, "a worker", RUN_LIMIT);
        assert_eq!(status.code(), Some(0), "{stderr}");
        assert_no_secret(&stderr, "a worker's stderr");
    }
    let log = lines.text();
    assert_no_secret(&log, "the log");
    let summary = judge(&log, &case(4, 24, work).distributed(), Completeness::Complete);
    assert_eq!(summary, Summary::expected(4, 24, true), "{log}");
    let records = Format::Jsonl.parse(&log).unwrap();
    let reclaimed: Vec<_> = records.iter().filter(|r| matches!(r.event, Event::Reclaimed { .. })).collect();
    assert_eq!(reclaimed.len(), 1, "the killed worker's job was taken over once: {log}");
    let Event::Reclaimed { from, .. } = reclaimed[0].event else { unreachable!() };
    assert!(!records.iter().any(|r| r.worker == from && r.event == Event::Exiting), "the killed one exits: {log}");

    // Then the links' cost: noop jobs, textbook (two round trips a job)
    // and tuned (two a batch).
    for (flavor, tag, jobs) in [(Flavor::Textbook, "textbook", 2_000), (Flavor::Tuned, "tuned", 20_000)] {
        let run = format!("noop-{tag}");
        let mut remote = start_workers(&hosts, &run);
        let jobs_text = jobs.to_string();
        let (mut coord, lines) =
            start_coordinator(&hosts, &run, &["-j", &jobs_text, "--work", "noop", "--flavor", tag]);
        let (status, stderr) = finish(&mut coord.0, "the coordinator", RUN_LIMIT);
        assert_eq!(status.code(), Some(0), "{tag}: {stderr}");
        for worker in &mut remote {
            assert_eq!(finish(&mut worker.0, "a worker", RUN_LIMIT).0.code(), Some(0), "{tag}");
        }
        let log = lines.text();
        let case = case(4, jobs, "noop").flavor(flavor).distributed();
        let summary = judge(&log, &case, Completeness::Complete);
        assert_eq!(summary, Summary::expected(4, jobs, true), "{tag}");
        let records = Format::Jsonl.parse(&log).unwrap();
        let times = |event: fn(&Event) -> bool| records.iter().filter(move |r| event(&r.event)).filter_map(|r| r.t_us);
        let first = times(|e| matches!(e, Event::Started { .. })).min().unwrap();
        let last = times(|e| matches!(e, Event::Finished { .. })).max().unwrap();
        eprintln!(
            "across hosts ({:?}, {DELAY:?} each way): noop x {jobs} on {WORKERS} workers, {tag}: {:.1} us per job \
             (first start to last finish)",
            hosts.delay_by,
            (last - first) as f64 / jobs as f64
        );
    }
}
