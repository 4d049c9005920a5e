//! A remote worker of the tuned flavor (`pool-redis --flavor tuned
//! --remote-workers N`): the textbook worker's contract and protocol with a
//! round trip per batch. It reads as many entries as make up pool-core's
//! grain of work ([`Grain`], measured from its last batch: long jobs still go
//! one at a time; the work a batch aims at is at least the round trip to
//! the broker, so a link's delay is paid once for many short jobs), runs
//! their jobs, and ends the batch in one round trip
//! ([`FINISH_MANY`]: each entry still its own is acknowledged and its lines
//! published, the stream trimmed) that also tells the producer how many jobs
//! to put in an entry (`run_len` in the run's config). Its heartbeat renews
//! the lease on every entry of the batch. A batch's lines reach the
//! coordinator when the batch ends (a long job's `started` too).
//!
//! A stop signal ends the batch early: the entries run to their end are
//! finished as usual, the rest handed back at once. Stop entries beyond its
//! own that a batch took are added back for the other workers.

use std::time::Instant;

use pool_core::tuned::Grain;
use pool_core::{PoolError, Worker, WorkerId};

use super::session::{STOP_POLL, Session, wait_unless_stopped};
use crate::keys::GROUP;
use crate::scripts::FINISH_MANY;
use crate::stream::{self, Claimed, RUN_MAX};
use crate::tuned::BATCH_MAX;
use crate::wire::BLOCK;

/// The most entries one read takes.
const READ_MAX: usize = 1024;

/// How a batch ended.
enum Batch {
    /// Every entry ran; `stops` stop entries were among them.
    Ran { stops: Vec<String> },
    /// A stop signal came: what was not run went back to the stream.
    Stopped,
}

