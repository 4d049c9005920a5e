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
use pool_core::{Completeness, Description, Format, Kind, Record, RunSpec, RunSummary, check};
use serde::Serialize;

use crate::child;
use crate::latency::{Latencies, Percentiles};
use crate::program::{Program, Role};
use crate::stats::{self, Interval, Spread, Stop, StoppingRule};
use crate::workload::{Baseline, Cell, Family, TraceCell, ideal_makespan};

/// One counted run.
#[derive(Clone, Debug, Serialize)]
pub struct Sample {
    /// The round it ran in (0 is the first counted round).
    pub round: u32,
    /// Makespan as the pool reports it: from starting the workers to the
    /// last one's exit, seconds (the binary prints it to the microsecond).
    pub makespan_s: f64,
    /// Wall time of the whole process, spawn to reaping, seconds, as the
    /// measuring helper saw it (its own start is not in it).
    pub wall_s: f64,
    /// Wall time of the same program's 0-job run of the same cell, right
    /// after this one in the same round, seconds: the process's start and
    /// exit with no jobs (cells with [`Cell::start`] only).
    pub start_wall_s: Option<f64>,
    /// User CPU time of the process, seconds.
    pub user_s: f64,
    /// System CPU time of the process, seconds.
    pub sys_s: f64,
    /// Peak resident set size of the process, KiB.
    pub max_rss_kib: u64,
}

/// Figures derived from a program's counted runs in one cell.
#[derive(Clone, Debug, Serialize)]
pub struct Stats {
    /// Makespan, seconds: median and min–max of the raw samples.
    pub makespan_s: Spread,
    /// Jobs per second (jobs / makespan).
    pub jobs_per_s: Spread,
    /// (makespan − ideal) / jobs, nanoseconds: what each job cost beyond the
    /// ideal. For `noop` the ideal is 0, so this is the handoff itself.
    pub overhead_ns: Spread,
    /// The whole process per job, ns: wall time (spawn to reaping) / jobs.
    /// Process start is in it.
    pub whole_ns: Spread,
    /// The whole process less its start per job, ns: (wall time − the same
    /// program's 0-job run's, in the same round) / jobs, median and 95%
    /// interval over the rounds; cells that measure the start only.
    pub whole_less_start_ns: Option<Interval>,
    /// ideal / makespan; absent where the ideal is 0.
    pub efficiency: Option<Spread>,
    /// makespan / ideal; absent where the ideal is 0.
    pub makespan_over_ideal: Option<Spread>,
    /// makespan / the measured ideal (the `longest-first` reference's
    /// makespan in the same round: the same jobs, longest first, taken one
    /// at a time by min(workers, cores) threads), paired by round: median
    /// and 95% interval; CPU cells of pools only.
    pub makespan_over_measured_ideal: Option<Interval>,
    /// User + system CPU time, seconds.
    pub cpu_s: Spread,
    /// Peak RSS, MiB.
    pub max_rss_mib: Spread,
    /// Makespan / the fastest backend's, paired by round: median and 95%
    /// interval. The fastest backend's own is exactly 1.
    pub vs_fastest: Interval,
    /// 1 + the number of programs distinguishably faster (their paired
    /// ratio's interval lies wholly below 1).
    pub rank: usize,
    /// Whether the interval of `vs_fastest` contains 1.
    pub indistinguishable_from_fastest: bool,
}

/// One program in one cell.
#[derive(Clone, Debug, Serialize)]
pub struct ProgramResult {
    /// The program.
    pub backend: Program,
    /// Workers it ran with (1 for one-worker programs).
    pub workers: u32,
    /// The ideal makespan at its worker count, seconds.
    pub ideal_s: f64,
    /// Every counted run.
    pub samples: Vec<Sample>,
    /// Why it has no figures here: the failed run's status and last stderr
    /// line. Its samples before the failure are kept but not summarised.
    pub failure: Option<String>,
    /// Figures from the samples; absent after a failure.
    pub stats: Option<Stats>,
}

/// The ratio of two programs' makespans in one cell, paired by round.
#[derive(Clone, Debug, Serialize)]
pub struct Pair {
    /// The numerator.
    pub a: Program,
    /// The denominator.
    pub b: Program,
    /// `a / b` per round: median and 95% interval over the rounds.
    pub ratio: Interval,
}

