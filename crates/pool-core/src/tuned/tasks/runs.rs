//! The run queue of the tuned tasks: runs of job ids from the producer,
//! which shares the calling thread with the result loop, to the tasks.
//!
//! The queue is bounded, and the producer refills it by halves: a task that
//! takes a run and sees at most half the queue left wakes the producer
//! ([`Room`]), which then fills it to the bound and waits again (and tops
//! the queue up whenever the calling thread is awake anyway, see
//! [`Feed::feed`]). Awaiting `send` on a full queue instead would wake the
//! producer after every run the tasks take, and each wake-up takes a core
//! from a task.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::task::Poll;
use std::time::Instant;

use async_channel::{Receiver, Sender, TryRecvError, TrySendError, bounded};
use event_listener::{Event, EventListener};

use super::super::{Run, Source};
use crate::JobId;

/// Room in the queue, as the tasks tell the producer.
#[derive(Debug)]
struct Room {
    event: Event,
    /// A task that leaves at most this many runs queued wakes the producer.
    low: usize,
}

/// The producer's end of the queue.
pub(super) struct Feed {
    tx: Sender<Run>,
    room: Arc<Room>,
}

/// A task's end of the queue (one per task: clone it).
///
/// Its fields drop in order: the receiver first, then [`Wake`] wakes the
/// producer, which so sees the queue closed once the last task is gone: a
/// task that ends early leaves no producer waiting for room for ever.
#[derive(Clone)]
pub(super) struct Runs {
    rx: Receiver<Run>,
    wake: Wake,
}

/// Wakes the producer when dropped (see [`Runs`]).
#[derive(Clone)]
struct Wake(Arc<Room>);

impl Drop for Wake {
    fn drop(&mut self) {
        self.0.event.notify(1);
    }
}

/// A queue of at most `capacity` runs (at least 1).
pub(super) fn queue(capacity: usize) -> (Feed, Runs) {
    let capacity = capacity.max(1);
    let (tx, rx) = bounded(capacity);
    let room = Arc::new(Room { event: Event::new(), low: capacity / 2 });
    (Feed { tx, room: Arc::clone(&room) }, Runs { rx, wake: Wake(room) })
}

impl Feed {
    /// Claims runs from `source`, each of at most `grain` ids (read at each
    /// claim), into the queue until the source is over or no task is left;
    /// then closes the queue.
    ///
    /// Fills the queue whenever it is polled — also when the result loop
    /// beside it wakes the calling thread for a batch — and, when it is
    /// full, waits until a task says it is half empty. So the producer
    /// rarely needs a wake-up of its own.
    ///
    /// A claimed run is never dropped while a task is left: `try_send` can
    /// say "full" although `is_full` just said there was room (a queue of
    /// one is a single slot that a task may still be reading out), so such
    /// a run is held and sent first once a task makes room.
    ///
    /// When jobs arrive over time it claims only those that have arrived,
    /// and waits for the next on `sleep_until` (the substrate's timer), not
    /// in the stream, which would block the result loop beside it.
    pub(super) async fn feed<I, F>(self, source: &Source<I>, grain: &AtomicUsize, sleep_until: impl Fn(Instant) -> F)
    where
        I: Iterator<Item = JobId>,
        F: Future<Output = ()>,
    {
        let mut listener: Option<Pin<Box<EventListener>>> = None;
        let mut arrival: Option<Pin<Box<F>>> = None;
        let mut held: Option<Run> = None;
        poll_fn(|cx| {
            loop {
                while !self.tx.is_full() {
                    if held.is_none() {
                        if let Some(due) = source.due().filter(|&due| due > Instant::now()) {
                            let wait = arrival.get_or_insert_with(|| Box::pin(sleep_until(due)));
                            if wait.as_mut().poll(cx).is_pending() {
                                return Poll::Pending;
                            }
                            arrival = None;
                            continue;
                        }
                    }
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
                match listener.as_mut() {
                    // Listen first, then look again: a task that made room
                    // in between has either been seen or will wake us.
                    None => listener = Some(Box::pin(self.room.event.listen())),
                    Some(l) => match l.as_mut().poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(()) => listener = None,
                    },
                }
            }
        })
        .await;
    }
}

impl Runs {
    /// A run if one is queued.
    pub(super) fn try_take(&self) -> Result<Run, TryRecvError> {
        let run = self.rx.try_recv();
        if run.is_ok() {
            self.taken();
        }
        run
    }

    /// The next run, waiting for one; `None` once the queue is closed and
    /// empty.
    pub(super) async fn take(&self) -> Option<Run> {
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
            room.event.notify(1);
        }
    }

    /// Runs waiting in the queue.
    #[cfg(test)]
    fn queued(&self) -> usize {
        self.rx.len()
    }
}

