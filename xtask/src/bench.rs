//! Times the matrix: each run a fresh process, warmup runs first, then the
//! counted runs, with the backend order rotated every round so none always
//! runs first. Then the traced runs, for latency and the cost of tracing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use indicatif::ProgressBar;
use pool_core::{Completeness, Format, RunSummary, check};
use serde::Serialize;

use crate::child;
use crate::latency::{Latencies, Percentiles};
use crate::program::Program;
use crate::stats::Spread;
use crate::workload::{Baseline, Cell, TraceCell, ideal_makespan};

/// One counted run.
#[derive(Clone, Debug, Serialize)]
pub struct Sample {
    /// The round it ran in (0 is the first counted round).
    pub round: u32,
    /// Makespan as the pool reports it: from starting the workers to the
    /// last one's exit, seconds (the binary prints it to the microsecond).
    pub makespan_s: f64,
    /// Wall time of the whole process, spawn to reaping, seconds.
    pub wall_s: f64,
    /// User CPU time of the process, seconds.
    pub user_s: f64,
    /// System CPU time of the process, seconds.
    pub sys_s: f64,
    /// Peak resident set size of the process, KiB.
    pub max_rss_kib: u64,
}

/// Figures derived from a backend's counted runs in one cell.
#[derive(Clone, Debug, Serialize)]
pub struct Stats {
    /// Makespan, seconds.
    pub makespan_s: Spread,
    /// Jobs per second (jobs / makespan).
    pub jobs_per_s: Spread,
    /// (makespan − ideal) / jobs, nanoseconds: what each job cost beyond the
    /// ideal. For `noop` the ideal is 0, so this is the handoff itself.
    pub overhead_ns: Spread,
    /// ideal / makespan; absent where the ideal is 0.
    pub efficiency: Option<Spread>,
    /// makespan / ideal; absent where the ideal is 0.
    pub makespan_over_ideal: Option<Spread>,
    /// User + system CPU time, seconds.
    pub cpu_s: Spread,
    /// Peak RSS, MiB.
    pub max_rss_mib: Spread,
    /// Makespan / the fastest backend's makespan in this cell.
    pub ratio_to_fastest: Spread,
    /// 1 + the number of backends distinguishably faster (intervals apart).
    pub rank: usize,
    /// Whether its makespan interval overlaps the fastest one's.
    pub indistinguishable_from_fastest: bool,
}

