//! Results handed back in per-worker batches.
//!
//! A tuned worker keeps its outcomes and hands them back together, by the
//! rule its log lines follow (see `log.rs`): before a job of 1 ms or more
//! starts, once the jobs in the batch add up to 1 ms of work, before the
//! worker waits, at its exit — and once the batch holds [`BATCH_MAX`] (or the
//! `--queue` share) results. Fast jobs cost one hand-off per batch; no result
//! is held back longer than a log line would be.
//!
//! A batch's buffer makes a round trip: filled by a worker, emptied by the
//! caller into its result callback, and kept in [`Spares`] for the next
//! batch. Allocating a fresh one per batch cost more than the jobs in it:
//! the allocator gave the pages back and every batch faulted them in again.

use std::sync::atomic::{AtomicUsize, Ordering::AcqRel, Ordering::Acquire};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use super::Results;
use crate::work::LIVE_NS;
use crate::{JobId, JobOutcome, OutcomeSink, Quick, QuickEnd, Run, Worker};

/// The most results in one batch.
pub const BATCH_MAX: usize = 16384;

/// Where a batch goes: the sending half of a result channel. `false` when
/// nobody listens any more.
pub type Deliver<'a> = dyn FnMut(Results) -> bool + 'a;

/// One worker's batches waiting for the caller: counted up as the worker
/// hands one back, down as the caller drains it; a worker at its bound
/// sleeps until the caller drains one (no thread spins: 10,000 workers
/// yielding in a loop starved the caller).
#[derive(Debug)]
pub(crate) struct Waiting {
    count: AtomicUsize,
    most: usize,
    lock: Mutex<()>,
    drained: Condvar,
}

impl Waiting {
    /// Waits until fewer than `most` batches wait, then counts one more.
    fn hand_back(&self) {
        if self.count.load(Acquire) >= self.most {
            let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            // Checked under the lock the caller takes to wake a worker, so
            // the wake-up cannot come between the check and the wait.
            while self.count.load(Acquire) >= self.most {
                guard = self.drained.wait(guard).unwrap_or_else(PoisonError::into_inner);
            }
        }
        self.count.fetch_add(1, AcqRel);
    }

    /// The caller drained one: wakes the worker if it may wait for that.
    pub(crate) fn drained(&self) {
        if self.count.fetch_sub(1, AcqRel) == self.most {
            let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            self.drained.notify_one();
        }
    }
}

/// Emptied batch buffers on their way back from the caller to the workers.
/// Shared by the workers of one run and its caller; it holds at most as
/// many buffers as were ever in flight at once.
#[derive(Debug, Default)]
pub struct Spares(Mutex<Vec<Results>>);

impl Spares {
    /// A buffer for the next batch: an emptied one if any is back, else a
    /// new (unallocated) one.
    pub fn get(&self) -> Results {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).pop().unwrap_or_default()
    }

    /// Passes the results of `batch` to `sink`, in order, and keeps the
    /// emptied buffer for a later batch.
    #[inline]
    pub fn consume(&self, mut batch: Results, sink: &mut impl OutcomeSink) {
        batch.drain(sink);
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(batch);
    }
}

/// Why [`Batch::run_quick`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ran {
    /// Every job it was given ran.
    Drained,
    /// The batch is due: hand it back, then go on.
    Due,
    /// The run was cancelled; the jobs left were not started.
    Cancelled,
}

/// One worker's results not yet handed back.
#[derive(Debug)]
pub struct Batch {
    items: Results,
    max: usize,
    /// Work done by the jobs in `items`, in nanoseconds.
    work_ns: u64,
    /// Whether anyone still listens.
    open: bool,
    /// Where the buffer of the next batch comes from.
    spares: Arc<Spares>,
    /// The most of this worker's batches that may wait for the caller, and
    /// how many do (see [`ahead`](Self::ahead)).
    ahead: Option<Arc<Waiting>>,
}

impl Batch {
    /// An empty batch that is due at `max` results (at least 1), taking its
    /// buffers from `spares`.
    pub fn new(max: usize, spares: Arc<Spares>) -> Self {
        Batch { items: Results::default(), max: max.max(1), work_ns: 0, open: true, spares, ahead: None }
    }

