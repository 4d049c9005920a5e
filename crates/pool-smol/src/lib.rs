//! The seed's pool on smol: the seed's W workers become W async tasks on an
//! `async-executor` executor run by a few threads (`--threads`, default:
//! the machine's cores), fed by an `async-channel` MPMC queue, with another
//! `async-channel` back for results. This is smol's own recipe for a
//! multi-threaded executor: N threads each `block_on(executor.run(..))`
//! until a shutdown signal.
//!
//! Sleep jobs await an `async-io` timer, so ten thousand sleeping workers
//! hold no thread; async-io keeps timers in an ordered map and wakes them
//! at their deadline (`epoll_wait` with a timeout), not on a fixed tick as
//! tokio's timer wheel does. CPU jobs run inline on the executor thread
//! that polls the task; the producer and the result loop run on the
//! calling thread, so CPU work cannot starve them.
//!
//! `--flavor tuned` runs pool-core's tuned tasks ([`pool_core::tuned::tasks`])
//! on the same executor: runs of job ids through the queue, sized by the
//! measured grain, and batched results; what is smol's there is only how a
//! task is spawned and how it sleeps (one async-io timer per task, set
//! again for each job).

use std::future::Future;
use std::io;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use async_channel::{Receiver, Sender, TryRecvError, bounded, unbounded};
use async_executor::Executor;
use async_io::Timer;
use pool_core::tuned::tasks::{self, Substrate};
use pool_core::{Backend, Crew, Flavor, JobId, JobOutcome, Jobs, OutcomeSink, PoolError, TryNext, Worker};

/// The smol backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct Smol;

/// Options of the smol backend.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct SmolOptions {
    /// Executor threads, 1 to 1024 [default: the machine's cores]; if the OS refuses one, the run ends with status 3.
    #[arg(long, value_name = "N", value_parser = parse_threads)]
    pub threads: Option<NonZeroUsize>,
}

/// The most executor threads `--threads` accepts: far past any core count.
pub const MAX_THREADS: usize = 1024;

fn parse_threads(s: &str) -> Result<NonZeroUsize, String> {
    s.trim()
        .parse()
        .ok()
        .and_then(NonZeroUsize::new)
        .filter(|n| n.get() <= MAX_THREADS)
        .ok_or_else(|| format!("expected a whole number of threads from 1 to {MAX_THREADS}"))
}

fn channel<T>(crew: &Crew) -> (Sender<T>, Receiver<T>) {
    crew.queue().map_or_else(unbounded, |n| bounded(n.get()))
}

impl Backend for Smol {
    const NAME: &'static str = "smol";
    const MAX_WORKERS: u32 = 1_000_000;
    const FLAVORS: &'static [Flavor] = &[Flavor::Textbook, Flavor::Tuned];
    const SUBSTRATE: &'static [&'static str] = &["async-executor", "async-channel", "async-io"];
    type Options = SmolOptions;

    fn about(flavor: Flavor) -> &'static str {
        match flavor {
            Flavor::Textbook => {
                "W async tasks on a smol executor (async-executor) run by one thread per core, async-channel queues; \
                 sleeps on async-io timers"
            }
            _ => "smol, tuned: pool-core's tuned tasks (runs of ids sized by the measured grain, batched results)",
        }
    }

    fn run<I>(crew: Crew, options: &SmolOptions, jobs: Jobs<I>, on_result: impl OutcomeSink) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        on_executor(options, |executor| async_io::block_on(textbook(crew, &executor, jobs, on_result)))
    }

    fn run_tuned<I>(
        crew: Crew,
        options: &SmolOptions,
        jobs: Jobs<I>,
        on_result: impl OutcomeSink,
    ) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        on_executor(options, |executor| async_io::block_on(tasks::run(crew, SmolTasks { executor }, jobs, on_result)))
    }
}

