//! One description of a run, [`RunSpec`], shared by everything that starts
//! or judges one: the binaries' flags ([`RunFlags`]), the conformance suite,
//! the trace checker, and the xtask's verification and benchmarks. What a
//! run is, which flags say it, what summary a correct log of it reduces to
//! and which exit status it ends with are written here once.

use std::num::NonZeroUsize;

use crate::exit::{EXIT_FAILED, MAX_JOBS};
use crate::{
    Arrival, Flavor, Format, JobId, LoggedOutcome, MAX_ARRIVING_JOBS, Summary, Work, WorkSpec, work::DEFAULT_SEED,
};

/// One run of a pool: how many workers, which jobs, what each does, and how
/// it is logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSpec {
    /// Number of workers, at least 1.
    pub workers: u32,
    /// Jobs `1..=jobs`.
    pub jobs: u64,
    /// What each job does.
    pub work: WorkSpec,
    /// Seed for ranged durations.
    pub seed: u64,
    /// Bound of the job (and result) queue; `None` is unbounded.
    pub queue: Option<NonZeroUsize>,
    /// Jobs made to panic, ascending, each once.
    pub panic_on: Vec<u64>,
    /// Format of the event log; `None` is `--quiet` (no log).
    pub format: Option<Format>,
    /// Which form of the backend runs it.
    pub flavor: Flavor,
    /// Whether its workers are processes that may die mid-job and have
    /// their jobs reclaimed (pool-redis's `--remote-workers`): only then may
    /// the log hold `reclaimed` events. Not a flag of the binaries.
    pub reclaims: bool,
    /// How jobs arrive over time, drawn from the seed; `None`: all at the
    /// start.
    pub arrival: Option<Arrival>,
}

impl RunSpec {
    /// `jobs` jobs of `work` on `workers` workers: the default seed, an
    /// unbounded queue, no panics, a text log (the binaries' defaults).
    pub fn new(workers: u32, jobs: u64, work: WorkSpec) -> Self {
        RunSpec {
            workers,
            jobs,
            work,
            seed: DEFAULT_SEED,
            queue: None,
            panic_on: Vec::new(),
            format: Some(Format::Text),
            flavor: Flavor::Textbook,
            reclaims: false,
            arrival: None,
        }
    }

    /// With jobs arriving over time, as `arrival` says.
    pub fn arrival(mut self, arrival: Arrival) -> Self {
        self.arrival = Some(arrival);
        self
    }

    /// Run by workers in other processes, whose jobs may be reclaimed (see
    /// [`reclaims`](Self::reclaims)).
    pub fn distributed(mut self) -> Self {
        self.reclaims = true;
        self
    }

    /// Run by the backend's `flavor` form.
    pub fn flavor(mut self, flavor: Flavor) -> Self {
        self.flavor = flavor;
        self
    }

    /// With the job queue bounded to `bound` entries (at least 1).
    pub fn queue(mut self, bound: usize) -> Self {
        self.queue = Some(NonZeroUsize::new(bound).expect("a queue holds at least one job"));
        self
    }

    /// With these jobs made to panic.
    pub fn panics(mut self, jobs: impl IntoIterator<Item = u64>) -> Self {
        self.panic_on = jobs.into_iter().collect();
        self.panic_on.sort_unstable();
        self.panic_on.dedup();
        self
    }

    /// With this seed for ranged durations.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Logged in `format`, or quiet for `None`.
    pub fn format(mut self, format: Option<Format>) -> Self {
        self.format = format;
        self
    }

    /// The work every job does, with its panicking jobs.
    pub fn work(&self) -> Work {
        Work::new(self.work, self.seed).with_panics(self.panic_on.iter().map(|&j| JobId(j)))
    }

    /// The flags that make a binary do this run: `--workers=N` and so on,
    /// every one spelled out (none left to a default) but `--flavor`, named
    /// only for the tuned flavor.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            format!("--workers={}", self.workers),
            format!("--jobs={}", self.jobs),
            format!("--work={}", self.work),
            format!("--seed={}", self.seed),
        ];
        // Only the tuned flavor is named: the textbook one is every
        // program's only form (the reference programs have no such flag).
        if self.flavor != Flavor::Textbook {
            args.push(format!("--flavor={}", self.flavor));
        }
        match self.format {
            Some(Format::Text) => args.push("--format=text".to_owned()),
            Some(Format::Jsonl) => args.push("--format=jsonl".to_owned()),
            None => args.push("--quiet".to_owned()),
        }
        if let Some(q) = self.queue {
            args.push(format!("--queue={q}"));
        }
        if let Some(a) = self.arrival {
            args.push(format!("--arrival={a}"));
        }
        if !self.panic_on.is_empty() {
            let ids: Vec<String> = self.panic_on.iter().map(u64::to_string).collect();
            args.push(format!("--panic-on={}", ids.join(",")));
        }
        args
    }

    /// The message a job made to panic fails with.
    pub fn panic_message(job: u64) -> String {
        format!("job {job} panicked (--panic-on)")
    }

    /// The canonical summary a correct, complete run reduces to: every job
    /// finished with `j * 2`, except the panicking ones, which failed with
    /// [`panic_message`](Self::panic_message). Results are recorded unless
    /// the log is text (which does not print them); for a quiet run this is
    /// what the caller is handed back.
    pub fn expected(&self) -> Summary {
        let with_results = self.format != Some(Format::Text);
        let mut summary = Summary::expected(self.workers, self.jobs, with_results);
        for &j in &self.panic_on {
            summary.record(JobId(j), LoggedOutcome::Failed(RunSpec::panic_message(j)));
        }
        summary
    }

    /// The exit status a binary doing this run ends with: 0, or
    /// [`EXIT_FAILED`] when jobs are made to fail.
    pub fn expected_exit(&self) -> u8 {
        if self.panic_on.is_empty() { 0 } else { EXIT_FAILED }
    }
}

