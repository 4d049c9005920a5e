//! The figures derived from the raw samples, kept apart from the runs that
//! took them and the report that shows them: paired ratios, ranks, the
//! deciding ratios the stopping rule watches, the measured ideals, the cost
//! of tracing.

use pool_spec::Kind;

use crate::program::{Program, Role};
use crate::results::{CellResult, Pair, ProgramResult, Sample, Stats};
use crate::stats::{self, Interval, Spread};

/// The deciding ratios of a cell so far: every backend's paired ratio to
/// the backend with the lowest median makespan.
pub(crate) fn deciding_ratios(results: &[ProgramResult]) -> Vec<Interval> {
    let series: Vec<(Program, Vec<(u32, f64)>)> = results
        .iter()
        .filter(|r| r.failure.is_none() && r.backend.entry().role == Role::Backend && !r.samples.is_empty())
        .map(|r| (r.backend, r.samples.iter().map(|s| (s.round, s.ranked_by())).collect()))
        .collect();
    let Some(fastest) = series.iter().min_by(|a, b| {
        let m = |s: &[(u32, f64)]| stats::median(&s.iter().map(|x| x.1).collect::<Vec<_>>()).unwrap_or(f64::INFINITY);
        m(&a.1).total_cmp(&m(&b.1))
    }) else {
        return Vec::new();
    };
    series.iter().filter(|s| s.0 != fastest.0).filter_map(|s| stats::paired_ratio(&s.1, &fastest.1)).collect()
}

/// What one cell says to a user choosing between the pools: the fastest,
/// those the data cannot tell from it, and the rest with their paired
/// ratio to it. The pools only: the baseline and the references are what
/// they are measured against, not choices.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Verdict {
    /// The cell, in the user's terms (`w=8 j=100000 work=spin:50us~5ms`).
    pub cell: String,
    /// The fastest pool and its median makespan, seconds; with arrivals,
    /// the pool with the lowest p99 latency and that, seconds.
    pub fastest: Option<(Program, f64)>,
    /// Whether jobs arrived over time: the pools are then compared by their
    /// p99 latency, not their makespan.
    pub arrivals: bool,
    /// Pools indistinguishable from the fastest (interval contains 1).
    pub same: Vec<Program>,
    /// Slower pools, fastest first, with their makespan over the fastest's,
    /// paired by round.
    pub slower: Vec<(Program, Interval)>,
    /// Pools that could not run it, with why.
    pub failed: Vec<(Program, String)>,
    /// Counted rounds, and whether some ratio to the fastest was left
    /// wider than the stopping rule's precision (then "indistinguishable"
    /// may mean "not yet told apart").
    pub rounds: u32,
    /// See `rounds`.
    pub undecided: bool,
}

/// The verdict of a summarised cell (see [`Verdict`]).
pub fn verdict(cell: &CellResult) -> Verdict {
    let pools = cell.backends.iter().filter(|b| b.backend.entry().role == Role::Backend);
    let mut v = Verdict {
        cell: format!(
            "w={} j={} work={}{}",
            cell.workers,
            cell.jobs,
            cell.spec,
            cell.arrival.as_ref().map_or(String::new(), |a| format!(" arrival={a}"))
        ),
        fastest: None,
        arrivals: false,
        same: Vec::new(),
        slower: Vec::new(),
        failed: Vec::new(),
        rounds: cell.rounds,
        undecided: !cell.undecided.is_empty(),
    };
    for b in pools {
        match (&b.stats, &b.failure) {
            (_, Some(why)) => v.failed.push((b.backend, why.clone())),
            (Some(st), None) if v.fastest.is_none() => {
                v.arrivals = st.latency_us.is_some();
                let best = st.latency_us.as_ref().map_or(st.makespan_s.median, |l| l[1].median * 1e-6);
                v.fastest = Some((b.backend, best));
            }
            (Some(st), None) if st.indistinguishable_from_fastest => v.same.push(b.backend),
            (Some(st), None) => v.slower.push((b.backend, st.vs_fastest)),
            (None, None) => {}
        }
    }
    v
}

/// (traced − quiet) / jobs in ns, paired by round (the i-th traced run with
/// the i-th quiet run: they ran back to back).
pub fn tracing_cost(traced_s: &[f64], quiet_s: &[f64], jobs: u64) -> Option<Interval> {
    let by_round = |xs: &[f64]| xs.iter().enumerate().map(|(i, &x)| (i as u32, x)).collect::<Vec<_>>();
    stats::paired_difference(&by_round(traced_s), &by_round(quiet_s), 1e9 / jobs.max(1) as f64)
}

/// The precision a fixed-count run's figures are judged "decided" at.
pub const DEFAULT_PRECISION: f64 = 0.05;

