//! The criterion harness every backend's benchmarks share, run in-process
//! through the backend libraries. Each backend crate owns its bench target,
//! one line: `benches::bench_main!(pool_std::Std);` in its
//! `benches/pools.rs` ([`bench_main!`]); this crate's own target runs the
//! sequential baseline. `cargo bench --workspace --bench pools` runs them
//! all, `cargo bench -p pool-std` one backend, `-- overhead` one group. The
//! helpers live here, written once and generic over [`Backend`].
//!
//! The workloads are those of `cargo xtask compare`, scaled down so the whole
//! run takes a few minutes on two cores: one criterion group per [`BenchWorkload`]
//! (see [`WORKLOADS`]), one benchmark per backend and worker count named
//! `BenchmarkId::new(backend, workers)`, throughput in jobs, so criterion's
//! report (`target/criterion/report/index.html`) draws one line per backend
//! over the number of workers. Every group also holds the no-pool baseline,
//! [`Sequential`], once, at 1 worker: it runs every
//! job on the calling thread whatever the worker count.
//!
//! # What one iteration measures
//!
//! One iteration is one whole [`Pool::run`]: **a fresh pool every time**.
//! The std and crossbeam backends spawn their W threads and join them before
//! `run` returns; rayon builds a W-thread `ThreadPool`, drops it and waits
//! for every thread's exit handler; tokio builds a multi-thread runtime (as
//! many threads as cores, whatever W) and spawns W tasks. So each figure is
//! start-up + the jobs + shutdown, as a program that runs one batch pays it. The [`SPAWN`] group runs the same pools with no job at
//! all: subtract its figure at the same worker count from another group's to
//! get the cost of the jobs alone.
//!
//! # Results are checked
//!
//! Every iteration counts the outcomes and sums the results and asserts that
//! all `J` jobs came back with `j * 2` each (the sum is `J(J+1)`), none
//! failed and none was skipped ([`run_checked`]). A backend that lost or
//! duplicated a job fails the bench rather than looking fast.

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{AxisScale, BenchmarkGroup, BenchmarkId, Criterion, PlotConfiguration, SamplingMode, Throughput};
use pool_core::{
    Backend, DEFAULT_SEED, Flavor, Jobs, Ledger, Pool, PoolConfig, PoolError, RunReport, RunSpec, Sequential, Work,
    WorkSpec,
};

/// One workload: a criterion group of its own, with the sizes and timing
/// settings it needs to stay short.
#[derive(Clone, Copy, Debug)]
pub struct BenchWorkload {
    /// The criterion group's name (`overhead`, `cpu`, …).
    pub name: &'static str,
    /// The work spec of every job, as for `--work` (`noop`, `spin:100us`).
    pub spec: &'static str,
    /// Jobs per run, `J`: ids `1..=J`.
    pub jobs: u64,
    /// The worker counts each backend is measured at (the x axis).
    pub workers: &'static [u32],
    /// Criterion samples per benchmark (at least 10).
    pub sample_size: usize,
    /// Warm-up time per benchmark.
    pub warm_up: Duration,
    /// Target measurement time per benchmark; criterion exceeds it (and says
    /// so) when `sample_size` runs take longer.
    pub measurement: Duration,
}

/// Start-up and shutdown alone: no job, so the figure is what a fresh pool
/// of W workers costs (threads or a runtime spawned and joined). Subtract it
/// from the other groups at the same W.
pub const SPAWN: BenchWorkload = BenchWorkload {
    name: "spawn",
    spec: "noop",
    jobs: 0,
    workers: &[1, 2, 4, 8],
    sample_size: 20,
    warm_up: Duration::from_millis(200),
    measurement: Duration::from_millis(700),
};

/// The per-job cost of the handoff: many jobs that do nothing, quiet. The
/// xtask runs 1,000,000; 100,000 keeps one run near 10 ms.
pub const OVERHEAD: BenchWorkload = BenchWorkload {
    name: "overhead",
    spec: "noop",
    jobs: 100_000,
    workers: &[1, 2, 4, 8],
    sample_size: 20,
    warm_up: Duration::from_millis(300),
    measurement: Duration::from_millis(1500),
};

/// CPU-bound jobs of 100 µs: how close each pool gets to the cores' worth
/// of speed-up (this machine has 2 cores, hence 1, 2 and 2× cores).
pub const CPU: BenchWorkload = BenchWorkload {
    name: "cpu",
    spec: "spin:100us",
    jobs: 400,
    workers: &[1, 2, 4],
    sample_size: 10,
    warm_up: Duration::from_millis(200),
    measurement: Duration::from_secs(1),
};

