//! A joined worker's session with the broker: the textbook flavor's loop
//! (one job a round trip) and what both flavors' loops share: leaving on a
//! stop signal, handing jobs back, riding through a gap between
//! coordinators, publishing lines, taking over a dead worker's entry.

use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use pool_core::cli::say;
use pool_core::{JobId, PoolError, WorkerId};
use redis::Value;

use super::Joined;
use crate::keys::GROUP;
use crate::scripts::{FINISH, HANDBACK, PUBLISH_IF_MINE, RECLAIM};
use crate::stream::{self, Taken, text};
use crate::wire::{BLOCK, Wire};

/// How often an idle worker looks for a stop signal at the latest, and a
/// waiting job's wait does.
pub(super) const STOP_POLL: Duration = Duration::from_millis(200);

/// Waits `wait` (a job's sleep) unless a stop signal comes first: `false`
/// then, at most a slice of [`STOP_POLL`] later.
pub(super) fn wait_unless_stopped(worker: &pool_core::Worker, wait: Duration) -> bool {
    let end = Instant::now() + wait;
    loop {
        if worker.stopping() {
            return false;
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        thread::sleep(left.min(STOP_POLL / 10));
    }
}

/// The serving side of a joined worker.
pub(super) struct Session<'a> {
    pub(super) joined: &'a Joined,
    pub(super) conn: Wire,
    pub(super) consumer: String,
    /// The entries this worker holds (its heartbeat renews their lease).
    pub(super) held: &'a Mutex<Vec<String>>,
    /// The round trip to the broker, as the tuned flavor last measured it.
    pub(super) trip: Duration,
    pub(super) last_reclaim: Instant,
}

impl<'a> Session<'a> {
    pub(super) fn new(joined: &'a Joined, held: &'a Mutex<Vec<String>>) -> Result<Self, PoolError> {
        let conn = joined.broker.connect()?;
        let last_reclaim = Instant::now();
        Ok(Session { joined, conn, consumer: joined.k.to_string(), held, trip: Duration::ZERO, last_reclaim })
    }

    pub(super) fn lost(&self, e: redis::RedisError) -> PoolError {
        self.joined.broker.lost(&e)
    }

    /// Serves jobs until told to exit (or stopped by a signal), then logs
    /// `exiting` and publishes it; a worker stopped mid-job leaves as gone.
    pub(super) fn serve(mut self, mut worker: pool_core::Worker) -> Result<(), PoolError> {
        let keys = &self.joined.keys;
        // Short enough that a stop signal to an idle worker is seen soon.
        let poll = (self.joined.lease / 2).min(BLOCK).min(STOP_POLL);
        let mut orphaned: Option<Instant> = None;
        loop {
            if worker.stopping() {
                break;
            }
            if orphaned.is_some() {
                // While the run has no coordinator, look for one between jobs too.
                let owner: bool =
                    redis::cmd("EXISTS").arg(&keys.owner).query(&mut self.conn).map_err(|e| self.lost(e))?;
                self.watch_coordinator(owner, &mut orphaned)?;
            }
            if self.last_reclaim.elapsed() >= self.joined.lease / 2 {
                self.last_reclaim = Instant::now();
                if let Some((taken, holder)) = self.reclaim()? {
                    match taken {
                        Taken::Stop { id } => {
                            stream::ack(&mut self.conn, keys, &id).map_err(|e| self.lost(e))?;
                            break;
                        }
                        Taken::Job { id, job, .. } => {
                            worker.reclaimed(job, holder);
                            worker.idle();
                            self.publish(None)?;
                            if !self.run_job(&mut worker, &id, job)? {
                                return self.leave(worker);
                            }
                            continue;
                        }
                    }
                }
            }
            let taken =
                stream::read_cmd(keys, &self.consumer, Some(poll)).query(&mut self.conn).map_err(|e| self.lost(e))?;
            match stream::parse_read(&taken).map_err(|e| self.lost(e))? {
                Some(Taken::Stop { id }) => {
                    stream::ack(&mut self.conn, keys, &id).map_err(|e| self.lost(e))?;
                    break;
                }
                Some(Taken::Job { id, job, from }) => {
                    // Handed back by a worker that was stopped: taken over
                    // from it, as after its lease.
                    if let Some(from) = from.filter(|f| f.0 != self.joined.k) {
                        worker.reclaimed(job, from);
                        worker.idle();
                        self.publish(None)?;
                    }
                    if !self.run_job(&mut worker, &id, job)? {
                        return self.leave(worker);
                    }
                }
                None => {
                    if self.run_is_over(&mut orphaned)? {
                        break;
                    }
                }
            }
        }
        worker.exit();
        self.publish(None)
    }

