//! Results handed back in per-worker batches.
//!
//! A tuned worker keeps its outcomes and hands them back together, by the
//! rule its log lines follow (see `log.rs`): before a job of 1 ms or more
//! starts, once the jobs in the batch add up to 1 ms of work, before the
//! worker waits, at its exit — and once the batch holds [`BATCH_MAX`] (or the
//! `--queue` share) results. Fast jobs cost one hand-off per batch; no result
//! is held back longer than a log line would be.

use std::time::Duration;

use crate::JobOutcome;
use crate::work::LIVE;

/// The most results in one batch.
pub const BATCH_MAX: usize = 1024;

/// One worker's results not yet handed back.
#[derive(Debug)]
pub struct Batch {
    items: Vec<JobOutcome>,
    max: usize,
    /// Work done by the jobs in `items`.
    work: Duration,
}

impl Batch {
    /// An empty batch that is due at `max` results (at least 1).
    pub fn new(max: usize) -> Self {
        Batch { items: Vec::new(), max: max.max(1), work: Duration::ZERO }
    }

    /// Whether the batch holds nothing.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether a job of `work` should not start while this batch waits: it
    /// is a job the log would flush before.
    pub fn hand_back_before(&self, work: Duration) -> bool {
        !self.items.is_empty() && work >= LIVE
    }

    /// Adds the outcome of a job that did `work`; `true` if the batch is now
    /// due to be handed back.
    pub fn push(&mut self, outcome: JobOutcome, work: Duration) -> bool {
        self.items.push(outcome);
        self.work += work;
        self.items.len() >= self.max || self.work >= LIVE
    }

    /// Takes the results out, leaving an empty batch.
    pub fn take(&mut self) -> Vec<JobOutcome> {
        self.work = Duration::ZERO;
        let next = Vec::with_capacity(self.items.len().min(self.max));
        std::mem::replace(&mut self.items, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{JobId, WorkerId};

    fn outcome(j: u64) -> JobOutcome {
        JobOutcome { worker: WorkerId(1), job: JobId(j), result: Ok(j * 2) }
    }

    #[test]
    fn due_at_the_count_or_at_a_millisecond_of_work() {
        let mut b = Batch::new(3);
        assert!(!b.push(outcome(1), Duration::ZERO));
        assert!(!b.push(outcome(2), Duration::from_micros(999)));
        assert!(b.push(outcome(3), Duration::ZERO), "count");
        assert_eq!(b.take().len(), 3);
        assert!(b.is_empty());
        assert!(!b.push(outcome(4), Duration::from_micros(500)));
        assert!(b.push(outcome(5), Duration::from_micros(500)), "1 ms of work");
        assert_eq!(b.take().iter().map(|o| o.job.0).collect::<Vec<_>>(), [4, 5]);
        assert!(!b.push(outcome(6), Duration::ZERO), "the work was reset");
    }

    #[test]
    fn a_long_job_does_not_start_while_results_wait() {
        let mut b = Batch::new(10);
        assert!(!b.hand_back_before(Duration::from_secs(1)), "nothing waits");
        b.push(outcome(1), Duration::ZERO);
        assert!(b.hand_back_before(Duration::from_millis(1)));
        assert!(!b.hand_back_before(Duration::from_micros(999)));
    }
}
