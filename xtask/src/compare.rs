//! `cargo xtask compare`: build, verify, time, trace, report — in that
//! order, so nothing is timed before it is proven to do the right work.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use indicatif::{ProgressBar, ProgressStyle};

use crate::analysis;
use crate::bench::{Bencher, Rounds};
use crate::program::Program;
use crate::report::{self, Results, SCHEMA_VERSION};
use crate::results::{CellResult, TraceResult};
use crate::stats::StoppingRule;
use crate::workload::{self, Family};
use crate::{binaries, machine, verify};

/// The adaptive rounds' rule: at least 6 rounds (the fewest with a 95%
/// interval for a median), at most 40, stop at the precision fixed-count
/// runs are judged at (±5%).
pub const STOPPING_RULE: StoppingRule =
    StoppingRule { min_rounds: 6, max_rounds: 40, precision: crate::analysis::DEFAULT_PRECISION };

/// Flags of `cargo xtask compare`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Small sizes and fewer runs: a smoke test for CI (under a minute after the build).
    #[arg(long)]
    pub quick: bool,
    /// Only these programs, comma-separated [default: every backend, the sequential baseline and the references].
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub backends: Vec<String>,
    /// Only these workloads, comma-separated [default: all]. Verification always runs in full.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "LIST", conflicts_with = "cell")]
    pub workloads: Vec<Family>,
    /// A cell of your own job shape, timed instead of the built-in workloads: 'w=WORKERS j=JOBS work=SPEC'
    /// (seed=N too), the binaries' own terms, e.g. 'w=8 j=100000 work=spin:50us~5ms'. Repeatable. Each is verified
    /// on that very workload, then timed in paired rounds and reported with a verdict.
    #[arg(long, value_name = "CELL", value_parser = workload::parse_cell)]
    pub cell: Vec<pool_spec::RunSpec>,
    /// Folder for REPORT.md, results.json and the plots [default: results/ in the workspace; with --cell,
    /// target/compare-cells/, so the committed results/ stay as they are].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Exactly N counted rounds per cell, instead of running rounds until the ratios are decided [default with --quick: 3].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: Option<u32>,
    /// Time for the timed matrix: each cell gets a share (by its cost per round) and runs rounds until every
    /// backend's paired ratio to the fastest is within ±5% (95% interval), or its share is spent; at least 6
    /// rounds, at most 40.
    #[arg(long, value_name = "DUR", value_parser = humantime::parse_duration, default_value = "4m")]
    pub budget: Duration,
    /// Warmup runs per backend and cell, not counted [default: 1].
    #[arg(long, value_name = "N")]
    pub warmup: Option<u32>,
}

fn or_all<T: Copy + Ord>(chosen: &[T], all: &[T]) -> Vec<T> {
    let mut v = if chosen.is_empty() { all.to_vec() } else { chosen.to_vec() };
    v.sort();
    v.dedup();
    v
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{elapsed_precise} [{wide_bar}] {percent:>3}% eta {eta} {msg}")
        .expect("a valid template")
        .progress_chars("=> ")
}

/// The README's generated block: the headline and links to the reports.
fn readme_block(headline: &str) -> String {
    format!(
        "{headline}\nFull report: [results/REPORT.md](results/REPORT.md); every raw sample: \
         [results/results.json](results/results.json); plots: [overhead vs workers](results/overhead.svg), \
         [makespan / ideal](results/makespan-ideal.svg) and the latency CDFs in `results/`.\n"
    )
}

/// Where the reports go without `--out`: `results/`, the committed full
/// comparison; a run of the user's own cells goes to `target/compare-cells/`,
/// leaving `results/` as it was.
fn default_out(root: &std::path::Path, custom: bool) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    if custom { target.join("compare-cells") } else { root.join("results") }
}

