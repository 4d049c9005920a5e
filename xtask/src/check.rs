//! `cargo xtask check`: judges a log a user has, from a file or standard
//! input, with the same flags and defaults as the binaries that wrote it:
//!
//! ```sh
//! pool-crossbeam -w 4 -j 100 --work sleep:10ms --format jsonl \
//!   | cargo xtask check -w 4 -j 100 --work sleep:10ms --format jsonl
//! ```
//!
//! Exit status: 0 and the canonical summary on standard output when the log
//! keeps every rule of pool-spec's checker; 1 and the first violation (line
//! and rule) on standard error when it does not; 2 for bad usage or an
//! unreadable file.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use pool_spec::{Completeness, RunFlags, check};

/// Exit status of a log that breaks a rule.
const EXIT_VIOLATION: u8 = 1;
/// Exit status for bad usage or an unreadable log.
const EXIT_USAGE: u8 = 2;

/// Flags of `cargo xtask check`: the binaries' own (see `--help` of any
/// `pool-*`), and how the run ended.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The run the log is of, said as the binary was told.
    #[command(flatten)]
    pub run: RunFlags,
    /// The run was interrupted (Ctrl-C, exit status 130): jobs may never
    /// have started, but every job that started ended and every worker exited.
    #[arg(long)]
    pub partial: bool,
    /// The log is a distributed run's (`pool-redis --remote-workers`), whose
    /// workers may die mid-job: only then may jobs be `reclaimed`.
    #[arg(long)]
    pub distributed: bool,
    /// The log to judge [default: standard input].
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// Judges the log; prints the summary or the first violation; the exit status.
pub fn main(args: &Args) -> ExitCode {
    let spec = match args.run.spec() {
        Ok(spec) if args.distributed => spec.distributed(),
        Ok(spec) => spec,
        Err(line) => {
            eprintln!("{line}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut bytes = Vec::new();
    let read = match &args.file {
        Some(path) => std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)),
        None => std::io::stdin().lock().read_to_end(&mut bytes),
    };
    if let Err(e) = read {
        let source = args.file.as_ref().map_or("standard input".to_owned(), |p| p.display().to_string());
        eprintln!("xtask check: error: could not read {source}: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    match judge(&spec, args.partial, &bytes) {
        Ok(summary) => {
            let (finished, failed, not_started) = summary.counts();
            println!("{summary}");
            eprintln!(
                "xtask check: the log keeps every rule: {finished} finished, {failed} failed, {not_started} never started"
            );
            ExitCode::SUCCESS
        }
        Err(violation) => {
            eprintln!("xtask check: {violation}");
            ExitCode::from(EXIT_VIOLATION)
        }
    }
}

/// The summary of `log`, or the first rule it breaks (a line that does not
/// parse is one), said with its line.
fn judge(spec: &pool_spec::RunSpec, partial: bool, log: &[u8]) -> Result<pool_spec::Summary, String> {
    let text = std::str::from_utf8(log).map_err(|e| format!("the log is not UTF-8: {e}"))?;
    let format = spec.format.expect("a log's flags name its format");
    let records = format.parse(text).map_err(|e| e.to_string())?;
    let completeness = if partial { Completeness::Partial } else { Completeness::Complete };
    check(&records, spec, completeness).map_err(|v| v.to_string())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn spec(args: &[&str]) -> pool_spec::RunSpec {
        let cli = Cli::try_parse_from(std::iter::once("check").chain(args.iter().copied())).unwrap();
        cli.args.run.spec().unwrap()
    }

    #[test]
    fn defaults_are_the_binaries() {
        // The binaries' own test (pool-core's cli) checks that no flags
        // there is the same default run.
        assert_eq!(spec(&[]), pool_spec::RunSpec::default());
    }

    #[test]
    fn judges_text_and_json_lines() {
        let text = "worker 1 started  job 1\nworker 1 finished job 1\nworker 1 exiting\n";
        let summary = judge(&spec(&["-w", "1", "-j", "1", "--work", "noop"]), false, text.as_bytes()).unwrap();
        assert_eq!(summary.to_string(), "job 1: finished\nworkers 1..=1 exited");
        let err = judge(&spec(&["-w", "2", "-j", "1", "--work", "noop"]), false, text.as_bytes()).unwrap_err();
        assert_eq!(err, "at end of log: worker 2 never exited");
        let json = r#"{"t_us":0,"worker":1,"event":"exiting"}"#;
        let err = judge(&spec(&["-w", "1", "-j", "0", "--format", "jsonl"]), false, b"worker 1 exiting\n").unwrap_err();
        assert!(err.starts_with("line 1: bad JSON"), "{err}");
        assert!(judge(&spec(&["-w", "1", "-j", "0", "--format", "jsonl"]), false, json.as_bytes()).is_ok());
    }

    #[test]
    fn partial_logs_may_miss_jobs() {
        let text = "worker 1 started  job 2\nworker 1 finished job 2\nworker 1 exiting\n";
        let run = spec(&["-w", "1", "-j", "3", "--work", "noop"]);
        assert_eq!(judge(&run, false, text.as_bytes()).unwrap_err(), "at end of log: job 1 never started");
        assert!(judge(&run, true, text.as_bytes()).is_ok());
    }
}
