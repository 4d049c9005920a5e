//! The reports: one [`Exporter`] per output (Markdown, JSON, SVG plots),
//! all rendered from one [`Results`]. Files in the output folder are
//! written only here, never by hand.

mod json;
mod markdown;
mod plot;
mod table;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::findings::Findings;
use crate::machine::Machine;
use crate::program::Program;
use crate::results::{CellResult, TraceResult};
use crate::verify::CaseResult;

pub use json::SCHEMA_VERSION;
pub use markdown::headline;

/// Everything a compare run found: the content of `results.json`
/// (`schema_version` 5). Every field is documented here, as exported.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    /// Version of this layout; bumped when a field changes meaning.
    pub schema_version: u32,
    /// Machine, toolchain, crate versions, commit, date and command.
    pub machine: Machine,
    /// Whether this was a `--quick` run (small sizes, fewer runs).
    pub quick: bool,
    /// Warmup runs per backend and cell (not counted).
    pub warmup_runs: u32,
    /// How many counted rounds each cell ran (each cell's `rounds` says
    /// how many it took).
    pub rounds: String,
    /// The verification suite: each case, each backend's verdict.
    pub verification: Vec<CaseResult>,
    /// Backends that failed verification and were not benchmarked.
    pub excluded: Vec<Program>,
    /// Programs that could not be built here, with the reason (a reference
    /// whose toolchain is missing).
    pub skipped: std::collections::BTreeMap<Program, String>,
    /// The timed matrix, quiet runs: every cell, every raw sample.
    pub cells: Vec<CellResult>,
    /// The traced runs: latency percentiles and the cost of tracing.
    pub traces: Vec<TraceResult>,
    /// What the run found (targets, headline ratio, meaning, undecided
    /// figures), judged once from `cells` and `traces`.
    pub findings: Findings,
}

/// One output format.
pub trait Exporter {
    /// Writes this format's files for `results` into `dir`; returns them.
    fn export(&self, results: &Results, dir: &Path) -> Result<Vec<PathBuf>>;
}

/// Writes every report into `dir`.
pub fn write_all(results: &Results, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    let exporters: [&dyn Exporter; 3] = [&markdown::Markdown, &json::Json, &plot::Plots];
    let mut written = Vec::new();
    for exporter in exporters {
        written.extend(exporter.export(results, dir)?);
    }
    Ok(written)
}

