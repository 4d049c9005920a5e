//! `pool-mutant`: a backend with a planted defect (`--defect NAME`), for the
//! tests that show each defect is caught through the binary's exit status.
//! Built only with the `testing` feature; never shipped or benchmarked.

fn main() -> std::process::ExitCode {
    pool_core::cli::main::<pool_testkit::mutant::Mutant<0>>()
}
