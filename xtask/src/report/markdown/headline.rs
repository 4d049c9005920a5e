//! The report's headline: the overhead table, the std / crossbeam ratio,
//! makespan over ideal, and the throughput, flavor and broker tables.

use std::fmt::Write as _;

use super::*;

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
        for p in present_backends(r).into_iter().filter(|p| !p.is_micros() && p.times_kind(pool_spec::Kind::Noop)) {
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
            let open = if h.decided {
                String::new()
            } else {
                format!(" (undecided: its 95% interval is wider than {})", precision())
            };
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
pub(super) fn throughput_table(r: &Results) -> String {
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
pub(super) fn flavor_table(r: &Results) -> String {
    let pairs: Vec<(Program, Program)> = present_backends(r)
        .into_iter()
        .filter_map(|p| Some((p, p.textbook()?)))
        .filter(|(_, t)| present_backends(r).contains(t))
        .collect();
    // Cells with arrivals pair p99 latencies, not makespans: their own tables say so.
    let cells: Vec<&CellResult> =
        r.cells.iter().filter(|c| c.arrival.is_none() && pairs.iter().any(|&(p, t)| c.ratio(p, t).is_some())).collect();
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
pub(super) fn broker_table(r: &Results) -> String {
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
