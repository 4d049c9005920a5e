//! Project automation, run as `cargo xtask <command>`.
//!
//! `compare` (verify every backend, then benchmark them) is tracked by its own
//! issue and not written yet; until then this only says so.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("xtask: no commands yet (`compare` is tracked by its own issue)");
    ExitCode::from(2)
}
