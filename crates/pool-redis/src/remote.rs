//! Distributed mode, a worker's side: `pool-redis worker --redis URL [--run
//! NAME]`, on this or any machine that reaches the broker. The process waits
//! for the run to exist, joins it (taking the next worker number), reads the
//! run's work settings, and serves jobs one at a time through the shared
//! [`Worker`](pool_core::Worker) until the coordinator tells it to exit.
//!
//! What it does is published as pool-core's JSON lines on the run's event
//! stream, for the coordinator to relay into the one log. Each job's lines
//! (with its result) are published by the same atomic script that
//! acknowledges the job, and only if the job is still this worker's: a
//! worker that was stalled past its lease and had its job taken over
//! publishes nothing for it, so no job has two results.
//!
//! A heartbeat thread renews the worker's lease (its `alive` key, and the
//! job it runs) every quarter lease. When it stops (the process was killed
//! or stopped) another worker takes the job over after the lease with
//! `XAUTOCLAIM`, logs `reclaimed`, and runs it.
//!
//! A stop signal (SIGTERM, SIGINT, SIGHUP) takes the worker out of the run
//! at once: a job it holds and has not finished goes back to the stream
//! (the `HANDBACK` script), so another worker takes it now rather than after the
//! lease, logging it as reclaimed from this one, which logs nothing more
//! (it is gone, as a killed worker is); a worker holding no job logs
//! `exiting`. Its status is then 128 + the signal.
//!
//! The coordinator may die and be started again (see `coordinator`): a
//! worker whose coordinator's claim on the run has lapsed keeps serving the
//! jobs in the stream and waits up to `--wait-coordinator` for a new one.

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser};
use pool_core::cli::{EXIT_POOL, EXIT_USAGE, say};
use pool_core::{
    Backend, Crew, Flavor, Format, JobId, Jobs, Log, OutcomeSink, Pool, PoolConfig, PoolError, Sink, Work, WorkSpec,
};

use crate::broker::Broker;
use crate::keys::{GROUP, Keys, parse_run_name};
use crate::scripts::RENEW;
use crate::tls::{CA_ENV, CaFile, CaParser, check_ca};
use crate::url::{BrokerUrl, URL_ENV, UrlParser};

mod session;
mod tuned;

use session::Session;

/// The run a worker joins and a coordinator starts when `--run` is not given.
pub const DEFAULT_RUN: &str = "pool";

/// The command line of `pool-redis worker`.
#[derive(Parser, Debug)]
#[command(
    name = "pool-redis worker",
    version,
    about = "A worker process of a distributed pool-redis run: joins the run a coordinator \
             (`pool-redis --remote-workers N`) started on the broker, runs jobs until told to exit."
)]
pub struct WorkerCli {
    /// The broker's URL.
    #[arg(
        long,
        value_name = "URL",
        env = URL_ENV,
        hide_env_values = true,
        value_parser = UrlParser,
        help = "The broker the coordinator uses: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], rediss://… for TLS, or \
                unix:///PATH[?pass=PASSWORD]"
    )]
    pub redis: BrokerUrl,
    /// The CA a `rediss://` broker's certificate is checked against.
    #[arg(long, value_name = "FILE", env = CA_ENV, value_parser = CaParser,
        help = "PEM file of the CA certificates that a rediss:// broker's certificate must chain to")]
    pub redis_ca: Option<CaFile>,
    /// The run to join.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_RUN, value_parser = parse_run_name)]
    pub run: String,
    /// How long to wait for a new coordinator once the run's has gone.
    #[arg(long, value_name = "DUR", default_value = "60s", value_parser = parse_wait,
        help = "How long to wait for a coordinator to resume the run (the same command with the same --run) once \
                its coordinator has gone, before exiting with status 3")]
    pub wait_coordinator: Duration,
}

/// Reads `--wait-coordinator`: a duration of at most an hour.
fn parse_wait(text: &str) -> Result<Duration, String> {
    let wait = humantime::parse_duration(text).map_err(|e| format!("{e} (expected a duration like 60s or 5m)"))?;
    if wait > Duration::from_secs(3600) {
        return Err("at most 1h".to_owned());
    }
    Ok(wait)
}