#[cfg(test)]
mod tests {
    use futures_lite::future::{block_on, poll_once, yield_now, zip};

    use super::*;
    use crate::Jobs;

    /// The producer's sleep: never needed, as no job here arrives over time.
    fn no_arrivals(_: Instant) -> std::future::Ready<()> {
        unreachable!("no arrivals in these runs")
    }

    /// Lets every other future of the `zip` run until it waits.
    async fn settle() {
        for _ in 0..4 {
            yield_now().await;
        }
    }

    /// Polled for another reason (the result loop beside it woke the
    /// thread), the producer tops the queue up before it is half empty.
    #[test]
    fn the_producer_tops_up_when_polled() {
        let source = Source::new(Jobs::range(1..=100));
        let grain = AtomicUsize::new(1);
        let (feed, runs) = queue(8);
        let mut fed = Box::pin(feed.feed(&source, &grain, no_arrivals));
        block_on(async {
            assert!(poll_once(fed.as_mut()).await.is_none(), "full: it waits");
            assert_eq!(runs.queued(), 8, "filled");
            assert_eq!(runs.try_take().unwrap().first, 1);
            assert!(poll_once(fed.as_mut()).await.is_none());
            assert_eq!(runs.queued(), 8, "topped up");
        });
        assert_eq!(source.claim(1, &mut || {}).map(|run| run.first), Some(10), "9 runs were claimed");
    }

    /// Only a task's word wakes a full producer: it is woken once half the
    /// queue is taken, not before; and every id comes out once, in order.
    #[test]
    fn a_task_wakes_the_producer_at_half() {
        let source = Source::new(Jobs::range(1..=100));
        let grain = AtomicUsize::new(3);
        let (feed, runs) = queue(8);
        let (woken, waker) = counting_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        let mut fed = Box::pin(feed.feed(&source, &grain, no_arrivals));
        assert!(fed.as_mut().poll(&mut cx).is_pending());
        let mut ids = Vec::new();
        for n in 1..=3 {
            ids.extend(runs.try_take().unwrap().ids().map(|j| j.0));
            assert_eq!(woken.load(Relaxed), 0, "{n} taken, more than half left: not woken");
        }
        ids.extend(runs.try_take().unwrap().ids().map(|j| j.0));
        assert_eq!(woken.load(Relaxed), 1, "half taken: woken");
        assert!(fed.as_mut().poll(&mut cx).is_pending());
        assert_eq!(runs.queued(), 8, "refilled");
        block_on(zip(fed, async {
            while let Some(run) = runs.take().await {
                ids.extend(run.ids().map(|j| j.0));
            }
        }));
        assert_eq!(ids, (1..=100).collect::<Vec<_>>());
    }

    /// A waker that counts its wakes.
    fn counting_waker() -> (Arc<AtomicUsize>, std::task::Waker) {
        struct Count(Arc<AtomicUsize>);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Relaxed);
            }
        }
        let woken = Arc::new(AtomicUsize::new(0));
        (Arc::clone(&woken), Arc::new(Count(woken)).into())
    }

    /// Every task gone while the queue is full: the producer returns.
    #[test]
    fn no_task_left_frees_the_producer() {
        let source = Source::new(Jobs::range(1..=100));
        let grain = AtomicUsize::new(1);
        let (feed, runs) = queue(2);
        let other = runs.clone();
        let mut fed = Box::pin(feed.feed(&source, &grain, no_arrivals));
        block_on(async {
            assert!(poll_once(fed.as_mut()).await.is_none());
            drop(runs);
            settle().await;
            assert!(poll_once(fed.as_mut()).await.is_none(), "one task is left");
            drop(other);
            assert!(poll_once(fed.as_mut()).await.is_some(), "the producer still waits for room");
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
        let source = Source::new(Jobs::range(1..=IDS));
        let grain = AtomicUsize::new(1);
        let (feed, runs) = queue(1);
        let taken = std::thread::scope(|s| {
            let taker = s.spawn(move || {
                block_on(async move {
                    let mut ids = 0;
                    while let Some(run) = runs.take().await {
                        ids += run.len;
                    }
                    ids
                })
            });
            // As the result loop beside it in the pool does, something
            // keeps waking the producer, which then tops the queue up at
            // any moment, also while the taker reads.
            let done = std::sync::atomic::AtomicBool::new(false);
            let fed = async {
                feed.feed(&source, &grain, no_arrivals).await;
                done.store(true, Relaxed);
            };
            let poke = async {
                while !done.load(Relaxed) {
                    yield_now().await;
                }
            };
            block_on(zip(fed, poke));
            taker.join().unwrap()
        });
        assert_eq!((taken, source.remaining()), (IDS, Some(0)), "ids taken, ids left in the source");
    }
}
