//! Checks for the async backends' tuned tasks (`tuned::tasks`), whose two
//! kinds of task each need many workers to show a fault.

use super::*;

/// Both kinds of tuned task — the lean one when every job sleeps, the
/// general one when a job may not — run 1,000 workers of backend `B` to a
/// log the checker accepts, whole and cut short by a cancel that leaves the
/// backlog.
pub fn many_tasks_conform_and_cancel<B: Backend>()
where
    B::Options: 'static,
{
    for work in ["sleep:1ms", "sleep:0us..1ms"] {
        let case = case(1_000, 20_000, work).flavor(Flavor::Tuned);
        conform::<B>(&case);
        let mut seen = 0;
        let run = run_with::<B>(&case, move |_, config| {
            seen += 1;
            if seen == 3_000 {
                config.cancel.store(true, Relaxed);
            }
        })
        .unwrap();
        let summary = judge(&run.log, &case, Completeness::Partial);
        let (finished, failed, not_started) = summary.counts();
        assert_eq!(run.outcomes.len() as u64, finished + failed, "{work}: outcomes vs jobs the log ended");
        assert_eq!((run.report.finished, run.report.failed), (finished, failed), "{work}");
        assert!(not_started > 0, "{work}: the cancel stopped nothing");
        assert!(run.report.skipped <= 1_000, "{work}: {} skipped; each worker may skip one", run.report.skipped);
    }
}
