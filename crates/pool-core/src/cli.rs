//! The command-line driver every backend binary shares: its `main.rs` is one
//! call to [`main`].
//!
//! Exit status: 0 when every job finished, 1 when a job failed, 2 for bad
//! usage, 3 when the pool itself went wrong (a lost worker, a wrong result,
//! an unwritable log), 128 + the signal's number when stopped by a signal
//! (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP; see [`crate::signals`]);
//! on Windows 130 after any console control event (Ctrl-C, Ctrl-Break).
//! Every line goes to stderr through one function, [`say`], which never
//! fails: the status comes out whatever stderr does.

use std::ffi::OsString;
use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;

use clap::{Args, CommandFactory, FromArgMatches, Parser};

use crate::signals::{self, Signals};
use crate::{Backend, Flavor, Jobs, Ledger, Log, Pool, PoolConfig, PoolError, RunFlags, RunSpec, RunSummary};

pub use pool_spec::exit::{
    EXIT_FAILED, EXIT_HANGUP, EXIT_INTERRUPTED, EXIT_POOL, EXIT_TERMINATED, EXIT_USAGE, MAX_JOBS,
};

pub use crate::say::say;

/// The flags every backend binary takes; `O` adds the backend's own.
#[derive(Parser, Debug)]
#[command(version, allow_negative_numbers = true)]
pub struct Cli<O: Args> {
    /// The run's jobs and log: the flags `cargo xtask check` shares.
    #[command(flatten)]
    pub run: RunFlags,
    /// Print no event lines; a one-line summary goes to stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// Bound the job queue (and result queue) to N entries, at most 1048576; the producer waits while it is full.
    #[arg(long, value_name = "N", value_parser = parse_queue)]
    pub queue: Option<NonZeroUsize>,
    /// Which form of the backend: the textbook pool, or tuned (adaptive chunks of jobs, batched results); the last one given counts. The sequential baseline ignores it; pool-redis has only textbook.
    #[arg(long, value_enum, default_value_t, overrides_with = "flavor")]
    pub flavor: Flavor,
    /// Print what this binary is (name, flavors, worker limit, substrate
    /// crates, what it needs on the machine and whether it is there) as one
    /// JSON line, and run nothing, whatever else is given.
    #[arg(long)]
    pub describe: bool,
    /// Options of this backend.
    #[command(flatten)]
    pub backend: O,
}

impl<O: Args> Cli<O> {
    /// The run these flags describe, or the one-line usage error.
    pub fn spec(&self) -> Result<RunSpec, String> {
        let mut spec = self.run.spec()?;
        spec.queue = self.queue;
        spec.flavor = self.flavor;
        if self.quiet {
            spec.format = None;
        }
        Ok(spec)
    }
}

/// The largest `--queue`: a bounded queue is for bounding memory, and every
/// backend's bounded channel allocates its capacity up front (a run's queue
/// is also cut to its number of jobs). Leave `--queue` out for an unbounded
/// queue.
pub const MAX_QUEUE: usize = 1 << 20;

/// Parses `--queue`: a whole number from 1 to [`MAX_QUEUE`], surrounding
/// whitespace ignored as in every flag.
fn parse_queue(s: &str) -> Result<NonZeroUsize, String> {
    s.trim()
        .parse()
        .ok()
        .filter(|n: &NonZeroUsize| n.get() <= MAX_QUEUE)
        .ok_or_else(|| format!("expected a whole number of entries from 1 to {MAX_QUEUE}"))
}

/// `s` as a whole number in `range`, surrounding whitespace ignored.
fn number(s: &str, range: std::ops::RangeInclusive<u64>) -> Option<u64> {
    s.trim().parse().ok().filter(|n| range.contains(n))
}

/// How many failed job ids the summary lists; the rest are counted ("and N
/// more"), so 100,000 failures make one short line.
pub const LISTED_FAILURES: usize = 10;

/// Prints the first line of a clap error (or the help text) and gives the
/// exit status.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind::{DisplayHelp, DisplayVersion};
    if matches!(e.kind(), DisplayHelp | DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    say(&usage_line(&e));
    ExitCode::from(EXIT_USAGE)
}

