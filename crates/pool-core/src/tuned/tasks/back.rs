//! The way back from the tuned tasks to the caller: what a task hands back
//! ([`Back`]), over an unbounded channel whose bound is kept by room
//! counted apart ([`BackTx`]), so a result sent alone can go without
//! taking any. Batches still take room: unbounded, the tasks of a no-op
//! run outran the caller, and every batch past the recycled ones was fresh
//! memory (see [`Limits`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_channel::{Receiver, Sender, unbounded};
use event_listener::Event;

use super::super::{Limits, Results};
use crate::{Crew, JobOutcome};

/// What a task hands back to the caller.
#[derive(Debug)]
pub(super) enum Back {
    /// A batch of results.
    Batch(Results),
    /// The result of a job the task awaited, sent on its own.
    One(JobOutcome),
}

/// A [`Back`] on its way, holding its room in the channel (if it takes
/// any) until the caller has consumed it and drops it.
#[derive(Debug)]
pub(super) struct Sent {
    /// What was handed back.
    pub(super) back: Back,
    _room: Option<Permit>,
}

/// Room for messages in flight: a count of free places, and the tasks
/// waiting for one.
#[derive(Debug)]
struct Room {
    free: AtomicUsize,
    freed: Event,
}

/// One place in [`Room`], given back when dropped.
#[derive(Debug)]
struct Permit(Arc<Room>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.free.fetch_add(1, Ordering::AcqRel);
        self.0.freed.notify(1);
    }
}

impl Room {
    fn try_take(self: &Arc<Self>) -> Option<Permit> {
        self.free
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .ok()
            .map(|_| Permit(Arc::clone(self)))
    }
}

/// The tasks' end of the way back.
#[derive(Clone, Debug)]
pub(super) struct BackTx {
    tx: Sender<Sent>,
    /// Room for messages in flight, if bounded.
    room: Option<Arc<Room>>,
    /// Whether a result sent alone takes room too (with `--queue`, whose
    /// bound counts every message), or only batches do.
    every_message: bool,
}

/// The caller's end: it drops what is left when it goes, so that room held
/// by unread messages is given back and no task waits for it for ever.
pub(super) struct BackRx(Receiver<Sent>);

impl BackRx {
    /// The next message; `None` once every task is gone and all is read.
    pub(super) async fn recv(&self) -> Option<Sent> {
        self.0.recv().await.ok()
    }
}

impl Drop for BackRx {
    fn drop(&mut self) {
        self.0.close();
        while self.0.try_recv().is_ok() {}
    }
}

/// The way back for `crew`: with `--queue`, at most [`Limits::results`]
/// messages in flight (batches or results sent alone); without, at most
/// [`Limits::ahead`] batches per task (in all, as a task cannot wait in a
/// thread's way), results sent alone not counted; none if [`Limits`] sets
/// no bound (the chunks-only diagnostic flavor).
pub(super) fn channel(crew: &Crew, limits: &Limits) -> (BackTx, BackRx) {
    let (room, every_message) = match (crew.queue(), limits.results, limits.ahead) {
        (Some(_), Some(n), _) => (Some(n), true),
        (None, _, Some(ahead)) => (Some(limits.workers.saturating_mul(ahead)), false),
        _ => (None, false),
    };
    let room = room.map(|n| Arc::new(Room { free: AtomicUsize::new(n.max(1)), freed: Event::new() }));
    let (tx, rx) = unbounded();
    (BackTx { tx, room, every_message }, BackRx(rx))
}

impl BackTx {
    /// Sends `back`, waiting for room if it takes any; `false` once the
    /// receiver is gone.
    pub(super) async fn send(&self, back: Back) -> bool {
        let room = match &self.room {
            Some(room) if self.takes_room(&back) => loop {
                if let Some(permit) = room.try_take() {
                    break Some(permit);
                }
                // Listen, then look again: room given back in between is
                // either seen or wakes us.
                let freed = room.freed.listen();
                if let Some(permit) = room.try_take() {
                    break Some(permit);
                }
                if self.tx.is_closed() {
                    return false;
                }
                freed.await;
            },
            _ => None,
        };
        self.tx.try_send(Sent { back, _room: room }).is_ok()
    }