    /// After a read that found nothing: whether the run is over (the
    /// coordinator told the workers to exit), and if not, whether it still
    /// has a coordinator (see [`watch_coordinator`](Self::watch_coordinator)).
    pub(super) fn run_is_over(&mut self, orphaned: &mut Option<Instant>) -> Result<bool, PoolError> {
        let keys = &self.joined.keys;
        let (state, owner): (Option<String>, bool) = redis::pipe()
            .cmd("GET")
            .arg(&keys.state)
            .cmd("EXISTS")
            .arg(&keys.owner)
            .query(&mut self.conn)
            .map_err(|e| self.lost(e))?;
        if state.as_deref() == Some("over") {
            return Ok(true);
        }
        self.watch_coordinator(owner, orphaned)?;
        Ok(false)
    }

    /// Rides through a gap between coordinators: once the run's claim has
    /// lapsed (its coordinator died), waits up to `--wait-coordinator` for
    /// one to resume the run, saying so once.
    pub(super) fn watch_coordinator(&self, owner: bool, orphaned: &mut Option<Instant>) -> Result<(), PoolError> {
        let run = &self.joined.keys.run;
        match (owner, *orphaned) {
            (true, Some(_)) => {
                say(&format!("pool-redis worker: run '{run}' has a coordinator again"));
                *orphaned = None;
            }
            (true, None) => {}
            (false, None) => {
                say(&format!(
                    "pool-redis worker: the coordinator of run '{run}' is gone; waiting up to {} for one to resume \
                     it (the same command, with --run {run})",
                    humantime::format_duration(self.joined.wait_coordinator)
                ));
                *orphaned = Some(Instant::now());
            }
            (false, Some(since)) if since.elapsed() >= self.joined.wait_coordinator => {
                return Err(PoolError::Substrate(format!(
                    "the coordinator of run '{run}' is gone, and none resumed the run within {}",
                    humantime::format_duration(self.joined.wait_coordinator)
                )));
            }
            (false, Some(_)) => {}
        }
        Ok(())
    }

    /// Leaves the run after a stop signal took the job it held back to the
    /// stream: logs nothing more (the job's lines are the next holder's to
    /// write; this worker is gone, as a killed one is).
    pub(super) fn leave(self, worker: pool_core::Worker) -> Result<(), PoolError> {
        worker.gone();
        drop(self.joined.lines.take());
        say(&format!(
            "pool-redis worker: left run '{}': what it held went back to the stream for the other workers",
            self.joined.keys.run
        ));
        Ok(())
    }

    /// Runs one job the worker holds (entry `id`), publishing its lines only
    /// while it is still this worker's. `false` if a stop signal came first:
    /// the job was handed back, not run to its end.
    pub(super) fn run_job(&mut self, worker: &mut pool_core::Worker, id: &str, job: JobId) -> Result<bool, PoolError> {
        self.hold(&[id]);
        let Some(sleep) = worker.start(job) else {
            // Stopped (a signal) before it began: nothing was logged.
            self.hand_back(&[id])?;
            return Ok(false);
        };
        // A long job's `started` was written out at once: show it live.
        if !self.joined.lines.0.lock().unwrap_or_else(PoisonError::into_inner).is_empty() {
            self.publish(Some((&PUBLISH_IF_MINE, id)))?;
        }
        if !wait_unless_stopped(worker, sleep) {
            self.hand_back(&[id])?;
            return Ok(false);
        }
        worker.finish(job);
        worker.idle();
        self.publish(Some((&FINISH, id)))?;
        self.hold::<&str>(&[]);
        Ok(true)
    }

