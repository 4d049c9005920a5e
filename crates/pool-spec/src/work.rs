//! The workload model: what one job does, parsed from a spec such as `sleep:1s`.
//!
//! Every backend runs the same [`Work`], so the same job id gets the same
//! duration everywhere: ranged durations are drawn from an RNG seeded by the
//! run's seed and the job id, not by the order in which jobs happen to run.

use std::fmt;
use std::hint::black_box;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::JobId;

/// The seed used when `--seed` is not given.
pub const DEFAULT_SEED: u64 = 0x5eed;

/// The longest duration a spec may name; longer is surely a typo.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// Jobs of at least this much work flush the log before they run, so a
/// person watching sees them start; a worker also flushes once the jobs it
/// has logged since its last flush add up to this much.
pub const LIVE: Duration = Duration::from_millis(1);

/// [`LIVE`] in nanoseconds, as a [`Plan`] counts.
pub const LIVE_NS: u64 = LIVE.as_nanos() as u64;

/// What a job does while it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Nothing: measures the pool's own cost.
    Noop,
    /// Waits without using the CPU, like I/O.
    Sleep,
    /// Computes for about the duration, using one core.
    Spin,
}

/// How long each job takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    /// Every job takes this long.
    Fixed(Duration),
    /// Each job's duration is drawn uniformly from `min..=max`.
    Uniform {
        /// Shortest duration.
        min: Duration,
        /// Longest duration.
        max: Duration,
    },
    /// Each job's duration is drawn log-uniformly from `min..=max`: every
    /// decade is equally likely, so most jobs are short and a few long ones
    /// carry most of the work (a skewed load, to test balancing).
    LogUniform {
        /// Shortest duration, above zero.
        min: Duration,
        /// Longest duration.
        max: Duration,
    },
}

/// A parsed work spec: `noop`, `sleep:DUR`, `spin:DUR`, a uniform range
/// `sleep:MIN..MAX` / `spin:MIN..MAX`, or a log-uniform (skewed) range
/// `sleep:MIN~MAX` / `spin:MIN~MAX`, where a duration is a number with a unit
/// (`ns`, `us`, `ms`, `s`), e.g. `250ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkSpec {
    /// What each job does.
    pub kind: Kind,
    /// How long it does it (zero for `noop`).
    pub span: Span,
}

/// Why a work spec could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError(String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

const SPEC_FORMS: &str =
    "expected noop, sleep:DUR, spin:DUR, sleep:MIN..MAX or spin:MIN..MAX, with DUR like 1s, 250ms, 100us";

fn parse_duration(s: &str) -> Result<Duration, SpecError> {
    if s.is_empty() {
        return Err(SpecError(format!("missing duration ({SPEC_FORMS})")));
    }
    let d = humantime::parse_duration(s).map_err(|e| SpecError(format!("bad duration '{s}': {e} ({SPEC_FORMS})")))?;
    if d > MAX_DURATION {
        return Err(SpecError(format!(
            "duration '{s}' is longer than the limit of {}",
            humantime::format_duration(MAX_DURATION)
        )));
    }
    Ok(d)
}

impl WorkSpec {
    /// Whether every job of this spec waits: `sleep` work whose shortest
    /// sleep is above zero. A job of no sleep at all (`sleep:0ms`, or drawn
    /// from `sleep:0ms..1ms`) needs no await, so an async tuned task runs
    /// it in its plain loop.
    pub fn every_job_sleeps(self) -> bool {
        let shortest = match self.span {
            Span::Fixed(d) => d,
            Span::Uniform { min, .. } | Span::LogUniform { min, .. } => min,
        };
        self.kind == Kind::Sleep && !shortest.is_zero()
    }
}

