//! The canonical content of a log, [`Summary`]: what "the same output"
//! means across backends, whatever order their lines came in.

use std::fmt;

use crate::JobId;

/// What became of one job, as the log tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoggedOutcome {
    /// Finished; the result if the format records it.
    Finished(Option<u64>),
    /// Failed with this message.
    Failed(String),
    /// Never started (only in a partial run's log).
    NotStarted,
}

/// The canonical content of a log: each job's outcome, and the workers,
/// every one of which exited. Only the jobs that started are held, so a
/// summary costs memory for what the log holds, not for the run's size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Number of workers; each of `1..=workers` exited exactly once.
    pub workers: u32,
    /// Number of jobs the run had, `1..=jobs`.
    pub jobs: u64,
    /// The outcome of each job that started, in job order, each job once;
    /// a job absent never started.
    started: Vec<(JobId, LoggedOutcome)>,
}

impl Summary {
    /// The summary of a run of `jobs` jobs on `workers` workers in which no
    /// job has started yet.
    pub fn new(workers: u32, jobs: u64) -> Self {
        Summary { workers, jobs, started: Vec::new() }
    }

    /// The summary of a complete, correct run: every job finished with
    /// `j * 2` (or with no result recorded, for the text format).
    pub fn expected(workers: u32, jobs: u64, with_results: bool) -> Self {
        let started =
            (1..=jobs).map(|j| (JobId(j), LoggedOutcome::Finished(with_results.then(|| JobId(j).expected_result()))));
        Summary { workers, jobs, started: started.collect() }
    }

    /// The summary of a run whose started jobs ended as `started` says,
    /// in any order, each job once (the checker's own, collected as the
    /// log goes).
    pub(super) fn from_unordered(workers: u32, jobs: u64, mut started: Vec<(JobId, LoggedOutcome)>) -> Self {
        started.sort_unstable_by_key(|&(job, _)| job);
        debug_assert!(started.windows(2).all(|w| w[0].0 < w[1].0), "each job once");
        started.retain(|(_, outcome)| *outcome != LoggedOutcome::NotStarted);
        Summary { workers, jobs, started }
    }

    /// What became of `job`.
    pub fn outcome(&self, job: JobId) -> &LoggedOutcome {
        match self.started.binary_search_by_key(&job, |&(j, _)| j) {
            Ok(i) => &self.started[i].1,
            Err(_) => &LoggedOutcome::NotStarted,
        }
    }

    /// Records what became of `job`, one of `1..=jobs`.
    pub fn record(&mut self, job: JobId, outcome: LoggedOutcome) {
        debug_assert!((1..=self.jobs).contains(&job.0), "job {job} outside 1..={}", self.jobs);
        match (self.started.binary_search_by_key(&job, |&(j, _)| j), outcome) {
            (Ok(i), LoggedOutcome::NotStarted) => drop(self.started.remove(i)),
            (Err(_), LoggedOutcome::NotStarted) => {}
            (Ok(i), outcome) => self.started[i].1 = outcome,
            (Err(i), outcome) => self.started.insert(i, (job, outcome)),
        }
    }

    /// The jobs that started and what became of them, in job order.
    pub fn started(&self) -> impl Iterator<Item = (JobId, &LoggedOutcome)> {
        self.started.iter().map(|(job, outcome)| (*job, outcome))
    }

    /// Where `self` and `other` first differ, said in a line; `None` if equal.
    pub fn first_difference(&self, other: &Summary) -> Option<String> {
        if self.workers != other.workers {
            return Some(format!("{} workers vs {}", self.workers, other.workers));
        }
        // The lowest job either holds an outcome for, and the two disagree on.
        let ids = self.started().chain(other.started()).map(|(j, _)| j);
        let differs = ids.filter(|&j| self.outcome(j) != other.outcome(j)).min();
        if let Some(j) = differs {
            return Some(format!("job {j}: {} vs {}", self.outcome(j), other.outcome(j)));
        }
        (self.jobs != other.jobs).then(|| format!("{} jobs vs {}", self.jobs, other.jobs))
    }

    /// Counts of finished, failed and never-started jobs.
    pub fn counts(&self) -> (u64, u64, u64) {
        let (finished, failed) = self.started.iter().map(|(_, o)| o).fold((0, 0), |(f, x), o| match o {
            LoggedOutcome::Finished(_) => (f + 1, x),
            _ => (f, x + 1),
        });
        (finished, failed, self.jobs - finished - failed)
    }
}

impl fmt::Display for LoggedOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoggedOutcome::Finished(Some(r)) => write!(f, "finished with {r}"),
            LoggedOutcome::Finished(None) => f.write_str("finished"),
            LoggedOutcome::Failed(e) => write!(f, "failed: {e}"),
            LoggedOutcome::NotStarted => f.write_str("not started"),
        }
    }
}

/// One line per job that started, in job order; jobs that never started
/// are said as ranges (`jobs 3..=9: not started`), however many there are.
impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let not_started = |f: &mut fmt::Formatter<'_>, from: u64, to: u64| match to.checked_sub(from) {
            Some(0) => writeln!(f, "job {from}: not started"),
            Some(_) => writeln!(f, "jobs {from}..={to}: not started"),
            None => Ok(()),
        };
        let mut next = 1;
        for (job, outcome) in self.started() {
            not_started(f, next, job.0 - 1)?;
            writeln!(f, "job {job}: {outcome}")?;
            next = job.0 + 1;
        }
        not_started(f, next, self.jobs)?;
        write!(f, "workers 1..={} exited", self.workers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_difference_names_the_job() {
        let a = Summary::expected(2, 3, true);
        let mut b = a.clone();
        assert_eq!(a.first_difference(&b), None);
        b.record(JobId(2), LoggedOutcome::Failed("x".into()));
        assert_eq!(a.first_difference(&b).unwrap(), "job 2: finished with 4 vs failed: x");
        assert_eq!(a.first_difference(&Summary::expected(3, 3, true)).unwrap(), "2 workers vs 3");
        assert_eq!(
            a.first_difference(&Summary::expected(2, 2, true)).unwrap(),
            "job 3: finished with 6 vs not started"
        );
        assert_eq!(Summary::new(2, 3).first_difference(&Summary::new(2, 2)).unwrap(), "3 jobs vs 2");
        b.record(JobId(2), LoggedOutcome::NotStarted);
        assert_eq!(a.first_difference(&b).unwrap(), "job 2: finished with 4 vs not started");
        assert_eq!(b.counts(), (2, 0, 1));
    }

    #[test]
    fn never_started_jobs_are_said_as_ranges() {
        let mut s = Summary::new(2, 1 << 40);
        assert_eq!(s.to_string(), "jobs 1..=1099511627776: not started\nworkers 1..=2 exited");
        s.record(JobId(1), LoggedOutcome::Finished(Some(2)));
        s.record(JobId(3), LoggedOutcome::Failed("boom".into()));
        s.record(JobId(1 << 40), LoggedOutcome::Finished(None));
        assert_eq!(
            s.to_string(),
            "job 1: finished with 2\njob 2: not started\njob 3: failed: boom\njobs 4..=1099511627775: not started\n\
             job 1099511627776: finished\nworkers 1..=2 exited"
        );
        assert_eq!(s.counts(), (2, 1, (1 << 40) - 3));
        assert_eq!(
            Summary::expected(1, 2, false).to_string(),
            "job 1: finished\njob 2: finished\nworkers 1..=1 exited"
        );
    }
}
