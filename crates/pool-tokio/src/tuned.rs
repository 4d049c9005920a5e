//! The tuned flavor on tokio: the same W tasks on the same runtime, but the
//! `async-channel` queue carries runs of consecutive job ids instead of
//! single ids. The producer sizes each run by the grain the workers last
//! measured ([`Grain`]: about 20 µs of work, one job when jobs are long), so
//! a no-op job costs a fraction of a channel hand-off and the seed's long
//! jobs still go one per task. Results go back in per-task batches over the
//! `tokio::sync::mpsc` channel, by the log's rule: before a long job, once a
//! batch holds 1 ms of work, and before the task waits for the next run.
//! A task awaits only for that, to sleep, or for CPU work `--cpu-jobs` puts
//! off its thread; every other job runs in a plain loop (`run_ready`), and
//! `noop` work and inline `spin` work go through [`Worker::run`] as on the
//! thread backends.
//!
//! Work in which every job sleeps has none of that to gain, and its tasks
//! run a lean loop instead (`sleeps.rs`).
//!
//! Trade-off: no stealing — what a task took it runs — which is why a run
//! is kept to a few microseconds of work. The queue holds several runs per
//! task ([`RUNS_AHEAD`], at most [`MOST_RUNS`] in all unless that is less
//! than one a task; one a task with `--queue`, whose bound counts them) and
//! the producer, which shares the calling thread with the result loop,
//! refills it by halves (`runs.rs`): a task rarely waits for the producer,
//! and the producer rarely wakes to take a core from a task.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use async_channel::TryRecvError;
use pool_core::tuned::{Batch, GRAIN_TARGET, Grain, Limits, Ran, Source, Spares};
use pool_core::{Crew, JobId, JobOutcome, Jobs, Kind, OutcomeSink, PoolError, Work, Worker};

use crate::{CpuJobs, TokioOptions, finish_job, runtime};

mod back;
mod runs;
mod sleeps;

use back::{Back, BackTx};
use runs::Runs;

/// Runs per task the queue holds without `--queue` (one with it, whose
/// bound counts them). The producer refills the queue once the tasks have
/// taken half of it (see `runs.rs`), so a deeper queue means fewer
/// wake-ups of the calling thread; queued runs are held by no task, so any
/// idle task takes them.
pub const RUNS_AHEAD: usize = 16;

/// The most runs the queue holds without `--queue`, unless there are more
/// tasks (then one a task). The queue is allocated whole, and its slots
/// written, when the run starts: at 10,000 tasks, 16 runs a task were
/// 160,000 slots, 3.8 MB, and a run of no jobs took 1.06 (1.03–1.13) times
/// textbook's wall time, against 0.99 (0.93–1.11) with 10,000 slots (`-w
/// 10000 -j 0 --work sleep:10ms --quiet`, 11 rounds, paired). The producer
/// still wakes only when half the queue is taken, and with so many tasks
/// the result loop beside it is awake anyway.
pub const MOST_RUNS: usize = 4_096;

/// Planned work from which a run of one job is not timed for the grain:
/// such a run leaves [`Grain`] at one job whatever the clock says (a job
/// takes about its plan, and half of this is already [`GRAIN_TARGET`]), so
/// after one the next run goes untimed. For jobs of a few milliseconds
/// (`sleep:10ms` at 1,000 tasks) the two clock reads and the grain's
/// division were about 100 of the 3,900 instructions a job cost
/// (callgrind).
const LONG_NS: u64 = 2 * GRAIN_TARGET.as_nanos() as u64;

/// How many runs the queue holds for `workers` tasks: [`RUNS_AHEAD`] a
/// task, at most [`MOST_RUNS`] unless that is less than one a task; one a
/// task with `--queue` (`bounded`), whose bound counts them.
fn queued_runs(workers: usize, bounded: bool) -> usize {
    if bounded { workers } else { (workers * RUNS_AHEAD).min(MOST_RUNS.max(workers)) }
}

