//! The job stream as a backend receives it: an iterator of ids that stops at
//! a cancel, and that hands out a run of consecutive ids in one step where it
//! knows them to be consecutive (the command line's `1..=J`), so a worker
//! that claims a thousand ids pays for one claim, not a thousand. When jobs
//! arrive over time (`--arrival`), it hands out no job before its arrival.

use std::iter::{Empty, Peekable};
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::JobId;
use crate::crew::Shared;

/// Consecutive job ids `first, first + 1, …`, `len` of them: a claimed chunk,
/// held in two numbers however long it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    /// The first id.
    pub first: u64,
    /// How many ids.
    pub len: u64,
}

impl Run {
    /// The ids, in order.
    pub fn ids(self) -> impl Iterator<Item = JobId> {
        (self.first..self.first + self.len).map(JobId)
    }

    /// The first `n` ids (all if fewer), and the rest.
    pub fn split_at(self, n: u64) -> (Run, Run) {
        let n = n.min(self.len);
        (Run { first: self.first, len: n }, Run { first: self.first + n, len: self.len - n })
    }

    /// Whether it holds no id.
    pub fn is_empty(self) -> bool {
        self.len == 0
    }
}

/// A run's job stream: the ids a backend hands to its workers, in order.
///
/// It is an `Iterator<Item = JobId>` (a textbook backend feeds its queue from
/// it job by job), and [`claim`](Self::claim) takes a run of consecutive ids
/// at once (a tuned flavor's chunk). Either way it ends, for good, once the
/// run is cancelled: no id is handed out after the cancel is seen.
pub struct Jobs<I: Iterator<Item = JobId>> {
    /// Ids known to be consecutive, handed out before `rest`.
    head: Run,
    rest: Peekable<I>,
    /// The run's shared state, whose cancel flag ends the stream; `None`
    /// until a [`Pool`](crate::Pool) runs it.
    watch: Option<Arc<Shared>>,
    /// Whether jobs arrive over time: read on every id, so kept here.
    arriving: bool,
    ended: bool,
    /// How many ids were handed out: the pool checks, once the backend has
    /// dropped the stream, that each came back.
    handed: u64,
}

impl<I: Iterator<Item = JobId>> std::fmt::Debug for Jobs<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs").field("head", &self.head).field("ended", &self.ended).finish_non_exhaustive()
    }
}

impl<I: Iterator<Item = JobId>> Jobs<I> {
    /// The stream of `jobs`, any ids in any order. Runs of consecutive ids
    /// are found one id at a time.
    pub fn new(jobs: I) -> Self {
        Jobs {
            head: Run { first: 0, len: 0 },
            rest: jobs.peekable(),
            watch: None,
            arriving: false,
            ended: false,
            handed: 0,
        }
    }

    /// Ends the stream once `shared`'s run stops.
    pub(crate) fn watched(mut self, shared: Arc<Shared>) -> Self {
        self.arriving = shared.arrivals.is_some();
        self.watch = Some(shared);
        self
    }

    /// Whether the stream is over: the run was cancelled.
    #[inline]
    fn stopped(&mut self) -> bool {
        if !self.ended && self.watch.as_ref().is_some_and(|s| s.stopping()) {
            self.ended = true;
        }
        self.ended
    }

    /// The next id, not taken.
    fn peek_id(&mut self) -> Option<JobId> {
        if self.head.is_empty() { self.rest.peek().copied() } else { Some(JobId(self.head.first)) }
    }

    /// When the next job arrives, if the run's jobs arrive over time and one
    /// is left; `None` otherwise. The stream waits for it by itself (see
    /// [`claim`](Self::claim)); a backend whose producer must not block its
    /// thread (an async one) awaits it first, its own way.
    #[inline]
    pub fn due(&mut self) -> Option<Instant> {
        if !self.arriving {
            return None;
        }
        let job = self.peek_id()?;
        let shared = self.watch.as_ref()?;
        Some(shared.epoch + shared.arrivals.as_ref()?.at(job)?)
    }

    /// Whether jobs arrive over time (`--arrival`).
    pub fn arriving(&self) -> bool {
        self.arriving
    }

    /// Whether the next job has not arrived yet (jobs arrive over time and
    /// one is left): a worker about to wait for it hands back what it holds.
    #[inline]
    pub fn not_yet(&mut self) -> bool {
        self.due().is_some_and(|due| due > Instant::now())
    }

    /// Blocks until the next job has arrived (at once without arrivals);
    /// `false` if the run was cancelled meanwhile. Sleeps in slices, so a
    /// cancel is seen within one.
    fn wait_for_arrival(&mut self) -> bool {
        const SLICE: Duration = Duration::from_millis(10);
        precise_sleeps();
        while let Some(due) = self.due() {
            let left = due.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(SLICE));
            if self.stopped() {
                return false;
            }
        }
        true
    }

    /// How many of the `max` ids from `first` have arrived by now (at least
    /// one: the first has).
    fn arrived(&self, first: u64, max: u64) -> u64 {
        let Some(shared) = &self.watch else { return max };
        let Some(schedule) = &shared.arrivals else { return max };
        let now = shared.epoch.elapsed();
        (1..max).find(|&k| schedule.at(JobId(first + k)).is_some_and(|at| at > now)).unwrap_or(max)
    }

    /// Takes up to `max` (at least one) consecutive ids, in one step where
    /// they are known to be consecutive; fewer where the stream ends or skips
    /// an id, or where the next have not arrived yet (waiting for the
    /// first). `None` once the stream is over or the run cancelled.
    #[inline]
    pub fn claim(&mut self, max: u64) -> Option<Run> {
        if self.stopped() {
            return None;
        }
        let mut max = max.max(1);
        if self.arriving {
            if !self.wait_for_arrival() {
                return None;
            }
            let first = self.peek_id()?.0;
            max = self.arrived(first, max);
        }
        if !self.head.is_empty() {
            let (run, rest) = self.head.split_at(max);
            self.head = rest;
            self.handed += run.len;
            return Some(run);
        }
        let first = self.rest.next()?.0;
        let mut len = 1u64;
        while len < max && self.rest.next_if(|j| Some(j.0) == first.checked_add(len)).is_some() {
            len += 1;
        }
        self.handed += len;
        Some(Run { first, len })
    }
}

