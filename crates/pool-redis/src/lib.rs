//! The seed's pool with Redis Streams as its queue: the step a user takes
//! when jobs outgrow one machine, measured beside the in-process pools.
//!
//! Jobs are entries of a stream, taken one at a time by each worker through
//! a consumer group (`XREADGROUP ... COUNT 1`, fair dispatch) and
//! acknowledged (`XACK`) when done; a job whose worker went silent is taken
//! over after a lease (`XAUTOCLAIM`). The tuned flavor (`tuned.rs` for
//! local mode, `remote/tuned.rs` for remote workers) moves batches instead:
//! runs of short jobs in one entry, several entries a read, one
//! acknowledgement a batch. Two modes:
//!
//! - **local** ([`Redis`] without `--remote-workers`, what the comparison
//!   runs): W worker threads in this process, each with its own connection
//!   ([`local`]);
//! - **distributed**: `pool-redis --remote-workers W` coordinates
//!   ([`coordinator`]) W `pool-redis worker` processes ([`remote`]) on any
//!   machines that reach the broker, and writes their events into its one
//!   log.
//!
//! The broker is `--redis URL` (or `$POOL_REDIS_URL`), or else a private
//! `redis-server` from PATH, started on a unix socket for the run (on
//! Windows: TCP on 127.0.0.1) and stopped after it.
//!
//! Trade-off: every hand-off is a round trip to another process (tens of
//! microseconds instead of tens of nanoseconds), bought for workers that can
//! live anywhere and a queue that outlives any one of them.

mod broker;
mod clock;
pub mod coordinator;
mod keys;
pub mod local;
pub mod remote;
mod resume;
mod scripts;
#[cfg(unix)]
mod signals;
/// Windows has no signal masks, and its socket reads do not fail with
/// `EINTR` when a console handler runs: nothing to keep off.
#[cfg(not(unix))]
mod signals {
    /// Nothing to block.
    pub(crate) fn quiet_signals() {}
    /// Holds nothing back (the Unix guard's counterpart).
    pub(crate) struct Held;
    /// Nothing to hold back.
    pub(crate) fn hold() -> Held {
        Held
    }
}
mod stream;
pub mod tls;
mod tuned;
mod url;
mod wire;

use std::time::Duration;

use pool_core::{Backend, Crew, Flavor, HandOff, JobId, JobOutcome, Jobs, Need, OutcomeSink, PoolError};

pub use broker::{NO_SERVER, PrivateServer, find_on_path};
pub use keys::{MAX_RUN_NAME, parse_run_name};
pub use remote::{DEFAULT_RUN, RemoteOptions, RemoteWorker};
pub use tls::{CA_ENV, CaFile, CaParser};
pub use url::{BrokerUrl, URL_ENV, UrlParser, redact};

/// The most workers a run takes: each is a thread (or process) with a
/// connection of its own, and a Redis server accepts 10,000 clients by
/// default.
pub const MAX_WORKERS: u32 = 1_000;

/// The lease when `--lease` is not given.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(5);

/// The Redis Streams backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct Redis;

/// The flags of the Redis backend.
#[derive(clap::Args, Clone, Debug)]
pub struct RedisOptions {
    /// The broker's URL; `None`: a private server.
    #[arg(
        long,
        value_name = "URL",
        env = URL_ENV,
        hide_env_values = true,
        value_parser = UrlParser,
        help = "The broker: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], rediss://… for TLS, or \
                unix:///PATH[?pass=PASSWORD]. Without it, a private redis-server from PATH is started on a unix socket \
                (on Windows: TCP on 127.0.0.1) for the run and stopped after it"
    )]
    pub redis: Option<BrokerUrl>,
    /// The CA a `rediss://` broker's certificate is checked against.
    #[arg(
        long,
        value_name = "FILE",
        env = CA_ENV,
        value_parser = CaParser,
        help = "PEM file of the CA certificates that a rediss:// broker's certificate must chain to, in place of the \
                system's roots"
    )]
    pub redis_ca: Option<CaFile>,
    /// Name of the run on the broker (every key of the run carries it). Default: one of its own for a local run; `pool` with --remote-workers.
    #[arg(long, value_name = "NAME", value_parser = parse_run_name)]
    pub run: Option<String>,
    /// Run the jobs on N `pool-redis worker --redis URL [--run NAME]` processes, on this or other machines, instead of threads here; this process hands out the jobs and writes the log. Sets --workers.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_WORKERS)))]
    pub remote_workers: Option<u32>,
    /// How long a remote worker may stop renewing its lease (killed, stalled) before another takes over its job.
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = parse_lease)]
    pub lease: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions { redis: None, redis_ca: None, run: None, remote_workers: None, lease: DEFAULT_LEASE }
    }
}

