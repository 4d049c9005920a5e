//! Times the matrix: each run a fresh process, warmup runs first, then
//! rounds in which every program runs once, in an order rotated each round
//! so none always runs first. Ratios between programs are paired by round
//! (see [`crate::stats`]); rounds go on until the cell's ratios are decided
//! or its share of the time budget is spent. Then the traced runs, for
//! latency and the cost of tracing. Every run, counted or traced, goes
//! through [`Bencher::run_once`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use pool_spec::{Completeness, Description, Format, Record, RunSpec, RunSummary, check};

use crate::analysis::{DEFAULT_PRECISION, deciding_ratios, summarise, tracing_cost};
use crate::child;
use crate::latency::{Latencies, Percentiles};
use crate::program::Program;
use crate::results::{CellResult, ProgramResult, Sample, TraceResult};
use crate::stats::{Stop, StoppingRule};
use crate::workload::{Baseline, Cell, TraceCell, ideal_makespan};

/// The order of round `round`: the list rotated by one more each round.
pub fn rotated<T: Copy>(items: &[T], round: u32) -> Vec<T> {
    let mut v = items.to_vec();
    if !v.is_empty() {
        let n = round as usize % v.len();
        v.rotate_left(n);
    }
    v
}

/// How many counted rounds each cell runs.
#[derive(Clone, Copy, Debug)]
pub enum Rounds {
    /// Exactly this many (`--runs N`, or `--quick`).
    Fixed(u32),
    /// Until the rule stops it, within each cell's share of the budget.
    Adaptive(StoppingRule),
}

impl Rounds {
    /// The rounds a cell is planned for (for the progress bar and the traced
    /// runs): the fixed count, or the rule's minimum.
    pub fn planned(&self) -> u32 {
        match self {
            Rounds::Fixed(n) => *n,
            Rounds::Adaptive(rule) => rule.min_rounds,
        }
    }
}

/// Runs cells and traced cells, ticking a progress bar weighted by each
/// run's estimated duration.
pub struct Bencher<'a> {
    /// Where each binary is.
    pub binaries: &'a BTreeMap<Program, PathBuf>,
    /// What each pool binary said of itself (its worker limit).
    pub described: &'a BTreeMap<Program, Description>,
    /// Logical cores.
    pub cores: u32,
    /// The progress bar (position in estimated milliseconds).
    pub progress: &'a ProgressBar,
    /// Warmup runs per program and cell.
    pub warmup: u32,
    /// How many counted rounds.
    pub rounds: Rounds,
}

/// Which of `programs` run in `cell`: one-worker programs only where the
/// cell measures the baseline, references only on their kind of work, a broker
/// backend only in cells sized for a round trip per job, none with more
/// workers than its binary starts (`described`; a reference has no limit).
pub fn participants(cell: &Cell, programs: &[Program], described: &BTreeMap<Program, Description>) -> Vec<Program> {
    let limit = |p: &Program| described.get(p).map_or(u32::MAX, |d| d.max_workers);
    programs
        .iter()
        .copied()
        .filter(|b| !b.is_baseline() || cell.baseline == Baseline::Measured)
        .filter(|b| b.times_kind(cell.run().work.kind))
        .filter(|b| b.times_in(cell.run().jobs, cell.run().workers, limit(b)))
        // The references take no `--arrival`.
        .filter(|b| cell.run().arrival.is_none() || b.describes_itself())
        .collect()
}

/// The stopping rule for `cell`: a heavy cell's rounds stop at the rule's
/// minimum (see [`Cell::heavy`]).
fn cell_rule(cell: &Cell, rule: StoppingRule) -> StoppingRule {
    if cell.heavy { StoppingRule { max_rounds: rule.min_rounds, ..rule } } else { rule }
}

/// How long one run may take before it is killed: ten times its estimate,
/// and at least 30 s.
fn limit(cell: &Cell, cores: u32, program: Program) -> Duration {
    Duration::from_secs(30).max(cell.estimate(cores, program.is_baseline()) * 10)
}

/// Why a run that did not exit with 0 failed, in one line.
fn failure(run: &child::Run, limit: Duration) -> String {
    match run.exit {
        child::Exit::TimedOut => {
            format!("did not finish within {} s, the limit for this cell, and was killed", limit.as_secs())
        }
        exit => format!("{exit}: {}", run.last_error_line()),
    }
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// How a run logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `--quiet`: only the summary line, on stderr.
    Quiet,
    /// `--format=jsonl` on stdout, captured.
    Traced,
}

