//! The one trait every backend implements, and the [`Pool`] that drives it.

use std::fmt;
use std::num::NonZeroUsize;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use crate::crew::Shared;
use crate::latency::Latencies;
use crate::panics::silence_job_panics;
use crate::{
    Crew, Flavor, HandOff, JobId, JobOutcome, Jobs, Latency, Log, Need, OutcomeSink, RunSpec, Schedule, Work, WorkerId,
};

/// A worker-pool substrate. The implementor holds only what is specific to
/// it: how jobs travel from the producer to the workers, how workers are
/// started, and how outcomes travel back. What a worker does with a job is
/// [`Worker`](crate::Worker)'s, shared by all.
pub trait Backend {
    /// Short name, as used in reports: `std`, `crossbeam`, `tokio`, `rayon`.
    const NAME: &'static str;
    /// The most workers this backend agrees to start; more is refused rather
    /// than attempted.
    const MAX_WORKERS: u32;
    /// The flavors it runs (a diagnostic tuned flavor counts as tuned);
    /// [`Pool::new`] refuses the others.
    const FLAVORS: &'static [Flavor] = &Flavor::ALL;
    /// The crates its substrate is, by name, for the report's versions;
    /// empty for the standard library alone.
    const SUBSTRATE: &'static [&'static str] = &[];
    /// How a job reaches a worker: in this process, or by a round trip to
    /// another (a broker), which the comparison times in smaller cells.
    const HAND_OFF: HandOff = HandOff::InProcess;

    /// One line on how `flavor` of this backend works, for the report's
    /// list of programs; empty: the backend's name says it.
    fn about(flavor: Flavor) -> &'static str {
        let _ = flavor;
        ""
    }
    /// Settings only this backend has, as extra command-line flags.
    type Options: clap::Args + Clone + Default + fmt::Debug + Send + Sync;

    /// What it needs on the machine beyond itself (a broker, say), and
    /// whether it is there now: what `--describe` tells the xtask.
    fn needs() -> Vec<Need> {
        Vec::new()
    }

    /// Starts the crew's workers, feeds them every job of `jobs` (through a
    /// queue bounded by [`Crew::queue`], if set), passes each outcome to
    /// `on_result` on the calling thread as it arrives (a run of consecutive
    /// finished jobs may go as one, [`OutcomeSink::finished`]), and returns
    /// once the stream is drained and every worker has exited. The stream
    /// ends by itself when the run is cancelled.
    ///
    /// Every job taken from `jobs` is given to exactly one worker's
    /// [`Worker::run`](crate::Worker::run) (or `start`/`finish`), and every
    /// worker ends with [`Worker::exit`](crate::Worker::exit).
    ///
    /// `on_result` is generic, not a trait object: on the caller's side of
    /// the hand-off it runs once per job (or run), and inlined into the
    /// backend's result loop it costs a few instructions instead of a call
    /// through a pointer (see `ARCHITECTURE.md`, the per-job path).
    fn run<I>(crew: Crew, options: &Self::Options, jobs: Jobs<I>, on_result: impl OutcomeSink) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send;

    /// [`run`](Self::run) in the tuned flavor (the crew's flavor is one of
    /// [`Flavor::is_tuned`]): the same contract, by whatever the substrate
    /// offers. [`Pool`] calls it, for a backend whose [`FLAVORS`](Self::FLAVORS)
    /// include it; the flavor switch is there and nowhere else. A backend
    /// without a tuned flavor leaves the default, which refuses.
    fn run_tuned<I>(
        crew: Crew,
        options: &Self::Options,
        jobs: Jobs<I>,
        on_result: impl OutcomeSink,
    ) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        let _ = (options, jobs, on_result);
        Err(PoolError::NoSuchFlavor { backend: Self::NAME, flavor: crew.flavor(), has: Self::FLAVORS })
    }
}

