//! Latency when jobs arrive over time: each job's, from its scheduled
//! arrival to its outcome reaching the caller, in an HdrHistogram (three
//! significant figures), summed up as [`Latency`](crate::Latency).

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::{JobId, Latency, Schedule};

/// The slowest latency recorded exactly: an hour, in nanoseconds. Slower is
/// counted as this.
const MOST_NS: u64 = 3_600_000_000_000;

/// The latencies of one run, as outcomes reach the caller.
pub(crate) struct Latencies<'a> {
    schedule: &'a Schedule,
    epoch: Instant,
    histogram: Histogram<u64>,
}

impl<'a> Latencies<'a> {
    /// For jobs arriving on `schedule`, counted from `epoch`.
    pub(crate) fn new(schedule: &'a Schedule, epoch: Instant) -> Self {
        let histogram = Histogram::new_with_bounds(1, MOST_NS, 3).expect("valid histogram bounds");
        Latencies { schedule, epoch, histogram }
    }

    /// The outcomes of jobs `first, first + 1, …` (`n` of them) reached the
    /// caller now.
    #[inline]
    pub(crate) fn arrived(&mut self, first: JobId, n: u64) {
        self.arrived_by(first, n, self.epoch.elapsed());
    }

    /// As [`arrived`](Self::arrived), at `now` on the run's clock.
    fn arrived_by(&mut self, first: JobId, n: u64, now: Duration) {
        for job in (first.0..first.0.saturating_add(n)).map(JobId) {
            if let Some(at) = self.schedule.at(job) {
                let ns = u64::try_from(now.saturating_sub(at).as_nanos()).unwrap_or(MOST_NS).max(1);
                self.histogram.saturating_record(ns);
            }
        }
    }

    /// The percentiles (all zero if no outcome came back).
    pub(crate) fn latency(&self) -> Latency {
        let h = &self.histogram;
        let at = |q: f64| Duration::from_nanos(if h.is_empty() { 0 } else { h.value_at_quantile(q) });
        Latency { p50: at(0.5), p99: at(0.99), p999: at(0.999), max: Duration::from_nanos(h.max()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Arrival;

    /// Jobs arriving 1 ms apart (at 0, 1, …, 9 ms) whose outcomes all come
    /// back at 10 ms: latencies 10, 9, …, 1 ms, to the histogram's three
    /// significant figures (and one job not scheduled, not counted).
    #[test]
    fn latency_counts_from_each_jobs_arrival() {
        let schedule = Arrival::Uniform { rate: 1000.0 }.schedule(10, 0);
        let mut l = Latencies::new(&schedule, Instant::now());
        l.arrived_by(JobId(1), 10, Duration::from_millis(10));
        l.arrived_by(JobId(11), 1, Duration::from_millis(10));
        let got = l.latency();
        let near = |d: Duration, ms: f64| (d.as_secs_f64() * 1e3 / ms - 1.0).abs() < 0.002;
        assert!(near(got.p50, 5.0) && near(got.p99, 10.0) && near(got.max, 10.0), "{got:?}");
        assert_eq!(l.histogram.len(), 10);
        assert_eq!(Latencies::new(&schedule, Instant::now()).latency(), Latency::default());
    }
}