/// What one successful run gave.
pub struct RunOutput {
    /// The run it was given (see [`Cell::run_for`]).
    pub given: RunSpec,
    /// The child's measurements and output.
    pub run: child::Run,
    /// Its summary line (quiet runs).
    pub summary: Option<RunSummary>,
}

impl Bencher<'_> {
    /// (warmup, planned counted) rounds of `cell`.
    pub fn rounds(&self, cell: &Cell) -> (u32, u32) {
        match cell {
            c if c.once => (0, 1),
            c if c.heavy => (0, self.rounds.planned()),
            _ => (self.warmup, self.rounds.planned()),
        }
    }

    /// One round of a cell's runs, in estimated milliseconds.
    pub fn round_cost(&self, cell: &Cell, programs: &[Program]) -> u64 {
        participants(cell, programs, self.described)
            .iter()
            .map(|b| ms(cell.estimate(self.cores, b.is_baseline())))
            .sum::<u64>()
    }

    /// Rounds of a cell's runs, in estimated milliseconds, for the bar.
    pub fn cell_cost(&self, cell: &Cell, programs: &[Program], rounds: u32) -> u64 {
        self.round_cost(cell, programs) * u64::from(rounds)
    }

    /// Runs `program` once on `cell`: a fresh process through the measuring
    /// helper, given the cell's run in its form. A quiet run's summary line
    /// must say what a correct run's does (see
    /// [`ExpectedLine`](crate::workload::ExpectedLine)). `Err` says
    /// why the run failed, in one line.
    pub fn run_once(&self, cell: &Cell, program: Program, mode: Mode) -> Result<RunOutput, String> {
        let given = cell.run_for(
            program,
            match mode {
                Mode::Quiet => None,
                Mode::Traced => Some(Format::Jsonl),
            },
        );
        let mut cmd = Command::new(&self.binaries[&program]);
        cmd.args(given.args());
        let limit = limit(cell, self.cores, program);
        let run = match child::run(&mut cmd, mode == Mode::Traced, limit) {
            Err(e) => return Err(format!("{e:#}")),
            Ok(run) if run.exit != child::Exit::Code(0) => return Err(failure(&run, limit)),
            Ok(run) => run,
        };
        if mode == Mode::Traced {
            return Ok(RunOutput { given, run, summary: None });
        }
        // For a reference, which is not verified, this is the one check.
        match RunSummary::find_in(&run.stderr) {
            None => Err(format!("no summary line: {}", run.last_error_line())),
            Some(s) => match cell.expected_line().judge(&given, &s) {
                Err(why) => Err(format!("{why}: {}", run.last_error_line())),
                Ok(()) => Ok(RunOutput { given, run, summary: Some(s) }),
            },
        }
    }

    /// One round of `cell` over `who` (counted as `round` unless a warmup).
    fn run_round(&self, cell: &Cell, who: &[Program], results: &mut [ProgramResult], round: u32, label: &str) {
        for program in rotated(who, round) {
            let est = ms(cell.estimate(self.cores, program.is_baseline()));
            let r = results.iter_mut().find(|r| r.backend == program).expect("a participant");
            if r.failure.is_some() {
                self.progress.inc(est);
                continue;
            }
            self.progress.set_message(format!("{} · {program} · {label}", cell.label()));
            match self.run_once(cell, program, Mode::Quiet) {
                Err(why) => r.failure = Some(why),
                Ok(out) => {
                    if !label.starts_with("warmup") {
                        // The process's start, in the same round, right after.
                        let start = match &cell.start {
                            None => None,
                            Some(start) => match self.run_once(start, program, Mode::Quiet) {
                                Ok(s) => Some(s.run.wall.as_secs_f64()),
                                Err(why) => {
                                    r.failure = Some(format!("its 0-job run (for the process's start): {why}"));
                                    self.progress.inc(est);
                                    continue;
                                }
                            },
                        };
                        let summary = out.summary.expect("quiet runs have a summary");
                        r.samples.push(Sample {
                            round,
                            makespan_s: summary.elapsed.as_secs_f64(),
                            wall_s: out.run.wall.as_secs_f64(),
                            start_wall_s: start,
                            user_s: out.run.user.as_secs_f64(),
                            sys_s: out.run.sys.as_secs_f64(),
                            max_rss_kib: out.run.max_rss_kib,
                            latency: summary.latency.map(Into::into),
                        });
                    }
                }
            }
            self.progress.inc(est);
        }
    }

    /// Times `cell` on `programs`, within `budget` if the rounds are
    /// adaptive.
    pub fn run_cell(&self, cell: &Cell, programs: &[Program], budget: Duration) -> CellResult {
        let who = participants(cell, programs, self.described);
        let mut results: Vec<ProgramResult> = who
            .iter()
            .map(|&program| {
                let given = program.given(cell.run());
                ProgramResult {
                    backend: program,
                    workers: given.workers,
                    ideal_s: ideal_makespan(&given, self.cores).as_secs_f64(),
                    samples: Vec::new(),
                    failure: None,
                    stats: None,
                }
            })
            .collect();
        let started = Instant::now();
        let (warmup, planned) = self.rounds(cell);
        for w in 0..warmup {
            self.run_round(cell, &who, &mut results, w, &format!("warmup {}/{warmup}", w + 1));
        }
        let mut round = 0;
        let stop = loop {
            let label = match self.rounds {
                Rounds::Adaptive(_) if !cell.once => format!("round {}", round + 1),
                _ => format!("run {}/{planned}", round + 1),
            };
            if round >= planned {
                self.progress.inc_length(self.round_cost(cell, &who));
            }
            self.run_round(cell, &who, &mut results, round, &label);
            round += 1;
            let stop = match self.rounds {
                _ if cell.once => Some(Stop::Fixed),
                Rounds::Fixed(n) => (round >= n).then_some(Stop::Fixed),
                Rounds::Adaptive(rule) => {
                    cell_rule(cell, rule).verdict(round, &deciding_ratios(&results), started.elapsed() >= budget)
                }
            };
            if let Some(stop) = stop {
                break stop;
            }
        };
        let run = cell.run();
        let ideal = ideal_makespan(run, self.cores);
        let mut result = CellResult {
            workload: cell.workload,
            spec: run.work.to_string(),
            workers: run.workers,
            jobs: run.jobs,
            seed: run.seed,
            arrival: run.arrival.map(|a| a.to_string()),
            ideal_s: ideal.as_secs_f64(),
            measured_ideal_s: None,
            baseline: cell.baseline.clone(),
            rounds: round,
            stop,
            undecided: Vec::new(),
            pairs: Vec::new(),
            backends: results,
        };
        let precision = match self.rounds {
            Rounds::Adaptive(rule) => rule.precision,
            Rounds::Fixed(_) => DEFAULT_PRECISION,
        };
        summarise(&mut result, precision);
        result
    }

    /// Traced runs of `trace.cell` on `programs`, paired with quiet runs if
    /// the cell asks.
    pub fn run_trace(&self, trace: &TraceCell, programs: &[Program]) -> Vec<TraceResult> {
        let cell = &trace.cell;
        let who = participants(cell, programs, self.described);
        let mut results: BTreeMap<Program, (TraceResult, Latencies)> = who
            .iter()
            .map(|&program| {
                let r = TraceResult {
                    workload: cell.workload,
                    spec: cell.run().work.to_string(),
                    workers: program.given(cell.run()).workers,
                    jobs: cell.run().jobs,
                    backend: program,
                    traced_makespan_s: Vec::new(),
                    quiet_makespan_s: Vec::new(),
                    tracing_cost_ns: None,
                    queue_wait: Percentiles::default(),
                    end_to_end: Percentiles::default(),
                    pickup: Percentiles::default(),
                    service: Percentiles::default(),
                    over_plan: None,
                    end_to_end_cdf: Vec::new(),
                    failure: None,
                };
                (program, (r, Latencies::default()))
            })
            .collect();
        for round in 0..trace.rounds {
            for program in rotated(&who, round) {
                let est = ms(cell.estimate(self.cores, program.is_baseline()));
                let (r, lat) = results.get_mut(&program).expect("a participant");
                let modes: &[Mode] = if trace.against_quiet { &[Mode::Traced, Mode::Quiet] } else { &[Mode::Traced] };
                for &mode in modes {
                    if r.failure.is_some() {
                        continue;
                    }
                    let what = if mode == Mode::Traced { "traced" } else { "quiet" };
                    self.progress.set_message(format!(
                        "{} · {program} · {what} {}/{}",
                        cell.label(),
                        round + 1,
                        trace.rounds
                    ));
                    match self.run_once(cell, program, mode) {
                        Err(why) => r.failure = Some(why),
                        Ok(RunOutput { summary: Some(s), .. }) => r.quiet_makespan_s.push(s.elapsed.as_secs_f64()),
                        Ok(RunOutput { given, run, summary: None }) => match traced_makespan(&run.stdout, &given) {
                            Err(why) => r.failure = Some(why),
                            Ok((end_s, records)) => {
                                r.traced_makespan_s.push(end_s);
                                lat.add_log(&records, &given.work());
                            }
                        },
                    }
                }
                self.progress.inc(est * modes.len() as u64);
            }
        }
        results
            .into_values()
            .map(|(mut r, lat)| {
                if r.failure.is_none() {
                    r.queue_wait = lat.queue_wait();
                    r.end_to_end = lat.end_to_end();
                    r.pickup = lat.pickup();
                    r.service = lat.service();
                    r.over_plan = lat.over_plan();
                    r.end_to_end_cdf = lat.end_to_end_cdf(200);
                    r.tracing_cost_ns = tracing_cost(&r.traced_makespan_s, &r.quiet_makespan_s, r.jobs);
                }
                r
            })
            .collect()
    }
}

