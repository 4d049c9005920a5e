//! The arrivals family's summary: per job shape, each pool's p99 latency
//! at each offered load, and the highest load it sustains under the bound
//! (decided in `findings::arrivals`; rendered here).

use super::*;
use crate::findings::arrivals::{P99_BOUND_US, sustained};

/// One table per job shape of the arrivals family; empty without its cells.
pub(super) fn arrivals(r: &Results) -> String {
    let cells: Vec<&CellResult> = r.cells.iter().filter(|c| c.workload == Family::Arrivals).collect();
    if cells.is_empty() {
        return String::new();
    }
    let mut s = format!(
        "\n## Jobs arriving over time\n\nPoisson arrivals at 2 workers, a ladder of offered loads per job shape. \
         Latency runs from a job's arrival to its result reaching the caller (so a pool that falls behind shows \
         its backlog), p50 / p99 in µs, each the median over the rounds; \"sustains\" is the highest offered load \
         whose p99 stays within {} beyond the job's own time (\"–\": not even the lightest).\n",
        duration(P99_BOUND_US * 1e-6)
    );
    let mut specs: Vec<&str> = cells.iter().map(|c| c.spec.as_str()).collect();
    specs.dedup();
    for spec in specs {
        let rungs: Vec<&CellResult> = cells.iter().copied().filter(|c| c.spec == spec).collect();
        let mut columns = vec![("program".to_owned(), Align::Left)];
        for c in &rungs {
            columns.push((format!("{}/s", thousands(rate(c))), Align::Right));
        }
        columns.push(("sustains".to_owned(), Align::Right));
        let mut t = Table::new(columns.iter().map(|(h, a)| (h.as_str(), *a)));
        let mut programs: Vec<Program> = rungs.iter().flat_map(|c| c.backends.iter().map(|b| b.backend)).collect();
        programs.sort();
        programs.dedup();
        for p in programs {
            let mut row = vec![p.to_string()];
            for c in &rungs {
                let b = c.backends.iter().find(|b| b.backend == p);
                row.push(match b.and_then(|b| b.stats.as_ref()?.latency_us) {
                    Some(l) => format!("{} / {}", sig3(l[0].median), sig3(l[1].median)),
                    None => b.and_then(|b| b.failure.clone()).map_or("–".to_owned(), |_| "failed".to_owned()),
                });
            }
            row.push(sustained(&rungs, p).map_or("–".to_owned(), |r| format!("{}/s", thousands(r))));
            t.row(row);
        }
        let _ = write!(s, "\n`{spec}`:\n\n{}", t.render());
    }
    s
}

/// A cell's offered load, jobs a second.
fn rate(c: &CellResult) -> u64 {
    crate::findings::arrivals::rate(c).unwrap_or(0)
}
