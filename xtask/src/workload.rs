//! The benchmark matrix (which workloads, sizes and worker counts) and the
//! ideal makespan each cell is judged against.

use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use pool_spec::{Format, JobId, Kind, LoggedOutcome, RunSpec, RunSummary, Span, Summary};
use serde::Serialize;

use crate::program::Program;

/// A workload family of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// `noop` jobs: the per-job cost of the handoff.
    Overhead,
    /// `noop` jobs by the ten million at 2 workers, whole process: the
    /// tuned flavors' and the shared path's targets, where a run is long
    /// enough that process start is a small share (and is measured: each
    /// round also runs every program with 0 jobs).
    Throughput,
    /// `sleep:10ms` jobs: waiting, like I/O, with many workers.
    Sleep,
    /// `spin:100us` jobs: CPU work at 1, 2 and 2x cores workers.
    Cpu,
    /// `spin:` jobs of widely varying length: load balancing.
    Skewed,
    /// The seed: 3 workers, 5 jobs of `sleep:1s`, once.
    Seed,
    /// `noop` jobs few enough for a broker round trip each (20,000 at 1, 4
    /// and 16 workers): the cost of going distributed, in µs per job, beside
    /// the in-process pools.
    Broker,
    /// Jobs arriving over time (Poisson) at 2 workers, a ladder of offered
    /// loads per job shape: latency from arrival against load, and where
    /// each pool saturates.
    Arrivals,
    /// A cell of the user's own (`--cell`): the one shape they have.
    #[value(skip)]
    Custom,
}

impl Family {
    /// Every workload, in report order.
    pub const ALL: [Family; 8] = [
        Family::Overhead,
        Family::Throughput,
        Family::Broker,
        Family::Sleep,
        Family::Cpu,
        Family::Skewed,
        Family::Arrivals,
        Family::Seed,
    ];

    /// Short name, as in reports and `--workloads`.
    pub fn name(self) -> &'static str {
        match self {
            Family::Overhead => "overhead",
            Family::Throughput => "throughput",
            Family::Sleep => "sleep",
            Family::Cpu => "cpu",
            Family::Skewed => "skewed",
            Family::Seed => "seed",
            Family::Broker => "broker",
            Family::Arrivals => "arrivals",
            Family::Custom => "custom",
        }
    }
}

/// What becomes of the sequential baseline in a cell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "reason")]
pub enum Baseline {
    /// Run in this cell, in the same rounds as the backends.
    Measured,
    /// Run in another cell of the same workload (it has one worker whatever
    /// the backends have).
    InFirstCell,
    /// Not run, for the reason given.
    NotRun(String),
}

/// One cell of the matrix: a workload at one size and worker count.
#[derive(Clone, Debug)]
pub struct Cell {
    /// The family.
    pub workload: Family,
    /// The run the pools do here, quiet: workers, jobs, work, seed. What
    /// each program is given is [`Cell::run_for`].
    run: RunSpec,
    /// What a correct quiet run of it says, from `run`'s expected summary;
    /// made once, on first use (a million jobs make a large summary).
    expected: OnceLock<ExpectedLine>,
    /// Whether the sequential baseline runs here.
    pub baseline: Baseline,
    /// Run once, with no warmup (the seed: it takes 2 s and is the story,
    /// not a statistic).
    pub once: bool,
    /// A round takes seconds (ten million jobs through the textbook
    /// flavors): no warmup round (the run is long enough to be its own, and
    /// the cell follows the `overhead` cells, which just ran every binary),
    /// and adaptive rounds stop at the stopping rule's minimum.
    pub heavy: bool,
    /// The same run with 0 jobs, run by every program right after its
    /// counted run in each round, so the whole process can be taken less
    /// its start (see `Sample::start_wall_s`); `None`: not measured here.
    pub start: Option<Box<Cell>>,
}

/// The longest the sequential baseline may take per run; longer loops are
/// not run (their makespan is the total work, known without running).
const BASELINE_LIMIT: Duration = Duration::from_secs(2);

impl Cell {
    fn new(workload: Family, spec: &str, workers: u32, jobs: u64) -> Self {
        let run = RunSpec::new(workers, jobs, spec.parse().expect("matrix specs parse")).format(None);
        Cell {
            workload,
            run,
            expected: OnceLock::new(),
            baseline: Baseline::InFirstCell,
            once: false,
            heavy: false,
            start: None,
        }
    }

