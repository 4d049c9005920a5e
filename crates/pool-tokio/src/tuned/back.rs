//! The tuned flavor's way back to the caller: what the tasks hand back
//! ([`Back`]), over an unbounded tokio channel whose bound is kept by
//! permits ([`BackTx`]), so a result sent alone can go without one.
//!
//! A bounded tokio channel takes a semaphore permit for every message, and
//! its receiver locks the semaphore's waiter list to give each back: with
//! 10,000 tasks each sending every `sleep:10ms` result alone, that was
//! 300-500 of the ~3,700 instructions a job cost (callgrind, `-w 1000 -j
//! 10000`). Batches still take a permit each: unbounded, the tasks of a
//! no-op run outran the caller, and every batch past the recycled ones was
//! fresh memory (see [`Limits`]).

use std::sync::Arc;

use pool_core::tuned::{Limits, Results};
use pool_core::{Crew, JobOutcome};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

/// What a task hands back to the caller.
#[derive(Debug)]
pub(crate) enum Back {
    /// A batch of results.
    Batch(Results),
    /// The result of a job the task awaited, sent on its own.
    One(JobOutcome),
}

/// A [`Back`] on its way, holding its room in the channel (if it takes
/// any) until the caller has consumed it and drops it.
#[derive(Debug)]
pub(crate) struct Sent {
    /// What was handed back.
    pub(crate) back: Back,
    _room: Option<OwnedSemaphorePermit>,
}

/// The tasks' end of the way back.
#[derive(Clone, Debug)]
pub(crate) struct BackTx {
    tx: mpsc::UnboundedSender<Sent>,
    /// Room for messages in flight, if bounded.
    room: Option<Arc<Semaphore>>,
    /// Whether a result sent alone takes room too (with `--queue`, whose
    /// bound counts every message), or only batches do.
    every_message: bool,
}

/// The way back for `crew`: with `--queue`, at most [`Limits::results`]
/// messages in flight (batches or results sent alone); without, at most
/// [`Limits::ahead`] batches per task (in all, as a tokio task cannot wait
/// in a thread's way), results sent alone not counted; none if [`Limits`]
/// sets no bound (the chunks-only diagnostic flavor).
pub(crate) fn channel(crew: &Crew, limits: &Limits) -> (BackTx, mpsc::UnboundedReceiver<Sent>) {
    let (room, every_message) = match (crew.queue(), limits.results, limits.ahead) {
        (Some(_), Some(n), _) => (Some(n), true),
        (None, _, Some(ahead)) => (Some(limits.workers.saturating_mul(ahead)), false),
        _ => (None, false),
    };
    let room = room.map(|n| Arc::new(Semaphore::new(n.clamp(1, Semaphore::MAX_PERMITS))));
    let (tx, rx) = mpsc::unbounded_channel();
    (BackTx { tx, room, every_message }, rx)
}

impl BackTx {
    /// Sends `back`, waiting for room if it takes any; `false` once the
    /// receiver is gone.
    pub(crate) async fn send(&self, back: Back) -> bool {
        let room = match &self.room {
            Some(room) if self.takes_room(&back) => match Arc::clone(room).acquire_owned().await {
                Ok(permit) => Some(permit),
                Err(_) => return false,
            },
            _ => None,
        };
        self.tx.send(Sent { back, _room: room }).is_ok()
    }

    /// Sends `back` at once if it takes no room (`Ok(false)` once the
    /// receiver is gone), or hands it back to be [`send`](Self::send)t.
    /// Not an `async fn`: a task that sends this way keeps nothing of the
    /// send in its future, whose memory at 10,000 tasks is out of cache by
    /// the time each is polled again (perf put most of the cost of an
    /// awaited `send` on its first read of the future's state).
    pub(crate) fn send_now(&self, back: Back) -> Result<bool, Back> {
        if self.takes_room(&back) {
            return Err(back);
        }
        Ok(self.tx.send(Sent { back, _room: None }).is_ok())
    }

    /// Whether `back` waits for room in the channel.
    fn takes_room(&self, back: &Back) -> bool {
        self.room.is_some() && (self.every_message || matches!(back, Back::Batch(_)))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use pool_core::{JobId, WorkerId};

    use super::*;

    fn one(j: u64) -> Back {
        Back::One(JobOutcome { worker: WorkerId(1), job: JobId(j), result: Ok(2 * j) })
    }

    fn batch() -> Back {
        Back::Batch(Results::default())
    }

    fn tx(room: usize, every_message: bool) -> (BackTx, mpsc::UnboundedReceiver<Sent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (BackTx { tx, room: Some(Arc::new(Semaphore::new(room))), every_message }, rx)
    }

    /// Whether `send` completes without waiting for the caller.
    async fn goes(tx: &BackTx, back: Back) -> bool {
        tokio::time::timeout(Duration::from_millis(20), tx.send(back)).await == Ok(true)
    }

    #[test]
    fn batches_wait_for_room_and_results_alone_do_not() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        runtime.block_on(async {
            let (tx, mut rx) = tx(2, false);
            assert!(goes(&tx, batch()).await);
            assert!(goes(&tx, batch()).await);
            assert!(!goes(&tx, batch()).await, "a third batch waits");
            for j in 1..=100 {
                assert!(goes(&tx, one(j)).await, "a result alone never waits");
            }
            drop(rx.recv().await.unwrap());
            assert!(goes(&tx, batch()).await, "room again once the caller consumed one");
        });
    }

    #[test]
    fn send_now_hands_back_what_takes_room() {
        let (tx, mut rx) = tx(1, false);
        assert_eq!(tx.send_now(one(1)).ok(), Some(true), "a result alone takes no room");
        assert!(matches!(tx.send_now(batch()), Err(Back::Batch(_))), "a batch does");
        let (queued, _rx) = self::tx(1, true);
        assert!(matches!(queued.send_now(one(2)), Err(Back::One(_))), "with a queue, a result alone does");
        assert!(matches!(rx.try_recv().map(|sent| sent.back), Ok(Back::One(o)) if o.job == JobId(1)));
        drop(rx);
        assert_eq!(tx.send_now(one(3)).ok(), Some(false), "nobody listens");
    }

    #[test]
    fn with_a_queue_every_message_takes_room() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        runtime.block_on(async {
            let (tx, mut rx) = tx(2, true);
            assert!(goes(&tx, one(1)).await);
            assert!(goes(&tx, batch()).await);
            assert!(!goes(&tx, one(2)).await, "a result alone waits too");
            let sent = rx.recv().await.unwrap();
            assert!(matches!(sent.back, Back::One(_)));
            assert!(!goes(&tx, one(3)).await, "room is held until the caller drops it");
            drop(sent);
            assert!(goes(&tx, one(4)).await);
            drop(rx);
            assert!(!tx.send(batch()).await, "nobody listens");
        });
    }
}
