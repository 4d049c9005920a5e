//! Verify before timing: every backend runs a suite of workloads as a
//! subprocess, each log is judged by pool-spec's trace checker, and every
//! canonical summary must equal the expected one (so all are equal to each
//! other). The one-worker run must print the seed's text to the byte. A
//! backend that fails any case is reported and benchmarked no further.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use pool_spec::{Completeness, Format, RunSpec, Summary, check, max_in_flight};
use serde::Serialize;

use crate::child::{self, Exit};
use crate::program::Program;

/// One workload of the verification suite.
#[derive(Clone, Debug)]
pub struct Case {
    /// Short name.
    pub name: &'static str,
    /// What it exercises.
    pub about: &'static str,
    /// The run: flags, expected summary and exit status.
    pub run: RunSpec,
    /// Whether the log must show every worker running a job at once (W
    /// workers given W long jobs): a pool that runs one job at a time fails.
    pub needs_overlap: bool,
}

/// The suite. The seed runs once: it takes 2 s. The sequential baseline runs
/// only the one-worker cases (it runs every job on one worker by design).
pub fn suite() -> Vec<Case> {
    let case = |name, about, workers, jobs, work: &str| Case {
        name,
        about,
        run: RunSpec::new(workers, jobs, work.parse().expect("the suite's specs parse")).format(Some(Format::Jsonl)),
        needs_overlap: false,
    };
    let with = |mut c: Case, change: &dyn Fn(RunSpec) -> RunSpec| {
        c.run = change(c.run);
        c
    };
    vec![
        case("seed", "the seed: 3 workers, 5 jobs of sleep:1s", 3, 5, "sleep:1s"),
        with(case("one-worker", "1 worker: text output byte-identical", 1, 50, "spin:1us..200us"), &|r| {
            r.format(Some(Format::Text))
        }),
        with(case("one-worker-failure", "1 worker: JSON lines, job 5 panics", 1, 2_000, "spin:0us..50us"), &|r| {
            r.panics([5])
        }),
        case("more-workers", "more workers than jobs", 8, 3, "spin:2ms"),
        case("zero-jobs", "zero jobs: every worker still exits", 4, 0, "noop"),
        case("skewed", "skewed spin:10us~5ms (log-uniform)", 3, 60, "spin:10us~5ms"),
        with(case("bounded", "bounded queue (--queue 2)", 3, 300, "spin:1us..50us"), &|r| r.queue(2)),
        case("tiny-jobs", "many tiny jobs (100,000 noop)", 4, 100_000, "noop"),
        with(case("failures", "jobs 3 and 7 panic: failed, not lost", 2, 10, "noop"), &|r| r.panics([3, 7])),
        Case {
            needs_overlap: true,
            ..case("concurrency", "4 workers, 4 jobs of sleep:200ms: all 4 at once", 4, 4, "sleep:200ms")
        },
    ]
}

/// The verification case of a cell of the user's own (`--cell`): that very
/// workload, logged, judged like every case before the cell is timed.
pub fn custom_case(run: &RunSpec) -> Case {
    let arriving = run.arrival.map_or(String::new(), |a| format!(" arriving {a}"));
    let name = format!("custom {}×{} {}{arriving}", run.workers, run.jobs, run.work);
    Case {
        name: Box::leak(name.into_boxed_str()),
        about: "a cell of your own (--cell), before it is timed",
        run: run.clone().format(Some(Format::Jsonl)),
        needs_overlap: false,
    }
}

impl Case {
    /// Whether `program` runs this case: the sequential baseline runs only
    /// the one-worker cases.
    pub fn runs_on(&self, program: Program) -> bool {
        !program.is_baseline() || self.run.workers == 1
    }

    /// The exact text a one-worker text run prints, job after job, then the
    /// exit — written out here, not by the formatter the backends use.
    pub fn expected_text(&self) -> Option<String> {
        let r = &self.run;
        if r.format != Some(Format::Text) || r.workers != 1 || !r.panic_on.is_empty() {
            return None;
        }
        let mut text = String::new();
        for j in 1..=r.jobs {
            text += &format!("worker 1 started  job {j}\nworker 1 finished job {j}\n");
        }
        Some(text + "worker 1 exiting\n")
    }
}

/// A backend that did not do the same work: which, on what, and how.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// The backend.
    pub backend: Program,
    /// The verification case.
    pub case: String,
    /// The first difference found.
    pub detail: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed verification on workload '{}': {}", self.backend, self.case, self.detail)
    }
}

