//! Criterion benchmarks of pool-tokio, both flavors, over the shared
//! workloads (see the `benches` crate): `cargo bench -p pool-tokio`.

benches::bench_main!(pool_tokio::Tokio);
