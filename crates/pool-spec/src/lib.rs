//! What a worker-pool run of `workerpools` is, and whether its log is right:
//! the run description ([`RunSpec`], the flags that say it, [`RunFlags`]),
//! the workload model ([`Work`]), jobs arriving over time ([`Arrival`]),
//! the two log formats written and parsed in one place ([`Format`]), the
//! one-line run summary ([`RunSummary`]), a binary's `--describe` line
//! ([`Description`]), the exit statuses ([`exit`]), and the trace checker
//! ([`check`]) that reduces any correct log to one canonical [`Summary`].
//!
//! It holds no pool: the xtask drives binaries and judges what they print
//! with this crate alone; `pool-core` builds the runtime on it and
//! re-exports all of it, so a backend names only `pool_core`.

mod arrival;
mod check;
pub mod describe;
mod event;
pub mod exit;
mod flavor;
mod ids;
mod latency;
mod run_spec;
mod summary;
pub mod work;

pub use arrival::{Arrival, MAX_ARRIVING_JOBS, Schedule};
pub use check::{
    Completeness, HOLD, LoggedOutcome, SLEEP_SLACK, SPIN_DIVISOR, Summary, Violation, check, max_in_flight,
};
pub use describe::{Description, HandOff, Need};
pub use event::{Event, Format, ParseError, Record};
pub use flavor::Flavor;
pub use ids::{JobId, WorkerId};
pub use latency::Latency;
pub use run_spec::{RunFlags, RunSpec};
pub use summary::{RunSummary, SummaryError};
pub use work::{DEFAULT_SEED, Kind, MAX_DURATION, Plan, Span, SpecError, Work, WorkSpec};