impl Default for RunSpec {
    /// The seed's run, what a binary does with no flags: 3 workers, 5 jobs of
    /// `sleep:1s`, text lines.
    fn default() -> Self {
        RunSpec::new(3, 5, "sleep:1s".parse().expect("the seed's spec parses"))
    }
}

/// The flags that describe a run's jobs and log, shared by every backend
/// binary and `cargo xtask check` (so both take the same flags with the same
/// defaults). The binaries add `--quiet` and `--queue`.
#[derive(clap::Args, Clone, Debug, PartialEq, Eq)]
pub struct RunFlags {
    /// Number of workers.
    #[arg(short, long, value_name = "N", default_value_t = RunSpec::default().workers, value_parser = clap::value_parser!(u32).range(1..))]
    pub workers: u32,
    /// Number of jobs, numbered from 1.
    #[arg(short, long, value_name = "N", default_value_t = RunSpec::default().jobs, value_parser = clap::value_parser!(u64).range(0..=MAX_JOBS))]
    pub jobs: u64,
    /// What each job does: noop, sleep:DUR, spin:DUR, sleep:MIN..MAX, spin:MIN..MAX, spin:MIN~MAX (log-uniform) (DUR like 1s, 250ms, 100us).
    #[arg(long, value_name = "SPEC", default_value_t = RunSpec::default().work)]
    pub work: WorkSpec,
    /// Seed for ranged durations; the same seed gives every backend the same durations.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Format of the event lines on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Make these jobs panic (comma-separated job ids), to see failure handling.
    #[arg(long, value_name = "IDS", value_delimiter = ',', value_parser = clap::value_parser!(u64).range(1..))]
    pub panic_on: Vec<u64>,
    /// Jobs arrive over time instead of all at once: poisson:RATE (exponential gaps, from --seed) or uniform:RATE, RATE in jobs per second; the summary then gives each job's latency from its arrival.
    #[arg(long, value_name = "SPEC")]
    pub arrival: Option<Arrival>,
}

impl RunFlags {
    /// The run these flags describe (text or JSON lines, unbounded queue), or
    /// the one-line usage error for a `--panic-on` id above `--jobs`.
    pub fn spec(&self) -> Result<RunSpec, String> {
        if let Some(bad) = self.panic_on.iter().find(|&&j| j > self.jobs) {
            return Err(format!(
                "error: invalid value '{bad}' for '--panic-on <IDS>': no such job (jobs are 1..={})",
                self.jobs
            ));
        }
        if self.arrival.is_some() && self.jobs > MAX_ARRIVING_JOBS {
            return Err(format!(
                "error: invalid value '{}' for '--jobs <N>': with --arrival at most {MAX_ARRIVING_JOBS} jobs",
                self.jobs
            ));
        }
        let run = RunSpec::new(self.workers, self.jobs, self.work)
            .seed(self.seed)
            .panics(self.panic_on.iter().copied())
            .format(Some(self.format));
        Ok(match self.arrival {
            Some(a) => run.arrival(a),
            None => run,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(workers: u32, jobs: u64, work: &str) -> RunSpec {
        RunSpec::new(workers, jobs, work.parse().unwrap())
    }

    #[test]
    fn expects_failures_and_their_exit_status_literally() {
        let run = spec(2, 4, "noop").panics([3]).format(Some(Format::Jsonl));
        let want = [
            LoggedOutcome::Finished(Some(2)),
            LoggedOutcome::Finished(Some(4)),
            LoggedOutcome::Failed("job 3 panicked (--panic-on)".into()),
            LoggedOutcome::Finished(Some(8)),
        ];
        let outcomes = |s: Summary| s.started().map(|(_, o)| o.clone()).collect::<Vec<_>>();
        assert_eq!(outcomes(run.expected()), want);
        assert_eq!(run.expected().workers, 2);
        assert_eq!(run.expected_exit(), 1);
        assert_eq!(
            outcomes(spec(2, 2, "noop").expected()),
            [LoggedOutcome::Finished(None), LoggedOutcome::Finished(None)]
        );
        assert_eq!(spec(2, 2, "noop").expected_exit(), 0);
    }

    #[test]
    fn a_panic_on_id_above_the_jobs_is_a_usage_error() {
        let flags = RunFlags {
            workers: 1,
            jobs: 5,
            work: "noop".parse().unwrap(),
            seed: 0,
            format: Format::Text,
            panic_on: vec![6],
            arrival: None,
        };
        assert_eq!(
            flags.spec().unwrap_err(),
            "error: invalid value '6' for '--panic-on <IDS>': no such job (jobs are 1..=5)"
        );
        let arriving = RunFlags {
            jobs: MAX_ARRIVING_JOBS + 1,
            panic_on: vec![],
            arrival: Some(Arrival::Poisson { rate: 10.0 }),
            ..flags
        };
        assert!(arriving.spec().unwrap_err().contains("with --arrival at most"));
    }
}
