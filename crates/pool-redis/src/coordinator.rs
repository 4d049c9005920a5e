//! Distributed mode, the coordinator's side (`pool-redis --remote-workers W
//! ...`): it publishes the run's settings, waits for W `pool-redis worker`
//! processes to join, adds the jobs to the stream, and relays the events the
//! workers publish into its one log through a proxy [`Worker`] per remote
//! worker (so the log is written here, in the run's format, by pool-core),
//! each event with the worker's own timestamp, on the run's clock (see
//! `clock`).
//! Results travel inside the workers' `finished` lines and reach the caller
//! once each. At the end (every job ended, or a cancel once the running jobs
//! ended) it tells the workers to exit with one stop entry each.
//!
//! A remote worker that stops renewing its lease (killed, say) has its job
//! taken over by another (see [`crate::remote`]); the coordinator ends such
//! a worker with [`Worker::gone`] once its lease has run out, and the log
//! shows the takeover as a `reclaimed` event.
//!
//! The coordinator itself may die (SIGKILL, a lost host): the same command
//! with the same `--run NAME` resumes the run (see `resume`), handing its
//! caller every result once. Jobs that ended are not run again; jobs in
//! flight end on their workers, or are reclaimed from workers that died
//! meanwhile.

use std::collections::HashSet;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use pool_core::cli::say;
use pool_core::{Crew, Event, Format, JobId, JobOutcome, Jobs, PoolError, Worker, WorkerId};
use redis::Value;

use crate::broker::Broker;
use crate::clock;
use crate::keys::{GROUP, KEY_TTL, Keys, RENEW_EVERY};
use crate::resume::{Resume, claim_name, settings, skip_added};
use crate::stream::{self, Permits, text};
use crate::wire::Wire;

/// How long the coordinator waits for worker events before it looks at
/// cancellation and liveness again.
const POLL: Duration = Duration::from_millis(200);

/// How long the run's name stays claimed after the coordinator's last sign
/// of life: a worker that sees it gone knows the coordinator is.
pub(crate) fn owner_ttl(lease: Duration) -> Duration {
    (lease * 2).max(Duration::from_secs(10))
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Waiting for the workers to join.
    Joining,
    /// Jobs are being handed out and run.
    Running,
    /// The workers have been told to exit.
    Draining,
}

struct Coordinator<'a> {
    broker: &'a Broker,
    keys: &'a Keys,
    lease: Duration,
    conn: Wire,
    proxies: Vec<Option<Worker>>,
    /// Remote workers that have joined.
    joined: Vec<bool>,
    /// Remote workers a job was reclaimed from.
    reclaimed_from: Vec<bool>,
    /// Remote workers ended for good: gone with [`Worker::gone`], or dead
    /// holding no job; what they publish after is not the run's.
    gone: Vec<bool>,
    /// Each remote worker's last stamp, relayed as it was.
    last_t: Vec<Option<u64>>,
    ended: HashSet<u64>,
    last_event: String,
    /// The bound of a `--queue` run: jobs handed out and not yet ended.
    permits: Option<Arc<Permits>>,
    /// Outcomes, for the caller's thread.
    results: mpsc::Sender<JobOutcome>,
    /// What a dead coordinator of this run left, if this one resumes it.
    resume: Option<Resume>,
    /// The tuned flavor's jobs per entry, as the workers last measured
    /// them (`run_len` in the run's config, read by the producer); `None`
    /// for textbook.
    run_len: Option<Arc<AtomicUsize>>,
}

