//! The seed's pool on tokio: the seed's W workers become W async tasks on a
//! multi-thread runtime, fed by an `async-channel` MPMC queue (tokio's own
//! `mpsc` has one consumer; tokio's docs point to `async-channel` for a
//! work queue), with a `tokio::sync::mpsc` channel back for results (many
//! producers, one consumer: what it is for).
//!
//! W tasks are not W threads: the runtime's thread count is a separate
//! setting, `--threads` (default: the machine's cores). Sleep jobs await
//! `tokio::time::sleep`, so ten thousand sleeping workers hold no thread.
//! CPU jobs run inline on the runtime thread that polls the task: with at
//! most one job per task and tasks spread over the runtime's threads, that is
//! the cheapest option, and the producer and result loop run on the calling
//! thread (`block_on`), so CPU work cannot starve them.
//!
//! The runtime is started so that a thread the OS refuses is an error, not
//! tokio's panic and hang (see `runtime.rs`).
//!
//! `--flavor tuned` runs the [`tuned`] form instead: the same contract, with
//! runs of job ids through the queue and batched results.

use std::num::NonZeroUsize;

use async_channel::{Receiver, Sender, TryRecvError, bounded, unbounded};
use pool_core::{Backend, Crew, Flavor, JobId, JobOutcome, Jobs, OutcomeSink, PoolError, TryNext, Worker};
use tokio::sync::mpsc;

mod runtime;
pub mod tuned;

use runtime::runtime;

/// The tokio backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tokio;

/// Options of the tokio backend.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct TokioOptions {
    /// Runtime worker threads, 1 to 1024 [default: the machine's cores]; if the OS refuses one, the run ends with status 3.
    #[arg(long, value_name = "N", value_parser = parse_threads)]
    pub threads: Option<NonZeroUsize>,
    /// Where CPU-bound jobs run.
    #[arg(long, value_enum, default_value_t)]
    pub cpu_jobs: CpuJobs,
}

/// The most runtime threads `--threads` accepts: far past any core count.
/// Whether the OS starts that many depends on its limits; where it refuses
/// one, the run is [`PoolError::Spawn`] (see `runtime.rs`).
pub const MAX_THREADS: usize = 1024;

fn parse_threads(s: &str) -> Result<NonZeroUsize, String> {
    s.trim()
        .parse()
        .ok()
        .and_then(NonZeroUsize::new)
        .filter(|n| n.get() <= MAX_THREADS)
        .ok_or_else(|| format!("expected a whole number of threads from 1 to {MAX_THREADS}"))
}

/// Where a task runs a job's CPU work.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CpuJobs {
    /// On the runtime thread that polls the task.
    #[default]
    Inline,
    /// In `block_in_place`: the runtime hands this thread's other tasks to a
    /// fresh thread while the job computes.
    BlockInPlace,
    /// In `spawn_blocking`, on the blocking pool capped at the runtime's
    /// thread count.
    SpawnBlocking,
}

fn channel<T>(crew: &Crew) -> (Sender<T>, Receiver<T>) {
    crew.queue().map_or_else(unbounded, |n| bounded(n.get()))
}

/// The sending half of the result channel: tokio gives bounded and
/// unbounded channels different types. (The tuned flavor has its own way
/// back, `tuned/back.rs`.)
#[derive(Clone)]
enum ResultTx {
    Bounded(mpsc::Sender<JobOutcome>),
    Unbounded(mpsc::UnboundedSender<JobOutcome>),
}

/// The receiving half of the result channel.
enum ResultRx {
    Bounded(mpsc::Receiver<JobOutcome>),
    Unbounded(mpsc::UnboundedReceiver<JobOutcome>),
}

impl ResultTx {
    /// Sends, waiting for room if bounded; `false` if the receiver is gone.
    async fn send(&self, outcome: JobOutcome) -> bool {
        match self {
            ResultTx::Bounded(tx) => tx.send(outcome).await.is_ok(),
            ResultTx::Unbounded(tx) => tx.send(outcome).is_ok(),
        }
    }
}

impl ResultRx {
    async fn recv(&mut self) -> Option<JobOutcome> {
        match self {
            ResultRx::Bounded(rx) => rx.recv().await,
            ResultRx::Unbounded(rx) => rx.recv().await,
        }
    }
}

/// The result channel: bounded by `--queue`, or unbounded.
fn result_channel(crew: &Crew) -> (ResultTx, ResultRx) {
    match crew.queue() {
        Some(n) => {
            let (tx, rx) = mpsc::channel(n.get());
            (ResultTx::Bounded(tx), ResultRx::Bounded(rx))
        }
        None => {
            let (tx, rx) = mpsc::unbounded_channel();
            (ResultTx::Unbounded(tx), ResultRx::Unbounded(rx))
        }
    }
}

/// One worker task: the same loop as `Worker::serve`, awaiting instead of
/// blocking.
async fn work(mut worker: Worker, jobs: Receiver<JobId>, results: ResultTx, cpu: CpuJobs) {
    loop {
        let next = match jobs.try_recv() {
            Ok(job) => TryNext::Job(job),
            Err(TryRecvError::Empty) => TryNext::Empty,
            Err(TryRecvError::Closed) => TryNext::Closed,
        };
        let job = match next {
            TryNext::Job(job) => job,
            TryNext::Closed => break,
            TryNext::Empty => {
                worker.idle();
                match jobs.recv().await {
                    Ok(job) => job,
                    Err(_) => break,
                }
            }
        };
        // Cancelled: leave the backlog queued (see `Worker::serve`).
        let Some(sleep) = worker.start(job) else { break };
        if !sleep.is_zero() {
            tokio::time::sleep(sleep).await;
        }
        // A lost blocking task means a lost worker; the pool says so.
        let Some((back, outcome)) = finish_job(worker, job, cpu).await else { return };
        worker = back;
        if !results.send(outcome).await {
            break;
        }
    }
    worker.exit();
}

