//! The findings of a compare run, judged once from the measured cells and
//! traced runs and stored in `results.json`: the performance targets with
//! their verdicts and evidence, the std / crossbeam headline ratio, what the
//! figures mean in plain sentences, and which figures the budget left
//! undecided. The reports only render them.

use std::fmt::Write as _;

use serde::Serialize;

use crate::bench::{CellResult, Stats, TraceResult};
use crate::program::Program;
use crate::report::{duration, micros, ratio, sig3, spread, spread_ratio, spread_time, thousands};
use crate::stats::{Interval, Stop};
use crate::workload::Family;

/// Everything judged from one run.
#[derive(Clone, Debug, Serialize)]
pub struct Findings {
    /// std / crossbeam makespan at 4 workers, `noop`, paired by round.
    pub std_vs_crossbeam_4: Option<HeadlineRatio>,
    /// The performance targets, each with its verdict.
    pub targets: Vec<Target>,
    /// What the figures mean, one sentence per workload shape.
    pub meaning: Vec<String>,
    /// Cells whose ratios the budget (or the round limit) left undecided.
    pub undecided: Vec<Undecided>,
}

/// A ratio quoted in the headline.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct HeadlineRatio {
    /// Median paired ratio and its 95% interval.
    pub ratio: Interval,
    /// Whether the interval is within the stopping rule's ±5%.
    pub decided: bool,
}

/// One performance target's verdict.
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    /// The target, and the program it is judged on.
    pub what: String,
    /// The figure measured, as shown.
    pub measured: String,
    /// Met, missed, or `None` when not measured in this run.
    pub met: Option<bool>,
    /// Figures from the same run that bear on why (cores busy, kernel time,
    /// service time and pickup from the traced run).
    pub evidence: String,
}

/// A cell whose figures were left undecided.
#[derive(Clone, Debug, Serialize)]
pub struct Undecided {
    /// The cell, as in the report's headings.
    pub cell: String,
    /// Rounds it ran.
    pub rounds: u32,
    /// Why it stopped.
    pub stop: Stop,
    /// The backends whose ratio to the fastest is wider than ±5%.
    pub programs: Vec<Program>,
}

/// Judges a run.
pub fn judge(cells: &[CellResult], traces: &[TraceResult]) -> Findings {
    Findings {
        std_vs_crossbeam_4: std_vs_crossbeam(cells, 4).map(|(ratio, decided)| HeadlineRatio { ratio, decided }),
        targets: targets(cells, traces),
        meaning: meaning(cells),
        undecided: cells
            .iter()
            .filter(|c| !c.undecided.is_empty())
            .map(|c| Undecided {
                cell: format!("{} `{}` {}×{}", c.workload.name(), c.spec, c.workers, c.jobs),
                rounds: c.rounds,
                stop: c.stop,
                programs: c.undecided.clone(),
            })
            .collect(),
    }
}

fn overhead_cells(cells: &[CellResult]) -> Vec<&CellResult> {
    cells.iter().filter(|c| c.workload == Family::Overhead).collect()
}

/// The std / crossbeam makespan ratio in the `noop` cell with `workers`,
/// paired by round.
fn std_vs_crossbeam(cells: &[CellResult], workers: u32) -> Option<(Interval, bool)> {
    let cell = overhead_cells(cells).into_iter().find(|c| c.workers == workers)?;
    let q = cell.ratio(Program::known("std"), Program::known("crossbeam"))?;
    Some((q, q.within(crate::bench::DEFAULT_PRECISION)))
}

