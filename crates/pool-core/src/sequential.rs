//! The baseline: no pool at all. The caller's thread runs every job itself,
//! in order, through the same [`Worker`](crate::Worker) code the backends use
//! (log, panic boundary, outcome), so the difference between a backend and
//! this is the cost of handing jobs to other threads and back.

use crate::{Backend, Crew, JobId, Jobs, OutcomeSink, PoolError, QuickEnd, Run};

/// The sequential baseline: worker 1 runs every job on the calling thread;
/// any other workers get no job and exit.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sequential;

/// The sequential baseline has no options.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct SequentialOptions {}

/// Jobs in one block of the quick path: results for this many fit in a few
/// pages, reused block after block.
const BLOCK: u64 = 4096;

impl Backend for Sequential {
    const NAME: &'static str = "sequential";
    const MAX_WORKERS: u32 = 10_000;
    type Options = SequentialOptions;

    fn about(_: crate::Flavor) -> &'static str {
        "the baseline: every job in one loop on the main thread, through the shared per-job path, no pool"
    }

    /// The baseline ignores the flavor (see `run`).
    fn run_tuned<I>(
        crew: Crew,
        options: &SequentialOptions,
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
        _: &SequentialOptions,
        mut jobs: Jobs<I>,
        mut on_result: impl OutcomeSink,
    ) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        // The baseline ignores the flavor: it runs as the tuned flavors do
        // at their best, with the quick path wherever the run allows it.
        let mut workers = crew.with_flavor(crate::Flavor::Tuned).into_workers();
        let mut worker = workers.next().expect("a crew has at least one worker");
        if let Some(quick) = worker.quick() {
            // Nothing logged and every job alike: blocks of jobs, each with
            // one cancel check and one panic boundary, their results handed
            // on as one run.
            let mut results = Vec::new();
            'claiming: while let Some(claimed) = jobs.claim(quick.block(BLOCK)) {
                let (end, mut rest) = (claimed.first + claimed.len, claimed);
                while !rest.is_empty() {
                    results.clear();
                    let ended = worker.run_quick(quick, rest, &mut results);
                    if !results.is_empty() {
                        on_result.finished(worker.id(), JobId(rest.first), &results);
                    }
                    match ended {
                        QuickEnd::Done => break,
                        QuickEnd::Skipped => break 'claiming,
                        QuickEnd::Failed(failed) => {
                            let next = failed.job.0 + 1;
                            on_result.one(failed);
                            rest = Run { first: next, len: end - next };
                        }
                    }
                }
            }
        } else {
            for job in jobs {
                if let Some(outcome) = worker.run(job) {
                    on_result.one(outcome);
                }
            }
        }
        worker.exit();
        workers.for_each(crate::Worker::exit);
        Ok(())
    }
}