/// Writes `contents` to `dir/name`, saying which file on failure.
fn write(dir: &Path, name: &str, contents: &[u8]) -> Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, contents).with_context(|| format!("could not write {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::analysis::summarise;
    use crate::latency::Percentiles;
    use crate::results::{ProgramResult, Sample};
    use crate::workload::{Baseline, Family};
    use std::collections::BTreeMap;

    #[test]
    fn cpu_cells_are_divided_by_the_longest_first_run_of_the_same_round() {
        // Round 1 was slow for everyone (a neighbour on the machine): paired
        // by round it drops out, where dividing by the reference's fastest
        // run would have charged it to the pool.
        let split = backend(Program::known("longest-first"), 2, 0.0005, &[0.00050, 0.00080, 0.00052]);
        let std = backend(Program::known("std"), 2, 0.0005, &[0.00051, 0.00082, 0.00053]);
        let seq = backend(Program::known("sequential"), 1, 0.001, &[0.0010, 0.0016, 0.0010]);
        let two = cell(Family::Skewed, "spin:100us", 2, 10, 0.0005, vec![split, std, seq]);
        let noop =
            cell(Family::Overhead, "noop", 1, 10, 0.0, vec![backend(Program::known("std"), 1, 0.0, &[0.001; 3])]);
        let mut cells = vec![two, noop];
        crate::analysis::apply_measured_ideals(&mut cells);
        assert!((cells[0].measured_ideal_s.unwrap() - 0.00052).abs() < 1e-12, "the reference's median");
        let stats = |p: &str| cells[0].backends.iter().find(|b| b.backend.name() == p).unwrap().stats.clone().unwrap();
        let q = stats("std").makespan_over_measured_ideal.unwrap();
        assert!((q.median - 1.02).abs() < 1e-9 && q.hi < 1.03, "{q:?}");
        assert!((stats("std").makespan_over_ideal.unwrap().hi - 1.64).abs() < 1e-9, "the nominal one keeps round 1");
        assert!(stats("sequential").makespan_over_measured_ideal.is_none(), "the baseline ran at 1 worker, not 2");
        assert!(stats("longest-first").makespan_over_measured_ideal.is_none(), "no ratio to itself");
        assert_eq!(cells[1].measured_ideal_s, None, "noop has no ideal to measure");
    }

    pub(crate) fn backend(backend: Program, workers: u32, ideal_s: f64, makespans: &[f64]) -> ProgramResult {
        let samples = makespans
            .iter()
            .enumerate()
            .map(|(i, &m)| Sample {
                round: i as u32,
                makespan_s: m,
                wall_s: m + 0.002,
                start_wall_s: None,
                user_s: m,
                sys_s: 0.01,
                max_rss_kib: 4096,
                latency: None,
            })
            .collect();
        ProgramResult { backend, workers, ideal_s, samples, failure: None, stats: None }
    }

    /// `b` with a 0-job run in each round, of these wall times (seconds).
    pub(crate) fn with_start(mut b: ProgramResult, starts: &[f64]) -> ProgramResult {
        for (sample, &start) in b.samples.iter_mut().zip(starts) {
            sample.start_wall_s = Some(start);
        }
        b
    }

    pub(crate) fn cell(
        workload: Family,
        spec: &str,
        workers: u32,
        jobs: u64,
        ideal_s: f64,
        rows: Vec<ProgramResult>,
    ) -> CellResult {
        let mut c = CellResult {
            workload,
            spec: spec.into(),
            workers,
            jobs,
            seed: 1,
            arrival: None,
            ideal_s,
            measured_ideal_s: None,
            baseline: Baseline::InFirstCell,
            rounds: rows.iter().map(|r| r.samples.len() as u32).max().unwrap_or(0),
            stop: crate::stats::Stop::Fixed,
            undecided: Vec::new(),
            pairs: Vec::new(),
            backends: rows,
        };
        summarise(&mut c, 0.05);
        c
    }

    /// A small, fixed set of results for the renderers' tests.
    pub(crate) fn sample_results() -> Results {
        let noop = |w: u32, std: &[f64], cb: &[f64]| {
            cell(
                Family::Overhead,
                "noop",
                w,
                1_000_000,
                0.0,
                vec![backend(Program::known("std"), w, 0.0, std), backend(Program::known("crossbeam"), w, 0.0, cb)],
            )
        };
        let mut failed = backend(Program::known("tokio"), 2, 0.5, &[]);
        failed.failure = Some("exit status 3: out of memory".into());
        let cpu = cell(
            Family::Cpu,
            "spin:100us",
            2,
            10_000,
            0.5,
            vec![
                backend(Program::known("std"), 2, 0.5, &[0.505, 0.51, 0.52]),
                backend(Program::known("crossbeam"), 2, 0.5, &[0.504, 0.506, 0.515]),
                backend(Program::known("longest-first"), 2, 0.5, &[0.500, 0.502, 0.510]),
                failed,
            ],
        );
        let machine = Machine {
            cpu: "Test CPU".into(),
            cores: 2,
            memory_gib: 4.0,
            os: "TestOS".into(),
            kernel: "6.0".into(),
            rustc: "rustc 1.95.0".into(),
            crates: BTreeMap::from([("tokio".into(), "1.0.0".into())]),
            commit: "abc123".into(),
            dirty: false,
            date: "2026-01-01T00:00:00Z".into(),
            command: "cargo xtask compare".into(),
            load_at_start: 0.5,
            load_at_end: 1.5,
        };
        let trace = TraceResult {
            workload: Family::Overhead,
            spec: "noop".into(),
            workers: 2,
            jobs: 100_000,
            backend: Program::known("std"),
            traced_makespan_s: vec![0.05],
            quiet_makespan_s: vec![0.01],
            tracing_cost_ns: crate::analysis::tracing_cost(&[0.05], &[0.01], 100_000),
            queue_wait: Percentiles { p50_us: 20_000, p99_us: 40_000, max_us: 41_000 },
            end_to_end: Percentiles { p50_us: 20_001, p99_us: 40_001, max_us: 41_001 },
            pickup: Percentiles { p50_us: 0, p99_us: 1, max_us: 90 },
            service: Percentiles { p50_us: 0, p99_us: 1, max_us: 5 },
            over_plan: None,
            end_to_end_cdf: vec![(10, 0.1), (41_001, 1.0)],
            failure: None,
        };
        let mut cells = vec![
            noop(2, &[0.20, 0.21, 0.22, 0.20, 0.21, 0.22], &[0.10, 0.11, 0.12, 0.10, 0.11, 0.12]),
            noop(4, &[0.30, 0.31, 0.33, 0.30, 0.31, 0.33], &[0.15, 0.16, 0.17, 0.15, 0.16, 0.17]),
            cpu,
        ];
        crate::analysis::apply_measured_ideals(&mut cells);
        let traces = vec![trace];
        Results {
            findings: crate::findings::judge(&cells, &traces),
            schema_version: SCHEMA_VERSION,
            machine,
            quick: false,
            warmup_runs: 1,
            rounds: "3 counted rounds per cell (fixed)".into(),
            verification: Vec::new(),
            excluded: Vec::new(),
            skipped: Default::default(),
            cells,
            traces,
        }
    }
}
