//! The targets for waiting jobs (`sleep:10ms`, issue 24): the best pool
//! against the ideal and against Go by Example's goroutines, paired by
//! round, and each tuned flavor's timer precision from the traced runs.

use crate::program::Program;
use crate::results::{CellResult, TraceResult};
use crate::units::{duration, ratio, spread_ratio, thousands};
use crate::workload::{Named, SLEEP_10K, SLEEP_100};

use super::evidence::evidence;
use super::{Meaning, Target};

/// The waiting-jobs cells' targets: each cell with the most makespan over
/// ideal the best pool may take.
const CELLS: [(Named, f64); 2] = [(SLEEP_100, 1.03), (SLEEP_10K, 1.30)];

/// The most a tuned flavor's median `sleep:10ms` job may take over its
/// sleep, as a share of it.
const SERVICE_SLACK: f64 = 0.02;

/// The spec the targets are set on.
const SPEC: &str = SLEEP_100.spec;

pub(super) fn waiting_targets(cells: &[CellResult], traces: &[TraceResult]) -> Vec<Target> {
    let mut out = Vec::new();
    let go = Program::named("gobyexample");
    for (named, limit) in CELLS {
        let what = format!(
            "{named}: the best pool ≤ {limit:.2}× ideal and faster than Go by Example (paired, whole interval below \
             1)"
        );
        let cell = cells.iter().find(|c| c.is(named));
        let best = cell.and_then(|c| {
            c.backends
                .iter()
                .filter(|b| !b.backend.is_baseline() && !b.backend.is_reference())
                .filter_map(|b| Some((b.backend, b.stats.as_ref()?, b.stats.as_ref()?.makespan_over_ideal?)))
                .min_by(|a, b| a.2.median.total_cmp(&b.2.median))
        });
        out.push(match (cell, best) {
            (Some(c), Some((p, st, q))) => {
                let versus = go.and_then(|g| c.ratio(p, g));
                let measured = match versus {
                    Some(v) => format!("{p}: {} of ideal; {} of Go's makespan", spread_ratio(&q), ratio(&v)),
                    None => format!("{p}: {} of ideal; Go by Example not in this run", spread_ratio(&q)),
                };
                Target {
                    what,
                    measured,
                    met: Some(q.median <= limit && versus.is_some_and(|v| v.hi < 1.0)),
                    evidence: evidence(traces, c, p, st),
                }
            }
            _ => Target { what, measured: "cell not in this run".into(), met: None, evidence: "–".into() },
        });
    }
    let planned_us = 10_000.0;
    for t in traces.iter().filter(|t| t.spec == SPEC && t.workers == SLEEP_100.workers && t.failure.is_none()) {
        if t.backend.textbook().is_none() {
            continue;
        }
        let p50 = t.service.p50_us as f64;
        out.push(Target {
            what: format!("`{SPEC}` service time p50 within 2% of the sleep: {}", t.backend),
            measured: duration(p50 * 1e-6),
            met: Some(p50 <= planned_us * (1.0 + SERVICE_SLACK)),
            evidence: format!(
                "traced run, {} workers × {}; late by p50 / p99 {}",
                t.workers,
                thousands(t.jobs),
                t.over_plan.as_ref().map_or("–".to_owned(), |l| format!("{} / {} µs", l.p50_us, l.p99_us))
            ),
        });
    }
    out
}

/// Sleeps ending later than this at p50 are the timer's doing.
const LATE_TIMER_US: u64 = 500;

/// A free worker waiting longer than this for its next job, at p99, is the
/// wake-up's doing.
const SLOW_PICKUP_US: u64 = 1_000;

/// What holds each pool back in the traced waiting cell (`sleep:10ms` at
/// 100 workers), read off its trace: sleeps that end late (the timer), a
/// free worker that waits for its next job (waking workers), or neither.
/// One sentence of "What the figures mean"; `None` without such traces.
pub(super) fn limits(traces: &[TraceResult]) -> Option<Meaning> {
    let ours: Vec<&TraceResult> = traces
        .iter()
        .filter(|t| t.spec == SPEC && t.workers == SLEEP_100.workers && t.failure.is_none())
        .filter(|t| !t.backend.is_baseline() && !t.backend.is_reference())
        .collect();
    let (mut timer, mut waking, mut neither) = (Vec::new(), Vec::new(), Vec::new());
    for t in &ours {
        let Some(late) = t.over_plan.as_ref().map(|l| l.p50_us) else { continue };
        let pickup = t.pickup.p99_us;
        if late > LATE_TIMER_US {
            timer.push(format!("{} (sleeps end {} late at p50)", t.backend, micros(late)));
        } else if pickup > SLOW_PICKUP_US {
            waking.push(format!("{} (a free worker waits {} for its next job at p99)", t.backend, micros(pickup)));
        } else {
            neither.push(format!("{} ({} late, pickup p99 {})", t.backend, micros(late), micros(pickup)));
        }
    }
    let mut parts = Vec::new();
    if !timer.is_empty() {
        parts.push(format!("the timer holds back {}", timer.join(", ")));
    }
    if !waking.is_empty() {
        parts.push(format!("waking workers holds back {}", waking.join(", ")));
    }
    if !neither.is_empty() {
        parts.push(format!("neither holds back {}: what is left is the wake-up itself", neither.join(", ")));
    }
    if parts.is_empty() {
        return None;
    }
    Some(Meaning::new(
        format!("What limits each pool with waiting jobs (`{SPEC}`, 100 workers, from the traced run)"),
        format!("{}.", parts.join("; ")),
    ))
}

/// Microseconds as a duration.
fn micros(us: u64) -> String {
    duration(us as f64 * 1e-6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::latency::Percentiles;

    fn trace(name: &str, late_us: u64, pickup_p99_us: u64) -> TraceResult {
        let p = |p50_us, p99_us| Percentiles { p50_us, p99_us, max_us: p99_us };
        TraceResult {
            workload: crate::workload::Family::Sleep,
            spec: SPEC.into(),
            workers: 100,
            jobs: 1_000,
            backend: Program::known(name),
            traced_makespan_s: vec![0.1],
            quiet_makespan_s: vec![0.1],
            tracing_cost_ns: None,
            queue_wait: p(0, 0),
            end_to_end: p(10_000, 10_000),
            pickup: p(1, pickup_p99_us),
            service: p(10_000 + late_us, 10_000 + late_us),
            over_plan: Some(p(late_us, late_us)),
            end_to_end_cdf: Vec::new(),
            failure: None,
        }
    }

    /// Each pool is put with what holds it back, by its own trace: the
    /// timer when sleeps end late, waking workers when pickup is slow,
    /// neither otherwise; the edges belong to the lesser cause.
    #[test]
    fn each_pool_is_put_with_what_holds_it_back() {
        let traces = [trace("tokio", 1_400, 700), trace("std", 100, 4_000), trace("crossbeam", 500, 1_000)];
        let s = limits(&traces).unwrap().says;
        assert!(s.contains("the timer holds back tokio (sleeps end 1.40 ms late at p50)"), "{s}");
        assert!(s.contains("waking workers holds back std (a free worker waits 4.00 ms"), "{s}");
        assert!(s.contains("neither holds back crossbeam (500 µs late, pickup p99 1.00 ms)"), "{s}");
        assert_eq!(limits(&[]), None);
    }
}