    /// Gives entries `ids` back to the stream for another worker, now (see
    /// [`HANDBACK`]); those not taken over already.
    pub(super) fn hand_back<S: AsRef<str>>(&mut self, ids: &[S]) -> Result<(), PoolError> {
        let keys = &self.joined.keys;
        let ids: Vec<&str> = ids.iter().map(AsRef::as_ref).collect();
        HANDBACK
            .key(&keys.jobs)
            .arg(GROUP)
            .arg(&self.consumer)
            .arg(self.joined.k)
            .arg(&ids)
            .invoke::<i64>(&mut self.conn)
            .map_err(|e| self.lost(e))?;
        self.hold::<&str>(&[]);
        Ok(())
    }

    /// Says which entries the worker holds, for its heartbeat to renew.
    pub(super) fn hold<S: AsRef<str>>(&self, ids: &[S]) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.clear();
        held.extend(ids.iter().map(|id| id.as_ref().to_owned()));
    }

    /// Publishes the lines written so far: unconditionally, or through a
    /// script that checks that entry `id` is still this worker's (and for
    /// [`FINISH`], acknowledges it).
    pub(super) fn publish(&mut self, check: Option<(&redis::Script, &str)>) -> Result<(), PoolError> {
        let lines = self.joined.lines.take();
        let keys = &self.joined.keys;
        let done = match check {
            None if lines.is_empty() => Ok(()),
            None => redis::cmd("XADD")
                .arg(&keys.events)
                .arg("*")
                .arg("w")
                .arg(self.joined.k)
                .arg("lines")
                .arg(lines)
                .exec(&mut self.conn),
            Some((script, id)) => script
                .key(&keys.jobs)
                .key(&keys.events)
                .arg(GROUP)
                .arg(&self.consumer)
                .arg(id)
                .arg(self.joined.k)
                .arg(lines)
                .invoke::<i64>(&mut self.conn)
                .map(drop),
        };
        done.map_err(|e| self.lost(e))
    }

    /// Takes over the oldest job whose holder's lease ran out, if any.
    pub(super) fn reclaim(&mut self) -> Result<Option<(Taken, WorkerId)>, PoolError> {
        let Some((entry, holder)) = self.reclaim_entry()? else { return Ok(None) };
        let taken = stream::parse_entry(&entry).map_err(|e| self.lost(e))?;
        Ok(Some((taken, holder)))
    }

    /// Takes over the oldest entry whose holder's lease ran out, if any:
    /// the entry as `XREADGROUP` gives it, and its holder.
    pub(super) fn reclaim_entry(&mut self) -> Result<Option<(Value, WorkerId)>, PoolError> {
        let reply: Value = RECLAIM
            .key(&self.joined.keys.jobs)
            .arg(GROUP)
            .arg(&self.consumer)
            .arg(self.joined.lease.as_millis() as u64)
            .invoke(&mut self.conn)
            .map_err(|e| self.lost(e))?;
        let Value::Array(parts) = reply else { return Ok(None) };
        let (Some(id), Some(holder), Some(fields)) = (parts.first(), parts.get(1).and_then(text), parts.get(2)) else {
            return Ok(None);
        };
        let entry = Value::Array(vec![id.clone(), fields.clone()]);
        let holder = WorkerId(holder.parse().unwrap_or(0));
        Ok(Some((entry, holder)))
    }
}
