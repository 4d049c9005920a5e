//! The seed's pool on `crossbeam-channel`: one multi-producer multi-consumer
//! job channel, each worker holding its own clone of the receiver, and a
//! channel back for results.
//!
//! Trade-off: one small dependency buys a channel built for many consumers —
//! no Mutex around the receiver, so idle workers wait on the channel itself
//! and a hand-off does not serialise them behind a lock.

use crossbeam_channel::{Receiver, Sender, TryRecvError, bounded, unbounded};
use pool_core::threads::run_threads;
use pool_core::{Backend, Crew, Flavor, JobId, Jobs, OutcomeSink, PoolError, TryNext};

pub mod tuned;

/// The crossbeam backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct Crossbeam;

/// The crossbeam backend has no options of its own.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct CrossbeamOptions {}

fn channel<T>(crew: &Crew) -> (Sender<T>, Receiver<T>) {
    crew.queue().map_or_else(unbounded, |n| bounded(n.get()))
}

impl Backend for Crossbeam {
    const NAME: &'static str = "crossbeam";
    const MAX_WORKERS: u32 = 10_000;
    const SUBSTRATE: &'static [&'static str] = &["crossbeam-channel", "crossbeam-deque"];
    type Options = CrossbeamOptions;

    fn about(flavor: Flavor) -> &'static str {
        match flavor {
            Flavor::Textbook => "crossbeam-channel, a receiver clone per worker",
            _ => "crossbeam, tuned: guided chunks on crossbeam-deque with stealing, batched results",
        }
    }

    fn run_tuned<I>(
        crew: Crew,
        _: &CrossbeamOptions,
        jobs: Jobs<I>,
        on_result: impl OutcomeSink,
    ) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        tuned::run(crew, jobs, on_result)
    }

    fn run<I>(crew: Crew, _: &CrossbeamOptions, jobs: Jobs<I>, on_result: impl OutcomeSink) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        let (job_tx, job_rx) = channel(&crew);
        let (result_tx, result_rx) = channel(&crew);
        run_threads(
            crew,
            jobs,
            move |job| job_tx.send(job).is_ok(),
            move |worker| {
                let (rx, tx) = (job_rx.clone(), result_tx.clone());
                move || {
                    worker.serve(
                        || match rx.try_recv() {
                            Ok(job) => TryNext::Job(job),
                            Err(TryRecvError::Empty) => TryNext::Empty,
                            Err(TryRecvError::Disconnected) => TryNext::Closed,
                        },
                        || rx.recv().ok(),
                        |outcome| tx.send(outcome).is_ok(),
                    )
                }
            },
            result_rx,
            on_result,
        )
    }
}
