//! The tuned flavor on the standard library alone: no producer thread and
//! no job channel. The workers share the job stream itself behind a `Mutex`
//! ([`Source`]) and each claims a chunk of ids at a time, sized by the time
//! its last chunk took ([`pool_core::tuned::Grain`]): thousands of no-op jobs
//! per lock, one job per lock when jobs are long. Results go back in
//! per-worker batches over one `mpsc` channel, by the log's rule; the caller
//! tries the channel a few times, yielding its core, before it parks on it
//! ([`patiently`]).
//!
//! Trade-off: nothing but std, and the hand-off cost all but disappears for
//! tiny jobs; but there is no stealing — what a worker claimed it runs — so
//! a chunk is kept to about 20 µs of work, and long jobs go one per claim.

use std::num::NonZeroUsize;

use pool_core::threads::{patiently, std_channel};
use pool_core::tuned::{Limits, Results, Source, run_threads};
use pool_core::{Crew, JobId, Jobs, OutcomeSink, PoolError};

/// Runs `crew` on `jobs` in the tuned flavor (see the module docs).
pub(crate) fn run<I>(crew: Crew, jobs: Jobs<I>, on_result: impl OutcomeSink) -> Result<(), PoolError>
where
    I: Iterator<Item = JobId> + Send,
{
    let limits = Limits::of(&crew);
    let source = Source::new(jobs);
    let (tx, rx) = std_channel::<Results>(limits.results.and_then(NonZeroUsize::new));
    run_threads(crew, |_| &source, move |batch| tx.send(batch).is_ok(), patiently(rx, limits.workers), on_result)
}
