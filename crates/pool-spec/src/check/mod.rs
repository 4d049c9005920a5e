//! The trace checker: judges a parsed log against the rules every correct
//! pool obeys, and reduces it to a canonical [`Summary`] — what "the same
//! output" means across backends, whatever order their lines came in. Its
//! memory grows with the log, never with the run's `-j` or `-w` alone.

mod canonical;
mod table;

use std::fmt;
use std::time::Duration;

pub use canonical::{LoggedOutcome, Summary};
use table::Table;

use crate::{Event, JobId, Kind, Record, RunSpec, Work, WorkerId};

/// How much shorter than its planned wait a `sleep` job may look in the log:
/// a sleep never ends early, so this covers only the microsecond rounding of
/// the timestamps and clock granularity. A skipped sleep of more than this
/// is caught.
pub const SLEEP_SLACK: Duration = Duration::from_millis(1);

/// A `spin` job may take as little as `1 / SPIN_DIVISOR` of its planned time,
/// less [`SLEEP_SLACK`]: the spin loop is calibrated once per process, and a
/// core that speeds up after calibration (turbo, a quiet neighbour) runs it
/// faster. Generous on purpose: it catches a spin that was skipped, not one
/// that ran fast.
pub const SPIN_DIVISOR: u32 = 4;

/// How much planned work a worker may still start after another worker has
/// exited, beyond the one job it may already have taken: a worker that
/// claims jobs in chunks (the tuned flavor) holds at most about this much
/// unstarted when the queue runs dry.
pub const HOLD: Duration = Duration::from_millis(1);

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

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum JobState {
    #[default]
    Unseen,
    Running {
        worker: WorkerId,
        line: usize,
    },
    Ended,
}

/// What the checker holds of one job.
#[derive(Clone, Copy, Default)]
struct JobEntry {
    state: JobState,
    /// `t_us` of its start.
    started_at: u64,
    /// It was reclaimed from a worker at least once.
    reclaimed: bool,
}

/// What the checker holds of one worker.
#[derive(Clone, Copy, Default)]
struct WorkerEntry {
    running: Option<JobId>,
    exited: bool,
    /// The line of the last reclaim from it (0: none), and of its last
    /// event: a missing exit is excused only for a worker that logged
    /// nothing after a job was taken from it (it is gone).
    reclaimed_from: usize,
    last_line: usize,
    last_t: u64,
}