/// Asks the kernel to wake this thread from its sleeps on time: the default
/// timer slack (50 µs) lets a sleep end that much late, so that wake-ups
/// group; a producer releasing jobs at their arrivals needs them on time.
/// Once per thread; elsewhere than Linux, nothing.
fn precise_sleeps() {
    #[cfg(target_os = "linux")]
    {
        thread_local!(static SET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
        if !SET.get() {
            SET.set(true);
            // Refused (a seccomp filter, say): the sleeps are merely late.
            let _ = nix::sys::prctl::set_timerslack(1);
        }
    }
}

/// Tells the pool, as the backend lets go of the stream, how many ids it
/// handed out and whether it was drained: [`Pool`](crate::Pool) checks
/// that a run that was not stopped drained it and got every id back.
impl<I: Iterator<Item = JobId>> Drop for Jobs<I> {
    fn drop(&mut self) {
        if let Some(shared) = &self.watch {
            let drained = self.head.is_empty() && self.rest.peek().is_none();
            *shared.stream.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((self.handed, drained));
        }
    }
}

impl Jobs<Empty<JobId>> {
    /// The stream of the consecutive ids `ids` (the command line's `1..=J`):
    /// every claim takes its run in one step.
    pub fn range(ids: RangeInclusive<u64>) -> Self {
        let (first, last) = (*ids.start(), *ids.end());
        let len = if first > last { 0 } else { last - first + 1 };
        Jobs {
            head: Run { first, len },
            rest: std::iter::empty().peekable(),
            watch: None,
            arriving: false,
            ended: false,
            handed: 0,
        }
    }
}

impl<I: Iterator<Item = JobId>> Iterator for Jobs<I> {
    type Item = JobId;

    #[inline]
    fn next(&mut self) -> Option<JobId> {
        if self.stopped() {
            return None;
        }
        if self.arriving && !self.wait_for_arrival() {
            return None;
        }
        if !self.head.is_empty() {
            let job = JobId(self.head.first);
            self.head = self.head.split_at(1).1;
            self.handed += 1;
            return Some(job);
        }
        let job = self.rest.next();
        self.handed += u64::from(job.is_some());
        job
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.ended {
            return (0, Some(0));
        }
        let head = usize::try_from(self.head.len).ok();
        let (lo, hi) = self.rest.size_hint();
        // A cancel can end the stream at any point: no lower bound.
        let _ = lo;
        (0, hi.zip(head).and_then(|(hi, head)| hi.checked_add(head)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering::Relaxed;

    use super::*;
    use crate::Work;

    #[test]
    fn a_range_is_claimed_in_one_step_and_ends() {
        let mut jobs = Jobs::range(1..=10);
        assert_eq!(jobs.size_hint(), (0, Some(10)));
        assert_eq!(jobs.claim(4), Some(Run { first: 1, len: 4 }));
        assert_eq!(jobs.next(), Some(JobId(5)));
        assert_eq!(jobs.claim(0), Some(Run { first: 6, len: 1 }));
        assert_eq!(jobs.claim(100), Some(Run { first: 7, len: 4 }));
        assert_eq!(jobs.claim(100), None);
        assert_eq!(jobs.next(), None);
        let none = 0;
        assert_eq!(Jobs::range(1..=none).claim(5), None, "a run of no jobs");
        assert_eq!(Jobs::range(1..=none).next(), None);
    }

    #[test]
    fn any_stream_is_claimed_in_its_runs_of_consecutive_ids() {
        let mut jobs = Jobs::new([1, 2, 4, 5, 9, u64::MAX].into_iter().map(JobId));
        let runs: Vec<_> = std::iter::from_fn(|| jobs.claim(10)).collect();
        assert_eq!(
            runs,
            [
                Run { first: 1, len: 2 },
                Run { first: 4, len: 2 },
                Run { first: 9, len: 1 },
                Run { first: u64::MAX, len: 1 }
            ]
        );
        let ids: Vec<_> = Jobs::new([3, 1, 2].into_iter().map(JobId)).map(|j| j.0).collect();
        assert_eq!(ids, [3, 1, 2]);
    }

    #[test]
    fn a_cancel_ends_the_stream_for_good() {
        let shared = Arc::new(Shared::new(Work::new("noop".parse().unwrap(), 0), None, Arc::default()));
        let mut jobs = Jobs::range(1..=100).watched(Arc::clone(&shared));
        assert_eq!(jobs.next(), Some(JobId(1)));
        shared.stop.store(true, Relaxed);
        assert_eq!(jobs.claim(10), None);
        shared.stop.store(false, Relaxed);
        assert_eq!(jobs.next(), None, "a stream once ended stays ended");
        assert_eq!(jobs.size_hint(), (0, Some(0)));
    }

    #[test]
    fn runs_split_and_list_their_ids() {
        let (a, b) = Run { first: 3, len: 4 }.split_at(1);
        assert_eq!(a.ids().collect::<Vec<_>>(), [JobId(3)]);
        assert_eq!(b.ids().collect::<Vec<_>>(), [JobId(4), JobId(5), JobId(6)]);
        assert_eq!(b.split_at(9), (b, Run { first: 7, len: 0 }));
    }
}
