//! What every backend's worker does with a job, written once: log the start,
//! wait or compute, catch a panic at the job boundary, log the end, hand back
//! the outcome. A backend only decides how jobs reach a [`Worker`] and how
//! outcomes get back to the caller.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use crate::crew::{Crew, Shared};
use crate::log::FLUSH_AT;
use crate::panics::catch_job;
use crate::work::{LIVE_NS, Plan};
use crate::{Event, Flavor, JobId, JobOutcome, WorkerId};

/// The most work, in nanoseconds, one block of the quick path holds
/// ([`Worker::run_quick`]): it checks for a cancel once per block, so a
/// cancel is seen within this much work, as a check per job sees it within
/// one job.
pub const QUICK_NS: u64 = 20_000;

/// Leave to run jobs in blocks ([`Worker::run_quick`]), given by
/// [`Worker::quick`] when the run allows it: nothing is logged, and every
/// job has the same plan, with no wait and at most [`QUICK_NS`] of work.
#[derive(Clone, Copy, Debug)]
pub struct Quick {
    plan: Plan,
}

impl Quick {
    /// How many jobs one block may hold: `max`, cut so the block's work
    /// stays within [`QUICK_NS`] (at least one job).
    #[inline]
    pub fn block(self, max: u64) -> u64 {
        match QUICK_NS.checked_div(self.plan.nominal_ns) {
            Some(most) => max.min(most).max(1),
            None => max.max(1),
        }
    }

    /// The work each job does, in nanoseconds (zero for `noop`).
    #[inline]
    pub fn work_ns(self) -> u64 {
        self.plan.nominal_ns
    }
}

/// How a block of [`Worker::run_quick`] ended.
#[derive(Debug)]
pub enum QuickEnd {
    /// Every job of the block finished.
    Done,
    /// The jobs before this one finished, this one failed (panicked), and
    /// the rest of the block was not started.
    Failed(JobOutcome),
    /// The run was cancelled: no job of the block was started (counted as
    /// one skipped job, as a worker that took a job and saw the cancel).
    Skipped,
}

/// What a worker found when it looked for a job without waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryNext {
    /// A job to run.
    Job(JobId),
    /// None right now; more may come.
    Empty,
    /// None, and none will come.
    Closed,
}

/// One worker's context: its number and its log buffer (see [`crate::Log`]
/// for when the buffer is written out). It is `Send`, so a
/// backend moves it into the thread or task that runs the worker's jobs.
pub struct Worker {
    id: WorkerId,
    shared: Arc<Shared>,
    buf: Vec<u8>,
    current: Option<(JobId, Plan)>,
    /// Whether the run logs: read on every job, so kept here rather than
    /// behind the shared pointer.
    logs: bool,
    /// Whether the run may use the quick path (not in the ablation's
    /// job-by-job flavor).
    quick: bool,
    /// Work done by the jobs whose lines sit in `buf`, in nanoseconds.
    unflushed_ns: u64,
    exited: bool,
}

impl Crew {
    /// One [`Worker`] for each id `1..=size`. Each must end with
    /// [`Worker::exit`].
    pub fn into_workers(self) -> impl ExactSizeIterator<Item = Worker> {
        let shared = self.shared;
        let quick = self.flavor != Flavor::TunedJobByJob;
        (0..self.workers).map(move |i| Worker::new(WorkerId(i + 1), Arc::clone(&shared), quick))
    }
}

impl Worker {
    /// Worker `id` of the run `shared` is the state of; `quick`: whether it
    /// may take the quick path (not in the job-by-job diagnostic flavor).
    pub(crate) fn new(id: WorkerId, shared: Arc<Shared>, quick: bool) -> Worker {
        let logs = shared.log.is_some();
        Worker { id, shared, buf: Vec::new(), current: None, logs, quick, unflushed_ns: 0, exited: false }
    }
    /// This worker's number.
    pub fn id(&self) -> WorkerId {
        self.id
    }

    /// Runs `job` to completion on this thread: [`start`](Self::start), a
    /// blocking sleep if the job waits, then [`finish`](Self::finish).
    /// `None` if the run was cancelled and the job was not started.
    #[inline]
    pub fn run(&mut self, job: JobId) -> Option<JobOutcome> {
        let plan = self.begin(job)?;
        if plan.sleep_ns != 0 {
            std::thread::sleep(plan.sleep());
        }
        Some(self.end(job, plan))
    }

    /// Leave to run jobs in blocks, if this run allows it (see [`Quick`]).
    #[inline]
    pub fn quick(&self) -> Option<Quick> {
        if self.logs || !self.quick {
            return None;
        }
        let plan = self.shared.work.uniform_plan()?;
        (plan.sleep_ns == 0 && plan.nominal_ns <= QUICK_NS).then_some(Quick { plan })
    }