impl FromStr for WorkSpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Surrounding whitespace is ignored, as in every flag.
        let s = s.trim();
        if s == "noop" {
            return Ok(WorkSpec { kind: Kind::Noop, span: Span::Fixed(Duration::ZERO) });
        }
        let (kind, rest) = match s.split_once(':') {
            Some(("sleep", rest)) => (Kind::Sleep, rest),
            Some(("spin", rest)) => (Kind::Spin, rest),
            Some((other, _)) => return Err(SpecError(format!("unknown work kind '{other}' ({SPEC_FORMS})"))),
            None => return Err(SpecError(format!("unknown work spec '{s}' ({SPEC_FORMS})"))),
        };
        let range = |min: &str, max: &str| {
            let (min, max) = (parse_duration(min)?, parse_duration(max)?);
            if min > max {
                return Err(SpecError(format!("reversed range '{rest}': the minimum is above the maximum")));
            }
            Ok((min, max))
        };
        let span = if let Some((min, max)) = rest.split_once("..") {
            let (min, max) = range(min, max)?;
            Span::Uniform { min, max }
        } else if let Some((min, max)) = rest.split_once('~') {
            let (min, max) = range(min, max)?;
            if min.is_zero() {
                return Err(SpecError(format!("log-uniform range '{rest}' needs a minimum above zero")));
            }
            Span::LogUniform { min, max }
        } else {
            Span::Fixed(parse_duration(rest)?)
        };
        Ok(WorkSpec { kind, span })
    }
}

impl fmt::Display for WorkSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Kind::Noop => return f.write_str("noop"),
            Kind::Sleep => "sleep",
            Kind::Spin => "spin",
        };
        match self.span {
            Span::Fixed(d) => write!(f, "{kind}:{}", humantime::format_duration(d)),
            Span::Uniform { min, max } => {
                write!(f, "{kind}:{}..{}", humantime::format_duration(min), humantime::format_duration(max))
            }
            Span::LogUniform { min, max } => {
                write!(f, "{kind}:{}~{}", humantime::format_duration(min), humantime::format_duration(max))
            }
        }
    }
}

/// What one job will do, decided before it starts. Durations are whole
/// nanoseconds (at most [`MAX_DURATION`], so they fit), which keeps the checks
/// a quiet job makes on it to one compare each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Time to wait (sleep work), in nanoseconds.
    pub sleep_ns: u64,
    /// Iterations of the spin loop (CPU work).
    pub spin: u64,
    /// How long the job is meant to take, in nanoseconds.
    pub nominal_ns: u64,
}

impl Plan {
    /// Nothing to wait for, nothing to compute.
    const NOTHING: Plan = Plan { sleep_ns: 0, spin: 0, nominal_ns: 0 };

    /// The wait before the CPU part.
    #[inline]
    pub fn sleep(&self) -> Duration {
        Duration::from_nanos(self.sleep_ns)
    }

    /// How long the job is meant to take.
    #[inline]
    pub fn nominal(&self) -> Duration {
        Duration::from_nanos(self.nominal_ns)
    }
}

/// The work every job of a run does: a spec, the seed for ranged durations
/// and the jobs that are made to panic.
#[derive(Clone, Debug)]
pub struct Work {
    spec: WorkSpec,
    seed: u64,
    panic_on: Vec<JobId>,
}

impl Work {
    /// Work of this spec, with ranged durations drawn from `seed`.
    pub fn new(spec: WorkSpec, seed: u64) -> Self {
        Work { spec, seed, panic_on: Vec::new() }
    }

    /// Makes the given jobs panic instead of yielding their result (for
    /// testing failure handling).
    pub fn with_panics(mut self, jobs: impl IntoIterator<Item = JobId>) -> Self {
        self.panic_on.extend(jobs);
        self.panic_on.sort_unstable();
        self.panic_on.dedup();
        self
    }

    /// The spec this work was made from.
    pub fn spec(&self) -> WorkSpec {
        self.spec
    }

    /// The jobs made to panic, in order.
    pub fn panic_on(&self) -> &[JobId] {
        &self.panic_on
    }

    /// The seed ranged durations are drawn from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Whether `job` is made to panic.
    #[inline]
    pub fn panics(&self, job: JobId) -> bool {
        !self.panic_on.is_empty() && self.listed(job)
    }