/// Runs the comparison. `Ok(false)` when a backend failed verification or a
/// timed or traced run failed.
pub fn run(args: &Args) -> Result<bool> {
    let root = binaries::workspace_root();
    let out = args.out.clone().unwrap_or_else(|| default_out(&root, !args.cell.is_empty()));
    std::fs::create_dir_all(&out).with_context(|| format!("could not create the output folder {}", out.display()))?;
    // The user's own cells replace the built-in workloads.
    let custom: Vec<workload::Cell> = args.cell.iter().map(workload::Cell::custom).collect();
    let workloads = if custom.is_empty() { or_all(&args.workloads, &Family::ALL) } else { Vec::new() };
    let rounds = match (args.runs, args.quick) {
        (Some(n), _) => Rounds::Fixed(n),
        (None, true) => Rounds::Fixed(3),
        (None, false) => Rounds::Adaptive(STOPPING_RULE),
    };
    let warmup = args.warmup.unwrap_or(1);
    let cores = crate::cores();
    let mut machine = machine::describe(&root);

    eprintln!("xtask: building the programs (cargo build --release, go build)");
    let (programs, built) = binaries::build(&root, &args.backends)?;
    for (p, why) in &built.skipped {
        eprintln!("xtask: skipping {p}: {why}");
    }
    machine.crates = machine::lock_versions_of(&root, &binaries::substrate_crates(&built));
    let described = built.described;
    let binaries = built.paths;
    // References log nothing: they are timed, not verified; a skipped
    // program has no binary.
    let backends: Vec<Program> =
        programs.iter().copied().filter(|p| p.is_verified() && binaries.contains_key(p)).collect();

    // Verify before timing.
    let cases = verify::suite().into_iter().chain(args.cell.iter().map(verify::custom_case));
    let (verification, excluded) = verify_all(cases, &binaries, &backends);
    let passed: Vec<Program> =
        programs.iter().copied().filter(|p| binaries.contains_key(p) && !excluded.contains(p)).collect();

    // Time the matrix, then the traced runs (of what logs: not the references).
    let traced: Vec<Program> = passed.iter().copied().filter(|p| p.is_verified()).collect();
    let mut cells = workload::matrix(args.quick, cores, &workloads);
    let mut traces = workload::trace_matrix(args.quick, &workloads, rounds.planned());
    traces.extend(workload::custom_traces(&custom));
    cells.extend(custom);
    let progress = ProgressBar::new(0).with_style(bar_style());
    let bencher = Bencher { binaries: &binaries, described: &described, cores, progress: &progress, warmup, rounds };
    let (cell_results, trace_results) = time_all(&bencher, &cells, &traces, (&passed, &traced), args.budget);
    progress.finish_and_clear();

    machine.load_at_end = machine::load_average();
    let findings = crate::findings::judge(&cell_results, &trace_results);
    let results = Results {
        findings,
        schema_version: SCHEMA_VERSION,
        machine,
        quick: args.quick,
        warmup_runs: warmup,
        rounds: describe_rounds(rounds, args.budget),
        verification,
        excluded: excluded.clone(),
        skipped: built.skipped,
        cells: cell_results,
        traces: trace_results,
    };
    // A full run into results/ is the one the README quotes.
    let readme = args.out.is_none() && !args.quick && args.cell.is_empty();
    write(&results, &out, readme.then(|| root.join("README.md")).as_deref())
}

/// How many rounds each cell runs, said for the report.
fn describe_rounds(rounds: Rounds, budget: Duration) -> String {
    match rounds {
        Rounds::Fixed(n) => format!("{n} counted rounds per cell (fixed)"),
        Rounds::Adaptive(rule) => format!(
            "adaptive: {} to {} rounds per cell, until every backend's paired ratio to the fastest is within ±{:.0}% \
             (95% interval), within a {} budget",
            rule.min_rounds,
            rule.max_rounds,
            rule.precision * 100.0,
            humantime::format_duration(budget)
        ),
    }
}

/// Verifies every backend on every case, a spinner saying which, and says
/// how it went: each case's result, and the backends that failed any (not
/// to be timed).
fn verify_all(
    cases: impl Iterator<Item = verify::Case>,
    binaries: &BTreeMap<Program, PathBuf>,
    backends: &[Program],
) -> (Vec<verify::CaseResult>, Vec<Program>) {
    let spinner = ProgressBar::new_spinner();
    spinner.enable_steady_tick(Duration::from_millis(120));
    let mut verification = Vec::new();
    for case in cases {
        spinner.set_message(format!("verify: {} on {} backends", case.about, backends.len()));
        let result = verify::run_case(&case, binaries, backends);
        for m in result.outcomes.values().flatten() {
            spinner.suspend(|| eprintln!("xtask: MISMATCH: {m}"));
        }
        verification.push(result);
    }
    spinner.finish_and_clear();
    let excluded: Vec<Program> = backends
        .iter()
        .copied()
        .filter(|b| verification.iter().any(|c| c.outcomes.get(b).is_some_and(Option::is_some)))
        .collect();
    let names = |bs: &[Program]| bs.iter().map(|b| b.name()).collect::<Vec<_>>().join(", ");
    let (ran, ok) = verification.iter().map(verify::CaseResult::passed).fold((0, 0), |(r, o), (a, b)| (r + a, o + b));
    eprintln!(
        "xtask: verification: {ok} of {ran} runs passed ({} cases on {}; the sequential baseline runs only the \
         one-worker cases){}",
        verification.len(),
        names(backends),
        if excluded.is_empty() {
            ": all the same".to_owned()
        } else {
            format!("; NOT benchmarked: {}", names(&excluded))
        }
    );
    (verification, excluded)
}

