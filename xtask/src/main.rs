//! Project automation, run as `cargo xtask <command>`.
//!
//! `cargo xtask compare` builds every backend in release, verifies that they
//! all do the same work (judged by pool-spec's trace checker), then times
//! them side by side in fresh processes and writes `results/` (REPORT.md,
//! results.json, SVG plots); `cargo xtask check` judges a log a user has.
//! One module per concern: `verify`, `check`, `bench`,
//! `stats`, `latency`, `machine`, `report`.

mod analysis;
mod bench;
mod binaries;
mod check;
mod child;
mod compare;
mod findings;
mod latency;
mod machine;
mod program;
mod readme;
mod report;
mod results;
mod stats;
mod units;
mod verify;
mod workload;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit status when a backend failed verification or a timed or traced run failed.
const EXIT_MISMATCH: u8 = 1;
/// Exit status for bad usage or when the comparison could not run.
const EXIT_ERROR: u8 = 2;

#[derive(Parser, Debug)]
#[command(name = "cargo xtask", about = "Project automation for workerpools.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Verify every backend does the same work, then benchmark them and write the reports.
    ///
    /// Exit status: 0 when every backend passed verification, every timed and traced run succeeded and the reports
    /// were written; 1 when a backend failed verification (it is reported and not benchmarked; the others are) or a
    /// timed or traced run failed or left a log the checker rejects (the report says which); 2 for bad usage or when
    /// the comparison could not run (build failed, output not writable).
    Compare(compare::Args),
    /// Judge a log from a file or standard input, with the flags the binary that wrote it was given.
    ///
    /// Exit status: 0, printing the canonical summary, when the log keeps every rule; 1, printing the first
    /// violation (line and rule), when it does not; 2 for bad usage or an unreadable file.
    #[command(allow_negative_numbers = true)]
    Check(check::Args),
}

/// Logical cores available to this process.
pub fn cores() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX))
}

/// clap's error as one line (plus the possible values, if it lists them).
fn usage_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut lines = text.lines();
    let mut line = lines.next().unwrap_or("error: bad usage").to_owned();
    if let Some(values) = lines.find(|l| l.trim_start().starts_with("[possible values")) {
        line.push(' ');
        line.push_str(values.trim());
    }
    line
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "__measure") {
        return child::measure_main(&args[2..]);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{}", usage_line(&e));
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let result = match cli.command {
        Command::Compare(args) => {
            // Programs are found, not listed: a name is checked against the
            // workspace before anything is built.
            match binaries::check_names(&binaries::workspace_root(), &args.backends) {
                Ok(Err(line)) => {
                    eprintln!("error: {line}");
                    return ExitCode::from(EXIT_ERROR);
                }
                Ok(Ok(())) => compare::run(&args),
                Err(e) => Err(e),
            }
        }
        Command::Check(args) => return check::main(&args),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(EXIT_MISMATCH),
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
