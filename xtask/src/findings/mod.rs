//! The findings of a compare run, judged once from the measured cells and
//! traced runs and stored in `results.json`: the performance targets with
//! their verdicts and evidence, the std / crossbeam headline ratio, what the
//! figures mean in plain sentences, and which figures the budget left
//! undecided. The reports only render them.

pub mod arrivals;
mod evidence;
mod meaning;
mod targets;
mod waiting;

use serde::Serialize;

use crate::program::Program;
use crate::results::{CellResult, TraceResult};
use crate::stats::{Interval, Stop};
use crate::workload::Family;

/// Everything judged from one run.
#[derive(Clone, Debug, Serialize)]
pub struct Findings {
    /// std / crossbeam makespan at 4 workers, `noop`, paired by round.
    pub std_vs_crossbeam_4: Option<HeadlineRatio>,
    /// The performance targets, each with its verdict.
    pub targets: Vec<Target>,
    /// What the figures mean, one finding per workload shape.
    pub meaning: Vec<Meaning>,
    /// Cells whose ratios the budget (or the round limit) left undecided.
    pub undecided: Vec<Undecided>,
    /// The verdict of each of the user's own cells (`--cell`).
    pub verdicts: Vec<crate::analysis::Verdict>,
}

/// One thing the figures mean, in plain words (a spec or a flag in
/// backticks): what it is about, and what the figures say of it. The reports
/// set it out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Meaning {
    /// The workload shape or question it is about.
    pub topic: String,
    /// What the figures say, in a sentence or a few.
    pub says: String,
}

impl Meaning {
    /// A finding on `topic`.
    pub fn new(topic: impl Into<String>, says: impl Into<String>) -> Self {
        Meaning { topic: topic.into(), says: says.into() }
    }
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
        targets: targets::targets(cells, traces)
            .into_iter()
            .chain(waiting::waiting_targets(cells, traces))
            .chain(arrivals::arrival_targets(cells))
            .collect(),
        meaning: meaning::meaning(cells)
            .into_iter()
            .chain(waiting::limits(traces))
            .chain(arrivals::meaning(cells))
            .collect(),
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

pub(super) fn overhead_cells(cells: &[CellResult]) -> Vec<&CellResult> {
    cells.iter().filter(|c| c.workload == Family::Overhead).collect()
}

/// The std / crossbeam makespan ratio in the `noop` cell with `workers`,
/// paired by round.
pub(super) fn std_vs_crossbeam(cells: &[CellResult], workers: u32) -> Option<(Interval, bool)> {
    let cell = overhead_cells(cells).into_iter().find(|c| c.workers == workers)?;
    let q = cell.ratio(Program::named("std")?, Program::named("crossbeam")?)?;
    Some((q, q.within(crate::analysis::DEFAULT_PRECISION)))
}

/// The cell the throughput targets are judged on: `noop` at 2 workers,
/// ten million jobs (one million with `--quick`), whole process.
pub(super) fn throughput_cell(cells: &[CellResult]) -> Option<&CellResult> {
    cells.iter().find(|c| c.workload == Family::Throughput && c.workers == 2)
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

    /// Three rounds (`--quick`) give no 95% interval: the sentence on tiny
    /// jobs ranks nothing and says why, instead of calling a 47x gap a tie.
    #[test]
    fn too_few_rounds_rank_nothing() {
        let p = Program::known;
        let noop = |rounds: usize| {
            let fast = backend(p("std-tuned"), 2, 0.0, &vec![0.0006; rounds]);
            let slow = backend(p("std"), 2, 0.0, &vec![0.0268; rounds]);
            judge(&[cell(Family::Overhead, "noop", 2, 100_000, 0.0, vec![fast, slow])], &[])
        };
        let said = |f: Findings| f.meaning.iter().map(|m| m.says.clone()).collect::<Vec<_>>().join(" ");
        let quick = said(noop(3));
        assert!(quick.contains("3 rounds are too few for a 95% interval, so this run ranks nothing"), "{quick}");
        assert!(!quick.contains("indistinguishable"), "{quick}");
        let full = said(noop(6));
        assert!(full.contains("For a stream of small jobs pick std-tuned."), "{full}");
    }

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
            f.meaning.contains(&Meaning::new(
                "Ten million tiny jobs, whole process, 2 workers",
                "the tuned flavors take 4.00–20.0 ns a job, the textbook forms 150–150 ns, process start included. \
                 Where jobs are this small, a tuned flavor is the choice whatever the substrate."
            )),
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

    /// A waiting cell's target needs the best pool within its limit of the
    /// ideal and its paired ratio to Go by Example wholly below 1.
    #[test]
    fn the_waiting_cells_need_the_best_pool_wholly_below_go() {
        let what = "`sleep:10ms` 100 × 1,000: the best pool ≤ 1.03× ideal and faster than Go by Example (paired, \
                    whole interval below 1)";
        let run = |pool: &[f64]| {
            let go = backend(p("gobyexample"), 100, 0.1, &[0.104; 6]);
            let cell =
                cell(Family::Sleep, "sleep:10ms", 100, 1_000, 0.1, vec![backend(p("std-tuned"), 100, 0.1, pool), go]);
            judge(&[cell], &[])
        };
        assert_eq!(target(&run(&[0.102; 6]), what).met, Some(true));
        let straddles = [0.102, 0.103, 0.105, 0.102, 0.106, 0.101];
        assert_eq!(target(&run(&straddles), what).met, Some(false), "straddles Go");
        assert_eq!(target(&run(&[0.1035; 6]), what).met, Some(false), "over 1.03 of ideal");
        assert!(target(&run(&[0.102; 6]), what).measured.starts_with("std-tuned: "));
    }
}