/// One backend in one cell.
#[derive(Clone, Debug, Serialize)]
pub struct ProgramResult {
    /// The backend.
    pub backend: Program,
    /// Workers it ran with (1 for the sequential baseline).
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

/// One cell of the matrix, measured.
#[derive(Clone, Debug, Serialize)]
pub struct CellResult {
    /// Family family.
    pub workload: crate::workload::Family,
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
    /// What became of the sequential baseline here.
    pub baseline: Baseline,
    /// Each backend, sorted fastest first once summarised.
    pub backends: Vec<ProgramResult>,
}

/// One backend's traced runs of one traced cell.
#[derive(Clone, Debug, Serialize)]
pub struct TraceResult {
    /// Family family.
    pub workload: crate::workload::Family,
    /// Work spec.
    pub spec: String,
    /// Workers (1 for the sequential baseline).
    pub workers: u32,
    /// Jobs.
    pub jobs: u64,
    /// The backend.
    pub backend: Program,
    /// Makespan of each traced run: the last `exiting` timestamp, seconds.
    pub traced_makespan_s: Vec<f64>,
    /// Makespan of each paired quiet run (empty if not paired), seconds.
    pub quiet_makespan_s: Vec<f64>,
    /// What tracing cost per job, ns: (traced − quiet) / jobs, medians, with
    /// the widest interval the two ranges allow.
    pub tracing_cost_ns: Option<Spread>,
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

/// The makespan a quiet run reports in its summary line on stderr
/// ([`RunSummary`], pool-core's one owner of that line).
pub fn pool_seconds(stderr: &str) -> Option<f64> {
    RunSummary::find_in(stderr).map(|s| s.elapsed.as_secs_f64())
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

/// Runs cells and traced cells, ticking a progress bar weighted by each
/// run's estimated duration.
pub struct Bencher<'a> {
    /// Where each binary is.
    pub binaries: &'a BTreeMap<Program, PathBuf>,
    /// Logical cores.
    pub cores: u32,
    /// The progress bar (position in estimated milliseconds).
    pub progress: &'a ProgressBar,
    /// Warmup runs per backend and cell.
    pub warmup: u32,
    /// Counted runs per backend and cell.
    pub runs: u32,
}

/// Which of `backends` run in `cell`: one-worker programs only where the
/// cell measures the baseline, references only on `noop` cells.
pub fn participants(cell: &Cell, backends: &[Program]) -> Vec<Program> {
    backends
        .iter()
        .copied()
        .filter(|b| !b.is_baseline() || cell.baseline == Baseline::Measured)
        .filter(|b| !b.is_reference() || cell.spec.kind == pool_core::Kind::Noop)
        .collect()
}

/// How long one run may take before it is killed: ten times its estimate,
/// and at least 30 s.
fn limit(cell: &Cell, cores: u32, backend: Program) -> Duration {
    Duration::from_secs(30).max(cell.estimate(cores, backend.is_baseline()) * 10)
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

fn workers_of(cell: &Cell, backend: Program) -> u32 {
    if backend.is_baseline() { 1 } else { cell.workers }
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

impl Bencher<'_> {
    /// (warmup, counted) runs of `cell`.
    pub fn rounds(&self, cell: &Cell) -> (u32, u32) {
        if cell.once { (0, 1) } else { (self.warmup, self.runs) }
    }

    /// Rounds of a cell's runs, in estimated milliseconds, for the bar.
    pub fn cell_cost(&self, cell: &Cell, backends: &[Program], rounds: u32) -> u64 {
        participants(cell, backends).iter().map(|b| ms(cell.estimate(self.cores, b.is_baseline()))).sum::<u64>()
            * u64::from(rounds)
    }

    fn command(&self, cell: &Cell, backend: Program) -> Command {
        let mut cmd = Command::new(&self.binaries[&backend]);
        cmd.args(backend.entry().args).args(cell.args(workers_of(cell, backend)));
        cmd
    }

    /// Times `cell` on `backends`.
    pub fn run_cell(&self, cell: &Cell, backends: &[Program]) -> CellResult {
        let who = participants(cell, backends);
        let mut results: Vec<ProgramResult> = who
            .iter()
            .map(|&backend| ProgramResult {
                backend,
                workers: workers_of(cell, backend),
                ideal_s: ideal_makespan(&cell.work(), workers_of(cell, backend), cell.jobs, self.cores).as_secs_f64(),
                samples: Vec::new(),
                failure: None,
                stats: None,
            })
            .collect();
        let (warmup, runs) = self.rounds(cell);
        for round in 0..warmup + runs {
            for backend in rotated(&who, round) {
                let est = ms(cell.estimate(self.cores, backend.is_baseline()));
                let r = results.iter_mut().find(|r| r.backend == backend).expect("a participant");
                if r.failure.is_some() {
                    self.progress.inc(est);
                    continue;
                }
                let phase = if round < warmup {
                    format!("warmup {}/{warmup}", round + 1)
                } else {
                    format!("run {}/{runs}", round - warmup + 1)
                };
                self.progress.set_message(format!("{} · {backend} · {phase}", cell.label()));
                let mut cmd = self.command(cell, backend);
                cmd.arg("--quiet");
                let limit = limit(cell, self.cores, backend);
                match child::run(&mut cmd, false, limit) {
                    Err(e) => r.failure = Some(format!("{e:#}")),
                    Ok(run) if run.exit != child::Exit::Code(0) => r.failure = Some(failure(&run, limit)),
                    Ok(run) => match pool_seconds(&run.stderr) {
                        None => r.failure = Some(format!("no makespan in its summary: {}", run.last_error_line())),
                        Some(makespan_s) if round >= warmup => r.samples.push(Sample {
                            round: round - warmup,
                            makespan_s,
                            wall_s: run.wall.as_secs_f64(),
                            user_s: run.user.as_secs_f64(),
                            sys_s: run.sys.as_secs_f64(),
                            max_rss_kib: run.max_rss_kib,
                        }),
                        Some(_) => {}
                    },
                }
                self.progress.inc(est);
            }
        }
        let ideal = ideal_makespan(&cell.work(), cell.workers, cell.jobs, self.cores);
        let mut result = CellResult {
            workload: cell.workload,
            spec: cell.spec.to_string(),
            workers: cell.workers,
            jobs: cell.jobs,
            seed: cell.seed,
            ideal_s: ideal.as_secs_f64(),
            baseline: cell.baseline.clone(),
            backends: results,
        };
        summarise(&mut result);
        result
    }

    /// Traced runs of `trace.cell` on `backends`, paired with quiet runs if
    /// the cell asks.
    pub fn run_trace(&self, trace: &TraceCell, backends: &[Program]) -> Vec<TraceResult> {
        let cell = &trace.cell;
        let who = participants(cell, backends);
        let mut results: BTreeMap<Program, (TraceResult, Latencies)> = who
            .iter()
            .map(|&backend| {
                let r = TraceResult {
                    workload: cell.workload,
                    spec: cell.spec.to_string(),
                    workers: workers_of(cell, backend),
                    jobs: cell.jobs,
                    backend,
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
                (backend, (r, Latencies::default()))
            })
            .collect();
        for round in 0..trace.rounds {
            for backend in rotated(&who, round) {
                let est = ms(cell.estimate(self.cores, backend.is_baseline()));
                let (r, lat) = results.get_mut(&backend).expect("a participant");
                let modes: &[bool] = if trace.against_quiet { &[true, false] } else { &[true] };
                for &traced in modes {
                    if r.failure.is_some() {
                        continue;
                    }
                    let what = if traced { "traced" } else { "quiet" };
                    self.progress.set_message(format!(
                        "{} · {backend} · {what} {}/{}",
                        cell.label(),
                        round + 1,
                        trace.rounds
                    ));
                    let mut cmd = self.command(cell, backend);
                    cmd.arg(if traced { "--format=jsonl" } else { "--quiet" });
                    let limit = limit(cell, self.cores, backend);
                    let run = match child::run(&mut cmd, traced, limit) {
                        Ok(run) if run.exit == child::Exit::Code(0) => run,
                        Ok(run) => {
                            r.failure = Some(failure(&run, limit));
                            continue;
                        }
                        Err(e) => {
                            r.failure = Some(format!("{e:#}"));
                            continue;
                        }
                    };
                    if !traced {
                        match pool_seconds(&run.stderr) {
                            Some(s) => r.quiet_makespan_s.push(s),
                            None => r.failure = Some("no makespan in its summary".to_owned()),
                        }
                        continue;
                    }
                    let text = String::from_utf8_lossy(&run.stdout);
                    let records = match Format::Jsonl.parse(&text) {
                        Ok(records) => records,
                        Err(e) => {
                            r.failure = Some(format!("traced log does not parse: {e}"));
                            continue;
                        }
                    };
                    if let Err(v) = check(&records, r.workers, cell.jobs, Completeness::Complete) {
                        r.failure = Some(format!("traced log breaks the checker's rules: {v}"));
                        continue;
                    }
                    let end = records.iter().filter_map(|r| r.t_us).max().unwrap_or(0);
                    r.traced_makespan_s.push(end as f64 / 1e6);
                    lat.add_log(&records);
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
                    r.tracing_cost_ns = tracing_cost(&r.traced_makespan_s, &r.quiet_makespan_s, cell.jobs);
                }
                r
            })
            .collect()
    }
}

/// (traced − quiet) / jobs in ns, with the widest interval the ranges allow.
pub fn tracing_cost(traced_s: &[f64], quiet_s: &[f64], jobs: u64) -> Option<Spread> {
    let (t, q) = (Spread::of(traced_s)?, Spread::of(quiet_s)?);
    let per_job = |s: f64| s * 1e9 / jobs.max(1) as f64;
    Some(Spread { median: per_job(t.median - q.median), lo: per_job(t.lo - q.hi), hi: per_job(t.hi - q.lo) })
}

/// Derives every backend's figures, ranks them, and sorts the cell fastest
/// first (failed backends last).
pub fn summarise(cell: &mut CellResult) {
    let jobs = cell.jobs as f64;
    let per = |samples: &[Sample], f: &dyn Fn(&Sample) -> f64| Spread::of(&samples.iter().map(f).collect::<Vec<_>>());
    let makespans: Vec<Option<Spread>> = cell
        .backends
        .iter()
        .map(|b| if b.failure.is_none() { per(&b.samples, &|s| s.makespan_s) } else { None })
        .collect();
    let measured: Vec<Spread> = makespans.iter().flatten().copied().collect();
    let Some(fastest) = measured.iter().copied().min_by(|a, b| a.median.total_cmp(&b.median)) else { return };
    let ranks = crate::stats::ranks(&measured);
    let mut next_rank = ranks.into_iter();
    for (b, makespan) in cell.backends.iter_mut().zip(makespans) {
        let Some(makespan) = makespan else { continue };
        let s = &b.samples;
        let ideal = b.ideal_s;
        let with_ideal = |f: &dyn Fn(&Sample) -> f64| (ideal > 0.0).then(|| per(s, f)).flatten();
        b.stats = Some(Stats {
            makespan_s: makespan,
            jobs_per_s: per(s, &|x| jobs / x.makespan_s).expect("samples exist"),
            overhead_ns: per(s, &|x| (x.makespan_s - ideal) * 1e9 / jobs.max(1.0)).expect("samples exist"),
            efficiency: with_ideal(&|x| ideal / x.makespan_s),
            makespan_over_ideal: with_ideal(&|x| x.makespan_s / ideal),
            cpu_s: per(s, &|x| x.user_s + x.sys_s).expect("samples exist"),
            max_rss_mib: per(s, &|x| x.max_rss_kib as f64 / 1024.0).expect("samples exist"),
            ratio_to_fastest: makespan.ratio_to(&fastest),
            rank: next_rank.next().expect("one rank per measured backend"),
            indistinguishable_from_fastest: makespan.overlaps(&fastest),
        });
    }
    cell.backends.sort_by(|a, b| match (&a.stats, &b.stats) {
        (Some(x), Some(y)) => x.makespan_s.median.total_cmp(&y.makespan_s.median),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.backend.cmp(&b.backend),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_makespan_from_the_quiet_summary() {
        let line = "pool-std: 100 jobs on 2 workers (noop): 100 finished, 0 failed in 0.012000 s; results check out (sum 10100)\n";
        assert_eq!(pool_seconds(line), Some(0.012));
        assert_eq!(pool_seconds("error: something\n"), None);
    }

    #[test]
    fn every_backend_leads_a_round_in_turn() {
        let firsts: Vec<u32> = (0..4).map(|r| rotated(&[1, 2, 3], r)[0]).collect();
        assert_eq!(firsts, [1, 2, 3, 1]);
    }

    #[test]
    fn tracing_cost_is_per_job_with_the_widest_interval() {
        let c = tracing_cost(&[0.30, 0.32, 0.31], &[0.10, 0.11, 0.12], 1_000_000).unwrap();
        assert!((c.median - 200.0).abs() < 1e-6 && (c.lo - 180.0).abs() < 1e-6 && (c.hi - 220.0).abs() < 1e-6);
        assert!(tracing_cost(&[0.3], &[], 10).is_none());
    }
}
