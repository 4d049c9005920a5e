//! The findings of a compare run, judged once from the measured cells and
//! traced runs and stored in `results.json`: the performance targets with
//! their verdicts and evidence, the std / crossbeam headline ratio, what the
//! figures mean in plain sentences, and which figures the budget left
//! undecided. The reports only render them.

use std::fmt::Write as _;

use serde::Serialize;

use crate::program::{Program, Role};
use crate::results::{CellResult, Stats, TraceResult};
use crate::stats::{Interval, Stop};
use crate::units::{duration, interval, micros, ratio, sig3, spread, spread_ratio, spread_time, thousands};
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
    /// The verdict of each of the user's own cells (`--cell`).
    pub verdicts: Vec<crate::analysis::Verdict>,
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
        verdicts: cells.iter().filter(|c| c.workload == Family::Custom).map(crate::analysis::verdict).collect(),
    }
}

fn overhead_cells(cells: &[CellResult]) -> Vec<&CellResult> {
    cells.iter().filter(|c| c.workload == Family::Overhead).collect()
}

/// The std / crossbeam makespan ratio in the `noop` cell with `workers`,
/// paired by round.
fn std_vs_crossbeam(cells: &[CellResult], workers: u32) -> Option<(Interval, bool)> {
    let cell = overhead_cells(cells).into_iter().find(|c| c.workers == workers)?;
    let q = cell.ratio(Program::named("std")?, Program::named("crossbeam")?)?;
    Some((q, q.within(crate::analysis::DEFAULT_PRECISION)))
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

fn targets(cells: &[CellResult], traces: &[TraceResult]) -> Vec<Target> {
    let mut out = Vec::new();
    let pools = |c: &CellResult| -> Vec<(Program, Option<Stats>)> {
        c.backends
            .iter()
            .filter(|b| !b.backend.is_baseline() && !b.backend.is_reference())
            .map(|b| (b.backend, b.stats.clone()))
            .collect()
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
        "`spin:100us` at 2 workers within 2% of the measured ideal",
        find(Family::Cpu, "spin:100us", 2, 10_000),
        &|st| match (&st.makespan_over_measured_ideal, &st.makespan_over_ideal) {
            (Some(q), _) => (format!("{} of the measured ideal, paired by round", ratio(q)), q.median <= 1.02),
            (None, Some(q)) => {
                (format!("{} of the nominal ideal (no measured one in this run)", spread_ratio(q)), q.median <= 1.02)
            }
            (None, None) => ("–".to_owned(), false),
        },
    );
    let four = cells.iter().find(|c| c.workload == Family::Overhead && c.workers == 4);
    let busy = |name: &str| {
        let (c, b) = (four?, Program::named(name)?);
        let st = c.backends.iter().find(|x| x.backend == b)?.stats.as_ref()?;
        Some(format!("{b} {}", evidence(traces, c, b, st)))
    };
    let four_evidence = [busy("std"), busy("crossbeam")].into_iter().flatten().collect::<Vec<_>>();
    out.push(Target {
        what: "std no more than 1.3× crossbeam at 4 workers".into(),
        measured: std_vs_crossbeam(cells, 4).map_or_else(|| "–".into(), |(q, _)| ratio(&q)),
        met: std_vs_crossbeam(cells, 4).map(|(q, _)| q.median <= 1.3),
        evidence: if four_evidence.is_empty() { "–".into() } else { four_evidence.join("; ") },
    });
    let big = find(Family::Sleep, "sleep:10ms", 10_000, 100_000);
    let tokio = big.zip(Program::named("tokio")).and_then(|(c, tokio)| c.backends.iter().find(|b| b.backend == tokio));
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
    shared_path_target(cells, traces, &mut out);
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

/// The cell the throughput targets are judged on: `noop` at 2 workers,
/// ten million jobs (one million with `--quick`), whole process.
fn throughput_cell(cells: &[CellResult]) -> Option<&CellResult> {
    cells.iter().find(|c| c.workload == Family::Throughput && c.workers == 2)
}

/// What bears on a whole-process figure: the same less the program's
/// 0-job run of the same round, the pool's own makespan per job, and the
/// usual [`evidence`].
fn whole_evidence(traces: &[TraceResult], c: &CellResult, p: Program, st: &Stats) -> String {
    let mut parts = Vec::new();
    if let Some(q) = &st.whole_less_start_ns {
        parts.push(format!("less its 0-job run {} ns, paired by round", interval(q)));
    }
    parts.push(format!("pool's own makespan {} ns per job", spread(&st.overhead_ns)));
    parts.push(evidence(traces, c, p, st));
    parts.join("; ")
}

/// The shared path's target (issue 7): the sequential baseline, `noop` ×
/// ten million, whole process less a 0-job run ≤ 3 ns per job. Judged on
/// the per-round difference when the cell ran the 0-job runs, otherwise on
/// the whole process with its start (a conservative figure).
fn shared_path_target(cells: &[CellResult], traces: &[TraceResult], out: &mut Vec<Target>) {
    let cell = throughput_cell(cells);
    let what = format!(
        "sequential baseline's shared path ≤ 3 ns per `noop` job ({} jobs, whole process less a 0-job run)",
        cell.map_or_else(|| "10,000,000".to_owned(), |c| thousands(c.jobs))
    );
    let baseline = cell.and_then(|c| {
        let b = c.backends.iter().find(|b| b.backend.entry().role == Role::Baseline)?;
        Some((c, b))
    });
    out.push(match baseline {
        None => Target { what, measured: "not in this run".into(), met: None, evidence: "–".into() },
        Some((_, b)) if b.stats.is_none() => Target {
            what,
            measured: b.failure.clone().unwrap_or_else(|| "could not run".into()),
            met: Some(false),
            evidence: "–".into(),
        },
        Some((c, b)) => {
            let st = b.stats.as_ref().expect("matched above");
            let (measured, median) = match &st.whole_less_start_ns {
                Some(q) => (format!("{}: {} ns", b.backend, interval(q)), q.median),
                None => (
                    format!(
                        "{}: {} ns with the process's start (no 0-job run here: conservative)",
                        b.backend,
                        spread(&st.whole_ns)
                    ),
                    st.whole_ns.median,
                ),
            };
            let evidence = format!(
                "whole process with its start {} ns; {}",
                spread(&st.whole_ns),
                whole_evidence(traces, c, b.backend, st)
            );
            Target { what, measured, met: Some(median <= 3.0), evidence }
        }
    });
}

/// The tuned flavors' targets: `noop` × ten million at 2 workers, whole
/// process (its start included, as the target states it), the fastest ≤ 5
/// ns and every one ≤ 15 ns per job; the skewed load at 2 workers within
/// 3% of ideal; no `sleep:10ms` cell distinguishably slower than textbook.
/// (The `spin:100us` 2% target is every backend's, above.)
fn tuned_targets(cells: &[CellResult], traces: &[TraceResult], out: &mut Vec<Target>) {
    let tuned: Vec<Program> = Program::all().filter(|p| p.textbook().is_some()).collect();
    let stats_in =
        |c: &CellResult, p: Program| c.backends.iter().find(|b| b.backend == p).and_then(|b| b.stats.clone());
    let noop2 = throughput_cell(cells);
    let size = format!(
        "`noop` × {}, 2 workers, whole process",
        noop2.map_or_else(|| "10,000,000".to_owned(), |c| thousands(c.jobs))
    );
    let measured: Vec<(Program, Stats)> =
        noop2.map_or_else(Vec::new, |c| tuned.iter().filter_map(|&p| Some((p, stats_in(c, p)?))).collect());
    let fastest = measured.iter().min_by(|a, b| a.1.whole_ns.median.total_cmp(&b.1.whole_ns.median));
    let what = format!("fastest tuned flavor ≤ 5 ns per job ({size})");
    out.push(match (noop2, fastest) {
        (Some(c), Some((p, st))) => Target {
            what,
            measured: format!("{p}: {} ns", spread(&st.whole_ns)),
            met: Some(st.whole_ns.median <= 5.0),
            evidence: whole_evidence(traces, c, *p, st),
        },
        _ => Target { what, measured: "not in this run".into(), met: None, evidence: "–".into() },
    });
    if let Some(c) = noop2 {
        for (p, st) in &measured {
            out.push(Target {
                what: format!("tuned ≤ 15 ns per job ({size}): {p}"),
                measured: format!("{} ns", spread(&st.whole_ns)),
                met: Some(st.whole_ns.median <= 15.0),
                evidence: whole_evidence(traces, c, *p, st),
            });
        }
    }
    let skewed = cells.iter().find(|c| c.workload == Family::Skewed && c.workers == 2);
    for &p in &tuned {
        let Some(c) = skewed else { break };
        let Some(st) = stats_in(c, p) else { continue };
        let (measured, median) = match (&st.makespan_over_measured_ideal, &st.makespan_over_ideal) {
            (Some(q), _) => (format!("{} of the measured ideal, paired by round", ratio(q)), Some(q.median)),
            (None, Some(q)) => {
                (format!("{} of the nominal ideal (no measured one in this run)", spread_ratio(q)), Some(q.median))
            }
            (None, None) => ("–".into(), None),
        };
        out.push(Target {
            what: format!("skewed `{}` at 2 workers within 3% of ideal: {p}", c.spec),
            measured,
            met: median.map(|m| m <= 1.03),
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
            let _ = writeln!(
                s,
                "- **Ten million tiny jobs, whole process, {} workers:** the tuned flavors take {}–{} ns a job, the \
                 textbook forms {}–{} ns, process start included. {advice}",
                c.workers,
                sig3(tl),
                sig3(th),
                sig3(xl),
                sig3(xh),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{backend, cell, with_start};
    use crate::results::ProgramResult;

    fn target<'a>(f: &'a Findings, what: &str) -> &'a Target {
        f.targets.iter().find(|t| t.what == what).unwrap_or_else(|| panic!("no target {what:?} in {:#?}", f.targets))
    }

    fn p(name: &str) -> Program {
        Program::known(name)
    }

    /// A program in a throughput cell of ten million jobs: each run's whole
    /// process is its makespan + 2 ms, and its 0-job run takes `start`.
    fn timed(name: &str, workers: u32, makespans: &[f64], start: Option<f64>) -> ProgramResult {
        let b = backend(p(name), workers, 0.0, makespans);
        match start {
            Some(s) => with_start(b, &vec![s; makespans.len()]),
            None => b,
        }
    }

    const FASTEST: &str = "fastest tuned flavor ≤ 5 ns per job (`noop` × 10,000,000, 2 workers, whole process)";

    #[test]
    fn tuned_targets_are_judged_on_the_whole_process_of_the_throughput_cell() {
        // At a million jobs std-tuned looks like 1 ns a job: not the cell
        // the targets are stated for.
        let overhead =
            cell(Family::Overhead, "noop", 2, 1_000_000, 0.0, vec![timed("std-tuned", 2, &[0.001; 3], None)]);
        let throughput = cell(
            Family::Throughput,
            "noop",
            2,
            10_000_000,
            0.0,
            vec![
                // 20 ns a job whole process; 4 ns a job.
                timed("std-tuned", 2, &[0.198; 6], Some(0.001)),
                timed("crossbeam-tuned", 2, &[0.038; 6], Some(0.001)),
                timed("std", 2, &[1.5; 6], Some(0.001)),
            ],
        );
        let f = judge(&[overhead.clone(), throughput], &[]);
        let fastest = target(&f, FASTEST);
        assert_eq!(fastest.measured, "crossbeam-tuned: 4.00 (4.00–4.00) ns");
        assert_eq!(fastest.met, Some(true));
        assert!(
            fastest.evidence.starts_with(
                "less its 0-job run 3.90 (3.90–3.90) ns, paired by round; pool's own makespan 3.80 (3.80–3.80) ns \
                 per job; "
            ),
            "{}",
            fastest.evidence
        );
        let each = |name: &str| {
            target(&f, &format!("tuned ≤ 15 ns per job (`noop` × 10,000,000, 2 workers, whole process): {name}"))
        };
        assert_eq!((each("std-tuned").measured.as_str(), each("std-tuned").met), ("20.0 (20.0–20.0) ns", Some(false)));
        assert_eq!(each("crossbeam-tuned").met, Some(true));
        assert!(!f.targets.iter().any(|t| t.what.ends_with(": std")), "textbook flavors have no tuned target");
        assert!(
            f.meaning.contains(
                &"**Ten million tiny jobs, whole process, 2 workers:** the tuned flavors take 4.00–20.0 ns a job, \
                  the textbook forms 150–150 ns, process start included. Where jobs are this small, a tuned flavor \
                  is the choice whatever the substrate."
                    .to_owned()
            ),
            "{:#?}",
            f.meaning
        );

        // Without the throughput cell, the overhead cell does not stand in.
        let f = judge(&[overhead], &[]);
        let fastest = target(&f, FASTEST);
        assert_eq!((fastest.measured.as_str(), fastest.met), ("not in this run", None));
        assert!(!f.targets.iter().any(|t| t.what.starts_with("tuned ≤ 15 ns")));
    }

    const SHARED: &str = "sequential baseline's shared path ≤ 3 ns per `noop` job (10,000,000 jobs, whole process \
                          less a 0-job run)";

    fn shared(makespans: &[f64], start: Option<f64>) -> Target {
        let c = cell(Family::Throughput, "noop", 2, 10_000_000, 0.0, vec![timed("sequential", 1, makespans, start)]);
        target(&judge(&[c], &[]), SHARED).clone()
    }

    #[test]
    fn the_shared_path_is_the_baseline_less_its_0_job_run() {
        // 29 ms whole process, 4 ms of it the start: 2.5 ns a job.
        let t = shared(&[0.027; 6], Some(0.004));
        assert_eq!((t.measured.as_str(), t.met), ("sequential: 2.50 (2.50–2.50) ns", Some(true)));
        assert!(
            t.evidence.starts_with(
                "whole process with its start 2.90 (2.90–2.90) ns; less its 0-job run 2.50 (2.50–2.50) ns, paired by \
                 round; pool's own makespan 2.70 (2.70–2.70) ns per job;"
            ),
            "{}",
            t.evidence
        );
        // The start taken off, a 3.4 ns whole process meets it ...
        assert_eq!(shared(&[0.032; 6], Some(0.010)).met, Some(true));
        // ... and one with nothing to take off is judged with its start.
        let t = shared(&[0.030; 6], None);
        assert_eq!(
            (t.measured.as_str(), t.met),
            ("sequential: 3.20 (3.20–3.20) ns with the process's start (no 0-job run here: conservative)", Some(false))
        );
        // Per round: a slow start in one round is taken off that round only.
        let c = cell(
            Family::Throughput,
            "noop",
            2,
            10_000_000,
            0.0,
            vec![with_start(
                backend(p("sequential"), 1, 0.0, &[0.023, 0.043, 0.023, 0.023, 0.023, 0.023]),
                &[0.001, 0.021, 0.001, 0.001, 0.001, 0.001],
            )],
        );
        let t = target(&judge(&[c], &[]), SHARED).clone();
        assert_eq!((t.measured.as_str(), t.met), ("sequential: 2.40 (2.40–2.40) ns", Some(true)));
        // Not in the run: not measured.
        let f = judge(&[], &[]);
        assert_eq!(target(&f, SHARED).met, None);
    }

    #[test]
    fn spin_is_judged_against_the_measured_ideal() {
        let spin_cell = |rows| cell(Family::Cpu, "spin:100us", 2, 10_000, 0.5, rows);
        // The machine runs the jobs 3% slow with both cores busy: against the
        // longest-first runs of the same rounds std is 1.01x, against the nominal
        // ideal 1.04x.
        let mut cells = vec![spin_cell(vec![
            backend(p("longest-first"), 2, 0.5, &[0.515; 3]),
            backend(p("std"), 2, 0.5, &[0.52; 3]),
            backend(p("crossbeam"), 2, 0.5, &[0.535; 3]),
        ])];
        crate::analysis::apply_measured_ideals(&mut cells);
        let f = judge(&cells, &[]);
        fn spin<'a>(f: &'a Findings, name: &str) -> &'a Target {
            target(f, &format!("`spin:100us` at 2 workers within 2% of the measured ideal: {name}"))
        }
        assert_eq!(
            (spin(&f, "std").measured.as_str(), spin(&f, "std").met),
            ("1.01× (1.01–1.01) of the measured ideal, paired by round", Some(true))
        );
        assert_eq!(spin(&f, "crossbeam").met, Some(false), "1.04x");
        assert!(f.targets.iter().all(|t| !t.what.ends_with(": longest-first")), "a reference is not judged");
        // With no reference in the run, the nominal ideal, said so.
        let f = judge(&[spin_cell(vec![backend(p("std"), 2, 0.5, &[0.52; 3])])], &[]);
        assert_eq!(
            (spin(&f, "std").measured.as_str(), spin(&f, "std").met),
            ("1.04× (1.04–1.04) of the nominal ideal (no measured one in this run)", Some(false))
        );
    }

    /// Each target's rule at its edges: a paired interval straddling the
    /// threshold, wholly above it, wholly below it (and a median on either
    /// side of a threshold on medians).
    #[test]
    fn every_target_is_judged_at_the_right_edge() {
        // tuned / textbook in a sleep cell: "no slower" is met unless the
        // whole interval lies above 1 (per round: tuned over textbook).
        let sleep = |tuned: &[f64]| {
            let textbook = backend(p("std"), 100, 0.1, &[0.100; 6]);
            cell(Family::Sleep, "sleep:10ms", 100, 1_000, 0.1, vec![textbook, backend(p("std-tuned"), 100, 0.1, tuned)])
        };
        let no_slower = "`sleep:10ms` 100×1,000: std-tuned no slower than textbook";
        for (tuned, met) in [
            (&[0.098, 0.099, 0.101, 0.102, 0.100, 0.097][..], true), // straddles 1
            (&[0.102, 0.103, 0.104, 0.105, 0.106, 0.101][..], false), // wholly above
            (&[0.090, 0.091, 0.092, 0.093, 0.094, 0.095][..], true), // wholly below
        ] {
            let f = judge(&[sleep(tuned)], &[]);
            assert_eq!(target(&f, no_slower).met, Some(met), "{tuned:?}: {:?}", target(&f, no_slower));
        }
        // Within 5% of the ideal (100 ms): on the median of the ratio.
        let within = "`sleep:10ms` 100 × 1,000 within 5% of ideal: std-tuned";
        for (tuned, met) in [(&[0.104; 6][..], true), (&[0.106; 6][..], false), (&[0.101, 0.109, 0.104][..], true)] {
            let f = judge(&[sleep(tuned)], &[]);
            assert_eq!(target(&f, within).met, Some(met), "{tuned:?}");
        }
        // Per-job overhead at 2 workers under 155 ns: on the median.
        let noop = |seconds: f64| {
            cell(Family::Overhead, "noop", 2, 1_000_000, 0.0, vec![backend(p("std"), 2, 0.0, &[seconds; 3])])
        };
        let overhead = "per-job overhead at 2 workers < 155 ns (Go): std";
        assert_eq!(target(&judge(&[noop(0.154)], &[]), overhead).met, Some(true));
        assert_eq!(target(&judge(&[noop(0.156)], &[]), overhead).met, Some(false));
        // std no more than 1.3 x crossbeam at 4 workers: on the paired median.
        let four = |std: &[f64]| {
            let cb = backend(p("crossbeam"), 4, 0.0, &[0.100; 3]);
            cell(Family::Overhead, "noop", 4, 1_000_000, 0.0, vec![backend(p("std"), 4, 0.0, std), cb])
        };
        let ratio = "std no more than 1.3× crossbeam at 4 workers";
        assert_eq!(target(&judge(&[four(&[0.129, 0.140, 0.120])], &[]), ratio).met, Some(true), "median 1.29");
        assert_eq!(target(&judge(&[four(&[0.131, 0.120, 0.140])], &[]), ratio).met, Some(false), "median 1.31");
    }
}
