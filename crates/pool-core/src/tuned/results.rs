//! One worker's results packed for the trip to the caller.
//!
//! A [`JobOutcome`] is 40 bytes; the caller reads every one a worker wrote,
//! from another core, and perf showed that read as the caller's largest
//! cost. Packed, the results of a run of consecutive finished jobs are its
//! first id and length, once, and one `u64` a job; the worker's id is
//! written once per batch and a failed job's message is kept aside. The
//! caller takes each run whole ([`OutcomeSink::finished`]).

use std::sync::Arc;

use super::batch::Waiting;
use crate::{JobId, JobOutcome, OutcomeSink, Quick, QuickEnd, Run, Worker, WorkerId};

/// Set in a segment's first id when it is one failed job: its length is then
/// the index of its message. Job ids are at most 2^40 (`cli::MAX_JOBS`), so
/// the top bit is free.
const FAILED: u64 = 1 << 63;

/// Results of jobs one worker ran, in the order they ended.
#[derive(Debug)]
pub struct Results {
    worker: WorkerId,
    /// `[first, len]`: jobs `first..first + len` finished, their results the
    /// next `len` of `values`; or `[id | FAILED, index into messages]`.
    segments: Vec<[u64; 2]>,
    values: Vec<u64>,
    messages: Vec<String>,
    /// The sending worker's count of its batches waiting for the caller,
    /// given back once this one is drained (see [`Batch::ahead`](super::Batch::ahead)).
    ticket: Option<Arc<Waiting>>,
}

impl Default for Results {
    fn default() -> Self {
        // Worker 0 is no worker: it is set by the first push.
        Results { worker: WorkerId(0), segments: Vec::new(), values: Vec::new(), messages: Vec::new(), ticket: None }
    }
}

impl Results {
    /// Adds one outcome. Every outcome of one `Results` is from one worker.
    #[inline]
    pub fn push(&mut self, outcome: JobOutcome) {
        debug_assert!(self.is_empty() || self.worker == outcome.worker, "one worker's results");
        debug_assert!(outcome.job.0 < FAILED, "job ids leave the top bit free");
        self.worker = outcome.worker;
        let job = outcome.job.0;
        match outcome.result {
            Ok(result) => {
                match self.segments.last_mut() {
                    Some([first, len]) if *first & FAILED == 0 && *first + *len == job => *len += 1,
                    _ => self.segments.push([job, 1]),
                }
                self.values.push(result);
            }
            Err(message) => {
                self.messages.push(message);
                self.segments.push([job | FAILED, (self.messages.len() - 1) as u64]);
            }
        }
    }

    /// Runs the jobs of `run` on `worker` as one block of its quick path
    /// ([`Worker::run_quick`]), their results straight into this batch.
    /// Returns how the block ended; a failed job is already added.
    #[inline]
    pub fn run_quick(&mut self, worker: &mut Worker, quick: Quick, run: Run) -> QuickEnd {
        debug_assert!(self.is_empty() || self.worker == worker.id(), "one worker's results");
        let before = self.values.len();
        let end = worker.run_quick(quick, run, &mut self.values);
        let done = (self.values.len() - before) as u64;
        if done > 0 {
            self.worker = worker.id();
            match self.segments.last_mut() {
                Some([first, len]) if *first & FAILED == 0 && *first + *len == run.first => *len += done,
                _ => self.segments.push([run.first, done]),
            }
        }
        if let QuickEnd::Failed(outcome) = &end {
            self.push(outcome.clone());
        }
        end
    }

    /// How many results it holds.
    #[inline]
    pub fn len(&self) -> usize {
        self.values.len() + self.messages.len()
    }

    /// Whether it holds none.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Counts this batch in its worker's `waiting` until it is drained.
    pub(crate) fn count_in(&mut self, waiting: &Arc<Waiting>) {
        self.ticket = Some(Arc::clone(waiting));
    }

    /// Drops every result, keeping the memory.
    pub fn clear(&mut self) {
        self.segments.clear();
        self.values.clear();
        self.messages.clear();
    }

    /// Where its results live and how many fit: tells a reused buffer from
    /// a new one.
    #[cfg(test)]
    pub(crate) fn buffer(&self) -> (*const u64, usize) {
        (self.values.as_ptr(), self.values.capacity())
    }

    /// The ids it holds, in order (emptying it).
    #[cfg(test)]
    pub(crate) fn ids(&mut self) -> Vec<u64> {
        let mut ids = Vec::new();
        self.drain(&mut |o: JobOutcome| ids.push(o.job.0));
        ids
    }

    /// Passes the outcomes to `sink`, in order — each run of finished jobs
    /// whole — and leaves this empty (its memory kept, for reuse).
    #[inline]
    pub fn drain(&mut self, sink: &mut impl OutcomeSink) {
        let worker = self.worker;
        let mut messages = self.messages.drain(..);
        let mut values = &self.values[..];
        for &[first, len] in &self.segments {
            if first & FAILED == 0 {
                let (run, rest) = values.split_at(len as usize);
                sink.finished(worker, JobId(first), run);
                values = rest;
            } else {
                let message = messages.next().expect("a failed job's message was kept");
                sink.one(JobOutcome { worker, job: JobId(first & !FAILED), result: Err(message) });
            }
        }
        drop(messages);
        self.segments.clear();
        self.values.clear();
        if let Some(waiting) = self.ticket.take() {
            waiting.drained();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_come_out_as_they_went_in() {
        let ok = |job, result| JobOutcome { worker: WorkerId(3), job: JobId(job), result: Ok(result) };
        let outcomes = [
            ok(7, 14),
            JobOutcome { worker: WorkerId(3), job: JobId(1 << 40), result: Err("job 1099511627776 panicked".into()) },
            ok(9, 5),
            ok(10, 20),
            JobOutcome { worker: WorkerId(3), job: JobId(11), result: Err("second".into()) },
            ok(12, 24),
            ok(4, 8),
        ];
        let mut results = Results::default();
        outcomes.iter().cloned().for_each(|o| results.push(o));
        assert_eq!(results.len(), 7);
        let mut got = Vec::new();
        results.drain(&mut |o| got.push(o));
        assert_eq!(got, outcomes);
        assert!(results.is_empty());
        results.drain(&mut |_: JobOutcome| panic!("drained twice"));
    }

    /// Records how outcomes reached it: runs whole, or one by one.
    #[derive(Default)]
    struct Calls(Vec<(u64, Vec<u64>)>, Vec<JobOutcome>);

    impl OutcomeSink for Calls {
        fn one(&mut self, outcome: JobOutcome) {
            self.1.push(outcome);
        }
        fn finished(&mut self, _: WorkerId, first: JobId, results: &[u64]) {
            self.0.push((first.0, results.to_vec()));
        }
    }

    #[test]
    fn consecutive_finished_jobs_travel_as_one_run() {
        let ok = |job| JobOutcome { worker: WorkerId(1), job: JobId(job), result: Ok(job * 2) };
        let mut results = Results::default();
        [1, 2, 3, 5, 6].into_iter().for_each(|j| results.push(ok(j)));
        results.push(JobOutcome { worker: WorkerId(1), job: JobId(7), result: Err("x".into()) });
        results.push(ok(8));
        let mut calls = Calls::default();
        results.drain(&mut calls);
        assert_eq!(calls.0, [(1, vec![2, 4, 6]), (5, vec![10, 12]), (8, vec![16])]);
        assert_eq!(calls.1.len(), 1);
        assert_eq!(calls.1[0].job, JobId(7));
    }
}
