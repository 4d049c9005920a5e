//! Criterion benchmarks of the sequential baseline over every workload of
//! [`benches::WORKLOADS`], once each at 1 worker: every job on the calling
//! thread, no pool. The backends' own bench targets (`benches::bench_main!`
//! in each backend crate) fill the same groups, so criterion's report draws
//! every program's line over the worker count beside this one.
//!
//! `cargo bench --workspace --bench pools` runs every program's; `cargo
//! bench -p benches` this one.

fn main() {
    let mut criterion = benches::criterion();
    for workload in &benches::WORKLOADS {
        let mut group = criterion.benchmark_group(workload.name);
        workload.configure(&mut group);
        benches::bench_sequential(&mut group, workload);
        group.finish();
    }
    criterion.final_summary();
}
