//! Model checking of the std backend's hand-off and shutdown protocol with
//! shuttle. Built only under `cfg(shuttle)`:
//!
//! ```sh
//! RUSTFLAGS="--cfg shuttle" cargo test -p pool-std --test shuttle --release --target-dir target/shuttle
//! ```
//!
//! Under that cfg, pool-std's `Mutex` and channels and pool-core's scoped
//! threads (`threads::sync`) are shuttle's, so each model runs the real
//! `Pool::run` → `Std::run` → `run_threads` → `Worker::serve` code, with
//! shuttle choosing every interleaving of the producer, the workers and the
//! caller. Each schedule checks that every job runs exactly once with its
//! result, every worker exits exactly once (the trace checker judges the
//! log), and `run` returns; a deadlock (every thread blocked) fails the
//! schedule.
//!
//! Models are kept small (2 workers, 2–3 jobs), as loom and shuttle advise.
//! Each model runs 5 000 schedules under shuttle's random scheduler and 5 000
//! under PCT (depth 3); `SHUTTLE_ITERATIONS` overrides the count per
//! scheduler. Exhaustive search (`check_dfs`) is out of reach: even 2 workers
//! and 1 job exceed a million interleavings of the real code.

#![cfg(shuttle)]

use std::sync::atomic::Ordering::Relaxed;

use pool_core::{Completeness, Format, JobId, Log, Pool, PoolConfig, RunSpec, Summary};
use pool_std::Std;
use pool_testkit::{case, judge};

/// Schedules per scheduler and model.
fn iterations() -> usize {
    std::env::var("SHUTTLE_ITERATIONS").ok().and_then(|s| s.parse().ok()).unwrap_or(5_000)
}

/// How a model ends its run early, if at all.
#[derive(Clone, Copy, Debug)]
enum Stop {
    /// Runs every job.
    Never,
    /// Sets the cancel flag when the caller sees the first result.
    CancelAfterFirst,
}

/// One run of `case` on the real std backend, checked.
fn model(case: &RunSpec, stop: Stop) {
    let (log, sink) = Log::memory(Format::Jsonl);
    let pool = Pool::<Std>::new(PoolConfig::for_run(&case, Some(log)), Default::default()).expect("builds");
    let cancel = pool.config().cancel.clone();
    let mut outcomes = Vec::new();
    let report = pool
        .run((1..=case.jobs).map(JobId), |o| {
            if matches!(stop, Stop::CancelAfterFirst) {
                cancel.store(true, Relaxed);
            }
            outcomes.push(o);
        })
        .expect("run returns Ok: every worker exited");

    // Every job handed back at most once, from a real worker, with its result.
    let expected = case.expected();
    let mut seen = vec![false; case.jobs as usize];
    for o in &outcomes {
        let j = o.job.0 as usize;
        assert!(!std::mem::replace(&mut seen[j - 1], true), "job {j} ran twice");
        assert!((1..=case.workers).contains(&o.worker.0));
        match (&o.result, expected.outcome(o.job)) {
            (Ok(r), pool_core::LoggedOutcome::Finished(Some(e))) => assert_eq!(r, e, "job {j}"),
            (Err(m), pool_core::LoggedOutcome::Failed(e)) => assert_eq!(m, e, "job {j}"),
            (got, want) => panic!("job {j}: got {got:?}, want {want:?}"),
        }
    }
    assert_eq!(report.finished + report.failed, outcomes.len() as u64);

    let log = String::from_utf8(sink.contents()).expect("UTF-8");
    match stop {
        Stop::Never => {
            // Every job exactly once; the log complete and as expected.
            assert_eq!(outcomes.len() as u64, case.jobs, "every job ran");
            assert_eq!(report.skipped, 0);
            let summary = judge(&log, case, Completeness::Complete);
            assert_eq!(summary.first_difference(&expected), None);
        }
        Stop::CancelAfterFirst => {
            // Each job ran once or not at all; every worker still exited.
            let summary: Summary = judge(&log, case, Completeness::Partial);
            let (finished, failed, not_started) = summary.counts();
            assert_eq!(finished + failed, outcomes.len() as u64);
            // The pool's own counts agree with the log, and a job it skipped
            // after the cancel is one the log shows never started.
            assert_eq!((report.finished, report.failed), (finished, failed));
            assert!(report.skipped <= not_started, "{} skipped, {not_started} not started", report.skipped);
        }
    }
}

/// Runs `model` under the random and the PCT schedulers, and checks that
/// every schedule ran to its end.
fn check(case: RunSpec, stop: Stop) {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    let n = iterations();
    let runs = Arc::new(AtomicUsize::new(0));
    let (c, r) = (case.clone(), Arc::clone(&runs));
    shuttle::check_random(
        move || {
            model(&c, stop);
            r.fetch_add(1, Relaxed);
        },
        n,
    );
    let r = Arc::clone(&runs);
    shuttle::check_pct(
        move || {
            model(&case, stop);
            r.fetch_add(1, Relaxed);
        },
        n,
        3,
    );
    assert_eq!(runs.load(Relaxed), 2 * n, "schedules checked");
}

#[test]
fn two_workers_three_jobs() {
    check(case(2, 3, "noop"), Stop::Never);
}

#[test]
fn more_workers_than_jobs() {
    check(case(2, 1, "noop"), Stop::Never);
}

#[test]
fn no_jobs_every_worker_exits() {
    check(case(2, 0, "noop"), Stop::Never);
}

#[test]
fn bounded_queue_of_one() {
    check(case(2, 3, "noop").queue(1), Stop::Never);
}

#[test]
fn panicking_job_on_a_bounded_queue() {
    check(case(2, 3, "noop").queue(1).panics([2]), Stop::Never);
}

#[test]
fn every_job_panics() {
    check(case(2, 2, "noop").panics([1, 2]), Stop::Never);
}

#[test]
fn cancel_after_the_first_result() {
    check(case(2, 3, "noop").queue(1), Stop::CancelAfterFirst);
}

#[test]
fn two_workers_two_jobs_queue_of_one() {
    check(case(2, 2, "noop").queue(1), Stop::Never);
}