/// Judges one backend's run of `case` from its exit and stdout; returns the
/// first difference from a correct run.
pub fn judge(case: &Case, backend: Program, exit: Exit, stdout: &[u8]) -> Result<Summary, Mismatch> {
    let fail = |detail: String| Mismatch { backend, case: case.name.to_owned(), detail };
    // Judged as the run it was given (its flavor, its workers).
    let run = &backend.given(&case.run);
    let status = i32::from(run.expected_exit());
    if exit != Exit::Code(status) {
        return Err(fail(format!("{exit}, expected exit status {status}")));
    }
    let text = std::str::from_utf8(stdout).map_err(|e| fail(format!("output is not UTF-8: {e}")))?;
    let format = run.format.expect("verification runs are logged");
    let records = format.parse(text).map_err(|e| fail(format!("log does not parse: {e}")))?;
    let summary = check(&records, run, Completeness::Complete)
        .map_err(|v| fail(format!("log breaks the checker's rules: {v}")))?;
    if let Some(diff) = run.expected().first_difference(&summary) {
        return Err(fail(format!("summary differs: expected {diff}")));
    }
    if let Some(want) = case.expected_text() {
        if let Some(diff) = first_line_difference(want.as_bytes(), stdout) {
            return Err(fail(format!("text not byte-identical to the seed's: {diff}")));
        }
    }
    if case.needs_overlap {
        let most = max_in_flight(&records).unwrap_or(0);
        if most != run.workers as usize {
            return Err(fail(format!(
                "ran at most {most} jobs at once: {} workers given {} jobs of {} must run them all at once",
                run.workers, run.jobs, run.work
            )));
        }
    }
    Ok(summary)
}

/// Where two texts first differ, by line, said as `line N: 'a' vs 'b'`.
fn first_line_difference(want: &[u8], got: &[u8]) -> Option<String> {
    if want == got {
        return None;
    }
    let want = String::from_utf8_lossy(want);
    let got = String::from_utf8_lossy(got);
    let (mut w, mut g) = (want.split_inclusive('\n'), got.split_inclusive('\n'));
    for line in 1.. {
        match (w.next(), g.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (a, b) => {
                let show = |s: Option<&str>| s.map_or("end of output".to_owned(), |s| format!("{s:?}"));
                return Some(format!("line {line}: expected {} but got {}", show(a), show(b)));
            }
        }
    }
    unreachable!("the texts differ somewhere")
}

/// What verification found, per case and backend.
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    /// The case's name.
    pub case: String,
    /// What it exercises.
    pub about: String,
    /// Per backend that ran the case: `None` when it passed, or its
    /// mismatch. A program that does not run the case has no entry.
    pub outcomes: BTreeMap<Program, Option<Mismatch>>,
}

impl CaseResult {
    /// How many programs ran the case, and how many of them passed.
    pub fn passed(&self) -> (usize, usize) {
        (self.outcomes.len(), self.outcomes.values().filter(|m| m.is_none()).count())
    }
}

