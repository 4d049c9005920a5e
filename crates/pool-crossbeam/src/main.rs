//! `pool-crossbeam`: the seed's worker pool on the crossbeam backend; see `pool-crossbeam --help`.

fn main() -> std::process::ExitCode {
    pool_core::cli::main::<pool_crossbeam::Crossbeam>()
}
