//! What becomes of a job, as handed back to the caller, and where a backend
//! hands it: one [`JobOutcome`] at a time, or a worker's run of consecutive
//! finished jobs at once ([`OutcomeSink::finished`]), which the caller's
//! side checks in a few instructions a job.

use crate::{JobId, WorkerId};

/// What became of one job, as handed back to the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobOutcome {
    /// The worker that ran it.
    pub worker: WorkerId,
    /// The job.
    pub job: JobId,
    /// Its result (`j * 2`), or the panic message if it failed.
    pub result: Result<u64, String>,
}

/// Where a backend hands outcomes back, on the caller's thread.
///
/// Any `FnMut(JobOutcome)` is one; [`finished`](Self::finished) then passes
/// the run's outcomes to it one by one. A sink that can take a run whole
/// (the binary's [`Ledger`](crate::Ledger), the [`Pool`](crate::Pool)'s
/// counting) overrides it.
pub trait OutcomeSink {
    /// One job's outcome.
    fn one(&mut self, outcome: JobOutcome);

    /// Jobs `first, first + 1, …` (as many as `results`), all run by
    /// `worker`, all finished: job `first + i` yielded `results[i]`.
    #[inline]
    fn finished(&mut self, worker: WorkerId, first: JobId, results: &[u64]) {
        for (job, &result) in (first.0..).zip(results) {
            self.one(JobOutcome { worker, job: JobId(job), result: Ok(result) });
        }
    }
}

impl<F: FnMut(JobOutcome)> OutcomeSink for F {
    #[inline]
    fn one(&mut self, outcome: JobOutcome) {
        self(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closure_takes_a_run_one_outcome_at_a_time() {
        let mut got = Vec::new();
        let mut sink = |o: JobOutcome| got.push(o);
        sink.finished(WorkerId(2), JobId(7), &[14, 16, 99]);
        sink.one(JobOutcome { worker: WorkerId(1), job: JobId(1), result: Err("boom".into()) });
        let ok = |job, result| JobOutcome { worker: WorkerId(2), job: JobId(job), result: Ok(result) };
        assert_eq!(got[..3], [ok(7, 14), ok(8, 16), ok(9, 99)]);
        assert_eq!(got[3].result, Err("boom".into()));
    }
}
