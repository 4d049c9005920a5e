//! `pool-rayon`: the seed's worker pool on the rayon backend; see `pool-rayon --help`.

fn main() -> std::process::ExitCode {
    pool_core::cli::main::<pool_rayon::Rayon>()
}
