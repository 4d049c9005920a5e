//! Verify before timing: every backend runs a suite of workloads as a
//! subprocess, each log is judged by pool-core's trace checker, and every
//! canonical summary must equal the expected one (so all are equal to each
//! other). The one-worker run must print the seed's text to the byte. A
//! backend that fails any case is reported and benchmarked no further.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use pool_core::{Completeness, Event, Format, JobId, LoggedOutcome, Summary, WorkerId, check};
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
    /// Workers.
    pub workers: u32,
    /// Jobs.
    pub jobs: u64,
    /// Work spec.
    pub work: &'static str,
    /// Bounded queue capacity, if any.
    pub queue: Option<u32>,
    /// Jobs made to panic.
    pub panic_on: &'static [u64],
    /// Log format of the run.
    pub format: Format,
}

/// The suite. The seed runs once: it takes 2 s.
pub fn suite() -> Vec<Case> {
    let case = |name, about, workers, jobs, work| Case {
        name,
        about,
        workers,
        jobs,
        work,
        queue: None,
        panic_on: &[],
        format: Format::Jsonl,
    };
    vec![
        case("seed", "the seed: 3 workers, 5 jobs of sleep:1s", 3, 5, "sleep:1s"),
        Case {
            format: Format::Text,
            ..case("one-worker", "1 worker: text output byte-identical", 1, 50, "spin:1us..200us")
        },
        case("more-workers", "more workers than jobs", 8, 3, "spin:2ms"),
        case("zero-jobs", "zero jobs: every worker still exits", 4, 0, "noop"),
        case("skewed", "skewed spin:10us~5ms (log-uniform)", 3, 60, "spin:10us~5ms"),
        Case { queue: Some(2), ..case("bounded", "bounded queue (--queue 2)", 3, 300, "spin:1us..50us") },
        case("tiny-jobs", "many tiny jobs (100,000 noop)", 4, 100_000, "noop"),
        Case { panic_on: &[3, 7], ..case("failures", "jobs 3 and 7 panic: failed, not lost", 2, 10, "noop") },
    ]
}

impl Case {
    /// The flags of this case's run.
    pub fn args(&self, backend: Program) -> Vec<String> {
        let workers = if backend.is_baseline() { 1 } else { self.workers };
        let format = match self.format {
            Format::Text => "text",
            Format::Jsonl => "jsonl",
        };
        let mut args = vec![
            format!("--workers={workers}"),
            format!("--jobs={}", self.jobs),
            format!("--work={}", self.work),
            format!("--format={format}"),
        ];
        if let Some(q) = self.queue {
            args.push(format!("--queue={q}"));
        }
        if !self.panic_on.is_empty() {
            let ids: Vec<String> = self.panic_on.iter().map(u64::to_string).collect();
            args.push(format!("--panic-on={}", ids.join(",")));
        }
        args
    }

    /// The exit status a correct run ends with: 1 when jobs are made to fail.
    pub fn expected_exit(&self) -> i32 {
        if self.panic_on.is_empty() { 0 } else { 1 }
    }

    /// The canonical summary every backend's log must reduce to.
    pub fn expected(&self, workers: u32) -> Summary {
        let mut summary = Summary::expected(workers, self.jobs, self.format == Format::Jsonl);
        for &j in self.panic_on {
            summary.jobs[j as usize - 1] = LoggedOutcome::Failed(format!("job {j} panicked (--panic-on)"));
        }
        summary
    }

    /// The exact text a one-worker run prints: job after job, then the exit.
    pub fn expected_text(&self) -> Option<Vec<u8>> {
        if self.format != Format::Text || self.workers != 1 || !self.panic_on.is_empty() {
            return None;
        }
        let mut text = Vec::new();
        let w = WorkerId(1);
        for j in (1..=self.jobs).map(JobId) {
            Format::Text.write(&mut text, 0, w, &Event::Started { job: j });
            Format::Text.write(&mut text, 0, w, &Event::Finished { job: j, result: None });
        }
        Format::Text.write(&mut text, 0, w, &Event::Exiting);
        Some(text)
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
    if exit != Exit::Code(case.expected_exit()) {
        return Err(fail(format!("{exit}, expected exit status {}", case.expected_exit())));
    }
    let text = std::str::from_utf8(stdout).map_err(|e| fail(format!("output is not UTF-8: {e}")))?;
    let records = case.format.parse(text).map_err(|e| fail(format!("log does not parse: {e}")))?;
    let workers = if backend.is_baseline() { 1 } else { case.workers };
    let summary = check(&records, workers, case.jobs, Completeness::Complete)
        .map_err(|v| fail(format!("log breaks the checker's rules: {v}")))?;
    if let Some(diff) = case.expected(workers).first_difference(&summary) {
        return Err(fail(format!("summary differs: expected {diff}")));
    }
    if let Some(want) = case.expected_text() {
        if let Some(diff) = first_line_difference(&want, stdout) {
            return Err(fail(format!("text not byte-identical to the seed's: {diff}")));
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
    /// Per backend: `None` when it passed, or its mismatch.
    pub outcomes: BTreeMap<Program, Option<Mismatch>>,
}

/// Runs one case on every backend, side by side (verification is not
/// timed, and the seed's sleeps overlap).
pub fn run_case(case: &Case, binaries: &BTreeMap<Program, PathBuf>, backends: &[Program]) -> CaseResult {
    let outcomes = std::thread::scope(|s| {
        let handles: Vec<_> = backends
            .iter()
            .map(|&backend| {
                let path = &binaries[&backend];
                s.spawn(move || {
                    let mut cmd = Command::new(path);
                    cmd.args(backend.entry().args).args(case.args(backend));
                    let verdict = match child::run(&mut cmd, true, Duration::from_secs(120)) {
                        Ok(run) => judge(case, backend, run.exit, &run.stdout).err().map(|mut m| {
                            if run.exit != Exit::Code(case.expected_exit()) {
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
        let want = c.expected_text().unwrap();
        assert!(judge(&c, Program::known("sequential"), Exit::Code(0), &want).is_ok());
        // Swap two whole jobs: the checker accepts it, the bytes do not.
        let text = String::from_utf8(want).unwrap();
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
        let s = c.expected(2);
        assert_eq!(s.jobs[2], LoggedOutcome::Failed("job 3 panicked (--panic-on)".into()));
        assert_eq!(s.counts(), (8, 2, 0));
        assert!(c.args(Program::known("sequential")).contains(&"--workers=1".to_owned()));
    }
}
