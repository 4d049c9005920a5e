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

use std::sync::{Arc, Mutex, PoisonError};

use super::Results;
use crate::work::LIVE_NS;
use crate::{JobId, JobOutcome, Worker};

/// The most results in one batch.
pub const BATCH_MAX: usize = 1024;

/// Where a batch goes: the sending half of a result channel. `false` when
/// nobody listens any more.
pub type Deliver<'a> = dyn FnMut(Results) -> bool + 'a;

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

    /// Passes each result of `batch` to `on_result`, in order, and keeps the
    /// emptied buffer for a later batch.
    #[inline]
    pub fn consume(&self, mut batch: Results, on_result: &mut impl FnMut(JobOutcome)) {
        batch.drain(on_result);
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(batch);
    }
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
}

impl Batch {
    /// An empty batch that is due at `max` results (at least 1), taking its
    /// buffers from `spares`.
    pub fn new(max: usize, spares: Arc<Spares>) -> Self {
        Batch { items: Results::default(), max: max.max(1), work_ns: 0, open: true, spares }
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

    /// Hands the results to `deliver`, if there are any and anyone listens
    /// (if not, they are dropped: nobody can see them).
    pub fn hand_back(&mut self, deliver: &mut Deliver<'_>) {
        if self.open && !self.items.is_empty() {
            self.open = deliver(self.take());
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
    use crate::WorkerId;

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
        spares.consume(first, &mut |o| got.push(o.job.0));
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
}
