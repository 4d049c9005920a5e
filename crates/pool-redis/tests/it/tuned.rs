//! The tuned flavor's own cases, beyond the shared suites: many workers
//! ending on one stream (a batch holds other workers' stop entries, which
//! go back), cancels in the middle of a batch, runs of jobs in one entry
//! under a bounded queue, and its refusal of remote workers.

use pool_core::tuned::Tuned;
use pool_core::{Completeness, Flavor};
use pool_redis::Redis;
use pool_testkit::{case, conform, judge, run_with};

use crate::support::pool_redis;

/// Sixty-four workers on short jobs: stops taken in one batch go back, and
/// every worker still exits; every job once, the log judged.
#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn many_workers_end_on_their_stops() {
    for work in ["noop", "spin:0us..20us"] {
        conform::<Tuned<Redis>>(&case(64, 30_000, work).flavor(Flavor::Tuned));
    }
}

/// A cancel in the middle of batches: what ran is logged and came back,
/// what did not start is left, every worker exits.
#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn a_cancel_mid_batch_leaves_the_rest() {
    let case = case(8, 200_000, "noop").flavor(Flavor::Tuned);
    let mut seen = 0;
    let run = run_with::<Tuned<Redis>>(&case, move |_, config| {
        seen += 1;
        if seen == 5_000 {
            config.cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    })
    .unwrap();
    let summary = judge(&run.log, &case, Completeness::Partial);
    let (finished, failed, not_started) = summary.counts();
    assert_eq!(run.outcomes.len() as u64, finished + failed);
    assert!(not_started > 0, "the cancel stopped nothing");
}

/// A bounded queue with runs of jobs in an entry: the producer takes a
/// permit a job, whatever the entry holds.
#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn runs_keep_to_a_bounded_queue() {
    for queue in [1, 7, 1_000] {
        conform::<Tuned<Redis>>(&case(4, 20_000, "noop").queue(queue).flavor(Flavor::Tuned));
    }
}

/// Remote workers are textbook only: `--flavor tuned` with them is bad
/// usage, one line, status 2.
#[test]
fn tuned_remote_workers_are_refused() {
    let out =
        pool_redis(&["--flavor", "tuned", "--remote-workers", "2", "--redis", "redis://127.0.0.1:1"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("remote workers are textbook only"), "{stderr}");
}
