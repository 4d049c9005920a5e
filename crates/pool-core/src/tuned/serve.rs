//! The loop of a tuned worker thread, written once for every backend whose
//! workers are threads: claim a chunk from the backend's [`JobQueue`], run
//! it, keep the outcomes in a [`Batch`], hand the batch back by the log's
//! rule, size the next chunk by the time this one took.

use std::sync::Arc;
use std::time::Instant;

use super::{Batch, Grain, Limits, Results, Run, Spares};
use crate::Worker;

/// Where a tuned worker thread gets its jobs: the one thing a backend's
/// tuned flavor supplies to [`serve`].
pub trait JobQueue {
    /// The next jobs for this worker: a run of at most `max` consecutive ids
    /// (at least one), or `None` once no job will come. Calls `before_wait`
    /// before waiting for jobs, so the worker can write out what it holds.
    fn take(&mut self, max: usize, before_wait: &mut dyn FnMut()) -> Option<Run>;
}

/// Runs `worker` on jobs from `queue` until it is drained, handing results
/// back in batches through `deliver` (`false`: nobody listens any more, stop),
/// then ends with [`Worker::exit`].
///
/// Chunks are sized by [`Grain`] (capped by `limits.chunk`), batches hold at
/// most `limits.batch` results, their buffers taken from `spares`. Every job is run through
/// [`Worker`] ([`Batch::run_all`]), so it is logged, timed and caught as in
/// the textbook flavor.
pub fn serve(
    mut worker: Worker,
    queue: &mut impl JobQueue,
    limits: &Limits,
    spares: Arc<Spares>,
    mut deliver: impl FnMut(Results) -> bool,
) {
    let mut grain = Grain::new(limits.chunk);
    // Only quick jobs outrun the caller; a bound on workers that wait
    // (10,000 of `sleep:10ms`) only made them wait for the caller too.
    let mut batch = Batch::new(limits.batch, spares).ahead(worker.quick().and(limits.ahead));
    while batch.is_open() {
        let run = queue.take(grain.size(), &mut || {
            worker.idle();
            batch.hand_back(&mut deliver);
        });
        let Some(run) = run else { break };
        let start = Instant::now();
        // Cancelled: stop here and leave the rest of the chunk and the
        // queue (the caller counts them as never started), as
        // `Worker::serve` does: draining them would cost time in proportion
        // to the backlog.
        if !batch.run_all(&mut worker, run, &mut deliver) {
            break;
        }
        grain.observe(run.len as usize, start.elapsed());
    }
    batch.hand_back(&mut deliver);
    worker.exit();
}
