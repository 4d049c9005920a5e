//! What the tuned flavors of the backends share, written once: how big a
//! chunk of job ids a worker claims ([`Grain`], [`guided`]), the job stream
//! that workers claim chunks from ([`Source`]), results handed back in
//! per-worker batches ([`Batch`]), the bounds `--queue` puts on both
//! ([`Limits`]), and the loop of a worker thread fed by a [`JobQueue`]
//! ([`serve`]). A backend's tuned flavor holds only its substrate's part:
//! where chunks wait, how idle workers find work, how batches travel back.
//!
//! The contract is the textbook one: every job runs once through
//! [`Worker`](crate::Worker), which logs it, so both flavors print the same
//! events under the same rule for holding lines back, and results are held
//! back by that same rule (see [`Batch`]).

mod batch;
mod grain;
mod results;
mod serve;
mod source;
#[cfg(feature = "tasks")]
pub mod tasks;
mod threads;

use std::marker::PhantomData;

pub use crate::Run;
pub use batch::{BATCH_MAX, Batch, Deliver, Ran, Spares};
pub use grain::{CHUNK_MAX, GRAIN_TARGET, Grain, filling, guided};
pub use results::Results;
pub use serve::{JobQueue, serve};
pub use source::Source;
pub use threads::run_threads;

use crate::{Backend, Crew, Flavor, JobId, Jobs, OutcomeSink, PoolError};

/// How much a tuned run may hold, from the crew's size and `--queue`.
///
/// With `--queue N` the bound counts chunks and batches by the jobs in them,
/// as the textbook pool counts messages: W workers hold at most about N
/// claimed but unstarted jobs between them, and at most about N results wait
/// in batches, so memory stays flat however many jobs the run has.
///
/// Without `--queue`, the result channel is unbounded, but at most
/// [`BATCHES_AHEAD`] batches of each worker running quick jobs wait for the
/// caller ([`Limits::ahead`]): a worker that gets that far ahead sleeps until
/// the caller has taken one, which gives a core back to the caller. With no
/// bound, the workers of a no-op run outran the caller's check, and every
/// batch past the recycled ones was fresh memory: 12,000 page faults in a
/// run of 10 million jobs, most of its time in the kernel. The bound is each
/// worker's own, not a bounded channel's, and only quick workers' (the ones
/// that can outrun the caller): with 10,000 workers of `sleep:10ms` (std,
/// tuned / textbook, 5 rounds, paired by round) a bounded channel with room
/// for 4 batches a worker took 2.26× (1.27–2.59), capped at 1,024 batches in
/// all 3.13× (2.23–3.32), 4 batches a worker for every worker 3.45×
/// (2.76–4.22); unbounded, 1.02× (0.67–1.41).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Workers in the crew.
    pub workers: usize,
    /// The most job ids one worker claims at once.
    pub chunk: usize,
    /// The most results in one batch.
    pub batch: usize,
    /// Capacity of the result channel in batches; `None` for unbounded.
    pub results: Option<usize>,
    /// The most batches of one worker waiting for the caller, if bounded
    /// that way (without `--queue`; see [`Batch::ahead`]).
    pub ahead: Option<usize>,
}

/// Batches one worker may have waiting for the caller, without `--queue`.
pub const BATCHES_AHEAD: usize = 4;

impl Limits {
    /// The limits for `crew`.
    ///
    /// The diagnostic flavors take one technique out: chunks of one job
    /// ([`Flavor::TunedBatchesOnly`]) or batches of one result
    /// ([`Flavor::TunedChunksOnly`]).
    pub fn of(crew: &Crew) -> Self {
        let workers = crew.size() as usize;
        let mut limits = match crew.queue() {
            None => Limits { workers, chunk: CHUNK_MAX, batch: BATCH_MAX, results: None, ahead: Some(BATCHES_AHEAD) },
            Some(n) => {
                let share = (n.get() / workers).max(1);
                let batch = share.min(BATCH_MAX);
                let results = Some((n.get() / batch).max(1));
                Limits { workers, chunk: share.min(CHUNK_MAX), batch, results, ahead: None }
            }
        };
        match crew.flavor() {
            Flavor::TunedChunksOnly => {
                // As many single results may wait as textbook's channel holds.
                limits.results = crew.queue().map(|_| limits.batch * limits.results.unwrap_or(1));
                limits.batch = 1;
                limits.ahead = None;
            }
            Flavor::TunedBatchesOnly => limits.chunk = 1,
            Flavor::Textbook | Flavor::Tuned | Flavor::TunedJobByJob => {}
        }
        limits
    }
}