    /// Runs the jobs of `run` in order, as a block: one cancel check and one
    /// panic boundary for the block, each finished job's result appended to
    /// `results` (so `results[k]` is job `run.first + k`'s, counted from the
    /// length `results` had). The quick path of [`run`](Self::run), for runs
    /// [`quick`](Self::quick) allows: nothing is logged, and a block's work
    /// is kept within [`QUICK_NS`] by whoever sizes it ([`Quick::block`]).
    #[inline]
    pub fn run_quick(&mut self, quick: Quick, run: crate::Run, results: &mut Vec<u64>) -> QuickEnd {
        debug_assert!(!self.logs, "the quick path logs nothing");
        if self.shared.stopping() {
            self.skip();
            return QuickEnd::Skipped;
        }
        let start = results.len();
        let work = &self.shared.work;
        let plan = quick.plan;
        match catch_job(|| work.compute_run(run.first, run.first + run.len, &plan, results)) {
            Ok(()) => QuickEnd::Done,
            Err(message) => {
                let job = JobId(run.first + (results.len() - start) as u64);
                QuickEnd::Failed(JobOutcome { worker: self.id, job, result: Err(message) })
            }
        }
    }

    /// Begins `job`: logs `started` and returns how long the job waits before
    /// its CPU part (zero for none). An async backend awaits that wait its own
    /// way, then calls [`finish`](Self::finish). Returns `None`, logging
    /// nothing, if the run was cancelled: the job is skipped, not started.
    #[inline]
    pub fn start(&mut self, job: JobId) -> Option<Duration> {
        debug_assert!(self.current.is_none(), "worker {} started job {job} while running another", self.id);
        let plan = self.begin(job)?;
        self.current = Some((job, plan));
        Some(plan.sleep())
    }

    /// Runs `job` as [`run`](Self::run) does, first telling `before` how
    /// much work (nanoseconds, waiting or computing) it is about to do — the
    /// tuned flavors hand back waiting results before a long job, by the
    /// log's rule. Gives the outcome and that work; `None` if skipped.
    #[inline]
    pub(crate) fn run_announced(&mut self, job: JobId, before: impl FnOnce(u64)) -> Option<(JobOutcome, u64)> {
        let plan = self.begin(job)?;
        let work = plan.nominal_ns;
        before(work);
        if plan.sleep_ns != 0 {
            std::thread::sleep(plan.sleep());
        }
        Some((self.end(job, plan), work))
    }

    /// How much CPU work the job begun by [`start`](Self::start) will do in
    /// [`finish`](Self::finish): zero for `noop` and `sleep` jobs. An async
    /// backend uses it to keep long CPU work off its scheduler threads.
    pub fn pending_cpu(&self) -> Duration {
        match &self.current {
            Some((_, plan)) if plan.spin > 0 => plan.nominal(),
            _ => Duration::ZERO,
        }
    }

    /// Completes the job begun by [`start`](Self::start): does its CPU work,
    /// catches a panic at the job boundary, logs `finished` or `failed`.
    #[inline]
    pub fn finish(&mut self, job: JobId) -> JobOutcome {
        let plan = match self.current.take() {
            Some((current, plan)) if current == job => plan,
            other => self.mismatched(job, other),
        };
        self.end(job, plan)
    }

    #[cold]
    #[inline(never)]
    fn mismatched(&self, job: JobId, running: Option<(JobId, Plan)>) -> ! {
        panic!("worker {} finished job {job} but was running {running:?}", self.id)
    }

    /// The shared first half of a job: the cancel check, the plan, the
    /// `started` line. Everything a quiet run does not need is out of line,
    /// so the quiet path is a few instructions.
    #[inline]
    fn begin(&mut self, job: JobId) -> Option<Plan> {
        if self.shared.stopping() {
            self.skip();
            return None;
        }
        let plan = self.shared.work.plan(job);
        if self.logs {
            self.log_started(job, &plan);
        }
        Some(plan)
    }

    /// The shared second half: the CPU work inside the panic boundary, the
    /// end line, the outcome.
    #[inline]
    fn end(&mut self, job: JobId, plan: Plan) -> JobOutcome {
        let work = &self.shared.work;
        let result = catch_job(|| work.compute(job, &plan));
        if self.logs {
            self.log_ended(job, &result, plan.nominal_ns);
        }
        JobOutcome { worker: self.id, job, result }
    }

    #[cold]
    #[inline(never)]
    fn skip(&self) {
        self.shared.skipped.fetch_add(1, Relaxed);
    }

    #[inline(never)]
    fn log_started(&mut self, job: JobId, plan: &Plan) {
        self.emit(Event::Started { job });
        if plan.nominal_ns >= LIVE_NS {
            self.flush();
        }
    }

    #[inline(never)]
    fn log_ended(&mut self, job: JobId, result: &Result<u64, String>, nominal_ns: u64) {
        match result {
            Ok(r) => self.emit(Event::Finished { job, result: Some(*r) }),
            Err(error) => self.emit(Event::Failed { job, error: error.clone() }),
        }
        // Lines are held back at most about LIVE of work, even on a backend
        // that cannot tell the worker it is about to wait (rayon).
        self.unflushed_ns = self.unflushed_ns.saturating_add(nominal_ns);
        if self.unflushed_ns >= LIVE_NS {
            self.flush();
        }
    }

    /// Call before waiting for the next job: writes out buffered lines so
    /// none is held back while the worker blocks.
    pub fn idle(&mut self) {
        self.flush();
    }

