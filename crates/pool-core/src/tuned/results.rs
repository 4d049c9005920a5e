//! One worker's results packed for the trip to the caller.
//!
//! A [`JobOutcome`] is 40 bytes; the caller reads every one a worker wrote,
//! from another core, and perf showed that read as the caller's largest
//! cost. Packed, a job costs 16 bytes (its id and its result); the worker's
//! id is written once per batch and a failed job's message is kept aside.

use crate::{JobId, JobOutcome, WorkerId};

/// Set in a packed id when the job failed: its value is then the index of
/// its message. Job ids are at most 2^40 (`cli::MAX_JOBS`), so the top bit
/// is free.
const FAILED: u64 = 1 << 63;

/// Results of jobs one worker ran, in the order they ended.
#[derive(Debug)]
pub struct Results {
    worker: WorkerId,
    /// `[id, result]`, or `[id | FAILED, index into messages]`.
    items: Vec<[u64; 2]>,
    messages: Vec<String>,
}

impl Default for Results {
    fn default() -> Self {
        // Worker 0 is no worker: it is set by the first push.
        Results { worker: WorkerId(0), items: Vec::new(), messages: Vec::new() }
    }
}

impl Results {
    /// Adds one outcome. Every outcome of one `Results` is from one worker.
    #[inline]
    pub fn push(&mut self, outcome: JobOutcome) {
        debug_assert!(self.items.is_empty() || self.worker == outcome.worker, "one worker's results");
        debug_assert!(outcome.job.0 < FAILED, "job ids leave the top bit free");
        self.worker = outcome.worker;
        let item = match outcome.result {
            Ok(result) => [outcome.job.0, result],
            Err(message) => {
                self.messages.push(message);
                [outcome.job.0 | FAILED, (self.messages.len() - 1) as u64]
            }
        };
        self.items.push(item);
    }

    /// How many results it holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Drops every result, keeping the memory.
    pub fn clear(&mut self) {
        self.items.clear();
        self.messages.clear();
    }

    /// Where its results live and how many fit: tells a reused buffer from
    /// a new one.
    #[cfg(test)]
    pub(crate) fn buffer(&self) -> (*const [u64; 2], usize) {
        (self.items.as_ptr(), self.items.capacity())
    }

    /// The ids it holds, in order (emptying it).
    #[cfg(test)]
    pub(crate) fn ids(&mut self) -> Vec<u64> {
        let mut ids = Vec::new();
        self.drain(&mut |o| ids.push(o.job.0));
        ids
    }

    /// Passes each outcome to `on_result`, in order, and leaves this empty
    /// (its memory kept, for reuse).
    #[inline]
    pub fn drain(&mut self, on_result: &mut impl FnMut(JobOutcome)) {
        let worker = self.worker;
        let mut messages = self.messages.drain(..);
        for &[id, value] in &self.items {
            let result = if id & FAILED == 0 {
                Ok(value)
            } else {
                Err(messages.next().expect("a failed job's message was kept"))
            };
            on_result(JobOutcome { worker, job: JobId(id & !FAILED), result });
        }
        drop(messages);
        self.items.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_come_out_as_they_went_in() {
        let outcomes = [
            JobOutcome { worker: WorkerId(3), job: JobId(7), result: Ok(14) },
            JobOutcome { worker: WorkerId(3), job: JobId(1 << 40), result: Err("job 1099511627776 panicked".into()) },
            JobOutcome { worker: WorkerId(3), job: JobId(9), result: Ok(5) },
            JobOutcome { worker: WorkerId(3), job: JobId(8), result: Err("second".into()) },
        ];
        let mut results = Results::default();
        outcomes.iter().cloned().for_each(|o| results.push(o));
        assert_eq!(results.len(), 4);
        let mut got = Vec::new();
        results.drain(&mut |o| got.push(o));
        assert_eq!(got, outcomes);
        assert!(results.is_empty());
        results.drain(&mut |_| panic!("drained twice"));
    }
}
