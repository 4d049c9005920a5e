//! `pool-std`: the seed's worker pool on the std backend; see `pool-std --help`.

fn main() -> std::process::ExitCode {
    pool_core::cli::main::<pool_std::Std>()
}