/// Times `cells` within `budget` (each cell's share of what is left, by
/// its cost per round; a cell that decides early leaves its time to the
/// rest), with the measured ideals applied, then runs `traces`. `who`: the
/// programs timed, and those traced (what logs).
fn time_all(
    bencher: &Bencher<'_>,
    cells: &[workload::Cell],
    traces: &[workload::TraceCell],
    who: (&[Program], &[Program]),
    budget: Duration,
) -> (Vec<CellResult>, Vec<TraceResult>) {
    let (passed, traced) = who;
    let total: u64 = cells
        .iter()
        .map(|c| {
            let (w, n) = bencher.rounds(c);
            bencher.cell_cost(c, passed, w + n)
        })
        .sum::<u64>()
        + traces
            .iter()
            .map(|t| bencher.cell_cost(&t.cell, traced, t.rounds * if t.against_quiet { 2 } else { 1 }))
            .sum::<u64>();
    bencher.progress.set_length(total.max(1));
    let mut cell_results = Vec::new();
    let timing = Instant::now();
    let mut cost_left: u64 = cells.iter().map(|c| bencher.round_cost(c, passed)).sum();
    for cell in cells {
        let cost = bencher.round_cost(cell, passed);
        let left = budget.saturating_sub(timing.elapsed());
        let share = left.mul_f64(cost as f64 / cost_left.max(1) as f64);
        cost_left = cost_left.saturating_sub(cost);
        let result = bencher.run_cell(cell, passed, share);
        for b in result.backends.iter().filter(|b| b.failure.is_some()) {
            bencher.progress.suspend(|| {
                eprintln!("xtask: {} could not run {}: {}", b.backend, cell.label(), b.failure.as_deref().unwrap_or(""))
            });
        }
        cell_results.push(result);
    }
    analysis::apply_measured_ideals(&mut cell_results);
    let mut trace_results = Vec::new();
    for trace in traces {
        trace_results.extend(bencher.run_trace(trace, traced));
    }
    (cell_results, trace_results)
}

/// Writes the reports into `out` and the headline into the README at
/// `readme` if given; says the command's verdict. `Ok(false)` when it failed.
fn write(results: &Results, out: &std::path::Path, readme: Option<&std::path::Path>) -> Result<bool> {
    let written = report::write_all(results, out)?;
    let headline = report::headline(results);
    eprintln!("\n{headline}");
    if let Some(readme) = readme {
        crate::readme::update(readme, &readme_block(&headline))?;
        eprintln!("xtask: updated the figures in README.md");
    }
    for path in written {
        eprintln!("xtask: wrote {}", path.display());
    }
    let verdict = verdict(results);
    for line in verdict.as_ref().err().into_iter().flatten() {
        eprintln!("xtask: {line}");
    }
    Ok(verdict.is_ok())
}

/// Whether the comparison passed: every backend verified and benchmarked,
/// and no timed or traced run failed; if not, one line for each reason.
fn verdict(results: &Results) -> Result<(), Vec<String>> {
    let mut why = Vec::new();
    if !results.excluded.is_empty() {
        let names: Vec<&str> = results.excluded.iter().map(|p| p.name()).collect();
        why.push(format!("verification failed for {}: see above; they were not benchmarked", names.join(", ")));
    }
    why.extend(failed_runs(results).into_iter().map(|f| format!("FAILED: {f}")));
    if why.is_empty() { Ok(()) } else { Err(why) }
}

/// Every timed or traced run that failed (exited badly, timed out, or left a
/// log the checker rejects), one line each: the report shows them too, and
/// they make the command fail so CI sees them.
fn failed_runs(results: &Results) -> Vec<String> {
    let timed = results.cells.iter().flat_map(|c| {
        c.backends.iter().filter_map(move |b| {
            b.failure.as_ref().map(|f| format!("{} on {} {} × {} (timed): {f}", b.backend, c.spec, c.workers, c.jobs))
        })
    });
    let traced = results.traces.iter().filter_map(|t| {
        t.failure.as_ref().map(|f| format!("{} on {} {} × {} (traced): {f}", t.backend, t.spec, t.workers, t.jobs))
    });
    timed.chain(traced).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_ones_own_cells_leaves_results_alone() {
        let root = std::path::Path::new("/w");
        assert_eq!(default_out(root, false), root.join("results"));
        assert_ne!(default_out(root, true), root.join("results"));
        assert!(default_out(root, true).ends_with("compare-cells"));
    }
    use crate::program::Program;
    use crate::report::tests::sample_results;

    /// The command fails when verification excluded a backend, when a timed
    /// or traced run failed, and only then.
    #[test]
    fn the_verdict_fails_on_an_excluded_backend_or_a_failed_run() {
        let mut r = sample_results();
        // The sample's tokio run failed ("out of memory").
        let why = verdict(&r).expect_err("a failed run fails the command");
        assert!(why.iter().any(|l| l.starts_with("FAILED: tokio") && l.contains("out of memory")), "{why:?}");
        for c in &mut r.cells {
            c.backends.retain(|b| b.failure.is_none());
        }
        assert_eq!(verdict(&r), Ok(()), "nothing failed, nothing excluded");
        r.excluded = vec![Program::known("rayon")];
        let why = verdict(&r).expect_err("an excluded backend fails the command");
        assert_eq!(why, ["verification failed for rayon: see above; they were not benchmarked"]);
    }
}
