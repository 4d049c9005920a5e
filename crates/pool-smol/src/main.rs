//! `pool-smol`: the seed's worker pool on the smol backend; see `pool-smol --help`.

fn main() -> std::process::ExitCode {
    pool_core::cli::main::<pool_smol::Smol>()
}