/// Runs `crew` on `jobs` in the tuned flavor (see the module docs).
pub(crate) fn run<I>(
    crew: Crew,
    options: &TokioOptions,
    jobs: Jobs<I>,
    mut on_result: impl OutcomeSink,
) -> Result<(), PoolError>
where
    I: Iterator<Item = JobId> + Send,
{
    let runtime = runtime(options)?;
    let limits = Limits::of(&crew);
    let (feed, runs) = runs::queue(queued_runs(limits.workers, crew.queue().is_some()));
    let (result_tx, mut result_rx) = back::channel(&crew, &limits);
    let grain = Arc::new(AtomicUsize::new(1));
    let spares = Arc::new(Spares::default());
    let direct = Direct::of(crew.work(), options.cpu_jobs);
    let every_job_sleeps = sleeps::every_job_sleeps(crew.work().spec());
    runtime.block_on(async move {
        let tasks: Vec<_> = crew
            .into_workers()
            .map(|worker| {
                if every_job_sleeps {
                    return tokio::spawn(sleeps::serve(worker, runs.clone(), result_tx.clone()));
                }
                let batch = Batch::new(limits.batch, Arc::clone(&spares));
                let task = work(
                    worker,
                    runs.clone(),
                    result_tx.clone(),
                    Arc::clone(&grain),
                    limits,
                    batch,
                    (options.cpu_jobs, direct.clone()),
                );
                tokio::spawn(task)
            })
            .collect();
        drop((runs, result_tx));
        let source = Source::new(jobs);
        let produce = feed.feed(&source, &grain);
        let consume = async {
            // Each message's room in the channel is given back as it is
            // dropped, once consumed.
            while let Some(sent) = result_rx.recv().await {
                match sent.back {
                    Back::Batch(batch) => spares.consume(batch, &mut on_result),
                    Back::One(outcome) => on_result.one(outcome),
                }
            }
        };
        tokio::join!(produce, consume);
        for task in tasks {
            if let Err(e) = task.await {
                // A task only dies outside a job (job panics are caught);
                // the pool then reports the worker as lost.
                debug_assert!(e.is_panic(), "{e}");
            }
        }
    });
    Ok(())
}

/// Hands the batch back unless it is empty; `false` once nobody listens.
/// With nobody listening the results are dropped: nobody can see them.
async fn hand_back(batch: &mut Batch, results: &BackTx, open: bool) -> bool {
    if batch.is_empty() {
        open
    } else if open {
        results.send(Back::Batch(batch.take())).await
    } else {
        drop(batch.take());
        false
    }
}

/// Sends the result of a job the task awaited (a sleep, CPU work off its
/// thread, or a long job) on its own, when no result waits in the batch;
/// `false` once nobody listens. Never later than the log's rule asks: a
/// long job's result is due at once, and a sleep takes a millisecond or
/// more (tokio's timer) however short it was asked to be. Sent alone, it
/// skips the batch's buffer, its packing and its trip through [`Spares`]
/// both ways: at `sleep:10ms` on 1,000 tasks that was about 630 of the
/// 3,900 instructions a job cost (callgrind), where textbook tokio, which
/// sends every result alone, spent about 3,000.
async fn send_alone(outcome: JobOutcome, results: &BackTx, open: bool) -> bool {
    open && results.send(Back::One(outcome)).await
}

/// Times runs for the [`Grain`], but not the run after a run of one long
/// job ([`LONG_NS`]): that left the grain at one job, and so would this
/// run if it is long too. If it is not, it goes unobserved (the grain
/// stays) and the run after it is timed.
#[derive(Debug)]
struct RunClock {
    next: bool,
}

impl Default for RunClock {
    fn default() -> Self {
        RunClock { next: true }
    }
}

impl RunClock {
    /// When this run starts, if it is timed.
    fn start(&self) -> Option<Instant> {
        self.next.then(Instant::now)
    }

    /// Ends a run of `len` jobs begun at `start` (from [`start`](Self::start))
    /// whose planned work was `planned_ns` if it was one job (0 otherwise):
    /// the grain observes it if it was timed. `true` if the grain changed.
    fn end(&mut self, grain: &mut Grain, start: Option<Instant>, len: u64, planned_ns: u64) -> bool {
        let before = grain.size();
        if let Some(start) = start {
            grain.observe(usize::try_from(len).unwrap_or(usize::MAX), start.elapsed());
        }
        self.next = !(len == 1 && planned_ns >= LONG_NS);
        grain.size() != before
    }
}

