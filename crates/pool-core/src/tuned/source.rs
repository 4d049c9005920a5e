//! The job stream as the workers of a tuned flavor share it: no producer
//! thread and no queue in between — a worker that needs work locks the
//! stream and takes a run of consecutive ids, so a chunk costs one lock
//! however many jobs it holds, and the stream never runs ahead of the
//! workers (backpressure for free).

use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

use crate::{JobId, Jobs, Run};

/// A job stream that many workers claim runs of ids from.
pub struct Source<I: Iterator<Item = JobId>> {
    jobs: Mutex<Jobs<I>>,
    /// Whether jobs arrive over time: known without the lock.
    arriving: bool,
}

impl<I: Iterator<Item = JobId>> std::fmt::Debug for Source<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source").finish_non_exhaustive()
    }
}

impl<I: Iterator<Item = JobId>> Source<I> {
    /// The stream `jobs`, ready to be shared.
    pub fn new(jobs: Jobs<I>) -> Self {
        let arriving = jobs.arriving();
        Source { jobs: Mutex::new(jobs), arriving }
    }

    /// Claims up to `max` consecutive ids (fewer where the stream ends or
    /// skips an id); `None` once the stream is over. If another worker holds
    /// the stream, calls `before_wait` first (the worker is about to wait).
    pub fn claim(&self, max: usize, before_wait: &mut dyn FnMut()) -> Option<Run> {
        self.claim_with(|_| max, before_wait, |run| run)
    }

    /// As [`claim`](Self::claim), with the most ids to claim chosen by `size`
    /// from an upper bound on the jobs left (if the stream knows one), and
    /// the run passed to `publish` while the stream is still held: whatever
    /// `publish` does (pushing the run where other workers can steal it)
    /// happens before any worker can see the stream end.
    pub fn claim_with<T>(
        &self,
        size: impl FnOnce(Option<u64>) -> usize,
        before_wait: &mut dyn FnMut(),
        publish: impl FnOnce(Run) -> T,
    ) -> Option<T> {
        let mut jobs = self.lock(before_wait);
        if self.arriving && jobs.not_yet() {
            // It will wait for the next arrival: nothing may wait with it.
            before_wait();
        }
        let max = size(jobs.size_hint().1.map(|n| n as u64)) as u64;
        jobs.claim(max).map(publish)
    }

    /// Whether jobs arrive over time (`--arrival`).
    pub fn arriving(&self) -> bool {
        self.arriving
    }

    /// When the next job arrives, if jobs arrive over time (see
    /// [`Jobs::due`](crate::Jobs::due)).
    pub fn due(&self) -> Option<std::time::Instant> {
        if !self.arriving {
            return None;
        }
        self.lock(&mut || {}).due()
    }

    /// An upper bound on the jobs not yet claimed, if the stream knows one.
    pub fn remaining(&self) -> Option<u64> {
        self.lock(&mut || {}).size_hint().1.map(|n| n as u64)
    }

    fn lock(&self, before_wait: &mut dyn FnMut()) -> MutexGuard<'_, Jobs<I>> {
        // A panic never happens under the lock (jobs run outside it), and the
        // iterator is sound either way.
        match self.jobs.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => {
                before_wait();
                self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
            }
        }
    }
}

/// Workers that share the stream and nothing else (the std tuned flavor)
/// claim straight from it: no worker ever holds jobs another could take,
/// beyond its own chunk.
impl<I: Iterator<Item = JobId>> super::JobQueue for &Source<I> {
    fn take(&mut self, max: usize, before_wait: &mut dyn FnMut()) -> Option<Run> {
        self.claim(max, before_wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_consecutive_runs_and_ends() {
        let source = Source::new(Jobs::range(1..=10));
        assert_eq!(source.remaining(), Some(10));
        assert_eq!(source.claim(4, &mut || {}), Some(Run { first: 1, len: 4 }));
        assert_eq!(source.claim(1, &mut || {}), Some(Run { first: 5, len: 1 }));
        assert_eq!(source.claim(100, &mut || {}), Some(Run { first: 6, len: 5 }));
        assert_eq!(source.claim(100, &mut || {}), None);
        assert_eq!(source.claim(100, &mut || {}), None);
    }

    #[test]
    fn a_gap_ends_a_run() {
        let source = Source::new(Jobs::new([1, 2, 4, 5, 9].into_iter().map(JobId)));
        let runs: Vec<_> = std::iter::from_fn(|| source.claim(10, &mut || {})).collect();
        assert_eq!(runs, [Run { first: 1, len: 2 }, Run { first: 4, len: 2 }, Run { first: 9, len: 1 }]);
    }

    #[test]
    fn size_sees_what_is_left() {
        let source = Source::new(Jobs::range(1..=10));
        assert_eq!(source.claim_with(|left| left.unwrap() as usize / 2, &mut || {}, |run| run.len), Some(5));
        assert_eq!(source.claim_with(|left| left.unwrap() as usize / 2, &mut || {}, |run| run.len), Some(2));
    }
}
