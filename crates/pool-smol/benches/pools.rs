//! Criterion benchmarks of pool-smol over the shared workloads (see the
//! `benches` crate): `cargo bench -p pool-smol`.

benches::bench_main!(pool_smol::Smol);