/// One cell of the matrix, measured.
#[derive(Clone, Debug, Serialize)]
pub struct CellResult {
    /// Workload family.
    pub workload: Family,
    /// Work spec of every job.
    pub spec: String,
    /// Workers of the pools.
    pub workers: u32,
    /// Jobs.
    pub jobs: u64,
    /// Seed for ranged durations.
    pub seed: u64,
    /// The ideal makespan (see `workload::ideal_makespan`), seconds.
    pub ideal_s: f64,
    /// The measured ideal: the median makespan of the `longest-first`
    /// reference (the same jobs, longest first, taken one at a time by
    /// min(workers, cores) threads, no pool), seconds; CPU cells only.
    pub measured_ideal_s: Option<f64>,
    /// What became of the sequential baseline here.
    pub baseline: Baseline,
    /// Counted rounds run.
    pub rounds: u32,
    /// Why the rounds stopped there.
    pub stop: Stop,
    /// Backends whose ratio to the fastest was left wider than the stopping
    /// rule's precision (undecided by the budget or the round limit).
    pub undecided: Vec<Program>,
    /// Every pair of programs that ran here (in report order, `a` before
    /// `b`), paired by round.
    pub pairs: Vec<Pair>,
    /// Each program, sorted fastest first once summarised.
    pub backends: Vec<ProgramResult>,
}

impl CellResult {
    /// The paired ratio `a / b` in this cell, either way round.
    pub fn ratio(&self, a: Program, b: Program) -> Option<Interval> {
        self.pairs.iter().find_map(|p| {
            if (p.a, p.b) == (a, b) {
                Some(p.ratio)
            } else if (p.a, p.b) == (b, a) {
                let r = p.ratio;
                Some(Interval { median: 1.0 / r.median, lo: 1.0 / r.hi, hi: 1.0 / r.lo, ..r })
            } else {
                None
            }
        })
    }
}

/// One backend's traced runs of one traced cell.
#[derive(Clone, Debug, Serialize)]
pub struct TraceResult {
    /// Workload family.
    pub workload: Family,
    /// Work spec.
    pub spec: String,
    /// Workers (1 for the sequential baseline).
    pub workers: u32,
    /// Jobs.
    pub jobs: u64,
    /// The program.
    pub backend: Program,
    /// Makespan of each traced run: the last `exiting` timestamp, seconds.
    pub traced_makespan_s: Vec<f64>,
    /// Makespan of each paired quiet run (empty if not paired), seconds.
    pub quiet_makespan_s: Vec<f64>,
    /// What tracing cost per job, ns: (traced − quiet) / jobs per round,
    /// median and 95% interval over the rounds.
    pub tracing_cost_ns: Option<Interval>,
    /// Queue wait: start time since pool start (whole batch submitted at start).
    pub queue_wait: Percentiles,
    /// End-to-end: finish time since pool start.
    pub end_to_end: Percentiles,
    /// Pickup: gap from the worker's previous event to the job's start.
    pub pickup: Percentiles,
    /// Service: start to finish.
    pub service: Percentiles,
    /// End-to-end CDF over all traced runs: (µs, fraction of jobs done).
    pub end_to_end_cdf: Vec<(u64, f64)>,
    /// Why it has no figures: a failed run or a log the checker rejected.
    pub failure: Option<String>,
}

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

