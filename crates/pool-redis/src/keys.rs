//! The keys of one run. Every key carries the run's name (in braces, a
//! Redis Cluster hash tag, so one run's keys live together and a script may
//! touch several), and all are deleted when the run ends.

use std::time::Duration;

use crate::wire::Wire;

/// How long a run's keys outlive the last renewal by the process that owns
/// them: a run killed without its clean-up (SIGKILL) leaves nothing on a
/// shared broker after this. A process stopped for longer (Ctrl-Z) finds
/// its run gone when it resumes, and ends with status 3.
pub(crate) const KEY_TTL: Duration = Duration::from_secs(600);

/// How often the owning process renews its run's keys.
pub(crate) const RENEW_EVERY: Duration = Duration::from_secs(1);

/// How long a failed run's clean-up waits for the broker.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(1);

/// The consumer group the workers read jobs through.
pub(crate) const GROUP: &str = "workers";

/// The longest run name accepted.
pub const MAX_RUN_NAME: usize = 64;

/// Checks a `--run` name: 1 to 64 letters, digits, `.`, `_` or `-`.
pub fn parse_run_name(name: &str) -> Result<String, String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_RUN_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    ok.then(|| name.to_owned()).ok_or_else(|| format!("expected 1 to {MAX_RUN_NAME} letters, digits, '.', '_' or '-'"))
}

/// The names of one run's keys.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    /// The run's name.
    pub run: String,
    /// The job stream: entries `j <id>`, and `stop 1` telling a worker to exit.
    pub jobs: String,
    /// Remote workers' events for the coordinator: `w <k> hello <who>` on
    /// joining, `w <k> lines <JSON lines>` after.
    pub events: String,
    /// Who owns the run name on this broker (set with NX, so two runs
    /// cannot share a name).
    pub owner: String,
    /// The run's settings for remote workers (a hash).
    pub config: String,
    /// Counter giving each joining remote worker its number.
    pub joined: String,
    /// `over` once the coordinator has told the workers to exit.
    pub state: String,
    prefix: String,
}

impl Keys {
    pub(crate) fn new(run: &str) -> Keys {
        let prefix = format!("wp:{{{run}}}:");
        let key = |name: &str| format!("{prefix}{name}");
        Keys {
            run: run.to_owned(),
            jobs: key("jobs"),
            events: key("events"),
            owner: key("owner"),
            config: key("config"),
            joined: key("joined"),
            state: key("state"),
            prefix,
        }
    }

    /// The key a live remote worker `k` (or the coordinator, `k` = 0) keeps
    /// refreshing; it expires a lease after that process stops.
    pub(crate) fn alive(&self, k: u32) -> String {
        format!("{}alive:{k}", self.prefix)
    }

    /// Claims the run name on this broker for `owner_ttl` (renewed by
    /// [`renew`](Self::renew)); `false` if another run has it.
    pub(crate) fn claim(&self, conn: &mut Wire, owner_ttl: Duration) -> redis::RedisResult<bool> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(&self.owner).arg(std::process::id()).arg("NX").arg("PX").arg(millis(owner_ttl));
        let reply: Option<String> = cmd.query(conn)?;
        Ok(reply.is_some())
    }

    /// Renews the owner's claim for `owner_ttl` and every other key of the
    /// run (a key not made yet is skipped) for [`KEY_TTL`]; the owning
    /// process calls it every [`RENEW_EVERY`]. Remote workers' `alive` keys
    /// are their own, with a lease.
    pub(crate) fn renew(&self, conn: &mut Wire, owner_ttl: Duration) -> redis::RedisResult<()> {
        let mut pipe = redis::pipe();
        pipe.cmd("PEXPIRE").arg(&self.owner).arg(millis(owner_ttl)).ignore();
        for key in [&self.jobs, &self.events, &self.config, &self.joined, &self.state] {
            pipe.cmd("PEXPIRE").arg(key).arg(millis(KEY_TTL)).ignore();
        }
        pipe.exec(conn)
    }

    /// A fresh job stream with the workers' consumer group, expiring as
    /// [`renew`](Self::renew) says.
    pub(crate) fn create_jobs(&self, conn: &mut Wire) -> redis::RedisResult<()> {
        redis::pipe()
            .cmd("DEL")
            .arg(&self.jobs)
            .arg(&self.events)
            .ignore()
            .cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.jobs)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .ignore()
            .cmd("PEXPIRE")
            .arg(&self.jobs)
            .arg(millis(KEY_TTL))
            .ignore()
            .exec(conn)
    }

    /// At the end of a run, deletes every key of the run (remote workers
    /// `1..=workers`), if the broker is there to hear it: after a failed
    /// run (the broker may be gone) it waits at most [`CLEANUP_TIMEOUT`].
    pub(crate) fn clean_up(&self, conn: &mut Wire, workers: u32, failed: bool) {
        if failed && conn.set_read_timeout(CLEANUP_TIMEOUT).is_err() {
            return;
        }
        let _ = self.delete_all(conn, workers);
    }

    /// Deletes every key of the run (remote workers `1..=workers`).
    fn delete_all(&self, conn: &mut Wire, workers: u32) -> redis::RedisResult<()> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(&self.jobs).arg(&self.events).arg(&self.config).arg(&self.joined).arg(&self.state);
        for k in 0..=workers {
            cmd.arg(self.alive(k));
        }
        cmd.arg(&self.owner);
        cmd.exec(conn)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_carries_the_run_name() {
        let keys = Keys::new("nightly-7");
        for key in [&keys.jobs, &keys.events, &keys.owner, &keys.config, &keys.joined, &keys.state, &keys.alive(3)] {
            assert!(key.starts_with("wp:{nightly-7}:"), "{key}");
        }
    }

    #[test]
    fn run_names_are_short_and_plain() {
        assert_eq!(parse_run_name("a.b_c-9").unwrap(), "a.b_c-9");
        for bad in ["", "a b", "a:b", "{x}", "ü", &"x".repeat(65)] {
            assert!(parse_run_name(bad).is_err(), "{bad:?}");
        }
    }
}
