//! Three network hosts on this machine for the across-hosts test: network
//! namespaces (broker, coordinator, workers) joined by veth pairs, with
//! addresses only inside them and a delay on every link.
//!
//! The broker's namespace has one link to each other host:
//!
//! ```text
//! coordinator 10.77.1.2 ── 10.77.1.1  broker  10.77.2.1 ── 10.77.2.2 workers
//! ```
//!
//! The delay is `tc netem` on both ends of each link where the kernel has
//! it. Where it does not (a kernel built without `sch_netem`), a relay in
//! the broker's namespace stands in for the links' far ends: it listens on
//! the broker's link addresses, passes each chunk on to the server (on the
//! namespace's loopback) a delay later, and the same way back. Either way a
//! round trip across a link takes two delays more than without.
//!
//! Clean-up never depends on the test getting to its end: [`Hosts`]'s
//! `Drop` kills every process in the namespaces and deletes them (a failed
//! assertion unwinds through it); a watchdog does the killing once the
//! test's time is up, so that no wait hangs; and namespaces left by a test
//! process that was itself killed are deleted by the next one (their names
//! carry the process id).

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};
use std::sync::{Arc, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Where the names of the namespaces start: `PREFIX-PID-N-ROLE`.
const PREFIX: &str = "poolredis";

/// The broker's address as the coordinator's host reaches it.
pub const BROKER_FOR_COORDINATOR: &str = "10.77.1.1";
/// The broker's address as the workers' host reaches it.
pub const BROKER_FOR_WORKERS: &str = "10.77.2.1";

/// The hosts' roles, in the order their namespaces are made.
const ROLES: [&str; 3] = ["broker", "coord", "workers"];

/// How a link's delay is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelayBy {
    /// `tc qdisc … netem delay` on both ends of each link.
    Netem,
    /// A relay in the broker's namespace (this kernel has no netem).
    Relay,
}

/// The three namespaces of one test run.
pub struct Hosts {
    names: Vec<String>,
    /// How the links are delayed.
    pub delay_by: DelayBy,
    /// The reason netem could not be used, if it could not.
    pub no_netem: Option<String>,
    relay: Option<Relay>,
    watchdog: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
}

/// Runs `ip ARGS`; its stderr on failure.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).stdin(Stdio::null()).output().map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!("`ip {}`: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
}

/// The processes in namespace `ns`.
fn pids_in(ns: &str) -> Vec<i32> {
    let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).stderr(Stdio::null()).output() else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout).split_whitespace().filter_map(|p| p.parse().ok()).collect()
}