/// Runs the crew as remote workers through `broker`: claims the run's name,
/// coordinates on a thread of its own (the broker is talked to from threads
/// of ours, see `signals`; this one only hands results to the caller), and
/// deletes the run's keys at the end.
pub(crate) fn run<I>(
    crew: Crew,
    broker: &Broker,
    keys: &Keys,
    lease: Duration,
    jobs: Jobs<I>,
    on_result: &mut dyn FnMut(JobOutcome),
) -> Result<(), PoolError>
where
    I: Iterator<Item = JobId> + Send,
{
    let workers = crew.size();
    let mut conn = broker.connect()?;
    claim_name(&mut conn, broker, keys, owner_ttl(lease))?;
    let resume = match Resume::find(&mut conn, broker, keys, &crew, lease) {
        Ok(resume) => resume,
        Err(e) => {
            // Not this run's to clean up: give the name back only.
            let _ = redis::cmd("DEL").arg(&keys.owner).exec(&mut conn);
            return Err(e);
        }
    };
    let (results, received) = mpsc::channel();
    let outcome = thread::scope(|s| {
        let body = move || {
            crate::signals::quiet_signals();
            Coordinator::start(crew, broker, keys, lease, results, resume)?.serve(s, jobs)
        };
        let coordinator =
            thread::Builder::new().name("coordinator".into()).spawn_scoped(s, body).map_err(PoolError::Spawn)?;
        for outcome in received {
            on_result(outcome);
        }
        coordinator.join().unwrap_or_else(|_| Err(PoolError::Substrate("the coordinator thread panicked".into())))
    });
    keys.clean_up(&mut conn, workers, outcome.is_err());
    outcome
}

impl<'a> Coordinator<'a> {
    /// Publishes the run's settings and prepares the job stream.
    fn start(
        crew: Crew,
        broker: &'a Broker,
        keys: &'a Keys,
        lease: Duration,
        results: mpsc::Sender<JobOutcome>,
        resume: Option<Resume>,
    ) -> Result<Self, PoolError> {
        let workers = crew.size();
        let tuned = crew.flavor().is_tuned();
        let mut conn = broker.connect()?;
        let lost = |e: redis::RedisError| broker.lost(&e);
        match resume {
            None => Self::publish(&mut conn, &crew, keys, lease).map_err(lost)?,
            Some(resume) => {
                keys.renew(&mut conn, owner_ttl(lease)).map_err(lost)?;
                say(&format!(
                    "pool-redis: resuming run '{}': {} jobs were added before its coordinator died{}; the run's log \
                     is written again from the broker",
                    keys.run,
                    resume.added,
                    if resume.over { " (all had ended)" } else { "" }
                ));
            }
        }
        say(&format!(
            "pool-redis: run '{}' waits for {workers} workers: start each with `pool-redis worker {} --run {}`",
            keys.run,
            broker.worker_flags(),
            keys.run
        ));
        let permits = crew.queue().map(|n| Arc::new(Permits::new(n.get() + workers as usize)));
        Ok(Coordinator {
            broker,
            keys,
            lease,
            conn,
            permits,
            proxies: crew.into_workers().map(Some).collect(),
            joined: vec![false; workers as usize],
            reclaimed_from: vec![false; workers as usize],
            gone: vec![false; workers as usize],
            last_t: vec![None; workers as usize],
            ended: HashSet::new(),
            last_event: "0-0".to_owned(),
            results,
            resume,
            run_len: tuned.then(|| Arc::new(AtomicUsize::new(1))),
        })
    }

    /// A fresh run: the job stream, the run's settings for the workers.
    fn publish(conn: &mut Wire, crew: &Crew, keys: &Keys, lease: Duration) -> redis::RedisResult<()> {
        keys.create_jobs(conn)?;
        let [work, seed, panic_on, lease_ms, workers, flavor] = settings(crew, lease).map(|(_, v)| v);
        // Every key is made with its expiry (see `Keys::renew`): the event
        // stream empty, before any worker adds to it, and the join counter
        // at 0 (INCR keeps the expiry).
        let ttl = KEY_TTL.as_millis() as u64;
        redis::pipe()
            .cmd("DEL")
            .arg(&keys.state)
            .ignore()
            .cmd("SET")
            .arg(&keys.joined)
            .arg(0)
            .arg("PX")
            .arg(ttl)
            .ignore()
            .cmd("XGROUP")
            .arg("CREATE")
            .arg(&keys.events)
            .arg("coordinator")
            .arg("$")
            .arg("MKSTREAM")
            .ignore()
            .cmd("PEXPIRE")
            .arg(&keys.events)
            .arg(ttl)
            .ignore()
            .cmd("HSET")
            .arg(&keys.config)
            .arg("work")
            .arg(work)
            .arg("seed")
            .arg(seed)
            .arg("panic_on")
            .arg(panic_on)
            .arg("lease_ms")
            .arg(lease_ms)
            .arg("workers")
            .arg(workers)
            .arg("flavor")
            .arg(flavor)
            .arg("epoch_us")
            .arg(clock::to_unix_us(crew.epoch()))
            .ignore()
            .cmd("PEXPIRE")
            .arg(&keys.config)
            .arg(ttl)
            .ignore()
            .exec(conn)
    }