    /// A cell timed as whole processes, each less its start: see
    /// [`Cell::heavy`] and [`Cell::start`].
    fn whole_process(workload: Family, spec: &str, workers: u32, jobs: u64) -> Self {
        let start = Cell::new(workload, spec, workers, 0);
        Cell { heavy: true, start: Some(Box::new(start)), ..Cell::new(workload, spec, workers, jobs) }
    }

    /// The pools' run of this cell (quiet, textbook).
    pub fn run(&self) -> &RunSpec {
        &self.run
    }

    /// The run `program` is given here (see [`Program::given`]), logged in
    /// `format` (`None`: quiet). Its [`RunSpec::args`] are the flags.
    pub fn run_for(&self, program: Program, format: Option<Format>) -> RunSpec {
        program.given(&self.run).format(format)
    }

    /// What a correct quiet run of this cell says on its summary line.
    pub fn expected_line(&self) -> &ExpectedLine {
        self.expected.get_or_init(|| ExpectedLine::of(&self.run.expected()))
    }

    /// A cell of the user's own: `run`'s workers, jobs, work and seed.
    pub fn custom(run: &RunSpec) -> Self {
        let arrival = run.arrival;
        let mut run = RunSpec::new(run.workers, run.jobs, run.work).seed(run.seed).format(None);
        run.arrival = arrival;
        let cell = Cell { run, ..Cell::new(Family::Custom, "noop", 1, 0) };
        with_baseline(vec![cell]).pop().expect("one cell")
    }

    /// A one-line name: `cpu spin:100us, 10000 jobs, 2 workers` (and how
    /// they arrive, if over time).
    pub fn label(&self) -> String {
        let arriving = self.run.arrival.map_or(String::new(), |a| format!(", arriving {a}"));
        format!(
            "{} {}, {} jobs, {} workers{arriving}",
            self.workload.name(),
            self.run.work,
            self.run.jobs,
            self.run.workers
        )
    }

    /// A guess of one run's duration, for the progress bar's ETA only.
    pub fn estimate(&self, cores: u32, baseline: bool) -> Duration {
        let startup = Duration::from_millis(20) + Duration::from_micros(100) * self.run.workers;
        let (total, _) = total_work(&self.run);
        let handoff = Duration::from_nanos(150) * u32::try_from(self.run.jobs).unwrap_or(u32::MAX);
        let start = self.start.as_ref().map_or(Duration::ZERO, |s| s.estimate(cores, baseline));
        if baseline {
            return start + startup + total + handoff / 4;
        }
        start + startup + ideal_makespan(&self.run, cores) + handoff
    }
}

/// What a correct quiet run's summary line says, taken from the run's
/// expected summary ([`RunSpec::expected`], the one owner of that fact):
/// how many jobs finish and fail, and what their results add up to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpectedLine {
    /// Jobs that finish.
    pub finished: u64,
    /// Jobs that fail.
    pub failed: u64,
    /// The sum of the finished jobs' results.
    pub sum: u128,
}

impl ExpectedLine {
    /// The line a run whose expected summary is `expected` prints; the
    /// summary must record results (a quiet or JSON-lines run's does).
    pub fn of(expected: &Summary) -> Self {
        let (finished, failed, _) = expected.counts();
        let sum = expected
            .started()
            .map(|(_, o)| match o {
                LoggedOutcome::Finished(Some(r)) => u128::from(*r),
                _ => 0,
            })
            .sum();
        ExpectedLine { finished, failed, sum }
    }

    /// Judges the summary line of a quiet run of `run`: it must describe
    /// that run (jobs, workers, work), count what a correct one does, and
    /// have its results check out to the expected sum. `Err` says the first
    /// difference, in one line.
    pub fn judge(&self, run: &RunSpec, line: &RunSummary) -> Result<(), String> {
        if (line.jobs, line.workers, line.work) != (run.jobs, run.workers, run.work) {
            return Err(format!(
                "it ran {} jobs on {} workers ({}), not the {} jobs on {} workers ({}) it was given",
                line.jobs, line.workers, line.work, run.jobs, run.workers, run.work
            ));
        }
        if (line.finished, line.failed) != (self.finished, self.failed) {
            return Err(format!(
                "{} finished and {} failed, expected {} and {}",
                line.finished, line.failed, self.finished, self.failed
            ));
        }
        match line.checked_sum {
            None => Err("its results did not check out".to_owned()),
            Some(sum) if sum != self.sum => Err(format!("its results add up to {sum}, expected {}", self.sum)),
            Some(_) => Ok(()),
        }
    }
}