/// Derives every program's figures: raw spreads, paired ratios between every
/// two programs, ranks; notes which ratios to the fastest are still wider
/// than `precision`; sorts the cell fastest first (failed programs last).
pub fn summarise(cell: &mut CellResult, precision: f64) {
    let jobs = cell.jobs as f64;
    let per = |samples: &[Sample], f: &dyn Fn(&Sample) -> f64| Spread::of(&samples.iter().map(f).collect::<Vec<_>>());
    // Paired and ranked by makespan, or by p99 latency when jobs arrive
    // over time (see `Sample::ranked_by`).
    let series =
        |r: &ProgramResult| -> Vec<(u32, f64)> { r.samples.iter().map(|s| (s.round, s.ranked_by())).collect() };
    let ok: Vec<usize> = (0..cell.backends.len())
        .filter(|&i| cell.backends[i].failure.is_none() && !cell.backends[i].samples.is_empty())
        .collect();
    cell.pairs.clear();
    for (x, &i) in ok.iter().enumerate() {
        for &j in &ok[x + 1..] {
            let (a, b) = (&cell.backends[i], &cell.backends[j]);
            let (a, b) = if a.backend < b.backend { (a, b) } else { (b, a) };
            if let Some(ratio) = stats::paired_ratio(&series(a), &series(b)) {
                cell.pairs.push(Pair { a: a.backend, b: b.backend, ratio });
            }
        }
    }
    cell.pairs.sort_by_key(|p| (p.a, p.b));
    let median_of = |r: &ProgramResult| per(&r.samples, &|s| s.ranked_by()).map_or(f64::INFINITY, |s| s.median);
    // The fastest backend (not the baseline nor a reference) is what every
    // program is measured against.
    let fastest = ok
        .iter()
        .copied()
        .filter(|&i| cell.backends[i].backend.entry().role == Role::Backend)
        .min_by(|&i, &j| median_of(&cell.backends[i]).total_cmp(&median_of(&cell.backends[j])))
        .or_else(|| {
            ok.iter().copied().min_by(|&i, &j| median_of(&cell.backends[i]).total_cmp(&median_of(&cell.backends[j])))
        });
    let Some(fastest) = fastest.map(|i| cell.backends[i].backend) else { return };
    let programs: Vec<Program> = ok.iter().map(|&i| cell.backends[i].backend).collect();
    let ranks = stats::ranks(programs.len(), |i, j| cell.ratio(programs[i], programs[j]));
    let one = Interval { median: 1.0, lo: 1.0, hi: 1.0, n: cell.rounds as usize, confidence: 1.0 };
    let vs: Vec<Interval> =
        programs.iter().map(|&p| if p == fastest { one } else { cell.ratio(p, fastest).unwrap_or(one) }).collect();
    let mut undecided = Vec::new();
    for ((&b, rank), vs_fastest) in ok.iter().zip(ranks).zip(vs) {
        let program = cell.backends[b].backend;
        if program != fastest && program.entry().role == Role::Backend && !vs_fastest.within(precision) {
            undecided.push(program);
        }
        let r = &mut cell.backends[b];
        let s = &r.samples;
        let ideal = r.ideal_s;
        let with_ideal = |f: &dyn Fn(&Sample) -> f64| (ideal > 0.0).then(|| per(s, f)).flatten();
        r.stats = Some(Stats {
            makespan_s: per(s, &|x| x.makespan_s).expect("samples exist"),
            jobs_per_s: per(s, &|x| jobs / x.makespan_s).expect("samples exist"),
            overhead_ns: per(s, &|x| (x.makespan_s - ideal) * 1e9 / jobs.max(1.0)).expect("samples exist"),
            whole_ns: per(s, &|x| x.wall_s * 1e9 / jobs.max(1.0)).expect("samples exist"),
            whole_less_start_ns: stats::paired_difference(
                &s.iter().map(|x| (x.round, x.wall_s)).collect::<Vec<_>>(),
                &s.iter().filter_map(|x| Some((x.round, x.start_wall_s?))).collect::<Vec<_>>(),
                1e9 / jobs.max(1.0),
            ),
            efficiency: with_ideal(&|x| ideal / x.makespan_s),
            makespan_over_ideal: with_ideal(&|x| x.makespan_s / ideal),
            makespan_over_measured_ideal: None,
            cpu_s: per(s, &|x| x.user_s + x.sys_s).expect("samples exist"),
            max_rss_mib: per(s, &|x| x.max_rss_kib as f64 / 1024.0).expect("samples exist"),
            latency_us: s.iter().all(|x| x.latency.is_some()).then(|| {
                let at = |f: &dyn Fn(&crate::results::SampleLatency) -> f64| {
                    per(s, &|x| x.latency.as_ref().map_or(0.0, f)).expect("samples exist")
                };
                [at(&|l| l.p50_us), at(&|l| l.p99_us), at(&|l| l.p999_us)]
            }),
            vs_fastest,
            rank,
            indistinguishable_from_fastest: vs_fastest.indistinguishable(),
        });
    }
    cell.undecided = undecided;
    let key = |st: &Stats| st.latency_us.as_ref().map_or(st.makespan_s.median, |l| l[1].median * 1e-6);
    cell.backends.sort_by(|a, b| match (&a.stats, &b.stats) {
        (Some(x), Some(y)) => key(x).total_cmp(&key(y)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.backend.cmp(&b.backend),
    });
}

/// Sets each CPU cell's measured ideal from its `longest-first` reference:
/// the same jobs on the same machine, their lengths known, longest first,
/// each taken by the next free one of as many threads as the pool could use
/// (one atomic add), with no queue and no results handed back. Each pool's
/// makespan is divided by the reference's in the same round, so the spin
/// loop's calibration, the machine's speed with every core busy and
/// whatever else ran in that round drop out together. The sequential
/// baseline runs at 1 worker, not the cell's, so it gets no ratio where the
/// cell has more.
pub fn apply_measured_ideals(cells: &mut [CellResult]) {
    for c in cells.iter_mut() {
        // The reference for CPU work: the one program timed on it alone.
        let Some(reference) =
            c.backends.iter().find(|b| b.backend.entry().timed_on == [Kind::Spin] && b.stats.is_some())
        else {
            continue;
        };
        let series =
            |r: &ProgramResult| -> Vec<(u32, f64)> { r.samples.iter().map(|s| (s.round, s.makespan_s)).collect() };
        let ideal = series(reference);
        c.measured_ideal_s = reference.stats.as_ref().map(|st| st.makespan_s.median);
        for b in &mut c.backends {
            if b.backend.is_reference() || b.workers != c.workers {
                continue;
            }
            let ratio = stats::paired_ratio(&series(b), &ideal);
            if let Some(st) = &mut b.stats {
                st.makespan_over_measured_ideal = ratio;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Family;

    #[test]
    fn the_whole_process_less_its_start_is_paired_by_round() {
        use crate::report::tests::{backend, cell, with_start};
        // Rounds 1 and 2 were slow to start: taken off round by round, every
        // round ran its jobs in 10 ms.
        let seq = with_start(
            backend(Program::known("sequential"), 1, 0.0, &[0.010, 0.028, 0.012, 0.010, 0.010, 0.010]),
            &[0.002, 0.020, 0.004, 0.002, 0.002, 0.002],
        );
        let c = cell(Family::Throughput, "noop", 2, 1_000_000, 0.0, vec![seq]);
        let st = c.backends[0].stats.as_ref().unwrap();
        let less = st.whole_less_start_ns.unwrap();
        assert!((less.median - 10.0).abs() < 1e-6 && (less.lo - 10.0).abs() < 1e-6 && (less.hi - 10.0).abs() < 1e-6);
        // Whole process: makespan + 2 ms (the helper in `backend`).
        assert!((st.whole_ns.median - 12.0).abs() < 1e-6 && (st.whole_ns.hi - 30.0).abs() < 1e-6, "{:?}", st.whole_ns);
        let plain =
            cell(Family::Overhead, "noop", 2, 1_000_000, 0.0, vec![backend(Program::known("std"), 2, 0.0, &[0.01; 3])]);
        assert!(plain.backends[0].stats.as_ref().unwrap().whole_less_start_ns.is_none(), "no 0-job runs, no figure");
    }

    #[test]
    fn a_cells_verdict_names_the_fastest_the_ties_and_the_rest() {
        use crate::report::tests::{backend, cell};
        let p = Program::known;
        let mut failed = backend(p("tokio"), 2, 0.5, &[]);
        failed.failure = Some("exit status 3: out of memory".into());
        let c = cell(
            Family::Custom,
            "spin:100us",
            2,
            10_000,
            0.5,
            vec![
                backend(p("std"), 2, 0.5, &[0.504, 0.51, 0.512, 0.503, 0.507, 0.515]),
                backend(p("crossbeam"), 2, 0.5, &[0.504, 0.506, 0.515, 0.504, 0.506, 0.515]),
                backend(p("rayon"), 2, 0.5, &[0.75, 0.76, 0.77, 0.75, 0.76, 0.77]),
                backend(p("sequential"), 1, 1.0, &[0.3; 6]),
                failed,
            ],
        );
        let v = verdict(&c);
        assert_eq!(v.cell, "w=2 j=10000 work=spin:100us");
        assert_eq!(v.fastest.map(|f| f.0), Some(p("crossbeam")), "the baseline is no choice, however fast");
        assert_eq!(v.same, [p("std")]);
        assert_eq!(v.slower.iter().map(|s| s.0).collect::<Vec<_>>(), [p("rayon")]);
        assert!(v.slower[0].1.lo > 1.4, "{:?}", v.slower[0].1);
        assert_eq!(v.failed, [(p("tokio"), "exit status 3: out of memory".to_owned())]);
        assert_eq!((v.rounds, v.undecided), (c.rounds, !c.undecided.is_empty()));
    }

    #[test]
    fn tracing_cost_pairs_each_traced_run_with_its_quiet_run() {
        // Per round: 0.20, 0.21, 0.19 s over 1,000,000 jobs.
        let c = tracing_cost(&[0.30, 0.32, 0.31], &[0.10, 0.11, 0.12], 1_000_000).unwrap();
        assert!((c.median - 200.0).abs() < 1e-6 && (c.lo - 190.0).abs() < 1e-6 && (c.hi - 210.0).abs() < 1e-6);
        assert!(tracing_cost(&[0.3], &[], 10).is_none());
    }
}
