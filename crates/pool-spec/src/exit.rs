//! The exit statuses a pool binary ends with, and the largest run it takes:
//! part of what a run is (a [`RunSpec`](crate::RunSpec) states the status a
//! correct run of it ends with), so they live beside it.

/// The most jobs a run accepts: results (`j * 2`) and their sum must fit.
pub const MAX_JOBS: u64 = 1 << 40;

/// Exit status when a job failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit status for bad usage.
pub const EXIT_USAGE: u8 = 2;
/// Exit status when the pool broke its own contract.
pub const EXIT_POOL: u8 = 3;
/// Exit status after Ctrl-C (128 + SIGINT).
pub const EXIT_INTERRUPTED: u8 = 130;
/// Exit status after SIGTERM (128 + 15).
pub const EXIT_TERMINATED: u8 = 143;
/// Exit status after SIGHUP (128 + 1).
pub const EXIT_HANGUP: u8 = 129;
