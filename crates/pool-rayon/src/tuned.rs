//! The tuned flavor on rayon: the job stream is claimed in blocks of
//! consecutive ids, and each block is split the way rayon splits an indexed
//! range — in halves, idle threads stealing halves — with no lock per job
//! (the textbook flavor's `par_bridge` takes one). Blocks grow fourfold,
//! starting at one job per thread, so the seed's few long jobs go one per
//! thread.
//!
//! Nothing waits on a block or a half: all are tasks of one `rayon::scope`.
//! A block, before it splits, spawns the task that claims the next, stolen
//! by the first thread with nothing else to do, so the next block starts
//! while this one's last jobs still run; a half is spawned, not `join`ed.
//! (Claiming the next block in a `rayon::join` beside the current one made
//! every block a barrier, each costing up to a job's time; and an indexed
//! parallel iterator's `join` tree made its last job's end a chain of
//! wake-ups, one per level. With 100 threads × 1000 `sleep:10ms` jobs the
//! two cost tuned 1.08× textbook; see `Feed`.) The stream is still claimed
//! only by a thread with nothing to run, so it never runs far ahead of the
//! workers.
//!
//! Leaves — the pieces a thread runs without splitting — are capped at about
//! 20 µs of work, from the mean job time measured so far, so a thread never
//! holds a long job another could steal; long jobs are one per leaf. Results
//! go back in per-thread batches by the log's rule (rayon cannot tell a
//! thread it is about to wait, so that is the bounded part of the rule: a
//! batch leaves once its jobs add up to 1 ms of work), and every batch is
//! handed back when the stream is drained; the caller receives them
//! [`patiently`]. A cancel costs one check per
//! queued task, not per queued job: the first job a cancel skips sets
//! `stopped`, and every task then returns whatever ids it holds.
//!
//! Trade-off: `--queue` bounds the result batches, while a block or a half
//! is only a range of ids; a task is one small allocation per leaf.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use pool_core::threads::{StdSender, patiently, std_channel};
use pool_core::tuned::{Batch, Limits, Results, Run, Source, Spares, filling};
use pool_core::{Crew, JobId, Jobs, OutcomeSink, PoolError, Worker};

/// How much faster than the last block the next one grows.
const GROWTH: u64 = 4;

/// The most ids a block holds, per thread. Blocks stop growing there: the
/// ids out at once (and so the caller's window of ids handed out but not
/// yet back) stay bounded however long the run, and a cancel or the run's
/// end walks a window of a few blocks. At `noop` speed a block this size
/// is still about a millisecond of work per thread.
const MOST_PER_THREAD: u64 = 1 << 16;

/// A thread's worker and its batch of results, reachable from rayon's
/// closures by the thread's index (only that thread locks it).
struct Slot {
    worker: Worker,
    batch: Batch,
}

/// The time jobs have taken so far, summed over every leaf.
#[derive(Default)]
struct Timing {
    ns: AtomicU64,
    jobs: AtomicU64,
}

impl Timing {
    /// The most jobs a leaf may hold: about [`GRAIN_TARGET`](pool_core::tuned::GRAIN_TARGET) of work at the
    /// mean job time so far; one before any job has been timed.
    fn leaf(&self, max: usize) -> usize {
        let (ns, jobs) = (self.ns.load(Relaxed), self.jobs.load(Relaxed));
        if jobs == 0 {
            return 1;
        }
        filling(ns / jobs, max)
    }
}

/// Runs `crew` on `jobs` in the tuned flavor (see the module docs).
pub(crate) fn run<I>(crew: Crew, jobs: Jobs<I>, mut on_result: impl OutcomeSink) -> Result<(), PoolError>
where
    I: Iterator<Item = JobId> + Send,
{
    let limits = Limits::of(&crew);
    let threads = crew.size() as usize;
    let (pool, ended_rx) = crate::joined_pool(threads)?;
    let (result_tx, result_rx) = std_channel::<Results>(limits.results.and_then(NonZeroUsize::new));
    let spares = Arc::new(Spares::default());
    let slots: Vec<Mutex<Option<Slot>>> = crew
        .into_workers()
        .map(|worker| {
            // Only quick jobs outrun the caller (see `Limits`).
            let batch = Batch::new(limits.batch, Arc::clone(&spares)).ahead(worker.quick().and(limits.ahead));
            Mutex::new(Some(Slot { worker, batch }))
        })
        .collect();
    let source = Source::new(jobs);
    let timing = Timing::default();

    let slots = &slots;
    std::thread::scope(|s| {
        let feeding = std::thread::Builder::new().name("feed".into()).spawn_scoped(s, move || {
            let result_tx = &result_tx;
            let deliver = move |batch| result_tx.send(batch).is_ok();
            let feed = Feed {
                source: &source,
                slots,
                timing: &timing,
                chunk: limits.chunk,
                most: MOST_PER_THREAD.saturating_mul(threads as u64),
                result_tx,
                stopped: Default::default(),
                arriving: source.arriving(),
            };
            pool.install(|| rayon::scope(|scope| feed.claim(scope, threads)));
            pool.broadcast(|ctx| {
                if let Some(Slot { worker, mut batch }) = lock(&slots[ctx.index()]).take() {
                    batch.hand_back(&mut deliver.clone());
                    worker.exit();
                }
            });
        });
        if let Err(e) = feeding {
            // Refused before any job ran (the pool went with the closure).
            return Err(crate::exit_all(slots.iter().map(|slot| lock(slot).take().map(|s| s.worker)), e));
        }
        for batch in patiently(result_rx, threads) {
            spares.consume(batch, &mut on_result);
        }
        Ok(())
    })?;
    // The pool was dropped at the end of the scoped thread; wait until every
    // thread has run its exit handler.
    let ended = ended_rx.iter().take(threads).count();
    debug_assert_eq!(ended, threads, "every rayon thread reports its end");
    Ok(())
}

