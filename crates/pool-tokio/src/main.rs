//! `pool-tokio`: the seed's worker pool on the tokio backend; see `pool-tokio --help`.

fn main() -> std::process::ExitCode {
    pool_core::cli::main::<pool_tokio::Tokio>()
}
