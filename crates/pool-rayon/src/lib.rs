//! The seed's pool on rayon: a `ThreadPool` of W threads, fed the way a rayon
//! user feeds a stream — `par_bridge`, so idle threads pull the next job from
//! the stream and steal split work from each other. Worker number =
//! `current_thread_index() + 1`.
//!
//! Trade-off: no queue at all. Threads pull jobs straight from the producer's
//! iterator, so the stream never runs ahead of the workers (backpressure
//! comes for free, whatever `--queue` says; `--queue` bounds only the result
//! channel), but each pull takes the bridge's lock. rayon has no "exiting"
//! moment of its own: the pool `broadcast`s one to every thread once the
//! stream is drained, then drops the pool and waits until every thread has
//! run its exit handler (a dropped rayon pool does not join its threads).
//!
//! `--flavor tuned` runs the [`tuned`] form instead: the same contract, with
//! blocks of ids split in halves as tasks of a `rayon::scope`, and batched
//! results.

use std::sync::{Mutex, PoisonError};

use pool_core::threads::std_channel;
use pool_core::{Backend, Crew, Flavor, JobId, Jobs, OutcomeSink, PoolError, Worker};
use rayon::iter::{ParallelBridge, ParallelIterator};

pub mod tuned;

/// The rayon backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rayon;

/// The rayon backend has no options of its own.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct RayonOptions {}

impl Backend for Rayon {
    const NAME: &'static str = "rayon";
    /// What rayon can do, measured: idle rayon threads search every other
    /// thread for work, and each search walks crossbeam-epoch's list of every
    /// registered thread, so starting and stopping grows about as W³ (release
    /// build, 2 cores, `-j 0`: 250 threads 0.08 s, 500 0.65 s, 1000 5.6 s,
    /// 2000 60 s). At 256 a run starts and stops as fast as the thread
    /// backends start 10,000.
    const MAX_WORKERS: u32 = 256;
    const SUBSTRATE: &'static [&'static str] = &["rayon", "rayon-core"];
    type Options = RayonOptions;

    fn about(flavor: Flavor) -> &'static str {
        match flavor {
            Flavor::Textbook => "a W-thread rayon pool fed by `par_bridge`",
            _ => "rayon, tuned: blocks of ids as indexed parallel iterators, batched results",
        }
    }

    fn run_tuned<I>(crew: Crew, _: &RayonOptions, jobs: Jobs<I>, on_result: impl OutcomeSink) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        tuned::run(crew, jobs, on_result)
    }

    fn run<I>(crew: Crew, _: &RayonOptions, jobs: Jobs<I>, mut on_result: impl OutcomeSink) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        // `run` waits for every thread's exit report (see `joined_pool`).
        let threads = crew.size() as usize;
        let (pool, ended_rx) = joined_pool(threads)?;
        let (result_tx, result_rx) = std_channel(crew.queue());
        // Each thread only ever locks its own slot, so the lock is never
        // contended; it makes the worker reachable from rayon's closures.
        let workers: Vec<Mutex<Option<Worker>>> = crew.into_workers().map(|w| Mutex::new(Some(w))).collect();
        let slot = |index: usize| workers[index].lock().unwrap_or_else(PoisonError::into_inner);

        std::thread::scope(|s| {
            let feeding = std::thread::Builder::new().name("feed".into()).spawn_scoped(s, move || {
                pool.install(|| {
                    jobs.par_bridge().for_each(|job| {
                        let index = rayon::current_thread_index().expect("runs on the pool");
                        let outcome = slot(index).as_mut().expect("worker present until exit").run(job);
                        if let Some(outcome) = outcome {
                            // A closed channel means the caller is gone.
                            let _ = result_tx.send(outcome);
                        }
                    });
                });
                pool.broadcast(|ctx| {
                    if let Some(worker) = slot(ctx.index()).take() {
                        worker.exit();
                    }
                });
            });
            if let Err(e) = feeding {
                // Refused before any job ran (the pool went with the closure).
                return Err(exit_all(
                    workers.iter().map(|w| w.lock().unwrap_or_else(PoisonError::into_inner).take()),
                    e,
                ));
            }
            for outcome in result_rx {
                on_result.one(outcome);
            }
            Ok(())
        })?;
        // The pool was dropped at the end of the scoped thread.
        let ended = ended_rx.iter().take(threads).count();
        debug_assert_eq!(ended, threads, "every rayon thread reports its end");
        Ok(())
    }
}

/// The OS refused the thread that feeds the pool, `e`, before any job ran:
/// every worker exits (so the log stays valid) and the run fails.
fn exit_all(workers: impl Iterator<Item = Option<Worker>>, e: std::io::Error) -> PoolError {
    workers.flatten().for_each(Worker::exit);
    PoolError::Spawn(e)
}

/// A rayon pool of `threads` worker threads, and a channel on which each
/// thread reports from its exit handler: dropping a rayon pool only tells its
/// threads to end (rayon#688), so a run waits for `threads` reports before it
/// returns, and no thread outlives it.
fn joined_pool(threads: usize) -> Result<(rayon::ThreadPool, std::sync::mpsc::Receiver<()>), PoolError> {
    let (ended_tx, ended_rx) = std::sync::mpsc::channel::<()>();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("rayon-worker-{}", i + 1))
        .stack_size(pool_core::threads::WORKER_STACK)
        .exit_handler(move |_| {
            let _ = ended_tx.send(());
        })
        .build()
        .map_err(|e| PoolError::Spawn(std::io::Error::other(e)))?;
    Ok((pool, ended_rx))
}