/// CPU-bound jobs of skewed length (log-uniform), the xtask's `spin:10us~20ms`
/// (drawn per job from the seed, the same for every backend) at its
/// `--quick` size of 40 jobs: load balancing, and the tail when the last long
/// job starts late. About 100 ms of work per run.
pub const SKEWED: BenchWorkload = BenchWorkload {
    name: "skewed",
    spec: "spin:10us~20ms",
    jobs: 40,
    workers: &[1, 2, 4],
    sample_size: 10,
    warm_up: Duration::from_millis(200),
    measurement: Duration::from_secs(2),
};

/// Short sleeps, like I/O, with many workers: 400 jobs of 1 ms. Ideal
/// makespans are 40 ms, 4 ms and 1 ms at 10, 100 and 400 workers; at 400 the
/// cost of starting 400 threads dominates the thread-per-worker backends.
/// (The xtask sleeps 10 ms; 1 ms keeps this group short and shows timer
/// granularity: tokio's timer wheel ticks in whole milliseconds and rounds a
/// sleep up to the next tick.)
/// The sequential baseline sleeps 400 ms per run, so criterion warns that its
/// 10 samples take longer than the target time.
pub const SLEEP: BenchWorkload = BenchWorkload {
    name: "sleep",
    spec: "sleep:1ms",
    jobs: 400,
    workers: &[10, 100, 400],
    sample_size: 10,
    warm_up: Duration::from_millis(200),
    measurement: Duration::from_secs(1),
};

/// Every workload, in the order the bench target runs them.
pub const WORKLOADS: [BenchWorkload; 5] = [SPAWN, OVERHEAD, CPU, SKEWED, SLEEP];

impl BenchWorkload {
    /// The parsed work spec with the default seed.
    ///
    /// # Panics
    ///
    /// If `spec` does not parse (a bug in this file).
    pub fn work(&self) -> Work {
        let spec: WorkSpec = self.spec.parse().unwrap_or_else(|e| panic!("workload {}: {e}", self.name));
        Work::new(spec, DEFAULT_SEED)
    }

    /// Applies this workload's sample size, times, flat sampling (every run
    /// is milliseconds long), a logarithmic worker axis and, when it has
    /// jobs, throughput in jobs to `group`. A sample size or time given on
    /// the command line (`--sample-size`, `--warm-up-time`,
    /// `--measurement-time`) wins over the workload's: criterion lets a
    /// group's setting override the command line's, which would make a short
    /// run (`.ci/run`'s) impossible.
    pub fn configure(&self, group: &mut BenchmarkGroup<'_, WallTime>) {
        let args: Vec<String> = std::env::args().collect();
        let given = |flag: &str| args.iter().any(|a| a == flag || a.starts_with(&format!("{flag}=")));
        if !given("--sample-size") {
            group.sample_size(self.sample_size);
        }
        if !given("--warm-up-time") {
            group.warm_up_time(self.warm_up);
        }
        if !given("--measurement-time") {
            group.measurement_time(self.measurement);
        }
        group
            .sampling_mode(SamplingMode::Flat)
            .plot_config(PlotConfiguration::default().summary_scale(AxisScale::Logarithmic));
        if self.jobs > 0 {
            group.throughput(Throughput::Elements(self.jobs));
        }
    }
}

/// Criterion as every bench target here configures it: 10,000 bootstrap
/// resamples instead of criterion's 100,000 (the reports then take a
/// quarter of the time on two cores, and with 10 to 20 samples per
/// benchmark the intervals are no less honest), then the command line's
/// flags, which win (`--nresamples N`, the timing flags).
pub fn criterion() -> Criterion {
    Criterion::default().nresamples(10_000).configure_from_args()
}

/// Every group of [`WORKLOADS`] for backend `B`, in each flavor it has: what
/// a backend crate's bench target runs (see [`bench_main!`]).
pub fn bench_pools<B: Backend>(c: &mut Criterion) {
    for workload in &WORKLOADS {
        let mut group = c.benchmark_group(workload.name);
        workload.configure(&mut group);
        bench_backend::<B>(&mut group, workload);
        if B::FLAVORS.contains(&Flavor::Tuned) {
            bench_tuned::<B>(&mut group, workload);
        }
        group.finish();
    }
}