/// Runs `pool-redis worker` with `args` (the first is the program name, the
/// second `worker`). Exit status: 0 when told to exit, 2 for bad usage, 3
/// when the broker or the coordinator is lost.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match WorkerCli::command().try_get_matches_from(args).and_then(|m| WorkerCli::from_arg_matches(&m)) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind::{DisplayHelp, DisplayVersion};
            if matches!(e.kind(), DisplayHelp | DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            let text = e.render().to_string();
            let mut line = pool_core::cli::shorten_echo(text.lines().next().unwrap_or("error: bad usage").trim_end());
            // clap names a missing flag on the next line.
            if let Some(clap::error::ContextValue::Strings(missing)) = e.get(clap::error::ContextKind::InvalidArg) {
                if !missing.iter().any(|m| line.contains(m.as_str())) {
                    line = format!("{} {}", line.trim_end_matches(':'), missing.join(", "));
                }
            }
            say(&line);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Err(why) = check_ca(Some(&cli.redis), cli.redis_ca.as_ref()) {
        say(&format!("error: {why}"));
        return ExitCode::from(EXIT_USAGE);
    }
    // Stop signals are taken from here on (see the module docs).
    let signals = match pool_core::signals::Signals::watch("pool-redis worker") {
        Ok(signals) => signals,
        Err(e) => {
            say(&format!("pool-redis worker: error: cannot watch for stop signals: {e}"));
            return ExitCode::from(EXIT_POOL);
        }
    };
    match serve(&cli, signals.cancel()) {
        Ok(()) => match signals.received() {
            Some(signal) => ExitCode::from(pool_core::signals::exit_status(signal)),
            None => ExitCode::SUCCESS,
        },
        Err(e) => {
            say(&format!("pool-redis worker: error: {e}"));
            ExitCode::from(EXIT_POOL)
        }
    }
}

fn serve(cli: &WorkerCli, cancel: Arc<std::sync::atomic::AtomicBool>) -> Result<(), PoolError> {
    let broker = Broker::open(Some(&cli.redis), cli.redis_ca.as_ref())?;
    let keys = Keys::new(&cli.run);
    let mut conn = broker.connect()?;
    let lost = |e: redis::RedisError| broker.lost(&e);

    // Wait for the run to be started.
    let mut said = false;
    let settings = loop {
        let settings: Vec<(String, String)> = redis::cmd("HGETALL").arg(&keys.config).query(&mut conn).map_err(lost)?;
        if !settings.is_empty() {
            break settings;
        }
        if !said {
            say(&format!("pool-redis worker: waiting for run '{}' to start on {}", keys.run, broker.shown()));
            said = true;
        }
        thread::sleep(Duration::from_millis(100));
    };
    let setting = |name: &str| settings.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("");
    let bad = |what: &str| PoolError::Substrate(format!("run '{}' has a bad setting '{what}'", keys.run));
    let spec: WorkSpec = setting("work").parse().map_err(|_| bad("work"))?;
    let seed: u64 = setting("seed").parse().map_err(|_| bad("seed"))?;
    let lease = Duration::from_millis(setting("lease_ms").parse().map_err(|_| bad("lease_ms"))?);
    let workers: u32 = setting("workers").parse().map_err(|_| bad("workers"))?;
    let epoch_us: u64 = setting("epoch_us").parse().map_err(|_| bad("epoch_us"))?;
    let panic_on: Vec<JobId> = setting("panic_on")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map(JobId).map_err(|_| bad("panic_on")))
        .collect::<Result<_, _>>()?;

    // Join: take the next number and say hello.
    let k: u32 = redis::cmd("INCR").arg(&keys.joined).query(&mut conn).map_err(lost)?;
    if k > workers {
        return Err(PoolError::Substrate(format!("run '{}' already has its {workers} workers", keys.run)));
    }
    redis::pipe()
        .cmd("SET")
        .arg(keys.alive(k))
        .arg(1)
        .arg("PX")
        .arg(lease.as_millis() as u64)
        .ignore()
        .cmd("XADD")
        .arg(&keys.events)
        .arg("*")
        .arg("w")
        .arg(k)
        .arg("hello")
        .arg(std::process::id())
        .ignore()
        .exec(&mut conn)
        .map_err(lost)?;

    let lines = Arc::new(Lines::default());
    let work = Work::new(spec, seed).with_panics(panic_on);
    let mut config = PoolConfig::new(1, work);
    config.cancel = cancel;
    config.log = Some(Log { format: Format::Jsonl, sink: lines.clone() });
    // Lines stamped on the run's clock, which the coordinator relays as
    // they are (see `clock`).
    config.epoch = Some(crate::clock::from_unix_us(epoch_us));
    let tuned = match setting("flavor") {
        "" | "textbook" => false,
        "tuned" => true,
        _ => return Err(bad("flavor")),
    };
    let joined = Joined { broker, keys, k, lease, lines, wait_coordinator: cli.wait_coordinator, tuned };
    let pool = Pool::<RemoteWorker>::new(config, RemoteOptions { joined: Some(Arc::new(joined)) })?;
    pool.run(std::iter::empty(), |_| {}).map(drop)
}