/// A traced run's log, parsed and judged by the checker, its summary
/// compared with the run's expected one: its makespan (the last timestamp,
/// seconds) and its records.
fn traced_makespan(stdout: &[u8], run: &RunSpec) -> Result<(f64, Vec<Record>), String> {
    let text = String::from_utf8_lossy(stdout);
    let records = Format::Jsonl.parse(&text).map_err(|e| format!("traced log does not parse: {e}"))?;
    let summary = check(&records, run, Completeness::Complete)
        .map_err(|v| format!("traced log breaks the checker's rules: {v}"))?;
    if let Some(diff) = run.expected().first_difference(&summary) {
        return Err(format!("traced log's summary differs: expected {diff}"));
    }
    let end = records.iter().filter_map(|r| r.t_us).max().unwrap_or(0);
    Ok((end as f64 / 1e6, records))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Interval;
    use crate::workload::Family;

    #[test]
    fn every_backend_leads_a_round_in_turn() {
        let firsts: Vec<u32> = (0..4).map(|r| rotated(&[1, 2, 3], r)[0]).collect();
        assert_eq!(firsts, [1, 2, 3, 1]);
    }

    #[test]
    fn a_heavy_cell_runs_no_warmup_and_stops_at_the_fewest_rounds() {
        let rule = crate::compare::STOPPING_RULE;
        let cells = crate::workload::matrix(false, 2, &[Family::Overhead, Family::Throughput]);
        let (overhead, throughput) = (&cells[0], cells.last().unwrap());
        assert_eq!(cell_rule(overhead, rule), rule);
        let capped = cell_rule(throughput, rule);
        assert_eq!((capped.min_rounds, capped.max_rounds), (rule.min_rounds, rule.min_rounds));
        let wide = Interval { median: 1.0, lo: 0.5, hi: 2.0, n: 6, confidence: 0.97 };
        assert_eq!(capped.verdict(rule.min_rounds, &[wide], false), Some(Stop::MaxRounds), "undecided, and stopped");
        let (binaries, described, progress) = (BTreeMap::new(), BTreeMap::new(), ProgressBar::hidden());
        let bencher = Bencher {
            binaries: &binaries,
            described: &described,
            cores: 2,
            progress: &progress,
            warmup: 1,
            rounds: Rounds::Adaptive(rule),
        };
        assert_eq!(bencher.rounds(overhead), (1, rule.min_rounds));
        assert_eq!(bencher.rounds(throughput), (0, rule.min_rounds));
    }

    #[test]
    fn a_traced_log_is_judged_and_compared_with_the_runs_expected_summary() {
        let log = |lines: &[(u64, &str, u64, &str)]| {
            let mut text = String::new();
            for &(t, event, job, rest) in lines {
                let job = if job > 0 { format!(",\"job\":{job}") } else { String::new() };
                text += &format!("{{\"t_us\":{t},\"worker\":1,\"event\":\"{event}\"{job}{rest}}}\n");
            }
            text
        };
        let two = log(&[
            (10, "started", 1, ""),
            (20, "finished", 1, ",\"result\":2"),
            (30, "started", 2, ""),
            (40, "finished", 2, ",\"result\":4"),
            (1_500_000, "exiting", 0, ""),
        ]);
        let run = RunSpec::new(1, 2, "noop".parse().unwrap()).format(Some(Format::Jsonl));
        let (end_s, records) = traced_makespan(two.as_bytes(), &run).unwrap();
        assert_eq!((end_s, records.len()), (1.5, 5));
        // A log the checker accepts, but not the run asked for: job 2 was to fail.
        let err = traced_makespan(two.as_bytes(), &run.clone().panics([2])).unwrap_err();
        assert!(err.starts_with("traced log's summary differs: expected job 2: failed"), "{err}");
        let err = traced_makespan(b"{\"t_us\":1,\"worker\":1,\"event\":\"exiting\"}\n", &run).unwrap_err();
        assert!(err.starts_with("traced log breaks the checker's rules"), "{err}");
    }
}
