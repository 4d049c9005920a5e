//! Latency from a traced run's JSON lines (microsecond timestamps since the
//! pool started), as hdrhistogram percentiles.
//!
//! What the log can tell, and so what is measured:
//!
//! - queue wait: a job's `started` time. The whole batch is submitted when
//!   the pool starts (the producer streams every id into the queue at once;
//!   its own enqueue instant is not logged), so this is the wait of a job in
//!   a batch, from submission to start;
//! - end-to-end: a job's `finished` time, from submission to its result;
//! - pickup: from the worker's previous event (its last job's end, or pool
//!   start) to this job's start — what a free worker spends getting the next
//!   job: the handoff, plus logging;
//! - service: `started` to `finished`, the job itself;
//! - over plan: service less the job's planned duration (its `sleep:` or
//!   `spin:` from the seed), for jobs that finished: how late a sleep ends
//!   (the timer's precision and the wake-up), or how far a spin overran.

use hdrhistogram::Histogram;
use pool_spec::{Event, Record, Work};
use serde::Serialize;

/// Percentiles of one latency, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Largest.
    pub max_us: u64,
}

/// The four latencies of every job of one or more traced runs.
#[derive(Clone, Debug)]
pub struct Latencies {
    /// Start time since pool start.
    pub queue_wait: Histogram<u64>,
    /// Finish time since pool start.
    pub end_to_end: Histogram<u64>,
    /// Gap between a worker's previous event and its next start.
    pub pickup: Histogram<u64>,
    /// Start to finish.
    pub service: Histogram<u64>,
    /// Start to finish less the planned duration, for finished jobs with
    /// one (none for `noop`).
    pub over_plan: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        // 1 µs to an hour, 3 significant digits; longer values saturate.
        let h = || Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds");
        Latencies { queue_wait: h(), end_to_end: h(), pickup: h(), service: h(), over_plan: h() }
    }
}

fn percentiles(h: &Histogram<u64>) -> Percentiles {
    Percentiles { p50_us: h.value_at_quantile(0.5), p99_us: h.value_at_quantile(0.99), max_us: h.max() }
}

impl Latencies {
    /// Adds every job of one checked log (records in line order) of a run
    /// doing `work`.
    pub fn add_log(&mut self, records: &[Record], work: &Work) {
        let mut last_event: Vec<u64> = Vec::new();
        let mut started: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
        for r in records {
            let (Some(t), w) = (r.t_us, r.worker.0 as usize) else { continue };
            if last_event.len() < w {
                last_event.resize(w, 0);
            }
            match &r.event {
                Event::Started { job } => {
                    self.queue_wait.saturating_record(t);
                    self.pickup.saturating_record(t.saturating_sub(last_event[w - 1]));
                    started.insert(job.0, t);
                }
                Event::Finished { job, .. } | Event::Failed { job, .. } => {
                    self.end_to_end.saturating_record(t);
                    if let Some(s) = started.remove(&job.0) {
                        let service = t.saturating_sub(s);
                        self.service.saturating_record(service);
                        let planned = u64::try_from(work.duration(*job).as_micros()).unwrap_or(u64::MAX);
                        if matches!(r.event, Event::Finished { .. }) && planned > 0 {
                            self.over_plan.saturating_record(service.saturating_sub(planned));
                        }
                    }
                }
                Event::Exiting => {}
                // The job runs again: its service time is the later run's.
                Event::Reclaimed { job, .. } => {
                    started.remove(&job.0);
                }
            }
            last_event[w - 1] = t;
        }
    }

    /// Queue-wait percentiles.
    pub fn queue_wait(&self) -> Percentiles {
        percentiles(&self.queue_wait)
    }
    /// End-to-end percentiles.
    pub fn end_to_end(&self) -> Percentiles {
        percentiles(&self.end_to_end)
    }
    /// Pickup percentiles.
    pub fn pickup(&self) -> Percentiles {
        percentiles(&self.pickup)
    }
    /// Service percentiles.
    pub fn service(&self) -> Percentiles {
        percentiles(&self.service)
    }
    /// Over-plan percentiles; `None` when no job had a planned duration.
    pub fn over_plan(&self) -> Option<Percentiles> {
        (!self.over_plan.is_empty()).then(|| percentiles(&self.over_plan))
    }

    /// The end-to-end CDF as at most about `points` (µs, fraction ≤) pairs.
    pub fn end_to_end_cdf(&self, points: usize) -> Vec<(u64, f64)> {
        let h = &self.end_to_end;
        let all: Vec<(u64, f64)> = h
            .iter_recorded()
            .map(|v| (h.highest_equivalent(v.value_iterated_to()), v.quantile_iterated_to()))
            .collect();
        let step = all.len().div_ceil(points.max(1)).max(1);
        let mut cdf: Vec<(u64, f64)> = all.iter().step_by(step).copied().collect();
        if let (Some(last), Some(end)) = (all.last(), cdf.last()) {
            if last != end {
                cdf.push(*last);
            }
        }
        cdf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pool_spec::Format;

    #[test]
    fn measures_wait_pickup_service_and_end_to_end_from_the_log() {
        let log = "\
{\"t_us\":2,\"worker\":1,\"event\":\"started\",\"job\":1}
{\"t_us\":3,\"worker\":2,\"event\":\"started\",\"job\":2}
{\"t_us\":10,\"worker\":1,\"event\":\"finished\",\"job\":1,\"result\":2}
{\"t_us\":14,\"worker\":1,\"event\":\"started\",\"job\":3}
{\"t_us\":30,\"worker\":2,\"event\":\"finished\",\"job\":2,\"result\":4}
{\"t_us\":40,\"worker\":1,\"event\":\"finished\",\"job\":3,\"result\":6}
{\"t_us\":41,\"worker\":1,\"event\":\"exiting\"}
{\"t_us\":41,\"worker\":2,\"event\":\"exiting\"}
";
        let mut l = Latencies::default();
        let noop = Work::new("noop".parse().unwrap(), pool_spec::DEFAULT_SEED);
        l.add_log(&Format::Jsonl.parse(log).unwrap(), &noop);
        assert_eq!(l.queue_wait(), Percentiles { p50_us: 3, p99_us: 14, max_us: 14 });
        assert_eq!(l.pickup(), Percentiles { p50_us: 3, p99_us: 4, max_us: 4 });
        assert_eq!(l.service(), Percentiles { p50_us: 26, p99_us: 27, max_us: 27 });
        assert_eq!(l.end_to_end().max_us, 40);
        let cdf = l.end_to_end_cdf(100);
        assert_eq!(cdf.last().unwrap(), &(40, 1.0));
        assert_eq!(cdf.len(), 3);
        assert_eq!(l.over_plan(), None, "noop jobs have no plan to be late for");
        // The same log as sleeps of 20 µs: 8 - 20 → 0 (early counts as on
        // time), 27 - 20 = 7, 26 - 20 = 6.
        let mut l = Latencies::default();
        let sleep = Work::new("sleep:20us".parse().unwrap(), pool_spec::DEFAULT_SEED);
        l.add_log(&Format::Jsonl.parse(log).unwrap(), &sleep);
        assert_eq!(l.over_plan(), Some(Percentiles { p50_us: 6, p99_us: 7, max_us: 7 }));
    }
}
