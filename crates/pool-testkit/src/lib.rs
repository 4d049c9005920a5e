//! The test kit every backend's tests use, a dev-dependency, split by
//! concern: the in-process conformance suite (`suite`), written once and run
//! by every backend (`pool_testkit::conformance_tests!(MyBackend);`, in the
//! manner of ripgrep's `rgtest!`) and the async tuned tasks' own checks
//! (`tasks`); process tests of a backend binary (`binary`, `signals`,
//! `limits`, through `pool_testkit::binary_tests!`), and how a child process
//! is run and bounded (`process`); the macros (`macros`); and `mutant`, a
//! backend with planted defects, with its binary `pool-mutant`. Every run is
//! judged by the trace checker, its canonical summary compared with the one
//! a correct pool must give, and under a watchdog or a bound, so a hang fails
//! the test instead of stalling CI. Process tests that need Unix (signals,
//! `sh`, `/proc`, `/dev/full`) are `cfg(unix)`. Everything is reachable as
//! `pool_testkit::NAME`.

use std::num::NonZeroUsize;
use std::panic::{self, AssertUnwindSafe};
use std::process::{Command, Output};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use pool_core::{
    Backend, Completeness, Flavor, Format, JobId, JobOutcome, Log, LoggedOutcome, Pool, PoolConfig, PoolError,
    RunReport, RunSpec, Summary, Work, check, max_in_flight,
};

pub mod mutant;

mod arrivals;
mod binary;
#[cfg(unix)]
mod limits;
mod macros;
mod process;
#[cfg(unix)]
mod signals;
mod suite;
mod tasks;

pub use arrivals::*;
pub use binary::*;
#[cfg(unix)]
pub use limits::*;
pub use process::*;
#[cfg(unix)]
pub use signals::*;
pub use suite::*;
pub use tasks::*;
