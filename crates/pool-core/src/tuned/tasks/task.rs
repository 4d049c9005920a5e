//! The general tuned task: take a run, run its jobs into the batch, hand
//! the batch back by the log's rule, tell the producer the grain. Jobs that
//! need no await run in [`run_ready`]'s plain loop (or in blocks of the
//! quick path); the task awaits only to hand a batch back, to sleep, or to
//! run CPU work where the substrate puts it.

use std::ops::Range;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use async_channel::TryRecvError;

use super::super::{Batch, GRAIN_TARGET, Grain, Limits, Ran};
use super::Substrate;
use super::back::{Back, BackTx};
use super::runs::Runs;
use crate::{JobId, JobOutcome, Kind, Work, Worker};

/// Planned work from which a run of one job is not timed for the grain:
/// such a run leaves [`Grain`] at one job whatever the clock says (a job
/// takes about its plan, and half of this is already [`GRAIN_TARGET`]), so
/// after one the next run goes untimed: the two clock reads and the
/// grain's division are a measurable part of a job of a few milliseconds.
const LONG_NS: u64 = 2 * GRAIN_TARGET.as_nanos() as u64;

/// What the tasks of one run share: the grain they tell the producer, the
/// run's limits, and whether jobs go straight through [`Worker::run`].
pub(super) struct Shared {
    pub(super) grain: Arc<AtomicUsize>,
    pub(super) limits: Limits,
    pub(super) direct: Direct,
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
/// long job's result is due at once, and an awaited job is long or rare.
/// Sent alone, it skips the batch's buffer, its packing and its trip
/// through [`Spares`](super::super::Spares) both ways.
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
pub(super) enum Direct {
    /// Sleep work, or CPU work the substrate runs off the task's thread:
    /// every job through `start`/`finish`.
    Never,
    /// `noop`: every job is 0 ns of work.
    Noop,
    /// `spin` work computed inline: a job's work is its nominal duration.
    Spin(Arc<Work>),
}

impl Direct {
    /// How the jobs of `work` run, given whether CPU work runs `inline`.
    pub(super) fn of(work: &Work, inline: bool) -> Self {
        match work.spec().kind {
            Kind::Noop => Direct::Noop,
            Kind::Spin if inline => Direct::Spin(Arc::new(work.clone())),
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
    ids: &mut Range<u64>,
    batch: &mut Batch,
    open: bool,
    cpu_inline: bool,
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
        let inline = cpu_work.is_zero() || cpu_inline;
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
/// the substrate puts it.
pub(super) async fn work<S: Substrate>(
    mut worker: Worker,
    substrate: S,
    runs: Runs,
    results: BackTx,
    mut batch: Batch,
    shared: Shared,
) {
    let Shared { grain: grain_hint, limits, direct } = shared;
    let cpu_inline = substrate.cpu_inline();
    let mut grain = Grain::new(limits.chunk);
    // Not registered with the executor until first awaited.
    let timer = substrate.timer();
    let mut timer = pin!(timer);
    let mut clock = RunClock::default();
    // Nothing logged, every job alike and short: blocks of jobs, each with
    // one cancel check and one panic boundary (CPU work, if any, inline: a
    // block is at most `QUICK_NS` of it). Decided once: asked per run, it
    // cost a `sleep:10ms` job (one per run) about 150 instructions.
    let quick = worker.quick().filter(|q| q.work_ns() == 0 || cpu_inline);
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
            match run_ready(&mut worker, &mut ids, &mut batch, open, cpu_inline, &direct) {
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
                        S::sleep(timer.as_mut(), sleep).await;
                    }
                    let outcome = if cpu_inline || worker.pending_cpu().is_zero() {
                        worker.finish(job)
                    } else {
                        // A worker lost on the way is a lost worker; the pool says so.
                        let Some((back, outcome)) = substrate.finish_elsewhere(worker, job).await else { return };
                        worker = back;
                        outcome
                    };
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
    use super::*;

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
}
