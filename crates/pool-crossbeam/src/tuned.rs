//! The tuned flavor on the crossbeam crates: the workers share the job
//! stream ([`Source`]) and claim guided chunks from it (a share of what is
//! left, shrinking as it drains), cut into pieces of about 20 µs of work on
//! a `crossbeam-deque` of their own; a worker that runs dry once the stream
//! is drained steals half of another's pieces. Results go back in
//! per-worker batches over a `crossbeam-channel`, by the log's rule.
//!
//! Trade-off: a deque push and pop per piece on top of the std flavor's
//! claim, for work stealing: a worker never runs dry while another holds
//! pieces it has not started, so chunks can be big without unbalancing the
//! end of the run.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use crossbeam_channel::{bounded, unbounded};
use crossbeam_deque::{Steal, Stealer, Worker as Deque};
use pool_core::tuned::{JobQueue, Limits, Run, Source, guided, run_threads};
use pool_core::{Crew, JobId, Jobs, OutcomeSink, PoolError};

/// Runs `crew` on `jobs` in the tuned flavor (see the module docs).
pub(crate) fn run<I>(crew: Crew, jobs: Jobs<I>, on_result: impl OutcomeSink) -> Result<(), PoolError>
where
    I: Iterator<Item = JobId> + Send,
{
    let limits = Limits::of(&crew);
    let source = Source::new(jobs);
    let deques: Vec<Deque<Run>> = (0..limits.workers).map(|_| Deque::new_lifo()).collect();
    let stealers: Vec<Stealer<Run>> = deques.iter().map(Deque::stealer).collect();
    let pending = AtomicUsize::new(0);
    let mut deques = deques.into_iter();
    let (tx, rx) = limits.results.map_or_else(unbounded, bounded);
    let queue_for = |me| Claims {
        source: &source,
        local: deques.next().expect("one deque per worker"),
        stealers: &stealers,
        pending: &pending,
        me,
        limits,
    };
    run_threads(crew, queue_for, move |batch| tx.send(batch).is_ok(), rx, on_result)
}

/// One worker's view: its own deque of pieces, everyone's stealers, and the
/// count of pieces in any deque (or moving between two), so that a worker
/// exits only when no piece is left for it to steal.
struct Claims<'a, I: Iterator<Item = JobId>> {
    source: &'a Source<I>,
    local: Deque<Run>,
    stealers: &'a [Stealer<Run>],
    pending: &'a AtomicUsize,
    me: usize,
    limits: Limits,
}

impl<I: Iterator<Item = JobId>> Claims<'_, I> {
    /// A piece taken out of the deques to run now: at most `max` of it; the
    /// rest goes back on top of this worker's deque, next in line.
    fn keep(&self, piece: Run, max: usize) -> Run {
        let (now, rest) = piece.split_at(max as u64);
        if rest.len > 0 {
            self.pending.fetch_add(1, SeqCst);
            self.local.push(rest);
        }
        self.pending.fetch_sub(1, SeqCst);
        now
    }

    /// Claims a guided chunk from the stream and pushes it onto this
    /// worker's deque in pieces of `max`, lowest ids on top; `false` once
    /// the stream is over.
    fn refill(&self, max: usize, before_wait: &mut dyn FnMut()) -> bool {
        let (workers, cap) = (self.limits.workers, self.limits.chunk);
        let size = |left| guided(left, workers, cap).max(max);
        let publish = |run: Run| {
            let pieces = run.len.div_ceil(max as u64);
            self.pending.fetch_add(pieces as usize, SeqCst);
            for i in (0..pieces).rev() {
                self.local.push(Run {
                    first: run.first + i * max as u64,
                    len: run.len.min((i + 1) * max as u64) - i * max as u64,
                });
            }
        };
        self.source.claim_with(size, before_wait, publish).is_some()
    }

    /// Steals half of some other worker's pieces; `None` when there is
    /// nothing left anywhere.
    fn steal(&self, max: usize, before_wait: &mut dyn FnMut()) -> Option<Run> {
        let n = self.stealers.len();
        let mut waited = false;
        while self.pending.load(SeqCst) > 0 {
            for victim in (1..n).map(|k| (self.me + k) % n) {
                loop {
                    match self.stealers[victim].steal_batch_and_pop(&self.local) {
                        Steal::Success(piece) => return Some(self.keep(piece, max)),
                        Steal::Retry => continue,
                        Steal::Empty => break,
                    }
                }
            }
            // Pieces are moving between two deques: a moment's wait.
            if !waited {
                before_wait();
                waited = true;
            }
            std::thread::yield_now();
        }
        None
    }
}

impl<I: Iterator<Item = JobId>> JobQueue for Claims<'_, I> {
    fn take(&mut self, max: usize, before_wait: &mut dyn FnMut()) -> Option<Run> {
        loop {
            if let Some(piece) = self.local.pop() {
                return Some(self.keep(piece, max));
            }
            if !self.refill(max, before_wait) {
                return self.steal(max, before_wait);
            }
        }
    }
}
