//! How many job ids a worker claims at once.
//!
//! A worker claims a chunk, runs it without handing anything back, and only
//! then claims again, so the chunk's other jobs wait unstarted while it runs
//! one. [`Grain`] sizes private chunks by the time the last chunk took: big
//! enough that a claim costs little next to the work, small enough that what
//! a worker holds unstarted is a few microseconds of work, never a long job
//! another worker could be running. It starts at one job, so the first jobs
//! of a run — the seed's five one-second jobs — go one per worker.
//! [`guided`] sizes chunks that stay open to thieves (a work-stealing deque,
//! a rayon range): a share of what is left, shrinking as the stream drains.

use std::time::Duration;

/// The most job ids a worker claims at once.
pub const CHUNK_MAX: usize = 4096;

/// The work a private chunk aims at: about what a worker may hold unstarted.
pub const GRAIN_TARGET: Duration = Duration::from_micros(20);

/// A private chunk size that follows the time jobs take.
#[derive(Clone, Copy, Debug)]
pub struct Grain {
    size: usize,
    max: usize,
    target: Duration,
}

impl Grain {
    /// Starts at one job; never above `max` (at least 1).
    pub fn new(max: usize) -> Self {
        Grain { size: 1, max: max.max(1), target: GRAIN_TARGET }
    }

    /// Aims at `target` of work a chunk instead of [`GRAIN_TARGET`], if
    /// longer: for a claim that costs a network round trip (pool-redis's
    /// remote workers), a chunk's work should outweigh the round trip, while
    /// a job as long as that still goes alone.
    pub fn aim_at(&mut self, target: Duration) {
        self.target = target.max(GRAIN_TARGET);
    }

    /// How many jobs to claim next.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Records that `jobs` jobs took `took`: the size moves toward the
    /// number of such jobs that fill [`GRAIN_TARGET`] (or the target set by
    /// [`aim_at`](Self::aim_at)), growing at most twofold per chunk and
    /// shrinking at once.
    pub fn observe(&mut self, jobs: usize, took: Duration) {
        if jobs == 0 {
            return;
        }
        let per_job = u64::try_from(took.as_nanos() / jobs as u128).unwrap_or(u64::MAX);
        let want = (self.target.as_nanos() as u64 / per_job.max(1)).clamp(1, self.max as u64) as usize;
        self.size = if want > self.size { want.min(self.size * 2) } else { want };
    }
}

/// How many jobs of `per_job_ns` nanoseconds each fill [`GRAIN_TARGET`],
/// between 1 and `max`: the one rule every tuned flavor sizes its chunks
/// by, whether from its own last chunk ([`Grain`]) or from a mean over all
/// workers (rayon's leaves).
pub fn filling(per_job_ns: u64, max: usize) -> usize {
    (GRAIN_TARGET.as_nanos() as u64 / per_job_ns.max(1)).clamp(1, max.max(1) as u64) as usize
}

/// Guided scheduling: a chunk of `1/(2W)` of the `remaining` jobs (rounded
/// up), between 1 and `max`. `None` (an unknown remainder) gives `max`.
pub fn guided(remaining: Option<u64>, workers: usize, max: usize) -> usize {
    let max = max.max(1);
    match remaining {
        None => max,
        Some(r) => {
            let share = r.div_ceil(2 * workers.max(1) as u64);
            share.clamp(1, max as u64) as usize
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_at_one_and_doubles_while_jobs_are_tiny() {
        let mut g = Grain::new(CHUNK_MAX);
        assert_eq!(g.size(), 1);
        let mut sizes = Vec::new();
        for _ in 0..14 {
            g.observe(g.size(), Duration::from_nanos(5 * g.size() as u64));
            sizes.push(g.size());
        }
        assert_eq!(&sizes[..5], &[2, 4, 8, 16, 32]);
        assert_eq!(*sizes.last().unwrap(), 4000, "20 us of 5 ns jobs");
        g.observe(1, Duration::ZERO);
        assert_eq!(g.size(), CHUNK_MAX, "capped");
    }

    #[test]
    fn long_jobs_keep_it_at_one_and_a_long_job_shrinks_it_at_once() {
        let mut g = Grain::new(CHUNK_MAX);
        g.observe(1, Duration::from_secs(1));
        assert_eq!(g.size(), 1);
        for _ in 0..20 {
            g.observe(g.size(), Duration::from_nanos(10 * g.size() as u64));
        }
        assert_eq!(g.size(), 2000, "20 us of 10 ns jobs");
        g.observe(g.size(), Duration::from_millis(5));
        assert_eq!(g.size(), 8, "20 us of jobs taking 5 ms / 2000");
        g.observe(4, Duration::from_millis(100));
        assert_eq!(g.size(), 1);
    }

    #[test]
    fn a_longer_aim_holds_more_jobs_but_a_job_that_long_alone() {
        let mut g = Grain::new(CHUNK_MAX);
        g.aim_at(Duration::from_millis(2));
        for _ in 0..20 {
            g.observe(g.size(), Duration::from_micros(g.size() as u64));
        }
        assert_eq!(g.size(), 2000, "2 ms of 1 us jobs");
        g.observe(1, Duration::from_millis(2));
        assert_eq!(g.size(), 1, "a 2 ms job goes alone");
        g.aim_at(Duration::from_micros(1));
        g.observe(1, Duration::from_micros(1));
        assert_eq!(g.size(), 2, "never below the in-process aim: growing again");
    }

    #[test]
    fn a_bound_of_one_is_one() {
        let mut g = Grain::new(1);
        g.observe(1, Duration::from_nanos(1));
        assert_eq!(g.size(), 1);
    }

    #[test]
    fn guided_shares_what_is_left() {
        assert_eq!(guided(Some(5), 3, 4096), 1, "the seed: one job each");
        assert_eq!(guided(Some(10_000), 2, 4096), 2500);
        assert_eq!(guided(Some(10_000_000), 2, 4096), 4096);
        assert_eq!(guided(Some(0), 2, 4096), 1);
        assert_eq!(guided(None, 2, 64), 64);
    }
}