    /// The same batch, of a worker that hands back at most `most` batches
    /// the caller has not yet drained: [`hand_back`](Self::hand_back) sleeps
    /// the thread until the caller catches up. The bound of a worker thread
    /// without `--queue` ([`Limits::ahead`](super::Limits::ahead)): its own,
    /// so that 10,000 workers handing back a result each do not wait for room
    /// in a shared channel. `None`: no such bound.
    pub fn ahead(mut self, most: Option<usize>) -> Self {
        self.ahead = most.map(|most| {
            let (count, lock, drained) = (AtomicUsize::new(0), Mutex::new(()), Condvar::new());
            Arc::new(Waiting { count, most: most.max(1), lock, drained })
        });
        self
    }

    /// Runs `job` on `worker` (see [`Worker::run`]) into this batch, handing
    /// the batch to `deliver` before the job if the job is long, and after
    /// it if the batch is then due. A skipped (cancelled) job adds nothing
    /// and returns `false`: the run is stopping.
    #[inline]
    pub fn run(&mut self, worker: &mut Worker, job: JobId, deliver: &mut Deliver<'_>) -> bool {
        let ran = worker.run_announced(job, |work_ns| {
            if self.hand_back_before(work_ns) {
                self.hand_back(deliver);
            }
        });
        let Some((outcome, work_ns)) = ran else { return false };
        if self.push(outcome, work_ns) {
            self.hand_back(deliver);
        }
        true
    }

    /// Runs every job of `run` on `worker` into this batch, as
    /// [`run`](Self::run) does job by job, and hands the batch back by the
    /// same rule; in blocks where the worker may ([`Worker::quick`], see
    /// [`run_quick`](Self::run_quick)). `false` if the run was cancelled: the
    /// rest of `run` is left unstarted.
    #[inline]
    pub fn run_all(&mut self, worker: &mut Worker, run: Run, deliver: &mut Deliver<'_>) -> bool {
        let Some(quick) = worker.quick() else {
            return run.ids().all(|job| self.run(worker, job, deliver));
        };
        let mut rest = run;
        loop {
            match self.run_quick(worker, quick, &mut rest) {
                Ran::Drained => return true,
                Ran::Cancelled => return false,
                Ran::Due => self.hand_back(deliver),
            }
        }
    }

    /// Runs jobs from the front of `rest` on `worker` in blocks of its quick
    /// path ([`Worker::run_quick`]), each block cut where job by job the
    /// batch would be due, until the batch is due (hand it back, then call
    /// again), `rest` is drained, or the run is cancelled.
    #[inline]
    pub fn run_quick(&mut self, worker: &mut Worker, quick: Quick, rest: &mut Run) -> Ran {
        let end = rest.first + rest.len;
        while !rest.is_empty() {
            let room = self.max.saturating_sub(self.items.len()).max(1) as u64;
            let by_work = match quick.work_ns() {
                0 => u64::MAX,
                w => LIVE_NS.saturating_sub(self.work_ns).div_ceil(w).max(1),
            };
            let (block, after) = rest.split_at(quick.block(room.min(by_work)));
            let ran = match self.items.run_quick(worker, quick, block) {
                QuickEnd::Skipped => return Ran::Cancelled,
                QuickEnd::Done => {
                    *rest = after;
                    block.len
                }
                QuickEnd::Failed(failed) => {
                    *rest = Run { first: failed.job.0 + 1, len: end - failed.job.0 - 1 };
                    failed.job.0 - block.first + 1
                }
            };
            self.work_ns += ran * quick.work_ns();
            if self.items.len() >= self.max || self.work_ns >= LIVE_NS {
                return Ran::Due;
            }
        }
        Ran::Drained
    }

    /// Hands the results to `deliver`, if there are any and anyone listens
    /// (if not, they are dropped: nobody can see them).
    pub fn hand_back(&mut self, deliver: &mut Deliver<'_>) {
        if self.open && !self.items.is_empty() {
            // The caller drains every batch it is sent, to the end of the
            // run (a panicking callback included): a wait here ends.
            let items = match self.ahead.clone() {
                Some(waiting) => {
                    waiting.hand_back();
                    let mut items = self.take();
                    items.count_in(&waiting);
                    items
                }
                None => self.take(),
            };
            self.open = deliver(items);
        } else {
            self.items.clear();
            self.work_ns = 0;
        }
    }

