//! `REPORT.md`: the machine, the verification, the headline figures, the
//! performance targets, what the figures mean, a table per cell sorted by
//! speed, latency from the traced runs, and how everything was measured.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{Exporter, Results, duration, sig3};
use crate::bench::{CellResult, ProgramResult, Stats};
use crate::program::{Program, Role};
use crate::stats::{Interval, Spread, Stop};
use crate::workload::{Baseline, Family};

/// The Markdown exporter.
pub struct Markdown;

impl Exporter for Markdown {
    fn export(&self, results: &Results, dir: &Path) -> Result<Vec<PathBuf>> {
        Ok(vec![super::write(dir, "REPORT.md", render(results).as_bytes())?])
    }
}

/// `12.3 (11.9–13.0)`, the interval in the median's own precision.
fn spread(s: &Spread) -> String {
    format!("{} ({}–{})", sig3(s.median), sig3(s.lo), sig3(s.hi))
}

/// A spread of seconds, in the median's unit: `12.3 ms (11.9–13.0)`.
fn spread_time(s: &Spread) -> String {
    let median = duration(s.median);
    let (_, unit) = median.rsplit_once(' ').expect("a unit");
    let scale = match unit {
        "s" => 1.0,
        "ms" => 1e3,
        "µs" => 1e6,
        _ => 1e9,
    };
    format!("{median} ({}–{})", sig3(s.lo * scale), sig3(s.hi * scale))
}

/// A paired ratio: `1.23× (1.10–1.31)`, its 95% interval.
fn ratio(s: &Interval) -> String {
    format!("{}× ({}–{})", sig3(s.median), sig3(s.lo), sig3(s.hi))
}

/// A ratio with the min–max of its samples: `1.05× (1.01–1.09)`.
fn spread_ratio(s: &Spread) -> String {
    format!("{}× ({}–{})", sig3(s.median), sig3(s.lo), sig3(s.hi))
}

/// A median with its interval: `12.3 (11.9–13.0)`.
fn interval(s: &Interval) -> String {
    format!("{} ({}–{})", sig3(s.median), sig3(s.lo), sig3(s.hi))
}

fn backend_name(b: &ProgramResult) -> String {
    if b.backend.is_baseline() { format!("{} (no pool, 1 thread)", b.backend) } else { b.backend.to_string() }
}

fn title(c: &CellResult) -> String {
    format!(
        "{}: `{}`, {} jobs, {} workers",
        c.workload.name(),
        c.spec,
        thousands(c.jobs),
        thousands(u64::from(c.workers))
    )
}

/// `1000000` as `1,000,000`.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn overhead_cells(r: &Results) -> Vec<&CellResult> {
    r.cells.iter().filter(|c| c.workload == Family::Overhead).collect()
}

fn present_backends(r: &Results) -> Vec<Program> {
    Program::all().filter(|b| r.cells.iter().any(|c| c.backends.iter().any(|x| x.backend == *b))).collect()
}

/// The std / crossbeam makespan ratio in the `noop` cell with `workers`,
/// paired by round.
pub fn std_vs_crossbeam(r: &Results, workers: u32) -> Option<(Interval, bool)> {
    let cell = overhead_cells(r).into_iter().find(|c| c.workers == workers)?;
    let q = cell.ratio(Program::known("std"), Program::known("crossbeam"))?;
    Some((q, q.within(crate::bench::DEFAULT_PRECISION)))
}