/// Why [`run_ready`] stopped.
enum Stop {
    /// The run's ids are all done.
    Drained,
    /// The run was cancelled: the job taken is skipped, not started.
    Cancelled,
    /// The batch is due: hand it back, then go on with the run.
    Due,
    /// `job` is started (logged) and needs the task to await: it waits
    /// (`sleep`), runs its CPU work off the inline path, or is a long job
    /// that must not start while results wait in the batch.
    Started { job: JobId, sleep: Duration, work_ns: u64 },
    /// `job`, not yet started, is a long job that must not start while
    /// results wait in the batch: hand the batch back, then run it.
    Long { job: JobId, work_ns: u64 },
}

/// Whether this run's jobs can go straight through [`Worker::run`] on the
/// task's thread: work that never waits, with its CPU part (if any) inline.
/// Decided once per run from the work spec; such a job needs no await, and
/// `run` is the thread backends' path (no begun job kept between
/// `start` and `finish`: the two cost a `noop` job about as much again).
#[derive(Clone)]
enum Direct {
    /// Sleep work, or CPU work placed off the task's thread by `--cpu-jobs`:
    /// every job through `start`/`finish`.
    Never,
    /// `noop`: every job is 0 ns of work.
    Noop,
    /// `spin` work computed inline: a job's work is its nominal duration.
    Spin(Arc<Work>),
}

impl Direct {
    fn of(work: &Work, cpu: CpuJobs) -> Self {
        match work.spec().kind {
            Kind::Noop => Direct::Noop,
            Kind::Spin if cpu == CpuJobs::Inline => Direct::Spin(Arc::new(work.clone())),
            Kind::Spin | Kind::Sleep => Direct::Never,
        }
    }

    /// The work `job` does, in nanoseconds (what `Worker` plans for it).
    #[inline]
    fn work_ns(&self, job: JobId) -> u64 {
        match self {
            Direct::Spin(work) => u64::try_from(work.duration(job).as_nanos()).unwrap_or(u64::MAX),
            Direct::Noop | Direct::Never => 0,
        }
    }
}

/// Runs the jobs of `ids` that need no await, one after another on this
/// thread, until one does, the batch is due, or the ids run out.
///
/// The per-job path of the tuned flavor: a plain loop, not an `async fn`
/// awaited per job, so a no-op job costs what it costs the thread backends.
#[inline]
fn run_ready(
    worker: &mut Worker,
    ids: &mut std::ops::Range<u64>,
    batch: &mut Batch,
    open: bool,
    cpu: CpuJobs,
    direct: &Direct,
) -> Stop {
    if !matches!(direct, Direct::Never) {
        for job in ids.by_ref().map(JobId) {
            let work_ns = direct.work_ns(job);
            if open && batch.hand_back_before(work_ns) {
                return Stop::Long { job, work_ns };
            }
            // Cancelled: the job is skipped, not started.
            let Some(outcome) = worker.run(job) else { return Stop::Cancelled };
            if batch.push(outcome, work_ns) {
                return Stop::Due;
            }
        }
        return Stop::Drained;
    }
    for job in ids.by_ref().map(JobId) {
        // Cancelled: the job is skipped, not started.
        let Some(sleep) = worker.start(job) else { return Stop::Cancelled };
        let cpu_work = worker.pending_cpu();
        let work_ns = if sleep.is_zero() && cpu_work.is_zero() {
            0
        } else {
            u64::try_from((sleep + cpu_work).as_nanos()).unwrap_or(u64::MAX)
        };
        let inline = cpu_work.is_zero() || cpu == CpuJobs::Inline;
        if !sleep.is_zero() || !inline || (open && batch.hand_back_before(work_ns)) {
            return Stop::Started { job, sleep, work_ns };
        }
        let outcome = worker.finish(job);
        if batch.push(outcome, work_ns) {
            return Stop::Due;
        }
    }
    Stop::Drained
}

