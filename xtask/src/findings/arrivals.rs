//! What the arrivals family decides: each pool's sustained load (the
//! highest offered load whose p99 latency stays within the bound).

use crate::program::Program;
use crate::results::CellResult;

use super::Meaning;

/// The p99 latency, µs, beyond the job's own time (its sleep or spin), a
/// pool must stay within at a load for it to count as sustained.
pub const P99_BOUND_US: f64 = 1_000.0;

/// The bound for the cell's jobs: [`P99_BOUND_US`] plus a job's time.
fn bound_us(c: &CellResult) -> f64 {
    let own = c.spec.parse::<pool_spec::WorkSpec>().map_or(0.0, |w| match w.span {
        pool_spec::Span::Fixed(d) => d.as_secs_f64() * 1e6,
        pool_spec::Span::Uniform { max, .. } | pool_spec::Span::LogUniform { max, .. } => max.as_secs_f64() * 1e6,
    });
    P99_BOUND_US + own
}

/// A cell's offered load, jobs a second, from its arrival (`poisson:RATE`).
pub fn rate(c: &CellResult) -> Option<u64> {
    let a: pool_spec::Arrival = c.arrival.as_deref()?.parse().ok()?;
    Some(a.rate() as u64)
}

/// The highest load among `rungs` (cells of one job shape) at which
/// `program`'s median p99 stays within [`P99_BOUND_US`], provided it does
/// at every lighter one; `None` if not even at the lightest.
pub fn sustained(rungs: &[&CellResult], program: Program) -> Option<u64> {
    let mut by_rate: Vec<(u64, bool)> = rungs
        .iter()
        .filter_map(|c| {
            let b = c.backends.iter().find(|b| b.backend == program)?;
            let within = b.stats.as_ref().and_then(|st| st.latency_us).is_some_and(|l| l[1].median <= bound_us(c));
            Some((rate(c)?, within))
        })
        .collect();
    by_rate.sort_by_key(|r| r.0);
    by_rate.iter().take_while(|r| r.1).last().map(|r| r.0)
}

/// The lightest `noop` load of the ladder, where latency is the pool's own.
const LIGHT_NOOP: u64 = 10_000;
/// The most p99 latency, µs, the best in-process pool may take there.
const LIGHT_P99_US: f64 = 20.0;
/// The most a tuned flavor's p99 there may be over its textbook form's.
const TUNED_OVER_TEXTBOOK: f64 = 1.2;
/// How many times the slowest textbook pool's sustained load the best tuned
/// flavor must sustain.
const SATURATION_FACTOR: u64 = 100;

