//! The trace checker: judges a parsed log against the rules every correct
//! pool obeys, and reduces it to a canonical [`Summary`] — what "the same
//! output" means across backends, whatever order their lines came in.

use std::fmt;

use crate::{Event, JobId, Record, WorkerId};

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

/// The canonical content of a log: each job's outcome in job order, and the
/// workers, every one of which exited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Number of workers; each of `1..=workers` exited exactly once.
    pub workers: u32,
    /// Outcome of job `j` at index `j - 1`.
    pub jobs: Vec<LoggedOutcome>,
}

impl Summary {
    /// The summary of a complete, correct run: every job finished with
    /// `j * 2` (or with no result recorded, for the text format).
    pub fn expected(workers: u32, jobs: u64, with_results: bool) -> Self {
        let jobs =
            (1..=jobs).map(|j| LoggedOutcome::Finished(with_results.then(|| JobId(j).expected_result()))).collect();
        Summary { workers, jobs }
    }

    /// Where `self` and `other` first differ, said in a line; `None` if equal.
    pub fn first_difference(&self, other: &Summary) -> Option<String> {
        if self.workers != other.workers {
            return Some(format!("{} workers vs {}", self.workers, other.workers));
        }
        if let Some((i, (a, b))) = self.jobs.iter().zip(&other.jobs).enumerate().find(|(_, (a, b))| a != b) {
            return Some(format!("job {}: {a} vs {b}", i + 1));
        }
        (self.jobs.len() != other.jobs.len()).then(|| format!("{} jobs vs {}", self.jobs.len(), other.jobs.len()))
    }

    /// Counts of finished, failed and never-started jobs.
    pub fn counts(&self) -> (u64, u64, u64) {
        self.jobs.iter().fold((0, 0, 0), |(f, x, n), o| match o {
            LoggedOutcome::Finished(_) => (f + 1, x, n),
            LoggedOutcome::Failed(_) => (f, x + 1, n),
            LoggedOutcome::NotStarted => (f, x, n + 1),
        })
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

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, outcome) in self.jobs.iter().enumerate() {
            writeln!(f, "job {}: {outcome}", i + 1)?;
        }
        write!(f, "workers 1..={} exited", self.workers)
    }
}

/// The first rule a log breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The line that breaks it, from 1; 0 when the log breaks it by ending.
    pub line: usize,
    /// The rule, said of this log.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "at end of log: {}", self.message),
            n => write!(f, "line {n}: {}", self.message),
        }
    }
}

impl std::error::Error for Violation {}

/// Whether every job must have run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completeness {
    /// Every job `1..=J` started and ended.
    Complete,
    /// A cancelled run: jobs may be missing, but every job that started
    /// ended, and every worker exited.
    Partial,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum JobState {
    Unseen,
    Running { worker: WorkerId, line: usize },
    Ended,
}