/// Why a pool could not be built or could not finish a run.
#[derive(Debug)]
pub enum PoolError {
    /// A pool needs at least one worker.
    NoWorkers,
    /// More workers were asked for than the backend starts.
    TooManyWorkers {
        /// The backend.
        backend: &'static str,
        /// How many were asked for.
        requested: u32,
        /// Its limit.
        max: u32,
    },
    /// The backend has no such flavor (pool-redis has only the textbook one).
    NoSuchFlavor {
        /// The backend.
        backend: &'static str,
        /// The flavor asked for.
        flavor: Flavor,
        /// The ones it has.
        has: &'static [Flavor],
    },
    /// The operating system refused a thread or runtime.
    Spawn(std::io::Error),
    /// A worker did not exit: its thread or task died outside a job.
    WorkerLost {
        /// How many workers exited.
        exited: u32,
        /// How many there were.
        workers: u32,
    },
    /// The backend returned from a run nobody stopped with jobs it was
    /// handed unaccounted for, or the job stream not drained: a defect of
    /// the backend, reported rather than passed off as a finished run.
    JobsLost {
        /// How many ids the backend took from the job stream.
        handed_out: u64,
        /// How many came back (finished, failed or skipped).
        came_back: u64,
        /// Whether it took every id of the stream.
        drained: bool,
    },
    /// The log could not be written (standard output closed, say).
    Log(std::io::Error),
    /// What the pool runs on failed: a broker that cannot be reached, refuses
    /// the client or goes away mid-run (pool-redis). The message says which,
    /// and never holds a password.
    Substrate(String),
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::NoWorkers => f.write_str("a pool needs at least one worker"),
            PoolError::TooManyWorkers { backend, requested, max } => {
                write!(f, "{requested} workers is more than the {backend} backend starts (at most {max})")
            }
            PoolError::NoSuchFlavor { backend, flavor, has } => {
                let has: Vec<&str> = has.iter().map(|f| f.name()).collect();
                write!(f, "the {backend} backend has no {flavor} flavor (it has: {})", has.join(", "))
            }
            PoolError::Spawn(e) => write!(f, "could not start a worker: {e}"),
            PoolError::WorkerLost { exited, workers } => {
                write!(f, "only {exited} of {workers} workers exited; a worker died outside a job")
            }
            PoolError::JobsLost { handed_out, came_back, drained } => write!(
                f,
                "jobs were lost: the backend took {handed_out} jobs and {came_back} came back{}",
                if *drained { "" } else { ", and it stopped before the job stream ended" }
            ),
            PoolError::Log(e) => write!(f, "could not write the log: {e}"),
            PoolError::Substrate(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for PoolError {}

/// How to run a pool: everything but the backend's own options.
#[derive(Clone, Debug)]
pub struct PoolConfig {
    /// Number of workers, at least 1.
    pub workers: u32,
    /// Capacity of the job queue (and of the result queue); `None` is
    /// unbounded, as in the seed.
    pub queue: Option<NonZeroUsize>,
    /// What each job does.
    pub work: Work,
    /// Where events go; `None` records nothing per job.
    pub log: Option<Log>,
    /// Set it to stop the run early: no job is started after it is seen,
    /// jobs already running finish, every worker exits.
    pub cancel: Arc<AtomicBool>,
    /// Which form of the backend runs (see [`Flavor`]).
    pub flavor: Flavor,
    /// The instant JSON lines' `t_us` count from; `None`: when
    /// [`Pool::run`] starts. A worker in another process (pool-redis's
    /// distributed mode) is given its run's epoch, so its lines are stamped
    /// on the run's clock (see [`Worker::relay`](crate::Worker::relay)).
    pub epoch: Option<Instant>,
    /// When each job arrives, counted from the run's start (`--arrival`):
    /// the stream releases a job no earlier, and the report gives each
    /// job's latency from it. `None`: every job is there at the start.
    pub arrivals: Option<Arc<Schedule>>,
}

impl PoolConfig {
    /// A quiet pool of `workers` workers on an unbounded queue.
    pub fn new(workers: u32, work: Work) -> Self {
        PoolConfig {
            workers,
            queue: None,
            work,
            log: None,
            cancel: Arc::default(),
            flavor: Flavor::Textbook,
            epoch: None,
            arrivals: None,
        }
    }

    /// The pool configuration of `run`, logging to `log`.
    pub fn for_run(run: &RunSpec, log: Option<Log>) -> Self {
        let mut config = PoolConfig::new(run.workers, run.work());
        config.queue = run.queue;
        config.flavor = run.flavor;
        config.log = log;
        config.arrivals = run.arrival.map(|a| Arc::new(a.schedule(run.jobs, run.seed)));
        config
    }
}

/// Counts from one run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RunReport {
    /// Jobs that yielded a result.
    pub finished: u64,
    /// Jobs that panicked.
    pub failed: u64,
    /// Jobs a worker took from the queue but did not start because the run
    /// was cancelled: at most one per worker. Jobs still queued at a cancel
    /// are left there and counted nowhere; the caller knows how many it
    /// gave.
    pub skipped: u64,
    /// Wall time from start to the last worker's exit.
    pub elapsed: Duration,
    /// With arrivals: each job's latency, from its arrival to its outcome
    /// reaching the caller.
    pub latency: Option<Latency>,
}

/// A worker pool on backend `B`.
///
/// [`run`](Self::run) starts the workers, drains the job stream and shuts
/// down by draining: every job taken from the stream runs exactly once (or,
/// after a cancel, is never started), and every worker thread or task is
/// joined before `run` returns. No work is detached or lost.
pub struct Pool<B: Backend> {
    config: PoolConfig,
    options: B::Options,
}

impl<B: Backend> fmt::Debug for Pool<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("backend", &B::NAME)
            .field("config", &self.config)
            .field("options", &self.options)
            .finish()
    }
}