/// The arrivals family's targets (issue 21), from its `noop` cells.
pub(super) fn arrival_targets(cells: &[CellResult]) -> Vec<super::Target> {
    use super::Target;
    let noop: Vec<&CellResult> =
        cells.iter().filter(|c| c.workload == crate::workload::Family::Arrivals && c.spec == "noop").collect();
    let Some(light) = noop.iter().copied().find(|c| rate(c) == Some(LIGHT_NOOP)) else { return Vec::new() };
    let mut out = Vec::new();
    let pools = |c: &CellResult| -> Vec<(Program, f64)> {
        c.backends
            .iter()
            .filter(|b| !b.backend.is_micros() && !b.backend.is_baseline())
            .filter_map(|b| Some((b.backend, b.stats.as_ref()?.latency_us.as_ref()?[1].median)))
            .collect()
    };
    let best = pools(light).into_iter().min_by(|a, b| a.1.total_cmp(&b.1));
    out.push(Target {
        what: format!(
            "`noop` at {}/s, 2 workers: the best in-process p99 ≤ {LIGHT_P99_US} µs",
            crate::units::thousands(LIGHT_NOOP)
        ),
        measured: best.map_or("–".to_owned(), |(p, us)| format!("{p}: {} µs", crate::units::sig3(us))),
        met: best.map(|(_, us)| us <= LIGHT_P99_US),
        evidence: floor(light),
    });
    for (p, _) in pools(light) {
        let Some(t) = p.textbook() else { continue };
        let Some(q) = light.ratio(p, t) else { continue };
        out.push(Target {
            what: format!(
                "`noop` at {}/s: {p} p99 ≤ {TUNED_OVER_TEXTBOOK}× textbook's",
                crate::units::thousands(LIGHT_NOOP)
            ),
            measured: format!("tuned / textbook {}", crate::units::ratio(&q)),
            met: Some(q.median <= TUNED_OVER_TEXTBOOK),
            evidence: "p99 paired by round".to_owned(),
        });
    }
    let programs: Vec<Program> = pools(light).into_iter().map(|(p, _)| p).collect();
    let load = |p: Program| sustained(&noop, p).unwrap_or(0);
    let best_tuned = programs.iter().copied().filter(|p| p.textbook().is_some()).max_by_key(|&p| load(p));
    let slowest_textbook = programs.iter().copied().filter(|p| p.textbook().is_none()).min_by_key(|&p| load(p));
    if let (Some(b), Some(s)) = (best_tuned, slowest_textbook) {
        let what = format!(
            "`noop` saturation: the best tuned flavor sustains ≥ {SATURATION_FACTOR}× the slowest textbook pool's \
             load (p99 ≤ {P99_BOUND_US} µs)"
        );
        let lightest = noop.iter().filter_map(|c| rate(c)).min().unwrap_or(LIGHT_NOOP);
        out.push(if load(s) == 0 {
            // Past the bound at the lightest rung: its load is below that
            // rung, so the ratio is more than the best's over the lightest.
            let at_least = load(b) / lightest;
            Target {
                what,
                measured: format!(
                    "{b} {}/s; {s} less than the lightest rung, {}/s: more than {at_least}×",
                    crate::units::thousands(load(b)),
                    crate::units::thousands(lightest)
                ),
                met: (at_least >= SATURATION_FACTOR).then_some(true),
                evidence: format!("{s}'s p99 is past the bound even at the lightest rung"),
            }
        } else {
            Target {
                what,
                measured: format!(
                    "{b} {}/s; {s} {}/s",
                    crate::units::thousands(load(b)),
                    crate::units::thousands(load(s))
                ),
                met: Some(load(b) >= load(s).saturating_mul(SATURATION_FACTOR)),
                evidence: "the ladder's rungs only: a load between two rungs is not tried".to_owned(),
            }
        });
    }
    out
}

/// What the arrivals family means, in one sentence: at light load, which
/// pool answers soonest and how far behind the no-pool floor; then which
/// sustains the most `noop` load within the bound. `None` without its cells.
pub(super) fn meaning(cells: &[CellResult]) -> Option<Meaning> {
    let noop: Vec<&CellResult> =
        cells.iter().filter(|c| c.workload == crate::workload::Family::Arrivals && c.spec == "noop").collect();
    let light = noop.iter().copied().find(|c| rate(c) == Some(LIGHT_NOOP))?;
    let p99 = |c: &CellResult, p: Program| c.backends.iter().find(|b| b.backend == p)?.stats.as_ref()?.latency_us;
    let pools: Vec<Program> =
        light.backends.iter().map(|b| b.backend).filter(|p| !p.is_baseline() && !p.is_micros()).collect();
    let best =
        pools.iter().copied().filter_map(|p| Some((p, p99(light, p)?[1].median))).min_by(|a, b| a.1.total_cmp(&b.1))?;
    let worst =
        pools.iter().copied().filter_map(|p| Some((p, p99(light, p)?[1].median))).max_by(|a, b| a.1.total_cmp(&b.1))?;
    let floor = light.backends.iter().find(|b| b.backend.is_baseline()).and_then(|b| p99(light, b.backend));
    let floor =
        floor.map_or(String::new(), |l| format!(" (one thread with no pool: {} µs)", crate::units::sig3(l[1].median)));
    let most = pools.iter().copied().max_by_key(|&p| sustained(&noop, p).unwrap_or(0));
    let most = most.and_then(|p| Some((p, sustained(&noop, p)?))).map_or(String::new(), |(p, r)| {
        format!(" The most `noop` load within {} µs of p99: {p}, {}/s.", P99_BOUND_US, crate::units::thousands(r))
    });
    Some(Meaning::new(
        format!("A stream of jobs (Poisson arrivals, `noop` at {}/s, 2 workers)", crate::units::thousands(LIGHT_NOOP)),
        format!(
            "the lowest p99 latency from arrival is {}'s, {} µs{floor}; the highest, {}'s, {} µs.{most} For a \
             stream, judge a pool by this latency at your load, not by its batch makespan.",
            best.0,
            crate::units::sig3(best.1),
            worst.0,
            crate::units::sig3(worst.1),
        ),
    ))
}

