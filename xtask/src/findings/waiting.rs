//! The targets for waiting jobs (`sleep:10ms`, issue 24): the best pool
//! against the ideal and against Go by Example's goroutines, paired by
//! round, and each tuned flavor's timer precision from the traced runs.

use crate::program::Program;
use crate::results::{CellResult, TraceResult};
use crate::units::{duration, ratio, spread_ratio, thousands};
use crate::workload::Family;

use super::Target;
use super::targets::evidence;

/// The waiting-jobs cells' targets: (workers, jobs, the most makespan over
/// ideal the best pool may take).
const CELLS: [(u32, u64, f64); 2] = [(100, 1_000, 1.03), (10_000, 100_000, 1.30)];

/// The most a tuned flavor's median `sleep:10ms` job may take over its
/// sleep, as a share of it.
const SERVICE_SLACK: f64 = 0.02;

/// The spec the targets are set on.
const SPEC: &str = "sleep:10ms";

pub(super) fn waiting_targets(cells: &[CellResult], traces: &[TraceResult], out: &mut Vec<Target>) {
    let go = Program::named("gobyexample");
    for (workers, jobs, limit) in CELLS {
        let what = format!(
            "`{SPEC}` {workers} × {}: the best pool ≤ {limit:.2}× ideal and faster than Go by Example (paired, \
             whole interval below 1)",
            thousands(jobs)
        );
        let cell = cells
            .iter()
            .find(|c| c.workload == Family::Sleep && c.spec == SPEC && c.workers == workers && c.jobs == jobs);
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
    for t in traces.iter().filter(|t| t.spec == SPEC && t.workers == 100 && t.failure.is_none()) {
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
}
