//! Local mode (`pool-redis -w 3 -j 5`, the default): W worker threads in
//! this process, each with its own connection, take one job at a time from
//! the run's consumer group (fair dispatch: `COUNT 1`), run it through the
//! shared [`Worker`], hand the outcome to the caller over a channel and
//! acknowledge the entry together with taking the next (one round trip per
//! job while jobs wait). The producer adds jobs pipelined, then one stop
//! entry per worker.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::Instant;

use pool_core::threads::{StdSender, WORKER_STACK, std_channel};
use pool_core::{Crew, JobId, JobOutcome, Jobs, PoolError, Worker};

use crate::broker::Broker;
use crate::keys::{KEY_TTL, Keys, RENEW_EVERY};
use crate::stream::{self, Permits, Taken};
use crate::wire::{BLOCK, Wire};

/// What a run's threads share: its first broker failure (once set, every
/// thread winds down), and the tuned flavor's jobs per stream entry.
#[derive(Default)]
pub(crate) struct Shared {
    set: AtomicBool,
    error: Mutex<Option<PoolError>>,
    /// How many consecutive jobs the producer puts in one entry: 1 in the
    /// textbook flavor; in the tuned one, what the workers last measured
    /// fills their grain (see `tuned`).
    pub(crate) run_len: AtomicUsize,
}

impl Shared {
    pub(crate) fn record(&self, e: PoolError) {
        self.error.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(e);
        self.set.store(true, Relaxed);
    }

    pub(crate) fn is_set(&self) -> bool {
        self.set.load(Relaxed)
    }

    pub(crate) fn take(&self) -> Option<PoolError> {
        self.error.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// What a worker thread runs: take jobs, run them, send what they give the
/// caller (`T`: one outcome, or a batch), until its stop entry.
pub(crate) type Serve<T> = fn(Worker, &Broker, &Keys, Option<&Permits>, &Shared, StdSender<T>);

/// Runs the crew as threads of this process against `broker`, each running
/// `serve`; what they send reaches `deliver` on the caller's thread. With
/// `runs`, the producer puts runs of jobs in an entry (the tuned flavor).
pub(crate) fn run<I, T: Send>(
    crew: Crew,
    broker: &Broker,
    keys: &Keys,
    jobs: Jobs<I>,
    (serve, runs): (Serve<T>, bool),
    deliver: &mut dyn FnMut(T),
) -> Result<(), PoolError>
where
    I: Iterator<Item = JobId> + Send,
{
    let mut conn = broker.connect()?;
    if !keys.claim(&mut conn, KEY_TTL).map_err(|e| broker.lost(&e))? {
        return Err(PoolError::Substrate(format!(
            "run name '{}' is in use on the broker at {}",
            keys.run,
            broker.shown()
        )));
    }
    let outcome = serve_all(crew, broker, keys, jobs, (serve, runs), deliver, &mut conn);
    // Every key of the run goes, also after a failure (if the broker is
    // still there to hear it).
    keys.clean_up(&mut conn, 0, outcome.is_err());
    outcome
}

fn serve_all<I, T: Send>(
    crew: Crew,
    broker: &Broker,
    keys: &Keys,
    jobs: Jobs<I>,
    (serve, runs): (Serve<T>, bool),
    deliver: &mut dyn FnMut(T),
    conn: &mut Wire,
) -> Result<(), PoolError>
where
    I: Iterator<Item = JobId> + Send,
{
    keys.create_jobs(conn).map_err(|e| broker.lost(&e))?;
    let workers = crew.size();
    let permits = crew.queue().map(|n| Permits::new(n.get()));
    let permits = permits.as_ref();
    let shared = Shared { run_len: AtomicUsize::new(1), ..Shared::default() };
    let failure = &shared;
    let (results, received) = std_channel(crew.queue());
    thread::scope(|s| {
        for worker in crew.into_workers() {
            let results = results.clone();
            let name = format!("worker-{}", worker.id());
            let body = move || serve(worker, broker, keys, permits, failure, results);
            let spawned = thread::Builder::new().name(name).stack_size(WORKER_STACK).spawn_scoped(s, body);
            if let Err(e) = spawned {
                // The workers already started see the failure within BLOCK.
                failure.record(PoolError::Spawn(e));
                break;
            }
        }
        drop(results);
        if !failure.is_set() {
            let producer = move || {
                crate::signals::quiet_signals();
                let added = broker.connect().and_then(|mut conn| {
                    let run_len = runs.then_some(&failure.run_len);
                    stream::produce(&mut conn, keys, jobs, permits, workers, run_len, None).map_err(|e| broker.lost(&e))
                });
                if let Err(e) = added {
                    failure.record(e);
                }
            };
            if let Err(e) = thread::Builder::new().name("producer".into()).spawn_scoped(s, producer) {
                failure.record(PoolError::Spawn(e));
            }
        }
        // Between outcomes, the run's keys are renewed (see `Keys::renew`);
        // the workers notice a lost broker themselves.
        let mut renewed = Instant::now();
        loop {
            match received.recv_timeout(RENEW_EVERY) {
                Ok(sent) => deliver(sent),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if renewed.elapsed() >= RENEW_EVERY {
                renewed = Instant::now();
                let _ = keys.renew(conn, KEY_TTL);
            }
        }
    });
    failure.take().map_or(Ok(()), Err)
}

/// One worker thread of the textbook flavor: take, run, hand back,
/// acknowledge; exit at its stop entry, after a cancel, or when the broker
/// fails.
pub(crate) fn serve(
    mut worker: Worker,
    broker: &Broker,
    keys: &Keys,
    permits: Option<&Permits>,
    failure: &Shared,
    results: StdSender<JobOutcome>,
) {
    crate::signals::quiet_signals();
    let consumer = worker.id().to_string();
    let mut work = || -> Result<(), PoolError> {
        let mut conn = broker.connect()?;
        let lost = |e: redis::RedisError| broker.lost(&e);
        let mut done: Option<String> = None;
        loop {
            let mut taken =
                stream::ack_and_read(&mut conn, keys, &consumer, done.take().as_deref(), None).map_err(lost)?;
            if taken.is_none() {
                // Nothing waiting: write out the log before blocking.
                worker.idle();
            }
            while taken.is_none() {
                if failure.is_set() {
                    return Ok(());
                }
                taken = stream::ack_and_read(&mut conn, keys, &consumer, None, Some(BLOCK)).map_err(lost)?;
            }
            match taken.expect("looped until taken") {
                Taken::Stop { id } => return stream::ack(&mut conn, keys, &id).map_err(lost),
                Taken::Job { id, job, .. } => {
                    if let Some(permits) = permits {
                        permits.release();
                    }
                    // `None`: the run is cancelled; start nothing more.
                    let Some(outcome) = worker.run(job) else { return Ok(()) };
                    if results.send(outcome).is_err() {
                        return Ok(());
                    }
                    done = Some(id);
                }
            }
        }
    };
    if let Err(e) = work() {
        failure.record(e);
    }
    // A producer waiting for room stops: nobody takes jobs any more.
    if let Some(permits) = permits {
        permits.close();
    }
    worker.exit();
}