/// Kills every process in the namespaces `names` (none of them can be
/// another's: the namespaces are this test's alone).
fn kill_all_in(names: &[String]) {
    use nix::sys::signal::{Signal, kill};
    for ns in names {
        for pid in pids_in(ns) {
            let _ = kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// Kills what runs in `names` and deletes them.
fn remove(names: &[String]) {
    kill_all_in(names);
    let start = Instant::now();
    while names.iter().any(|ns| !pids_in(ns).is_empty()) && start.elapsed() < Duration::from_secs(5) {
        thread::sleep(Duration::from_millis(10));
    }
    for ns in names {
        let _ = ip(&["netns", "delete", ns]);
    }
}

/// Deletes the namespaces of test processes that are gone.
fn remove_stale() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else { return };
    let stale: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| {
            let mut parts = name.split('-');
            parts.next() == Some(PREFIX)
                && parts.next().and_then(|pid| pid.parse::<u32>().ok()).is_some_and(|pid| {
                    pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
                })
        })
        .collect();
    remove(&stale);
}

impl Hosts {
    /// Makes the three hosts and their links, each delayed by `delay` one
    /// way; within `limit` everything in them is killed (the watchdog).
    /// `Err` says why the namespaces cannot be made here.
    pub fn make(delay: Duration, limit: Duration) -> Result<Hosts, String> {
        static RUNS: AtomicU32 = AtomicU32::new(0);
        if !nix::unistd::Uid::effective().is_root() {
            return Err("network namespaces need root".to_owned());
        }
        remove_stale();
        let run = format!("{PREFIX}-{}-{}", std::process::id(), RUNS.fetch_add(1, Relaxed));
        let mut hosts =
            Hosts { names: Vec::new(), delay_by: DelayBy::Netem, no_netem: None, relay: None, watchdog: None };
        for role in ROLES {
            let name = format!("{run}-{role}");
            ip(&["netns", "add", &name])?;
            hosts.names.push(name);
        }
        let [broker, coord, workers] = [0, 1, 2].map(|i| hosts.names[i].clone());
        // Made inside the namespaces: no name is ever taken on this host.
        for (dev, peer, ns, subnet) in [("tocoord", "eth0", &coord, 1), ("toworkers", "eth0", &workers, 2)] {
            ip(&["link", "add", dev, "netns", &broker, "type", "veth", "peer", "name", peer, "netns", ns])?;
            ip(&["-n", &broker, "addr", "add", &format!("10.77.{subnet}.1/24"), "dev", dev])?;
            ip(&["-n", ns, "addr", "add", &format!("10.77.{subnet}.2/24"), "dev", peer])?;
            ip(&["-n", &broker, "link", "set", dev, "up"])?;
            ip(&["-n", ns, "link", "set", peer, "up"])?;
        }
        for ns in &hosts.names {
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        let delay_text = format!("{}us", delay.as_micros());
        for (ns, dev) in [(&broker, "tocoord"), (&coord, "eth0"), (&broker, "toworkers"), (&workers, "eth0")] {
            let netem =
                ip(&["netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "netem", "delay", &delay_text]);
            if let Err(why) = netem {
                hosts.delay_by = DelayBy::Relay;
                hosts.no_netem = Some(why);
                break;
            }
        }
        if hosts.delay_by == DelayBy::Relay {
            for (ns, dev) in [(&broker, "tocoord"), (&coord, "eth0"), (&broker, "toworkers"), (&workers, "eth0")] {
                let _ = ip(&["netns", "exec", ns, "tc", "qdisc", "del", "dev", dev, "root"]);
            }
        }
        let names = hosts.names.clone();
        let (cancel, cancelled) = mpsc::channel::<()>();
        let watchdog = thread::spawn(move || {
            if cancelled.recv_timeout(limit) == Err(mpsc::RecvTimeoutError::Timeout) {
                eprintln!("across hosts: not done within {limit:?}: killing everything in the namespaces");
                kill_all_in(&names);
            }
        });
        hosts.watchdog = Some((cancel, watchdog));
        Ok(hosts)
    }

    /// The namespace of `role` (`broker`, `coord` or `workers`).
    pub fn ns(&self, role: &str) -> &str {
        let i = ROLES.iter().position(|r| *r == role).expect("a role");
        &self.names[i]
    }

    /// `program ARGS` to run on host `role`.
    pub fn command(&self, role: &str, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", self.ns(role), program]).args(args);
        cmd
    }

    /// Where the broker's server listens inside its namespace: on its link
    /// addresses (netem), or on loopback behind the relay.
    pub fn server_binds(&self) -> Vec<&'static str> {
        match self.delay_by {
            DelayBy::Netem => vec![BROKER_FOR_COORDINATOR, BROKER_FOR_WORKERS],
            DelayBy::Relay => vec!["127.0.0.1"],
        }
    }

    /// Starts the relay if the links need it: from `port` on the broker's
    /// link addresses to `port` on its loopback, `delay` each way.
    pub fn relay_if_needed(&mut self, port: u16, delay: Duration) -> Result<(), String> {
        if self.delay_by == DelayBy::Relay {
            let listen =
                [BROKER_FOR_COORDINATOR, BROKER_FOR_WORKERS].map(|a| SocketAddr::new(a.parse().unwrap(), port));
            let upstream = SocketAddr::new([127, 0, 0, 1].into(), port);
            self.relay = Some(Relay::start(self.ns("broker"), &listen, upstream, delay)?);
        }
        Ok(())
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        if let Some((cancel, watchdog)) = self.watchdog.take() {
            drop(cancel);
            let _ = watchdog.join();
        }
        // The server goes first: the relay's connections then end.
        remove(&self.names);
        if let Some(relay) = self.relay.take() {
            relay.stop();
        }
    }
}

/// A TCP relay that delays every chunk it passes on (see the module docs).
struct Relay {
    stop: Arc<AtomicBool>,
    listeners: Vec<JoinHandle<()>>,
}

impl Relay {
    /// Listens on `listen` inside namespace `ns` (threads of this process
    /// that enter it) and forwards to `upstream` there.
    fn start(ns: &str, listen: &[SocketAddr], upstream: SocketAddr, delay: Duration) -> Result<Relay, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut listeners = Vec::new();
        for &addr in listen {
            let ns_file = File::open(format!("/run/netns/{ns}")).map_err(|e| format!("namespace {ns}: {e}"))?;
            let (ready, bound) = mpsc::channel();
            let stop = stop.clone();
            listeners.push(thread::spawn(move || {
                // Only this thread, and those it starts, enter the namespace.
                let listener = nix::sched::setns(ns_file, nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(|e| format!("setns: {e}"))
                    .and_then(|()| TcpListener::bind(addr).map_err(|e| format!("relay on {addr}: {e}")))
                    .and_then(|l| l.set_nonblocking(true).map(|()| l).map_err(|e| e.to_string()));
                let listener = match listener {
                    Ok(listener) => {
                        let _ = ready.send(Ok(()));
                        listener
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                while !stop.load(Relaxed) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            if let Ok(server) = TcpStream::connect(upstream) {
                                let _ = client.set_nonblocking(false);
                                connect_delayed(client, server, delay);
                            }
                        }
                        Err(_) => thread::sleep(Duration::from_millis(5)),
                    }
                }
            }));
            bound.recv().map_err(|_| "the relay's thread died".to_owned())??;
        }
        Ok(Relay { stop, listeners })
    }

    fn stop(self) {
        self.stop.store(true, Relaxed);
        for listener in self.listeners {
            let _ = listener.join();
        }
    }
}

/// Passes bytes both ways between `a` and `b`, each chunk `delay` after it
/// arrived; when either side ends, both are shut.
fn connect_delayed(a: TcpStream, b: TcpStream, delay: Duration) {
    for s in [&a, &b] {
        let _ = s.set_nodelay(true);
    }
    let (Ok(a2), Ok(b2)) = (a.try_clone(), b.try_clone()) else { return };
    thread::spawn(move || pump(a, b, delay));
    thread::spawn(move || pump(b2, a2, delay));
}

fn pump(mut from: TcpStream, to: TcpStream, delay: Duration) {
    let (chunks, due) = mpsc::channel::<(Instant, Vec<u8>)>();
    let writer = thread::spawn(move || {
        let mut to = to;
        for (at, bytes) in due {
            thread::sleep(at.saturating_duration_since(Instant::now()));
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
    let mut buf = vec![0; 64 * 1024];
    while let Ok(n @ 1..) = from.read(&mut buf) {
        if chunks.send((Instant::now() + delay, buf[..n].to_vec())).is_err() {
            break;
        }
    }
    drop(chunks);
    let _ = writer.join();
    let _ = from.shutdown(Shutdown::Both);
}