    /// Waits for the workers, hands out `jobs`, relays what the workers do,
    /// and tells them to exit at the end.
    fn serve<'scope, I>(mut self, s: &'scope thread::Scope<'scope, '_>, jobs: Jobs<I>) -> Result<(), PoolError>
    where
        I: Iterator<Item = JobId> + Send + 'scope,
        'a: 'scope,
    {
        let (broker, keys) = (self.broker, self.keys);
        let permits = self.permits.clone();
        let mut jobs = Some(jobs);
        let mut producer = None;
        let mut produced = None;
        let mut phase = Phase::Joining;
        let mut cancelled = false;
        let mut skipped = false;
        let mut renewed = Instant::now();
        let mut checked = Instant::now();
        let mut none_alive: Option<Instant> = None;
        loop {
            if renewed.elapsed() >= RENEW_EVERY {
                self.renew()?;
                renewed = Instant::now();
            }
            if !cancelled && self.proxies.iter().flatten().any(Worker::stopping) {
                cancelled = true;
                if let Some(permits) = &permits {
                    permits.close();
                }
            }
            self.read_events(Some(POLL))?;
            match phase {
                Phase::Joining if cancelled => {
                    // Slots nobody joined exit having done nothing.
                    for (proxy, joined) in self.proxies.iter_mut().zip(&self.joined) {
                        if !joined {
                            if let Some(proxy) = proxy.take() {
                                proxy.exit();
                            }
                        }
                    }
                    self.stop_workers()?;
                    phase = Phase::Draining;
                }
                Phase::Joining if self.joined.iter().all(|&j| j) => {
                    let jobs = jobs.take().expect("one producer");
                    let skip = self.resume.map_or(0, |r| r.added);
                    // Every job had been added (and had ended): none to add.
                    let over = self.resume.is_some_and(|r| r.over);
                    let permits = permits.clone();
                    let run_len = self.run_len.clone();
                    let body = move || -> Result<u64, PoolError> {
                        crate::signals::quiet_signals();
                        let mut conn = broker.connect()?;
                        let mut jobs = jobs;
                        skip_added(&mut jobs, skip, permits.as_deref(), &keys.run)?;
                        if over {
                            return match jobs.claim(1) {
                                None => Ok(skip),
                                Some(_) => Err(PoolError::Substrate(format!(
                                    "run '{}' on the broker ended with {skip} jobs, fewer than this run's: resume it \
                                     with the same jobs",
                                    keys.run
                                ))),
                            };
                        }
                        let run_len = run_len.as_deref();
                        let counted = Some(keys.config.as_str());
                        let added = stream::produce(&mut conn, keys, jobs, permits.as_deref(), 0, run_len, counted)
                            .map_err(|e| broker.lost(&e))?;
                        Ok(skip + added)
                    };
                    let spawned = thread::Builder::new().name("producer".into()).spawn_scoped(s, body);
                    producer = Some(spawned.map_err(PoolError::Spawn)?);
                    phase = Phase::Running;
                }
                Phase::Joining => {}
                Phase::Running => {
                    // After a cancel the producer stops within a batch (the
                    // job stream ends, and the bound is closed).
                    if producer.as_ref().is_some_and(|p| p.is_finished() || cancelled) {
                        let p = producer.take().expect("checked");
                        let added =
                            p.join().unwrap_or_else(|_| Err(PoolError::Substrate("the producer panicked".into())));
                        produced = Some(added?);
                    }
                    if cancelled && produced.is_some() && !skipped {
                        // Jobs not yet taken are never handed out; the ones
                        // running end.
                        self.skip_waiting_jobs()?;
                        skipped = true;
                    }
                    if let Some(produced) = produced {
                        let done = if cancelled { self.pending()? == 0 } else { self.ended.len() as u64 == produced };
                        if done {
                            self.stop_workers()?;
                            phase = Phase::Draining;
                        }
                    }
                    if checked.elapsed() >= self.lease / 2 {
                        checked = Instant::now();
                        // Gone for a whole lease more, not at one look: a
                        // loaded host may run a heartbeat late.
                        if self.alive()?.into_iter().any(|a| a) {
                            none_alive = None;
                        } else if none_alive.get_or_insert(checked).elapsed() >= self.lease {
                            return Err(PoolError::Substrate(format!(
                                "every worker of run '{}' is gone (none renewed its lease of {})",
                                keys.run,
                                humantime::format_duration(self.lease)
                            )));
                        }
                    }
                }
                Phase::Draining => {
                    // A worker that left (a stop signal) drops its lease at once.
                    if checked.elapsed() >= (self.lease / 4).min(RENEW_EVERY) {
                        checked = Instant::now();
                        self.end_dead_workers()?;
                    }
                    if self.proxies.iter().all(Option::is_none) {
                        return Ok(());
                    }
                }
            }
        }
    }
}