    /// The search behind [`panics`](Self::panics), out of the per-job path
    /// (most runs make no job panic).
    #[cold]
    #[inline(never)]
    fn listed(&self, job: JobId) -> bool {
        self.panic_on.binary_search(&job).is_ok()
    }

    /// The nominal duration of `job`: the same for every backend.
    pub fn duration(&self, job: JobId) -> Duration {
        match self.spec.span {
            Span::Fixed(d) => d,
            Span::Uniform { min, max } => {
                let ns = self.rng(job).random_range(min.as_nanos() as u64..=max.as_nanos() as u64);
                Duration::from_nanos(ns)
            }
            Span::LogUniform { min, max } => {
                let (min, max) = (min.as_nanos() as f64, max.as_nanos() as f64);
                let u: f64 = self.rng(job).random();
                let ns = (min * (max / min).powf(u)).clamp(min, max);
                Duration::from_nanos(ns.round() as u64)
            }
        }
    }

    /// The RNG for `job`'s duration: seeded by the run's seed and the job id
    /// only, so the order jobs run in does not matter.
    fn rng(&self, job: JobId) -> Pcg64Mcg {
        Pcg64Mcg::seed_from_u64(self.seed ^ job.0.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// Calibrates the spin loop now if this work needs it, so that the cost
    /// is not paid inside a timed run.
    pub fn prepare(&self) {
        if self.spec.kind == Kind::Spin {
            spin_rate();
        }
    }

    /// Does `job` here, on this thread, with no pool around it: its wait,
    /// then its CPU work; returns its result. Panics if the job is made to
    /// panic. For references that time the work alone (a worker's jobs go
    /// through pool-core's `Worker`, which logs them).
    pub fn perform(&self, job: JobId) -> u64 {
        let plan = self.plan(job);
        if plan.sleep_ns > 0 {
            std::thread::sleep(plan.sleep());
        }
        self.compute(job, &plan)
    }

    /// The plan every job has, if the spec gives all jobs the same one (a
    /// fixed duration).
    pub fn uniform_plan(&self) -> Option<Plan> {
        match self.spec.span {
            Span::Fixed(_) => Some(self.plan(JobId(1))),
            Span::Uniform { .. } | Span::LogUniform { .. } => None,
        }
    }

    /// What `job` will do: its wait, its CPU work, its nominal time.
    #[inline]
    pub fn plan(&self, job: JobId) -> Plan {
        match self.spec.kind {
            Kind::Noop => Plan::NOTHING,
            Kind::Sleep => {
                let ns = self.duration(job).as_nanos() as u64;
                Plan { sleep_ns: ns, spin: 0, nominal_ns: ns }
            }
            Kind::Spin => {
                let d = self.duration(job);
                Plan { sleep_ns: 0, spin: spin_iterations(d), nominal_ns: d.as_nanos() as u64 }
            }
        }
    }

    /// The part of a job that runs on the worker's thread after any wait: the
    /// CPU work, then the result. Panics if the job is made to panic.
    #[inline]
    pub fn compute(&self, job: JobId, plan: &Plan) -> u64 {
        if plan.spin > 0 {
            black_box(spin(plan.spin));
        }
        if self.panics(job) {
            panic!("job {job} panicked (--panic-on)");
        }
        job.expected_result()
    }

    /// [`compute`](Self::compute) for jobs `first..end`, all with `plan`,
    /// each result appended to `results`, in order. The checks every job
    /// shares (whether it spins, whether any job is made to panic) are made
    /// once, so jobs with no work are a plain loop of stores. If a job
    /// panics, `results` holds the results of the jobs before it.
    #[inline]
    pub fn compute_run(&self, first: u64, end: u64, plan: &Plan, results: &mut Vec<u64>) {
        if plan.spin == 0 && self.panic_on.is_empty() {
            results.extend((first..end).map(|j| JobId(j).expected_result()));
        } else {
            for job in first..end {
                results.push(self.compute(JobId(job), plan));
            }
        }
    }
}

/// CPU work the optimiser cannot remove: a chain of dependent multiply-xorshift
/// steps whose result is observed through `black_box`. Never inlined: a job
/// that spins runs for microseconds, and the loop inlined made every job's
/// path (a no-op's too) longer.
#[inline(never)]
fn spin(iterations: u64) -> u64 {
    let mut x = black_box(0x9E37_79B9_7F4A_7C15_u64);
    for _ in 0..iterations {
        x = x.wrapping_mul(0x5851_F42D_4C95_7F2D).wrapping_add(0x1405_7B7E_F767_814F);
        x ^= x >> 29;
    }
    black_box(x)
}

/// Spin iterations per nanosecond, measured once per process: the best of a
/// few short trials, so a noisy neighbour during calibration does not make
/// every later job short.
fn spin_rate() -> f64 {
    static RATE: OnceLock<f64> = OnceLock::new();
    *RATE.get_or_init(|| {
        const TRIAL: u64 = 400_000;
        spin(TRIAL / 4);
        let best = (0..7)
            .map(|_| {
                let t = Instant::now();
                spin(TRIAL);
                t.elapsed()
            })
            .min()
            .unwrap_or(Duration::from_millis(1));
        TRIAL as f64 / best.as_nanos().max(1) as f64
    })
}

fn spin_iterations(d: Duration) -> u64 {
    if d.is_zero() {
        return 0;
    }
    (d.as_nanos() as f64 * spin_rate()).max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(spec: &str, expect: Result<(Kind, Span), &str>) {
        let got = spec.parse::<WorkSpec>().map(|s| (s.kind, s.span)).map_err(|e| e.to_string());
        match (got, expect) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{spec}"),
            (Err(got), Err(want)) => assert!(got.contains(want), "{spec}: {got:?} lacks {want:?}"),
            (got, want) => panic!("{spec}: got {got:?}, want {want:?}"),
        }
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn parses_every_form() {
        check("noop", Ok((Kind::Noop, Span::Fixed(Duration::ZERO))));
        check("sleep:1s", Ok((Kind::Sleep, Span::Fixed(Duration::from_secs(1)))));
        check("spin:250ms", Ok((Kind::Spin, Span::Fixed(250 * MS))));
        check("spin:100us", Ok((Kind::Spin, Span::Fixed(Duration::from_micros(100)))));
        check("sleep:7ns", Ok((Kind::Sleep, Span::Fixed(Duration::from_nanos(7)))));
        check("sleep:0ms", Ok((Kind::Sleep, Span::Fixed(Duration::ZERO))));
        check("spin:1ms..3ms", Ok((Kind::Spin, Span::Uniform { min: MS, max: 3 * MS })));
        check("sleep:2ms..2ms", Ok((Kind::Sleep, Span::Uniform { min: 2 * MS, max: 2 * MS })));
        check("spin:10us~10ms", Ok((Kind::Spin, Span::LogUniform { min: Duration::from_micros(10), max: 10 * MS })));
    }

    #[test]
    fn rejects_bad_specs() {
        check("sleep:", Err("missing duration"));
        check("sleep", Err("unknown work spec"));
        check("", Err("unknown work spec"));
        check("nap:1s", Err("unknown work kind 'nap'"));
        check("sleep:-1s", Err("bad duration"));
        check("sleep:1", Err("bad duration"));
        check("sleep:abc", Err("bad duration"));
        check("spin:1ms..0ms", Err("reversed range"));
        check("spin:1ms~0ms", Err("reversed range"));
        check("spin:0ms~1ms", Err("needs a minimum above zero"));
        check("spin:1ms~", Err("missing duration"));
        check("spin:..1ms", Err("missing duration"));
        check("spin:1ms..", Err("missing duration"));
        check("sleep:100000h", Err("longer than the limit"));
        check("noop:1s", Err("unknown work kind"));
    }

    #[test]
    fn display_round_trips() {
        for s in ["noop", "sleep:1s", "spin:250ms", "spin:1ms..3ms", "sleep:100us", "spin:10us~10ms"] {
            let spec: WorkSpec = s.parse().unwrap();
            assert_eq!(spec.to_string().parse::<WorkSpec>().unwrap(), spec);
        }
    }

    #[test]
    fn ranged_durations_depend_on_seed_and_job_only() {
        let work = Work::new("spin:1ms..9ms".parse().unwrap(), 7);
        let a: Vec<_> = (1..50).map(|j| work.duration(JobId(j))).collect();
        let b: Vec<_> = (1..50).rev().map(|j| work.duration(JobId(j))).collect::<Vec<_>>().into_iter().rev().collect();
        assert_eq!(a, b, "order of asking must not matter");
        assert!(a.iter().all(|d| (MS..=9 * MS).contains(d)));
        assert!(a.windows(2).any(|w| w[0] != w[1]), "durations must vary");
        let other = Work::new("spin:1ms..9ms".parse().unwrap(), 8);
        assert_ne!(a, (1..50).map(|j| other.duration(JobId(j))).collect::<Vec<_>>());
    }

    #[test]
    fn log_uniform_is_skewed_and_in_range() {
        let work = Work::new("spin:10us~10ms".parse().unwrap(), 3);
        let mut d: Vec<Duration> = (1..=2001).map(|j| work.duration(JobId(j))).collect();
        assert!(d.iter().all(|d| (Duration::from_micros(10)..=10 * MS).contains(d)));
        d.sort();
        let median = d[1000];
        let mean = d.iter().sum::<Duration>() / 2001;
        // Log-uniform over three decades: median near 316 µs, mean near
        // 1.45 ms; the longest tenth carries about half the work.
        assert!((Duration::from_micros(200)..Duration::from_micros(500)).contains(&median), "median {median:?}");
        assert!(mean > 3 * median, "mean {mean:?} vs median {median:?}");
        let top: Duration = d[1800..].iter().sum();
        assert!(top * 5 > d.iter().sum::<Duration>() * 2, "the longest tenth carries under 40%");
    }

    #[test]
    fn spin_takes_about_its_duration() {
        // Not a timing threshold on the pool: a sanity check that calibration
        // lands within a factor of a few, generous for a loaded machine.
        let work = Work::new("spin:20ms".parse().unwrap(), 0);
        work.prepare();
        let plan = work.plan(JobId(1));
        let t = Instant::now();
        assert_eq!(work.compute(JobId(1), &plan), 2);
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(5), "spin:20ms took {took:?}");
    }

    #[test]
    fn panics_only_on_listed_jobs() {
        let work = Work::new(WorkSpec { kind: Kind::Noop, span: Span::Fixed(Duration::ZERO) }, 0).with_panics([
            JobId(3),
            JobId(1),
            JobId(3),
        ]);
        assert!(work.panics(JobId(1)) && work.panics(JobId(3)));
        assert!(!work.panics(JobId(2)));
        let plan = work.plan(JobId(2));
        assert_eq!(work.compute(JobId(2), &plan), 4);
        assert!(std::panic::catch_unwind(|| work.compute(JobId(3), &plan)).is_err());
    }
    #[test]
    fn every_job_sleeps_only_when_the_shortest_sleep_is_above_zero() {
        let sleeps = |spec: &str| spec.parse::<WorkSpec>().unwrap().every_job_sleeps();
        assert!(sleeps("sleep:10ms"));
        assert!(sleeps("sleep:7ns"));
        assert!(sleeps("sleep:1us..2ms"));
        assert!(sleeps("sleep:10us~20ms"));
        assert!(!sleeps("sleep:0ms"), "no job sleeps");
        assert!(!sleeps("sleep:0us..200us"), "a job may not sleep");
        assert!(!sleeps("spin:10ms"));
        assert!(!sleeps("noop"));
    }
}