/// Starts async-io's reactor and `--threads` executor threads (smol's
/// multi-threaded recipe: each `block_on(executor.run(..))` until a
/// shutdown signal), runs `body` on the calling thread, then stops them.
fn on_executor(options: &SmolOptions, body: impl FnOnce(Arc<Executor<'static>>)) -> Result<(), PoolError> {
    let threads =
        options.threads.map_or_else(|| thread::available_parallelism().map_or(1, NonZeroUsize::get), NonZeroUsize::get);
    start_reactor()?;
    let executor = Arc::new(Executor::new());
    // Closing this channel ends every executor thread's `run`.
    let (shutdown, stopping) = unbounded::<()>();
    thread::scope(|s| {
        for i in 0..threads {
            let (executor, stopping) = (Arc::clone(&executor), stopping.clone());
            let spawned = thread::Builder::new()
                .name(format!("smol-{i}"))
                .spawn_scoped(s, move || async_io::block_on(executor.run(stopping.recv())));
            if let Err(e) = spawned {
                // No job was handed out; the threads started stop.
                drop(shutdown);
                return Err(PoolError::Spawn(e));
            }
        }
        body(executor);
        drop(shutdown);
        Ok(())
    })
}

/// The textbook run: one task per worker over an `async-channel` queue,
/// results back over another, fed and consumed here.
async fn textbook<I>(crew: Crew, executor: &Executor<'static>, jobs: Jobs<I>, mut on_result: impl OutcomeSink)
where
    I: Iterator<Item = JobId> + Send,
{
    let (job_tx, job_rx) = channel(&crew);
    let (result_tx, result_rx) = channel(&crew);
    let tasks: Vec<_> =
        crew.into_workers().map(|worker| executor.spawn(work(worker, job_rx.clone(), result_tx.clone()))).collect();
    drop((job_rx, result_tx));
    let produce = async move {
        let mut jobs = jobs;
        loop {
            // Jobs that arrive over time: wait on an async-io timer, not in
            // the stream, which would block the result loop too.
            if let Some(due) = jobs.due() {
                Timer::at(due).await;
            }
            let Some(job) = jobs.next() else { break };
            if job_tx.send(job).await.is_err() {
                break;
            }
        }
    };
    let consume = async {
        while let Ok(outcome) = result_rx.recv().await {
            on_result.one(outcome);
        }
    };
    futures_lite::future::zip(produce, consume).await;
    for task in tasks {
        task.await;
    }
}

/// smol's part of the tuned tasks: spawned on the run's executor, asleep on
/// async-io timers.
#[derive(Clone)]
struct SmolTasks {
    executor: Arc<Executor<'static>>,
}

impl Substrate for SmolTasks {
    type Timer = Timer;
    type Task = async_executor::Task<()>;

    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, task: F) -> Self::Task {
        self.executor.spawn(task)
    }

    fn timer(&self) -> Timer {
        Timer::never()
    }

    // Not an `async fn`: its future would borrow `self`, and it must not.
    #[allow(clippy::manual_async_fn)]
    fn sleep_until(&self, at: std::time::Instant) -> impl Future<Output = ()> + 'static {
        async move {
            Timer::at(at).await;
        }
    }

    fn sleep(timer: Pin<&mut Timer>, duration: Duration) -> impl Future<Output = ()> + Send + '_ {
        let timer = timer.get_mut();
        timer.set_after(duration);
        async move {
            timer.await;
        }
    }
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
        // Cancelled: leave the backlog queued (see `Worker::serve`).
        let Some(sleep) = worker.start(job) else { break };
        if !sleep.is_zero() {
            async_io::Timer::after(sleep).await;
        }
        let outcome = worker.finish(job);
        if results.send(outcome).await.is_err() {
            break;
        }
    }
    worker.exit();
}

/// Starts async-io's reactor and its helper thread, `async-io`, now, on the
/// calling thread, so that an OS that refuses that thread is
/// [`PoolError::Spawn`] before any job is handed out: async-io panics there
/// ("cannot spawn async-io thread") rather than return the error.
fn start_reactor() -> Result<(), PoolError> {
    let refused = Arc::new(Mutex::new(None));
    let report = {
        let refused = Arc::clone(&refused);
        move |message: String| *refused.lock().unwrap_or_else(PoisonError::into_inner) = Some(message)
    };
    let started = std::panic::catch_unwind(|| pool_core::report_panic(report, || async_io::block_on(async {})));
    match started {
        Ok(()) => Ok(()),
        Err(_) => {
            let message = refused.lock().unwrap_or_else(PoisonError::into_inner).take().unwrap_or_default();
            Err(PoolError::Spawn(os_error(&message)))
        }
    }
}

/// The error async-io's panic stands for: the OS's own (`... Os { code:
/// 11, ...`) when it is the refused thread, otherwise the message itself.
fn os_error(message: &str) -> io::Error {
    let code = message.split_once("code: ").and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next());
    match code.and_then(|c| c.parse().ok()) {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::other(format!("the async-io reactor did not start: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_error_reads_the_code_from_async_ios_panic() {
        let message = r#"cannot spawn async-io thread: Os { code: 11, kind: WouldBlock, message: "Resource temporarily unavailable" }"#;
        assert_eq!(os_error(message).raw_os_error(), Some(11));
        assert_eq!(os_error("odd").to_string(), "the async-io reactor did not start: odd");
    }

    #[test]
    fn threads_are_bounded() {
        assert_eq!(parse_threads(" 4 ").unwrap().get(), 4);
        assert!(parse_threads("0").is_err() && parse_threads("1025").is_err() && parse_threads("x").is_err());
    }
}