/// The one line printed for a usage error: clap's first line, plus what the
/// flag expects where clap's line does not say (the possible values, which
/// clap puts on a later line; a number where the integer parser only says
/// "invalid digit found in string").
fn usage_line(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    let text = e.render().to_string();
    let mut line = shorten_echo(text.lines().next().unwrap_or("error: bad usage").trim_end());
    if let Some(ContextValue::Strings(values)) =
        e.get(ContextKind::ValidValue).filter(|v| !matches!(v, ContextValue::Strings(v) if v.is_empty()))
    {
        line += &format!(" (expected one of: {})", values.join(", "));
    } else if let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) {
        let not_a_number = ["invalid digit", "empty string", "too large", "would be zero", "is not in"];
        if not_a_number.iter().any(|s| line.contains(s)) {
            let expected = match arg.split(' ').next().unwrap_or_default() {
                "--workers" => "a whole number of workers, at least 1".to_owned(),
                "--jobs" => format!("a whole number of jobs, 0 to {MAX_JOBS}"),
                "--queue" => "a whole number of entries, at least 1".to_owned(),
                "--panic-on" => "comma-separated job ids, each at least 1".to_owned(),
                _ => "a whole number".to_owned(),
            };
            line += &format!(" (expected {expected})");
        }
    }
    line
}

/// The most of a bad value a usage line echoes; longer ones are cut, with
/// their length said, so a 100 KB value makes one short line.
pub const ECHOED: usize = 60;

/// `line` with the value it quotes (`invalid value '…' for`) cut to
/// [`ECHOED`] characters.
pub fn shorten_echo(line: &str) -> String {
    const OPEN: &str = "invalid value '";
    let Some(start) = line.find(OPEN).map(|i| i + OPEN.len()) else { return line.to_owned() };
    let Some(len) = line[start..].rfind("' for '") else { return line.to_owned() };
    let value = &line[start..start + len];
    if value.chars().count() <= ECHOED {
        return line.to_owned();
    }
    let kept: String = value.chars().take(ECHOED).collect();
    format!("{}{kept}… ({} bytes){}", &line[..start], value.len(), &line[start + len..])
}

/// Parses `args` as the command line of backend `B`'s binary.
pub fn parse<B: Backend>(args: impl IntoIterator<Item = OsString>) -> Result<Cli<B::Options>, clap::Error> {
    let name = format!("pool-{}", B::NAME);
    let max = B::MAX_WORKERS;
    let backend = B::NAME;
    let command = Cli::<B::Options>::command()
        .name(name.clone())
        .bin_name(name)
        .about(format!("The seed's worker pool on the {} backend.", B::NAME))
        // Numbers: surrounding whitespace ignored (as in --work), and a
        // message that names the real bound (the backend's own for -w).
        .mut_arg("workers", |a| {
            a.value_parser(move |s: &str| {
                number(s, 1..=u64::from(max)).map(|n| n as u32).ok_or_else(|| {
                    format!("expected a whole number of workers from 1 to {max} (the {backend} backend's limit)")
                })
            })
        })
        .mut_arg("jobs", |a| {
            a.value_parser(|s: &str| {
                number(s, 0..=MAX_JOBS).ok_or_else(|| format!("expected a whole number of jobs from 0 to {MAX_JOBS}"))
            })
        })
        .mut_arg("seed", |a| {
            a.value_parser(|s: &str| number(s, 0..=u64::MAX).ok_or_else(|| "expected a whole number".to_owned()))
        })
        .mut_arg("panic_on", |a| {
            a.value_parser(|s: &str| {
                number(s, 1..=MAX_JOBS).ok_or_else(|| "expected comma-separated job ids, each at least 1".to_owned())
            })
        });
    let matches = command.try_get_matches_from(args)?;
    Cli::<B::Options>::from_arg_matches(&matches)
}

/// Runs backend `B` as a command-line program: takes over the stop signals
/// (first of all, so no signal finds the program without its handling),
/// parses flags, runs the pool, checks the results, reports on stderr, and
/// returns the exit status.
pub fn main<B: Backend>() -> ExitCode {
    main_from::<B>(std::env::args_os())
}

