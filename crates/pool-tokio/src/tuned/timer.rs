//! The tuned flavor's timers: sleeps that end at their deadline, not on the
//! next tick of tokio's timer wheel.
//!
//! tokio's wheel counts whole milliseconds: a sleep ends at the first tick
//! past its deadline, so a `sleep:10ms` job takes 10 to 11 ms, plus the
//! wake-up. Here every sleep of the run waits in one heap of deadlines,
//! and one `timerfd`, registered with tokio's own reactor (`AsyncFd`), is
//! armed for the earliest: the kernel's high-resolution timer wakes the
//! reactor at that deadline, and a driver task wakes every sleeper due.
//! A new sleep arms the fd only when it is due before everything waiting,
//! so a stream of sleeps costs a heap push each and a read and a re-arm per
//! wake-up of the driver. Where there is no `timerfd` (not Linux), the
//! sleeps are tokio's.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

pub(super) use imp::Timers;

/// The least time between two firings of the run's timer: a sleep due
/// within this much of the last firing waits for the next, so ends at most
/// this late (tokio's wheel: up to a millisecond). Firing for every
/// deadline instead, 10,000 tasks of `sleep:10ms` woke the runtime so often
/// that the run took longer than on the wheel (issue 24's note). Linux
/// only: elsewhere the wheel's own timers serve.
#[cfg(target_os = "linux")]
const GATHER: Duration = Duration::from_micros(100);

/// One task's timer: set for each sleep ([`set`](Sleep::set)), then awaited.
#[derive(Debug)]
pub(super) struct Sleep(imp::Sleep);

