//! Criterion benchmarks of pool-rayon, both flavors, over the shared
//! workloads (see the `benches` crate): `cargo bench -p pool-rayon`.

benches::bench_main!(pool_rayon::Rayon);