/// Reads a `--cell`: `w=N j=N work=SPEC`, in any order, `seed=N` too;
/// `workers=` and `jobs=` are the long names. The one line of an error says
/// what was wrong.
pub fn parse_cell(text: &str) -> Result<RunSpec, String> {
    let (mut workers, mut jobs, mut work, mut seed, mut arrival) = (None, None, None, None, None);
    for field in text.split_whitespace() {
        let (key, value) = field.split_once('=').ok_or_else(|| {
            format!("'{field}' is not KEY=VALUE (expected w=N j=N work=SPEC, as 'w=8 j=100000 work=spin:50us~5ms')")
        })?;
        let number = |what: &str| value.parse::<u64>().map_err(|_| format!("{what} '{value}' is not a whole number"));
        match key {
            "w" | "workers" => {
                let n = number("workers")?;
                workers =
                    Some(u32::try_from(n).ok().filter(|&n| n >= 1).ok_or("workers must be from 1 to 4294967295")?);
            }
            "j" | "jobs" => jobs = Some(number("jobs")?),
            "work" => work = Some(value.parse().map_err(|e| format!("work '{value}': {e}"))?),
            "seed" => seed = Some(number("seed")?),
            "arrival" => arrival = Some(value.parse().map_err(|e| format!("arrival '{value}': {e}"))?),
            other => return Err(format!("unknown key '{other}' (expected w, j, work, seed, arrival)")),
        }
    }
    let missing: Vec<&str> = [("w", workers.is_none()), ("j", jobs.is_none()), ("work", work.is_none())]
        .iter()
        .filter(|m| m.1)
        .map(|m| m.0)
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing {} (expected w=N j=N work=SPEC)", missing.join(", ")));
    }
    let (workers, jobs, work) = (workers.unwrap_or(1), jobs.unwrap_or(0), work.expect("checked"));
    if jobs == 0 {
        return Err("j must be at least 1: a cell of no jobs has nothing to time".to_owned());
    }
    if arrival.is_some() && jobs > pool_spec::MAX_ARRIVING_JOBS {
        return Err(format!("with arrival= at most {} jobs", pool_spec::MAX_ARRIVING_JOBS));
    }
    let mut run = RunSpec::new(workers, jobs, work);
    run.seed = seed.unwrap_or(run.seed);
    run.arrival = arrival;
    Ok(run)
}

/// The job shapes of the arrivals family, each with its ladder of offered
/// loads (jobs a second, Poisson) at 2 workers: from light to past what the
/// slower pools take. A run lasts about [`ARRIVAL_RUN`] of arrivals.
pub const ARRIVAL_LADDERS: [(&str, &[u64]); 3] = [
    ("noop", &[10_000, 100_000, 1_000_000]),
    ("spin:20us", &[20_000, 60_000, 90_000]),
    ("sleep:1ms", &[500, 1_500, 1_900]),
];

/// How long a run of the arrivals family lasts, in arrivals.
pub const ARRIVAL_RUN: Duration = Duration::from_millis(200);

/// The arrivals family's cells: each shape at each rung of its ladder (the
/// lightest of each with `--quick`). The references take no arrivals; the
/// sequential baseline runs the lightest rung only, where one thread keeps
/// up: its latency there is the machine's own floor (a sleeping thread's
/// wake-up), with no hand-off at all.
fn arrival_cells(quick: bool) -> Vec<Cell> {
    let mut cells = Vec::new();
    for (spec, ladder) in ARRIVAL_LADDERS {
        for (rung, &rate) in (if quick { &ladder[..1] } else { ladder }).iter().enumerate() {
            let jobs = (rate as f64 * ARRIVAL_RUN.as_secs_f64()) as u64;
            let mut cell = Cell::new(Family::Arrivals, spec, 2, jobs.max(200));
            cell.run.arrival = Some(pool_spec::Arrival::Poisson { rate: rate as f64 });
            cell.baseline = if rung == 0 {
                Baseline::Measured
            } else {
                Baseline::NotRun("the lightest load only, where one thread keeps up".to_owned())
            };
            cells.push(cell);
        }
    }
    cells
}

