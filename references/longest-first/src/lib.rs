//! The order behind the `longest-first` reference: every job's length known
//! before the start, the longest first. Threads that take the jobs in this
//! order, each the next one as soon as it is free, end within the shortest
//! jobs of each other (longest-processing-time list scheduling), and adapt
//! to a thread slowed by the machine as a pool does. No pool that knows less
//! can do better without splitting a job, so the reference's makespan is
//! the measured ideal a pool's is divided by.

use std::cmp::Reverse;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pool_core::JobId;

/// `jobs` (each with its length) longest first; equal lengths in id order.
pub fn longest_first(jobs: impl IntoIterator<Item = (JobId, Duration)>) -> Vec<JobId> {
    let mut jobs: Vec<(JobId, Duration)> = jobs.into_iter().collect();
    jobs.sort_by_key(|&(id, d)| (Reverse(d), id));
    jobs.into_iter().map(|(id, _)| id).collect()
}

/// Runs `jobs` in order on `threads` threads (at least 1), each taking the
/// next job not yet taken with one atomic add, and returns the sum of
/// `run`'s results. Every job runs exactly once.
pub fn run_in_order(jobs: &[JobId], threads: usize, run: impl Fn(JobId) -> u64 + Sync) -> u128 {
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut sum = 0u128;
                    // Relaxed: the add alone decides who runs a job; the
                    // results come back through the join.
                    while let Some(&job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                        sum += u128::from(run(job));
                    }
                    sum
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("no job is made to panic")).sum()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn longest_first_then_by_id() {
        let us = Duration::from_micros;
        let order = longest_first([(JobId(1), us(5)), (JobId(2), us(9)), (JobId(3), us(5)), (JobId(4), us(1))]);
        assert_eq!(order, [JobId(2), JobId(1), JobId(3), JobId(4)]);
    }

    #[test]
    fn every_job_runs_once_on_any_number_of_threads() {
        let order: Vec<JobId> = (1..=5_000).rev().map(JobId).collect();
        for threads in [0, 1, 2, 3, 8] {
            let seen = Mutex::new(Vec::new());
            let sum = run_in_order(&order, threads, |j| {
                seen.lock().unwrap().push(j.0);
                j.expected_result()
            });
            let mut seen = seen.into_inner().unwrap();
            seen.sort_unstable();
            assert_eq!(seen, (1..=5_000).collect::<Vec<_>>(), "{threads} threads");
            assert_eq!(sum, 5_000 * 5_001, "{threads} threads");
        }
    }

    #[test]
    fn a_slow_thread_takes_fewer_jobs() {
        // One thread's jobs take 200x as long (a core shared with another
        // program): the other takes most of the jobs, as a pool would.
        let order: Vec<JobId> = (1..=100).map(JobId).collect();
        let slow = std::sync::OnceLock::new();
        let counts = Mutex::new(std::collections::HashMap::<std::thread::ThreadId, u32>::new());
        run_in_order(&order, 2, |j| {
            let me = std::thread::current().id();
            let d = if *slow.get_or_init(|| me) == me { 20_000 } else { 100 };
            std::thread::sleep(Duration::from_micros(d));
            *counts.lock().unwrap().entry(me).or_default() += 1;
            j.expected_result()
        });
        let counts = counts.into_inner().unwrap();
        let slow = counts[slow.get().unwrap()];
        assert!(slow < 25, "the slow thread ran {slow} of 100 jobs");
    }
}
