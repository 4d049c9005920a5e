//! The seed's pool on the standard library alone, in the Rust Book's pattern:
//! one `std::sync::mpsc` job channel whose single receiver the workers share
//! as `Arc<Mutex<Receiver>>`, and an `mpsc` channel back for results.
//!
//! Trade-off: no dependency at all, but every hand-off takes the Mutex, so
//! workers contend on it when jobs are short. The lock is held only while
//! taking a job, never while running one, so a panicking job cannot poison it.
//!
//! `--flavor tuned` runs the [`tuned`] form instead: the same contract, with
//! chunks of job ids and batched results.

use pool_core::threads::{run_threads, std_channel};
use pool_core::{Backend, Crew, Flavor, JobId, Jobs, OutcomeSink, PoolError, TryNext};
use sync::mpsc::{Receiver, TryRecvError};
use sync::{Arc, Mutex, MutexGuard, PoisonError};

pub mod tuned;

/// Where the Mutex and channels come from: std's, or under `cfg(shuttle)`
/// (model checking, `tests/shuttle.rs`) shuttle's drop-in versions, so the
/// model checks this very code.
mod sync {
    #[cfg(shuttle)]
    pub use shuttle::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};
    #[cfg(not(shuttle))]
    pub use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};
}

/// The std backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct Std;

/// The std backend has no options of its own.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct StdOptions {}

fn lock(rx: &Mutex<Receiver<JobId>>) -> MutexGuard<'_, Receiver<JobId>> {
    // Jobs never run under the lock, so it cannot be poisoned by one; if it
    // were, the receiver inside is still sound.
    rx.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Backend for Std {
    const NAME: &'static str = "std";
    const MAX_WORKERS: u32 = 10_000;
    type Options = StdOptions;

    fn about(flavor: Flavor) -> &'static str {
        match flavor {
            Flavor::Textbook => "`std::sync::mpsc` + `Arc<Mutex<Receiver>>`",
            _ => "std, tuned: workers claim adaptive chunks from the shared stream, batched results",
        }
    }

    fn run_tuned<I>(crew: Crew, _: &StdOptions, jobs: Jobs<I>, on_result: impl OutcomeSink) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        tuned::run(crew, jobs, on_result)
    }

    fn run<I>(crew: Crew, _: &StdOptions, jobs: Jobs<I>, on_result: impl OutcomeSink) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send,
    {
        let (job_tx, job_rx) = std_channel(crew.queue());
        let (result_tx, result_rx) = std_channel(crew.queue());
        let job_rx = Arc::new(Mutex::new(job_rx));
        run_threads(
            crew,
            jobs,
            move |job| job_tx.send(job).is_ok(),
            move |worker| {
                let (rx, tx) = (Arc::clone(&job_rx), result_tx.clone());
                move || {
                    worker.serve(
                        || match lock(&rx).try_recv() {
                            Ok(job) => TryNext::Job(job),
                            Err(TryRecvError::Empty) => TryNext::Empty,
                            Err(TryRecvError::Disconnected) => TryNext::Closed,
                        },
                        || lock(&rx).recv().ok(),
                        |outcome| tx.send(outcome).is_ok(),
                    )
                }
            },
            result_rx,
            on_result,
        )
    }
}