/// A cell of the full matrix that the findings name: the matrix is built
/// from these and the targets find their cells by them, so each is written
/// once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Named {
    /// Its workload.
    pub family: Family,
    /// Its work spec.
    pub spec: &'static str,
    /// Its workers.
    pub workers: u32,
    /// Its jobs.
    pub jobs: u64,
}

/// Waiting jobs, 100 workers: the traced sleep cell.
pub const SLEEP_100: Named = Named { family: Family::Sleep, spec: "sleep:10ms", workers: 100, jobs: 1_000 };
/// Waiting jobs, 10,000 workers.
pub const SLEEP_10K: Named = Named { family: Family::Sleep, spec: "sleep:10ms", workers: 10_000, jobs: 100_000 };
/// Uniform CPU work at 2 workers: the traced CPU cell.
pub const SPIN_2: Named = Named { family: Family::Cpu, spec: "spin:100us", workers: 2, jobs: 10_000 };

impl Named {
    /// The cell to run.
    pub fn cell(self) -> Cell {
        Cell::new(self.family, self.spec, self.workers, self.jobs)
    }
}

impl fmt::Display for Named {
    /// "`sleep:10ms` 100 × 1,000", as the report names the cell.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = crate::units::thousands;
        write!(f, "`{}` {} × {}", self.spec, n(u64::from(self.workers)), n(self.jobs))
    }
}

/// The matrix: full size, or small for `--quick`. `cores` sets the "2x
/// cores" worker count of the CPU workloads.
pub fn matrix(quick: bool, cores: u32, wanted: &[Family]) -> Vec<Cell> {
    let mut cells = Vec::new();
    let twice = (2 * cores).max(2);
    for &workload in wanted {
        let group: Vec<Cell> = match (workload, quick) {
            (Family::Overhead, false) => {
                [1, 2, 4, 8].into_iter().map(|w| Cell::new(workload, "noop", w, 1_000_000)).collect()
            }
            (Family::Overhead, true) => [1, 2].into_iter().map(|w| Cell::new(workload, "noop", w, 100_000)).collect(),
            (Family::Throughput, false) => vec![Cell::whole_process(workload, "noop", 2, 10_000_000)],
            (Family::Throughput, true) => vec![Cell::whole_process(workload, "noop", 2, 1_000_000)],
            (Family::Sleep, false) => vec![SLEEP_100.cell(), SLEEP_10K.cell()],
            (Family::Sleep, true) => vec![Cell::new(workload, "sleep:10ms", 20, 100)],
            (Family::Cpu, false) => {
                dedup([1, 2, twice]).into_iter().map(|w| Named { workers: w, ..SPIN_2 }.cell()).collect()
            }
            (Family::Cpu, true) => [1, 2].into_iter().map(|w| Cell::new(workload, "spin:100us", w, 1_000)).collect(),
            (Family::Skewed, false) => {
                dedup([2, twice]).into_iter().map(|w| Cell::new(workload, "spin:10us~20ms", w, 400)).collect()
            }
            (Family::Skewed, true) => vec![Cell::new(workload, "spin:10us~20ms", 2, 40)],
            (Family::Seed, false) => vec![Cell { once: true, ..Cell::new(workload, "sleep:1s", 3, 5) }],
            // The seed takes 2 s a run; --quick verifies it but does not time it.
            (Family::Seed, true) => vec![],
            (Family::Broker, false) => [1, 4, 16]
                .into_iter()
                .map(|w| Cell::new(workload, "noop", w, crate::program::MICROS_MAX_JOBS))
                .collect(),
            (Family::Broker, true) => [1, 4].into_iter().map(|w| Cell::new(workload, "noop", w, 2_000)).collect(),
            (Family::Arrivals, quick) => arrival_cells(quick),
            // The user's cells come from `--cell` (see `Cell::custom`).
            (Family::Custom, _) => vec![],
        };
        if workload == Family::Arrivals {
            cells.extend(group);
            continue;
        }
        cells.extend(with_baseline(group));
    }
    cells
}

