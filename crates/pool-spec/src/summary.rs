//! The one-line run summary a binary prints on stderr (always with
//! `--quiet`): written by the driver ([`crate::cli`]) and read back by the
//! xtask, through this one type, as [`crate::Event`] is for log lines.
//!
//! ```text
//! pool-std: 100 jobs on 2 workers (noop): 98 finished, 2 failed in 0.001234 s; failed jobs: 3,7; results check out (sum 10086)
//! ```
//!
//! With `--arrival`, the latency from each job's arrival follows the
//! makespan: `…in 1.000123 s; latency p50 12.3 us, p99 45.6 us, p99.9 78.9
//! us, max 101.2 us; …`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::{Latency, WorkSpec};

/// What a run did, as its summary line says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSummary {
    /// The binary, e.g. `pool-std`.
    pub program: String,
    /// Jobs asked for.
    pub jobs: u64,
    /// Workers.
    pub workers: u32,
    /// What each job did.
    pub work: WorkSpec,
    /// Jobs that yielded a result.
    pub finished: u64,
    /// Jobs that panicked.
    pub failed: u64,
    /// After an interrupt: jobs never started. `None` when not interrupted.
    pub never_started: Option<u64>,
    /// The pool's makespan: from starting the workers to the last one's
    /// exit (printed to the microsecond).
    pub elapsed: Duration,
    /// Ids of the failed jobs listed on the line, in order.
    pub failed_jobs: Vec<u64>,
    /// Failed jobs not listed (a long list is cut short).
    pub failed_unlisted: u64,
    /// The sum of the results when the caller's check of them passed;
    /// `None` when the line is printed before an error.
    pub checked_sum: Option<u128>,
    /// With arrivals, the latency percentiles (printed to 0.1 µs).
    pub latency: Option<Latency>,
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} jobs on {} workers ({}): {} finished, {} failed",
            self.program, self.jobs, self.workers, self.work, self.finished, self.failed
        )?;
        if let Some(n) = self.never_started {
            write!(f, ", {n} never started (interrupted)")?;
        }
        // Whole microseconds, as the pool's own clock is read.
        write!(f, " in {:.6} s", self.elapsed.as_secs_f64())?;
        if let Some(l) = &self.latency {
            let us = |d: Duration| d.as_secs_f64() * 1e6;
            write!(
                f,
                "; latency p50 {:.1} us, p99 {:.1} us, p99.9 {:.1} us, max {:.1} us",
                us(l.p50),
                us(l.p99),
                us(l.p999),
                us(l.max)
            )?;
        }
        if !self.failed_jobs.is_empty() || self.failed_unlisted > 0 {
            f.write_str("; failed jobs: ")?;
            for (i, j) in self.failed_jobs.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{j}")?;
            }
            if self.failed_unlisted > 0 {
                write!(f, " and {} more", self.failed_unlisted)?;
            }
        }
        if let Some(sum) = self.checked_sum {
            write!(f, "; results check out (sum {sum})")?;
        }
        Ok(())
    }
}

/// Why a line is not a run summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryError(String);

impl fmt::Display for SummaryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a run summary line: {}", self.0)
    }
}

impl std::error::Error for SummaryError {}

fn number<T: FromStr>(s: &str, what: &str) -> Result<T, SummaryError> {
    s.parse().map_err(|_| SummaryError(format!("bad {what} '{s}'")))
}

fn cut<'a>(s: &'a str, sep: &str, what: &str) -> Result<(&'a str, &'a str), SummaryError> {
    s.split_once(sep).ok_or_else(|| SummaryError(format!("no {what}")))
}

/// `12.3 us, p99 45.6 us, p99.9 78.9 us, max 101.2 us` (after "latency p50 ").
fn latency(s: &str) -> Result<Latency, SummaryError> {
    let us = |v: &str, what: &str| -> Result<Duration, SummaryError> {
        let v = v.strip_suffix(" us").ok_or_else(|| SummaryError(format!("no unit on the latency {what}")))?;
        let v: f64 = number(v, "latency")?;
        if !v.is_finite() || v < 0.0 {
            return Err(SummaryError(format!("bad latency '{v}'")));
        }
        Ok(Duration::from_secs_f64(v / 1e6))
    };
    let (p50, rest) = cut(s, ", p99 ", "latency p99")?;
    let (p99, rest) = cut(rest, ", p99.9 ", "latency p99.9")?;
    let (p999, max) = cut(rest, ", max ", "latency max")?;
    Ok(Latency { p50: us(p50, "p50")?, p99: us(p99, "p99")?, p999: us(p999, "p99.9")?, max: us(max, "max")? })
}

