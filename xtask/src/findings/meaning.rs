//! What the figures mean, in a plain sentence per workload shape.

use crate::program::{Program, Role};
use crate::results::{CellResult, Stats};
use crate::stats::CONFIDENCE;
use crate::units::{sig3, thousands};
use crate::workload::Family;

use super::*;

/// What the figures mean, in plain sentences derived from them.
pub(super) fn meaning(cells: &[CellResult]) -> Vec<Meaning> {
    let mut out = Vec::new();
    // The pools only: the baseline and the references are what they are
    // measured against, not choices.
    let ranked = |c: &CellResult| -> Vec<(Program, Stats)> {
        c.backends
            .iter()
            .filter(|b| !b.backend.is_baseline() && !b.backend.is_reference())
            .filter_map(|b| Some((b.backend, b.stats.clone()?)))
            .collect()
    };
    if let Some(c) = cells.iter().find(|c| c.workload == Family::Overhead && c.workers == 2) {
        let rows = ranked(c);
        if let (Some((best, b)), Some((worst, w))) = (rows.first(), rows.last()) {
            // Too few rounds for a 95% interval (`--quick`): no ranking is
            // claimed, rather than every program called a tie.
            let confident = rows.iter().skip(1).all(|(_, st)| st.vs_fastest.confidence >= CONFIDENCE);
            let ties: Vec<String> = rows
                .iter()
                .skip(1)
                .filter(|(_, st)| confident && st.indistinguishable_from_fastest)
                .map(|(x, _)| x.to_string())
                .collect();
            let tie =
                if ties.is_empty() { String::new() } else { format!(" (indistinguishable from {})", ties.join(", ")) };
            let advice = if !confident {
                format!(
                    "{} rounds are too few for a 95% interval, so this run ranks nothing; a full run does.",
                    c.rounds
                )
            } else if ties.len() + 1 == rows.len() {
                "Their intervals overlap: on this machine the data cannot rank them.".to_owned()
            } else {
                format!("For a stream of small jobs pick {best}.")
            };
            out.push(Meaning::new(
                "Many tiny jobs",
                format!(
                    "the handoff is the whole cost. At 2 workers {best} hands off a job in {} ns{tie}, {worst} in {} \
                     ns ({}× as long). {advice}",
                    sig3(b.overhead_ns.median),
                    sig3(w.overhead_ns.median),
                    sig3(w.overhead_ns.median / b.overhead_ns.median.max(1e-9)),
                ),
            ));
        }
    }
    if let Some(c) = throughput_cell(cells) {
        let rows: Vec<(Program, f64)> = c
            .backends
            .iter()
            .filter(|b| b.backend.entry().role == Role::Backend)
            .filter_map(|b| Some((b.backend, b.stats.as_ref()?.whole_ns.median)))
            .collect();
        let range = |tuned: bool| {
            let v: Vec<f64> = rows.iter().filter(|(p, _)| p.textbook().is_some() == tuned).map(|r| r.1).collect();
            let lo = v.iter().copied().reduce(f64::min)?;
            Some((lo, v.iter().copied().fold(lo, f64::max)))
        };
        if let (Some((tl, th)), Some((xl, xh))) = (range(true), range(false)) {
            let advice = if th < xl {
                "Where jobs are this small, a tuned flavor is the choice whatever the substrate."
            } else {
                "The ranges overlap: see the cell's table."
            };
            out.push(Meaning::new(
                format!("Ten million tiny jobs, whole process, {} workers", c.workers),
                format!(
                    "the tuned flavors take {}–{} ns a job, the textbook forms {}–{} ns, process start included. \
                     {advice}",
                    sig3(tl),
                    sig3(th),
                    sig3(xl),
                    sig3(xh),
                ),
            ));
        }
    }
    let sleeps: Vec<&CellResult> = cells.iter().filter(|c| c.workload == Family::Sleep).collect();
    if let Some(c) = sleeps.last() {
        let ran: Vec<String> = ranked(c)
            .iter()
            .filter_map(|(b, st)| {
                Some(format!(
                    "{b} {}× ideal, {} MiB peak",
                    sig3(st.makespan_over_ideal?.median),
                    sig3(st.max_rss_mib.median)
                ))
            })
            .collect();
        let failed: Vec<String> =
            c.backends.iter().filter(|b| b.failure.is_some()).map(|b| b.backend.to_string()).collect();
        let mut says = format!("{}.", if ran.is_empty() { "no backend ran".to_owned() } else { ran.join("; ") });
        if !failed.is_empty() {
            says += &format!(" Could not run: {} (see its table).", failed.join(", "));
        }
        says += " std, crossbeam and rayon start one OS thread per worker; tokio's and smol's workers are tasks, so \
                 sleeping workers hold no thread — prefer them when the number of concurrent waits is large.";
        out.push(Meaning::new(format!("Waiting jobs (I/O-like), {} workers", thousands(u64::from(c.workers))), says));
    }
    for workload in [Family::Cpu, Family::Skewed] {
        let cells: Vec<&CellResult> = cells.iter().filter(|c| c.workload == workload && c.workers == 2).collect();
        let Some(c) = cells.first() else { continue };
        let rows: Vec<(Program, f64)> =
            ranked(c).iter().filter_map(|(b, st)| Some((*b, st.makespan_over_ideal?.median))).collect();
        let (Some(best), Some(worst)) =
            (rows.iter().min_by(|a, b| a.1.total_cmp(&b.1)), rows.iter().max_by(|a, b| a.1.total_cmp(&b.1)))
        else {
            continue;
        };
        let shape = if workload == Family::Cpu { "Uniform CPU jobs" } else { "Uneven CPU jobs (load balancing)" };
        out.push(Meaning::new(
            format!("{shape}, `{}` at 2 workers", c.spec),
            format!(
                "between {}× ({}) and {}× ({}) of ideal. {}",
                sig3(best.1),
                best.0,
                sig3(worst.1),
                worst.0,
                if worst.1 <= 1.05 {
                    "The pool's cost is small next to the job; choose by API (rayon for data-parallel loops, a channel \
                     pool for a stream)."
                } else {
                    "The gap is the pool's cost or its scheduling; see the table below."
                }
            ),
        ));
    }
    out
}
