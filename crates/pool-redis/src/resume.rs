//! Resuming a distributed run whose coordinator died (SIGKILL, a lost
//! host): its state is all on the broker, so the same command with the same
//! `--run NAME` takes it up. The new coordinator waits for the dead one's
//! claim on the name to lapse ([`claim_name`]), checks that the settings
//! are the run's and finds how many jobs were added ([`Resume::find`]), and
//! skips as many from its own job stream ([`skip_added`]). The coordinator
//! then writes the run's whole log again from the event stream, so its log
//! alone is the run's complete log (the first one's lines are all in it).
//!
//! A cancelled run is not resumed; nor is one whose settings differ.

use std::thread;
use std::time::{Duration, Instant};

use pool_core::cli::say;
use pool_core::{Crew, JobId, Jobs, PoolError};

use crate::broker::Broker;
use crate::keys::{Keys, RENEW_EVERY};
use crate::stream::Permits;
use crate::wire::Wire;

/// A run a dead coordinator left on the broker, as its successor finds it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Resume {
    /// Jobs already added to the stream: the producer skips as many.
    pub(crate) added: u64,
    /// Every job had ended and the workers were told to exit.
    pub(crate) over: bool,
}

impl Resume {
    /// Finds the run `keys` names on the broker, left by a coordinator that
    /// died: `None` if there is none (a fresh run). Its settings must be
    /// this run's.
    pub(crate) fn find(
        conn: &mut Wire,
        broker: &Broker,
        keys: &Keys,
        crew: &Crew,
        lease: Duration,
    ) -> Result<Option<Resume>, PoolError> {
        let lost = |e: redis::RedisError| broker.lost(&e);
        let config: Vec<(String, String)> = redis::cmd("HGETALL").arg(&keys.config).query(conn).map_err(lost)?;
        if config.is_empty() {
            return Ok(None);
        }
        let setting = |name: &str| config.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str());
        for (name, ours) in settings(crew, lease) {
            if setting(name) != ours {
                return Err(PoolError::Substrate(format!(
                    "run '{}' on the broker, whose coordinator died, has {name} '{}', not '{ours}': resume it with \
                     its own settings, or use another --run name",
                    keys.run,
                    setting(name)
                )));
            }
        }
        if !setting("cancelled").is_empty() {
            keys.clean_up(conn, crew.size(), false);
            return Err(PoolError::Substrate(format!(
                "run '{}' was cancelled before its coordinator died: nothing to resume (its keys are removed; start \
                 it again to run it afresh)",
                keys.run
            )));
        }
        let state: Option<String> = redis::cmd("GET").arg(&keys.state).query(conn).map_err(lost)?;
        let over = state.as_deref() == Some("over");
        // The producer counts what it adds in the same transaction.
        let added = match setting("added") {
            "" => 0,
            n => n
                .parse()
                .map_err(|_| PoolError::Substrate(format!("run '{}' has a bad count of its jobs", keys.run)))?,
        };
        Ok(Some(Resume { added, over }))
    }
}

/// The settings a remote worker reads from the run's config, as this
/// coordinator would publish them (the epoch aside: a resumed run keeps its
/// first one).
pub(crate) fn settings(crew: &Crew, lease: Duration) -> [(&'static str, String); 6] {
    let work = crew.work();
    let panic_on: Vec<String> = work.panic_on().iter().map(|j| j.0.to_string()).collect();
    [
        ("work", work.spec().to_string()),
        ("seed", work.seed().to_string()),
        ("panic_on", panic_on.join(",")),
        ("lease_ms", (lease.as_millis() as u64).to_string()),
        ("workers", crew.size().to_string()),
        ("flavor", crew.flavor().to_string()),
    ]
}

/// Claims the run's name, waiting for the claim of a coordinator that died
/// to lapse: a live one renews its claim every second, a dead one's only
/// runs down, which two readings of its time to live tell apart.
pub(crate) fn claim_name(conn: &mut Wire, broker: &Broker, keys: &Keys, ttl: Duration) -> Result<(), PoolError> {
    let lost = |e: redis::RedisError| broker.lost(&e);
    let in_use =
        || PoolError::Substrate(format!("run name '{}' is in use on the broker at {}", keys.run, broker.shown()));
    let deadline = Instant::now() + ttl + RENEW_EVERY;
    let mut last: Option<(i64, Instant)> = None;
    loop {
        if keys.claim(conn, ttl).map_err(lost)? {
            return Ok(());
        }
        let left: i64 = redis::cmd("PTTL").arg(&keys.owner).query(conn).map_err(lost)?;
        let now = Instant::now();
        match last {
            None => say(&format!(
                "pool-redis: run '{}' is claimed by another coordinator; if it died, its claim lapses within {} and \
                 this one resumes the run",
                keys.run,
                humantime::format_duration(Duration::from_millis(left.max(0) as u64))
            )),
            // Renewed since the last reading: its coordinator lives.
            Some((before, at)) if before - left < (now - at).as_millis() as i64 - RENEW_SLACK_MS => {
                return Err(in_use());
            }
            Some(_) => {}
        }
        if now >= deadline {
            return Err(in_use());
        }
        last = Some((left, now));
        thread::sleep(RENEW_EVERY + Duration::from_millis(500));
    }
}

/// Takes from `jobs` the `added` jobs a dead coordinator of the run already
/// added to the stream (with a permit each, as the producer would), so that
/// only the rest are added.
pub(crate) fn skip_added<I: Iterator<Item = JobId>>(
    jobs: &mut Jobs<I>,
    added: u64,
    permits: Option<&Permits>,
    run: &str,
) -> Result<(), PoolError> {
    let mut left = added;
    while left > 0 {
        if permits.is_some_and(|p| !p.acquire()) {
            return Ok(());
        }
        let Some(taken) = jobs.claim(1) else {
            return Err(PoolError::Substrate(format!(
                "run '{run}' on the broker already holds {added} jobs, more than this run's {}: resume it with the \
                 same jobs",
                added - left
            )));
        };
        left -= taken.len;
    }
    Ok(())
}

/// How far a dead claim's time to live may seem to run down slower than
/// the clock between two readings (round trips, the broker's own timing).
const RENEW_SLACK_MS: i64 = 300;