    /// The loop of a worker fed by a channel: take a job without waiting if
    /// one is there, otherwise flush the log and wait for one; run it; hand
    /// the outcome to `deliver`. Ends, with [`exit`](Self::exit), when the
    /// queue is closed and empty, when `deliver` reports that nobody
    /// listens, or at the first job taken after a cancel.
    pub fn serve(
        mut self,
        mut try_next: impl FnMut() -> TryNext,
        mut next: impl FnMut() -> Option<JobId>,
        mut deliver: impl FnMut(JobOutcome) -> bool,
    ) {
        loop {
            let job = match try_next() {
                TryNext::Job(job) => job,
                TryNext::Closed => break,
                TryNext::Empty => {
                    self.idle();
                    match next() {
                        Some(job) => job,
                        None => break,
                    }
                }
            };
            // `None`: the run was cancelled. Leave whatever is still queued
            // there (the caller counts it as never started): taking it job by
            // job would cost time in proportion to the backlog.
            let Some(outcome) = self.run(job) else { break };
            if !deliver(outcome) {
                break;
            }
        }
        self.exit();
    }

    /// Whether the run is being cancelled (Ctrl-C, or a caller that gave
    /// up): no job may start. A backend whose workers run elsewhere (in other
    /// processes) polls it to tell them.
    pub fn stopping(&self) -> bool {
        self.shared.stopping()
    }

    /// Logs that this worker took over `job` from worker `from`, whose lease
    /// on it ran out (a worker process killed or stalled mid-job); the job
    /// is then run here with [`start`](Self::start) and
    /// [`finish`](Self::finish).
    pub fn reclaimed(&mut self, job: JobId, from: WorkerId) {
        self.emit(Event::Reclaimed { job, from });
    }

    /// Logs `event`, done by this worker's counterpart in another process:
    /// a backend whose workers run elsewhere keeps one `Worker` per remote
    /// worker and relays each event it hears of through it, so the run still
    /// has one log, in its format, written here. `t_us` is when it happened
    /// on the run's clock (the remote worker's own stamp, counted from the
    /// run's [`Crew::epoch`]), so the log times the work, not the relay;
    /// `None` stamps it now. An `exiting` event is relayed by
    /// [`relay_exit`](Self::relay_exit), not here.
    pub fn relay(&mut self, event: &Event, t_us: Option<u64>) {
        debug_assert!(*event != Event::Exiting, "relay an exit with Worker::relay_exit");
        self.emit_at(event.clone(), t_us);
    }

    /// [`exit`](Self::exit) for a remote worker that logged `exiting` at
    /// `t_us` (see [`relay`](Self::relay)).
    pub fn relay_exit(self, t_us: Option<u64>) {
        self.exit_at(t_us);
    }

    /// Ends a remote worker that cannot exit: its process died, and every job
    /// it held was reclaimed by another worker (see [`Event::Reclaimed`]).
    /// Logs nothing (no `exiting` line: the checker accepts a worker without
    /// one only if a job was reclaimed from it), writes out the buffer and
    /// counts the worker as ended, so the run does not report it lost.
    pub fn gone(mut self) {
        self.flush();
        self.exited = true;
        self.shared.exited.fetch_add(1, Relaxed);
    }

    /// Logs `exiting`, writes out the buffer and counts the worker as done.
    pub fn exit(self) {
        self.exit_at(None);
    }

    fn exit_at(mut self, t_us: Option<u64>) {
        self.emit_at(Event::Exiting, t_us);
        self.flush();
        self.exited = true;
        self.shared.exited.fetch_add(1, Relaxed);
    }

    #[inline]
    fn emit(&mut self, event: Event) {
        self.emit_at(event, None);
    }

    /// Logs `event`, stamped `t_us` or (`None`) now.
    #[inline]
    fn emit_at(&mut self, event: Event, t_us: Option<u64>) {
        let Some(log) = &self.shared.log else { return };
        let t_us = match log.format {
            crate::Format::Jsonl => t_us.unwrap_or_else(|| self.shared.epoch.elapsed().as_micros() as u64),
            crate::Format::Text => 0,
        };
        log.format.write(&mut self.buf, t_us, self.id, &event);
        if self.buf.len() >= FLUSH_AT {
            self.flush();
        }
    }

    fn flush(&mut self) {
        self.unflushed_ns = 0;
        if self.buf.is_empty() {
            return;
        }
        if let Some(log) = &self.shared.log {
            if !self.shared.log_failed.load(Relaxed) {
                if let Err(e) = log.sink.write_lines(&self.buf) {
                    // Nobody can see the rest of this run: start no more
                    // jobs, as after a cancel, and report the error.
                    self.shared.log_failed.store(true, Relaxed);
                    self.shared.stop.store(true, Relaxed);
                    self.shared.log_error.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(e);
                }
            }
        }
        self.buf.clear();
    }
}

impl Drop for Worker {
    /// A worker dropped without [`exit`](Self::exit) (its thread died, say)
    /// still writes out what it logged, so nothing it did is lost; the run
    /// then reports the worker as lost.
    fn drop(&mut self) {
        if !self.exited {
            self.flush();
        }
    }
}