impl Coordinator<'_> {
    fn lost(&self, e: redis::RedisError) -> PoolError {
        self.broker.lost(&e)
    }

    /// Renews the run's keys: the name's claim, which workers watch to
    /// know the coordinator lives, and the rest (see [`Keys::renew`]).
    fn renew(&mut self) -> Result<(), PoolError> {
        self.keys.renew(&mut self.conn, owner_ttl(self.lease)).map_err(|e| self.lost(e))
    }

    /// Reads what the workers published since last time (waiting up to
    /// `wait` for something, if given) and relays it; `false` if there was
    /// nothing.
    fn read_events(&mut self, wait: Option<Duration>) -> Result<bool, PoolError> {
        let mut read = redis::cmd("XREAD");
        read.arg("COUNT").arg(512);
        if let Some(wait) = wait {
            read.arg("BLOCK").arg(wait.as_millis() as u64);
        }
        let reply: Value = read
            .arg("STREAMS")
            .arg(&self.keys.events)
            .arg(&self.last_event)
            .query(&mut self.conn)
            .map_err(|e| self.lost(e))?;
        let Value::Array(streams) = reply else { return Ok(false) };
        let Some(Value::Array(stream)) = streams.into_iter().next() else { return Ok(false) };
        let Some(Value::Array(entries)) = stream.into_iter().nth(1) else { return Ok(false) };
        let read = !entries.is_empty();
        for entry in entries {
            let Value::Array(parts) = entry else { continue };
            let (Some(id), Some(Value::Array(fields))) = (parts.first().and_then(text), parts.get(1)) else { continue };
            self.last_event = id;
            let field = |name: &str| {
                fields
                    .chunks(2)
                    .find(|kv| text(&kv[0]).as_deref() == Some(name))
                    .and_then(|kv| kv.get(1))
                    .and_then(text)
            };
            let k: u32 = field("w").and_then(|w| w.parse().ok()).unwrap_or(0);
            if k == 0 || k as usize > self.proxies.len() {
                return Err(PoolError::Substrate(format!(
                    "an event from worker '{k}', not one of 1..={}",
                    self.proxies.len()
                )));
            }
            if field("hello").is_some() {
                self.joined[k as usize - 1] = true;
            } else if let Some(lines) = field("lines") {
                self.relay(k, &lines)?;
            }
        }
        for proxy in self.proxies.iter_mut().flatten() {
            proxy.idle();
        }
        Ok(read)
    }

    /// Writes remote worker `k`'s lines into the log through its proxy and
    /// hands each result to the caller.
    fn relay(&mut self, k: u32, lines: &str) -> Result<(), PoolError> {
        let records = Format::Jsonl
            .parse(lines)
            .map_err(|e| PoolError::Substrate(format!("worker {k} published a line that does not parse: {e}")))?;
        let slot = k as usize - 1;
        if self.gone[slot] {
            // Stalled past its lease and ended for good, it came back: what
            // it says now (its `exiting`; a result it may not publish) has
            // no place in the log.
            return Ok(());
        }
        for record in records {
            let Some(proxy) = self.proxies[slot].as_mut() else {
                return Err(PoolError::Substrate(format!("worker {k} published events after it exited")));
            };
            let result = match &record.event {
                Event::Exiting => {
                    self.proxies[slot].take().expect("checked").relay_exit(record.t_us);
                    continue;
                }
                Event::Started { .. } => None,
                Event::Reclaimed { from, .. } => {
                    if let Some(seen) = self.reclaimed_from.get_mut((from.0 as usize).wrapping_sub(1)) {
                        *seen = true;
                    }
                    None
                }
                Event::Finished { job, result } => Some((*job, result.ok_or_else(|| "no result".to_owned()))),
                Event::Failed { job, error } => Some((*job, Err(error.clone()))),
            };
            // The worker's own stamp, on the run's clock (see `clock`).
            proxy.relay(&record.event, record.t_us);
            if record.t_us.is_some() {
                self.last_t[slot] = record.t_us;
            }
            if let Some((job, result)) = result {
                if !self.ended.insert(job.0) {
                    return Err(PoolError::Substrate(format!("job {job} was reported ended twice")));
                }
                if let Some(permits) = &self.permits {
                    permits.release();
                }
                // A caller that stopped listening has stopped the run.
                let _ = self.results.send(JobOutcome { worker: WorkerId(k), job, result });
            }
        }
        Ok(())
    }

    /// How many jobs workers hold (taken and not yet acknowledged).
    fn pending(&mut self) -> Result<u64, PoolError> {
        let reply: Value =
            redis::cmd("XPENDING").arg(&self.keys.jobs).arg(GROUP).query(&mut self.conn).map_err(|e| self.lost(e))?;
        match reply {
            Value::Array(parts) => Ok(parts.first().and_then(text).and_then(|n| n.parse().ok()).unwrap_or(0)),
            _ => Ok(0),
        }
    }

    /// After a cancel: jobs not yet taken are never handed out (the group
    /// moves past them); the ones running end. The run is marked cancelled
    /// (such a run is not resumed).
    fn skip_waiting_jobs(&mut self) -> Result<(), PoolError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.cmd("XGROUP").arg("SETID").arg(&self.keys.jobs).arg(GROUP).arg("$").ignore();
        pipe.cmd("HSET").arg(&self.keys.config).arg("cancelled").arg(1).ignore();
        pipe.exec(&mut self.conn).map_err(|e| self.lost(e))
    }

    /// One stop entry per worker, and the run marked over, at once: a
    /// coordinator resuming the run finds all of them or none.
    fn stop_workers(&mut self) -> Result<(), PoolError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for _ in 0..self.proxies.len() {
            pipe.cmd("XADD").arg(&self.keys.jobs).arg("*").arg("stop").arg(1).ignore();
        }
        pipe.cmd("SET").arg(&self.keys.state).arg("over").arg("PX").arg(KEY_TTL.as_millis() as u64).ignore();
        pipe.exec(&mut self.conn).map_err(|e| self.lost(e))
    }

    /// Which remote workers still renew their lease.
    fn alive(&mut self) -> Result<Vec<bool>, PoolError> {
        let mut pipe = redis::pipe();
        for k in 1..=self.proxies.len() as u32 {
            pipe.cmd("EXISTS").arg(self.keys.alive(k));
        }
        pipe.query(&mut self.conn).map_err(|e| self.lost(e))
    }

    /// Ends the proxies of workers whose lease ran out without an `exiting`
    /// (called once every job has ended): [`Worker::gone`] if a job was
    /// reclaimed from them (the checker accepts that); otherwise they held
    /// no job when they died, and their `exiting` is logged for them at the
    /// time of their last event.
    fn end_dead_workers(&mut self) -> Result<(), PoolError> {
        let alive = self.alive()?;
        // A worker publishes its `exiting` before it drops its lease: what
        // it published by now is read before it counts as dead.
        if alive.iter().any(|a| !a) {
            while self.read_events(None)? {}
        }
        for (i, alive) in alive.into_iter().enumerate() {
            if alive {
                continue;
            }
            if let Some(proxy) = self.proxies[i].take() {
                self.gone[i] = true;
                if self.reclaimed_from[i] {
                    proxy.gone();
                } else {
                    // Every job has ended, so it held none: it left the
                    // pool, as of the last it was heard from.
                    say(&format!(
                        "pool-redis: worker {} of run '{}' died holding no job: logged as exiting",
                        i + 1,
                        self.keys.run
                    ));
                    proxy.relay_exit(self.last_t[i]);
                }
            }
        }
        Ok(())
    }
}