/// One worker task: take a run (writing out what it holds before it waits
/// for one), run its jobs into the batch, tell the producer the grain.
///
/// Jobs that need no await run in [`run_ready`]'s plain loop; the task
/// awaits only to hand a batch back, to sleep, or to run CPU work where
/// `--cpu-jobs` puts it.
async fn work(
    mut worker: Worker,
    runs: Runs,
    results: BackTx,
    grain_hint: Arc<AtomicUsize>,
    limits: Limits,
    mut batch: Batch,
    (cpu, direct): (CpuJobs, Direct),
) {
    let mut grain = Grain::new(limits.chunk);
    let mut clock = RunClock::default();
    // Nothing logged, every job alike and short: blocks of jobs, each with
    // one cancel check and one panic boundary (CPU work, if any, inline: a
    // block is at most `QUICK_NS` of it). Decided once: asked per run, it
    // cost a `sleep:10ms` job (one per run) about 150 instructions.
    let quick = worker.quick().filter(|q| q.work_ns() == 0 || cpu == CpuJobs::Inline);
    let mut open = true;
    'serving: while open {
        let run = match runs.try_take() {
            Ok(run) => run,
            Err(TryRecvError::Closed) => break,
            Err(TryRecvError::Empty) => {
                worker.idle();
                open = hand_back(&mut batch, &results, open).await;
                match runs.take().await {
                    Some(run) if open => run,
                    _ => break,
                }
            }
        };
        let start = clock.start();
        if let Some(quick) = quick {
            let mut rest = run;
            loop {
                match batch.run_quick(&mut worker, quick, &mut rest) {
                    Ran::Drained => break,
                    Ran::Due => open = hand_back(&mut batch, &results, open).await,
                    // Leave the rest of the run and the queue, as the
                    // thread backends' tuned workers do.
                    Ran::Cancelled => break 'serving,
                }
            }
            // Quick jobs are never long.
            if clock.end(&mut grain, start, run.len, 0) {
                grain_hint.store(grain.size(), Relaxed);
            }
            continue;
        }
        // The planned work of the job the task last awaited or ran alone.
        let mut awaited_ns = 0;
        let mut ids = run.first..run.first + run.len;
        loop {
            match run_ready(&mut worker, &mut ids, &mut batch, open, cpu, &direct) {
                Stop::Drained => break,
                // Leave the rest of the run and the queue, as the thread
                // backends' tuned workers do: draining them would cost time
                // in proportion to the backlog.
                Stop::Cancelled => break 'serving,
                Stop::Due => open = hand_back(&mut batch, &results, open).await,
                Stop::Long { job, work_ns } => {
                    awaited_ns = work_ns;
                    open = hand_back(&mut batch, &results, open).await;
                    // Cancelled meanwhile: the job is skipped, not started.
                    let Some(outcome) = worker.run(job) else { break 'serving };
                    if batch.push(outcome, work_ns) {
                        open = hand_back(&mut batch, &results, open).await;
                    }
                }
                Stop::Started { job, sleep, work_ns } => {
                    awaited_ns = work_ns;
                    if batch.hand_back_before(work_ns) {
                        open = hand_back(&mut batch, &results, open).await;
                    }
                    if !sleep.is_zero() {
                        tokio::time::sleep(sleep).await;
                    }
                    // A lost blocking task means a lost worker; the pool says so.
                    let Some((back, outcome)) = finish_job(worker, job, cpu).await else { return };
                    worker = back;
                    if batch.is_empty() {
                        open = send_alone(outcome, &results, open).await;
                    } else if batch.push(outcome, work_ns) {
                        open = hand_back(&mut batch, &results, open).await;
                    }
                }
            }
        }
        // Only a run of one job can be long (see `RunClock`): adding up
        // the plans of every run cost a no-op job 3 instructions.
        let planned_ns = match direct {
            _ if run.len != 1 => 0,
            Direct::Spin(_) => direct.work_ns(JobId(run.first)),
            Direct::Noop | Direct::Never => awaited_ns,
        };
        if clock.end(&mut grain, start, run.len, planned_ns) {
            grain_hint.store(grain.size(), Relaxed);
        }
    }
    hand_back(&mut batch, &results, open).await;
    worker.exit();
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;
    use std::sync::atomic::Ordering::Relaxed;
    use std::time::{Duration, Instant};

    use pool_core::testing::{case, conform, judge, run_with};
    use pool_core::{Completeness, Flavor, Format, JobId, Log, Pool};

    use crate::{CpuJobs, Tokio, TokioOptions};

    use super::{Grain, LONG_NS, RunClock, queued_runs};

    #[test]
    fn the_queue_holds_16_runs_a_task_up_to_4096_or_one_a_task() {
        assert_eq!(queued_runs(2, false), 32);
        assert_eq!(queued_runs(100, false), 1_600);
        assert_eq!(queued_runs(1_000, false), 4_096);
        assert_eq!(queued_runs(10_000, false), 10_000);
        assert_eq!(queued_runs(2, true), 2, "with --queue, one a task");
        assert_eq!(queued_runs(10_000, true), 10_000);
    }

    /// A run of one long job leaves the next run untimed; an untimed run
    /// that is not long leaves the grain alone and the next run timed; a
    /// timed run of short jobs grows the grain.
    #[test]
    fn the_run_after_a_long_job_goes_untimed() {
        let mut grain = Grain::new(4096);
        let mut clock = RunClock::default();
        let ago = |ms| Instant::now().checked_sub(Duration::from_millis(ms));
        assert!(clock.start().is_some(), "the first run is timed");
        assert!(!clock.end(&mut grain, ago(10), 1, 10 * LONG_NS));
        assert_eq!(grain.size(), 1);
        assert!(clock.start().is_none(), "after a long job");
        assert!(!clock.end(&mut grain, None, 1, 10 * LONG_NS));
        assert!(clock.start().is_none(), "after another");
        assert!(!clock.end(&mut grain, None, 1, LONG_NS - 1));
        assert_eq!(grain.size(), 1, "an untimed run is not observed");
        let start = clock.start();
        assert!(start.is_some(), "after a short job");
        assert!(clock.end(&mut grain, start, 1, 0), "a timed run of a short job grows the grain");
        assert_eq!(grain.size(), 2);
        assert!(clock.start().is_some());
        assert!(clock.end(&mut grain, ago(1), 2, 0), "jobs taking 500 us shrink it to one");
        assert_eq!(grain.size(), 1);
        assert!(clock.start().is_some(), "a run of two jobs is never long");
    }

    /// Both kinds of task — the lean one when every job sleeps
    /// (`sleeps.rs`), the general one when a job may not — run 1,000
    /// workers to a log the checker accepts, whole and cut short by a
    /// cancel that leaves the backlog.
    #[test]
    fn both_tasks_conform_with_many_workers_and_a_cancel() {
        for work in ["sleep:1ms", "sleep:0us..1ms"] {
            let case = case(1_000, 20_000, work).flavor(Flavor::Tuned);
            conform::<Tokio>(&case);
            let mut seen = 0;
            let run = run_with::<Tokio>(&case, move |_, config| {
                seen += 1;
                if seen == 3_000 {
                    config.cancel.store(true, Relaxed);
                }
            })
            .unwrap();
            let summary = judge(&run.log, &case, Completeness::Partial);
            let (finished, failed, not_started) = summary.counts();
            assert_eq!(run.outcomes.len() as u64, finished + failed, "{work}: outcomes vs jobs the log ended");
            assert_eq!((run.report.finished, run.report.failed), (finished, failed), "{work}");
            assert!(not_started > 0, "{work}: the cancel stopped nothing");
            assert!(run.report.skipped <= 1_000, "{work}: {} skipped; each worker may skip one", run.report.skipped);
        }
    }

    /// Every placement of CPU work gives a correct tuned run, panics included.
    #[test]
    fn every_cpu_placement_conforms() {
        for cpu_jobs in [CpuJobs::Inline, CpuJobs::BlockInPlace, CpuJobs::SpawnBlocking] {
            let case = case(5, 300, "spin:0us..50us").panics([7, 300]).flavor(Flavor::Tuned);
            let (log, sink) = Log::memory(Format::Jsonl);
            let options = TokioOptions { threads: NonZeroUsize::new(2), cpu_jobs };
            let pool = Pool::<Tokio>::new(case.config(Some(log)), options).unwrap();
            let mut sum = 0;
            let report = pool.run((1..=300).map(JobId), |o| sum += o.result.unwrap_or(0)).unwrap();
            assert_eq!((report.finished, report.failed), (298, 2), "{cpu_jobs:?}");
            assert_eq!(sum, 300 * 301 - 14 - 600, "{cpu_jobs:?}");
            let log = String::from_utf8(sink.contents()).unwrap();
            let summary = judge(&log, &case, Completeness::Complete);
            assert_eq!(summary, case.expected(), "{cpu_jobs:?}");
        }
    }
}
