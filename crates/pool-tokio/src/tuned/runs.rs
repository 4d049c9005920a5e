//! The tuned flavor's run queue: runs of job ids from the producer, which
//! shares the calling thread with the result loop, to the tasks.
//!
//! The queue is bounded, and the producer refills it by halves: a task that
//! takes a run and sees at most half the queue left wakes the producer
//! ([`Room`]), which then fills it to the bound and waits again (and it
//! tops the queue up whenever the calling thread is awake anyway, see
//! [`Feed::feed`]). Awaiting
//! `send` on a full queue instead wakes the producer after every run the
//! tasks take, and each wake-up takes a core from a task: at one
//! `spin:100us` job per run and 2 workers that was about 10,000 wake-ups of
//! the calling thread per 10,000 jobs (`perf stat`: 24,800 context switches
//! a run, `strace -c`: 21,600 futex calls), and the run took 1.2 times the
//! ideal.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::task::Poll;

use async_channel::{Receiver, Sender, TryRecvError, TrySendError, bounded};
use pool_core::JobId;
use pool_core::tuned::{Run, Source};
use tokio::sync::Notify;

/// Room in the queue, as the tasks tell the producer.
#[derive(Debug)]
struct Room {
    notify: Notify,
    /// A task that leaves at most this many runs queued wakes the producer.
    low: usize,
}

/// The producer's end of the queue.
pub(crate) struct Feed {
    tx: Sender<Run>,
    room: Arc<Room>,
}

/// A task's end of the queue (one per task: clone it).
///
/// Its fields drop in order: the receiver first, then [`Wake`] wakes the
/// producer, which so sees the queue closed once the last task is gone: a
/// task that ends early leaves no producer waiting for room for ever.
#[derive(Clone)]
pub(crate) struct Runs {
    rx: Receiver<Run>,
    wake: Wake,
}

/// Wakes the producer when dropped (see [`Runs`]).
#[derive(Clone)]
struct Wake(Arc<Room>);

impl Drop for Wake {
    fn drop(&mut self) {
        self.0.notify.notify_one();
    }
}

/// A queue of at most `capacity` runs (at least 1).
pub(crate) fn queue(capacity: usize) -> (Feed, Runs) {
    let capacity = capacity.max(1);
    let (tx, rx) = bounded(capacity);
    let room = Arc::new(Room { notify: Notify::new(), low: capacity / 2 });
    (Feed { tx, room: Arc::clone(&room) }, Runs { rx, wake: Wake(room) })
}

impl Feed {
    /// Claims runs from `source`, each of at most `grain` ids (read at each
    /// claim), into the queue until the source is over or no task is left;
    /// then closes the queue.
    ///
    /// Fills the queue whenever it is polled — also when the result loop
    /// beside it (in the same `join!`) wakes the calling thread for a
    /// batch — and, when it is full, waits until a task says it is half
    /// empty. So the producer rarely needs a wake-up of its own: at
    /// `spin:100us` on 2 workers, with a batch every half millisecond, the
    /// queue of 32 runs is topped up before it is half empty.
    ///
    /// A claimed run is never dropped while a task is left: `try_send` can
    /// say "full" although `is_full` just said there was room (a queue of
    /// one is a single slot that a task may still be reading out), so such
    /// a run is held and sent first once a task makes room.
    pub(crate) async fn feed<I: Iterator<Item = JobId>>(self, source: &Source<I>, grain: &AtomicUsize) {
        let notified = self.room.notify.notified();
        let mut notified = pin!(notified);
        let mut held: Option<Run> = None;
        poll_fn(|cx| {
            loop {
                while !self.tx.is_full() {
                    let run = match held.take() {
                        Some(run) => run,
                        None => match source.claim(grain.load(Relaxed), &mut || {}) {
                            Some(run) => run,
                            None => return Poll::Ready(()),
                        },
                    };
                    match self.tx.try_send(run) {
                        Ok(()) => {}
                        // A task is mid-read: it wakes us once it is done.
                        Err(TrySendError::Full(run)) => {
                            held = Some(run);
                            break;
                        }
                        Err(TrySendError::Closed(_)) => return Poll::Ready(()),
                    }
                }
                if self.tx.is_closed() {
                    return Poll::Ready(());
                }
                match notified.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(()) => notified.set(self.room.notify.notified()),
                }
            }
        })
        .await;
    }
}

impl Runs {
    /// A run if one is queued.
    pub(crate) fn try_take(&self) -> Result<Run, TryRecvError> {
        let run = self.rx.try_recv();
        if run.is_ok() {
            self.taken();
        }
        run
    }

    /// The next run, waiting for one; `None` once the queue is closed and
    /// empty.
    pub(crate) async fn take(&self) -> Option<Run> {
        let run = self.rx.recv().await.ok();
        if run.is_some() {
            self.taken();
        }
        run
    }

