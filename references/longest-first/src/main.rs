//! The measured ideal for CPU work: the same jobs, their lengths known
//! before the start, taken longest first ([`longest_first::longest_first`])
//! by one thread per core the pool could use, `min(--workers, cores)`, each
//! taking the next job with one atomic add as soon as it is free. Each
//! thread runs its jobs through [`Work::perform`](pool_core::Work::perform),
//! the same spin loop the workers run, and sums their results. No queue, no
//! results handed back, no log, no shared per-job path: what a pool takes
//! beyond this on the same machine, in the same round, is its own cost.
//!
//! It takes the pool binaries' flags and prints the same summary line
//! ([`RunSummary`]), so the xtask times it alike; its makespan runs from
//! starting the threads to the last one's end.

use std::process::ExitCode;
use std::thread;
use std::time::Instant;

use clap::Parser;
use pool_core::{JobId, RunFlags, RunSummary};

/// The measured ideal for CPU work: the jobs longest first, taken one at a
/// time by min(workers, cores) threads, no pool.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    run: RunFlags,
    /// Print only the summary line (it never prints any other).
    #[arg(short, long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !args.run.panic_on.is_empty() {
        eprintln!("error: longest-first runs no failing jobs: it is a limit for jobs that succeed");
        return ExitCode::from(2);
    }
    let run = match args.run.spec() {
        Ok(run) => run,
        Err(line) => {
            eprintln!("{line}");
            return ExitCode::from(2);
        }
    };
    let work = run.work();
    work.prepare();
    let cores = thread::available_parallelism().map_or(1, usize::from);
    let threads = (run.workers as usize).min(cores);
    let order = longest_first::longest_first((1..=run.jobs).map(|j| (JobId(j), work.duration(JobId(j)))));

    let start = Instant::now();
    let sum = longest_first::run_in_order(&order, threads, |j| work.perform(j));
    let elapsed = start.elapsed();

    let summary = RunSummary::all_finished("longest-first", (run.jobs, run.workers, run.work), elapsed, sum);
    eprintln!("{summary}");
    if summary.checked_sum.is_some() { ExitCode::SUCCESS } else { ExitCode::from(3) }
}
