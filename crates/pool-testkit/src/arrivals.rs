//! The conformance checks for jobs that arrive over time (`--arrival`).

use super::*;
use pool_core::Arrival;

/// Jobs that arrive over time: a log the checker accepts, in which no job
/// starts before it arrives (the checker's rule), every job once, and a
/// latency for each counted from its arrival (so at least the run's last
/// gap, and never more than the whole run). Poisson arrivals at 20,000 a
/// second of short spins and of sleeps, with a bounded queue too.
pub fn arrivals_are_kept<B: Backend>()
where
    B::Options: 'static,
{
    for (work, queue) in [("spin:0us..50us", None), ("sleep:0us..400us", Some(2)), ("noop", None)] {
        let mut case = case(4, 400, work).arrival(Arrival::Poisson { rate: 20_000.0 });
        if let Some(q) = queue {
            case = case.queue(q);
        }
        conform::<B>(&case);
        let quiet = case.clone().format(None);
        let run = run::<B>(&quiet).unwrap_or_else(|e| panic!("{} {quiet:?}: {e}", B::NAME));
        let latency = run.report.latency.unwrap_or_else(|| panic!("{} {quiet:?}: no latency reported", B::NAME));
        assert!(latency.p50 <= latency.p99 && latency.p99 <= latency.max, "{} {work}: {latency:?}", B::NAME);
        assert!(latency.max <= run.report.elapsed, "{} {work}: {latency:?} past {:?}", B::NAME, run.report.elapsed);
        let last = case.arrival.and_then(|a| a.schedule(case.jobs, case.seed).at(JobId(case.jobs)));
        assert!(run.report.elapsed >= last.unwrap_or_default(), "{} {work}: ended before the last arrival", B::NAME);
    }
    outcomes_do_not_wait_for_later_arrivals::<B>();
}

/// A slow stream (20 jobs, 25 ms apart): each outcome reaches the caller
/// without waiting for jobs that arrive after it, so no latency comes near
/// the whole stream's length. A pool that held outcomes (or jobs, in a
/// producer's batch) until the stream ended would give its first job a
/// latency of the stream's full 475 ms.
fn outcomes_do_not_wait_for_later_arrivals<B: Backend>()
where
    B::Options: 'static,
{
    let case = case(2, 20, "noop").arrival(Arrival::Uniform { rate: 40.0 }).format(None);
    let stream = case.arrival.and_then(|a| a.schedule(case.jobs, case.seed).at(JobId(case.jobs))).unwrap();
    let run = run::<B>(&case).unwrap_or_else(|e| panic!("{} {case:?}: {e}", B::NAME));
    let latency = run.report.latency.unwrap_or_else(|| panic!("{} {case:?}: no latency reported", B::NAME));
    assert!(
        latency.max < stream,
        "{}: an outcome waited {:?} for arrivals after it ({stream:?} of stream)",
        B::NAME,
        latency.max
    );
}
