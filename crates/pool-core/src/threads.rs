//! Scaffolding for backends whose workers are OS threads fed by a channel
//! (std and crossbeam): the scoped threads, the producer and the result loop,
//! so each of those backends holds only its channel.

use std::num::NonZeroUsize;

use sync::{mpsc, thread};

use crate::{Crew, JobId, JobOutcome, OutcomeSink, PoolError, Worker};

/// Where threads and channels come from: std's, or under `cfg(shuttle)`
/// (model checking, see `pool-std/tests/shuttle.rs`) shuttle's drop-in
/// versions, so the model runs this very code.
pub mod sync {
    #[cfg(shuttle)]
    pub use shuttle::{sync::mpsc, thread};
    #[cfg(not(shuttle))]
    pub use std::{sync::mpsc, thread};

    /// Spawns a named thread with a small stack in scope `s`.
    #[cfg(not(shuttle))]
    pub fn spawn_scoped<'scope>(
        s: &'scope thread::Scope<'scope, '_>,
        name: String,
        body: impl FnOnce() + Send + 'scope,
    ) -> std::io::Result<()> {
        thread::Builder::new().name(name).stack_size(super::WORKER_STACK).spawn_scoped(s, body).map(drop)
    }

    /// Spawns a thread in scope `s` (shuttle's scoped threads take no name
    /// or stack size).
    #[cfg(shuttle)]
    pub fn spawn_scoped<'scope>(
        s: &'scope thread::Scope<'scope, '_>,
        _name: String,
        body: impl FnOnce() + Send + 'scope,
    ) -> std::io::Result<()> {
        s.spawn(body);
        Ok(())
    }
}

/// Stack size of a worker thread: jobs here are small, and a smaller stack
/// lets thousands of workers start.
pub const WORKER_STACK: usize = 256 * 1024;

/// Runs the crew with one OS thread per worker, in a scope, so every thread
/// is joined before this returns.
///
/// - `make_worker` is called on this thread once per worker and returns that
///   worker's thread body (which should end in [`Worker::serve`] or
///   [`Worker::exit`]); it is dropped once all are spawned, so channel ends it
///   holds close when the workers finish.
/// - `feed` runs on a producer thread for each job of `jobs`; it returns
///   `false` when the queue is closed. It is dropped (closing the queue) when
///   the stream ends.
/// - `results` is iterated on this thread, each outcome passed to
///   `on_result`, until every sender is gone.
pub fn run_threads<I, F, M, B, R>(
    crew: Crew,
    jobs: I,
    mut feed: F,
    mut make_worker: M,
    results: R,
    mut on_result: impl OutcomeSink,
) -> Result<(), PoolError>
where
    I: Iterator<Item = JobId> + Send,
    F: FnMut(JobId) -> bool + Send,
    M: FnMut(Worker) -> B,
    B: FnOnce() + Send,
    R: IntoIterator<Item = JobOutcome>,
{
    thread::scope(move |s| {
        for worker in crew.into_workers() {
            let name = format!("worker-{}", worker.id());
            let body = make_worker(worker);
            sync::spawn_scoped(s, name, body).map_err(PoolError::Spawn)?;
        }
        drop(make_worker);
        let producer = move || {
            for job in jobs {
                if !feed(job) {
                    break;
                }
            }
        };
        sync::spawn_scoped(s, "producer".into(), producer).map_err(PoolError::Spawn)?;
        for outcome in results {
            on_result.one(outcome);
        }
        Ok(())
    })
}

/// The sending half of a std channel, bounded or not: std gives the two
/// different types, and a backend wants one.
#[derive(Debug)]
pub enum StdSender<T> {
    /// From [`mpsc::channel`].
    Unbounded(mpsc::Sender<T>),
    /// From [`mpsc::sync_channel`]: `send` waits while the channel is full.
    Bounded(mpsc::SyncSender<T>),
}

impl<T> Clone for StdSender<T> {
    fn clone(&self) -> Self {
        match self {
            StdSender::Unbounded(tx) => StdSender::Unbounded(tx.clone()),
            StdSender::Bounded(tx) => StdSender::Bounded(tx.clone()),
        }
    }
}

impl<T> StdSender<T> {
    /// Sends, waiting for room if bounded; gives the value back if the
    /// receiver is gone.
    pub fn send(&self, value: T) -> Result<(), mpsc::SendError<T>> {
        match self {
            StdSender::Unbounded(tx) => tx.send(value),
            StdSender::Bounded(tx) => tx.send(value),
        }
    }
}

/// A std `mpsc` channel of capacity `bound`, or unbounded.
pub fn std_channel<T>(bound: Option<NonZeroUsize>) -> (StdSender<T>, mpsc::Receiver<T>) {
    match bound {
        None => {
            let (tx, rx) = mpsc::channel();
            (StdSender::Unbounded(tx), rx)
        }
        Some(n) => {
            let (tx, rx) = mpsc::sync_channel(n.get());
            (StdSender::Bounded(tx), rx)
        }
    }
}

/// Tries before the caller parks on an empty channel in [`patiently`]: a
/// few short spins, then yields of its core.
const TRIES: u32 = 16;
/// Of the [`TRIES`], how many spin (twice as long each time) before the
/// rest yield.
const SPINS: u32 = 6;

/// What comes from `rx`, received the way crossbeam-channel's receiver
/// waits, for a caller whose `workers` all fit on the machine's cores: when
/// the channel is empty it spins a little, then yields its core a few
/// times, and parks only if still nothing came. With every core running a
/// worker, a parked caller costs each result batch a wake-up of it and a
/// worker pushed off its core: `spin:100us` × 10,000 at 2 workers (std's
/// tuned flavor) made about 3,000 context switches a run, and this makes
/// about 300. Paired by round with the `longest-first` reference, 25 rounds:
/// 1.028× (1.014–1.047) before, 1.012× (1.003–1.026) after.
///
/// With more workers than cores it parks at once: there its yields go to
/// one of many runnable threads and come back late (10,000 workers of
/// `sleep:10ms`: 1.027× (1.020–1.097) with the tries, 9 rounds).
pub fn patiently<T>(rx: mpsc::Receiver<T>, workers: usize) -> impl Iterator<Item = T> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let tries = if workers <= cores { TRIES } else { 0 };
    std::iter::from_fn(move || {
        for attempt in 0..tries {
            match rx.try_recv() {
                Ok(value) => return Some(value),
                Err(mpsc::TryRecvError::Disconnected) => return None,
                Err(mpsc::TryRecvError::Empty) if attempt < SPINS => {
                    for _ in 0..1u32 << attempt {
                        std::hint::spin_loop();
                    }
                }
                Err(mpsc::TryRecvError::Empty) => thread::yield_now(),
            }
        }
        rx.recv().ok()
    })
}

#[cfg(all(test, not(shuttle)))]
mod tests {
    use super::*;

    #[test]
    fn patiently_gives_everything_in_order_then_ends_when_the_senders_are_gone() {
        // One worker fits any machine: the caller tries before it parks; a
        // crowd of them does not: it parks at once. Both see it all.
        for workers in [1, usize::MAX] {
            let (tx, rx) = mpsc::channel();
            let sender = thread::spawn(move || {
                for i in 0..10_000u32 {
                    tx.send(i).unwrap();
                    if i % 1_000 == 0 {
                        // Now and then the caller finds the channel empty
                        // and waits past its tries.
                        thread::sleep(std::time::Duration::from_millis(2));
                    }
                }
            });
            assert_eq!(patiently(rx, workers).collect::<Vec<_>>(), (0..10_000).collect::<Vec<_>>());
            sender.join().unwrap();
        }
    }
}