/// Runs one case on every backend that runs it (see [`Case::runs_on`]),
/// side by side (verification is not timed, and the seed's sleeps overlap).
/// A program that does not run the case has no entry.
pub fn run_case(case: &Case, binaries: &BTreeMap<Program, PathBuf>, backends: &[Program]) -> CaseResult {
    let outcomes = std::thread::scope(|s| {
        let handles: Vec<_> = backends
            .iter()
            .filter(|&&b| case.runs_on(b))
            .map(|&backend| {
                let path = &binaries[&backend];
                s.spawn(move || {
                    let mut cmd = Command::new(path);
                    cmd.args(backend.given(&case.run).args());
                    let verdict = match child::run(&mut cmd, true, Duration::from_secs(120)) {
                        Ok(run) => judge(case, backend, run.exit, &run.stdout).err().map(|mut m| {
                            if run.exit != Exit::Code(i32::from(case.run.expected_exit())) {
                                m.detail += &format!(" ({})", run.last_error_line());
                            }
                            m
                        }),
                        Err(e) => Some(Mismatch { backend, case: case.name.to_owned(), detail: format!("{e:#}") }),
                    };
                    (backend, verdict)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("verification thread does not panic")).collect()
    });
    CaseResult { case: case.name.to_owned(), about: case.about.to_owned(), outcomes }
}

#[cfg(test)]
mod tests {
    use pool_spec::{Event, JobId, LoggedOutcome, WorkerId};

    use super::*;

    fn case(name: &str) -> Case {
        suite().into_iter().find(|c| c.name == name).unwrap()
    }

    fn jsonl(events: &[(u32, Event)]) -> Vec<u8> {
        let mut buf = Vec::new();
        for (t, (w, e)) in events.iter().enumerate() {
            Format::Jsonl.write(&mut buf, t as u64, WorkerId(*w), e);
        }
        buf
    }

    fn started(j: u64) -> Event {
        Event::Started { job: JobId(j) }
    }

    fn finished(j: u64, r: u64) -> Event {
        Event::Finished { job: JobId(j), result: Some(r) }
    }

    /// A correct log of `more-workers` (8 workers, 3 jobs), with a hook to
    /// doctor it.
    fn more_workers_log(doctor: impl Fn(&mut Vec<(u32, Event)>)) -> Vec<u8> {
        let mut events = vec![(1, started(1)), (2, started(2)), (3, started(3))];
        events.extend([(1, finished(1, 2)), (2, finished(2, 4)), (3, finished(3, 6))]);
        events.extend((1..=8).map(|w| (w, Event::Exiting)));
        doctor(&mut events);
        jsonl(&events)
    }

    #[test]
    fn a_correct_log_passes() {
        let c = case("more-workers");
        let summary = judge(&c, Program::known("std"), Exit::Code(0), &more_workers_log(|_| ())).unwrap();
        assert_eq!(summary, Summary::expected(8, 3, true));
    }

    #[test]
    fn a_wrong_result_is_caught_with_backend_case_and_line() {
        let c = case("more-workers");
        let log = more_workers_log(|e| e[4] = (2, finished(2, 5)));
        let m = judge(&c, Program::known("tokio"), Exit::Code(0), &log).unwrap_err();
        assert_eq!(
            m.to_string(),
            "tokio failed verification on workload 'more-workers': \
             log breaks the checker's rules: line 5: job 2 yielded 5, not 4"
        );
    }

    #[test]
    fn a_lost_job_or_worker_is_caught() {
        let c = case("more-workers");
        let log = more_workers_log(|e| e.retain(|(w, ev)| !(*w == 3 && *ev != Event::Exiting)));
        let m = judge(&c, Program::known("rayon"), Exit::Code(0), &log).unwrap_err();
        assert!(m.detail.contains("job 3 never started"), "{m}");
        let log = more_workers_log(|e| e.truncate(e.len() - 1));
        let m = judge(&c, Program::known("rayon"), Exit::Code(0), &log).unwrap_err();
        assert!(m.detail.contains("worker 8 never exited"), "{m}");
    }

    #[test]
    fn a_summary_that_differs_is_caught_by_its_first_difference() {
        // A log the checker accepts, but where job 2 failed instead of
        // finishing: the summaries differ, and the difference is named.
        let c = case("more-workers");
        let log = more_workers_log(|e| e[4] = (2, Event::Failed { job: JobId(2), error: "boom".into() }));
        let m = judge(&c, Program::known("crossbeam"), Exit::Code(0), &log).unwrap_err();
        assert_eq!(m.detail, "summary differs: expected job 2: finished with 4 vs failed: boom");
    }

    #[test]
    fn a_wrong_exit_status_is_caught() {
        let c = case("failures");
        let m = judge(&c, Program::known("std"), Exit::Code(0), b"").unwrap_err();
        assert_eq!(m.detail, "exit status 0, expected exit status 1");
    }

    #[test]
    fn one_worker_text_must_be_the_seeds_to_the_byte() {
        let c = case("one-worker");
        let text = c.expected_text().unwrap();
        assert!(text.starts_with("worker 1 started  job 1\nworker 1 finished job 1\nworker 1 started  job 2\n"));
        assert!(text.ends_with("worker 1 finished job 50\nworker 1 exiting\n"));
        assert!(judge(&c, Program::known("sequential"), Exit::Code(0), text.as_bytes()).is_ok());
        // Swap two whole jobs: the checker accepts it, the bytes do not.
        let mut lines: Vec<&str> = text.lines().collect();
        lines.swap(0, 2);
        lines.swap(1, 3);
        let doctored = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
        let m = judge(&c, Program::known("std"), Exit::Code(0), doctored.as_bytes()).unwrap_err();
        assert_eq!(
            m.detail,
            "text not byte-identical to the seed's: line 1: expected \"worker 1 started  job 1\\n\" \
             but got \"worker 1 started  job 2\\n\""
        );
    }

    #[test]
    fn failures_are_expected_with_their_message() {
        let c = case("failures");
        let s = c.run.expected();
        assert_eq!(s.outcome(pool_spec::JobId(3)), &LoggedOutcome::Failed("job 3 panicked (--panic-on)".into()));
        assert_eq!(s.counts(), (8, 2, 0));
        assert_eq!(
            c.run.args(),
            ["--workers=2", "--jobs=10", "--work=noop", "--seed=24301", "--format=jsonl", "--panic-on=3,7"]
        );
    }

    #[test]
    fn a_tuned_flavor_is_given_the_case_with_its_flavor_flag() {
        let c = case("failures");
        let tuned = Program::known("std-tuned").given(&c.run);
        assert_eq!(tuned, c.run.clone().flavor(pool_spec::Flavor::Tuned));
        assert!(tuned.args().contains(&"--flavor=tuned".to_owned()));
        assert_eq!(Program::known("std").given(&c.run), c.run);
    }

    #[test]
    fn the_sequential_baseline_runs_only_the_one_worker_cases() {
        let ran: Vec<&str> =
            suite().iter().filter(|c| c.runs_on(Program::known("sequential"))).map(|c| c.name).collect();
        assert_eq!(ran, ["one-worker", "one-worker-failure"]);
        assert!(suite().iter().all(|c| c.runs_on(Program::known("std"))));
    }

    /// A timed log of `concurrency` (4 workers, 4 jobs of 200 ms): each job
    /// `(worker, start µs)`, ending 200 ms later; then every worker exits
    /// (at its time, after any job ending then).
    fn concurrency_log(starts: [(u32, u64); 4], exits: [u64; 4]) -> Vec<u8> {
        let mut lines = Vec::new();
        for (j, (w, t)) in (1..).zip(starts) {
            lines.push((t, 0, format!(r#"{{"t_us":{t},"worker":{w},"event":"started","job":{j}}}"#)));
            let end = t + 200_000;
            lines.push((
                end,
                0,
                format!(r#"{{"t_us":{end},"worker":{w},"event":"finished","job":{j},"result":{}}}"#, 2 * j),
            ));
        }
        for (w, t) in (1..).zip(exits) {
            lines.push((t, 1, format!(r#"{{"t_us":{t},"worker":{w},"event":"exiting"}}"#)));
        }
        lines.sort();
        lines.into_iter().map(|(.., l)| l + "\n").collect::<String>().into_bytes()
    }

    #[test]
    fn the_concurrency_case_needs_every_worker_at_once() {
        let c = case("concurrency");
        let good = concurrency_log([(1, 10), (2, 20), (3, 30), (4, 40)], [200_010, 200_020, 200_030, 200_040]);
        assert!(judge(&c, Program::known("crossbeam"), Exit::Code(0), &good).is_ok());
        // Two workers at a time: a valid log, but not a pool of four.
        let halves =
            concurrency_log([(1, 0), (2, 0), (1, 200_000), (2, 200_000)], [400_000, 400_000, 400_001, 400_001]);
        let m = judge(&c, Program::known("std"), Exit::Code(0), &halves).unwrap_err();
        assert_eq!(
            m.detail,
            "ran at most 2 jobs at once: 4 workers given 4 jobs of sleep:200ms must run them all at once"
        );
    }

    #[test]
    fn a_worker_that_exits_while_jobs_remain_is_caught() {
        // Workers 2 to 4 exit at once; worker 1 runs every job.
        let c = case("concurrency");
        let early = concurrency_log([(1, 0), (1, 200_000), (1, 400_000), (1, 600_000)], [800_000, 0, 0, 0]);
        let m = judge(&c, Program::known("tokio"), Exit::Code(0), &early).unwrap_err();
        assert!(m.detail.contains("a worker exits only when no job is left"), "{m}");
    }

    #[test]
    fn a_job_that_skips_its_sleep_is_caught() {
        // The seed's 1 s jobs, each done in 5 µs.
        let c = case("seed");
        let mut events = vec![(1, started(1)), (1, finished(1, 2)), (2, started(2)), (2, finished(2, 4))];
        events.extend([(3, started(3)), (3, finished(3, 6)), (1, started(4)), (1, finished(4, 8))]);
        events.extend([(2, started(5)), (2, finished(5, 10)), (1, Event::Exiting), (2, Event::Exiting)]);
        events.push((3, Event::Exiting));
        let m = judge(&c, Program::known("rayon"), Exit::Code(0), &jsonl(&events)).unwrap_err();
        assert!(
            m.detail.contains("line 2: job 1 took 1 µs from start to finish, too short for its planned sleep"),
            "{m}"
        );
    }
}
