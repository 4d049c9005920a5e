//! Criterion benchmarks of the four backends, each in both flavors (`std`
//! and `std-tuned`, …), and the sequential baseline over every workload of
//! [`benches::WORKLOADS`]: one group per workload, one line per backend and
//! flavor over the worker count. Each iteration is a fresh pool (threads
//! or runtime started and joined) and is checked; see the `benches` crate
//! docs for what that means for the figures.
//!
//! `cargo bench -p benches` runs them all (a few minutes on two cores);
//! `cargo bench -p benches -- overhead/crossbeam` runs a part.

use benches::{WORKLOADS, bench_backend, bench_sequential, bench_tuned};
use criterion::Criterion;
use pool_crossbeam::Crossbeam;
use pool_rayon::Rayon;
use pool_std::Std;
use pool_tokio::Tokio;

fn pools(c: &mut Criterion) {
    for workload in &WORKLOADS {
        let mut group = c.benchmark_group(workload.name);
        workload.configure(&mut group);
        bench_sequential(&mut group, workload);
        bench_backend::<Std>(&mut group, workload);
        bench_tuned::<Std>(&mut group, workload);
        bench_backend::<Crossbeam>(&mut group, workload);
        bench_tuned::<Crossbeam>(&mut group, workload);
        bench_backend::<Tokio>(&mut group, workload);
        bench_tuned::<Tokio>(&mut group, workload);
        bench_backend::<Rayon>(&mut group, workload);
        bench_tuned::<Rayon>(&mut group, workload);
        group.finish();
    }
}

// What `criterion_group!` + `criterion_main!` expand to, written out: the
// macro's generated `pub fn` would have no doc for the `missing_docs` lint.
fn main() {
    // 10,000 bootstrap resamples instead of criterion's 100,000: the reports
    // (plots of the bootstrap distributions) then take a quarter of the time
    // on two cores, and with 10 to 20 samples per benchmark the intervals are
    // no less honest. `--nresamples N` on the command line still wins.
    let mut criterion = Criterion::default().nresamples(10_000).configure_from_args();
    pools(&mut criterion);
    criterion.final_summary();
}
