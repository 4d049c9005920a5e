//! What a comparison measured, as data: every counted run ([`Sample`]), the
//! figures derived from them ([`Stats`]), each program in each cell
//! ([`ProgramResult`]), the paired ratios ([`Pair`]), and the traced runs
//! ([`TraceResult`]). The runner fills these in, the analysis derives the
//! figures, the report renders them; `results.json` is their serialisation.

use serde::Serialize;

use crate::latency::Percentiles;
use crate::program::Program;
use crate::stats::{Interval, Spread, Stop};
use crate::workload::{Baseline, Family};

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
    /// exit with no jobs (cells with [`Cell::start`](crate::workload::Cell::start) only).
    pub start_wall_s: Option<f64>,
    /// User CPU time of the process, seconds.
    pub user_s: f64,
    /// System CPU time of the process, seconds.
    pub sys_s: f64,
    /// Peak resident set size of the process, KiB.
    pub max_rss_kib: u64,
    /// With jobs arriving over time, the run's latency from each job's
    /// arrival, as its summary line gave it.
    pub latency: Option<SampleLatency>,
}

/// A run's latency percentiles, microseconds.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct SampleLatency {
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// The slowest.
    pub max_us: f64,
}

impl From<pool_spec::Latency> for SampleLatency {
    fn from(l: pool_spec::Latency) -> Self {
        let us = |d: std::time::Duration| d.as_secs_f64() * 1e6;
        SampleLatency { p50_us: us(l.p50), p99_us: us(l.p99), p999_us: us(l.p999), max_us: us(l.max) }
    }
}

impl Sample {
    /// The figure programs are ranked and paired by in its cell: the p99
    /// latency in seconds when jobs arrive over time (every program's
    /// makespan is then about the schedule's), else the makespan.
    pub fn ranked_by(&self) -> f64 {
        self.latency.map_or(self.makespan_s, |l| l.p99_us * 1e-6)
    }
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
    /// With arrivals: latency p50, p99 and p99.9, µs, each a spread over
    /// the rounds.
    pub latency_us: Option<[Spread; 3]>,
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
    /// How jobs arrive, if over time (`poisson:RATE`, `uniform:RATE`).
    pub arrival: Option<String>,
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
    /// Whether this is the result of the matrix's cell `named`.
    pub fn is(&self, named: crate::workload::Named) -> bool {
        self.workload == named.family
            && self.spec == named.spec
            && self.workers == named.workers
            && self.jobs == named.jobs
    }

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
    /// Service less each job's planned duration, for finished jobs that
    /// had one: how late a sleep ends, how far a spin overran.
    pub over_plan: Option<Percentiles>,
    /// End-to-end CDF over all traced runs: (µs, fraction of jobs done).
    pub end_to_end_cdf: Vec<(u64, f64)>,
    /// Why it has no figures: a failed run or a log the checker rejected.
    pub failure: Option<String>,
}