/// The headline: per-job overhead by workers, makespan / ideal per cell,
/// std vs crossbeam at 4 workers, and the cost of tracing. Also shown in the
/// README.
pub fn headline(r: &Results) -> String {
    let mut s = String::new();
    let overhead = overhead_cells(r);
    if let Some(first) = overhead.first() {
        let _ = writeln!(
            s,
            "Per-job overhead, `noop` × {} jobs, quiet (ns per job: median (min–max) of {} rounds; lower is better):\n",
            thousands(first.jobs),
            first.rounds
        );
        s += "| backend |";
        for c in &overhead {
            let _ = write!(s, " {} workers |", c.workers);
        }
        s += "\n|---|";
        s += &"---:|".repeat(overhead.len());
        s += "\n";
        // A broker's round trip is timed in the broker cells instead.
        for backend in present_backends(r).into_iter().filter(|b| !b.is_micros()) {
            let _ = write!(s, "| {backend} |");
            for c in &overhead {
                let cell = c.backends.iter().find(|b| b.backend == backend);
                let text = match cell {
                    Some(b) => match (&b.stats, &b.failure) {
                        (Some(st), _) => spread(&st.overhead_ns),
                        (None, Some(_)) => "failed".to_owned(),
                        (None, None) => "–".to_owned(),
                    },
                    None if backend.is_baseline() => "–".to_owned(),
                    None => "not run".to_owned(),
                };
                let _ = write!(s, " {text} |");
            }
            s += "\n";
        }
        if overhead.iter().any(|c| c.backends.iter().any(|b| b.backend.is_baseline())) {
            s +=
                "\nThe sequential baseline runs every job on one thread with no pool; it is shown once, at 1 worker.\n";
        }
        if let Some((q, decided)) = std_vs_crossbeam(r, 4) {
            let same = if q.indistinguishable() { " — indistinguishable" } else { "" };
            let open = if decided { "" } else { " (undecided: its 95% interval is wider than ±5%)" };
            let _ = writeln!(s, "\nstd / crossbeam at 4 workers, paired by round: **{}**{same}{open}.", ratio(&q));
        }
    }

    s += &flavor_table(r);
    s += &broker_table(r);

    let timed: Vec<&CellResult> = r.cells.iter().filter(|c| c.ideal_s > 0.0).collect();
    if !timed.is_empty() {
        let backends: Vec<Program> = present_backends(r).into_iter().filter(|b| !b.is_baseline()).collect();
        s += "\nMakespan / ideal (1.00 is the lower bound; median (min–max)):\n\n| workload | ideal |";
        for b in &backends {
            let _ = write!(s, " {b} |");
        }
        s += "\n|---|---:|";
        s += &"---:|".repeat(backends.len());
        s += "\n";
        for c in timed {
            let _ =
                write!(s, "| {} `{}` {}×{} | {} |", c.workload.name(), c.spec, c.workers, c.jobs, duration(c.ideal_s));
            for &b in &backends {
                let text = match c.backends.iter().find(|x| x.backend == b) {
                    Some(x) => match (&x.stats, &x.failure) {
                        (Some(st), _) => st.makespan_over_ideal.as_ref().map_or("–".to_owned(), spread),
                        (None, Some(_)) => "could not run".to_owned(),
                        (None, None) => "–".to_owned(),
                    },
                    None => "not run".to_owned(),
                };
                let _ = write!(s, " {text} |");
            }
            s += "\n";
        }
    }

    let costs: Vec<_> = r.traces.iter().filter(|t| t.tracing_cost_ns.is_some()).collect();
    if let Some(first) = costs.first() {
        let _ = write!(
            s,
            "\nCost of tracing (`--format jsonl` to a pipe vs `--quiet`, `{}` × {} jobs, {} workers), ns per job:",
            first.spec,
            thousands(first.jobs),
            first.workers
        );
        for t in &costs {
            let _ = write!(s, " {} {};", t.backend, interval(t.tracing_cost_ns.as_ref().expect("filtered")));
        }
        s.pop();
        s += ".\n";
    }
    s
}

/// Each tuned flavor against its textbook form, cell by cell: the
/// makespan ratio tuned / textbook, paired by round (below 1: tuned is
/// faster).
fn flavor_table(r: &Results) -> String {
    let pairs: Vec<(Program, Program)> = present_backends(r)
        .into_iter()
        .filter_map(|p| Some((p, p.textbook()?)))
        .filter(|(_, t)| present_backends(r).contains(t))
        .collect();
    let cells: Vec<&CellResult> =
        r.cells.iter().filter(|c| pairs.iter().any(|&(p, t)| c.ratio(p, t).is_some())).collect();
    if pairs.is_empty() || cells.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "\nTuned / textbook makespan, paired by round (median and 95% interval; below 1: the tuned flavor is faster):\n\n| workload |",
    );
    for (p, _) in &pairs {
        let _ = write!(s, " {p} |");
    }
    s += "\n|---|";
    s += &"---:|".repeat(pairs.len());
    s += "\n";
    for c in cells {
        let _ = write!(s, "| {} `{}` {}×{} |", c.workload.name(), c.spec, c.workers, thousands(c.jobs));
        for &(p, t) in &pairs {
            let text = c.ratio(p, t).map_or("–".to_owned(), |q| ratio(&q));
            let _ = write!(s, " {text} |");
        }
        s += "\n";
    }
    s
}

