//! The shared core of `workerpools`: the one [`Backend`] trait every worker
//! pool implements, the workload model ([`Work`]), the event log in the
//! seed's text lines and in JSON lines ([`Format`]), the trace checker
//! ([`check`]) that judges any log, and the command-line driver ([`cli`])
//! each backend's binary is one call into.
//!
//! What a worker does with a job — log it, wait or compute, catch a panic,
//! hand back the outcome — lives here once, in [`Worker`]; a backend crate
//! holds only how jobs reach workers and outcomes reach the caller. This
//! crate depends on no async runtime and no thread-pool crate.

pub mod cli;
mod crew;
mod description;
mod jobs;
mod latency;
mod ledger;
pub mod limits;
mod log;
mod outcome;
mod panics;
mod pool;
mod say;
mod sequential;
#[cfg(unix)]
pub mod signals;
/// Windows' counterpart of the stop signals: console control events.
#[cfg(windows)]
#[path = "signals_windows.rs"]
pub mod signals;
pub mod threads;
pub mod tuned;
mod worker;

// What a run is, its log formats and the checker: pool-spec's, re-exported
// so that a backend names only pool_core.
pub use pool_spec::{
    Arrival, Completeness, DEFAULT_SEED, Description, Event, Flavor, Format, HOLD, HandOff, JobId, Kind, Latency,
    LoggedOutcome, MAX_ARRIVING_JOBS, MAX_DURATION, Need, ParseError, Record, RunFlags, RunSpec, RunSummary,
    SLEEP_SLACK, SPIN_DIVISOR, Schedule, Span, SpecError, Summary, SummaryError, Violation, Work, WorkSpec, WorkerId,
    check, exit, max_in_flight, work,
};

pub use crew::Crew;
pub use description::describe;
pub use jobs::{Jobs, Run};
pub use ledger::{BadOutcome, Ledger, Tally};
pub use log::{FLUSH_AT, Log, MemorySink, Sink, StdoutSink};
pub use outcome::{JobOutcome, OutcomeSink};
pub use panics::{report_panic, silence_job_panics};
pub use pool::{Backend, Pool, PoolConfig, PoolError, RunReport};
pub use sequential::{Sequential, SequentialOptions};
pub use worker::{QUICK_NS, Quick, QuickEnd, TryNext, Worker};