    fn taken(&self) {
        let room = &self.wake.0;
        // Once the producer is gone (the queue is closed) nobody listens,
        // and a notification is a write to a line both cores share.
        if self.rx.len() <= room.low && !self.rx.is_closed() {
            room.notify.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use pool_core::Jobs;

    use super::*;

    fn current_thread() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
    }

    /// Lets every other future of the `join!` run until it waits.
    async fn settle() {
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
    }

    /// The producer fills the queue, sleeps while more than half of it is
    /// left, refills it once half is taken, and every id comes out once, in
    /// order. (Spawned on its own, so nothing else polls it.)
    #[test]
    fn the_producer_refills_by_halves() {
        let source: &'static _ = Box::leak(Box::new(Source::new(Jobs::range(1..=100))));
        let grain: &'static _ = Box::leak(Box::new(AtomicUsize::new(3)));
        let (feed, runs) = queue(8);
        let mut ids = Vec::new();
        current_thread().block_on(async {
            let fed = tokio::spawn(feed.feed(source, grain));
            settle().await;
            assert_eq!(runs.rx.len(), 8, "filled");
            for left in (5..8).rev() {
                let run = runs.try_take().unwrap();
                ids.extend(run.ids().map(|j| j.0));
                settle().await;
                assert_eq!(runs.rx.len(), left, "more than half left: no refill");
            }
            ids.extend(runs.try_take().unwrap().ids().map(|j| j.0));
            settle().await;
            assert_eq!(runs.rx.len(), 8, "half taken: refilled");
            while let Some(run) = runs.take().await {
                ids.extend(run.ids().map(|j| j.0));
            }
            fed.await.unwrap();
        });
        assert_eq!(ids, (1..=100).collect::<Vec<_>>());
    }

    /// Polled for another reason (the result loop beside it woke the
    /// thread), the producer tops the queue up before it is half empty.
    #[test]
    fn the_producer_tops_up_when_polled() {
        let source = Source::new(Jobs::range(1..=100));
        let grain = AtomicUsize::new(1);
        let (feed, runs) = queue(8);
        current_thread().block_on(async {
            let check = async {
                settle().await;
                assert_eq!(runs.rx.len(), 8, "filled");
                assert_eq!(runs.try_take().unwrap().first, 1);
                // `yield_now` wakes the `join!`, which polls the producer too.
                settle().await;
                assert_eq!(runs.rx.len(), 8, "topped up");
                drop(runs);
            };
            tokio::join!(feed.feed(&source, &grain), check);
        });
        assert_eq!(source.claim(1, &mut || {}).map(|run| run.first), Some(10), "9 runs were claimed");
    }

    /// Every task gone while the queue is full: the producer returns.
    #[test]
    fn no_task_left_frees_the_producer() {
        let source = Source::new(Jobs::range(1..=100));
        let grain = AtomicUsize::new(1);
        let (feed, runs) = queue(2);
        let other = runs.clone();
        current_thread().block_on(async {
            let leave = async {
                settle().await;
                assert!(runs.rx.is_full());
                drop(runs);
                settle().await;
                drop(other);
            };
            let fed = tokio::time::timeout(Duration::from_secs(10), feed.feed(&source, &grain));
            let (fed, ()) = tokio::join!(fed, leave);
            assert!(fed.is_ok(), "the producer still waits for room");
        });
        assert_eq!(source.claim(1, &mut || {}).map(|run| run.first), Some(3), "two runs were claimed");
    }

    /// A queue of one run (one task, `--queue 1`) with a task taking from
    /// it on another thread: every id comes out. async-channel keeps a
    /// queue of one as a single slot whose `try_send` says "full" while a
    /// taker is still reading it out, although `is_full` just said there
    /// was room; a producer that took that for "closed" lost the run it had
    /// claimed and ended the queue, and the pool returned Ok with jobs
    /// never run (issue 20).
    #[test]
    fn a_queue_of_one_loses_no_run_to_a_taker_mid_read() {
        const IDS: u64 = 200_000;
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
        let source = Source::new(Jobs::range(1..=IDS));
        let grain = AtomicUsize::new(1);
        let (feed, runs) = queue(1);
        let taken = runtime.block_on(async {
            let taker = tokio::spawn(async move {
                let mut ids = 0;
                while let Some(run) = runs.take().await {
                    ids += run.len;
                }
                ids
            });
            // As the result loop beside it in the pool does, something
            // keeps waking the producer, which then tops the queue up at
            // any moment, also while the taker reads.
            let done = std::sync::atomic::AtomicBool::new(false);
            let fed = async {
                feed.feed(&source, &grain).await;
                done.store(true, Relaxed);
            };
            let poke = async {
                while !done.load(Relaxed) {
                    tokio::task::yield_now().await;
                }
            };
            tokio::join!(fed, poke);
            taker.await.unwrap()
        });
        assert_eq!((taken, source.remaining()), (IDS, Some(0)), "ids taken, ids left in the source");
    }
}
