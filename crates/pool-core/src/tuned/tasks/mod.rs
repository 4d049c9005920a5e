//! The tuned flavor for async backends, written once (feature `tasks`): W
//! tasks fed by a queue of runs of consecutive job ids, each run sized by
//! the grain the tasks last measured ([`Grain`](super::Grain)), results handed back in
//! per-task batches by the log's rule. A backend supplies only its
//! substrate's part ([`Substrate`]): how a task is spawned, how it sleeps,
//! where CPU work it will not run inline goes. The queues are
//! runtime-agnostic (`async-channel`, `event-listener`), so tokio and smol
//! drive the same tasks.
//!
//! A task awaits only to take a run, hand a batch back, sleep, or run CPU
//! work off its thread; every other job runs in a plain loop (`task.rs`),
//! in blocks of the quick path where the run allows it. Work in which every
//! job sleeps has none of that to gain, and its tasks run a lean loop
//! instead (`sleeps.rs`).
//!
//! Trade-off: no stealing — what a task took it runs — which is why a run
//! is kept to a few microseconds of work. The queue holds several runs per
//! task ([`RUNS_AHEAD`], at most [`MOST_RUNS`] in all unless that is less
//! than one a task; one a task with `--queue`, whose bound counts them) and
//! the producer, which shares the calling thread with the result loop,
//! refills it by halves (`runs.rs`).

mod back;
mod runs;
mod sleeps;
mod task;

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use super::{Batch, Limits, Source, Spares};
use crate::{Crew, JobId, JobOutcome, Jobs, OutcomeSink, Worker};
use back::Back;

/// What an async substrate supplies to the tuned tasks.
pub trait Substrate: Clone + Send + Sync + 'static {
    /// A task's own timer, set again for each sleep.
    type Timer: Send + 'static;

    /// A spawned task: a future that ends when the task has (its output is
    /// not looked at: a task only dies outside a job, whose panics are
    /// caught, and the pool then reports its worker as lost).
    type Task: Future;

    /// Spawns `task` on the substrate's executor.
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, task: F) -> Self::Task;

    /// A new timer for one task (called on the task, so it may need the
    /// executor's context).
    fn timer(&self) -> Self::Timer;

    /// Sleeps `duration` on `timer`.
    fn sleep(timer: Pin<&mut Self::Timer>, duration: Duration) -> impl Future<Output = ()> + Send + '_;

    /// A sleep of its own until `at`: the producer's, when jobs arrive over
    /// time.
    fn sleep_until(&self, at: Instant) -> impl Future<Output = ()> + 'static;

    /// Whether a job's CPU work runs on the task's own thread.
    fn cpu_inline(&self) -> bool {
        true
    }

    /// Completes `job`, begun on `worker`, with its CPU work where the
    /// substrate puts it when not [`cpu_inline`](Self::cpu_inline). `None`
    /// if the worker was lost on the way (the pool then says so).
    fn finish_elsewhere(
        &self,
        worker: Worker,
        job: JobId,
    ) -> impl Future<Output = Option<(Worker, JobOutcome)>> + Send {
        let mut worker = worker;
        let outcome = worker.finish(job);
        std::future::ready(Some((worker, outcome)))
    }
}

/// Runs per task the queue holds without `--queue` (one with it, whose
/// bound counts them). The producer refills the queue once the tasks have
/// taken half of it, so a deeper queue means fewer wake-ups of the calling
/// thread; queued runs are held by no task, so any idle task takes them.
pub const RUNS_AHEAD: usize = 16;

/// The most runs the queue holds without `--queue`, unless there are more
/// tasks (then one a task): the queue is allocated whole when the run
/// starts, so at 10,000 tasks 16 a task would be megabytes written before
/// the first job.
pub const MOST_RUNS: usize = 4_096;

/// How many runs the queue holds for `workers` tasks: [`RUNS_AHEAD`] a
/// task, at most [`MOST_RUNS`] unless that is less than one a task; one a
/// task with `--queue` (`bounded`), whose bound counts them.
fn queued_runs(workers: usize, bounded: bool) -> usize {
    if bounded { workers } else { (workers * RUNS_AHEAD).min(MOST_RUNS.max(workers)) }
}

/// Runs `crew` on `jobs` as tasks of `substrate` (see the module docs):
/// spawns one task per worker, then feeds them and passes results to
/// `on_result` here, on the future the caller blocks on.
pub async fn run<S, I>(crew: Crew, substrate: S, jobs: Jobs<I>, mut on_result: impl OutcomeSink)
where
    S: Substrate,
    I: Iterator<Item = JobId> + Send,
{
    let limits = Limits::of(&crew);
    let (feed, runs) = runs::queue(queued_runs(limits.workers, crew.queue().is_some()));
    let (result_tx, result_rx) = back::channel(&crew, &limits);
    let grain = Arc::new(AtomicUsize::new(1));
    let spares = Arc::new(Spares::default());
    let direct = task::Direct::of(crew.work(), substrate.cpu_inline());
    let every_job_sleeps = crew.work().spec().every_job_sleeps();
    let mut tasks = Vec::with_capacity(limits.workers);
    for worker in crew.into_workers() {
        let (runs, results) = (runs.clone(), result_tx.clone());
        if every_job_sleeps {
            tasks.push(substrate.spawn(sleeps::serve(worker, substrate.clone(), runs, results)));
            continue;
        }
        let batch = Batch::new(limits.batch, Arc::clone(&spares));
        let shared = task::Shared { grain: Arc::clone(&grain), limits, direct: direct.clone() };
        tasks.push(substrate.spawn(task::work(worker, substrate.clone(), runs, results, batch, shared)));
    }
    drop((runs, result_tx));
    let source = Source::new(jobs);
    let produce = feed.feed(&source, &grain, |at| substrate.sleep_until(at));
    let consume = async {
        // Each message's room in the channel is given back as it is
        // dropped, once consumed.
        while let Some(sent) = result_rx.recv().await {
            match sent.back {
                Back::Batch(batch) => spares.consume(batch, &mut on_result),
                Back::One(outcome) => on_result.one(outcome),
            }
        }
    };
    join(produce, consume).await;
    for task in tasks {
        task.await;
    }
}

/// Polls both futures until both are done, on the caller's task.
async fn join(a: impl Future<Output = ()>, b: impl Future<Output = ()>) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut a_done, mut b_done) = (false, false);
    std::future::poll_fn(|cx| {
        if !a_done {
            a_done = a.as_mut().poll(cx).is_ready();
        }
        if !b_done {
            b_done = b.as_mut().poll(cx).is_ready();
        }
        if a_done && b_done { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_holds_16_runs_a_task_up_to_4096_or_one_a_task() {
        assert_eq!(queued_runs(2, false), 32);
        assert_eq!(queued_runs(100, false), 1_600);
        assert_eq!(queued_runs(1_000, false), 4_096);
        assert_eq!(queued_runs(10_000, false), 10_000);
        assert_eq!(queued_runs(2, true), 2, "with --queue, one a task");
        assert_eq!(queued_runs(10_000, true), 10_000);
    }
}