/// The deciding ratios of a cell so far: every backend's paired ratio to
/// the backend with the lowest median makespan.
fn deciding_ratios(results: &[ProgramResult]) -> Vec<Interval> {
    let series: Vec<(Program, Vec<(u32, f64)>)> = results
        .iter()
        .filter(|r| r.failure.is_none() && r.backend.entry().role == Role::Backend && !r.samples.is_empty())
        .map(|r| (r.backend, r.samples.iter().map(|s| (s.round, s.makespan_s)).collect()))
        .collect();
    let Some(fastest) = series.iter().min_by(|a, b| {
        let m = |s: &[(u32, f64)]| stats::median(&s.iter().map(|x| x.1).collect::<Vec<_>>()).unwrap_or(f64::INFINITY);
        m(&a.1).total_cmp(&m(&b.1))
    }) else {
        return Vec::new();
    };
    series.iter().filter(|s| s.0 != fastest.0).filter_map(|s| stats::paired_ratio(&s.1, &fastest.1)).collect()
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
                                lat.add_log(&records);
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

/// (traced − quiet) / jobs in ns, paired by round (the i-th traced run with
/// the i-th quiet run: they ran back to back).
pub fn tracing_cost(traced_s: &[f64], quiet_s: &[f64], jobs: u64) -> Option<Interval> {
    let by_round = |xs: &[f64]| xs.iter().enumerate().map(|(i, &x)| (i as u32, x)).collect::<Vec<_>>();
    stats::paired_difference(&by_round(traced_s), &by_round(quiet_s), 1e9 / jobs.max(1) as f64)
}

/// The precision a fixed-count run's figures are judged "decided" at.
pub const DEFAULT_PRECISION: f64 = 0.05;

/// Derives every program's figures: raw spreads, paired ratios between every
/// two programs, ranks; notes which ratios to the fastest are still wider
/// than `precision`; sorts the cell fastest first (failed programs last).
pub fn summarise(cell: &mut CellResult, precision: f64) {
    let jobs = cell.jobs as f64;
    let per = |samples: &[Sample], f: &dyn Fn(&Sample) -> f64| Spread::of(&samples.iter().map(f).collect::<Vec<_>>());
    let series = |r: &ProgramResult| -> Vec<(u32, f64)> { r.samples.iter().map(|s| (s.round, s.makespan_s)).collect() };
    let ok: Vec<usize> = (0..cell.backends.len())
        .filter(|&i| cell.backends[i].failure.is_none() && !cell.backends[i].samples.is_empty())
        .collect();
    cell.pairs.clear();
    for (x, &i) in ok.iter().enumerate() {
        for &j in &ok[x + 1..] {
            let (a, b) = (&cell.backends[i], &cell.backends[j]);
            let (a, b) = if a.backend < b.backend { (a, b) } else { (b, a) };
            if let Some(ratio) = stats::paired_ratio(&series(a), &series(b)) {
                cell.pairs.push(Pair { a: a.backend, b: b.backend, ratio });
            }
        }
    }
    cell.pairs.sort_by_key(|p| (p.a, p.b));
    let median_of = |r: &ProgramResult| per(&r.samples, &|s| s.makespan_s).map_or(f64::INFINITY, |s| s.median);
    // The fastest backend (not the baseline nor a reference) is what every
    // program is measured against.
    let fastest = ok
        .iter()
        .copied()
        .filter(|&i| cell.backends[i].backend.entry().role == Role::Backend)
        .min_by(|&i, &j| median_of(&cell.backends[i]).total_cmp(&median_of(&cell.backends[j])))
        .or_else(|| {
            ok.iter().copied().min_by(|&i, &j| median_of(&cell.backends[i]).total_cmp(&median_of(&cell.backends[j])))
        });
    let Some(fastest) = fastest.map(|i| cell.backends[i].backend) else { return };
    let programs: Vec<Program> = ok.iter().map(|&i| cell.backends[i].backend).collect();
    let ranks = stats::ranks(programs.len(), |i, j| cell.ratio(programs[i], programs[j]));
    let one = Interval { median: 1.0, lo: 1.0, hi: 1.0, n: cell.rounds as usize, confidence: 1.0 };
    let vs: Vec<Interval> =
        programs.iter().map(|&p| if p == fastest { one } else { cell.ratio(p, fastest).unwrap_or(one) }).collect();
    let mut undecided = Vec::new();
    for ((&b, rank), vs_fastest) in ok.iter().zip(ranks).zip(vs) {
        let program = cell.backends[b].backend;
        if program != fastest && program.entry().role == Role::Backend && !vs_fastest.within(precision) {
            undecided.push(program);
        }
        let r = &mut cell.backends[b];
        let s = &r.samples;
        let ideal = r.ideal_s;
        let with_ideal = |f: &dyn Fn(&Sample) -> f64| (ideal > 0.0).then(|| per(s, f)).flatten();
        r.stats = Some(Stats {
            makespan_s: per(s, &|x| x.makespan_s).expect("samples exist"),
            jobs_per_s: per(s, &|x| jobs / x.makespan_s).expect("samples exist"),
            overhead_ns: per(s, &|x| (x.makespan_s - ideal) * 1e9 / jobs.max(1.0)).expect("samples exist"),
            whole_ns: per(s, &|x| x.wall_s * 1e9 / jobs.max(1.0)).expect("samples exist"),
            whole_less_start_ns: stats::paired_difference(
                &s.iter().map(|x| (x.round, x.wall_s)).collect::<Vec<_>>(),
                &s.iter().filter_map(|x| Some((x.round, x.start_wall_s?))).collect::<Vec<_>>(),
                1e9 / jobs.max(1.0),
            ),
            efficiency: with_ideal(&|x| ideal / x.makespan_s),
            makespan_over_ideal: with_ideal(&|x| x.makespan_s / ideal),
            makespan_over_measured_ideal: None,
            cpu_s: per(s, &|x| x.user_s + x.sys_s).expect("samples exist"),
            max_rss_mib: per(s, &|x| x.max_rss_kib as f64 / 1024.0).expect("samples exist"),
            vs_fastest,
            rank,
            indistinguishable_from_fastest: vs_fastest.indistinguishable(),
        });
    }
    cell.undecided = undecided;
    cell.backends.sort_by(|a, b| match (&a.stats, &b.stats) {
        (Some(x), Some(y)) => x.makespan_s.median.total_cmp(&y.makespan_s.median),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.backend.cmp(&b.backend),
    });
}

/// Sets each CPU cell's measured ideal from its `longest-first` reference:
/// the same jobs on the same machine, their lengths known, longest first,
/// each taken by the next free one of as many threads as the pool could use
/// (one atomic add), with no queue and no results handed back. Each pool's
/// makespan is divided by the reference's in the same round, so the spin
/// loop's calibration, the machine's speed with every core busy and
/// whatever else ran in that round drop out together. The sequential
/// baseline runs at 1 worker, not the cell's, so it gets no ratio where the
/// cell has more.
pub fn apply_measured_ideals(cells: &mut [CellResult]) {
    for c in cells.iter_mut() {
        // The reference for CPU work: the one program timed on it alone.
        let Some(reference) =
            c.backends.iter().find(|b| b.backend.entry().timed_on == [Kind::Spin] && b.stats.is_some())
        else {
            continue;
        };
        let series =
            |r: &ProgramResult| -> Vec<(u32, f64)> { r.samples.iter().map(|s| (s.round, s.makespan_s)).collect() };
        let ideal = series(reference);
        c.measured_ideal_s = reference.stats.as_ref().map(|st| st.makespan_s.median);
        for b in &mut c.backends {
            if b.backend.is_reference() || b.workers != c.workers {
                continue;
            }
            let ratio = stats::paired_ratio(&series(b), &ideal);
            if let Some(st) = &mut b.stats {
                st.makespan_over_measured_ideal = ratio;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_whole_process_less_its_start_is_paired_by_round() {
        use crate::report::tests::{backend, cell, with_start};
        // Rounds 1 and 2 were slow to start: taken off round by round, every
        // round ran its jobs in 10 ms.
        let seq = with_start(
            backend(Program::known("sequential"), 1, 0.0, &[0.010, 0.028, 0.012, 0.010, 0.010, 0.010]),
            &[0.002, 0.020, 0.004, 0.002, 0.002, 0.002],
        );
        let c = cell(Family::Throughput, "noop", 2, 1_000_000, 0.0, vec![seq]);
        let st = c.backends[0].stats.as_ref().unwrap();
        let less = st.whole_less_start_ns.unwrap();
        assert!((less.median - 10.0).abs() < 1e-6 && (less.lo - 10.0).abs() < 1e-6 && (less.hi - 10.0).abs() < 1e-6);
        // Whole process: makespan + 2 ms (the helper in `backend`).
        assert!((st.whole_ns.median - 12.0).abs() < 1e-6 && (st.whole_ns.hi - 30.0).abs() < 1e-6, "{:?}", st.whole_ns);
        let plain =
            cell(Family::Overhead, "noop", 2, 1_000_000, 0.0, vec![backend(Program::known("std"), 2, 0.0, &[0.01; 3])]);
        assert!(plain.backends[0].stats.as_ref().unwrap().whole_less_start_ns.is_none(), "no 0-job runs, no figure");
    }

    #[test]
    fn tracing_cost_pairs_each_traced_run_with_its_quiet_run() {
        // Per round: 0.20, 0.21, 0.19 s over 1,000,000 jobs.
        let c = tracing_cost(&[0.30, 0.32, 0.31], &[0.10, 0.11, 0.12], 1_000_000).unwrap();
        assert!((c.median - 200.0).abs() < 1e-6 && (c.lo - 190.0).abs() < 1e-6 && (c.hi - 210.0).abs() < 1e-6);
        assert!(tracing_cost(&[0.3], &[], 10).is_none());
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
