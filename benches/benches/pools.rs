//! Criterion benchmarks of the backends (filled in with `cargo xtask compare`).

fn main() {}
