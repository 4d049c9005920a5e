//! What a run itself says about a program's result in a cell: the figures
//! quoted beside each target as its evidence.

use crate::program::Program;
use crate::results::{CellResult, Stats, TraceResult};
use crate::units::duration;
use crate::workload::Family;

/// What the run itself says about a backend's result in a cell: how many
/// cores it kept busy (CPU time / makespan), and from the traced run of the
/// same cell, if any, the median job's service time (against the spec's
/// nominal duration) and the slow end of pickup (the hand-off to a free
/// worker).
pub(super) fn evidence(traces: &[TraceResult], c: &CellResult, backend: Program, st: &Stats) -> String {
    let mut parts = Vec::new();
    if st.makespan_s.median > 0.0 {
        let mut sys: Vec<f64> = c
            .backends
            .iter()
            .filter(|b| b.backend == backend)
            .flat_map(|b| b.samples.iter().map(|x| x.sys_s))
            .collect();
        sys.sort_by(f64::total_cmp);
        let system = match sys.get(sys.len() / 2) {
            Some(&s) if s > 0.0 => format!(" ({} of it in the kernel)", duration(s)),
            _ => String::new(),
        };
        // The throughput cell is timed as whole processes, and its CPU time
        // is the whole process's.
        let span = if c.workload == Family::Throughput {
            st.whole_ns.median * c.jobs as f64 / 1e9
        } else {
            st.makespan_s.median
        };
        parts.push(format!("{:.2} cores busy{system}", st.cpu_s.median / span));
    }
    let trace = traces.iter().find(|t| {
        t.backend == backend
            && t.workload == c.workload
            && t.spec == c.spec
            && t.workers == c.workers
            && t.failure.is_none()
    });
    if let Some(t) = trace {
        parts.push(format!(
            "service p50 {} (spec `{}`), pickup p99 {}",
            duration(t.service.p50_us as f64 * 1e-6),
            t.spec,
            duration(t.pickup.p99_us as f64 * 1e-6)
        ));
    }
    if parts.is_empty() { "–".to_owned() } else { parts.join("; ") }
}
