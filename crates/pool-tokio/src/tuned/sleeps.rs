//! The tuned flavor's task when every job sleeps (`sleep:` work whose
//! shortest sleep is above zero, [`every_job_sleeps`]): textbook's loop —
//! start, await tokio's timer, finish, send the result alone — fed by the
//! tuned run queue, with one timer per task, reset for each job.
//!
//! Such work has nothing for the general task (`work` in `tuned.rs`) to
//! gain: every job is awaited, so no result ever waits in its batch and
//! each goes back alone anyway (`send_alone`); the grain stays at one job,
//! since a sleep on tokio's timer takes a millisecond or more; and no job
//! runs in its plain loop. Its machinery for the other kinds of work cost
//! all the same: a future of 1,096 bytes against textbook's 560, and about
//! 450 instructions a job more than textbook (callgrind, `-w 10000 -j
//! 100000 --work sleep:10ms`: 3,310 against 2,870). At 10,000 sleeping
//! tasks the run is bound by the runtime threads' CPU, and it took 1.22
//! times textbook's wall time (paired by round, 9 rounds); this loop with
//! a new timer per job, as textbook's, about 1.0.
//!
//! One timer per task: `tokio::time::sleep` makes a timer for each job —
//! it looks up and clones the runtime's handle, and dropping the fired
//! timer locks the timer wheel again to clear its entry — where
//! [`Sleep::reset`](tokio::time::Sleep::reset) moves the task's own timer
//! to the next deadline. In the same callgrind run a task's poll cost
//! 1,256 instructions a job against textbook's 1,366.
//!
//! A small future: at 10,000 tasks each one's future is out of cache by
//! the time it is polled again, and perf put 72% of an awaited `send`'s
//! samples on its first read of the future's state. A result goes back
//! without an await where it takes no room ([`BackTx::send_now`]), and the
//! await where it does (`--queue`) is boxed: the future is 536 bytes,
//! against 736 with the send awaited in it and textbook's 560.
//!
//! All together, with the queue's cap ([`MOST_RUNS`](super::MOST_RUNS)),
//! the run took 0.93 (0.89–0.97) times textbook's wall time and 0.87
//! (0.81–0.90) its CPU time (`-w 10000 -j 100000 --work sleep:10ms
//! --quiet`, 21 rounds, paired; 0.85 and 0.81 in rounds on a busier
//! machine, where textbook's extra CPU time costs it more).

use std::pin::pin;
use std::time::Duration;

use pool_core::{Kind, Span, WorkSpec, Worker};
use tokio::time::Instant;

use super::back::{Back, BackTx};
use super::runs::Runs;

/// Whether every job of `spec` sleeps, so the tasks [`serve`] it. A job
/// of no sleep at all (`sleep:0ms`, or drawn from `sleep:0ms..1ms`) needs
/// no await and goes through the general task, whose batches it fills.
pub(super) fn every_job_sleeps(spec: WorkSpec) -> bool {
    let shortest = match spec.span {
        Span::Fixed(d) => d,
        Span::Uniform { min, .. } | Span::LogUniform { min, .. } => min,
    };
    spec.kind == Kind::Sleep && !shortest.is_zero()
}

/// One worker task for work in which every job sleeps: take a run (writing
/// out the log's lines before waiting for one), and for each of its jobs
/// start it, sleep on the task's timer, finish it and send its result
/// alone.
pub(super) async fn serve(mut worker: Worker, runs: Runs, results: BackTx) {
    // Not registered with the runtime until first awaited.
    let timer = tokio::time::sleep(Duration::ZERO);
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
                timer.as_mut().reset(Instant::now() + sleep);
                timer.as_mut().await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_work_whose_every_job_sleeps() {
        let sleeps = |spec: &str| every_job_sleeps(spec.parse().unwrap());
        assert!(sleeps("sleep:10ms"));
        assert!(sleeps("sleep:7ns"));
        assert!(sleeps("sleep:1us..2ms"));
        assert!(sleeps("sleep:10us~20ms"));
        assert!(!sleeps("sleep:0ms"), "no job sleeps");
        assert!(!sleeps("sleep:0us..200us"), "a job may not sleep");
        assert!(!sleeps("spin:10ms"));
        assert!(!sleeps("noop"));
    }
}
