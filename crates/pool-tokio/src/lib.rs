//! The seed's pool on tokio: the seed's W workers become W async tasks on a
//! multi-thread runtime, fed by an `async-channel` MPMC queue (tokio's own
//! `mpsc` has one consumer; tokio's docs point to `async-channel` for a
//! work queue) with a channel back for results.
//!
//! W tasks are not W threads: the runtime's thread count is a separate
//! setting, `--threads` (default: the machine's cores). Sleep jobs await
//! `tokio::time::sleep`, so ten thousand sleeping workers hold no thread.
//! CPU jobs run inline on the runtime thread that polls the task: with at
//! most one job per task and tasks spread over the runtime's threads, that is
//! the cheapest option, and the producer and result loop run on the calling
//! thread (`block_on`), so CPU work cannot starve them.

use std::num::NonZeroUsize;

use async_channel::{Receiver, Sender, TryRecvError, bounded, unbounded};
use pool_core::{Backend, Crew, JobId, JobOutcome, PoolError, TryNext, Worker};

/// The tokio backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tokio;

/// Options of the tokio backend.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct TokioOptions {
    /// Runtime worker threads [default: the machine's cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<NonZeroUsize>,
}

fn channel<T>(crew: &Crew) -> (Sender<T>, Receiver<T>) {
    crew.queue().map_or_else(unbounded, |n| bounded(n.get()))
}

/// One worker task: the same loop as `Worker::serve`, awaiting instead of
/// blocking.
async fn work(mut worker: Worker, jobs: Receiver<JobId>, results: Sender<JobOutcome>) {
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
        let Some(sleep) = worker.start(job) else { continue };
        if !sleep.is_zero() {
            tokio::time::sleep(sleep).await;
        }
        if results.send(worker.finish(job)).await.is_err() {
            break;
        }
    }
    worker.exit();
}

impl Backend for Tokio {
    const NAME: &'static str = "tokio";
    const MAX_WORKERS: u32 = 1_000_000;
    type Options = TokioOptions;

    fn run<I>(
        crew: Crew,
        options: &TokioOptions,
        jobs: I,
        on_result: &mut dyn FnMut(JobOutcome),
    ) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.enable_time().thread_name("tokio-worker");
        if let Some(n) = options.threads {
            builder.worker_threads(n.get());
        }
        let runtime = builder.build().map_err(PoolError::Spawn)?;

        let (job_tx, job_rx) = channel(&crew);
        let (result_tx, result_rx) = channel(&crew);
        runtime.block_on(async move {
            let tasks: Vec<_> = crew
                .into_workers()
                .map(|worker| tokio::spawn(work(worker, job_rx.clone(), result_tx.clone())))
                .collect();
            drop((job_rx, result_tx));
            let produce = async move {
                for job in jobs {
                    if job_tx.send(job).await.is_err() {
                        break;
                    }
                }
            };
            let consume = async {
                while let Ok(outcome) = result_rx.recv().await {
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
