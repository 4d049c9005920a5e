//! Planted defects: backends that are wrong on purpose, each in one way a
//! real backend could be, so the tests can show that every check that
//! should catch it does — in-process (the conformance suite, the trace
//! checker, the [`Ledger`](pool_core::Ledger)) and through the `pool-mutant`
//! binary's exit status.
//!
//! Each runs like the sequential baseline (worker 1 runs every job on the
//! caller's thread) except for its defect. The defect is the type's
//! parameter (so the in-process suite, which uses default options, runs it)
//! or the binary's `--defect` flag.

use pool_core::{Backend, Crew, JobId, Jobs, OutcomeSink, PoolError};

/// One planted defect.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
#[repr(u8)]
pub enum Defect {
    /// None: a correct (sequential) run.
    #[default]
    None = 0,
    /// Job 2's outcome is handed back in place of job 3's: one outcome
    /// duplicated, one lost; the log is right.
    DuplicateOutcome = 1,
    /// Job 3 hands back 7 instead of 6; the log is right.
    WrongResult = 2,
    /// Job 3's outcome is never handed back; the log is right.
    LostOutcome = 3,
    /// Every worker but the first exits before any job runs, while jobs
    /// remain: a pool that never runs two jobs at once.
    EarlyExit = 4,
    /// Jobs skip their sleep: a backend that does not do the work.
    SkipSleep = 5,
}

impl Defect {
    const ALL: [Defect; 6] = [
        Defect::None,
        Defect::DuplicateOutcome,
        Defect::WrongResult,
        Defect::LostOutcome,
        Defect::EarlyExit,
        Defect::SkipSleep,
    ];

    fn from_u8(d: u8) -> Defect {
        Defect::ALL.into_iter().find(|x| *x as u8 == d).expect("a defect's number")
    }
}

/// The planted-defect backend; `D` is a [`Defect`] as `u8`, used unless
/// `--defect` says otherwise.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mutant<const D: u8>;

/// [`Mutant`] with [`Defect::DuplicateOutcome`].
pub type DuplicateOutcome = Mutant<{ Defect::DuplicateOutcome as u8 }>;
/// [`Mutant`] with [`Defect::WrongResult`].
pub type WrongResult = Mutant<{ Defect::WrongResult as u8 }>;
/// [`Mutant`] with [`Defect::LostOutcome`].
pub type LostOutcome = Mutant<{ Defect::LostOutcome as u8 }>;
/// [`Mutant`] with [`Defect::EarlyExit`].
pub type EarlyExit = Mutant<{ Defect::EarlyExit as u8 }>;
/// [`Mutant`] with [`Defect::SkipSleep`].
pub type SkipSleep = Mutant<{ Defect::SkipSleep as u8 }>;

/// The `pool-mutant` binary's own flag.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct MutantOptions {
    /// The planted defect [default: the type's].
    #[arg(long, value_enum)]
    pub defect: Option<Defect>,
}

impl<const D: u8> Backend for Mutant<D> {
    const NAME: &'static str = "mutant";
    const MAX_WORKERS: u32 = 10_000;
    type Options = MutantOptions;

    /// The mutant has one form, whatever the flavor.
    fn run_tuned<I>(
        crew: Crew,
        options: &MutantOptions,
        jobs: Jobs<I>,
        on_result: impl OutcomeSink,
    ) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        Self::run(crew, options, jobs, on_result)
    }

    fn run<I>(
        crew: Crew,
        options: &MutantOptions,
        jobs: Jobs<I>,
        mut on_result: impl OutcomeSink,
    ) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        let defect = options.defect.unwrap_or(Defect::from_u8(D));
        let mut workers = crew.into_workers();
        let mut first = workers.next().expect("a crew has at least one worker");
        if defect == Defect::EarlyExit {
            workers.by_ref().for_each(pool_core::Worker::exit);
        }
        let mut second_outcome = None;
        for job in jobs {
            let outcome = if defect == Defect::SkipSleep {
                first.start(job).map(|_skipped_sleep| first.finish(job))
            } else {
                first.run(job)
            };
            let Some(mut outcome) = outcome else { continue };
            match (defect, job.0) {
                (Defect::DuplicateOutcome, 2) => second_outcome = Some(outcome.clone()),
                (Defect::DuplicateOutcome, 3) => outcome = second_outcome.clone().unwrap_or(outcome),
                (Defect::WrongResult, 3) => outcome.result = Ok(7),
                (Defect::LostOutcome, 3) => continue,
                _ => {}
            }
            on_result.one(outcome);
        }
        first.exit();
        workers.for_each(pool_core::Worker::exit);
        Ok(())
    }
}
