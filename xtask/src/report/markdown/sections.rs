//! The report's per-cell sections: each cell's ranked table, how late the
//! sleeps end, the user's cells' verdicts, the verdict and stop words.

use std::fmt::Write as _;

use super::*;

/// The traced `sleep` runs' lateness: each finished job's service time less
/// its planned sleep, p50 / p99 / max, per program: the timer's precision
/// and the wake-up, read straight off the log. Empty without such runs.
pub(super) fn sleep_lateness(r: &Results) -> String {
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
                 the traced `sleep` runs, µs, p50 / p99 / max: the timer's precision plus the wake-up. Textbook \
                 tokio's timer wheel fires on whole milliseconds (a sleep ends at the first tick past its deadline, \
                 so up to 1 ms late); tokio-tuned's sleeps wait on one timerfd on tokio's reactor, armed for the \
                 earliest deadline and fired at most every 100 µs when deadlines crowd; smol's async-io timers and \
                 the thread pools' `thread::sleep` wake at the deadline itself. Past the timer, what shows is the \
                 wake-up, which grows when many workers wake at once on few cores.\n\n"
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
        Some((p, p99)) if v.arrivals => line += &format!("{p} has the lowest p99 latency ({})", duration(p99)),
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
        let what = if v.arrivals { "p99 latency over the lowest" } else { "makespan over the fastest's" };
        line += &format!("; slower, in {what} (paired by round): {}", slower.join(", "));
    }
    let failed: Vec<String> = v.failed.iter().map(|(p, why)| format!("{p} ({why})")).collect();
    if !failed.is_empty() {
        line += &format!("; could not run it: {}", failed.join(", "));
    }
    line += ".";
    if v.undecided {
        line += &format!(
            " Left undecided after {} rounds: some intervals are wider than {}, so \"indistinguishable\" may mean \
             \"not yet told apart\"; a larger `--budget` (or no `--quick`) runs more rounds.",
            v.rounds,
            precision()
        );
    }
    line
}

pub(super) fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

pub(super) fn stop(stop: Stop) -> &'static str {
    match stop {
        Stop::Decided => "decided",
        Stop::Budget => "stopped by the budget",
        Stop::MaxRounds => "stopped at the round limit",
        Stop::Fixed => "fixed count",
    }
}

pub(super) fn cell_table(s: &mut String, c: &CellResult) {
    let _ = writeln!(s, "### {}\n", title(c));
    let measured = c.measured_ideal_s.map_or(String::new(), |m| format!(" (measured: {})", duration(m)));
    let undecided: Vec<&str> = c.undecided.iter().map(|p| p.name()).collect();
    let undecided = if undecided.is_empty() {
        String::new()
    } else {
        format!("; left undecided (interval wider than {}): {}", precision(), undecided.join(", "))
    };
    let _ = writeln!(
        s,
        "Ideal makespan {}{measured}; seed {}; {} counted rounds ({}){undecided}.\n",
        duration(c.ideal_s),
        c.seed,
        c.rounds,
        stop(c.stop)
    );
    if let Some(a) = &c.arrival {
        let _ = writeln!(
            s,
            "Jobs arrived over time (`{a}`): each program's latency is from a job's arrival to its result reaching \
             the caller, and programs are ranked and paired by their p99 latency (\"vs fastest\": p99 over the \
             lowest p99), not by makespan, which the schedule sets.\n"
        );
    }
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
    // Jobs that arrived over time: each program's latency from arrival.
    let arrivals = c.backends.iter().any(|b| b.stats.as_ref().is_some_and(|st| st.latency_us.is_some()));
    let latency_column: &[(&str, Align)] =
        if arrivals { &[("latency p50 / p99 / p99.9 (µs, medians of rounds)", Align::Right)] } else { &[] };
    let mut t = Table::new(
        [
            ("rank", Align::Right),
            ("program", Align::Left),
            ("makespan", Align::Right),
            ("vs fastest (paired)", Align::Right),
        ]
        .into_iter()
        .chain(go_column.iter().copied())
        .chain(latency_column.iter().copied())
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
                .chain(arrivals.then(|| {
                    st.latency_us.as_ref().map_or("–".to_owned(), |l| {
                        format!("{} / {} / {}", sig3(l[0].median), sig3(l[1].median), sig3(l[2].median))
                    })
                }))
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
