//! `REPORT.md`: the machine, the programs, the verification, the headline
//! figures, the performance targets, what the figures mean, a table per
//! cell sorted by speed, latency from the traced runs, and how everything
//! was measured. It renders: every judgement comes from
//! [`Findings`](crate::findings::Findings), every table goes through
//! [`Table`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::table::{Align, Table};
use super::{Exporter, Results};
use crate::program::{Program, Role};
use crate::results::{CellResult, ProgramResult};
use crate::stats::Stop;
use crate::units::{duration, interval, micros, ratio, sig3, spread, spread_time, thousands};
use crate::workload::{Baseline, Family};

/// The Markdown exporter.
pub struct Markdown;

impl Exporter for Markdown {
    fn export(&self, results: &Results, dir: &Path) -> Result<Vec<PathBuf>> {
        Ok(vec![super::write(dir, "REPORT.md", render(results).as_bytes())?])
    }
}

fn backend_name(b: &ProgramResult) -> String {
    match b.backend.entry().role {
        Role::Baseline => format!("{} (no pool, 1 thread)", b.backend),
        Role::Reference if b.backend.is_baseline() => format!("{} (reference, 1 thread)", b.backend),
        Role::Reference => format!("{} (reference)", b.backend),
        Role::Backend => b.backend.to_string(),
    }
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

fn overhead_cells(r: &Results) -> Vec<&CellResult> {
    r.cells.iter().filter(|c| c.workload == Family::Overhead).collect()
}

fn present_backends(r: &Results) -> Vec<Program> {
    Program::all().filter(|b| r.cells.iter().any(|c| c.backends.iter().any(|x| x.backend == *b))).collect()
}

/// A program's figure in a cell, or why there is none.
fn figure(c: &CellResult, p: Program, f: impl Fn(&crate::results::Stats) -> Option<String>) -> String {
    match c.backends.iter().find(|x| x.backend == p) {
        Some(x) => match (&x.stats, &x.failure) {
            (Some(st), _) => f(st).unwrap_or_else(|| "–".to_owned()),
            (None, Some(_)) => "could not run".to_owned(),
            (None, None) => "–".to_owned(),
        },
        None if p.is_baseline() || p.is_reference() => "–".to_owned(),
        None => "not run".to_owned(),
    }
}

/// The headline: per-job overhead by workers (with the reference rows),
/// the std / crossbeam ratio, makespan / ideal per cell (nominal and
/// measured), and the cost of tracing. Also shown in the README.
pub fn headline(r: &Results) -> String {
    let mut s = String::new();
    let overhead = overhead_cells(r);
    if let Some(first) = overhead.first() {
        let rounds: Vec<u32> = overhead.iter().map(|c| c.rounds).collect();
        let (lo, hi) = (rounds.iter().min().unwrap_or(&0), rounds.iter().max().unwrap_or(&0));
        let rounds = if lo == hi { lo.to_string() } else { format!("{lo}–{hi}") };
        let _ = writeln!(
            s,
            "Per-job overhead, `noop` × {} jobs, quiet (ns per job: median (min–max) of {rounds} rounds; lower is \
             better):\n",
            thousands(first.jobs),
        );
        let mut t = Table::new(
            std::iter::once(("program".to_owned(), Align::Left))
                .chain(overhead.iter().map(|c| (format!("{} workers", c.workers), Align::Right))),
        );
        // A broker's round trip is timed in the broker cells instead.
        for p in present_backends(r).into_iter().filter(|p| !p.is_micros() && p.times_kind(pool_core::Kind::Noop)) {
            let name = if p.is_reference() { format!("{p} (reference)") } else { p.to_string() };
            t.row(
                std::iter::once(name).chain(overhead.iter().map(|c| figure(c, p, |st| Some(spread(&st.overhead_ns))))),
            );
        }
        s += &t.render();
        if overhead.iter().any(|c| c.backends.iter().any(|b| b.backend.is_baseline())) {
            s += "\nOne-worker programs (the sequential baseline, the bare loop) are shown once, at 1 worker. The \
                  references are not backends: they log nothing, so the checker does not verify them.\n";
        }
        if let Some(h) = &r.findings.std_vs_crossbeam_4 {
            let same = if h.ratio.indistinguishable() { " — indistinguishable" } else { "" };
            let open = if h.decided { "" } else { " (undecided: its 95% interval is wider than ±5%)" };
            let _ =
                writeln!(s, "\nstd / crossbeam at 4 workers, paired by round: **{}**{same}{open}.", ratio(&h.ratio));
        }
    }

    s += &throughput_table(r);
    s += &flavor_table(r);
    s += &broker_table(r);

    let timed: Vec<&CellResult> = r.cells.iter().filter(|c| c.ideal_s > 0.0).collect();
    if !timed.is_empty() {
        let backends: Vec<Program> =
            present_backends(r).into_iter().filter(|b| !b.is_baseline() && !b.is_reference()).collect();
        s += "\nMakespan / ideal (1.00 is the lower bound; median (min–max)). For CPU work a second row divides by \
              the measured ideal, round by round (median and 95% interval): the `longest-first` reference's makespan \
              in the same round: the same jobs, longest first, taken one at a time by as many threads as the pool \
              could use, with no queue and no results handed back. The spin loop's calibration and the machine's \
              speed with every core busy drop out:\n\n";
        let mut t = Table::new(
            [("workload".to_owned(), Align::Left), ("ideal".to_owned(), Align::Right)]
                .into_iter()
                .chain(backends.iter().map(|b| (b.to_string(), Align::Right))),
        );
        for c in timed {
            let what = format!("{} `{}` {}×{}", c.workload.name(), c.spec, c.workers, c.jobs);
            let cells = backends.iter().map(|&b| figure(c, b, |st| st.makespan_over_ideal.as_ref().map(spread)));
            t.row([what.clone(), duration(c.ideal_s)].into_iter().chain(cells));
            if let Some(m) = c.measured_ideal_s {
                let cells =
                    backends.iter().map(|&b| figure(c, b, |st| st.makespan_over_measured_ideal.as_ref().map(interval)));
                t.row([format!("{what}, measured ideal"), duration(m)].into_iter().chain(cells));
            }
        }
        s += &t.render();
    }

    let costs: Vec<_> = r.traces.iter().filter(|t| t.tracing_cost_ns.is_some()).collect();
    if let Some(first) = costs.first() {
        let _ = write!(
            s,
            "\nCost of tracing (`--format jsonl` to a pipe vs `--quiet`, `{}` × {} jobs, {} workers), ns per job, \
             paired by round:",
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

/// The throughput cell (`noop` × ten million at 2 workers): every program's
/// whole process per job, with and without its start, beside the pool's
/// own makespan per job.
fn throughput_table(r: &Results) -> String {
    let Some(c) = r.cells.iter().find(|c| c.workload == Family::Throughput) else { return String::new() };
    let mut s = format!(
        "\nThroughput, `{}` × {} jobs at {} workers, whole process: spawn to reaping (ns per job: median (min–max) of \
         {} rounds), the same less the program's 0-job run of the same round (median and 95% interval of the \
         per-round differences), and the pool's own makespan for comparison; lower is better:\n\n",
        c.spec,
        thousands(c.jobs),
        c.workers,
        c.rounds
    );
    let mut t = Table::new([
        ("program", Align::Left),
        ("whole process", Align::Right),
        ("less its 0-job run", Align::Right),
        ("pool's makespan", Align::Right),
    ]);
    for p in present_backends(r).into_iter().filter(|&p| c.backends.iter().any(|b| b.backend == p)) {
        let name = if p.is_reference() { format!("{p} (reference)") } else { p.to_string() };
        t.row([
            name,
            figure(c, p, |st| Some(spread(&st.whole_ns))),
            figure(c, p, |st| st.whole_less_start_ns.as_ref().map(interval)),
            figure(c, p, |st| Some(spread(&st.overhead_ns))),
        ]);
    }
    s += &t.render();
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
        "\nTuned / textbook makespan, paired by round (median and 95% interval; below 1: the tuned flavor is \
         faster):\n\n",
    );
    let mut t = Table::new(
        std::iter::once(("workload".to_owned(), Align::Left))
            .chain(pairs.iter().map(|(p, _)| (p.to_string(), Align::Right))),
    );
    for c in cells {
        let what = format!("{} `{}` {}×{}", c.workload.name(), c.spec, c.workers, thousands(c.jobs));
        t.row(
            std::iter::once(what)
                .chain(pairs.iter().map(|&(p, tb)| c.ratio(p, tb).map_or("–".to_owned(), |q| ratio(&q)))),
        );
    }
    s += &t.render();
    s
}

/// The cost of going distributed: `noop` jobs few enough for a broker,
/// every program that ran them, in µs per job.
fn broker_table(r: &Results) -> String {
    let cells: Vec<&CellResult> = r.cells.iter().filter(|c| c.workload == Family::Broker).collect();
    let Some(first) = cells.first() else { return String::new() };
    let mut s = format!(
        "\nThe cost of going distributed, `noop` × {} jobs, quiet (µs per job: median (min–max) of {} rounds; \
         lower is better):\n\n",
        thousands(first.jobs),
        first.rounds
    );
    let mut t = Table::new(
        std::iter::once(("program".to_owned(), Align::Left))
            .chain(cells.iter().map(|c| (format!("{} workers", c.workers), Align::Right))),
    );
    let ran = |b: Program| cells.iter().any(|c| c.backends.iter().any(|x| x.backend == b));
    for p in present_backends(r).into_iter().filter(|&b| ran(b)) {
        t.row(std::iter::once(p.to_string()).chain(cells.iter().map(
            |c| match c.backends.iter().find(|b| b.backend == p) {
                Some(b) => match (&b.stats, &b.failure) {
                    (Some(st), _) => spread(&micros(&st.overhead_ns)),
                    (None, Some(_)) => "failed".to_owned(),
                    (None, None) => "–".to_owned(),
                },
                None => "–".to_owned(),
            },
        )));
    }
    s += &t.render();
    s
}

/// The traced `sleep` runs' lateness: each finished job's service time less
/// its planned sleep, p50 / p99 / max, per program: the timer's precision
/// and the wake-up, read straight off the log. Empty without such runs.
fn sleep_lateness(r: &Results) -> String {
    let sleeps: Vec<_> = r
        .traces
        .iter()
        .filter(|x| x.spec.starts_with("sleep:") && x.failure.is_none())
        .filter_map(|x| Some((x, x.over_plan?)))
        .collect();
    if sleeps.is_empty() {
        return String::new();
    }
    let mut s =
        "\n### Waiting jobs: how late each sleep ends\n\nService time less the planned sleep, for every job of \
                 the traced `sleep` runs, µs, p50 / p99 / max: the timer's precision plus the wake-up. tokio's timer \
                 wheel fires on whole milliseconds (a sleep ends at the first tick past its deadline, so up to 1 ms \
                 late); smol's async-io timers and the thread pools' `thread::sleep` wake at the deadline itself, so \
                 what shows is the wake-up, which grows when many workers wake at once on few cores.\n\n"
            .to_owned();
    let mut t = Table::new([("workload", Align::Left), ("program", Align::Left), ("late by", Align::Right)]);
    for (x, late) in sleeps {
        let what = format!("{} `{}` {}×{}", x.workload.name(), x.spec, x.workers, x.jobs);
        t.row([what, x.backend.to_string(), format!("{} / {} / {}", late.p50_us, late.p99_us, late.max_us)]);
    }
    s += &t.render();
    s
}

/// A user's cell's verdict in plain words: "For `w=8 j=1000 work=…`:
/// crossbeam is fastest (12.3 ms); std is indistinguishable from it; tokio
/// takes 1.40× (1.32–1.51) as long."
pub fn verdict_line(v: &crate::analysis::Verdict) -> String {
    let names = |ps: &[Program]| ps.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ");
    let mut line = format!("**For `{}`:** ", v.cell);
    match v.fastest {
        Some((p, makespan)) => line += &format!("{p} is fastest ({})", duration(makespan)),
        None => line += "no pool ran it",
    }
    match v.same.len() {
        0 => {}
        1 => line += &format!("; {} is indistinguishable from it", names(&v.same)),
        _ => line += &format!("; {} are indistinguishable from it", names(&v.same)),
    }
    let slower: Vec<String> = v.slower.iter().map(|(p, q)| format!("{p} {}", ratio(q))).collect();
    if !slower.is_empty() {
        line += &format!("; slower, in makespan over the fastest's (paired by round): {}", slower.join(", "));
    }
    let failed: Vec<String> = v.failed.iter().map(|(p, why)| format!("{p} ({why})")).collect();
    if !failed.is_empty() {
        line += &format!("; could not run it: {}", failed.join(", "));
    }
    line += ".";
    if v.undecided {
        line += &format!(
            " Left undecided after {} rounds: some intervals are wider than ±5%, so \"indistinguishable\" may mean \
             \"not yet told apart\"; a larger `--budget` (or no `--quick`) runs more rounds.",
            v.rounds
        );
    }
    line
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

fn stop(stop: Stop) -> &'static str {
    match stop {
        Stop::Decided => "decided",
        Stop::Budget => "stopped by the budget",
        Stop::MaxRounds => "stopped at the round limit",
        Stop::Fixed => "fixed count",
    }
}

fn cell_table(s: &mut String, c: &CellResult) {
    let _ = writeln!(s, "### {}\n", title(c));
    let measured = c.measured_ideal_s.map_or(String::new(), |m| format!(" (measured: {})", duration(m)));
    let undecided: Vec<&str> = c.undecided.iter().map(|p| p.name()).collect();
    let undecided = if undecided.is_empty() {
        String::new()
    } else {
        format!("; left undecided (interval wider than ±5%): {}", undecided.join(", "))
    };
    let _ = writeln!(
        s,
        "Ideal makespan {}{measured}; seed {}; {} counted rounds ({}){undecided}.\n",
        duration(c.ideal_s),
        c.seed,
        c.rounds,
        stop(c.stop)
    );
    // Cells that time the whole process less its start show both.
    let whole = c.backends.iter().any(|b| b.stats.as_ref().is_some_and(|st| st.whole_less_start_ns.is_some()));
    if whole {
        *s += "Whole process = spawn to reaping, per job; less its 0-job run = the same less the program's run \
               with 0 jobs in the same round, median and 95% interval of the per-round differences.\n\n";
    }
    let whole_columns: &[(&str, Align)] =
        if whole { &[("whole process / job", Align::Right), ("less its 0-job run", Align::Right)] } else { &[] };
    // Where Go by Example's pool ran, each program's makespan over its, paired
    // by round: the goroutine runtime as the yardstick (noop, sleep cells).
    let go = Program::named("gobyexample").filter(|&g| c.backends.iter().any(|b| b.backend == g && b.stats.is_some()));
    let go_column: &[(&str, Align)] = if go.is_some() { &[("vs Go (paired)", Align::Right)] } else { &[] };
    let mut t = Table::new(
        [
            ("rank", Align::Right),
            ("program", Align::Left),
            ("makespan", Align::Right),
            ("vs fastest (paired)", Align::Right),
        ]
        .into_iter()
        .chain(go_column.iter().copied())
        .chain([("jobs/s", Align::Right), ("overhead / job", Align::Right)])
        .chain(whole_columns.iter().copied())
        .chain([("efficiency", Align::Right), ("CPU user+sys", Align::Right), ("peak RSS", Align::Right)]),
    );
    for b in &c.backends {
        let Some(st) = &b.stats else { continue };
        let versus = if st.vs_fastest.median == 1.0 && st.vs_fastest.lo == 1.0 && st.vs_fastest.hi == 1.0 {
            "fastest".to_owned()
        } else if st.indistinguishable_from_fastest {
            format!("indistinguishable ({})", ratio(&st.vs_fastest))
        } else {
            ratio(&st.vs_fastest)
        };
        let whole_cells = if whole {
            vec![
                format!("{} ns", spread(&st.whole_ns)),
                st.whole_less_start_ns.as_ref().map_or("–".to_owned(), |q| format!("{} ns", interval(q))),
            ]
        } else {
            Vec::new()
        };
        let versus_go = go.map(|g| {
            if b.backend == g {
                "–".to_owned()
            } else {
                c.ratio(b.backend, g).map_or("–".to_owned(), |q| ratio(&q))
            }
        });
        t.row(
            [st.rank.to_string(), backend_name(b), spread_time(&st.makespan_s), versus]
                .into_iter()
                .chain(versus_go)
                .chain([
                    sig3(st.jobs_per_s.median),
                    if c.workload == Family::Broker {
                        format!("{} µs", spread(&micros(&st.overhead_ns)))
                    } else {
                        format!("{} ns", spread(&st.overhead_ns))
                    },
                ])
                .chain(whole_cells)
                .chain([
                    st.efficiency.as_ref().map_or("–".to_owned(), |e| format!("{:.1}%", e.median * 100.0)),
                    duration(st.cpu_s.median),
                    format!("{} MiB", sig3(st.max_rss_mib.median)),
                ]),
        );
    }
    *s += &t.render();
    for b in c.backends.iter().filter(|b| b.stats.is_none()) {
        let why = b.failure.as_deref().unwrap_or("no samples");
        let _ = writeln!(s, "\n**{} could not run this cell:** {why}", b.backend);
    }
    match &c.baseline {
        Baseline::Measured | Baseline::InFirstCell => {}
        Baseline::NotRun(why) => {
            let _ = writeln!(s, "\nThe sequential baseline was not run here: {why}.");
        }
    }
    *s += "\n";
}

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

/// The whole report.
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
    // The advice first: what a reader came for; the evidence follows.
    s += "## What the figures mean\n\n";
    for v in &r.findings.verdicts {
        let _ = writeln!(s, "- {}", verdict_line(v));
    }
    for line in &r.findings.meaning {
        let _ = writeln!(s, "- {line}");
    }
    s += "\n## Machine\n\n";
    let crates: Vec<String> = m.crates.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let mut t = Table::new([("", Align::Left), ("", Align::Left)]);
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
        t.row([k.to_owned(), v]);
    }
    s += &t.render();

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
        let mut t = Table::new(
            [("case".to_owned(), Align::Left), ("what it exercises".to_owned(), Align::Left)]
                .into_iter()
                .chain(backends.iter().map(|b| (b.to_string(), Align::Left))),
        );
        for case in &r.verification {
            let marks = backends.iter().map(|b| match case.outcomes.get(b) {
                Some(None) => "same",
                Some(Some(_)) => "**DIFFERS**",
                None => "not run",
            });
            t.row([case.case.clone(), case.about.clone()].into_iter().chain(marks.map(str::to_owned)));
        }
        s += &t.render();
        for m in r.verification.iter().flat_map(|c| c.outcomes.values().flatten()) {
            let _ = writeln!(s, "\n- {m}");
        }
    }

    s += "\n## Headline\n\n";
    s += &headline(r);
    s += "\n## Performance targets\n\nShown, not asserted: a missed target is reported here, not hidden.\n\n";
    s += "Evidence: figures from this run that bear on the cause — cores busy = CPU time / makespan (in the \
          throughput cell, / the whole process; the machine's core count is the most there is), with the median system time (waking and parking threads \
          is kernel time), and from the traced run of the same cell the median job's service time \
          (start to finish; a sleep or spin taking longer than its spec is the machine or the timer, not the \
          hand-off) and the 99th percentile of pickup (a free worker getting its next job).\n\n";
    let mut t = Table::new([
        ("target", Align::Left),
        ("measured", Align::Left),
        ("verdict", Align::Left),
        ("evidence", Align::Left),
    ]);
    for x in &r.findings.targets {
        t.row([x.what.clone(), x.measured.clone(), verdict(x.met).to_owned(), x.evidence.clone()]);
    }
    s += &t.render();
    if !r.findings.undecided.is_empty() {
        s += "\n## Left undecided\n\nThese cells stopped before every backend's paired ratio to the fastest was \
              within ±5% at 95%: their ranking is what the data could tell, no more.\n\n";
        for u in &r.findings.undecided {
            let names: Vec<&str> = u.programs.iter().map(|p| p.name()).collect();
            let _ = writeln!(s, "- {} ({} rounds, {}): {}", u.cell, u.rounds, stop(u.stop), names.join(", "));
        }
    }

    s += "\n## Results per workload\n\nSorted fastest first by median makespan (min–max of the raw runs in \
          brackets). \"vs fastest\" is the makespan over the fastest backend's, computed per round from the two \
          runs of that round, as the median of those ratios with its 95% interval (exact order statistics over the \
          rounds); two programs whose interval contains 1.0 are called indistinguishable and share a rank. Each \
          cell runs rounds until every backend's ratio is within ±5% or its share of the time budget is spent.\n\n";
    for c in &r.cells {
        cell_table(&mut s, c);
    }

    s += "## Latency (traced runs)\n\nSeparate runs with `--format jsonl` (timestamps cost more than a `noop` \
          handoff, so the timed runs above are quiet). Microseconds, p50 / p99 / max over every job of the traced \
          runs. Queue wait = a job's start time since pool start (the whole batch is submitted at start; the \
          producer's enqueue instant is not logged). End-to-end = its finish time since pool start. Pickup = from \
          the worker's previous event (its last job's end, or pool start) to this start: the handoff plus logging. \
          Service = start to finish.\n\n";
    let mut t = Table::new([
        ("workload", Align::Left),
        ("program", Align::Left),
        ("queue wait", Align::Right),
        ("end-to-end", Align::Right),
        ("pickup", Align::Right),
        ("service", Align::Right),
    ]);
    for x in &r.traces {
        let p = |x: &crate::latency::Percentiles| format!("{} / {} / {}", x.p50_us, x.p99_us, x.max_us);
        let what = format!("{} `{}` {}×{}", x.workload.name(), x.spec, x.workers, x.jobs);
        match &x.failure {
            Some(why) => t.row([what, x.backend.to_string(), format!("failed: {why}")]),
            None => {
                t.row([what, x.backend.to_string(), p(&x.queue_wait), p(&x.end_to_end), p(&x.pickup), p(&x.service)])
            }
        };
    }
    s += &t.render();
    s += &sleep_lateness(r);

    s += "\n## Method\n\n\
- Each run is a fresh process of the backend's release binary (`target/release/pool-<backend>`), so allocator and \
  runtime state never carry over. The backend order rotates each round; warmup rounds are run and discarded.\n\
- Makespan is what the pool itself reports: from starting the workers to the last worker's exit (microsecond \
  resolution, as the binary prints it); process start-up is excluded, but kept in `results.json` as `wall_s`. \
  The `throughput` cell shows the whole process too (the program's process from spawn to reaping, as the measuring helper times it), with its \
  start and less the same program's 0-job run of the same round, paired by round.\n\
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
    use super::super::tests::{backend, cell, sample_results, with_start};
    use super::*;

    #[test]
    fn sleep_runs_show_how_late_each_sleep_ends() {
        let mut r = sample_results();
        assert_eq!(sleep_lateness(&r), "", "no traced sleep run, no table");
        let mut sleep = r.traces[0].clone();
        sleep.spec = "sleep:10ms".into();
        sleep.workload = crate::workload::Family::Sleep;
        sleep.over_plan = Some(crate::latency::Percentiles { p50_us: 1_080, p99_us: 1_150, max_us: 2_300 });
        r.traces.push(sleep);
        let table = sleep_lateness(&r);
        assert!(table.contains("### Waiting jobs: how late each sleep ends"), "{table}");
        assert!(table.contains("| sleep `sleep:10ms` 2×100000 | std | 1080 / 1150 / 2300 |"), "{table}");
        assert!(render(&r).contains("| sleep `sleep:10ms` 2×100000 | std | 1080 / 1150 / 2300 |"));
    }

    #[test]
    fn a_verdict_is_one_plain_line() {
        use crate::analysis::Verdict;
        use crate::stats::Interval;
        let p = Program::known;
        let q = Interval { median: 1.5, lo: 1.48, hi: 1.52, n: 6, confidence: 0.97 };
        let mut v = Verdict {
            cell: "w=2 j=10000 work=spin:100us".into(),
            fastest: Some((p("crossbeam"), 0.506)),
            same: vec![p("std")],
            slower: vec![(p("rayon"), q)],
            failed: vec![(p("tokio"), "exit status 3: out of memory".into())],
            rounds: 12,
            undecided: false,
        };
        assert_eq!(
            verdict_line(&v),
            "**For `w=2 j=10000 work=spin:100us`:** crossbeam is fastest (506 ms); std is indistinguishable from it; \
             slower, in makespan over the fastest's (paired by round): rayon 1.50× (1.48–1.52); could not run it: tokio \
             (exit status 3: out of memory)."
        );
        v.same.push(p("rayon"));
        v.slower.clear();
        v.failed.clear();
        assert!(verdict_line(&v).ends_with("std, rayon are indistinguishable from it."), "{}", verdict_line(&v));
        v.undecided = true;
        assert!(verdict_line(&v).ends_with("Left undecided after 12 rounds: some intervals are wider than ±5%, so \
            \"indistinguishable\" may mean \"not yet told apart\"; a larger `--budget` (or no `--quick`) runs more rounds."));
    }

    #[test]
    fn tuned_flavors_are_paired_with_their_textbook_form_and_judged() {
        let mut r = sample_results();
        let (std, tuned) = (Program::known("std"), Program::known("std-tuned"));
        // Each run's whole process is its makespan + 2 ms; each 0-job run 1 ms.
        let timed = |p: Program, makespans: &[f64]| with_start(backend(p, 2, 0.0, makespans), &[0.001; 3]);
        r.cells = vec![
            cell(
                Family::Throughput,
                "noop",
                2,
                10_000_000,
                0.0,
                vec![timed(std, &[2.0, 2.2, 2.1]), timed(tuned, &[0.1, 0.12, 0.11])],
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
        r.findings = crate::findings::judge(&r.cells, &r.traces);
        let h = headline(&r);
        assert!(h.contains("| workload | std-tuned |"), "{h}");
        assert!(h.contains("| throughput `noop` 2×10,000,000 | 0.052× (0.050–0.055) |"), "{h}");
        assert!(h.contains("Throughput, `noop` × 10,000,000 jobs at 2 workers, whole process"), "{h}");
        assert!(h.contains("| program | whole process | less its 0-job run | pool's makespan |"), "{h}");
        assert!(h.contains("| std-tuned | 11.2 (10.2–12.2) | 11.1 (10.1–12.1) | 11.0 (10.0–12.0) |"), "{h}");
        assert!(h.contains("| std | 210 (200–220) | 210 (200–220) | 210 (200–220) |"), "{h}");
        let t = render(&r);
        assert!(
            t.contains(
                "| fastest tuned flavor ≤ 5 ns per job (`noop` × 10,000,000, 2 workers, whole process) | std-tuned: \
                 11.2 (10.2–12.2) ns | **missed** | less its 0-job run 11.1 (10.1–12.1) ns, paired by round; pool's \
                 own makespan 11.0 (10.0–12.0) ns per job; 1.07 cores busy"
            ),
            "{t}"
        );
        assert!(
            t.contains(
                "| tuned ≤ 15 ns per job (`noop` × 10,000,000, 2 workers, whole process): std-tuned | 11.2 \
                 (10.2–12.2) ns | met |"
            ),
            "{t}"
        );
        assert!(t.contains("| `sleep:10ms` 100×1,000: std-tuned no slower than textbook | tuned / textbook 1.02× (1.01–1.03) | **missed** |"), "{t}");
        // The cell's own table shows both whole-process figures.
        let table = t.split("### throughput: `noop`, 10,000,000 jobs, 2 workers").nth(1).unwrap();
        assert!(
            table.contains("| overhead / job | whole process / job | less its 0-job run | efficiency |"),
            "{table}"
        );
        assert!(table.contains("| 11.0 (10.0–12.0) ns | 11.2 (10.2–12.2) ns | 11.1 (10.1–12.1) ns | – |"), "{table}");
        // Other cells keep their columns.
        let sleep = t.split("### sleep").nth(1).unwrap();
        assert!(sleep.contains("| overhead / job | efficiency |"), "{sleep}");
    }

    #[test]
    fn headline_has_overhead_ratio_and_makespan_tables() {
        let h = headline(&sample_results());
        assert!(h.contains("| program | 2 workers | 4 workers |"), "{h}");
        assert!(h.contains("| std | 210 (200–220) | 310 (300–330) |"), "{h}");
        assert!(h.contains("| crossbeam | 110 (100–120) | 160 (150–170) |"), "{h}");
        assert!(h.contains("std / crossbeam at 4 workers, paired by round: **1.94× (1.94–2.00)**."), "{h}");
        assert!(
            h.contains("| cpu `spin:100us` 2×10000 | 500 ms | 1.01 (1.01–1.03) | 1.02 (1.01–1.04) | could not run |"),
            "{h}"
        );
        assert!(h.contains("ns per job, paired by round: std 400 (400–400)."), "{h}");
    }

    #[test]
    fn cell_tables_rank_and_say_indistinguishable() {
        let r = render(&sample_results());
        let cpu = r.split("### cpu").nth(1).unwrap();
        let rows: Vec<&str> = cpu.lines().filter(|l| l.starts_with("| 1 ") && !l.contains("(reference)")).collect();
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
    fn a_reference_shows_only_on_its_kind_of_work_with_the_measured_ideal_beside() {
        let r = render(&sample_results());
        let overhead = r.split("Per-job overhead").nth(1).unwrap().split("\n\n").nth(1).unwrap();
        assert!(!overhead.contains("longest-first"), "{overhead}");
        let row = r.lines().find(|l| l.starts_with("| cpu `spin:100us` 2×10000, measured ideal |")).expect("the row");
        // Over 0.500, 0.502, 0.510, round by round: crossbeam 0.504, 0.506,
        // 0.515; std 0.505, 0.51, 0.52.
        assert!(
            row.starts_with(
                "| cpu `spin:100us` 2×10000, measured ideal | 502 ms | 1.01 (1.01–1.01) | 1.02 (1.01–1.02) |"
            ),
            "{row}"
        );
        let cpu = r.split("### cpu").nth(1).unwrap();
        assert!(cpu.contains("longest-first (reference)"), "{cpu}");
    }

    #[test]
    fn where_go_ran_each_program_gets_a_paired_ratio_to_it() {
        use crate::program::Program;
        use crate::report::tests::{backend, cell};
        let sleep = cell(
            Family::Sleep,
            "sleep:10ms",
            100,
            1_000,
            0.1,
            vec![
                backend(Program::known("std"), 100, 0.1, &[0.110, 0.120, 0.105]),
                backend(Program::known("gobyexample"), 100, 0.1, &[0.100, 0.100, 0.100]),
            ],
        );
        let mut t = String::new();
        cell_table(&mut t, &sleep);
        assert!(t.contains("| vs Go (paired) |"), "{t}");
        // std over Go, round by round: 1.10, 1.20, 1.05.
        let std = t.lines().find(|l| l.contains("| std |")).expect("std's row");
        assert!(std.contains("| 1.10× (1.05–1.20) |"), "{std}");
        let go = t.lines().find(|l| l.contains("gobyexample")).expect("Go's row");
        assert!(go.contains("(reference)"), "{go}");
        // Without Go in the cell, no such column.
        let mut t = String::new();
        cell_table(
            &mut t,
            &cell(Family::Cpu, "spin:100us", 2, 10, 0.5, vec![backend(Program::known("std"), 2, 0.5, &[0.5; 3])]),
        );
        assert!(!t.contains("vs Go"), "{t}");
    }

    #[test]
    fn targets_are_judged_and_misses_shown() {
        let r = render(&sample_results());
        assert!(
            r.contains("| per-job overhead at 2 workers < 155 ns (Go): std | 210 (200–220) ns | **missed** |"),
            "{r}"
        );
        assert!(r.contains("| per-job overhead at 2 workers < 155 ns (Go): crossbeam | 110 (100–120) ns | met |"));
        assert!(r.contains(
            "| `spin:100us` at 2 workers within 2% of the measured ideal: tokio | could not run | **missed** |"
        ));
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
        // The advice opens the report, before the machine and the evidence.
        let sections: Vec<&str> = r.lines().filter(|l| l.starts_with("## ")).collect();
        assert_eq!(sections[..2], ["## What the figures mean", "## Machine"], "{sections:?}");
    }

    #[test]
    fn big_numbers_get_separators() {
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(100), "100");
        assert_eq!(thousands(0), "0");
    }
}
