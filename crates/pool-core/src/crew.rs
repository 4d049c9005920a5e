//! The crew of one run: the state its workers share ([`Shared`]: the work,
//! the log, the cancel flag) and the [`Crew`] a backend is handed, which
//! makes its [`Worker`](crate::Worker)s (in `worker.rs`, so the crew knows
//! nothing of a worker).

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::{Flavor, Log, Schedule, Work};

/// State shared by all workers of one run.
pub(crate) struct Shared {
    pub(crate) work: Work,
    pub(crate) log: Option<Log>,
    pub(crate) epoch: Instant,
    pub(crate) cancel: Arc<AtomicBool>,
    /// Set by the pool itself when the caller's result callback panicked.
    pub(crate) stop: AtomicBool,
    pub(crate) exited: AtomicU32,
    pub(crate) skipped: AtomicU64,
    /// What the run's job stream told when the backend dropped it: how many
    /// ids it handed out, and whether it was drained (see [`Jobs`](crate::Jobs)).
    pub(crate) stream: Mutex<Option<(u64, bool)>>,
    pub(crate) log_error: Mutex<Option<std::io::Error>>,
    pub(crate) log_failed: AtomicBool,
    /// When each job arrives, if they arrive over time (`--arrival`).
    pub(crate) arrivals: Option<Arc<Schedule>>,
}

impl Shared {
    /// Whether no further job may start.
    #[inline]
    pub(crate) fn stopping(&self) -> bool {
        self.cancel.load(Relaxed) || self.stop.load(Relaxed)
    }

    pub(crate) fn new(work: Work, log: Option<Log>, cancel: Arc<AtomicBool>) -> Self {
        Shared {
            work,
            log,
            epoch: Instant::now(),
            cancel,
            stop: AtomicBool::new(false),
            exited: AtomicU32::new(0),
            skipped: AtomicU64::new(0),
            stream: Mutex::new(None),
            log_error: Mutex::new(None),
            log_failed: AtomicBool::new(false),
            arrivals: None,
        }
    }

    /// The same, with JSON timestamps counted from `epoch` if given (see
    /// [`PoolConfig::epoch`](crate::PoolConfig::epoch)).
    pub(crate) fn counting_from(mut self, epoch: Option<Instant>) -> Self {
        self.epoch = epoch.unwrap_or(self.epoch);
        self
    }

    /// The same, with jobs released on `arrivals` (counted from the epoch).
    pub(crate) fn arriving(mut self, arrivals: Option<Arc<Schedule>>) -> Self {
        self.arrivals = arrivals;
        self
    }
}

/// The workers of one run, before they are handed to threads or tasks.
pub struct Crew {
    pub(crate) shared: Arc<Shared>,
    pub(crate) workers: u32,
    queue: Option<NonZeroUsize>,
    pub(crate) flavor: Flavor,
}

impl Crew {
    pub(crate) fn new(shared: Arc<Shared>, workers: u32, queue: Option<NonZeroUsize>) -> Self {
        Crew { shared, workers, queue, flavor: Flavor::Textbook }
    }

    /// The same crew, run in `flavor`.
    pub(crate) fn with_flavor(mut self, flavor: Flavor) -> Self {
        self.flavor = flavor;
        self
    }

    /// Which form of the backend this run asks for.
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// How many workers the run has (at least 1).
    pub fn size(&self) -> u32 {
        self.workers
    }

    /// What each job of the run does. A backend whose workers run in other
    /// processes sends it to them.
    pub fn work(&self) -> &Work {
        &self.shared.work
    }

    /// The instant the run's JSON timestamps (`t_us`) count from. A backend
    /// whose workers run in other processes sends it to them (as a wall-clock
    /// time), so they stamp their lines on the run's clock.
    pub fn epoch(&self) -> Instant {
        self.shared.epoch
    }

    /// The capacity of the job queue: `None` for unbounded. A backend with a
    /// bounded queue makes the producer wait while it is full.
    pub fn queue(&self) -> Option<NonZeroUsize> {
        self.queue
    }
}