/// The pool's side of the caller's callback: counts every outcome, and
/// passes it on until the callback panics. If it does, no further job starts
/// (the run stops as after a cancel), the jobs running end, every worker
/// exits, and the pool re-raises the panic only then: an unwind through the
/// backend would detach or cancel workers.
struct Counting<'a, S> {
    report: &'a mut RunReport,
    panic: Option<Box<dyn std::any::Any + Send>>,
    shared: &'a Shared,
    inner: &'a mut S,
    /// With arrivals, each outcome's latency.
    latencies: Option<Latencies<'a>>,
}

impl<S: OutcomeSink> Counting<'_, S> {
    #[inline(always)]
    fn pass(&mut self, f: impl FnOnce(&mut S)) {
        if self.panic.is_none() {
            if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| f(self.inner))) {
                self.shared.stop.store(true, Relaxed);
                self.panic = Some(payload);
            }
        }
    }
}

impl<S: OutcomeSink> OutcomeSink for &mut Counting<'_, S> {
    #[inline(always)]
    fn one(&mut self, outcome: JobOutcome) {
        match outcome.result {
            Ok(_) => self.report.finished += 1,
            Err(_) => self.report.failed += 1,
        }
        if let Some(l) = &mut self.latencies {
            l.arrived(outcome.job, 1);
        }
        self.pass(|inner| inner.one(outcome));
    }

    #[inline(always)]
    fn finished(&mut self, worker: WorkerId, first: JobId, results: &[u64]) {
        self.report.finished += results.len() as u64;
        if let Some(l) = &mut self.latencies {
            l.arrived(first, results.len() as u64);
        }
        self.pass(|inner| inner.finished(worker, first, results));
    }
}

impl<B: Backend> Pool<B> {
    /// Checks the configuration against the backend's limits.
    pub fn new(config: PoolConfig, options: B::Options) -> Result<Self, PoolError> {
        if config.workers == 0 {
            return Err(PoolError::NoWorkers);
        }
        if config.workers > B::MAX_WORKERS {
            return Err(PoolError::TooManyWorkers { backend: B::NAME, requested: config.workers, max: B::MAX_WORKERS });
        }
        if !pool_spec::describe::runs(B::FLAVORS, config.flavor) {
            return Err(PoolError::NoSuchFlavor { backend: B::NAME, flavor: config.flavor, has: B::FLAVORS });
        }
        Ok(Pool { config, options })
    }

    /// The configuration.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Runs every job of `jobs`, passing each outcome to `on_result` on this
    /// thread as it arrives. Returns when all are done and every worker has
    /// exited.
    ///
    /// If `on_result` panics, no further job starts; the jobs running end,
    /// every worker exits and is joined, and then the panic continues.
    pub fn run<I>(&self, jobs: I, mut on_result: impl FnMut(JobOutcome)) -> Result<RunReport, PoolError>
    where
        I: IntoIterator<Item = JobId>,
        I::IntoIter: Send,
    {
        self.run_jobs(Jobs::new(jobs.into_iter()), &mut on_result)
    }

