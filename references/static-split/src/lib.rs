//! The deal behind the `static-split` reference: every job given to a
//! thread before the start, knowing how long each will take. No pool can
//! do better than this without splitting a job, so the reference's makespan
//! is the measured ideal a pool's is divided by.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use pool_core::JobId;

/// Deals `jobs` (each with its duration) out to `threads` shares: longest
/// first, each to the share with the least work so far (the longest
/// processing time rule; ties go to the lower job id and the lower share).
/// Within a share, jobs keep the order they were dealt in. Every job is in
/// exactly one share; no share ends more than the longest job above
/// another. `threads` is taken as at least 1.
pub fn deal(jobs: impl IntoIterator<Item = (JobId, Duration)>, threads: usize) -> Vec<Vec<JobId>> {
    let threads = threads.max(1);
    let mut jobs: Vec<(JobId, Duration)> = jobs.into_iter().collect();
    jobs.sort_by_key(|&(id, d)| (Reverse(d), id));
    let mut shares = vec![Vec::with_capacity(jobs.len() / threads + 1); threads];
    let mut loads: BinaryHeap<Reverse<(Duration, usize)>> =
        (0..threads).map(|i| Reverse((Duration::ZERO, i))).collect();
    for (id, d) in jobs {
        let Reverse((load, i)) = loads.pop().expect("threads ≥ 1");
        shares[i].push(id);
        loads.push(Reverse((load + d, i)));
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(share: &[JobId]) -> Vec<u64> {
        share.iter().map(|j| j.0).collect()
    }

    #[test]
    fn equal_jobs_are_dealt_round_robin() {
        let shares = deal((1..=7).map(|j| (JobId(j), Duration::from_micros(100))), 3);
        assert_eq!(shares.iter().map(|s| ids(s)).collect::<Vec<_>>(), [vec![1, 4, 7], vec![2, 5], vec![3, 6]]);
    }

    #[test]
    fn every_job_once_and_the_loads_within_the_longest_job() {
        // Durations spread like the skewed cell's: 1 µs to 20 ms.
        let d = |j: u64| Duration::from_micros(1 + (j * 7919 % 20_000) * (j % 3 + 1) / 3);
        for threads in [1, 2, 3, 4, 7] {
            let shares = deal((1..=400).map(|j| (JobId(j), d(j))), threads);
            assert_eq!(shares.len(), threads);
            let mut all: Vec<u64> = shares.iter().flat_map(|s| ids(s)).collect();
            all.sort_unstable();
            assert_eq!(all, (1..=400).collect::<Vec<_>>(), "{threads} threads");
            let loads: Vec<Duration> = shares.iter().map(|s| s.iter().map(|j| d(j.0)).sum()).collect();
            let longest = (1..=400).map(d).max().unwrap();
            let (lo, hi) = (loads.iter().min().unwrap(), loads.iter().max().unwrap());
            assert!(*hi - *lo <= longest, "{threads} threads: {loads:?}");
        }
    }

    #[test]
    fn more_threads_than_jobs_leaves_shares_empty_and_zero_threads_means_one() {
        let shares = deal([(JobId(1), Duration::from_millis(1))], 3);
        assert_eq!(shares.iter().map(Vec::len).collect::<Vec<_>>(), [1, 0, 0]);
        assert_eq!(deal([(JobId(1), Duration::ZERO)], 0).len(), 1);
    }
}