/// Backend `B` in its tuned flavor whatever the configuration says: lets a
/// test suite written for a backend type (`conformance_tests!`) run the
/// tuned form. `NAME` and limits are `B`'s.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tuned<B>(PhantomData<B>);

impl<B: Backend> Backend for Tuned<B> {
    const NAME: &'static str = B::NAME;
    const MAX_WORKERS: u32 = B::MAX_WORKERS;
    const FLAVORS: &'static [Flavor] = B::FLAVORS;
    const SUBSTRATE: &'static [&'static str] = B::SUBSTRATE;
    const HAND_OFF: crate::HandOff = B::HAND_OFF;
    type Options = B::Options;

    fn about(flavor: Flavor) -> &'static str {
        B::about(flavor)
    }

    fn run<I>(crew: Crew, options: &B::Options, jobs: Jobs<I>, on_result: impl OutcomeSink) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        B::run_tuned(crew.with_flavor(Flavor::Tuned), options, jobs, on_result)
    }

    fn run_tuned<I>(
        crew: Crew,
        options: &B::Options,
        jobs: Jobs<I>,
        on_result: impl OutcomeSink,
    ) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        B::run_tuned(crew, options, jobs, on_result)
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;

    use super::*;

    fn limits_of(workers: u32, queue: Option<usize>, flavor: Flavor) -> Limits {
        let shared = std::sync::Arc::new(crate::crew::Shared::new(
            crate::Work::new("noop".parse().unwrap(), 0),
            None,
            std::sync::Arc::default(),
        ));
        Limits::of(&Crew::new(shared, workers, queue.and_then(NonZeroUsize::new)).with_flavor(flavor))
    }

    fn limits(workers: u32, queue: Option<usize>) -> Limits {
        limits_of(workers, queue, Flavor::Tuned)
    }

    #[test]
    fn the_diagnostic_flavors_take_one_technique_out() {
        let l = limits_of(2, None, Flavor::TunedChunksOnly);
        assert_eq!((l.chunk, l.batch, l.results, l.ahead), (CHUNK_MAX, 1, None, None));
        let l = limits_of(2, Some(1024), Flavor::TunedChunksOnly);
        assert_eq!((l.chunk, l.batch, l.results), (512, 1, Some(1024)));
        let l = limits_of(2, None, Flavor::TunedBatchesOnly);
        assert_eq!((l.chunk, l.batch, l.results, l.ahead), (1, BATCH_MAX, None, Some(BATCHES_AHEAD)));
    }

    #[test]
    fn unbounded_takes_the_caps() {
        let ahead = Some(BATCHES_AHEAD);
        assert_eq!(limits(2, None), Limits { workers: 2, chunk: CHUNK_MAX, batch: BATCH_MAX, results: None, ahead });
    }

    #[test]
    fn a_queue_bounds_chunks_and_batches_by_jobs() {
        // A queue of one: one job claimed, one result per batch, one batch
        // waiting: the textbook pool's bound.
        assert_eq!(limits(4, Some(1)), Limits { workers: 4, chunk: 1, batch: 1, results: Some(1), ahead: None });
        let l = limits(4, Some(1024));
        assert_eq!((l.chunk, l.batch), (256, 256));
        assert!(l.workers * l.chunk <= 1024 && l.batch * l.results.unwrap() <= 1024);
        let l = limits(2, Some(1 << 20));
        assert_eq!((l.chunk, l.batch), (CHUNK_MAX, BATCH_MAX));
    }

    #[test]
    fn only_the_job_by_job_flavor_turns_the_quick_path_off() {
        for (flavor, quick) in [
            (Flavor::Tuned, true),
            (Flavor::TunedChunksOnly, true),
            (Flavor::TunedBatchesOnly, true),
            (Flavor::TunedJobByJob, false),
        ] {
            let shared = std::sync::Arc::new(crate::crew::Shared::new(
                crate::Work::new("noop".parse().unwrap(), 0),
                None,
                std::sync::Arc::default(),
            ));
            let worker = Crew::new(shared, 1, None).with_flavor(flavor).into_workers().next().unwrap();
            assert_eq!(worker.quick().is_some(), quick, "{flavor}");
            worker.exit();
        }
    }
}