    /// [`run`](Self::run) for a [`Jobs`] stream (say [`Jobs::range`], whose
    /// runs of ids are claimed in one step) and a sink that may take a run of
    /// finished jobs whole (the binary's [`Ledger`](crate::Ledger)).
    pub fn run_jobs<I>(&self, jobs: Jobs<I>, on_result: &mut impl OutcomeSink) -> Result<RunReport, PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        silence_job_panics();
        let config = &self.config;
        config.work.prepare();
        let shared = Shared::new(config.work.clone(), config.log.clone(), Arc::clone(&config.cancel));
        let shared = Arc::new(shared.counting_from(config.epoch).arriving(config.arrivals.clone()));
        // A queue never needs more room than the run has jobs: bounded
        // channels allocate for their capacity up front.
        let most = jobs.size_hint().1.map(|n| NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN));
        let queue = config.queue.map(|q| most.map_or(q, |most| q.min(most)));
        let crew = Crew::new(Arc::clone(&shared), config.workers, queue).with_flavor(config.flavor);
        let jobs = jobs.watched(Arc::clone(&shared));

        let mut report = RunReport::default();
        let start = Instant::now();
        // Inlined into each backend's result loop: a call per outcome cost
        // the tuned flavors' caller a sixth of its instructions.
        let latencies = shared.arrivals.as_deref().map(|s| Latencies::new(s, shared.epoch));
        let mut counting = Counting { report: &mut report, panic: None, shared: &shared, inner: on_result, latencies };
        if crew.flavor().is_tuned() {
            B::run_tuned(crew, &self.options, jobs, &mut counting)?;
        } else {
            B::run(crew, &self.options, jobs, &mut counting)?;
        }
        let caller_panic = counting.panic;
        let latency = counting.latencies.map(|l| l.latency());
        report.latency = latency;
        report.elapsed = start.elapsed();
        if let Some(payload) = caller_panic {
            panic::resume_unwind(payload);
        }
        report.skipped = shared.skipped.load(Relaxed);

        let exited = shared.exited.load(Relaxed);
        if exited != config.workers {
            return Err(PoolError::WorkerLost { exited, workers: config.workers });
        }
        if let Some(e) = shared.log_error.lock().unwrap_or_else(PoisonError::into_inner).take() {
            return Err(PoolError::Log(e));
        }
        // A run nobody stopped drains the stream and gets every id back. (A
        // stopped one leaves jobs queued, uncounted: see `Worker::serve`.)
        let stream = *shared.stream.lock().unwrap_or_else(PoisonError::into_inner);
        if let (false, Some((handed_out, drained))) = (shared.stopping(), stream) {
            let came_back = report.finished + report.failed + report.skipped;
            if !drained || came_back != handed_out {
                return Err(PoolError::JobsLost { handed_out, came_back, drained });
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SequentialOptions, WorkSpec};

    /// A defective backend: its one worker runs the first three jobs, then
    /// exits, leaving the rest of the stream.
    struct StopsEarly;

    impl Backend for StopsEarly {
        const NAME: &'static str = "stops-early";
        const MAX_WORKERS: u32 = 1;
        type Options = SequentialOptions;

        fn run<I>(
            crew: Crew,
            _: &SequentialOptions,
            jobs: Jobs<I>,
            mut on_result: impl OutcomeSink,
        ) -> Result<(), PoolError>
        where
            I: Iterator<Item = JobId> + Send,
        {
            let mut worker = crew.into_workers().next().expect("one worker");
            for job in jobs.take(3) {
                if let Some(outcome) = worker.run(job) {
                    on_result.one(outcome);
                }
            }
            worker.exit();
            Ok(())
        }
    }

    fn pool<B: Backend<Options = SequentialOptions>>() -> Pool<B> {
        let work = Work::new("noop".parse::<WorkSpec>().unwrap(), crate::DEFAULT_SEED);
        Pool::new(PoolConfig::new(1, work), SequentialOptions::default()).unwrap()
    }

    /// A backend that returns before the stream ends is an error, never Ok
    /// with jobs that never ran; the same run stopped by a cancel is not.
    #[test]
    fn a_backend_that_leaves_the_stream_is_caught() {
        let err = pool::<StopsEarly>().run((1..=10).map(JobId), |_| {}).expect_err("caught");
        assert!(matches!(err, PoolError::JobsLost { handed_out: 3, came_back: 3, drained: false }), "{err:?}");
        assert!(err.to_string().contains("stopped before the job stream ended"), "{err}");
        assert_eq!(pool::<StopsEarly>().run((1..=3).map(JobId), |_| {}).map(|r| r.finished).ok(), Some(3));
        let stopped = pool::<StopsEarly>();
        stopped.config().cancel.store(true, Relaxed);
        assert!(stopped.run((1..=10).map(JobId), |_| {}).is_ok(), "a cancelled run leaves jobs by design");
        assert_eq!(pool::<crate::Sequential>().run((1..=10).map(JobId), |_| {}).map(|r| r.finished).ok(), Some(10));
    }
}
