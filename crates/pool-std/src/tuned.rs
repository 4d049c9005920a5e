//! The tuned flavor on the standard library alone: no producer thread and
//! no job channel. The workers share the job stream itself behind a `Mutex`
//! ([`Source`]) and each claims a chunk of ids at a time, sized by the time
//! its last chunk took ([`pool_core::tuned::Grain`]): thousands of no-op jobs
//! per lock, one job per lock when jobs are long. Results go back in
//! per-worker batches over one `mpsc` channel, by the log's rule; the caller
//! tries the channel a few times, yielding its core, before it parks on it
//! ([`patiently`]).
//!
//! Trade-off: nothing but std, and the hand-off cost all but disappears for
//! tiny jobs; but there is no stealing — what a worker claimed it runs — so
//! a chunk is kept to about 20 µs of work, and long jobs go one per claim.

use std::num::NonZeroUsize;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::thread;

use pool_core::threads::std_channel;
use pool_core::tuned::{Limits, Results, Source, run_threads};
use pool_core::{Crew, JobId, Jobs, OutcomeSink, PoolError};

/// Runs `crew` on `jobs` in the tuned flavor (see the module docs).
pub(crate) fn run<I>(crew: Crew, jobs: Jobs<I>, on_result: impl OutcomeSink) -> Result<(), PoolError>
where
    I: Iterator<Item = JobId> + Send,
{
    let limits = Limits::of(&crew);
    let source = Source::new(jobs);
    let (tx, rx) = std_channel::<Results>(limits.results.and_then(NonZeroUsize::new));
    // Patience pays where every worker may hold a core; past that the
    // caller's yields go to one of many runnable threads and come back late.
    let cores = thread::available_parallelism().map_or(1, usize::from);
    let tries = if limits.workers <= cores { TRIES } else { 0 };
    run_threads(crew, |_| &source, move |batch| tx.send(batch).is_ok(), patiently(rx, tries), on_result)
}

/// Tries before the caller parks on an empty channel: a few short spins,
/// then yields of its core.
const TRIES: u32 = 16;
/// Of the [`TRIES`], how many spin (twice as long each time) before the
/// rest yield.
const SPINS: u32 = 6;

/// The batches from `rx`, received the way crossbeam-channel's receiver
/// waits: when the channel is empty the caller makes up to `tries` tries,
/// spinning a little, then yielding its core, and parks only if still
/// nothing came. With every
/// core running a worker, a parked caller costs each batch a wake-up of it
/// and a worker pushed off its core: `spin:100us` × 10,000 at 2 workers made
/// about 3,000 context switches a run, and this makes about 300. Paired by
/// round with the `longest-first` reference, 25 rounds: 1.028× (1.014–1.047)
/// before, 1.012× (1.003–1.026) after. With 10,000 workers of
/// `sleep:10ms` it cost 1.027× (1.020–1.097), 9 rounds: there the caller
/// makes no tries.
fn patiently<T>(rx: Receiver<T>, tries: u32) -> impl Iterator<Item = T> {
    std::iter::from_fn(move || {
        for attempt in 0..tries {
            match rx.try_recv() {
                Ok(batch) => return Some(batch),
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) if attempt < SPINS => {
                    for _ in 0..1u32 << attempt {
                        std::hint::spin_loop();
                    }
                }
                Err(TryRecvError::Empty) => thread::yield_now(),
            }
        }
        rx.recv().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patiently_gives_every_batch_in_order_then_ends_when_the_senders_are_gone() {
        let (tx, rx) = std::sync::mpsc::channel();
        let sender = thread::spawn(move || {
            for i in 0..10_000u32 {
                tx.send(i).unwrap();
                if i % 1_000 == 0 {
                    // Now and then the caller finds the channel empty and
                    // must wait past its tries.
                    thread::sleep(std::time::Duration::from_millis(2));
                }
            }
        });
        assert_eq!(patiently(rx, TRIES).collect::<Vec<_>>(), (0..10_000).collect::<Vec<_>>());
        sender.join().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        tx.send(1).unwrap();
        drop(tx);
        assert_eq!(patiently(rx, 0).collect::<Vec<_>>(), [1], "no tries: straight to recv");
    }
}