/// The evidence for the light-load target: the sequential baseline's own
/// p99 there (no hand-off: the producer's wake-up from its sleep).
fn floor(light: &CellResult) -> String {
    let baseline = light.backends.iter().find(|b| b.backend.is_baseline());
    match baseline.and_then(|b| b.stats.as_ref()?.latency_us) {
        Some(l) => format!(
            "median over the rounds of each run's p99; one thread with no pool at all takes {} µs p99 here (a \
             sleeping thread's wake-up on this machine)",
            crate::units::sig3(l[1].median)
        ),
        None => "median over the rounds of each run's p99 from its summary line".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{backend, cell};
    use crate::results::{ProgramResult, SampleLatency};
    use crate::workload::Family;

    /// A program whose runs at one rung had these p99 latencies, µs.
    fn at(name: &str, p99s: &[f64]) -> ProgramResult {
        let mut b = backend(Program::known(name), 2, 0.0, &vec![0.2; p99s.len()]);
        for (s, &p99_us) in b.samples.iter_mut().zip(p99s) {
            s.latency = Some(SampleLatency { p50_us: p99_us / 2.0, p99_us, p999_us: p99_us, max_us: p99_us });
        }
        b
    }

    fn rung(rate: u64, rows: Vec<ProgramResult>) -> CellResult {
        let mut c = cell(Family::Arrivals, "noop", 2, rate / 5, 0.0, rows);
        c.arrival = Some(format!("poisson:{rate}"));
        c
    }

    /// A pool sustains the highest rung whose p99 is within the bound, and
    /// only if every lighter one is too; the targets read the same.
    #[test]
    fn a_pool_sustains_up_to_its_first_rung_past_the_bound() {
        let ladder = [
            rung(10_000, vec![at("std", &[90.0; 6]), at("std-tuned", &[15.0; 6])]),
            rung(100_000, vec![at("std", &[2_000.0; 6]), at("std-tuned", &[400.0; 6])]),
            rung(1_000_000, vec![at("std", &[900.0; 6]), at("std-tuned", &[999.0; 6])]),
        ];
        let rungs: Vec<&CellResult> = ladder.iter().collect();
        assert_eq!(sustained(&rungs, Program::known("std")), Some(10_000), "past the bound at 100k: not 1M either");
        assert_eq!(sustained(&rungs, Program::known("std-tuned")), Some(1_000_000));
        assert_eq!(sustained(&rungs, Program::known("crossbeam")), None);
        let targets = arrival_targets(&ladder);
        let met = |what: &str| targets.iter().find(|t| t.what.starts_with(what)).and_then(|t| t.met);
        assert_eq!(met("`noop` at 10,000/s, 2 workers: the best in-process p99 ≤ 20 µs"), Some(true));
        assert_eq!(met("`noop` at 10,000/s: std-tuned p99"), Some(true), "15 over 90 µs");
        assert_eq!(met("`noop` saturation"), Some(true), "1,000,000 is 100x 10,000");
        let crossbeam_never = [
            rung(10_000, vec![at("crossbeam", &[2_000.0; 6]), at("crossbeam-tuned", &[15.0; 6])]),
            rung(1_000_000, vec![at("crossbeam", &[9_000.0; 6]), at("crossbeam-tuned", &[999.0; 6])]),
        ];
        let targets = arrival_targets(&crossbeam_never);
        let saturation = targets.iter().find(|t| t.what.starts_with("`noop` saturation")).unwrap();
        assert_eq!(saturation.met, Some(true), "under 10,000/s against 1,000,000/s: more than 100x");
        assert!(saturation.measured.contains("more than 100×"), "{}", saturation.measured);
        let short = [rung(10_000, vec![at("crossbeam", &[2_000.0; 6]), at("crossbeam-tuned", &[15.0; 6])])];
        let saturation = arrival_targets(&short).into_iter().find(|t| t.what.starts_with("`noop` saturation"));
        assert_eq!(saturation.unwrap().met, None, "more than 1x says nothing of 100x");
        let said = meaning(&ladder).unwrap().says;
        assert!(said.contains("the lowest p99 latency from arrival is std-tuned's, 15.0 µs"), "{said}");
        assert!(
            said.contains(
                "the highest, std's, 90.0 µs. The most `noop` load within 1000 µs of p99: std-tuned, 1,000,000/s."
            ),
            "{said}"
        );
        assert_eq!(meaning(&ladder[1..]), None, "no light rung, nothing said");
    }
}