/// The `main` of a backend crate's bench target, `benches/pools.rs`: every
/// group for that backend, in each flavor. The whole file is
///
/// ```ignore
/// benches::bench_main!(pool_std::Std);
/// ```
///
/// with, in the crate's `Cargo.toml`, `benches` as a dev-dependency and a
/// `[[bench]]` named `pools` with `harness = false`.
#[macro_export]
macro_rules! bench_main {
    ($backend:ty) => {
        fn main() {
            let mut criterion = $crate::criterion();
            $crate::bench_pools::<$backend>(&mut criterion);
            criterion.final_summary();
        }
    };
}

/// Adds one benchmark per worker count of `workload` for backend `B`, named
/// `BenchmarkId::new(B::NAME, workers)`, each iteration one checked run of a
/// fresh pool ([`run_checked`]) with `B`'s default options.
pub fn bench_backend<B: Backend>(group: &mut BenchmarkGroup<'_, WallTime>, workload: &BenchWorkload) {
    bench_at::<B>(group, workload, workload.workers);
}

/// Adds the no-pool baseline to `group`: [`Sequential`] at 1 worker (it runs
/// every job on the calling thread, so more workers would change nothing).
pub fn bench_sequential(group: &mut BenchmarkGroup<'_, WallTime>, workload: &BenchWorkload) {
    bench_at::<Sequential>(group, workload, &[1]);
}

/// Adds one benchmark per entry of `workers` for backend `B`; a worker count
/// over `B`'s limit ([`Backend::MAX_WORKERS`], the bound its binary and the
/// xtask apply) is left out, with one line on stderr saying so.
///
/// # Panics
///
/// If `B` refuses the pool for another reason, or, inside the benchmark, if
/// a run fails its check.
pub fn bench_at<B: Backend>(group: &mut BenchmarkGroup<'_, WallTime>, workload: &BenchWorkload, workers: &[u32]) {
    bench_flavor_at::<B>(group, workload, workers, Flavor::Textbook);
}

/// Adds backend `B`'s tuned flavor to `group`, as `NAME-tuned`, at the
/// workload's worker counts.
pub fn bench_tuned<B: Backend>(group: &mut BenchmarkGroup<'_, WallTime>, workload: &BenchWorkload) {
    bench_flavor_at::<B>(group, workload, workload.workers, Flavor::Tuned);
}

/// Adds one benchmark per entry of `workers` for backend `B` in `flavor`,
/// named `NAME` (textbook) or `NAME-FLAVOR` (`std-tuned`, say).
///
/// # Panics
///
/// As [`bench_at`].
pub fn bench_flavor_at<B: Backend>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    workload: &BenchWorkload,
    workers: &[u32],
    flavor: Flavor,
) {
    let work = workload.work();
    // Calibrate the spin loop now, outside any timed run.
    work.prepare();
    let name = match flavor {
        Flavor::Textbook => B::NAME.to_owned(),
        other => format!("{}-{other}", B::NAME),
    };
    for &w in workers {
        let mut config = PoolConfig::new(w, work.clone());
        config.flavor = flavor;
        let Some(pool) = pool_or_leave_out::<B>(config, &format!("{}/{name}/{w}", workload.name)) else {
            continue;
        };
        group.bench_with_input(BenchmarkId::new(&name, w), &workload.jobs, |b, &jobs| {
            b.iter(|| run_checked(&pool, jobs));
        });
    }
}

/// A pool of `B` for `config`, or `None` when the worker count is over `B`'s
/// limit: the benchmark `id` is then left out, with one line on stderr.
///
/// # Panics
///
/// If `B` refuses the pool for another reason.
pub fn pool_or_leave_out<B: Backend>(config: PoolConfig, id: &str) -> Option<Pool<B>> {
    match Pool::<B>::new(config, B::Options::default()) {
        Ok(pool) => Some(pool),
        Err(e @ PoolError::TooManyWorkers { .. }) => {
            eprintln!("benches: left out {id}: {e}");
            None
        }
        Err(e) => panic!("{id}: {e}"),
    }
}

/// Runs jobs `1..=jobs` on `pool`, as the binaries do (a [`Jobs::range`]
/// stream, every outcome through the caller's [`Ledger`]), and checks that
/// every job came back once, from a worker of the pool, with `j * 2` (so
/// the sum is `J(J+1)`), none failed or skipped.
///
/// # Panics
///
/// If the run returns an error or any of those checks fails; the message
/// names the backend and the worker count.
pub fn run_checked<B: Backend>(pool: &Pool<B>, jobs: u64) -> RunReport {
    let workers = pool.config().workers;
    let name = B::NAME;
    let mut ledger = Ledger::new(&RunSpec::new(workers, jobs, pool.config().work.spec()));
    let report = pool
        .run_jobs(Jobs::range(1..=jobs), &mut ledger)
        .unwrap_or_else(|e| panic!("{name} at {workers} workers: {e}"));
    let tally = ledger.close(false).unwrap_or_else(|bad| panic!("{name} at {workers} workers: {bad}"));
    assert_eq!(tally.sum, u128::from(expected_sum(jobs)), "{name} at {workers} workers: wrong sum");
    assert_eq!(
        (report.finished, report.failed, report.skipped),
        (jobs, 0, 0),
        "{name} at {workers} workers: the pool's own counts disagree"
    );
    report
}

