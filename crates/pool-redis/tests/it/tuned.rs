//! The tuned flavor's own cases, beyond the shared suites: many workers
//! ending on one stream (a batch holds other workers' stop entries, which
//! go back), cancels in the middle of a batch, runs of jobs in one entry
//! under a bounded queue, and remote workers of the tuned flavor.

use pool_core::tuned::Tuned;
use pool_core::{Completeness, Flavor};
use pool_redis::Redis;
use pool_testkit::{case, conform, judge, run_with};

use std::time::Duration;

use crate::support::{Lines, Server, finish, pool_redis};

/// How long a distributed run here may take before it counts as hung.
const LIMIT: Duration = Duration::from_secs(60);

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

/// Remote workers of the tuned flavor: batches across processes, every
/// job once, the log judged with the work rule; one worker SIGKILLed
/// mid-batch has its entries reclaimed after the lease (a run of several
/// jobs at once), another SIGTERMed hands its batch back at once.
#[test]
#[cfg_attr(no_redis_server, ignore = "no redis-server on PATH (apt-get install redis-server)")]
fn remote_workers_of_the_tuned_flavor_run_every_job_once_through_kills_and_stops() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let server = Server::start(&[]);
    let url = server.url(None);
    for (work, jobs) in [("noop", 20_000), ("spin:0us..50us", 5_000), ("sleep:300ms", 12)] {
        let jobs_text = jobs.to_string();
        let args = ["--redis", &url, "--run", "rt", "--flavor", "tuned", "--remote-workers", "3", "-j", &jobs_text];
        let more = ["--work", work, "--lease", "1s", "--format", "jsonl"];
        let mut coord = pool_redis(&[&args[..], &more[..]].concat()).spawn().unwrap();
        let lines = Lines::collect(coord.stdout.take().unwrap());
        let mut remote: Vec<_> =
            (0..3).map(|_| pool_redis(&["worker", "--redis", &url, "--run", "rt"]).spawn().unwrap()).collect();
        let pid = |c: &std::process::Child| Pid::from_raw(i32::try_from(c.id()).unwrap());
        let (killed, stopped) = if work.starts_with("sleep") {
            // Three jobs running: kill one worker, stop another.
            lines.wait_for("three starts", LIMIT, |ls| ls.iter().filter(|l| l.contains("\"started\"")).count() >= 3);
            kill(pid(&remote[0]), Signal::SIGKILL).unwrap();
            kill(pid(&remote[1]), Signal::SIGTERM).unwrap();
            (true, true)
        } else {
            (false, false)
        };
        let (status, stderr) = finish(&mut coord, "the coordinator", LIMIT);
        assert_eq!(status.code(), Some(0), "{work}: {stderr}");
        for (i, w) in remote.iter_mut().enumerate() {
            let (status, stderr) = finish(w, "a remote worker", LIMIT);
            let expected = match i {
                0 if killed => None,
                1 if stopped => Some(143),
                _ => Some(0),
            };
            assert_eq!(status.code(), expected, "{work}: worker process {i}: {stderr}");
        }
        let case = case(3, jobs, work).flavor(Flavor::Tuned).distributed();
        let summary = judge(&lines.text(), &case, Completeness::Complete);
        assert_eq!(summary, pool_core::Summary::expected(3, jobs, true), "{work}");
        if killed {
            let reclaims = lines.text().matches("\"reclaimed\"").count();
            assert!(reclaims >= 2, "{work}: a killed and a stopped worker's jobs are reclaimed: {reclaims}");
        }
        assert!(server.keys().is_empty(), "{work}: keys left behind: {:?}", server.keys());
    }
}