/// The tuned flavors' targets: `noop` at 2 workers, the fastest ≤ 5 ns and
/// every one ≤ 15 ns per job; the skewed load at 2 workers within 3% of
/// ideal; no `sleep:10ms` cell distinguishably slower than textbook. (The
/// `spin:100us` 2% target is every backend's, above.)
fn tuned_targets(r: &Results, out: &mut Vec<Target>) {
    let tuned: Vec<Program> = Program::all().filter(|p| p.textbook().is_some()).collect();
    let stats_in =
        |c: &CellResult, p: Program| c.backends.iter().find(|b| b.backend == p).and_then(|b| b.stats.clone());
    let noop2 = r.cells.iter().find(|c| c.workload == Family::Overhead && c.workers == 2);
    let measured: Vec<(Program, Stats)> =
        noop2.map_or_else(Vec::new, |c| tuned.iter().filter_map(|&p| Some((p, stats_in(c, p)?))).collect());
    let fastest = measured.iter().min_by(|a, b| a.1.overhead_ns.median.total_cmp(&b.1.overhead_ns.median));
    out.push(match (noop2, fastest) {
        (Some(c), Some((p, st))) => Target {
            what: "fastest tuned flavor ≤ 5 ns per job (`noop`, 2 workers)".into(),
            measured: format!("{p}: {} ns", spread(&st.overhead_ns)),
            met: Some(st.overhead_ns.median <= 5.0),
            evidence: evidence(r, c, *p, st),
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
                evidence: evidence(r, c, *p, st),
            });
        }
    }
    let skewed = r.cells.iter().find(|c| c.workload == Family::Skewed && c.workers == 2);
    for &p in &tuned {
        let Some(c) = skewed else { break };
        let Some(st) = stats_in(c, p) else { continue };
        let q = st.makespan_over_measured_ideal.or(st.makespan_over_ideal);
        out.push(Target {
            what: format!("skewed `{}` at 2 workers within 3% of ideal: {p}", c.spec),
            measured: q.as_ref().map_or("–".into(), |q| format!("{} of ideal", spread_ratio(q))),
            met: q.map(|q| q.median <= 1.03),
            evidence: evidence(r, c, p, &st),
        });
    }
    for c in r.cells.iter().filter(|c| c.workload == Family::Sleep) {
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

/// The cost of going distributed: `noop` jobs few enough for a broker,
/// every program that ran them, in µs per job.
fn broker_table(r: &Results) -> String {
    let cells: Vec<&CellResult> = r.cells.iter().filter(|c| c.workload == Family::Broker).collect();
    let Some(first) = cells.first() else { return String::new() };
    let mut s = format!(
        "\nThe cost of going distributed, `noop` × {} jobs, quiet (µs per job: median (min–max) of {} rounds; \
         lower is better):\n\n| backend |",
        thousands(first.jobs),
        first.rounds
    );
    for c in &cells {
        let _ = write!(s, " {} workers |", c.workers);
    }
    s += "\n|---|";
    s += &"---:|".repeat(cells.len());
    s += "\n";
    let ran = |b: Program| cells.iter().any(|c| c.backends.iter().any(|x| x.backend == b));
    for backend in present_backends(r).into_iter().filter(|&b| ran(b)) {
        let _ = write!(s, "| {backend} |");
        for c in &cells {
            let text = match c.backends.iter().find(|b| b.backend == backend) {
                Some(b) => match (&b.stats, &b.failure) {
                    (Some(st), _) => spread(&micros(&st.overhead_ns)),
                    (None, Some(_)) => "failed".to_owned(),
                    (None, None) => "–".to_owned(),
                },
                None => "–".to_owned(),
            };
            let _ = write!(s, " {text} |");
        }
        s += "\n";
    }
    s
}

/// A spread of nanoseconds in microseconds.
fn micros(ns: &Spread) -> Spread {
    Spread { median: ns.median / 1e3, lo: ns.lo / 1e3, hi: ns.hi / 1e3 }
}

/// One performance target's verdict.
struct Target {
    what: String,
    measured: String,
    met: Option<bool>,
    /// Figures from the same run that bear on why: see [`evidence`].
    evidence: String,
}

/// What the run itself says about a backend's result in a cell: how many
/// cores it kept busy (CPU time / makespan), and from the traced run of the
/// same cell, if any, the median job's service time (against the spec's
/// nominal duration) and the slow end of pickup (the hand-off to a free
/// worker).
fn evidence(r: &Results, c: &CellResult, backend: Program, st: &Stats) -> String {
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
    let trace = r.traces.iter().find(|t| {
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

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

fn targets(r: &Results) -> Vec<Target> {
    let mut out = Vec::new();
    let pools = |c: &CellResult| -> Vec<(Program, Option<Stats>)> {
        c.backends.iter().filter(|b| !b.backend.is_baseline()).map(|b| (b.backend, b.stats.clone())).collect()
    };
    let find = |w: Family, spec: &str, workers: u32, jobs: u64| {
        r.cells.iter().find(|c| c.workload == w && c.spec == spec && c.workers == workers && c.jobs == jobs)
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
                        (m, Some(ok), evidence(r, c, backend, st))
                    }
                    None => ("could not run".to_owned(), Some(false), "–".to_owned()),
                };
                out.push(Target { what: format!("{what}: {backend}"), measured, met, evidence });
            }
        }
    };
    let noop2 = r.cells.iter().find(|c| c.workload == Family::Overhead && c.workers == 2);
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
    let four = r.cells.iter().find(|c| c.workload == Family::Overhead && c.workers == 4);
    let busy = |b: Program| {
        let c = four?;
        let st = c.backends.iter().find(|x| x.backend == b)?.stats.as_ref()?;
        Some(format!("{b} {}", evidence(r, c, b, st)))
    };
    let four_evidence =
        [busy(Program::known("std")), busy(Program::known("crossbeam"))].into_iter().flatten().collect::<Vec<_>>();
    out.push(Target {
        what: "std no more than 1.3× crossbeam at 4 workers".into(),
        measured: std_vs_crossbeam(r, 4).map_or_else(|| "–".into(), |(q, _)| ratio(&q)),
        met: std_vs_crossbeam(r, 4).map(|(q, _)| q.median <= 1.3),
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
            .and_then(|(c, b)| Some(evidence(r, c, b.backend, b.stats.as_ref()?)))
            .unwrap_or_else(|| "–".into()),
    });
    broker_targets(r, &mut out);
    tuned_targets(r, &mut out);
    let cost = r.traces.iter().filter(|t| t.tracing_cost_ns.is_some()).collect::<Vec<_>>();
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
fn broker_targets(r: &Results, out: &mut Vec<Target>) {
    for p in Program::all().filter(|p| p.is_micros()) {
        let find = |w: Family, workers: u32| r.cells.iter().find(|c| c.workload == w && c.workers == workers);
        let mut target = |what: String, cell: Option<&CellResult>, judge: &dyn Fn(&Stats) -> (String, bool)| {
            let result = cell.and_then(|c| Some((c, c.backends.iter().find(|b| b.backend == p)?)));
            out.push(match result {
                None => Target { what, measured: "not in this run".into(), met: None, evidence: "–".into() },
                Some((c, b)) => match &b.stats {
                    Some(st) => {
                        let (measured, met) = judge(st);
                        Target { what, measured, met: Some(met), evidence: evidence(r, c, p, st) }
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

/// What the figures mean, in plain sentences derived from them.
fn meaning(r: &Results) -> String {
    let mut s = String::new();
    let ranked = |c: &CellResult| -> Vec<(Program, Stats)> {
        c.backends
            .iter()
            .filter(|b| !b.backend.is_baseline())
            .filter_map(|b| Some((b.backend, b.stats.clone()?)))
            .collect()
    };
    if let Some(c) = r.cells.iter().find(|c| c.workload == Family::Overhead && c.workers == 2) {
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
    let sleeps: Vec<&CellResult> = r.cells.iter().filter(|c| c.workload == Family::Sleep).collect();
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
        let cells: Vec<&CellResult> = r.cells.iter().filter(|c| c.workload == workload && c.workers == 2).collect();
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
    s
}

fn cell_table(s: &mut String, c: &CellResult) {
    let _ = writeln!(s, "### {}\n", title(c));
    let measured = c.measured_ideal_s.map_or(String::new(), |m| format!(" (measured: {})", duration(m)));
    let stop = match c.stop {
        Stop::Decided => "decided",
        Stop::Budget => "stopped by the budget",
        Stop::MaxRounds => "stopped at the round limit",
        Stop::Fixed => "fixed count",
    };
    let undecided: Vec<&str> = c.undecided.iter().map(|p| p.name()).collect();
    let undecided = if undecided.is_empty() {
        String::new()
    } else {
        format!("; left undecided (interval wider than ±5%): {}", undecided.join(", "))
    };
    let _ = writeln!(
        s,
        "Ideal makespan {}{measured}; seed {}; {} counted rounds ({stop}){undecided}.\n",
        duration(c.ideal_s),
        c.seed,
        c.rounds
    );
    *s += "| rank | backend | makespan | vs fastest (paired) | jobs/s | overhead / job | efficiency | CPU user+sys | peak RSS |\n";
    *s += "|---:|---|---:|---:|---:|---:|---:|---:|---:|\n";
    for b in &c.backends {
        let Some(st) = &b.stats else { continue };
        let versus = if st.vs_fastest.median == 1.0 && st.vs_fastest.lo == 1.0 && st.vs_fastest.hi == 1.0 {
            "fastest".to_owned()
        } else if st.indistinguishable_from_fastest {
            format!("indistinguishable ({})", ratio(&st.vs_fastest))
        } else {
            ratio(&st.vs_fastest)
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {versus} | {} | {} | {} | {} | {} MiB |",
            st.rank,
            backend_name(b),
            spread_time(&st.makespan_s),
            sig3(st.jobs_per_s.median),
            if c.workload == Family::Broker {
                format!("{} µs", spread(&micros(&st.overhead_ns)))
            } else {
                format!("{} ns", spread(&st.overhead_ns))
            },
            st.efficiency.as_ref().map_or("–".to_owned(), |e| format!("{:.1}%", e.median * 100.0)),
            duration(st.cpu_s.median),
            sig3(st.max_rss_mib.median),
        );
    }
    for b in c.backends.iter().filter(|b| b.stats.is_none()) {
        let why = b.failure.as_deref().unwrap_or("no samples");
        let _ = writeln!(s, "\n**{} could not run this cell:** {why}", b.backend);
    }
    match &c.baseline {
        Baseline::NotRun(why) => {
            let _ = writeln!(s, "\nSequential baseline not run: {why}.");
        }
        Baseline::InFirstCell | Baseline::Measured => {}
    }
    *s += "\n";
}

/// The whole report.
/// Every program of the run: what it is, and whether it was verified, timed
/// only, or skipped (with the reason).
fn programs(r: &Results) -> String {
    let mut s = String::new();
    let present = |p: Program| {
        r.cells.iter().any(|c| c.backends.iter().any(|b| b.backend == p))
            || r.verification.iter().any(|c| c.outcomes.contains_key(&p))
            || r.skipped.contains_key(&p)
    };
    for p in Program::all().filter(|&p| present(p)) {
        let role = match p.entry().role {
            Role::Backend => "backend",
            Role::Baseline => "baseline",
            Role::Reference => "reference, not a backend: it logs nothing, so the checker does not verify it",
        };
        let _ = write!(s, "- **{p}** ({role}): {}", p.entry().about);
        if let Some(why) = r.skipped.get(&p) {
            let _ = write!(s, ". **Skipped**: {why}");
        }
        s += "\n";
    }
    s
}

pub fn render(r: &Results) -> String {
    let m = &r.machine;
    let mut s = String::new();
    s += "# workerpools: compare report\n\n";
    let _ = writeln!(
        s,
        "Generated by `{}`{}; do not edit by hand — rerun the command. Raw samples: [results.json](results.json).\n",
        m.command,
        if r.quick { " (**--quick**: small sizes, few runs; not for conclusions)" } else { "" }
    );
    s += "## Machine\n\n| | |\n|---|---|\n";
    let crates: Vec<String> = m.crates.iter().map(|(k, v)| format!("{k} {v}")).collect();
    for (k, v) in [
        ("CPU", m.cpu.clone()),
        ("cores", m.cores.to_string()),
        ("memory", format!("{} GiB", m.memory_gib)),
        ("OS", m.os.clone()),
        ("kernel", m.kernel.clone()),
        ("compiler", m.rustc.clone()),
        ("crates (Cargo.lock)", crates.join(", ")),
        ("commit", format!("{}{}", m.commit, if m.dirty { " (working tree had uncommitted changes)" } else { "" })),
        ("date", m.date.clone()),
        ("command", format!("`{}`", m.command)),
        (
            "load average",
            format!(
                "{:.2} at start, {:.2} at end, on {} cores (above the xtask's own ~1, other work on the machine skews the figures)",
                m.load_at_start, m.load_at_end, m.cores
            ),
        ),
        ("runs", format!("{} warmup + {}; each run a fresh process", r.warmup_runs, r.rounds)),
    ] {
        let _ = writeln!(s, "| {k} | {v} |");
    }

    s += "\n## Programs\n\n";
    s += &programs(r);
    s += "\n## Verification\n\nBefore anything is timed, every backend runs each case below as a subprocess with \
          `--format jsonl` (the one-worker case with the seed's text format); pool-core's trace checker judges each \
          log (with JSON lines also that each job took its planned time and that no worker left while jobs remained), \
          and its canonical summary must equal the expected one, so all backends' summaries are identical; the \
          `concurrency` case also needs every worker running at once. A backend that fails is not benchmarked. \
          \"not run\": the sequential baseline runs only the one-worker cases (it runs every job on one worker).\n\n";
    if r.verification.is_empty() {
        s += "(no verification in this run)\n";
    } else {
        let backends: Vec<Program> =
            Program::all().filter(|b| r.verification.iter().any(|c| c.outcomes.contains_key(b))).collect();
        s += "| case | what it exercises |";
        for b in &backends {
            let _ = write!(s, " {b} |");
        }
        s += "\n|---|---|";
        s += &"---|".repeat(backends.len());
        s += "\n";
        for case in &r.verification {
            let _ = write!(s, "| {} | {} |", case.case, case.about);
            for b in &backends {
                let mark = match case.outcomes.get(b) {
                    Some(None) => "same",
                    Some(Some(_)) => "**DIFFERS**",
                    None => "not run",
                };
                let _ = write!(s, " {mark} |");
            }
            s += "\n";
        }
        for m in r.verification.iter().flat_map(|c| c.outcomes.values().flatten()) {
            let _ = writeln!(s, "\n- {m}");
        }
    }

    s += "\n## Headline\n\n";
    s += &headline(r);
    s += "\n## Performance targets\n\nShown, not asserted: a missed target is reported here, not hidden.\n\n";
    s += "Evidence: figures from this run that bear on the cause — cores busy = CPU time / makespan (the \
          machine's core count is the most there is), with the median system time (waking and parking threads \
          is kernel time), and from the traced run of the same cell the median job's service time \
          (start to finish; a sleep or spin taking longer than its spec is the machine or the timer, not the \
          hand-off) and the 99th percentile of pickup (a free worker getting its next job).\n\n";
    s += "| target | measured | verdict | evidence |\n|---|---|---|---|\n";
    for t in targets(r) {
        let _ = writeln!(s, "| {} | {} | {} | {} |", t.what, t.measured, verdict(t.met), t.evidence);
    }
    s += "\n## What the figures mean\n\n";
    s += &meaning(r);

    s += "\n## Results per workload\n\nSorted fastest first by median makespan. Intervals are min–max over the counted \
          runs; where two backends' intervals overlap they share a rank and are called indistinguishable rather than \
          ordered. \"vs fastest\" is makespan / the fastest median, with the widest interval the two ranges allow.\n\n";
    for c in &r.cells {
        cell_table(&mut s, c);
    }

    s += "## Latency (traced runs)\n\nSeparate runs with `--format jsonl` (timestamps cost more than a `noop` \
          handoff, so the timed runs above are quiet). Microseconds, p50 / p99 / max over every job of the traced \
          runs. Queue wait = a job's start time since pool start (the whole batch is submitted at start; the \
          producer's enqueue instant is not logged). End-to-end = its finish time since pool start. Pickup = from \
          the worker's previous event (its last job's end, or pool start) to this start: the handoff plus logging. \
          Service = start to finish.\n\n";
    s += "| workload | backend | queue wait | end-to-end | pickup | service |\n|---|---|---:|---:|---:|---:|\n";
    for t in &r.traces {
        let p = |x: &crate::latency::Percentiles| format!("{} / {} / {}", x.p50_us, x.p99_us, x.max_us);
        let what = format!("{} `{}` {}×{}", t.workload.name(), t.spec, t.workers, t.jobs);
        match &t.failure {
            Some(why) => {
                let _ = writeln!(s, "| {what} | {} | failed: {why} | | | |", t.backend);
            }
            None => {
                let _ = writeln!(
                    s,
                    "| {what} | {} | {} | {} | {} | {} |",
                    t.backend,
                    p(&t.queue_wait),
                    p(&t.end_to_end),
                    p(&t.pickup),
                    p(&t.service)
                );
            }
        }
    }

    s += "\n## Method\n\n\
- Each run is a fresh process of the backend's release binary (`target/release/pool-<backend>`), so allocator and \
  runtime state never carry over. The backend order rotates each round; warmup rounds are run and discarded.\n\
- Makespan is what the pool itself reports: from starting the workers to the last worker's exit (microsecond \
  resolution, as the binary prints it); process start-up is excluded, but kept in `results.json` as `wall_s`.\n\
- Per-job overhead = (makespan − ideal) / jobs. The ideal makespan is a lower bound: 0 for `noop`; \
  ceil(J / W) × d for uniform sleeps; max(total work / min(W, cores), longest job) for CPU work, with ranged \
  durations summed from the same per-job durations the backends draw (`pool_core::Work::duration`). \
  Efficiency = ideal / makespan.\n\
- CPU time (user + system) and peak RSS are the child's own, from wait4(2).\n\
- The sequential baseline (`pool-sequential -w 1`) runs every job in one loop on the main thread, through the \
  same per-job code (log, panic boundary, result) as the pools; it runs once per workload, where a loop is short \
  enough.\n\
- The `skewed` workload draws each job's duration log-uniformly from 10 µs to 20 ms (`spin:10us~20ms`): \
  every decade is equally likely, so most jobs are short and the longest tenth carries about half the work, \
  which tests load balancing.\n";

    s += "\n## Plots\n\n- [Per-job overhead vs workers](overhead.svg)\n- [Makespan / ideal per workload](makespan-ideal.svg)\n";
    for w in super::plot::latency_workloads(r) {
        let _ = writeln!(s, "- [End-to-end latency CDF, {}](latency-{}.svg)", w.name(), w.name());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::tests::{backend, cell, sample_results};
    use super::*;

    #[test]
    fn tuned_flavors_are_paired_with_their_textbook_form_and_judged() {
        let mut r = sample_results();
        let (std, tuned) = (Program::known("std"), Program::known("std-tuned"));
        r.cells = vec![
            cell(
                Family::Overhead,
                "noop",
                2,
                10_000_000,
                0.0,
                vec![backend(std, 2, 0.0, &[2.0, 2.2, 2.1]), backend(tuned, 2, 0.0, &[0.1, 0.12, 0.11])],
            ),
            cell(
                Family::Sleep,
                "sleep:10ms",
                100,
                1_000,
                0.1,
                vec![backend(std, 100, 0.1, &[0.101, 0.102, 0.103]), backend(tuned, 100, 0.1, &[0.102, 0.104, 0.106])],
            ),
        ];
        let h = headline(&r);
        assert!(h.contains("| workload | std-tuned |"), "{h}");
        assert!(h.contains("| overhead `noop` 2×10,000,000 | 0.052× (0.050–0.055) |"), "{h}");
        let t = render(&r);
        assert!(t.contains("| fastest tuned flavor ≤ 5 ns per job (`noop`, 2 workers) | std-tuned: 11.0 (10.0–12.0) ns | **missed** |"), "{t}");
        assert!(
            t.contains("| tuned ≤ 15 ns per job (`noop`, 2 workers): std-tuned | 11.0 (10.0–12.0) ns | met |"),
            "{t}"
        );
        assert!(t.contains("| `sleep:10ms` 100×1,000: std-tuned no slower than textbook | tuned / textbook 1.02× (1.01–1.03) | **missed** |"), "{t}");
    }

    #[test]
    fn headline_has_overhead_ratio_and_makespan_tables() {
        let h = headline(&sample_results());
        assert!(h.contains("| backend | 2 workers | 4 workers |"), "{h}");
        assert!(h.contains("| std | 210 (200–220) | 310 (300–330) |"), "{h}");
        assert!(h.contains("| crossbeam | 110 (100–120) | 160 (150–170) |"), "{h}");
        assert!(h.contains("std / crossbeam at 4 workers, paired by round: **1.94× (1.94–2.00)**."), "{h}");
        assert!(
            h.contains("| cpu `spin:100us` 2×10000 | 500 ms | 1.02 (1.01–1.04) | 1.01 (1.01–1.03) | could not run |"),
            "{h}"
        );
        assert!(h.contains("ns per job: std 400 (400–400)."), "{h}");
    }

    #[test]
    fn cell_tables_rank_and_say_indistinguishable() {
        let r = render(&sample_results());
        let cpu = r.split("### cpu").nth(1).unwrap();
        let rows: Vec<&str> = cpu.lines().filter(|l| l.starts_with("| 1 ")).collect();
        assert_eq!(rows.len(), 2, "{cpu}");
        assert!(rows[0].starts_with("| 1 | crossbeam | 506 ms (504–515) | fastest |"), "{}", rows[0]);
        assert!(
            rows[1].starts_with("| 1 | std | 510 ms (505–520) | indistinguishable (1.01× (1.00–1.01)) |"),
            "{}",
            rows[1]
        );
        assert!(cpu.contains("**tokio could not run this cell:** exit status 3: out of memory"));
        let noop = r.split("### overhead: `noop`, 1,000,000 jobs, 2 workers").nth(1).unwrap();
        assert!(noop.contains("| 2 | std | 210 ms (200–220) | 1.91× (1.83–2.00) |"), "{noop}");
    }

    #[test]
    fn targets_are_judged_and_misses_shown() {
        let r = render(&sample_results());
        assert!(
            r.contains("| per-job overhead at 2 workers < 155 ns (Go): std | 210 (200–220) ns | **missed** |"),
            "{r}"
        );
        assert!(r.contains("| per-job overhead at 2 workers < 155 ns (Go): crossbeam | 110 (100–120) ns | met |"));
        assert!(r.contains("| `spin:100us` at 2 workers within 2% of ideal: tokio | could not run | **missed** |"));
        assert!(r.contains("| std no more than 1.3× crossbeam at 4 workers | 1.94× (1.94–2.00) | **missed** |"));
        assert!(r.contains("| `sleep:10ms` 100 × 1,000 within 5% of ideal | cell not in this run | not measured |"));
        let targets = r.split("## Performance targets").nth(1).unwrap().split("## What").next().unwrap();
        assert!(
            targets.contains(
                "| **missed** | 1.05 cores busy (10.0 ms of it in the kernel); service p50 0 ns (spec `noop`), \
                 pickup p99 1.00 µs |"
            ),
            "{targets}"
        );
        assert!(
            targets.contains(
                "| **missed** | std 1.03 cores busy (10.0 ms of it in the kernel); crossbeam 1.06 cores busy (10.0 ms \
                 of it in the kernel) |"
            ),
            "{targets}"
        );
    }

    #[test]
    fn machine_and_meaning_are_stated() {
        let r = render(&sample_results());
        assert!(r.contains("| CPU | Test CPU |") && r.contains("| crates (Cargo.lock) | tokio 1.0.0 |"));
        assert!(r.contains("At 2 workers crossbeam hands off a job in 110 ns, std in 210 ns (1.91× as long)."), "{r}");
        assert!(r.contains("| overhead `noop` 2×100000 | std | 20000 / 40000 / 41000 |"));
    }

    #[test]
    fn big_numbers_get_separators() {
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(100), "100");
        assert_eq!(thousands(0), "0");
    }
}