/// The sum of the results of jobs `1..=jobs`: `2 + 4 + … + 2J = J(J+1)`.
pub fn expected_sum(jobs: u64) -> u64 {
    jobs.wrapping_mul(jobs.wrapping_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pool_core::{Crew, JobId, Jobs, OutcomeSink, SequentialOptions};

    fn smoke<B: Backend>() {
        let work: Work = Work::new("noop".parse().unwrap(), DEFAULT_SEED);
        for workers in [1, 3] {
            let pool = Pool::<B>::new(PoolConfig::new(workers, work.clone()), B::Options::default()).unwrap();
            for jobs in [0, 1, 1000] {
                assert_eq!(run_checked(&pool, jobs).finished, jobs);
            }
        }
    }

    /// The backends' own bench targets check every iteration the same way
    /// (and `.ci/run` runs them); here the baseline, in both flavors.
    #[test]
    fn a_correct_pool_passes_the_check() {
        smoke::<Sequential>();
        smoke::<pool_core::tuned::Tuned<Sequential>>();
    }

    #[test]
    fn expected_sum_is_twice_the_triangle() {
        assert_eq!(expected_sum(0), 0);
        assert_eq!(expected_sum(5), 2 + 4 + 6 + 8 + 10);
        assert_eq!(expected_sum(100_000), (1..=100_000u64).map(|j| j * 2).sum::<u64>());
    }

    /// A broken backend: runs every job but drops the last outcome.
    struct LosesOne;

    impl Backend for LosesOne {
        const NAME: &'static str = "loses-one";
        const MAX_WORKERS: u32 = 1;
        type Options = SequentialOptions;

        fn run<I>(
            crew: Crew,
            _: &SequentialOptions,
            jobs: Jobs<I>,
            mut on_result: impl OutcomeSink,
        ) -> Result<(), PoolError>
        where
            I: Iterator<Item = JobId> + Send,
        {
            let mut worker = crew.into_workers().next().unwrap();
            let mut outcomes: Vec<_> = jobs.filter_map(|job| worker.run(job)).collect();
            outcomes.pop();
            outcomes.into_iter().for_each(|o| on_result.one(o));
            worker.exit();
            Ok(())
        }
    }

    #[test]
    #[should_panic(expected = "loses-one at 1 workers: jobs were lost: the backend took 10 jobs and 9 came back")]
    fn a_lost_result_fails_the_run() {
        let work: Work = Work::new("noop".parse().unwrap(), DEFAULT_SEED);
        let pool = Pool::<LosesOne>::new(PoolConfig::new(1, work), SequentialOptions::default()).unwrap();
        run_checked(&pool, 10);
    }

    #[test]
    fn a_worker_count_over_the_limit_is_left_out_not_a_panic() {
        let work: Work = Work::new("noop".parse().unwrap(), DEFAULT_SEED);
        assert!(pool_or_leave_out::<LosesOne>(PoolConfig::new(1, work.clone()), "t/loses-one/1").is_some());
        assert!(pool_or_leave_out::<LosesOne>(PoolConfig::new(2, work), "t/loses-one/2").is_none());
    }

    /// Every cell of every workload is either benchmarked or left out by
    /// the limit: none makes `Pool::new` fail otherwise (a backend of one
    /// worker leaves out all but the 1-worker cells).
    #[test]
    fn every_cell_is_benchmarked_or_left_out() {
        fn cells<B: Backend>() {
            for workload in &WORKLOADS {
                for &w in workload.workers {
                    let config = PoolConfig::new(w, workload.work());
                    let pool = pool_or_leave_out::<B>(config, &format!("{}/{}/{w}", workload.name, B::NAME));
                    assert_eq!(pool.is_some(), w <= B::MAX_WORKERS, "{}/{}/{w}", workload.name, B::NAME);
                }
            }
        }
        cells::<Sequential>();
        cells::<LosesOne>();
    }
}