/// What the run itself says about a backend's result in a cell: how many
/// cores it kept busy (CPU time / makespan), and from the traced run of the
/// same cell, if any, the median job's service time (against the spec's
/// nominal duration) and the slow end of pickup (the hand-off to a free
/// worker).
fn evidence(traces: &[TraceResult], c: &CellResult, backend: Program, st: &Stats) -> String {
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
        parts.push(format!("{:.2} cores busy{system}", st.cpu_s.median / st.makespan_s.median));
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

fn targets(cells: &[CellResult], traces: &[TraceResult]) -> Vec<Target> {
    let mut out = Vec::new();
    let pools = |c: &CellResult| -> Vec<(Program, Option<Stats>)> {
        c.backends.iter().filter(|b| !b.backend.is_baseline()).map(|b| (b.backend, b.stats.clone())).collect()
    };
    let find = |w: Family, spec: &str, workers: u32, jobs: u64| {
        cells.iter().find(|c| c.workload == w && c.spec == spec && c.workers == workers && c.jobs == jobs)
    };
    let mut per_backend = |what: &str, cell: Option<&CellResult>, f: &dyn Fn(&Stats) -> (String, bool)| match cell {
        None => out.push(Target {
            what: what.to_owned(),
            measured: "cell not in this run".into(),
            met: None,
            evidence: "–".into(),
        }),
        Some(c) => {
            for (backend, stats) in pools(c) {
                let (measured, met, evidence) = match &stats {
                    Some(st) => {
                        let (m, ok) = f(st);
                        (m, Some(ok), evidence(traces, c, backend, st))
                    }
                    None => ("could not run".to_owned(), Some(false), "–".to_owned()),
                };
                out.push(Target { what: format!("{what}: {backend}"), measured, met, evidence });
            }
        }
    };
    let noop2 = cells.iter().find(|c| c.workload == Family::Overhead && c.workers == 2);
    per_backend("per-job overhead at 2 workers < 155 ns (Go)", noop2, &|st| {
        (format!("{} ns", spread(&st.overhead_ns)), st.overhead_ns.median < 155.0)
    });
    let within = |limit: f64| {
        move |st: &Stats| match &st.makespan_over_ideal {
            Some(q) => (format!("{} of ideal", spread_ratio(q)), q.median <= limit),
            None => ("–".to_owned(), false),
        }
    };
    per_backend(
        "`sleep:10ms` 100 × 1,000 within 5% of ideal",
        find(Family::Sleep, "sleep:10ms", 100, 1_000),
        &within(1.05),
    );
    per_backend(
        "`spin:100us` at 2 workers within 2% of ideal",
        find(Family::Cpu, "spin:100us", 2, 10_000),
        &within(1.02),
    );
    let four = cells.iter().find(|c| c.workload == Family::Overhead && c.workers == 4);
    let busy = |b: Program| {
        let c = four?;
        let st = c.backends.iter().find(|x| x.backend == b)?.stats.as_ref()?;
        Some(format!("{b} {}", evidence(traces, c, b, st)))
    };
    let four_evidence =
        [busy(Program::known("std")), busy(Program::known("crossbeam"))].into_iter().flatten().collect::<Vec<_>>();
    out.push(Target {
        what: "std no more than 1.3× crossbeam at 4 workers".into(),
        measured: std_vs_crossbeam(cells, 4).map_or_else(|| "–".into(), |(q, _)| ratio(&q)),
        met: std_vs_crossbeam(cells, 4).map(|(q, _)| q.median <= 1.3),
        evidence: if four_evidence.is_empty() { "–".into() } else { four_evidence.join("; ") },
    });
    let big = find(Family::Sleep, "sleep:10ms", 10_000, 100_000);
    let tokio = big.and_then(|c| c.backends.iter().find(|b| b.backend == Program::known("tokio")));
    out.push(Target {
        what: "tokio at 10,000 × 100,000 `sleep:10ms` within 15% of ideal".into(),
        measured: tokio
            .and_then(|b| b.stats.as_ref()?.makespan_over_ideal.as_ref().map(spread_ratio))
            .or_else(|| tokio.and_then(|b| b.failure.clone()))
            .unwrap_or_else(|| "–".into()),
        met: tokio.map(|b| b.stats.as_ref().and_then(|s| s.makespan_over_ideal).is_some_and(|q| q.median <= 1.15)),
        evidence: big
            .zip(tokio)
            .and_then(|(c, b)| Some(evidence(traces, c, b.backend, b.stats.as_ref()?)))
            .unwrap_or_else(|| "–".into()),
    });
    broker_targets(cells, traces, &mut out);
    tuned_targets(cells, traces, &mut out);
    let cost = traces.iter().filter(|t| t.tracing_cost_ns.is_some()).collect::<Vec<_>>();
    out.push(Target {
        what: "tracing cost per job stated".into(),
        measured: if cost.is_empty() {
            "–".into()
        } else {
            cost.iter()
                .map(|t| format!("{} {} ns", t.backend, sig3(t.tracing_cost_ns.expect("filtered").median)))
                .collect::<Vec<_>>()
                .join(", ")
        },
        met: (!cost.is_empty()).then_some(true),
        evidence: "traced (`--format jsonl`) vs quiet runs of the same cell".into(),
    });
    out
}

/// pool-redis's targets: `noop` at 4 local workers ≤ 100 µs per job, and
/// the seed in 2.0 s plus the private broker's start (its makespan includes
/// starting the broker; 2.1 s is allowed).
fn broker_targets(cells: &[CellResult], traces: &[TraceResult], out: &mut Vec<Target>) {
    for p in Program::all().filter(|p| p.is_micros()) {
        let find = |w: Family, workers: u32| cells.iter().find(|c| c.workload == w && c.workers == workers);
        let mut target = |what: String, cell: Option<&CellResult>, judge: &dyn Fn(&Stats) -> (String, bool)| {
            let result = cell.and_then(|c| Some((c, c.backends.iter().find(|b| b.backend == p)?)));
            out.push(match result {
                None => Target { what, measured: "not in this run".into(), met: None, evidence: "–".into() },
                Some((c, b)) => match &b.stats {
                    Some(st) => {
                        let (measured, met) = judge(st);
                        Target { what, measured, met: Some(met), evidence: evidence(traces, c, p, st) }
                    }
                    None => Target {
                        what,
                        measured: b.failure.clone().unwrap_or_else(|| "could not run".into()),
                        met: Some(false),
                        evidence: "–".into(),
                    },
                },
            });
        };
        target(format!("{p}: `noop` at 4 local workers ≤ 100 µs per job"), find(Family::Broker, 4), &|st| {
            let us = micros(&st.overhead_ns);
            (format!("{} µs", spread(&us)), us.median <= 100.0)
        });
        target(format!("{p}: the seed in 2.0 s plus the broker's start (≤ 2.1 s)"), find(Family::Seed, 3), &|st| {
            (spread_time(&st.makespan_s), st.makespan_s.median <= 2.1)
        });
    }
}

/// The tuned flavors' targets: `noop` at 2 workers, the fastest ≤ 5 ns and
/// every one ≤ 15 ns per job; the skewed load at 2 workers within 3% of
/// ideal; no `sleep:10ms` cell distinguishably slower than textbook. (The
/// `spin:100us` 2% target is every backend's, above.)
fn tuned_targets(cells: &[CellResult], traces: &[TraceResult], out: &mut Vec<Target>) {
    let tuned: Vec<Program> = Program::all().filter(|p| p.textbook().is_some()).collect();
    let stats_in =
        |c: &CellResult, p: Program| c.backends.iter().find(|b| b.backend == p).and_then(|b| b.stats.clone());
    let noop2 = cells.iter().find(|c| c.workload == Family::Overhead && c.workers == 2);
    let measured: Vec<(Program, Stats)> =
        noop2.map_or_else(Vec::new, |c| tuned.iter().filter_map(|&p| Some((p, stats_in(c, p)?))).collect());
    let fastest = measured.iter().min_by(|a, b| a.1.overhead_ns.median.total_cmp(&b.1.overhead_ns.median));
    out.push(match (noop2, fastest) {
        (Some(c), Some((p, st))) => Target {
            what: "fastest tuned flavor ≤ 5 ns per job (`noop`, 2 workers)".into(),
            measured: format!("{p}: {} ns", spread(&st.overhead_ns)),
            met: Some(st.overhead_ns.median <= 5.0),
            evidence: evidence(traces, c, *p, st),
        },
        _ => Target {
            what: "fastest tuned flavor ≤ 5 ns per job (`noop`, 2 workers)".into(),
            measured: "not in this run".into(),
            met: None,
            evidence: "–".into(),
        },
    });
    if let Some(c) = noop2 {
        for (p, st) in &measured {
            out.push(Target {
                what: format!("tuned ≤ 15 ns per job (`noop`, 2 workers): {p}"),
                measured: format!("{} ns", spread(&st.overhead_ns)),
                met: Some(st.overhead_ns.median <= 15.0),
                evidence: evidence(traces, c, *p, st),
            });
        }
    }
    let skewed = cells.iter().find(|c| c.workload == Family::Skewed && c.workers == 2);
    for &p in &tuned {
        let Some(c) = skewed else { break };
        let Some(st) = stats_in(c, p) else { continue };
        let q = st.makespan_over_measured_ideal.or(st.makespan_over_ideal);
        out.push(Target {
            what: format!("skewed `{}` at 2 workers within 3% of ideal: {p}", c.spec),
            measured: q.as_ref().map_or("–".into(), |q| format!("{} of ideal", spread_ratio(q))),
            met: q.map(|q| q.median <= 1.03),
            evidence: evidence(traces, c, p, &st),
        });
    }
    for c in cells.iter().filter(|c| c.workload == Family::Sleep) {
        for &p in &tuned {
            let Some(q) = p.textbook().and_then(|t| c.ratio(p, t)) else { continue };
            out.push(Target {
                what: format!("`{}` {}×{}: {p} no slower than textbook", c.spec, c.workers, thousands(c.jobs)),
                measured: format!("tuned / textbook {}", ratio(&q)),
                met: Some(q.lo <= 1.0),
                evidence: "paired by round; met unless the whole interval lies above 1".into(),
            });
        }
    }
}

/// What the figures mean, in plain sentences derived from them.
fn meaning(cells: &[CellResult]) -> Vec<String> {
    let mut s = String::new();
    let ranked = |c: &CellResult| -> Vec<(Program, Stats)> {
        c.backends
            .iter()
            .filter(|b| !b.backend.is_baseline())
            .filter_map(|b| Some((b.backend, b.stats.clone()?)))
            .collect()
    };
    if let Some(c) = cells.iter().find(|c| c.workload == Family::Overhead && c.workers == 2) {
        let rows = ranked(c);
        if let (Some((best, b)), Some((worst, w))) = (rows.first(), rows.last()) {
            let ties: Vec<String> = rows
                .iter()
                .skip(1)
                .filter(|(_, st)| st.indistinguishable_from_fastest)
                .map(|(x, _)| x.to_string())
                .collect();
            let tie =
                if ties.is_empty() { String::new() } else { format!(" (indistinguishable from {})", ties.join(", ")) };
            let advice = if ties.len() + 1 == rows.len() {
                "Their intervals overlap: on this machine the data cannot rank them.".to_owned()
            } else {
                format!("For a stream of small jobs pick {best}.")
            };
            let _ = writeln!(
                s,
                "- **Many tiny jobs:** the handoff is the whole cost. At 2 workers {best} hands off a job in {} ns{tie}, \
                 {worst} in {} ns ({}× as long). {advice}",
                sig3(b.overhead_ns.median),
                sig3(w.overhead_ns.median),
                sig3(w.overhead_ns.median / b.overhead_ns.median.max(1e-9)),
            );
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
        let _ = write!(
            s,
            "- **Waiting jobs (I/O-like), {} workers:** {}.",
            thousands(u64::from(c.workers)),
            if ran.is_empty() { "no backend ran".to_owned() } else { ran.join("; ") }
        );
        if !failed.is_empty() {
            let _ = write!(s, " Could not run: {} (see its table).", failed.join(", "));
        }
        s += " std, crossbeam and rayon start one OS thread per worker; tokio's workers are tasks, so sleeping \
               workers hold no thread — prefer it when the number of concurrent waits is large.\n";
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
        let _ = writeln!(
            s,
            "- **{shape}, `{}` at 2 workers:** between {}× ({}) and {}× ({}) of ideal. {}",
            c.spec,
            sig3(best.1),
            best.0,
            sig3(worst.1),
            worst.0,
            if worst.1 <= 1.05 {
                "The pool's cost is small next to the job; choose by API (rayon for data-parallel loops, a channel pool for a stream)."
            } else {
                "The gap is the pool's cost or its scheduling; see the table below."
            }
        );
    }
    // One finding per line, without the list marker: the reports render them.
    s.lines().filter_map(|l| l.strip_prefix("- ")).map(str::to_owned).collect()
}