    /// Sends `back` at once if it takes no room (`Ok(false)` once the
    /// receiver is gone), or hands it back to be [`send`](Self::send)t.
    /// Not an `async fn`: a task that sends this way keeps nothing of the
    /// send in its future, whose memory at 10,000 tasks is out of cache by
    /// the time each is polled again.
    pub(super) fn send_now(&self, back: Back) -> Result<bool, Back> {
        if self.takes_room(&back) {
            return Err(back);
        }
        Ok(self.tx.try_send(Sent { back, _room: None }).is_ok())
    }

    /// Whether `back` waits for room in the channel.
    fn takes_room(&self, back: &Back) -> bool {
        self.room.is_some() && (self.every_message || matches!(back, Back::Batch(_)))
    }
}

#[cfg(test)]
mod tests {
    use futures_lite::future::{block_on, poll_once};

    use super::*;
    use crate::{JobId, WorkerId};

    fn one(j: u64) -> Back {
        Back::One(JobOutcome { worker: WorkerId(1), job: JobId(j), result: Ok(2 * j) })
    }

    fn batch() -> Back {
        Back::Batch(Results::default())
    }

    fn tx(room: usize, every_message: bool) -> (BackTx, BackRx) {
        let (tx, rx) = unbounded();
        let room = Arc::new(Room { free: AtomicUsize::new(room), freed: Event::new() });
        (BackTx { tx, room: Some(room), every_message }, BackRx(rx))
    }

    /// Whether `send` completes without waiting for the caller.
    fn goes(tx: &BackTx, back: Back) -> bool {
        block_on(poll_once(tx.send(back))) == Some(true)
    }

    #[test]
    fn batches_wait_for_room_and_results_alone_do_not() {
        let (tx, rx) = tx(2, false);
        assert!(goes(&tx, batch()));
        assert!(goes(&tx, batch()));
        assert!(!goes(&tx, batch()), "a third batch waits");
        for j in 1..=100 {
            assert!(goes(&tx, one(j)), "a result alone never waits");
        }
        drop(block_on(rx.recv()).unwrap());
        assert!(goes(&tx, batch()), "room again once the caller consumed one");
    }

    #[test]
    fn send_now_hands_back_what_takes_room() {
        let (tx, rx) = tx(1, false);
        assert_eq!(tx.send_now(one(1)).ok(), Some(true), "a result alone takes no room");
        assert!(matches!(tx.send_now(batch()), Err(Back::Batch(_))), "a batch does");
        let (queued, _rx) = self::tx(1, true);
        assert!(matches!(queued.send_now(one(2)), Err(Back::One(_))), "with a queue, a result alone does");
        assert!(matches!(block_on(rx.recv()).map(|sent| sent.back), Some(Back::One(o)) if o.job == JobId(1)));
        drop(rx);
        assert_eq!(tx.send_now(one(3)).ok(), Some(false), "nobody listens");
    }

    #[test]
    fn with_a_queue_every_message_takes_room() {
        let (tx, rx) = tx(2, true);
        assert!(goes(&tx, one(1)));
        assert!(goes(&tx, batch()));
        assert!(!goes(&tx, one(2)), "a result alone waits too");
        let sent = block_on(rx.recv()).unwrap();
        assert!(matches!(sent.back, Back::One(_)));
        assert!(!goes(&tx, one(3)), "room is held until the caller drops it");
        drop(sent);
        assert!(goes(&tx, one(4)));
    }

    /// A task waiting for room when the caller goes is woken and told
    /// nobody listens: the caller's end gives back the room unread
    /// messages held.
    #[test]
    fn a_task_waiting_for_room_is_freed_when_the_caller_goes() {
        let (tx, rx) = tx(1, false);
        assert!(goes(&tx, batch()));
        let waiting = std::thread::spawn(move || block_on(tx.send(batch())));
        std::thread::sleep(std::time::Duration::from_millis(20));
        drop(rx);
        assert!(!waiting.join().unwrap(), "nobody listens");
    }
}
