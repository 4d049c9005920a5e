//! Criterion benchmarks of every backend, run in-process through the backend
//! libraries (`cargo bench -p benches`); the bench targets are in `benches/`.
