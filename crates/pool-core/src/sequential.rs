//! The baseline: no pool at all. The caller's thread runs every job itself,
//! in order, through the same [`Worker`](crate::Worker) code the backends use
//! (log, panic boundary, outcome), so the difference between a backend and
//! this is the cost of handing jobs to other threads and back.

use crate::{Backend, Crew, JobId, JobOutcome, PoolError};

/// The sequential baseline: worker 1 runs every job on the calling thread;
/// any other workers get no job and exit.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sequential;

/// The sequential baseline has no options.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct SequentialOptions {}

impl Backend for Sequential {
    const NAME: &'static str = "sequential";
    const MAX_WORKERS: u32 = 10_000;
    type Options = SequentialOptions;

    fn run<I>(
        crew: Crew,
        _: &SequentialOptions,
        jobs: I,
        mut on_result: impl FnMut(JobOutcome),
    ) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        let mut workers = crew.into_workers();
        let mut worker = workers.next().expect("a crew has at least one worker");
        for job in jobs {
            if let Some(outcome) = worker.run(job) {
                on_result(outcome);
            }
        }
        worker.exit();
        workers.for_each(crate::Worker::exit);
        Ok(())
    }
}
