//! The reference limit for the per-job cost: the job ids `1..=J` handed one
//! by one to a plain loop that sums their results (`j * 2`) — no pool, no
//! [`Worker`](pool_core::Worker), no outcome, no callback. What any pool
//! costs per `noop` job beyond this is its own.
//!
//! It takes the pool binaries' flags (`--jobs`, `--workers`, `--work`,
//! `--seed`, `--quiet`), runs only `noop` work on one thread, and prints the
//! same summary line ([`RunSummary`]) so the xtask times it alike.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use pool_core::{JobId, Kind, RunSummary, WorkSpec};

/// Reads `--name=value` or `--name value` (and `-j`/`-w` short forms).
fn flag(args: &[String], long: &str, short: Option<&str>) -> Option<String> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(v) = a.strip_prefix(long).and_then(|r| r.strip_prefix('=')) {
            return Some(v.to_owned());
        }
        if a == long || short.is_some_and(|s| a == s) {
            return it.next().cloned();
        }
    }
    None
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parse = || -> Result<(u64, u32, WorkSpec), String> {
        let jobs = flag(&args, "--jobs", Some("-j")).unwrap_or_else(|| "5".into());
        let jobs: u64 = jobs.parse().map_err(|_| format!("error: invalid value '{jobs}' for '--jobs <N>'"))?;
        let workers = flag(&args, "--workers", Some("-w")).unwrap_or_else(|| "1".into());
        let workers: u32 =
            workers.parse().map_err(|_| format!("error: invalid value '{workers}' for '--workers <N>'"))?;
        let work = flag(&args, "--work", None).unwrap_or_else(|| "noop".into());
        let work: WorkSpec = work.parse().map_err(|e| format!("error: invalid value '{work}' for '--work': {e}"))?;
        if work.kind != Kind::Noop {
            return Err(format!("error: bare-loop runs only noop work, not {work}"));
        }
        Ok((jobs, workers, work))
    };
    let (jobs, workers, work) = match parse() {
        Ok(v) => v,
        Err(line) => {
            eprintln!("{line}");
            return ExitCode::from(2);
        }
    };
    let start = Instant::now();
    let mut sum = 0u128;
    for j in 1..=jobs {
        // black_box: each id is handed over for real; without it the loop
        // folds into a closed form and times nothing.
        sum += u128::from(black_box(JobId(j)).expected_result());
    }
    let elapsed = start.elapsed();
    let summary = RunSummary::all_finished("bare-loop", (jobs, workers, work), elapsed, sum);
    eprintln!("{summary}");
    if summary.checked_sum.is_some() { ExitCode::SUCCESS } else { ExitCode::from(3) }
}
