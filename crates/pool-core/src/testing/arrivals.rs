//! The conformance checks for jobs that arrive over time (`--arrival`).

use super::*;
use crate::Arrival;

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
}