fn lock(slot: &Mutex<Option<Slot>>) -> MutexGuard<'_, Option<Slot>> {
    // Jobs' panics are caught inside `Worker`; a slot is sound either way.
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the tasks that claim and run blocks share.
struct Feed<'a, I: Iterator<Item = JobId>> {
    source: &'a Source<I>,
    slots: &'a [Mutex<Option<Slot>>],
    timing: &'a Timing,
    chunk: usize,
    /// The most ids a block holds (see [`MOST_PER_THREAD`]).
    most: u64,
    result_tx: &'a StdSender<Results>,
    /// Set by the first job a cancel skips: the tasks still queued then
    /// return at once, whatever ids they hold.
    stopped: AtomicBool,
    /// Whether jobs arrive over time (`--arrival`).
    arriving: bool,
}

impl<'a, I: Iterator<Item = JobId> + Send> Feed<'a, I> {
    /// Claims a block of up to `size` ids and runs it; before it does, it
    /// spawns the task that claims the next block. That task waits in this
    /// thread's deque (under the block's own pieces, so one thread still
    /// runs ids in order), and the first thread that finds nothing else to
    /// do steals it: it claims the next block while this one's last jobs
    /// still run, so no thread waits for a block's slowest job (a barrier
    /// per block, which cost `sleep:10ms` runs up to a job's time each), and
    /// the stream is still claimed only by a thread with nothing to run.
    fn claim<'s>(&'s self, scope: &rayon::Scope<'s>, size: usize) {
        let Some(block) = self.source.claim(size, &mut || {}) else { return };
        let next = usize::try_from(block.len.saturating_mul(GROWTH).min(self.most)).unwrap_or(usize::MAX);
        scope.spawn(move |scope| self.claim(scope, next));
        self.split(scope, block, self.timing.leaf(self.chunk) as u64);
    }

    /// Runs `run` as rayon runs an indexed range, without waiting on its
    /// halves: while it holds more than `leaf` ids it spawns its second half
    /// (a task an idle thread steals whole, to split again) and keeps the
    /// first; then it runs its leaf's ids in order. Nothing joins the halves
    /// (only the scope counts them), so the last job to end is one wake-up
    /// from the end of the run, not one per level of a `join` tree.
    fn split<'s>(&'s self, scope: &rayon::Scope<'s>, mut run: Run, leaf: u64) {
        while run.len > leaf {
            if self.stopped.load(Relaxed) {
                return;
            }
            let (first, second) = run.split_at(run.len / 2);
            scope.spawn(move |scope| self.split(scope, second, leaf));
            run = first;
        }
        if self.stopped.load(Relaxed) {
            return;
        }
        let mut leaf = Leaf::new(self.slots, self.timing);
        let Slot { worker, batch } = leaf.slot.as_mut().expect("a thread's slot is present until its exit");
        leaf.jobs = run.len;
        let deliver = &mut |b| self.result_tx.send(b).is_ok();
        if !batch.run_all(worker, run, deliver) {
            self.stopped.store(true, Relaxed);
        }
        // Jobs that arrive over time: this thread may go idle now, and rayon
        // cannot say so, so nothing waits in its batch past its leaf.
        if self.arriving {
            batch.hand_back(deliver);
        }
    }
}

/// One leaf: the thread's slot, taken out for the leaf's jobs and put back
/// (with the leaf's timing recorded) when it ends.
struct Leaf<'a> {
    home: &'a Mutex<Option<Slot>>,
    slot: Option<Slot>,
    timing: &'a Timing,
    start: Instant,
    jobs: u64,
}

impl<'a> Leaf<'a> {
    fn new(slots: &'a [Mutex<Option<Slot>>], timing: &'a Timing) -> Self {
        let home = &slots[rayon::current_thread_index().expect("runs on the pool")];
        let slot = lock(home).take();
        Leaf { home, slot, timing, start: Instant::now(), jobs: 0 }
    }
}

impl Drop for Leaf<'_> {
    fn drop(&mut self) {
        if self.jobs > 0 {
            self.timing.ns.fetch_add(self.start.elapsed().as_nanos() as u64, Relaxed);
            self.timing.jobs.fetch_add(self.jobs, Relaxed);
        }
        *lock(self.home) = self.slot.take();
    }
}