impl FromStr for RunSummary {
    type Err = SummaryError;

    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let (program, rest) = cut(line.trim_end(), ": ", "program name")?;
        let (jobs, rest) = cut(rest, " jobs on ", "job count")?;
        let (workers, rest) = cut(rest, " workers (", "worker count")?;
        let (work, rest) = cut(rest, "): ", "work spec")?;
        let (finished, rest) = cut(rest, " finished, ", "finished count")?;
        let (failed, rest) = cut(rest, " failed", "failed count")?;
        let (never_started, rest) = match rest.strip_prefix(", ") {
            Some(r) => {
                let (n, r) = cut(r, " never started (interrupted)", "never-started count")?;
                (Some(number(n, "never-started count")?), r)
            }
            None => (None, rest),
        };
        let rest = rest.strip_prefix(" in ").ok_or_else(|| SummaryError("no makespan".into()))?;
        let (seconds, mut rest) = cut(rest, " s", "makespan")?;
        let seconds: f64 = number(seconds, "makespan")?;
        if !seconds.is_finite() || seconds < 0.0 {
            return Err(SummaryError(format!("bad makespan '{seconds}'")));
        }
        let mut summary = RunSummary {
            program: program.to_owned(),
            jobs: number(jobs, "job count")?,
            workers: number(workers, "worker count")?,
            work: work.parse().map_err(|e| SummaryError(format!("bad work spec '{work}': {e}")))?,
            finished: number(finished, "finished count")?,
            failed: number(failed, "failed count")?,
            never_started,
            elapsed: Duration::from_secs_f64(seconds),
            failed_jobs: Vec::new(),
            failed_unlisted: 0,
            checked_sum: None,
            latency: None,
        };
        if let Some(r) = rest.strip_prefix("; latency p50 ") {
            let (list, after) = r.find("; ").map_or((r, ""), |i| r.split_at(i));
            summary.latency = Some(latency(list)?);
            rest = after;
        }
        if let Some(r) = rest.strip_prefix("; failed jobs: ") {
            let (list, after) = r.find("; ").map_or((r, ""), |i| r.split_at(i));
            let (ids, more) = match list.split_once(" and ") {
                Some((ids, more)) => (ids, Some(more.strip_suffix(" more").unwrap_or(more))),
                None => (list, None),
            };
            for id in ids.split(',').filter(|s| !s.is_empty()) {
                summary.failed_jobs.push(number(id, "failed job id")?);
            }
            if let Some(more) = more {
                summary.failed_unlisted = number(more, "count of unlisted failed jobs")?;
            }
            rest = after;
        }
        if let Some(r) = rest.strip_prefix("; results check out (sum ") {
            let sum = r.strip_suffix(')').ok_or_else(|| SummaryError("unclosed sum".into()))?;
            summary.checked_sum = Some(number(sum, "sum")?);
            rest = "";
        }
        if !rest.is_empty() {
            return Err(SummaryError(format!("unexpected '{rest}'")));
        }
        Ok(summary)
    }
}

impl RunSummary {
    /// The summary of a run in which all `jobs` finished and their results
    /// add up to `sum`: checked against a correct run's sum (job `j` yields
    /// `2j`), so `checked_sum` is `None` when it is wrong. For the reference
    /// programs, which run no failing jobs and no pool.
    pub fn all_finished(
        program: &str,
        (jobs, workers, work): (u64, u32, WorkSpec),
        elapsed: Duration,
        sum: u128,
    ) -> RunSummary {
        let expected = u128::from(jobs) * (u128::from(jobs) + 1);
        RunSummary {
            program: program.to_owned(),
            jobs,
            workers,
            work,
            finished: jobs,
            failed: 0,
            never_started: None,
            elapsed,
            failed_jobs: Vec::new(),
            failed_unlisted: 0,
            checked_sum: (sum == expected).then_some(sum),
            latency: None,
        }
    }