/// A traced cell: runs with `--format jsonl` for latency, apart from the
/// timed matrix (timestamps cost more than a `noop` handoff).
#[derive(Clone, Debug)]
pub struct TraceCell {
    /// The cell traced.
    pub cell: Cell,
    /// Traced runs per backend.
    pub rounds: u32,
    /// Whether each traced run is paired with a quiet run of the same cell,
    /// to measure what tracing costs per job.
    pub against_quiet: bool,
}

/// The traced runs: `noop` at 2 workers (paired with quiet runs, for the
/// cost of tracing), and one run each of the sleep, CPU and skewed shapes.
pub fn trace_matrix(quick: bool, wanted: &[Family], counted_runs: u32) -> Vec<TraceCell> {
    let mut traces = Vec::new();
    for &workload in wanted {
        let (cell, rounds, against_quiet) = match (workload, quick) {
            (Family::Overhead, false) => (Cell::new(workload, "noop", 2, 100_000), counted_runs, true),
            (Family::Overhead, true) => (Cell::new(workload, "noop", 2, 20_000), counted_runs, true),
            (Family::Sleep, false) => (SLEEP_100.cell(), 1, false),
            (Family::Sleep, true) => (Cell::new(workload, "sleep:10ms", 20, 100), 1, false),
            (Family::Cpu, false) => (SPIN_2.cell(), 1, false),
            (Family::Cpu, true) => (Cell::new(workload, "spin:100us", 2, 1_000), 1, false),
            (Family::Skewed, false) => (Cell::new(workload, "spin:10us~20ms", 2, 400), 1, false),
            (Family::Skewed, true) => (Cell::new(workload, "spin:10us~20ms", 2, 40), 1, false),
            (Family::Seed | Family::Broker | Family::Throughput | Family::Arrivals | Family::Custom, _) => continue,
        };
        let mut cell = cell;
        cell.baseline =
            if against_quiet { Baseline::Measured } else { Baseline::NotRun("latency of the pools only".to_owned()) };
        traces.push(TraceCell { cell, rounds, against_quiet });
    }
    traces
}

/// One traced run of each of the user's cells: their latency, apart from
/// the timed rounds.
pub fn custom_traces(cells: &[Cell]) -> Vec<TraceCell> {
    let latency_only = Baseline::NotRun("latency of the pools only".to_owned());
    cells
        .iter()
        // Jobs arriving over time have their latency from the summary line,
        // counted from each arrival; a trace's times count from the start.
        .filter(|c| c.run.arrival.is_none())
        .map(|c| TraceCell {
            cell: Cell { baseline: latency_only.clone(), ..c.clone() },
            rounds: 1,
            against_quiet: false,
        })
        .collect()
}

fn dedup<const N: usize>(workers: [u32; N]) -> Vec<u32> {
    let mut v = workers.to_vec();
    v.dedup();
    v
}

/// The sequential baseline runs once per workload, in its first cell, when
/// a loop over the jobs is short enough to run.
fn with_baseline(mut group: Vec<Cell>) -> Vec<Cell> {
    if let Some(first) = group.first_mut() {
        let (total, _) = total_work(&first.run);
        first.baseline = if total <= BASELINE_LIMIT {
            Baseline::Measured
        } else {
            Baseline::NotRun(format!(
                "a loop over these jobs takes their total work, {}, per run",
                humantime::format_duration(round_ms(total))
            ))
        };
    }
    group
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64)
}

/// The total work of a run's jobs and the longest job, from the same
/// per-job durations the backends use.
pub fn total_work(run: &RunSpec) -> (Duration, Duration) {
    let (work, jobs) = (run.work(), run.jobs);
    match work.spec().span {
        _ if work.spec().kind == Kind::Noop => (Duration::ZERO, Duration::ZERO),
        Span::Fixed(d) => {
            (d.saturating_mul(u32::try_from(jobs).unwrap_or(u32::MAX)), if jobs > 0 { d } else { Duration::ZERO })
        }
        Span::Uniform { .. } | Span::LogUniform { .. } => (1..=jobs)
            .map(|j| work.duration(JobId(j)))
            .fold((Duration::ZERO, Duration::ZERO), |(t, m), d| (t + d, m.max(d))),
    }
}

