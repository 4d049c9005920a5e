//! A run's latency when jobs arrive over time, as its summary states it:
//! percentiles of each job's time from its scheduled arrival to its outcome
//! reaching the caller (recorded by pool-core's driver).

use std::time::Duration;

/// A run's latency percentiles, from each job's arrival to its outcome
/// reaching the caller.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Latency {
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// 99.9th percentile.
    pub p999: Duration,
    /// The slowest.
    pub max: Duration,
}