/// Reads `--lease`: a duration from 100ms to 1h.
pub fn parse_lease(text: &str) -> Result<Duration, String> {
    let lease = humantime::parse_duration(text).map_err(|e| format!("{e} (expected a duration like 5s or 500ms)"))?;
    if !(Duration::from_millis(100)..=Duration::from_secs(3600)).contains(&lease) {
        return Err("expected a duration from 100ms to 1h".to_owned());
    }
    Ok(lease)
}

/// A run name no other local run shares: this process and a counter.
fn local_run_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    static RUNS: AtomicU64 = AtomicU64::new(0);
    format!("local-{}-{}", std::process::id(), RUNS.fetch_add(1, Relaxed))
}

impl Backend for Redis {
    const NAME: &'static str = "redis";
    const MAX_WORKERS: u32 = MAX_WORKERS;
    const FLAVORS: &'static [Flavor] = &[Flavor::Textbook, Flavor::Tuned];
    const SUBSTRATE: &'static [&'static str] = &["redis"];
    const HAND_OFF: HandOff = HandOff::RoundTrip;
    type Options = RedisOptions;

    fn about(flavor: Flavor) -> &'static str {
        if flavor.is_tuned() {
            "Redis Streams, tuned: each thread takes a batch sized by job time (XREADGROUP COUNT n), sends its \
             outcomes back at once and acknowledges the batch in the round trip that takes the next"
        } else {
            "Redis Streams: W threads each with its own broker connection, one job at a time through a consumer \
             group (XREADGROUP, XACK); a private redis-server on a unix socket"
        }
    }

    fn needs() -> Vec<Need> {
        let url = std::env::var_os(URL_ENV).is_some_and(|v| !v.is_empty());
        vec![Need {
            what: format!("redis-server on PATH, nor ${URL_ENV}"),
            met: url || find_on_path("redis-server").is_some(),
            how: format!("apt-get install redis-server, or point ${URL_ENV} at a broker"),
        }]
    }

    fn run<I>(
        crew: Crew,
        options: &RedisOptions,
        jobs: Jobs<I>,
        mut on_result: impl OutcomeSink,
    ) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        let broker = broker::Broker::open(options.redis.as_ref(), options.redis_ca.as_ref())?;
        // One outcome a broker round trip: no run is worth handing over whole.
        let on_result: &mut dyn FnMut(JobOutcome) = &mut |outcome| on_result.one(outcome);
        match options.remote_workers {
            None => local::run(crew, &broker, &local_keys(options), jobs, (local::serve, false), on_result),
            Some(workers) => {
                if workers != crew.size() {
                    return Err(PoolError::Substrate(format!(
                        "--remote-workers {workers} but the pool has {} workers",
                        crew.size()
                    )));
                }
                let keys = keys::Keys::new(options.run.as_deref().unwrap_or(DEFAULT_RUN));
                coordinator::run(crew, &broker, &keys, options.lease, jobs, on_result)
            }
        }
    }

    fn run_tuned<I>(
        crew: Crew,
        options: &RedisOptions,
        jobs: Jobs<I>,
        mut on_result: impl OutcomeSink,
    ) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        if options.remote_workers.is_some() {
            // The same coordinator: the crew's flavor goes into the run's
            // settings, and the remote workers serve accordingly.
            return Self::run(crew, options, jobs, on_result);
        }
        let broker = broker::Broker::open(options.redis.as_ref(), options.redis_ca.as_ref())?;
        let deliver = &mut |batch: Vec<JobOutcome>| batch.into_iter().for_each(|o| on_result.one(o));
        local::run(crew, &broker, &local_keys(options), jobs, (tuned::serve, true), deliver)
    }
}

/// The keys of a local run: `--run NAME`, or a name of its own.
fn local_keys(options: &RedisOptions) -> keys::Keys {
    keys::Keys::new(&options.run.clone().unwrap_or_else(local_run_name))
}