/// A remote worker's log: its lines wait here until they are published.
#[derive(Default)]
struct Lines(Mutex<Vec<u8>>);

impl Lines {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Sink for Lines {
    fn write_lines(&self, lines: &[u8]) -> std::io::Result<()> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(lines);
        Ok(())
    }
}

/// What a worker process knows once it has joined a run.
pub struct Joined {
    broker: Broker,
    keys: Keys,
    k: u32,
    lease: Duration,
    lines: Arc<Lines>,
    wait_coordinator: Duration,
    /// The run is of the tuned flavor (see `tuned`).
    tuned: bool,
}

impl std::fmt::Debug for Joined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Joined").field("run", &self.keys.run).field("worker", &self.k).finish_non_exhaustive()
    }
}

/// The backend of a `pool-redis worker` process: a pool of one worker
/// whose jobs come from the run it joined (the job stream given to
/// [`Pool::run`] is ignored).
#[derive(Clone, Copy, Debug, Default)]
pub struct RemoteWorker;

/// How a worker process reaches its run; set by [`main`], not by flags.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct RemoteOptions {
    #[arg(skip)]
    joined: Option<Arc<Joined>>,
}

impl Backend for RemoteWorker {
    const NAME: &'static str = "redis-worker";
    const MAX_WORKERS: u32 = 1;
    const FLAVORS: &'static [Flavor] = &[Flavor::Textbook];
    const SUBSTRATE: &'static [&'static str] = &["redis"];
    type Options = RemoteOptions;

    fn run<I>(crew: Crew, options: &RemoteOptions, _: Jobs<I>, _: impl OutcomeSink) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        let joined =
            options.joined.as_deref().ok_or_else(|| PoolError::Substrate("the worker has not joined a run".into()))?;
        let worker = crew.into_workers().next().expect("a pool has a worker");
        let held = Mutex::new(Vec::new());
        let (wake, stopped) = mpsc::channel::<()>();
        thread::scope(|s| {
            let heartbeat = thread::Builder::new()
                .name("heartbeat".into())
                .spawn_scoped(s, || heartbeat(joined, &held, stopped))
                .map_err(PoolError::Spawn)?;
            let session = Session::new(joined, &held)?;
            let outcome = if joined.tuned { session.serve_tuned(worker) } else { session.serve(worker) };
            drop(wake);
            let _ = heartbeat.join();
            outcome
        })
    }
}

/// Renews the worker's lease every quarter lease until told to stop, then
/// drops it.
fn heartbeat(joined: &Joined, held: &Mutex<Vec<String>>, stop: mpsc::Receiver<()>) {
    crate::signals::quiet_signals();
    let Ok(mut conn) = joined.broker.connect() else { return };
    let consumer = joined.k.to_string();
    let lease_ms = joined.lease.as_millis() as u64;
    loop {
        let ids = held.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let renewed = redis::cmd("SET")
            .arg(joined.keys.alive(joined.k))
            .arg(1)
            .arg("PX")
            .arg(lease_ms)
            .exec(&mut conn)
            .and_then(|()| match ids.is_empty() {
                true => Ok(()),
                false => {
                    RENEW.key(&joined.keys.jobs).arg(GROUP).arg(&consumer).arg(&ids).invoke::<i64>(&mut conn).map(drop)
                }
            });
        // The serving thread notices a lost broker itself.
        if renewed.is_err() {
            return;
        }
        if stop.recv_timeout(joined.lease / 4) != Err(RecvTimeoutError::Timeout) {
            // The worker has left the run: the coordinator sees it at once.
            let _ = redis::cmd("DEL").arg(joined.keys.alive(joined.k)).exec(&mut conn);
            return;
        }
    }
}