    /// Whether the receiver was still there at the last hand-back.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Whether the batch holds nothing.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether a job of `work_ns` nanoseconds should not start while this
    /// batch waits: it is a job the log would flush before.
    pub fn hand_back_before(&self, work_ns: u64) -> bool {
        !self.items.is_empty() && work_ns >= LIVE_NS
    }

    /// Adds the outcome of a job that did `work_ns` nanoseconds of work;
    /// `true` if the batch is now due to be handed back.
    #[inline]
    pub fn push(&mut self, outcome: JobOutcome, work_ns: u64) -> bool {
        self.items.push(outcome);
        self.work_ns += work_ns;
        self.items.len() >= self.max || self.work_ns >= LIVE_NS
    }

    /// Takes the results out, leaving an empty batch (with a spare buffer).
    pub fn take(&mut self) -> Results {
        self.work_ns = 0;
        std::mem::replace(&mut self.items, self.spares.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crew::Shared;
    use crate::{Crew, Work, WorkerId};

    const US: u64 = 1_000;

    fn outcome(j: u64) -> JobOutcome {
        JobOutcome { worker: WorkerId(1), job: JobId(j), result: Ok(j * 2) }
    }

    #[test]
    fn due_at_the_count_or_at_a_millisecond_of_work() {
        let mut b = Batch::new(3, Arc::default());
        assert!(!b.push(outcome(1), 0));
        assert!(!b.push(outcome(2), 999 * US));
        assert!(b.push(outcome(3), 0), "count");
        assert_eq!(b.take().len(), 3);
        assert!(b.is_empty());
        assert!(!b.push(outcome(4), 500 * US));
        assert!(b.push(outcome(5), 500 * US), "1 ms of work");
        assert_eq!(b.take().ids(), [4, 5]);
        assert!(!b.push(outcome(6), 0), "the work was reset");
    }

    #[test]
    fn buffers_come_back_for_later_batches() {
        let spares = Arc::new(Spares::default());
        let mut b = Batch::new(4, Arc::clone(&spares));
        (1..=4).for_each(|j| _ = b.push(outcome(j), 0));
        let first = b.take();
        let buffer = first.buffer();
        let mut got = Vec::new();
        spares.consume(first, &mut |o: JobOutcome| got.push(o.job.0));
        assert_eq!(got, [1, 2, 3, 4], "every result, in order");
        // The buffer for the batch after `first` was taken before `first`
        // came back; the one after that is `first`'s.
        b.push(outcome(5), 0);
        assert_eq!(b.take().ids(), [5]);
        b.push(outcome(6), 0);
        let mut third = b.take();
        assert_eq!(third.buffer(), buffer, "the same buffer, reused");
        assert_eq!(third.ids(), [6]);
        assert_eq!(spares.get().buffer().1, 0, "no spare left: a new buffer");
    }

    #[test]
    fn a_closed_receiver_drops_results_and_stays_closed() {
        let mut b = Batch::new(10, Arc::default());
        let mut got = Vec::new();
        b.push(outcome(1), 0);
        b.hand_back(&mut |mut batch| {
            got.extend(batch.ids());
            false
        });
        assert_eq!(got.len(), 1);
        assert!(!b.is_open());
        b.push(outcome(2), 0);
        b.hand_back(&mut |_| panic!("nobody listens"));
        assert!(b.is_empty());
    }

    #[test]
    fn a_long_job_does_not_start_while_results_wait() {
        let mut b = Batch::new(10, Arc::default());
        assert!(!b.hand_back_before(1_000_000 * US), "nothing waits");
        b.push(outcome(1), 0);
        assert!(b.hand_back_before(1_000 * US));
        assert!(!b.hand_back_before(999 * US));
    }

    /// The batches a worker hands back running jobs `1..=jobs` of `work`
    /// (with `panics` made to fail) through `run_all` in chunks of `chunk`
    /// ids — or, if `!quick`, job by job — as `(id, finished)` lists.
    fn batches(work: &str, panics: &[u64], jobs: u64, chunk: u64, quick: bool) -> Vec<Vec<(u64, bool)>> {
        let work = Work::new(work.parse().unwrap(), 0).with_panics(panics.iter().map(|&j| JobId(j)));
        let shared = Arc::new(Shared::new(work, None, Arc::default()));
        let mut worker = Crew::new(shared, 1, None).into_workers().next().unwrap();
        assert!(worker.quick().is_some(), "a quiet run of uniform short jobs may run in blocks");
        let mut got = Vec::new();
        let mut deliver = |mut batch: Results| {
            let mut ids = Vec::new();
            batch.drain(&mut |o: JobOutcome| ids.push((o.job.0, o.result.is_ok())));
            got.push(ids);
            true
        };
        let mut b = Batch::new(1000, Arc::default());
        let mut first = 1;
        while first <= jobs {
            let run = Run { first, len: chunk.min(jobs - first + 1) };
            let ran = if quick {
                b.run_all(&mut worker, run, &mut deliver)
            } else {
                run.ids().all(|j| b.run(&mut worker, j, &mut deliver))
            };
            assert!(ran);
            first += run.len;
        }
        b.hand_back(&mut deliver);
        worker.exit();
        got
    }

    #[test]
    fn blocks_hand_back_what_job_by_job_would() {
        for (work, panics, jobs, chunk) in [
            ("noop", &[][..], 2500, 700),
            ("noop", &[1, 5, 999, 1000, 1001, 2500][..], 2500, 3000),
            ("spin:10us", &[150][..], 450, 64),
        ] {
            let quick = batches(work, panics, jobs, chunk, true);
            assert_eq!(quick, batches(work, panics, jobs, chunk, false), "{work}, failing {panics:?}");
            let all: Vec<_> = quick.concat();
            assert_eq!(all.len() as u64, jobs, "every job once, in order");
            assert!(all.iter().zip(1..).all(|(&(id, ok), j)| id == j && ok != panics.contains(&j)));
        }
        // The count rule cuts noop batches, the work rule spin batches.
        assert_eq!(batches("noop", &[], 2500, 700, true).iter().map(Vec::len).collect::<Vec<_>>(), [1000, 1000, 500]);
        assert!(batches("spin:10us", &[], 450, 64, true).iter().all(|b| b.len() <= 100));
    }

    #[test]
    fn a_cancelled_run_starts_no_block() {
        let shared = Arc::new(Shared::new(Work::new("noop".parse().unwrap(), 0), None, Arc::default()));
        let mut worker = Crew::new(Arc::clone(&shared), 1, None).into_workers().next().unwrap();
        let mut b = Batch::new(1000, Arc::default());
        assert!(b.run_all(&mut worker, Run { first: 1, len: 10 }, &mut |_| true));
        shared.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(!b.run_all(&mut worker, Run { first: 11, len: 10 }, &mut |_| panic!("nothing to hand back")));
        assert_eq!(b.items.len(), 10, "the first block's results wait in the batch");
        assert_eq!(shared.skipped.load(std::sync::atomic::Ordering::Relaxed), 1);
        worker.exit();
    }

    #[test]
    fn a_worker_ahead_of_the_caller_waits_until_it_drains_one() {
        let spares = Arc::new(Spares::default());
        let (tx, rx) = std::sync::mpsc::channel::<Results>();
        let mut b = Batch::new(1, Arc::clone(&spares)).ahead(Some(2));
        let worker = std::thread::spawn(move || {
            for j in 1..=3 {
                b.push(outcome(j), 0);
                b.hand_back(&mut |batch| tx.send(batch).is_ok());
            }
        });
        let (first, second) = (rx.recv().unwrap(), rx.recv().unwrap());
        // Two batches wait undrained: the third is not handed back.
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(rx.try_recv().is_err(), "a third batch went past the bound");
        let mut got = Vec::new();
        spares.consume(first, &mut |o: JobOutcome| got.push(o.job.0));
        let mut third = rx.recv().expect("draining one lets the worker go on");
        worker.join().unwrap();
        spares.consume(second, &mut |o: JobOutcome| got.push(o.job.0));
        got.extend(third.ids());
        assert_eq!(got, [1, 2, 3]);
    }
}
