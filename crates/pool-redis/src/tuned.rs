//! The tuned flavor of local mode (`--flavor tuned`): the same stream, the
//! same consumer group, the same contract, with a round trip per batch of
//! jobs instead of per job. A worker measures how many jobs fill pool-core's
//! grain of work ([`Grain`], from the time its last batch took; it starts at
//! one, so long jobs go one at a time and no worker holds work another could
//! start) and asks for that many: the producer puts up to that many
//! consecutive jobs in one entry (at most [`RUN_MAX`]: one entry, one
//! `XADD`, for many short jobs), and the worker takes as many entries as
//! make up the rest (`XREADGROUP … COUNT n`). It runs them, sends their
//! outcomes to the caller in one message, and acknowledges the whole batch
//! (one `XACK` with every id, and an `XTRIM` of what every worker has taken)
//! in the round trip that takes the next. Outcomes go back as soon as a
//! batch is run, so a worker about to wait for the next arrival holds none.
//!
//! A batch may hold other workers' stop entries (they are the stream's last
//! entries): a worker keeps one, and adds the rest back for the others in
//! the round trip that acknowledges them.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use pool_core::threads::StdSender;
use pool_core::tuned::Grain;
use pool_core::{JobOutcome, PoolError, Worker};

use crate::broker::Broker;
use crate::keys::Keys;
use crate::local::Shared;
use crate::stream::{self, Claimed, Permits, RUN_MAX};
use crate::wire::BLOCK;

/// The most entries a worker takes at once: a reply of this many entries
/// is a few kilobytes, and more saves little next to what the broker does
/// for each entry anyway.
pub(crate) const BATCH_MAX: usize = 256;

/// One worker thread of the tuned flavor (see the module docs).
pub(crate) fn serve(
    mut worker: Worker,
    broker: &Broker,
    keys: &Keys,
    permits: Option<&Permits>,
    shared: &Shared,
    results: StdSender<Vec<JobOutcome>>,
) {
    crate::signals::quiet_signals();
    let consumer = worker.id().to_string();
    let mut work = || -> Result<(), PoolError> {
        let mut conn = broker.connect()?;
        let lost = |e: redis::RedisError| broker.lost(&e);
        let mut grain = Grain::new(BATCH_MAX);
        let mut done: Vec<String> = Vec::new();
        loop {
            // Entries of up to `run_len` jobs: as many as make up the grain.
            let run_len = shared.run_len.load(Relaxed).max(1);
            let count = grain.size().div_ceil(run_len);
            let mut taken = stream::ack_and_read_many(&mut conn, keys, &consumer, &done, count, None).map_err(lost)?;
            done.clear();
            if taken.is_empty() {
                // Nothing waiting: write out the log before blocking.
                worker.idle();
            }
            while taken.is_empty() {
                if shared.is_set() {
                    return Ok(());
                }
                taken = stream::ack_and_read_many(&mut conn, keys, &consumer, &[], count, Some(BLOCK)).map_err(lost)?;
            }
            if let Some(permits) = permits {
                let jobs: u64 = taken.iter().map(|t| if let Claimed::Run { run, .. } = t { run.len } else { 0 }).sum();
                (0..jobs).for_each(|_| permits.release());
            }
            let (mut stops, mut ran, mut cancelled) = (Vec::new(), 0, false);
            let mut outcomes = Vec::with_capacity(grain.size());
            let started = Instant::now();
            for entry in taken {
                match entry {
                    Claimed::Stop { id } => stops.push(id),
                    // After a cancel the batch's other jobs never start.
                    Claimed::Run { .. } if cancelled => {}
                    Claimed::Run { id, run, .. } => {
                        for job in run.ids() {
                            // `None`: the run is cancelled; start nothing more.
                            let Some(outcome) = worker.run(job) else {
                                cancelled = true;
                                break;
                            };
                            outcomes.push(outcome);
                            ran += 1;
                        }
                        if !cancelled {
                            done.push(id);
                        }
                    }
                }
            }
            grain.observe(ran, started.elapsed());
            shared.run_len.store(grain.size().min(RUN_MAX), Relaxed);
            if !outcomes.is_empty() && results.send(outcomes).is_err() {
                return Ok(());
            }
            if cancelled || !stops.is_empty() {
                // This worker is done: it keeps its own stop (none after a
                // cancel) and gives the others back.
                let keep = usize::from(!cancelled && !stops.is_empty());
                done.extend_from_slice(&stops);
                return stream::finish(&mut conn, keys, &done, stops.len() - keep).map_err(lost);
            }
        }
    };
    if let Err(e) = work() {
        shared.record(e);
    }
    if let Some(permits) = permits {
        permits.close();
    }
    worker.exit();
}
