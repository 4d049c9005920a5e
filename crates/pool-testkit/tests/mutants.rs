//! Planted defects: each caught in-process and through the binary's exit
//! status.

use std::panic::{self, AssertUnwindSafe};

use pool_core::{Backend, BadOutcome, Ledger, PoolError};
use pool_testkit::mutant::{DuplicateOutcome, EarlyExit, LostOutcome, SkipSleep, WrongResult};
use pool_testkit::{self as testing, case, run_binary};

const BIN: &str = env!("CARGO_BIN_EXE_pool-mutant");

/// The conformance check's panic message for backend `B`.
fn conformance_failure<B: Backend>() -> String
where
    B::Options: 'static,
{
    conformance_failure_on::<B>(&case(2, 10, "noop"))
}

fn conformance_failure_on<B: Backend>(run: &pool_core::RunSpec) -> String
where
    B::Options: 'static,
{
    let err = panic::catch_unwind(AssertUnwindSafe(|| testing::conform::<B>(run)))
        .expect_err("the conformance check passed a defective backend");
    err.downcast_ref::<String>().cloned().or(err.downcast_ref::<&str>().map(|s| (*s).to_owned())).unwrap()
}

/// The ledger's verdict on backend `B`'s outcomes.
fn ledger_verdict<B: Backend>() -> BadOutcome
where
    B::Options: 'static,
{
    let spec = case(2, 10, "noop");
    let run = testing::run::<B>(&spec).expect("runs");
    let mut ledger = Ledger::new(&spec);
    run.outcomes.iter().for_each(|o| ledger.record(o));
    ledger.close(false).expect_err("the ledger passed a defective backend")
}

/// `pool-mutant --defect NAME` exits 3, naming the bad job.
fn binary_exits_3(defect: &str, message: &str) {
    let (out, _) = run_binary(BIN, &["--defect", defect, "-w", "2", "-j", "10000", "--work", "noop", "--quiet"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{defect}: {stderr}");
    assert!(stderr.contains(&format!("results are wrong: {message}")), "{defect}: {stderr}");
}

#[test]
fn a_correct_run_of_the_mutant_binary_passes() {
    let (out, _) = run_binary(BIN, &["-w", "2", "-j", "10000", "--work", "noop", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn duplicated_and_lost_outcome() {
    assert!(conformance_failure::<DuplicateOutcome>().contains("job 2 handed back twice"));
    assert_eq!(ledger_verdict::<DuplicateOutcome>(), BadOutcome::Duplicate { job: 2 });
    binary_exits_3("duplicate-outcome", "job 2 came back twice");
}

#[test]
fn wrong_result() {
    assert!(conformance_failure::<WrongResult>().contains("job 3"));
    assert_eq!(ledger_verdict::<WrongResult>(), BadOutcome::WrongResult { job: 3, got: 7 });
    binary_exits_3("wrong-result", "job 3 yielded 7, not 6");
}

/// A lost outcome is caught by the pool itself, which counts the ids
/// the backend took (so a library caller is never told Ok), and so by
/// the conformance suite and the binary; the ledger's own verdict on the
/// same outcomes is tested in `ledger.rs`.
#[test]
fn missing_outcome() {
    let lost = "jobs were lost: the backend took 10 jobs and 9 came back";
    assert!(conformance_failure::<LostOutcome>().contains(lost));
    let err = testing::run::<LostOutcome>(&case(2, 10, "noop")).expect_err("the pool passed a lost outcome");
    assert!(matches!(err, PoolError::JobsLost { handed_out: 10, came_back: 9, drained: true }), "{err:?}");
    let (out, _) =
        run_binary(BIN, &["--defect", "lost-outcome", "-w", "2", "-j", "10000", "--work", "noop", "--quiet"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("jobs were lost: the backend took 10000 jobs and 9999 came back"), "{stderr}");
}

/// Caught in-process by the checker; through `cargo xtask check` on the
/// logged fixture (`xtask/tests/check.rs`).
#[test]
fn a_worker_that_exits_while_jobs_remain() {
    let message = conformance_failure_on::<EarlyExit>(&case(2, 4, "sleep:10ms"));
    assert!(message.contains("a worker exits only when no job is left"), "{message}");
    assert!(message.contains("since worker 2 exited"), "{message}");
    // And the concurrency case sees one job at a time.
    let err = panic::catch_unwind(testing::runs_jobs_at_once::<EarlyExit>).expect_err("caught");
    assert!(err.downcast_ref::<String>().is_some_and(|m| m.contains("did not overlap") || m.contains("exits only")));
}

/// Caught in-process by the checker's work rule; through `cargo xtask
/// check` on the logged fixture (`xtask/tests/check.rs`).
#[test]
fn a_job_that_skips_its_sleep() {
    let message = conformance_failure_on::<SkipSleep>(&case(2, 3, "sleep:50ms"));
    assert!(message.contains("too short for its planned sleep of 50000 µs"), "{message}");
}
