//! Criterion benchmarks of pool-crossbeam, both flavors, over the shared
//! workloads (see the `benches` crate): `cargo bench -p pool-crossbeam`.

benches::bench_main!(pool_crossbeam::Crossbeam);