    /// The last summary line in a run's stderr, if any line is one.
    pub fn find_in(stderr: &str) -> Option<RunSummary> {
        stderr.lines().rev().find_map(|line| line.parse().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> RunSummary {
        RunSummary {
            program: "pool-std".into(),
            jobs: 100,
            workers: 2,
            work: "spin:10us~20ms".parse().unwrap(),
            finished: 100,
            failed: 0,
            never_started: None,
            elapsed: Duration::from_micros(1_234_567),
            failed_jobs: vec![],
            failed_unlisted: 0,
            checked_sum: Some(10_100),
            latency: None,
        }
    }

    fn round_trips(s: &RunSummary) {
        let line = s.to_string();
        assert_eq!(line.parse::<RunSummary>().as_ref(), Ok(s), "{line}");
    }

    #[test]
    fn every_form_round_trips() {
        let quiet = summary();
        assert_eq!(
            quiet.to_string(),
            "pool-std: 100 jobs on 2 workers (spin:10us~20ms): 100 finished, 0 failed in 1.234567 s; \
             results check out (sum 10100)"
        );
        round_trips(&quiet);
        let failed =
            RunSummary { finished: 98, failed: 2, failed_jobs: vec![3, 7], checked_sum: Some(10_080), ..summary() };
        assert!(failed.to_string().contains("; failed jobs: 3,7; results check out"));
        round_trips(&failed);
        let cut_short = RunSummary { failed: 12, failed_jobs: vec![1, 2], failed_unlisted: 10, ..failed.clone() };
        assert!(cut_short.to_string().contains("failed jobs: 1,2 and 10 more;"));
        round_trips(&cut_short);
        let interrupted = RunSummary { finished: 40, never_started: Some(60), checked_sum: None, ..summary() };
        assert!(interrupted.to_string().contains(", 60 never started (interrupted) in "));
        round_trips(&interrupted);
        let wrong = RunSummary { checked_sum: None, failed_jobs: vec![5], failed: 1, ..summary() };
        round_trips(&wrong);
        let us = |tenths: u64| Duration::from_nanos(tenths * 100);
        let latency = Some(Latency { p50: us(123), p99: us(456), p999: us(789), max: us(10_012) });
        let arriving = RunSummary { latency, ..failed.clone() };
        assert!(
            arriving.to_string().contains(
                " s; latency p50 12.3 us, p99 45.6 us, p99.9 78.9 us, max 1001.2 us; failed jobs: 3,7; results"
            ),
            "{arriving}"
        );
        round_trips(&arriving);
        round_trips(&RunSummary { latency, ..summary() });
        round_trips(&RunSummary {
            work: "noop".parse().unwrap(),
            jobs: 0,
            finished: 0,
            checked_sum: Some(0),
            ..summary()
        });
    }

    #[test]
    fn a_reference_run_is_checked_by_its_sum() {
        let work: WorkSpec = "noop".parse().unwrap();
        let ok = RunSummary::all_finished("bare-loop", (4, 1, work), Duration::from_micros(3), 20);
        assert_eq!((ok.finished, ok.failed, ok.checked_sum), (4, 0, Some(20)));
        round_trips(&ok);
        let wrong = RunSummary::all_finished("bare-loop", (4, 1, work), Duration::from_micros(3), 18);
        assert_eq!(wrong.checked_sum, None, "2 + 4 + 6 + 8 is 20");
        assert_eq!(RunSummary::all_finished("x", (0, 1, work), Duration::ZERO, 0).checked_sum, Some(0));
    }

    #[test]
    fn finds_the_line_among_others_and_rejects_the_rest() {
        let stderr = format!("warning: something\n{}\n", summary());
        assert_eq!(RunSummary::find_in(&stderr), Some(summary()));
        assert_eq!(RunSummary::find_in("error: bad\n"), None);
        for bad in [
            "",
            "pool-std: 1 jobs on 2 workers (noop): 1 finished, 0 failed",
            "pool-std: x jobs on 2 workers (noop): 1 finished, 0 failed in 0.1 s",
            "pool-std: 1 jobs on 2 workers (nap:1s): 1 finished, 0 failed in 0.1 s",
            "pool-std: 1 jobs on 2 workers (noop): 1 finished, 0 failed in -1 s",
            "pool-std: 1 jobs on 2 workers (noop): 1 finished, 0 failed in 0.1 s; results check out (sum 2",
            "pool-std: 1 jobs on 2 workers (noop): 1 finished, 0 failed in 0.1 s trailing",
        ] {
            assert!(bad.parse::<RunSummary>().is_err(), "{bad}");
        }
    }
}