impl Session<'_> {
    /// Serves batches until told to exit (or stopped by a signal), then
    /// logs `exiting` and publishes it; a worker stopped mid-batch leaves as
    /// gone.
    pub(super) fn serve_tuned(mut self, mut worker: Worker) -> Result<(), PoolError> {
        let poll = (self.joined.lease / 2).min(BLOCK).min(STOP_POLL);
        let mut grain = Grain::new(BATCH_MAX * RUN_MAX);
        let mut entry_len = 1;
        let mut orphaned = None;
        loop {
            if worker.stopping() {
                break;
            }
            if orphaned.is_some() {
                let owner: bool = redis::cmd("EXISTS")
                    .arg(&self.joined.keys.owner)
                    .query(&mut self.conn)
                    .map_err(|e| self.lost(e))?;
                self.watch_coordinator(owner, &mut orphaned)?;
            }
            let mut taken = Vec::new();
            let mut reclaimed_from = None;
            if self.last_reclaim.elapsed() >= self.joined.lease / 2 {
                self.last_reclaim = Instant::now();
                if let Some((entry, holder)) = self.reclaim_entry()? {
                    taken.push(stream::claimed_entry(&entry).map_err(|e| self.lost(e))?);
                    reclaimed_from = Some(holder);
                }
            }
            if taken.is_empty() {
                let count = grain.size().div_ceil(entry_len).clamp(1, READ_MAX);
                let reply = stream::read_many_cmd(&self.joined.keys, &self.consumer, count, Some(poll))
                    .query(&mut self.conn)
                    .map_err(|e| self.lost(e))?;
                taken = stream::parse_claimed(&reply).map_err(|e| self.lost(e))?;
            }
            if taken.is_empty() {
                if self.run_is_over(&mut orphaned)? {
                    break;
                }
                continue;
            }
            if let Some(Claimed::Run { run, .. }) = taken.iter().find(|c| matches!(c, Claimed::Run { .. })) {
                entry_len = run.len as usize;
            }
            let ended = self.run_batch(&mut worker, taken, reclaimed_from, &mut grain)?;
            match ended {
                Batch::Stopped => return self.leave(worker),
                Batch::Ran { stops } if stops.is_empty() => {}
                Batch::Ran { .. } => break,
            }
        }
        worker.exit();
        self.publish(None)
    }

    /// Runs the jobs of the entries `taken` (a batch), tells `grain` how
    /// long they took (the round trips aside), then finishes the batch in
    /// one round trip, asking the producer for entries of the jobs the
    /// grain now holds. Returns how the batch ended.
    fn run_batch(
        &mut self,
        worker: &mut Worker,
        taken: Vec<Claimed>,
        reclaimed_from: Option<WorkerId>,
        grain: &mut Grain,
    ) -> Result<Batch, PoolError> {
        let ids: Vec<&str> = taken
            .iter()
            .map(|c| match c {
                Claimed::Run { id, .. } | Claimed::Stop { id } => id.as_str(),
            })
            .collect();
        self.hold(&ids);
        let mut done: Vec<(String, Vec<u8>)> = Vec::with_capacity(taken.len());
        let mut stops = Vec::new();
        let mut ran = 0;
        let mut stopped = false;
        let started = Instant::now();
        for (i, entry) in taken.iter().enumerate() {
            let (id, run, from) = match entry {
                Claimed::Stop { id } => {
                    stops.push(id.clone());
                    continue;
                }
                Claimed::Run { id, run, from } => (id, run, reclaimed_from.or(*from)),
            };
            for job in run.ids() {
                if let Some(from) = from.filter(|f| f.0 != self.joined.k) {
                    worker.reclaimed(job, from);
                }
                let Some(sleep) = worker.start(job) else {
                    stopped = true;
                    break;
                };
                if !wait_unless_stopped(worker, sleep) {
                    stopped = true;
                    break;
                }
                worker.finish(job);
                ran += 1;
            }
            if stopped {
                // This entry and the ones after it go back; their lines
                // (a `started` at most, here) are nobody's.
                worker.idle();
                drop(self.joined.lines.take());
                let rest: Vec<&str> = ids[i..].to_vec();
                self.finish_batch(&done, &[], None)?;
                self.hand_back(&rest)?;
                return Ok(Batch::Stopped);
            }
            worker.idle();
            done.push((id.clone(), self.joined.lines.take()));
        }
        grain.observe(ran, started.elapsed());
        let trip = Instant::now();
        self.finish_batch(&done, &stops, Some(grain.size().min(RUN_MAX)))?;
        // A batch's work should outweigh its round trip (see `Grain::aim_at`):
        // the trip measured, smoothed over the last few.
        self.trip = (self.trip * 7 + trip.elapsed()) / 8;
        grain.aim_at(self.trip);
        Ok(Batch::Ran { stops })
    }

    /// Ends a batch in one round trip: the entries `done` acknowledged with
    /// their lines published ([`FINISH_MANY`]), the stop entries `stops`
    /// acknowledged with all but one added back for the other workers, and
    /// `run_len` stored for the producer.
    fn finish_batch(
        &mut self,
        done: &[(String, Vec<u8>)],
        stops: &[String],
        run_len: Option<usize>,
    ) -> Result<(), PoolError> {
        if done.is_empty() && stops.is_empty() && run_len.is_none() {
            return Ok(());
        }
        let keys = &self.joined.keys;
        let mut pipe = redis::pipe();
        if !done.is_empty() || !stops.is_empty() {
            let finish = pipe.cmd("EVAL").arg(FINISH_MANY).arg(2).arg(&keys.jobs).arg(&keys.events);
            finish.arg(GROUP).arg(&self.consumer).arg(self.joined.k);
            for (id, lines) in done {
                finish.arg(id).arg(lines.as_slice());
            }
            for id in stops {
                finish.arg(id).arg("");
            }
            finish.ignore();
        }
        for _ in 1..stops.len() {
            pipe.cmd("XADD").arg(&keys.jobs).arg("*").arg("stop").arg(1).ignore();
        }
        if let Some(n) = run_len {
            pipe.cmd("HSET").arg(&keys.config).arg("run_len").arg(n).ignore();
        }
        pipe.exec(&mut self.conn).map_err(|e| self.lost(e))?;
        self.hold::<&str>(&[]);
        Ok(())
    }
}