/// The lower bound on a run's makespan, with no pool overhead at all:
///
/// - `noop`: zero;
/// - uniform sleeps: `ceil(J / W) × d` (W sleep at once, then the next W);
/// - ranged sleeps: `max(total / W, longest)`;
/// - CPU work: `max(total / min(W, cores), longest)` (no more than `cores`
///   jobs compute at once, and no job splits).
pub fn ideal_makespan(run: &RunSpec, cores: u32) -> Duration {
    let (total, longest) = total_work(run);
    let (workers, jobs) = (run.workers.max(1), run.jobs);
    // Jobs arriving over time: no run ends before the last arrives.
    let last = run.arrival.and_then(|a| a.schedule(jobs, run.seed).at(JobId(jobs))).unwrap_or_default();
    last.max(match (run.work.kind, run.work.span) {
        (Kind::Noop, _) => Duration::ZERO,
        (Kind::Sleep, Span::Fixed(d)) => {
            d.saturating_mul(u32::try_from(jobs.div_ceil(u64::from(workers))).unwrap_or(u32::MAX))
        }
        (Kind::Sleep, Span::Uniform { .. } | Span::LogUniform { .. }) => (total / workers).max(longest),
        (Kind::Spin, _) => (total / workers.min(cores.max(1))).max(longest),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pool_spec::Work;

    fn ideal(spec: &str, workers: u32, jobs: u64, cores: u32) -> Duration {
        ideal_makespan(&RunSpec::new(workers, jobs, spec.parse().unwrap()), cores)
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_users_cell_reads_in_the_binaries_terms() {
        let run = parse_cell("w=8 j=100000 work=spin:50us~5ms").unwrap();
        assert_eq!((run.workers, run.jobs, run.work.to_string()), (8, 100_000, "spin:50us~5ms".to_owned()));
        let long = parse_cell(" work=sleep:30ms  jobs=2000 workers=200 seed=7 ").unwrap();
        assert_eq!((long.workers, long.jobs, long.seed), (200, 2_000, 7));
        for (bad, says) in [
            ("w=8 j=10", "missing work"),
            ("w=0 j=1 work=noop", "workers must be from 1"),
            ("w=2 j=0 work=noop", "j must be at least 1"),
            ("w=2 j=x work=noop", "jobs 'x' is not a whole number"),
            ("w=2 j=5 work=nap:1s", "work 'nap:1s'"),
            ("w=2 j=5 work=noop colour=red", "unknown key 'colour'"),
            ("8 100 noop", "'8' is not KEY=VALUE"),
            ("w=2 j=5 work=noop arrival=burst:9", "arrival 'burst:9'"),
            ("w=2 j=100000000 work=noop arrival=poisson:9", "with arrival= at most"),
        ] {
            let err = parse_cell(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
        // Jobs that arrive over time: carried into the cell, untraced, and no
        // run can end before the last arrives (uniform at 1,000/s: 99 ms).
        let arriving = parse_cell("w=2 j=100 work=noop arrival=uniform:1000").unwrap();
        assert_eq!(arriving.arrival, Some(pool_spec::Arrival::Uniform { rate: 1000.0 }));
        let arriving = Cell::custom(&arriving);
        assert_eq!(arriving.run().arrival, Some(pool_spec::Arrival::Uniform { rate: 1000.0 }));
        assert!(arriving.label().ends_with(", arriving uniform:1000"), "{}", arriving.label());
        assert!(custom_traces(std::slice::from_ref(&arriving)).is_empty());
        assert_eq!(ideal_makespan(arriving.run(), 2), 99 * MS);
        // Timed quiet, in its own family, with the baseline where a loop is short.
        let cell = Cell::custom(&run.clone().format(Some(Format::Jsonl)));
        assert_eq!((cell.workload, cell.run().format), (Family::Custom, None));
        assert!(matches!(cell.baseline, Baseline::NotRun(_)), "100,000 jobs of up to 5 ms: too long a loop");
        let small = Cell::custom(&parse_cell("w=2 j=100 work=spin:100us").unwrap());
        assert_eq!(small.baseline, Baseline::Measured);
        assert_eq!(custom_traces(&[small]).len(), 1);
    }

    #[test]
    fn uniform_sleeps_go_in_waves_of_w() {
        assert_eq!(ideal("sleep:10ms", 100, 1_000, 2), 100 * MS);
        assert_eq!(ideal("sleep:10ms", 10_000, 100_000, 2), 100 * MS);
        assert_eq!(ideal("sleep:1s", 3, 5, 2), 2000 * MS, "the seed: two waves");
        assert_eq!(ideal("sleep:10ms", 100, 1_001, 2), 110 * MS, "a partial wave counts");
        assert_eq!(ideal("sleep:10ms", 4, 0, 2), Duration::ZERO);
    }

    #[test]
    fn cpu_work_is_limited_by_cores_and_the_longest_job() {
        assert_eq!(ideal("spin:100us", 1, 10_000, 2), 1000 * MS);
        assert_eq!(ideal("spin:100us", 2, 10_000, 2), 500 * MS);
        assert_eq!(ideal("spin:100us", 4, 10_000, 2), 500 * MS, "more workers than cores do not help");
        assert_eq!(ideal("spin:10ms", 4, 2, 8), 10 * MS, "no job splits");
        assert_eq!(ideal("noop", 2, 1_000_000, 2), Duration::ZERO);
    }

    #[test]
    fn ranged_work_sums_the_backends_own_durations() {
        let run = RunSpec::new(2, 50, "spin:1ms..9ms".parse().unwrap()).seed(7);
        let (total, longest) = total_work(&run);
        let work = Work::new(run.work, 7);
        let sum: Duration = (1..=50).map(|j| work.duration(JobId(j))).sum();
        assert_eq!(total, sum);
        assert!(longest <= 9 * MS && longest >= MS);
        assert_eq!(ideal_makespan(&run, 2), (sum / 2).max(longest));
        let wide = RunSpec { workers: 1000, ..run };
        assert_eq!(ideal_makespan(&wide, 1000), longest, "with a worker per job, the longest job");
    }

    #[test]
    fn the_baseline_runs_once_per_workload_when_short() {
        let cells = matrix(false, 2, &[Family::Cpu, Family::Sleep, Family::Overhead]);
        let cpu: Vec<_> = cells.iter().filter(|c| c.workload == Family::Cpu).collect();
        assert_eq!(cpu.iter().map(|c| c.run().workers).collect::<Vec<_>>(), [1, 2, 4]);
        assert_eq!(cpu[0].baseline, Baseline::Measured);
        assert_eq!(cpu[1].baseline, Baseline::InFirstCell);
        let sleep = cells.iter().find(|c| c.workload == Family::Sleep).unwrap();
        assert!(matches!(&sleep.baseline, Baseline::NotRun(why) if why.contains("10s")), "{:?}", sleep.baseline);
    }

    #[test]
    fn throughput_is_one_cell_of_ten_million_with_its_start_measured() {
        let full = matrix(false, 2, &[Family::Throughput]);
        let [cell] = &full[..] else { panic!("one cell: {full:?}") };
        let run = cell.run();
        assert_eq!((run.workers, run.jobs, run.work.to_string()), (2, 10_000_000, "noop".to_owned()));
        assert_eq!(cell.baseline, Baseline::Measured);
        assert!(cell.heavy && !cell.once);
        let start = cell.start.as_ref().expect("a 0-job run");
        assert_eq!((start.run().workers, start.run().jobs, start.run().work), (2, 0, run.work));
        assert_eq!(*start.expected_line(), ExpectedLine { finished: 0, failed: 0, sum: 0 });
        let quick = matrix(true, 2, &[Family::Throughput]);
        assert_eq!(quick.iter().map(|c| (c.run().workers, c.run().jobs)).collect::<Vec<_>>(), [(2, 1_000_000)]);
        // Every program of the overhead cells runs it but the broker's.
        let all: Vec<Program> = Program::all().collect();
        let overhead = matrix(false, 2, &[Family::Overhead]);
        let ran = |c: &Cell| crate::bench::participants(c, &all, &std::collections::BTreeMap::new());
        assert_eq!(ran(cell), ran(&overhead[0]));
        assert!(
            ran(cell).contains(&Program::known("gobyexample")) && ran(cell).contains(&Program::known("sequential"))
        );
        assert!(!ran(cell).iter().any(|p| p.is_micros()));
        // The other families are as they were: no start runs, warmups.
        for c in matrix(false, 2, &Family::ALL).iter().filter(|c| c.workload != Family::Throughput) {
            assert!(c.start.is_none() && !c.heavy, "{}", c.label());
        }
        assert!(trace_matrix(false, &[Family::Throughput], 6).is_empty(), "nothing logged at ten million");
    }

    fn flags(cell: &Cell, program: &str, format: Option<Format>) -> Vec<String> {
        cell.run_for(Program::known(program), format).args()
    }

    #[test]
    fn each_program_is_given_the_cells_run_in_its_own_form() {
        let cell = Cell::new(Family::Cpu, "spin:100us", 4, 10_000);
        let seed = format!("--seed={}", pool_spec::DEFAULT_SEED);
        let quiet =
            |w: &str| vec![format!("--workers={w}"), "--jobs=10000".into(), "--work=spin:100us".into(), seed.clone()];
        assert_eq!(flags(&cell, "std", None), [quiet("4"), vec!["--quiet".into()]].concat());
        assert_eq!(
            flags(&cell, "std-tuned", None),
            [quiet("4"), vec!["--flavor=tuned".into(), "--quiet".into()]].concat()
        );
        assert_eq!(flags(&cell, "sequential", None), [quiet("1"), vec!["--quiet".into()]].concat(), "one worker");
        assert_eq!(flags(&cell, "bare-loop", None)[0], "--workers=1");
        assert_eq!(flags(&cell, "gobyexample", None)[0], "--workers=4");
        assert_eq!(
            flags(&cell, "rayon-tuned", Some(Format::Jsonl)),
            [quiet("4"), vec!["--flavor=tuned".into(), "--format=jsonl".into()]].concat()
        );
        // The traced run's expected summary is the checker's, at the
        // program's own worker count.
        let traced = cell.run_for(Program::known("sequential"), Some(Format::Jsonl));
        assert_eq!(traced.expected(), Summary::expected(1, 10_000, true));
    }

    fn line(run: &RunSpec) -> RunSummary {
        RunSummary {
            program: "pool-std".into(),
            jobs: run.jobs,
            workers: run.workers,
            work: run.work,
            finished: run.jobs,
            failed: 0,
            never_started: None,
            elapsed: MS,
            failed_jobs: Vec::new(),
            failed_unlisted: 0,
            checked_sum: Some(u128::from(run.jobs) * u128::from(run.jobs + 1)),
            latency: None,
        }
    }

    #[test]
    fn a_quiet_runs_line_is_judged_against_the_runs_expected_summary() {
        let cell = Cell::new(Family::Overhead, "noop", 2, 1_000);
        let want = *cell.expected_line();
        assert_eq!(want, ExpectedLine { finished: 1_000, failed: 0, sum: 1_000 * 1_001 });
        let run = cell.run_for(Program::known("gobyexample"), None);
        assert_eq!(want.judge(&run, &line(&run)), Ok(()));
        let baseline = cell.run_for(Program::known("sequential"), None);
        assert_eq!(want.judge(&baseline, &line(&baseline)), Ok(()), "one line owns every worker count");

        // A program that ignored --workers, lost a job, summed wrong, or
        // whose own check failed.
        let wrong = |change: &dyn Fn(&mut RunSummary)| {
            let mut l = line(&run);
            change(&mut l);
            want.judge(&run, &l).unwrap_err()
        };
        assert_eq!(
            wrong(&|l| l.workers = 3),
            "it ran 1000 jobs on 3 workers (noop), not the 1000 jobs on 2 workers (noop) it was given"
        );
        assert_eq!(wrong(&|l| l.finished = 999), "999 finished and 0 failed, expected 1000 and 0");
        assert_eq!(wrong(&|l| l.checked_sum = Some(7)), "its results add up to 7, expected 1001000");
        assert_eq!(wrong(&|l| l.checked_sum = None), "its results did not check out");
    }

    #[test]
    fn failed_jobs_count_and_leave_the_sum() {
        let run = RunSpec::new(2, 10, "noop".parse().unwrap()).format(None).panics([3, 7]);
        assert_eq!(ExpectedLine::of(&run.expected()), ExpectedLine { finished: 8, failed: 2, sum: 110 - 20 });
    }
}
