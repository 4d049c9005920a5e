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

mod arrival;
mod check;
pub mod cli;
mod crew;
mod describe;
mod event;
mod flavor;
mod ids;
mod jobs;
mod latency;
mod ledger;
pub mod limits;
mod log;
mod outcome;
mod panics;
mod pool;
mod run_spec;
mod say;
mod sequential;
#[cfg(unix)]
pub mod signals;
/// Windows' counterpart of the stop signals: console control events.
#[cfg(windows)]
#[path = "signals_windows.rs"]
pub mod signals;
mod summary;
pub mod threads;
pub mod tuned;
mod work;
mod worker;

#[cfg(feature = "testing")]
pub mod testing;

pub use arrival::{Arrival, MAX_ARRIVING_JOBS, Schedule};
pub use check::{
    Completeness, HOLD, LoggedOutcome, SLEEP_SLACK, SPIN_DIVISOR, Summary, Violation, check, max_in_flight,
};
pub use crew::Crew;
pub use describe::{Description, HandOff, Need};
pub use event::{Event, Format, ParseError, Record};
pub use flavor::Flavor;
pub use ids::{JobId, WorkerId};
pub use jobs::{Jobs, Run};
pub use latency::Latency;
pub use ledger::{BadOutcome, Ledger, Tally};
pub use log::{FLUSH_AT, Log, MemorySink, Sink, StdoutSink};
pub use outcome::{JobOutcome, OutcomeSink};
pub use panics::{report_panic, silence_job_panics};
pub use pool::{Backend, Pool, PoolConfig, PoolError, RunReport};
pub use run_spec::{RunFlags, RunSpec};
pub use sequential::{Sequential, SequentialOptions};
pub use summary::{RunSummary, SummaryError};
pub use work::{DEFAULT_SEED, Kind, MAX_DURATION, Span, SpecError, Work, WorkSpec};
pub use worker::{QUICK_NS, Quick, QuickEnd, TryNext, Worker};
