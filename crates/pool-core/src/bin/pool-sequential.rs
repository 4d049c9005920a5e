//! `pool-sequential`: the baseline — every job run in one loop on the main
//! thread, no pool; same flags as the backends (see `--help`).

fn main() -> std::process::ExitCode {
    pool_core::cli::main::<pool_core::Sequential>()
}