/// Judges `log` (records in line order) of `run`: a run of `run.workers`
/// workers over jobs `1..=run.jobs` doing `run.work()`. The rules:
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
///
/// With timestamps (JSON lines), also:
///
/// - the work was done: a finished job's service time (`t_us` of `finished`
///   less `t_us` of `started`) is no shorter than its planned sleep less
///   [`SLEEP_SLACK`], or than its planned spin divided by [`SPIN_DIVISOR`]
///   less [`SLEEP_SLACK`];
/// - with jobs arriving over time (`RunSpec::arrival`), no job starts
///   before its arrival (JSON lines: `t_us` of `started` no earlier than
///   the arrival, to the microsecond, both on the run's clock);
/// - workers leave only when no work is left (complete runs): in time order,
///   once any worker has exited, each other worker starts at most the one
///   job it had already taken, and beyond it at most [`HOLD`] of planned
///   work (a chunk). A job started again after a reclaim is exempt. (Not
///   "no start at all after an exit": a worker stamps `started` just after
///   taking the job, so a start may be stamped after another worker saw the
///   queue empty and exited.) Not for a distributed run: its workers are
///   processes an operator may stop one by one (a worker stopped by a
///   signal exits while others go on), and its coordinator tells them to
///   exit only once every job has ended.
pub fn check(log: &[Record], run: &RunSpec, completeness: Completeness) -> Result<Summary, Violation> {
    let (workers, jobs) = (run.workers, run.jobs);
    let work = run.work();
    let arrivals = run.arrival.map(|a| a.schedule(jobs, run.seed));
    let mut job_table: Table<JobEntry> = Table::new(jobs, log.len());
    let mut worker_table: Table<WorkerEntry> = Table::new(u64::from(workers), log.len());
    let mut outcomes = Vec::new();
    let mut in_flight = 0u64;

    for record in log {
        let fail = |message: String| Violation { line: record.line, message };
        let w = record.worker;
        if w.0 == 0 || w.0 > workers {
            return Err(fail(format!("worker {w} is not one of 1..={workers}")));
        }
        let mut me = worker_table.get(u64::from(w.0));
        if me.exited {
            return Err(fail(format!("event from worker {w} after it exited")));
        }
        me.last_line = record.line;
        if let Some(t) = record.t_us {
            if t < me.last_t {
                return Err(fail(format!("time went back for worker {w}: {t} µs after {} µs", me.last_t)));
            }
            me.last_t = t;
        }
        let known = |job: JobId| {
            if job.0 == 0 || job.0 > jobs {
                Err(fail(format!("job {job} is not one of 1..={jobs}")))
            } else {
                Ok(job.0)
            }
        };
        match &record.event {
            Event::Started { job } => {
                let entry = job_table.get_mut(known(*job)?);
                if entry.state != JobState::Unseen {
                    return Err(fail(format!("job {job} started a second time")));
                }
                if let Some(other) = me.running {
                    return Err(fail(format!("worker {w} started job {job} while running job {other}")));
                }
                in_flight += 1;
                if in_flight > u64::from(workers) {
                    return Err(fail(format!("{in_flight} jobs in flight, more than {workers} workers")));
                }
                if let (Some(schedule), Some(t)) = (&arrivals, record.t_us) {
                    let arrives = schedule.at(*job).map_or(0, |at| at.as_micros() as u64);
                    if t < arrives {
                        return Err(fail(format!("job {job} started at {t} µs, before it arrived at {arrives} µs")));
                    }
                }
                entry.state = JobState::Running { worker: w, line: record.line };
                entry.started_at = record.t_us.unwrap_or_default();
                me.running = Some(*job);
            }
            Event::Finished { job, .. } | Event::Failed { job, .. } => {
                let entry = job_table.get_mut(known(*job)?);
                match entry.state {
                    JobState::Unseen => return Err(fail(format!("job {job} ended but never started"))),
                    JobState::Ended => return Err(fail(format!("job {job} ended a second time"))),
                    JobState::Running { worker, .. } if worker != w => {
                        return Err(fail(format!("job {job} started on worker {worker} but ended on worker {w}")));
                    }
                    JobState::Running { .. } => {}
                }
                if let (Event::Finished { .. }, Some(t)) = (&record.event, record.t_us) {
                    let took = Duration::from_micros(t.saturating_sub(entry.started_at));
                    if let Some(rule) = too_short(&work, *job, took) {
                        return Err(fail(rule));
                    }
                }
                let outcome = match &record.event {
                    Event::Finished { result: Some(r), .. } if *r != job.expected_result() => {
                        return Err(fail(format!("job {job} yielded {r}, not {}", job.expected_result())));
                    }
                    Event::Finished { result, .. } => LoggedOutcome::Finished(*result),
                    Event::Failed { error, .. } => LoggedOutcome::Failed(error.clone()),
                    _ => unreachable!(),
                };
                entry.state = JobState::Ended;
                outcomes.push((*job, outcome));
                me.running = None;
                in_flight -= 1;
            }
            Event::Exiting => {
                if let Some(job) = me.running {
                    return Err(fail(format!("worker {w} exited while running job {job}")));
                }
                me.exited = true;
            }
            Event::Reclaimed { job, from } => {
                if !run.reclaims {
                    return Err(fail(format!(
                        "worker {w} reclaimed job {job}, but only a distributed run's workers (pool-redis \
                         --remote-workers) reclaim jobs"
                    )));
                }
                let j = known(*job)?;
                if from.0 == 0 || from.0 > workers {
                    return Err(fail(format!("worker {from} is not one of 1..={workers}")));
                }
                if *from == w {
                    return Err(fail(format!("worker {w} reclaimed job {job} from itself")));
                }
                if let Some(other) = me.running {
                    return Err(fail(format!("worker {w} reclaimed job {job} while running job {other}")));
                }
                let gone = worker_table.get_mut(u64::from(from.0));
                if gone.exited {
                    return Err(fail(format!("job {job} reclaimed from worker {from}, which had exited")));
                }
                let entry = job_table.get_mut(j);
                match entry.state {
                    JobState::Ended => return Err(fail(format!("job {job} reclaimed after it ended"))),
                    JobState::Running { worker, .. } if worker != *from => {
                        return Err(fail(format!(
                            "job {job} reclaimed from worker {from} but runs on worker {worker}"
                        )));
                    }
                    JobState::Running { .. } => {
                        gone.running = None;
                        in_flight -= 1;
                    }
                    // Worker `from` took the job but died before its start
                    // reached the log.
                    JobState::Unseen => {}
                }
                entry.state = JobState::Unseen;
                entry.reclaimed = true;
                gone.reclaimed_from = record.line;
            }
        }
        *worker_table.get_mut(u64::from(w.0)) = me;
    }

    let at_end = |message: String| Violation { line: 0, message };
    let running = |e: &JobEntry| matches!(e.state, JobState::Running { .. });
    if let Some(j) = job_table.lowest(jobs, running) {
        let JobState::Running { worker, line } = job_table.get(j).state else { unreachable!() };
        return Err(Violation { line, message: format!("job {j} started on worker {worker} never ended") });
    }
    if completeness == Completeness::Complete {
        if let Some(j) = job_table.lowest(jobs, |e| e.state == JobState::Unseen) {
            return Err(at_end(format!("job {j} never started")));
        }
    }
    let not_gone = |w: &WorkerEntry| !w.exited && w.reclaimed_from <= w.last_line;
    if let Some(w) = worker_table.lowest(u64::from(workers), not_gone) {
        let why = if worker_table.get(w).reclaimed_from > 0 {
            " (it logged more after its job was reclaimed: not gone)"
        } else {
            ""
        };
        return Err(at_end(format!("worker {w} never exited{why}")));
    }
    if completeness == Completeness::Complete && !run.reclaims {
        no_work_left_at_an_exit(log, &work, |job| job_table.get(job.0).reclaimed)?;
    }
    Ok(Summary::from_unordered(workers, jobs, outcomes))
}