/// [`main`] with the command line given (the program name first): for a
/// binary that looks at its arguments before the shared driver does (and
/// starts nothing before it: the stop signals are taken over here).
pub fn main_from<B: Backend>(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let bin = format!("pool-{}", B::NAME);
    crate::limits::fit_address_space();
    let signals = match Signals::watch(&bin) {
        Ok(signals) => signals,
        Err(e) => {
            say(&format!("{bin}: error: could not start the thread that watches for signals: {e}"));
            return ExitCode::from(EXIT_POOL);
        }
    };
    match parse::<B>(args) {
        Ok(cli) if cli.describe => {
            // Like the log: a line that cannot be written is status 3.
            let line = crate::describe::<B>().to_line();
            match writeln!(io::stdout().lock(), "{line}") {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    say(&format!("{bin}: error: could not write the description: {e}"));
                    ExitCode::from(EXIT_POOL)
                }
            }
        }
        Ok(cli) => run::<B>(cli, &signals),
        Err(e) => usage_error(e),
    }
}

/// Whether standard output was closed when the process started (`>&-`).
/// std cannot say so itself: before `main` it puts `/dev/null`, opened
/// read-write, in place of a closed descriptor 1, and a `/dev/null` a parent
/// opened read-write (`1<>/dev/null`, Python's `subprocess.DEVNULL`) looks
/// the same. So descriptor 1 is looked at before std does, by
/// [`stdout_probe::CLOSED_AT_START`]. On Windows a process started without
/// a standard output has no handle for it (std writes to none as to a sink).
fn stdout_is_closed() -> bool {
    #[cfg(unix)]
    return stdout_probe::closed_at_start();
    #[cfg(windows)]
    return std::os::windows::io::AsRawHandle::as_raw_handle(&io::stdout()).is_null();
}

/// The look at descriptor 1 before `main`: a function in `.init_array`,
/// which the loader runs before the program's `main` and so before std
/// reopens closed standard descriptors. The one `unsafe` of the driver: a
/// section attribute, and borrowing descriptor 1 by number.
#[cfg(unix)]
#[allow(unsafe_code)]
mod stdout_probe {
    use std::os::fd::BorrowedFd;
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

    /// Set before `main` if descriptor 1 was not open.
    static CLOSED: AtomicBool = AtomicBool::new(false);

    extern "C" fn probe() {
        // SAFETY: descriptor 1 is only asked about (F_GETFD), never used for
        // I/O or closed; a closed descriptor makes `fcntl` fail with EBADF.
        let fd = unsafe { BorrowedFd::borrow_raw(1) };
        let closed = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD).is_err();
        CLOSED.store(closed, Relaxed);
    }

    /// Run by the loader before `main` (Linux and the BSDs: ELF
    /// `.init_array`).
    #[used]
    #[cfg_attr(target_os = "linux", unsafe(link_section = ".init_array"))]
    pub(super) static CLOSED_AT_START: extern "C" fn() = probe;

    /// Whether descriptor 1 was closed when the process started.
    pub(super) fn closed_at_start() -> bool {
        // Referenced here, so the linker keeps the probe wherever the
        // driver is linked in.
        std::hint::black_box(&CLOSED_AT_START);
        CLOSED.load(Relaxed)
    }
}

