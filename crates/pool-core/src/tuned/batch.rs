//! Results handed back in per-worker batches.
//!
//! A tuned worker keeps its outcomes and hands them back together, by the
//! rule its log lines follow (see `log.rs`): before a job of 1 ms or more
//! starts, once the jobs in the batch add up to 1 ms of work, before the
//! worker waits, at its exit — and once the batch holds [`BATCH_MAX`] (or the
//! `--queue` share) results. Fast jobs cost one hand-off per batch; no result
//! is held back longer than a log line would be.

use crate::work::LIVE_NS;
use crate::{JobId, JobOutcome, Worker};

/// The most results in one batch.
pub const BATCH_MAX: usize = 1024;

/// Where a batch goes: the sending half of a result channel. `false` when
/// nobody listens any more.
pub type Deliver<'a> = dyn FnMut(Vec<JobOutcome>) -> bool + 'a;

/// One worker's results not yet handed back.
#[derive(Debug)]
pub struct Batch {
    items: Vec<JobOutcome>,
    max: usize,
    /// Work done by the jobs in `items`, in nanoseconds.
    work_ns: u64,
    /// Whether anyone still listens.
    open: bool,
}

impl Batch {
    /// An empty batch that is due at `max` results (at least 1).
    pub fn new(max: usize) -> Self {
        Batch { items: Vec::new(), max: max.max(1), work_ns: 0, open: true }
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
    pub fn push(&mut self, outcome: JobOutcome, work_ns: u64) -> bool {
        self.items.push(outcome);
        self.work_ns += work_ns;
        self.items.len() >= self.max || self.work_ns >= LIVE_NS
    }

    /// Takes the results out, leaving an empty batch.
    pub fn take(&mut self) -> Vec<JobOutcome> {
        self.work_ns = 0;
        let next = Vec::with_capacity(self.items.len().min(self.max));
        std::mem::replace(&mut self.items, next)
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
        let mut b = Batch::new(3);
        assert!(!b.push(outcome(1), 0));
        assert!(!b.push(outcome(2), 999 * US));
        assert!(b.push(outcome(3), 0), "count");
        assert_eq!(b.take().len(), 3);
        assert!(b.is_empty());
        assert!(!b.push(outcome(4), 500 * US));
        assert!(b.push(outcome(5), 500 * US), "1 ms of work");
        assert_eq!(b.take().iter().map(|o| o.job.0).collect::<Vec<_>>(), [4, 5]);
        assert!(!b.push(outcome(6), 0), "the work was reset");
    }

    #[test]
    fn a_closed_receiver_drops_results_and_stays_closed() {
        let mut b = Batch::new(10);
        let mut got = Vec::new();
        b.push(outcome(1), 0);
        b.hand_back(&mut |batch| {
            got.extend(batch);
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
        let mut b = Batch::new(10);
        assert!(!b.hand_back_before(1_000_000 * US), "nothing waits");
        b.push(outcome(1), 0);
        assert!(b.hand_back_before(1_000 * US));
        assert!(!b.hand_back_before(999 * US));
    }
}