impl Backend for Tokio {
    const NAME: &'static str = "tokio";
    const MAX_WORKERS: u32 = 1_000_000;
    const SUBSTRATE: &'static [&'static str] = &["tokio", "async-channel"];
    type Options = TokioOptions;

    fn about(flavor: Flavor) -> &'static str {
        match flavor {
            Flavor::Textbook => "W async tasks on a multi-thread tokio runtime",
            _ => "tokio, tuned: runs of ids through the queue sized by the measured grain, batched results",
        }
    }

    fn run_tuned<I>(
        crew: Crew,
        options: &TokioOptions,
        jobs: Jobs<I>,
        on_result: impl OutcomeSink,
    ) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        tuned::run(crew, options, jobs, on_result)
    }

    fn run<I>(
        crew: Crew,
        options: &TokioOptions,
        jobs: Jobs<I>,
        mut on_result: impl OutcomeSink,
    ) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        let runtime = runtime(options, false)?;
        // The result loop lives in the future `block_on` polls. With the
        // callback's own type moved into it, the run took 1.23x (1.14-1.44)
        // the CPU time of the same loop calling through `&mut dyn FnMut`
        // (`-w 2 -j 1000000 --work noop --quiet`, 12 rounds, paired); behind
        // the pointer, one indirect call a job, it measured 1.00 (0.97-1.08).
        let on_result: &mut dyn FnMut(JobOutcome) = &mut |outcome| on_result.one(outcome);

        let (job_tx, job_rx) = channel(&crew);
        let (result_tx, mut result_rx) = result_channel(&crew);
        runtime.block_on(async move {
            let tasks: Vec<_> = crew
                .into_workers()
                .map(|worker| tokio::spawn(work(worker, job_rx.clone(), result_tx.clone(), options.cpu_jobs)))
                .collect();
            drop((job_rx, result_tx));
            let produce = async move {
                let mut jobs = jobs;
                loop {
                    // Jobs that arrive over time: wait on tokio's timer, not
                    // in the stream, which would block the result loop too.
                    if let Some(due) = jobs.due() {
                        tokio::time::sleep_until(due.into()).await;
                    }
                    let Some(job) = jobs.next() else { break };
                    if job_tx.send(job).await.is_err() {
                        break;
                    }
                }
            };
            let consume = async {
                while let Some(outcome) = result_rx.recv().await {
                    on_result(outcome);
                }
            };
            tokio::join!(produce, consume);
            for task in tasks {
                if let Err(e) = task.await {
                    // A task only dies outside a job (job panics are caught);
                    // the pool then reports the worker as lost.
                    debug_assert!(e.is_panic(), "{e}");
                }
            }
        });
        Ok(())
    }
}

/// Completes `job`, begun with `worker.start`, where `cpu` says its CPU work
/// runs. `None` only if a blocking task died, which cannot happen since
/// `finish` catches job panics: the worker is then lost and the pool says so.
async fn finish_job(mut worker: Worker, job: JobId, cpu: CpuJobs) -> Option<(Worker, JobOutcome)> {
    let outcome = match cpu {
        _ if worker.pending_cpu().is_zero() => worker.finish(job),
        CpuJobs::Inline => worker.finish(job),
        CpuJobs::BlockInPlace => tokio::task::block_in_place(|| worker.finish(job)),
        CpuJobs::SpawnBlocking => {
            let handle = tokio::task::spawn_blocking(move || {
                let outcome = worker.finish(job);
                (worker, outcome)
            });
            let (back, outcome) = handle.await.ok()?;
            worker = back;
            outcome
        }
    };
    Some((worker, outcome))
}

#[cfg(test)]
mod tests {
    use pool_core::{Completeness, Format, JobId, Log, Pool};
    use pool_testkit::{case, judge};

    use super::*;

    /// Every placement of CPU work gives a correct run, panics included.
    #[test]
    fn every_cpu_placement_conforms() {
        for cpu_jobs in [CpuJobs::Inline, CpuJobs::BlockInPlace, CpuJobs::SpawnBlocking] {
            let case = case(5, 300, "spin:0us..50us").panics([7, 300]);
            let (log, sink) = Log::memory(Format::Jsonl);
            let options = TokioOptions { threads: NonZeroUsize::new(2), cpu_jobs };
            let pool = Pool::<Tokio>::new(pool_core::PoolConfig::for_run(&case, Some(log)), options).unwrap();
            let mut sum = 0;
            let report = pool.run((1..=300).map(JobId), |o| sum += o.result.unwrap_or(0)).unwrap();
            assert_eq!((report.finished, report.failed), (298, 2), "{cpu_jobs:?}");
            assert_eq!(sum, 300 * 301 - 14 - 600, "{cpu_jobs:?}");
            let log = String::from_utf8(sink.contents()).unwrap();
            let summary = judge(&log, &case, Completeness::Complete);
            assert_eq!(summary, case.expected(), "{cpu_jobs:?}");
        }
    }
}