fn run<B: Backend>(cli: Cli<B::Options>, signals: &Signals) -> ExitCode {
    let bin = format!("pool-{}", B::NAME);
    let spec = match cli.spec() {
        Ok(spec) => spec,
        Err(line) => {
            say(&line);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if spec.format.is_some() && stdout_is_closed() {
        say(&format!("{bin}: error: could not write the log: standard output is closed"));
        return ExitCode::from(EXIT_POOL);
    }
    let mut config = PoolConfig::for_run(&spec, spec.format.map(Log::stdout));
    config.cancel = signals.cancel();
    let pool = match Pool::<B>::new(config, cli.backend) {
        Ok(pool) => pool,
        Err(e @ (PoolError::NoWorkers | PoolError::TooManyWorkers { .. })) => {
            say(&format!("error: invalid value '{}' for '--workers <N>': {e}", spec.workers));
            return ExitCode::from(EXIT_USAGE);
        }
        Err(e @ PoolError::NoSuchFlavor { .. }) => {
            say(&format!("error: invalid value '{}' for '--flavor <FLAVOR>': {e}", spec.flavor));
            return ExitCode::from(EXIT_USAGE);
        }
        Err(e) => {
            say(&format!("{bin}: error: {e}"));
            return ExitCode::from(EXIT_POOL);
        }
    };

    // The caller's side of the contract, checked from the ids handed out,
    // not from what came back: see `Ledger`.
    let mut ledger = Ledger::new(&spec);
    let outcome = pool.run_jobs(Jobs::range(1..=spec.jobs), &mut ledger);
    let report = match outcome {
        Ok(report) => report,
        Err(e) => {
            say(&format!("{bin}: error: {e}"));
            return ExitCode::from(EXIT_POOL);
        }
    };

    let interrupted = pool.config().cancel.load(Relaxed);
    let not_started = spec.jobs.saturating_sub(report.finished + report.failed);
    let mut summary = RunSummary {
        program: bin.clone(),
        jobs: spec.jobs,
        workers: spec.workers,
        work: spec.work,
        finished: report.finished,
        failed: report.failed,
        never_started: interrupted.then_some(not_started),
        elapsed: report.elapsed,
        failed_jobs: Vec::new(),
        failed_unlisted: 0,
        checked_sum: None,
        latency: report.latency,
    };
    let tally = match ledger.close(interrupted) {
        Ok(tally) => tally,
        Err(bad) => {
            say(&summary.to_string());
            say(&format!("{bin}: error: results are wrong: {bad}"));
            return ExitCode::from(EXIT_POOL);
        }
    };
    let failed = tally.failed;
    summary.failed_jobs = failed.iter().take(LISTED_FAILURES).copied().collect();
    summary.failed_unlisted = (failed.len() - summary.failed_jobs.len()) as u64;
    if spec.format.is_none() || interrupted || !failed.is_empty() {
        summary.checked_sum = Some(tally.sum);
        say(&summary.to_string());
    }
    if interrupted {
        ExitCode::from(signals.received().map_or(EXIT_INTERRUPTED, signals::exit_status))
    } else if !failed.is_empty() {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Arrival, Format};

    #[test]
    fn a_long_bad_value_is_echoed_short() {
        let long = "x".repeat(100_000);
        let line = format!("error: invalid value '{long}' for '--run <NAME>': expected 1 to 64 letters");
        let short = shorten_echo(&line);
        assert!(short.len() < 200, "{short}");
        assert!(short.contains("(100000 bytes)") && short.ends_with("for '--run <NAME>': expected 1 to 64 letters"));
        let plain = "error: invalid value 'abc' for '--jobs <N>': expected a whole number";
        assert_eq!(shorten_echo(plain), plain);
        assert_eq!(shorten_echo("error: unexpected argument"), "error: unexpected argument");
    }

    fn spec(workers: u32, jobs: u64, work: &str) -> RunSpec {
        RunSpec::new(workers, jobs, work.parse().unwrap())
    }

    #[test]
    fn a_runs_flags_are_spelled_out_and_read_back_by_the_binaries() {
        let run = spec(4, 100, "spin:1ms..2ms").queue(8).panics([9, 3, 3]).seed(7).format(Some(Format::Jsonl));
        assert_eq!(
            run.args(),
            [
                "--workers=4",
                "--jobs=100",
                "--work=spin:1ms..2ms",
                "--seed=7",
                "--format=jsonl",
                "--queue=8",
                "--panic-on=3,9"
            ]
        );
        let tuned = spec(2, 10, "noop").flavor(Flavor::Tuned);
        assert!(tuned.args().contains(&"--flavor=tuned".to_owned()));
        let arriving = spec(2, 10, "noop").arrival(Arrival::Poisson { rate: 2500.5 });
        assert!(arriving.args().contains(&"--arrival=poisson:2500.5".to_owned()));
        for run in [run, spec(1, 0, "noop").format(None), RunSpec::default(), tuned, arriving] {
            let args = std::iter::once("pool-sequential".into()).chain(run.args().into_iter().map(Into::into));
            let cli = parse::<crate::Sequential>(args).unwrap();
            assert_eq!(cli.spec().unwrap(), run);
        }
    }

    #[test]
    fn no_flags_is_the_seeds_run() {
        let cli = parse::<crate::Sequential>(["pool-sequential".into()]).unwrap();
        assert_eq!(cli.spec().unwrap(), RunSpec::default());
        assert_eq!(RunSpec::default(), spec(3, 5, "sleep:1s"));
    }
}
