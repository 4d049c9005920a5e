//! The tuned task when every job sleeps ([`WorkSpec::every_job_sleeps`]):
//! textbook's loop — start, await the timer, finish, send the result
//! alone — fed by the tuned run queue, with one timer per task, set again
//! for each job.
//!
//! Such work has nothing for the general task (`task.rs`) to gain: every
//! job is awaited, so no result ever waits in a batch; the grain stays at
//! one job; no job runs in the plain loop. Its machinery still costs: a
//! larger future and more instructions a job, and at 10,000 sleeping tasks
//! the run is bound by the executor threads' CPU and by how much of each
//! task's future is in cache when it is polled again. So this future is
//! kept small: a result goes back without an await where it takes no room
//! ([`BackTx::send_now`]), and the await where it does (`--queue`) is
//! boxed.
//!
//! [`WorkSpec::every_job_sleeps`]: crate::WorkSpec::every_job_sleeps

use std::pin::pin;

use super::Substrate;
use super::back::{Back, BackTx};
use super::runs::Runs;
use crate::Worker;

/// One worker task for work in which every job sleeps: take a run (writing
/// out the log's lines before waiting for one), and for each of its jobs
/// start it, sleep on the task's timer, finish it and send its result
/// alone.
pub(super) async fn serve<S: Substrate>(mut worker: Worker, substrate: S, runs: Runs, results: BackTx) {
    let timer = substrate.timer();
    let mut timer = pin!(timer);
    'serving: loop {
        let run = match runs.try_take() {
            Ok(run) => run,
            Err(async_channel::TryRecvError::Closed) => break,
            Err(async_channel::TryRecvError::Empty) => {
                worker.idle();
                match runs.take().await {
                    Some(run) => run,
                    None => break,
                }
            }
        };
        for job in run.ids() {
            // Cancelled: the job is skipped, not started, and the rest of
            // the run and the queue are left (see `Worker::serve`).
            let Some(sleep) = worker.start(job) else { break 'serving };
            if !sleep.is_zero() {
                S::sleep(timer.as_mut(), sleep).await;
            }
            debug_assert!(worker.pending_cpu().is_zero(), "sleep work does no CPU work");
            let outcome = worker.finish(job);
            let open = match results.send_now(Back::One(outcome)) {
                Ok(open) => open,
                // With `--queue` (a result takes room): boxed, so the
                // future of every task without it is smaller by the send's.
                Err(back) => Box::pin(results.send(back)).await,
            };
            if !open {
                break 'serving;
            }
        }
    }
    worker.exit();
}