/// The work rule: `None` if `job`, which took `took` from start to finish,
/// may have done its planned work, or the rule it breaks.
fn too_short(work: &Work, job: JobId, took: Duration) -> Option<String> {
    let planned = work.duration(job);
    let (what, least) = match work.spec().kind {
        Kind::Noop => return None,
        Kind::Sleep => ("sleep", planned.checked_sub(SLEEP_SLACK)?),
        Kind::Spin => ("spin", (planned / SPIN_DIVISOR).checked_sub(SLEEP_SLACK)?),
    };
    (took < least).then(|| {
        format!(
            "job {job} took {} µs from start to finish, too short for its planned {what} of {} µs (at least {} µs)",
            took.as_micros(),
            planned.as_micros(),
            least.as_micros()
        )
    })
}

/// Started and exiting records in time order (exits after starts stamped
/// the same microsecond), or `None` for a log without timestamps.
fn starts_and_exits(log: &[Record]) -> Option<Vec<&Record>> {
    let mut events = Vec::new();
    for r in log {
        let rank = match r.event {
            Event::Started { .. } => 0,
            Event::Exiting => 1,
            _ => continue,
        };
        events.push((r.t_us?, rank, r.line, r));
    }
    events.sort_unstable_by_key(|&(t, rank, line, _)| (t, rank, line));
    Some(events.into_iter().map(|(.., r)| r).collect())
}

