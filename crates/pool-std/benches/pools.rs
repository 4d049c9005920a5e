//! Criterion benchmarks of pool-std, both flavors, over the shared
//! workloads (see the `benches` crate): `cargo bench -p pool-std`.

benches::bench_main!(pool_std::Std);