/// Judges `log` (records in line order) of a run of `workers` workers over
/// jobs `1..=jobs`. The rules:
///
/// - every job `1..=jobs` starts exactly once and then finishes or fails
///   exactly once, on the worker that started it;
/// - a worker runs one job at a time, so no more than `workers` jobs are in
///   flight;
/// - no event from a worker after it exits; every worker `1..=workers`
///   exits exactly once, also one that got no job;
/// - a `reclaimed` event (pool-redis's distributed mode) takes a job that
///   has not ended away from the worker named as `from` (which must be
///   running it, or not have logged its start): the job may then start again,
///   on the reclaiming worker, which holds no job of its own at that moment.
///   A worker that never exits is accepted only if a job was reclaimed from
///   it and it was running nothing at the end (it died, and every job it left
///   unfinished was taken over);
/// - results are `j * 2`;
/// - a worker's timestamps never go back.
pub fn check(log: &[Record], workers: u32, jobs: u64, completeness: Completeness) -> Result<Summary, Violation> {
    let nworkers = workers as usize;
    let mut state = vec![JobState::Unseen; usize::try_from(jobs).expect("job count fits in memory")];
    let mut outcomes = vec![LoggedOutcome::NotStarted; state.len()];
    let mut running: Vec<Option<JobId>> = vec![None; nworkers];
    let mut exited = vec![false; nworkers];
    let mut reclaimed_from = vec![false; nworkers];
    let mut last_t = vec![0u64; nworkers];
    let mut in_flight = 0usize;

    for record in log {
        let fail = |message: String| Violation { line: record.line, message };
        let w = record.worker;
        if w.0 == 0 || w.0 > workers {
            return Err(fail(format!("worker {w} is not one of 1..={workers}")));
        }
        let wi = w.0 as usize - 1;
        if exited[wi] {
            return Err(fail(format!("event from worker {w} after it exited")));
        }
        if let Some(t) = record.t_us {
            if t < last_t[wi] {
                return Err(fail(format!("time went back for worker {w}: {t} µs after {} µs", last_t[wi])));
            }
            last_t[wi] = t;
        }
        let job_index = |job: JobId| {
            if job.0 == 0 || job.0 > jobs {
                Err(fail(format!("job {job} is not one of 1..={jobs}")))
            } else {
                Ok(job.0 as usize - 1)
            }
        };
        match &record.event {
            Event::Started { job } => {
                let j = job_index(*job)?;
                if state[j] != JobState::Unseen {
                    return Err(fail(format!("job {job} started a second time")));
                }
                if let Some(other) = running[wi] {
                    return Err(fail(format!("worker {w} started job {job} while running job {other}")));
                }
                in_flight += 1;
                if in_flight > nworkers {
                    return Err(fail(format!("{in_flight} jobs in flight, more than {workers} workers")));
                }
                state[j] = JobState::Running { worker: w, line: record.line };
                running[wi] = Some(*job);
            }
            Event::Finished { job, .. } | Event::Failed { job, .. } => {
                let j = job_index(*job)?;
                match state[j] {
                    JobState::Unseen => return Err(fail(format!("job {job} ended but never started"))),
                    JobState::Ended => return Err(fail(format!("job {job} ended a second time"))),
                    JobState::Running { worker, .. } if worker != w => {
                        return Err(fail(format!("job {job} started on worker {worker} but ended on worker {w}")));
                    }
                    JobState::Running { .. } => {}
                }
                outcomes[j] = match &record.event {
                    Event::Finished { result: Some(r), .. } if *r != job.expected_result() => {
                        return Err(fail(format!("job {job} yielded {r}, not {}", job.expected_result())));
                    }
                    Event::Finished { result, .. } => LoggedOutcome::Finished(*result),
                    Event::Failed { error, .. } => LoggedOutcome::Failed(error.clone()),
                    _ => unreachable!(),
                };
                state[j] = JobState::Ended;
                running[wi] = None;
                in_flight -= 1;
            }
            Event::Exiting => {
                if let Some(job) = running[wi] {
                    return Err(fail(format!("worker {w} exited while running job {job}")));
                }
                exited[wi] = true;
            }
            Event::Reclaimed { job, from } => {
                let j = job_index(*job)?;
                if from.0 == 0 || from.0 > workers {
                    return Err(fail(format!("worker {from} is not one of 1..={workers}")));
                }
                let fi = from.0 as usize - 1;
                if fi == wi {
                    return Err(fail(format!("worker {w} reclaimed job {job} from itself")));
                }
                if let Some(other) = running[wi] {
                    return Err(fail(format!("worker {w} reclaimed job {job} while running job {other}")));
                }
                if exited[fi] {
                    return Err(fail(format!("job {job} reclaimed from worker {from}, which had exited")));
                }
                match state[j] {
                    JobState::Ended => return Err(fail(format!("job {job} reclaimed after it ended"))),
                    JobState::Running { worker, .. } if worker != *from => {
                        return Err(fail(format!(
                            "job {job} reclaimed from worker {from} but runs on worker {worker}"
                        )));
                    }
                    JobState::Running { .. } => {
                        running[fi] = None;
                        in_flight -= 1;
                    }
                    // Worker `from` took the job but died before its start
                    // reached the log.
                    JobState::Unseen => {}
                }
                state[j] = JobState::Unseen;
                reclaimed_from[fi] = true;
            }
        }
    }

    let at_end = |message: String| Violation { line: 0, message };
    if let Some(j) = state.iter().position(|s| matches!(s, JobState::Running { .. })) {
        let JobState::Running { worker, line } = state[j] else { unreachable!() };
        return Err(Violation { line, message: format!("job {} started on worker {worker} never ended", j + 1) });
    }
    if completeness == Completeness::Complete {
        if let Some(j) = state.iter().position(|s| *s == JobState::Unseen) {
            return Err(at_end(format!("job {} never started", j + 1)));
        }
    }
    if let Some(w) = (0..nworkers).find(|&w| !exited[w] && !reclaimed_from[w]) {
        return Err(at_end(format!("worker {} never exited", w + 1)));
    }
    Ok(Summary { workers, jobs: outcomes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;

    fn run(log: &str, workers: u32, jobs: u64) -> Result<Summary, Violation> {
        let records = Format::Jsonl.parse(log).expect("test log parses");
        check(&records, workers, jobs, Completeness::Complete)
    }

    /// A log in a compact notation: `t w s j` (started), `t w f j r`
    /// (finished), `t w x j` (failed), `t w e` (exiting), `t w r j from`
    /// (reclaimed).
    fn log(compact: &str) -> String {
        compact
            .split(';')
            .map(|ev| {
                let f: Vec<&str> = ev.split_whitespace().collect();
                let (t, w) = (f[0], f[1]);
                match f[2] {
                    "s" => format!(r#"{{"t_us":{t},"worker":{w},"event":"started","job":{}}}"#, f[3]),
                    "f" => {
                        format!(r#"{{"t_us":{t},"worker":{w},"event":"finished","job":{},"result":{}}}"#, f[3], f[4])
                    }
                    "x" => format!(r#"{{"t_us":{t},"worker":{w},"event":"failed","job":{},"error":"boom"}}"#, f[3]),
                    "e" => format!(r#"{{"t_us":{t},"worker":{w},"event":"exiting"}}"#),
                    "r" => {
                        format!(r#"{{"t_us":{t},"worker":{w},"event":"reclaimed","job":{},"from":{}}}"#, f[3], f[4])
                    }
                    other => panic!("bad test event {other}"),
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn violates(compact: &str, workers: u32, jobs: u64, line: usize, words: &str) {
        let err = run(&log(compact), workers, jobs).expect_err(compact);
        assert_eq!(err.line, line, "{compact}: {err}");
        assert!(err.message.contains(words), "{compact}: {err} lacks {words:?}");
    }

    #[test]
    fn accepts_a_correct_log_and_summarises_it() {
        let good = "0 1 s 1; 0 2 s 2; 5 2 f 2 4; 6 2 s 3; 7 2 x 3; 1 1 f 1 2; 7 1 e; 8 2 e; 8 3 e";
        let summary = run(&log(good), 3, 3).unwrap();
        assert_eq!(
            summary.jobs,
            vec![
                LoggedOutcome::Finished(Some(2)),
                LoggedOutcome::Finished(Some(4)),
                LoggedOutcome::Failed("boom".into())
            ]
        );
        assert_eq!(summary.counts(), (2, 1, 0));
        assert_eq!(summary.workers, 3);
    }

    #[test]
    fn zero_jobs_still_needs_every_worker_to_exit() {
        assert!(run(&log("0 1 e; 0 2 e"), 2, 0).is_ok());
        violates("0 1 e", 2, 0, 0, "worker 2 never exited");
    }

    #[test]
    fn names_each_broken_rule_with_its_line() {
        violates("0 1 s 1; 1 1 f 1 2; 2 1 s 1; 3 1 f 1 2; 4 1 e", 1, 1, 3, "job 1 started a second time");
        violates("0 1 s 1; 1 1 f 1 2; 2 1 f 1 2; 4 1 e", 1, 1, 3, "job 1 ended a second time");
        violates("0 1 f 1 2; 4 1 e", 1, 1, 1, "job 1 ended but never started");
        violates("0 1 s 1; 1 2 f 1 2; 2 1 e; 2 2 e", 2, 1, 2, "started on worker 1 but ended on worker 2");
        violates("0 1 s 1; 1 1 s 2", 1, 2, 2, "worker 1 started job 2 while running job 1");
        violates("0 1 s 1; 1 1 e", 1, 1, 2, "worker 1 exited while running job 1");
        violates("0 1 e; 1 1 s 1", 1, 1, 2, "event from worker 1 after it exited");
        violates("0 1 e; 1 1 e", 1, 0, 2, "after it exited");
        violates("5 1 s 1; 4 1 f 1 2", 1, 1, 2, "time went back for worker 1");
        violates("0 1 s 1; 1 1 f 1 3", 1, 1, 2, "job 1 yielded 3, not 2");
        violates("0 3 e", 2, 0, 1, "worker 3 is not one of 1..=2");
        violates("0 0 e", 2, 0, 1, "worker 0 is not one of");
        violates("0 1 s 3", 1, 2, 1, "job 3 is not one of 1..=2");
        violates("0 1 s 0", 1, 2, 1, "job 0 is not one of");
        violates("0 1 s 1; 1 1 e", 1, 1, 2, "exited while running");
        violates("0 1 s 1; 1 1 f 1 2; 2 1 e", 1, 2, 0, "job 2 never started");
        violates("0 1 s 1; 0 2 e", 2, 1, 1, "job 1 started on worker 1 never ended");
    }

    #[test]
    fn a_reclaimed_job_runs_again_and_its_dead_worker_need_not_exit() {
        // Worker 1 dies running job 1; worker 2 takes it over.
        let good = "0 1 s 1; 1 2 s 2; 2 2 f 2 4; 9 2 r 1 1; 9 2 s 1; 10 2 f 1 2; 11 2 e";
        assert_eq!(run(&log(good), 2, 2).unwrap(), Summary::expected(2, 2, true));
        // Worker 1 died after taking job 1 but before its start was logged.
        assert!(run(&log("0 2 r 1 1; 1 2 s 1; 2 2 f 1 2; 3 2 e"), 2, 1).is_ok());
        // Worker 1 was only stalled: it comes back, runs another job, exits.
        let stalled = "0 1 s 1; 5 2 r 1 1; 5 2 s 1; 6 2 f 1 2; 7 1 s 2; 8 1 f 2 4; 9 1 e; 9 2 e";
        assert!(run(&log(stalled), 2, 2).is_ok());
        // Taken over twice.
        assert!(run(&log("0 1 s 1; 5 2 r 1 1; 5 2 s 1; 9 3 r 1 2; 9 3 s 1; 10 3 f 1 2; 11 3 e"), 3, 1).is_ok());
    }

    #[test]
    fn reclaim_rules_name_the_line() {
        violates("0 1 s 1; 1 1 f 1 2; 2 2 r 1 1; 3 1 e; 3 2 e", 2, 1, 3, "job 1 reclaimed after it ended");
        violates("0 1 s 1; 1 3 r 1 2; 2 3 s 1", 3, 1, 2, "reclaimed from worker 2 but runs on worker 1");
        violates("0 1 s 1; 1 1 r 1 1", 2, 1, 2, "reclaimed job 1 from itself");
        violates("0 1 s 1; 0 2 s 2; 1 2 r 1 1", 2, 2, 3, "worker 2 reclaimed job 1 while running job 2");
        violates("0 1 e; 1 2 r 1 1", 2, 1, 2, "which had exited");
        violates("0 1 s 1; 1 2 r 1 3", 2, 1, 2, "worker 3 is not one of 1..=2");
        violates("0 1 s 1; 1 2 r 1 1; 2 2 e", 2, 1, 0, "job 1 never started");
        // Only a worker something was reclaimed from may end without exiting.
        violates("0 1 s 1; 1 2 r 1 1; 2 2 s 1; 3 2 f 1 2; 4 2 e", 3, 1, 0, "worker 3 never exited");
        // The dead worker's job must not have been restarted on it.
        violates("0 1 s 1; 1 2 r 1 1; 2 1 s 1; 3 2 e", 2, 1, 3, "job 1 started on worker 1 never ended");
    }

    #[test]
    fn time_is_per_worker() {
        // Worker 2's clock may be behind worker 1's: lines from two buffers.
        assert!(run(&log("9 1 s 1; 2 2 s 2; 10 1 f 1 2; 3 2 f 2 4; 11 1 e; 4 2 e"), 2, 2).is_ok());
    }

    #[test]
    fn partial_logs_allow_unstarted_jobs_only() {
        let records = Format::Jsonl.parse(&log("0 1 s 2; 1 1 f 2 4; 2 1 e")).unwrap();
        let summary = check(&records, 1, 3, Completeness::Partial).unwrap();
        assert_eq!(
            summary.jobs,
            vec![LoggedOutcome::NotStarted, LoggedOutcome::Finished(Some(4)), LoggedOutcome::NotStarted]
        );
        let records = Format::Jsonl.parse(&log("0 1 s 2; 2 1 e")).unwrap();
        assert!(check(&records, 1, 3, Completeness::Partial).is_err());
    }

    #[test]
    fn text_logs_check_without_results_or_time() {
        let text = "worker 1 started  job 1\nworker 2 exiting\nworker 1 finished job 1\nworker 1 exiting\n";
        let records = Format::Text.parse(text).unwrap();
        assert_eq!(check(&records, 2, 1, Completeness::Complete).unwrap(), Summary::expected(2, 1, false));
    }

    #[test]
    fn first_difference_names_the_job() {
        let a = Summary::expected(2, 3, true);
        let mut b = a.clone();
        assert_eq!(a.first_difference(&b), None);
        b.jobs[1] = LoggedOutcome::Failed("x".into());
        assert_eq!(a.first_difference(&b).unwrap(), "job 2: finished with 4 vs failed: x");
        assert_eq!(a.first_difference(&Summary::expected(3, 3, true)).unwrap(), "2 workers vs 3");
        assert_eq!(a.first_difference(&Summary::expected(2, 2, true)).unwrap(), "3 jobs vs 2");
    }
}