/// The rule that workers leave only when no work is left (see [`check`]).
fn no_work_left_at_an_exit(log: &[Record], work: &Work, reclaimed: impl Fn(JobId) -> bool) -> Result<(), Violation> {
    let Some(events) = starts_and_exits(log) else { return Ok(()) };
    let mut first_exit: Option<&Record> = None;
    // Per worker seen since the first exit: jobs started since, and their
    // planned work beyond the first.
    let mut since: std::collections::HashMap<WorkerId, (u32, Duration)> = std::collections::HashMap::new();
    for r in events {
        match (&r.event, first_exit) {
            (Event::Exiting, None) => first_exit = Some(r),
            (Event::Started { job }, Some(exit)) if !reclaimed(*job) => {
                let held = since.entry(r.worker).or_default();
                held.0 += 1;
                if held.0 > 1 {
                    held.1 += work.duration(*job);
                }
                if held.1 > HOLD {
                    return Err(Violation {
                        line: r.line,
                        message: format!(
                            "worker {} started job {job} at {} µs, its job number {} since worker {} exited at {} µs \
                             (line {}): a worker exits only when no job is left",
                            r.worker,
                            r.t_us.unwrap_or_default(),
                            held.0,
                            exit.worker,
                            exit.t_us.unwrap_or_default(),
                            exit.line
                        ),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The most jobs the log shows running at once, in time order (a job that
/// ends the same microsecond another starts does not overlap it); `None`
/// for a log without timestamps. A pool of W workers given W long jobs at
/// once must show W.
pub fn max_in_flight(log: &[Record]) -> Option<usize> {
    let mut events = Vec::with_capacity(log.len());
    for r in log {
        let (rank, job) = match r.event {
            Event::Finished { job, .. } | Event::Failed { job, .. } | Event::Reclaimed { job, .. } => (0, job),
            Event::Started { job } => (1, job),
            Event::Exiting => continue,
        };
        events.push((r.t_us?, rank, r.line, job));
    }
    events.sort_unstable();
    let mut running = std::collections::HashSet::new();
    let mut most = 0;
    for (_, rank, _, job) in events {
        if rank == 1 {
            running.insert(job);
            most = most.max(running.len());
        } else {
            running.remove(&job);
        }
    }
    Some(most)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;

    fn noop(workers: u32, jobs: u64) -> RunSpec {
        RunSpec::new(workers, jobs, "noop".parse().unwrap())
    }

    /// Checks a log of a distributed run (reclaims allowed); see `local`.
    fn run(log: &str, workers: u32, jobs: u64) -> Result<Summary, Violation> {
        let records = Format::Jsonl.parse(log).expect("test log parses");
        check(&records, &noop(workers, jobs).distributed(), Completeness::Complete)
    }

    /// Checks a log of an in-process run, whose workers never reclaim.
    fn local(log: &str, workers: u32, jobs: u64) -> Result<Summary, Violation> {
        let records = Format::Jsonl.parse(log).expect("test log parses");
        check(&records, &noop(workers, jobs), Completeness::Complete)
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
        let outcomes: Vec<_> = (1..=3).map(|j| summary.outcome(JobId(j)).clone()).collect();
        assert_eq!(
            outcomes,
            [LoggedOutcome::Finished(Some(2)), LoggedOutcome::Finished(Some(4)), LoggedOutcome::Failed("boom".into())]
        );
        assert_eq!(summary.counts(), (2, 1, 0));
        assert_eq!(summary.workers, 3);
    }

    /// With arrivals (uniform at 1,000 a second: job j at (j - 1) ms), a
    /// job may start at its arrival or later, not a microsecond before.
    #[test]
    fn no_job_starts_before_it_arrives() {
        let arriving = noop(1, 3).arrival(crate::Arrival::Uniform { rate: 1000.0 });
        let judge =
            |compact: &str| check(&Format::Jsonl.parse(&log(compact)).unwrap(), &arriving, Completeness::Complete);
        assert!(judge("0 1 s 1; 0 1 f 1 2; 1000 1 s 2; 1000 1 f 2 4; 2500 1 s 3; 2500 1 f 3 6; 2600 1 e").is_ok());
        let early = judge("0 1 s 1; 0 1 f 1 2; 1000 1 s 2; 1000 1 f 2 4; 1999 1 s 3; 2000 1 f 3 6; 2600 1 e");
        let err = early.unwrap_err();
        assert_eq!(err.line, 5, "{err}");
        assert!(err.message.contains("job 3 started at 1999 µs, before it arrived at 2000 µs"), "{err}");
        assert!(local(&log("0 1 s 1; 0 1 f 1 2; 0 1 s 2; 0 1 f 2 4; 0 1 e"), 1, 2).is_ok(), "no arrivals, no rule");
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

    /// A made-up reclaim: worker 1 never started job 1 and never exits,
    /// worker 2 says it took the job over. Refused in any run but a
    /// distributed one; and there, a worker that logs again after its job
    /// was taken over is alive and must exit.
    #[test]
    fn a_made_up_reclaim_excuses_nothing() {
        let made_up = "0 2 r 1 1; 1 2 s 1; 2 2 f 1 2; 3 2 e";
        let err = local(&log(made_up), 2, 1).expect_err("a reclaim in an in-process run");
        assert_eq!(err.line, 1, "{err}");
        assert!(err.message.contains("only a distributed run"), "{err}");
        let alive = "0 1 s 1; 1 2 r 1 1; 2 2 s 1; 3 2 f 1 2; 4 1 s 2; 5 1 f 2 4; 6 2 e";
        violates(alive, 2, 2, 0, "worker 1 never exited (it logged more after its job was reclaimed");
        assert!(run(&log(&format!("{alive}; 7 1 e")), 2, 2).is_ok(), "and once it exits, all is well");
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
        let summary = check(&records, &noop(1, 3), Completeness::Partial).unwrap();
        let outcomes: Vec<_> = (1..=3).map(|j| summary.outcome(JobId(j)).clone()).collect();
        assert_eq!(outcomes, [LoggedOutcome::NotStarted, LoggedOutcome::Finished(Some(4)), LoggedOutcome::NotStarted]);
        let records = Format::Jsonl.parse(&log("0 1 s 2; 2 1 e")).unwrap();
        assert!(check(&records, &noop(1, 3), Completeness::Partial).is_err());
    }

    #[test]
    fn text_logs_check_without_results_or_time() {
        let text = "worker 1 started  job 1\nworker 2 exiting\nworker 1 finished job 1\nworker 1 exiting\n";
        let records = Format::Text.parse(text).unwrap();
        assert_eq!(check(&records, &noop(2, 1), Completeness::Complete).unwrap(), Summary::expected(2, 1, false));
    }

    fn with_work(log_text: &str, workers: u32, jobs: u64, work: &str) -> Result<Summary, Violation> {
        let records = Format::Jsonl.parse(&log(log_text)).expect("test log parses");
        check(&records, &RunSpec::new(workers, jobs, work.parse().unwrap()), Completeness::Complete)
    }

    #[test]
    fn a_job_that_skips_its_sleep_is_caught() {
        // A 1 s sleep that ended 1 µs after it began.
        let err = with_work("0 1 s 1; 1 1 f 1 2; 2 1 e", 1, 1, "sleep:1s").unwrap_err();
        assert_eq!(err.line, 2);
        assert_eq!(
            err.message,
            "job 1 took 1 µs from start to finish, too short for its planned sleep of 1000000 µs (at least 999000 µs)"
        );
        assert!(with_work("0 1 s 1; 1000000 1 f 1 2; 1000001 1 e", 1, 1, "sleep:1s").is_ok());
        // The slack is 1 ms, no more.
        assert!(with_work("0 1 s 1; 999000 1 f 1 2; 1000001 1 e", 1, 1, "sleep:1s").is_ok());
        assert!(with_work("0 1 s 1; 998999 1 f 1 2; 1000001 1 e", 1, 1, "sleep:1s").is_err());
        // Text logs have no time: nothing to judge.
        let text = "worker 1 started  job 1\nworker 1 finished job 1\nworker 1 exiting\n";
        let records = Format::Text.parse(text).unwrap();
        let spec = RunSpec::new(1, 1, "sleep:1s".parse().unwrap());
        assert!(check(&records, &spec, Completeness::Complete).is_ok());
    }

    #[test]
    fn a_spin_may_run_fast_but_not_be_skipped() {
        // spin:20ms: at least a quarter, less 1 ms: 4 ms.
        assert!(with_work("0 1 s 1; 4000 1 f 1 2; 4001 1 e", 1, 1, "spin:20ms").is_ok());
        let err = with_work("0 1 s 1; 3999 1 f 1 2; 4001 1 e", 1, 1, "spin:20ms").unwrap_err();
        assert!(err.message.contains("too short for its planned spin of 20000 µs (at least 4000 µs)"), "{err}");
        // Short spins are not judged: calibration is too rough for them.
        assert!(with_work("0 1 s 1; 0 1 f 1 2; 1 1 e", 1, 1, "spin:4ms").is_ok());
        // A failed job is not judged: it may have panicked before its work.
        assert!(with_work("0 1 s 1; 1 1 x 1; 2 1 e", 1, 1, "sleep:1s").is_ok());
    }

    #[test]
    fn ranged_work_is_judged_job_by_job_from_the_seed() {
        let spec = RunSpec::new(1, 2, "sleep:10ms..20ms".parse().unwrap()).seed(3);
        let planned: Vec<u64> = (1..=2).map(|j| spec.work().duration(JobId(j)).as_micros() as u64).collect();
        let (a, b) = (planned[0], planned[1]);
        let good = log(&format!("0 1 s 1; {a} 1 f 1 2; {a} 1 s 2; {} 1 f 2 4; {} 1 e", a + b, a + b));
        assert!(check(&Format::Jsonl.parse(&good).unwrap(), &spec, Completeness::Complete).is_ok());
        let short = log(&format!("0 1 s 1; {a} 1 f 1 2; {a} 1 s 2; {} 1 f 2 4; {} 1 e", a + b - 1001, a + b));
        let err = check(&Format::Jsonl.parse(&short).unwrap(), &spec, Completeness::Complete).unwrap_err();
        assert_eq!(err.line, 4, "{err}");
    }

    #[test]
    fn a_worker_that_exits_while_jobs_remain_is_caught() {
        // Worker 2 exits at once; worker 1 runs every job.
        let early = "0 2 e; 1 1 s 1; 10001 1 f 1 2; 10002 1 s 2; 20002 1 f 2 4; 20003 1 s 3; 30003 1 f 3 6; 30004 1 e";
        let err = with_work(early, 2, 3, "sleep:10ms").unwrap_err();
        assert_eq!(err.line, 4, "{err}");
        assert_eq!(
            err.message,
            "worker 1 started job 2 at 10002 µs, its job number 2 since worker 2 exited at 0 µs (line 1): \
             a worker exits only when no job is left"
        );
        // In time order, whatever the line order: worker 2's line came last.
        let late_line =
            "1 1 s 1; 10001 1 f 1 2; 10002 1 s 2; 20002 1 f 2 4; 20003 1 s 3; 30003 1 f 3 6; 30004 1 e; 0 2 e";
        assert_eq!(with_work(late_line, 2, 3, "sleep:10ms").unwrap_err().line, 3);
        // A cancelled run's workers leave with jobs left: not judged.
        let records = Format::Jsonl.parse(&log(early)).unwrap();
        let spec = RunSpec::new(2, 3, "sleep:10ms".parse().unwrap());
        assert!(check(&records, &spec, Completeness::Partial).is_ok());
        // A distributed run's worker may leave early (an operator stopped it).
        let summary = check(&records, &spec.distributed(), Completeness::Complete).expect("a worker stopped early");
        assert_eq!(summary, Summary::expected(2, 3, true));
    }

    #[test]
    fn a_start_stamped_just_after_an_exit_is_the_job_already_taken() {
        // Worker 1 took job 3 before the queue ran dry, and stamped its start
        // after worker 2 exited: allowed, once per worker.
        let race = "0 1 s 1; 0 2 s 2; 10000 1 f 1 2; 10000 2 f 2 4; 10005 1 s 3; 10001 2 e; 20005 1 f 3 6; 20006 1 e";
        assert!(with_work(race, 2, 3, "sleep:10ms").is_ok());
        // A chunk of short jobs held when the queue ran dry: allowed up to
        // HOLD (1 ms) of planned work beyond the first job.
        let chunk = |jobs: u64| {
            let mut events = vec!["0 2 e".to_owned()];
            for j in 1..=jobs {
                events.push(format!("{} 1 s {j}; {} 1 f {j} {}", 100 * j, 100 * j + 100, 2 * j));
            }
            events.push(format!("{} 1 e", 100 * jobs + 100));
            with_work(&events.join("; "), 2, jobs, "spin:100us")
        };
        assert!(chunk(11).is_ok(), "{:?}", chunk(11));
        assert_eq!(chunk(12).unwrap_err().line, 24);
    }

    #[test]
    fn max_in_flight_counts_overlap_in_time_order() {
        let parse = |l: &str| Format::Jsonl.parse(&log(l)).unwrap();
        let overlap = parse("0 1 s 1; 1 2 s 2; 5 1 f 1 2; 6 2 f 2 4; 7 1 e; 7 2 e");
        assert_eq!(max_in_flight(&overlap), Some(2));
        // Back to back: one ends the microsecond the other starts.
        let serial = parse("0 1 s 1; 5 1 f 1 2; 5 2 s 2; 9 2 f 2 4; 9 1 e; 9 2 e");
        assert_eq!(max_in_flight(&serial), Some(1));
        // Line order does not matter.
        let shuffled = parse("1 2 s 2; 6 2 f 2 4; 7 2 e; 0 1 s 1; 5 1 f 1 2; 7 1 e");
        assert_eq!(max_in_flight(&shuffled), Some(2));
        let text = Format::Text.parse("worker 1 started  job 1\nworker 1 finished job 1\nworker 1 exiting\n").unwrap();
        assert_eq!(max_in_flight(&text), None);
    }
}