impl Sleep {
    /// Sets the timer to end `duration` from now.
    pub(super) fn set(&mut self, duration: Duration) {
        self.0.set(duration);
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl Timers {
    /// A timer for one task of the run.
    pub(super) fn timer(&self) -> Sleep {
        Sleep(self.sleep())
    }
}

/// Starts the run's timers: on Linux a timerfd on tokio's reactor and its
/// driver task, which ends when the returned [`Timers`] is dropped. Must be
/// called within the runtime. An error if the
/// OS refuses the fd (a file limit, say).
pub(super) fn start() -> io::Result<Timers> {
    imp::Timers::start()
}

#[cfg(target_os = "linux")]
mod imp {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    use std::future::Future;
    use std::io;
    use std::os::fd::{AsFd, AsRawFd, RawFd};
    use std::pin::Pin;
    use std::sync::{Arc, Mutex, PoisonError};
    use std::task::{Context, Poll, Waker};
    use std::time::{Duration, Instant};

    use nix::sys::time::TimeSpec;
    use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;

    /// The run's timers (see the module docs); dropping it ends the driver.
    #[derive(Debug)]
    pub(crate) struct Timers {
        shared: Arc<Shared>,
        driver: tokio::task::JoinHandle<()>,
    }

    impl Drop for Timers {
        fn drop(&mut self) {
            self.driver.abort();
        }
    }

    #[derive(Debug)]
    struct Shared {
        fd: AsyncFd<Fd>,
        due: Mutex<Due>,
    }

    /// The timerfd, as tokio's reactor needs it.
    #[derive(Debug)]
    struct Fd(TimerFd);

    impl AsRawFd for Fd {
        fn as_raw_fd(&self) -> RawFd {
            self.0.as_fd().as_raw_fd()
        }
    }

    /// The sleepers waiting, earliest first, and when the fd is armed.
    #[derive(Debug, Default)]
    struct Due {
        heap: BinaryHeap<Reverse<Entry>>,
        armed: Option<Instant>,
        next: u64,
    }

    /// One sleeper: its deadline, a number that keeps equal deadlines
    /// apart, and its task's waker.
    #[derive(Debug)]
    struct Entry {
        at: Instant,
        n: u64,
        waker: Waker,
    }

    impl PartialEq for Entry {
        fn eq(&self, other: &Self) -> bool {
            (self.at, self.n) == (other.at, other.n)
        }
    }
    impl Eq for Entry {}
    impl PartialOrd for Entry {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for Entry {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            (self.at, self.n).cmp(&(other.at, other.n))
        }
    }

    impl Timers {
        pub(super) fn start() -> io::Result<Timers> {
            let fd = TimerFd::new(ClockId::CLOCK_MONOTONIC, TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC)
                .map_err(io::Error::from)?;
            let fd = register(Fd(fd))?;
            let shared = Arc::new(Shared { fd, due: Mutex::default() });
            let driver = tokio::spawn(drive(Arc::clone(&shared)));
            Ok(Timers { shared, driver })
        }

        pub(super) fn sleep(&self) -> Sleep {
            Sleep { shared: Arc::clone(&self.shared), at: None, waiting: None }
        }
    }

    /// Registers the timerfd with tokio's reactor, for reading.
    #[allow(unsafe_code)]
    fn register(fd: Fd) -> io::Result<AsyncFd<Fd>> {
        // SAFETY: `Fd` owns its `TimerFd`, which closes the fd only when
        // dropped, with the `AsyncFd`; `as_raw_fd` always gives that fd.
        unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.map_err(io::Error::from)
    }

    /// The driver: each time the fd fires, wakes every sleeper due and arms
    /// the fd for the next. Runs until [`Timers`] is dropped.
    async fn drive(shared: Arc<Shared>) {
        loop {
            let Ok(mut ready) = shared.fd.readable().await else { return };
            // A fd that has not expired says EAGAIN (`WouldBlock`): tokio
            // then clears its readiness and waits for the next edge.
            match ready.try_io(|fd| fd.get_ref().0.wait().map_err(io::Error::from)) {
                Ok(Ok(())) => shared.fire(),
                Ok(Err(_)) => return,
                Err(_would_block) => {}
            }
        }
    }

    impl Shared {
        /// Wakes every sleeper due and arms the fd for the earliest left.
        fn fire(&self) {
            let now = Instant::now();
            let mut woken = Vec::new();
            {
                let mut due = self.due.lock().unwrap_or_else(PoisonError::into_inner);
                due.armed = None;
                while due.heap.peek().is_some_and(|Reverse(e)| e.at <= now) {
                    if let Some(Reverse(entry)) = due.heap.pop() {
                        woken.push(entry.waker);
                    }
                }
                if let Some(at) = due.heap.peek().map(|Reverse(e)| e.at) {
                    self.arm(&mut due, at.max(now + super::GATHER));
                }
            }
            woken.into_iter().for_each(Waker::wake);
        }

        /// Adds a sleeper; arms the fd if it is due before all others.
        fn add(&self, at: Instant, waker: Waker) {
            let mut due = self.due.lock().unwrap_or_else(PoisonError::into_inner);
            let n = due.next;
            due.next += 1;
            due.heap.push(Reverse(Entry { at, n, waker }));
            if due.armed.is_none_or(|armed| at < armed) {
                self.arm(&mut due, at);
            }
        }

        /// Arms the fd to fire at `at` (relative: std's `Instant` is the
        /// monotonic clock, but says nothing of its raw value).
        fn arm(&self, due: &mut Due, at: Instant) {
            // Zero would disarm it.
            let after = at.saturating_duration_since(Instant::now()).max(Duration::from_nanos(1));
            let set = self
                .fd
                .get_ref()
                .0
                .set(Expiration::OneShot(TimeSpec::from_duration(after)), TimerSetTimeFlags::empty());
            // Setting a timer on a valid fd cannot fail; if it did, the
            // sleeper would never wake, so say so loudly.
            assert!(set.is_ok(), "timerfd_settime failed: {set:?}");
            due.armed = Some(at);
        }
    }

    /// One task's timer.
    #[derive(Debug)]
    pub(crate) struct Sleep {
        shared: Arc<Shared>,
        at: Option<Instant>,
        /// The waker it waits with, once in the heap.
        waiting: Option<Waker>,
    }

    impl Sleep {
        pub(super) fn set(&mut self, duration: Duration) {
            self.at = Some(Instant::now() + duration);
            self.waiting = None;
        }
    }

    impl Future for Sleep {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let Some(at) = self.at else { return Poll::Pending };
            if Instant::now() >= at {
                self.at = None;
                self.waiting = None;
                return Poll::Ready(());
            }
            // In the heap once per waker: polled again with the same one
            // (woken early by something else), it stays as it is.
            if !self.waiting.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                self.shared.add(at, cx.waker().clone());
                self.waiting = Some(cx.waker().clone());
            }
            Poll::Pending
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::future::Future;
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::Duration;

    /// Without a timerfd: tokio's own timers.
    #[derive(Debug)]
    pub(crate) struct Timers;

    impl Timers {
        pub(super) fn start() -> io::Result<Timers> {
            Ok(Timers)
        }

        pub(super) fn sleep(&self) -> Sleep {
            Sleep(Box::pin(tokio::time::sleep(Duration::ZERO)))
        }
    }

    /// tokio's sleep, reset for each job.
    #[derive(Debug)]
    pub(crate) struct Sleep(Pin<Box<tokio::time::Sleep>>);

    impl Sleep {
        pub(super) fn set(&mut self, duration: Duration) {
            self.0.as_mut().reset(tokio::time::Instant::now() + duration);
        }
    }

    impl Future for Sleep {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.0.as_mut().poll(cx)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
    }

    /// Sleeps set in any order, some for the same deadline, each end no
    /// earlier than asked, and every one ends.
    #[test]
    fn every_sleep_ends_and_none_early() {
        runtime().block_on(async {
            let timers = start().unwrap();
            let tasks: Vec<_> = (0..200u64)
                .map(|i| {
                    let mut sleep = timers.timer();
                    tokio::spawn(async move {
                        for round in 0..5u64 {
                            let d = Duration::from_micros((i * 37 + round * 911) % 3_000);
                            let start = Instant::now();
                            sleep.set(d);
                            (&mut sleep).await;
                            assert!(start.elapsed() >= d, "task {i} round {round}: ended early");
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
    }

    /// A sleep set again before it ends waits for the new deadline; a
    /// timer never set never ends; the driver ends with the last timer.
    #[test]
    fn a_timer_set_again_waits_for_the_new_deadline() {
        runtime().block_on(async {
            let timers = start().unwrap();
            let mut never = timers.timer();
            assert!(futures_poll(&mut never).is_pending(), "never set");
            let mut sleep = timers.timer();
            sleep.set(Duration::from_secs(3600));
            assert!(futures_poll(&mut sleep).is_pending());
            let start = Instant::now();
            sleep.set(Duration::from_millis(2));
            (&mut sleep).await;
            assert!(start.elapsed() >= Duration::from_millis(2));
        });
    }

    fn futures_poll(sleep: &mut Sleep) -> Poll<()> {
        let waker = std::task::Waker::noop();
        Pin::new(sleep).poll(&mut Context::from_waker(waker))
    }
}
