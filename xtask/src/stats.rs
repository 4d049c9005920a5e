//! The statistics of the comparison: medians with the raw min–max, and
//! paired ratios with a 95% confidence interval.
//!
//! Programs are compared per round: every round runs each program once (in
//! rotated order), so round `r`'s ratio `a_r / b_r` compares two runs made
//! under the same conditions of a noisy machine. The ratio reported is the
//! median of those per-round ratios, with the exact distribution-free
//! interval for a median from order statistics (no resampling, no seed): for
//! `n` ratios sorted, `[x(k), x(n+1-k)]` with the largest `k` whose
//! binomial tail `P(Bin(n, ½) < k)` is at most 2.5%. Two programs are
//! *indistinguishable* when that interval contains 1.0. With 5 rounds or
//! fewer no 95% interval exists; the min–max of the ratios is given with the
//! confidence it does have (93.8% at 5), and says so.

use serde::Serialize;

/// The two-sided confidence the intervals aim at.
pub const CONFIDENCE: f64 = 0.95;

/// A median and the range of the samples (min–max): the raw spread, kept
/// visible beside every interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    /// Median of the samples.
    pub median: f64,
    /// Smallest sample.
    pub lo: f64,
    /// Largest sample.
    pub hi: f64,
}

/// The median of `xs` (mean of the middle two for an even count); `None` for
/// no samples.
pub fn median(xs: &[f64]) -> Option<f64> {
    let v = sorted(xs);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

fn sorted(xs: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

impl Spread {
    /// Median and min–max of `xs`; `None` for no samples.
    pub fn of(xs: &[f64]) -> Option<Spread> {
        let median = median(xs)?;
        let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(Spread { median, lo, hi })
    }
}

/// A median with its confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Interval {
    /// Median of the samples.
    pub median: f64,
    /// Lower end of the interval.
    pub lo: f64,
    /// Upper end of the interval.
    pub hi: f64,
    /// Number of samples (rounds, for a paired ratio).
    pub n: usize,
    /// The interval's actual coverage: at least [`CONFIDENCE`] from 6
    /// samples on, less below (then the interval is the min–max).
    pub confidence: f64,
}

/// `P(Bin(n, ½) ≤ k)`.
fn binomial_half_cdf(n: usize, k: usize) -> f64 {
    // Terms C(n, i) / 2^n built in logs, so large n does not overflow.
    let mut log_term = -(n as f64) * std::f64::consts::LN_2; // i = 0
    let mut total = log_term.exp();
    for i in 1..=k.min(n) {
        log_term += ((n - i + 1) as f64).ln() - (i as f64).ln();
        total += log_term.exp();
    }
    total.min(1.0)
}

/// The exact order-statistic confidence interval for the median of `xs`;
/// `None` for no samples.
pub fn median_interval(xs: &[f64]) -> Option<Interval> {
    let v = sorted(xs);
    let n = v.len();
    let median = median(&v)?;
    let alpha_half = (1.0 - CONFIDENCE) / 2.0;
    // Largest k (1-based) with P(B <= k - 1) <= alpha / 2; at least 1.
    let mut k = 1;
    while k < n.div_ceil(2) && binomial_half_cdf(n, k) <= alpha_half {
        k += 1;
    }
    let confidence = 1.0 - 2.0 * binomial_half_cdf(n, k - 1);
    Some(Interval { median, lo: v[k - 1], hi: v[n - k], n, confidence })
}

impl Interval {
    /// Whether `x` lies in the interval.
    pub fn contains(&self, x: f64) -> bool {
        self.lo <= x && x <= self.hi
    }

    /// Whether a ratio's interval says the two programs cannot be told
    /// apart: it contains 1.0, or it falls short of [`CONFIDENCE`] (5
    /// rounds or fewer: then nothing is told apart).
    pub fn indistinguishable(&self) -> bool {
        self.confidence < CONFIDENCE || self.contains(1.0)
    }

    /// Whether the interval lies within `±rel` of the median (the stopping
    /// rule: `0.05` is ±5%), and reaches [`CONFIDENCE`].
    pub fn within(&self, rel: f64) -> bool {
        self.confidence >= CONFIDENCE && self.lo >= self.median * (1.0 - rel) && self.hi <= self.median * (1.0 + rel)
    }
}

/// Per-round ratios `a_r / b_r` of two programs' samples, each given as
/// `(round, value)`: only rounds both ran in count.
pub fn paired_ratios(a: &[(u32, f64)], b: &[(u32, f64)]) -> Vec<f64> {
    a.iter()
        .filter_map(|&(round, x)| {
            let &(_, y) = b.iter().find(|&&(r, _)| r == round)?;
            (y > 0.0).then(|| x / y)
        })
        .collect()
}

/// The median paired ratio `a / b` with its interval; `None` when no round
/// has both.
pub fn paired_ratio(a: &[(u32, f64)], b: &[(u32, f64)]) -> Option<Interval> {
    median_interval(&paired_ratios(a, b))
}

/// Per-round differences `(a_r − b_r) × scale`, median and interval (for the
/// cost of tracing: traced minus quiet, per job).
pub fn paired_difference(a: &[(u32, f64)], b: &[(u32, f64)], scale: f64) -> Option<Interval> {
    let d: Vec<f64> = a
        .iter()
        .filter_map(|&(round, x)| b.iter().find(|&&(r, _)| r == round).map(|&(_, y)| (x - y) * scale))
        .collect();
    median_interval(&d)
}

/// Ranks of lower-is-better programs from their pairwise ratios:
/// `ratio(i, j)` is `i / j`. A program's rank is 1 + the number of others
/// distinguishably faster (their ratio's interval lies wholly below 1), so
/// programs that cannot be told apart share a rank.
pub fn ranks(n: usize, ratio: impl Fn(usize, usize) -> Option<Interval>) -> Vec<usize> {
    (0..n)
        .map(|i| {
            1 + (0..n).filter(|&j| j != i && ratio(j, i).is_some_and(|r| !r.indistinguishable() && r.hi < 1.0)).count()
        })
        .collect()
}

/// When to stop running rounds of a cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StoppingRule {
    /// Never fewer rounds (the interval needs 6 to reach 95%).
    pub min_rounds: u32,
    /// Never more.
    pub max_rounds: u32,
    /// Stop once every deciding ratio's interval is within this of its
    /// median (`0.05`: ±5%).
    pub precision: f64,
}

/// Why a cell stopped where it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// Every deciding ratio's interval was within the precision.
    Decided,
    /// The time budget ran out first: some ratios are left undecided.
    Budget,
    /// The most rounds were run without deciding.
    MaxRounds,
    /// A fixed count was asked for (`--runs N`).
    Fixed,
}

impl StoppingRule {
    /// After `rounds` rounds with these deciding ratios, and whether the
    /// budget is spent: `None` to go on, or why to stop.
    pub fn verdict(&self, rounds: u32, ratios: &[Interval], budget_spent: bool) -> Option<Stop> {
        if rounds < self.min_rounds {
            return None;
        }
        if ratios.iter().all(|r| r.within(self.precision)) {
            Some(Stop::Decided)
        } else if budget_spent {
            Some(Stop::Budget)
        } else if rounds >= self.max_rounds {
            Some(Stop::MaxRounds)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(Spread::of(&[5.0, 1.0, 9.0, 2.0, 4.0]), Some(Spread { median: 4.0, lo: 1.0, hi: 9.0 }));
    }

    #[test]
    fn binomial_tail_matches_known_values() {
        assert!(near(binomial_half_cdf(5, 0), 1.0 / 32.0));
        assert!(near(binomial_half_cdf(10, 1), 11.0 / 1024.0));
        assert!(near(binomial_half_cdf(10, 10), 1.0));
        assert!((binomial_half_cdf(1000, 500) - 0.5126).abs() < 1e-3);
    }

    #[test]
    fn the_interval_is_the_order_statistics_of_the_binomial() {
        // n = 10: P(B <= 1) = 1.07% <= 2.5%, P(B <= 2) = 5.5% > 2.5%: k = 2.
        let xs: Vec<f64> = (1..=10).map(f64::from).collect();
        let i = median_interval(&xs).unwrap();
        assert_eq!((i.lo, i.median, i.hi, i.n), (2.0, 5.5, 9.0, 10));
        assert!(near(i.confidence, 1.0 - 2.0 * 11.0 / 1024.0));
        // n = 6: only the min–max, at 96.9%.
        let i = median_interval(&[6.0, 1.0, 5.0, 2.0, 4.0, 3.0]).unwrap();
        assert_eq!((i.lo, i.hi), (1.0, 6.0));
        assert!(i.confidence >= CONFIDENCE);
        // n = 5: the min–max, but only 93.75%: below the aim, and said.
        let i = median_interval(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert!(near(i.confidence, 0.9375) && !i.within(10.0));
        // Order does not matter; one sample is its own interval.
        assert_eq!(median_interval(&[7.0]).unwrap().lo, 7.0);
        assert!(median_interval(&[]).is_none());
    }

    #[test]
    fn ratios_pair_samples_of_the_same_round() {
        let a = [(0, 2.0), (1, 4.0), (2, 9.0), (3, 3.0)];
        let b = [(0, 1.0), (1, 2.0), (3, 1.0), (4, 5.0)];
        // Rounds 0, 1, 3 have both: 2, 2, 3.
        assert_eq!(paired_ratios(&a, &b), [2.0, 2.0, 3.0]);
        assert_eq!(paired_ratio(&a, &b).unwrap().median, 2.0);
        assert!(paired_ratio(&a, &[]).is_none());
        let d = paired_difference(&a, &b, 10.0).unwrap();
        assert_eq!(d.median, 20.0);
    }

    #[test]
    fn pairing_sees_a_difference_that_unpaired_ranges_hide() {
        // Both programs' times swing 2x with the machine from round to
        // round, but a is always 10% slower than b in the same round: the
        // min–max ranges overlap wholly, the paired ratio is exactly 1.1.
        let load = [1.0, 2.0, 1.5, 1.2, 1.9, 1.1, 1.7, 1.3, 1.8, 1.4];
        let b: Vec<(u32, f64)> = load.iter().enumerate().map(|(r, &l)| (r as u32, l)).collect();
        let a: Vec<(u32, f64)> = b.iter().map(|&(r, l)| (r, l * 1.1)).collect();
        let r = paired_ratio(&a, &b).unwrap();
        assert!(near(r.median, 1.1) && near(r.lo, 1.1) && near(r.hi, 1.1), "{r:?}");
        assert!(!r.indistinguishable());
    }

    #[test]
    fn indistinguishable_when_the_interval_contains_one() {
        let i = |lo, hi| Interval { median: 1.0, lo, hi, n: 10, confidence: 0.98 };
        assert!(i(0.9, 1.1).indistinguishable());
        assert!(i(1.0, 1.2).indistinguishable(), "touching counts");
        assert!(!i(1.01, 1.2).indistinguishable());
        assert!(!i(0.8, 0.99).indistinguishable());
        let few = Interval { confidence: 0.75, ..i(1.1, 1.2) };
        assert!(few.indistinguishable(), "3 rounds tell nothing apart at 95%");
    }

    #[test]
    fn ranks_count_only_distinguishably_faster_programs() {
        // 0 and 1 cannot be told apart; 2 is slower than both; 3 fastest.
        let iv = |lo, hi| Some(Interval { median: (lo + hi) / 2.0, lo, hi, n: 10, confidence: 0.98 });
        let table = |i: usize, j: usize| match (i, j) {
            (0, 1) | (1, 0) => iv(0.95, 1.05),
            (0 | 1, 2) => iv(0.4, 0.6),
            (2, 0 | 1) => iv(1.7, 2.5),
            (3, _) => iv(0.2, 0.5),
            (_, 3) => iv(2.0, 5.0),
            _ => None,
        };
        assert_eq!(ranks(4, table), [2, 2, 4, 1]);
    }

    /// A synthetic cell: `a / b` per round is `1.2 × (1 + noise_r)` with the
    /// noise drawn from a fixed LCG in `±amplitude`.
    fn rounds_until_stop(amplitude: f64, rule: StoppingRule, budget_rounds: u32) -> (u32, Stop) {
        let mut state = 12345u64;
        let mut ratios = Vec::new();
        for round in 1.. {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            ratios.push(1.2 * (1.0 + amplitude * (2.0 * u - 1.0)));
            let interval = median_interval(&ratios).unwrap();
            if let Some(stop) = rule.verdict(round, &[interval], round >= budget_rounds) {
                return (round, stop);
            }
        }
        unreachable!()
    }

    #[test]
    fn a_quiet_series_stops_early_and_a_noisy_one_at_the_budget() {
        let rule = StoppingRule { min_rounds: 6, max_rounds: 100, precision: 0.05 };
        let (rounds, stop) = rounds_until_stop(0.01, rule, 40);
        assert_eq!((rounds, stop), (6, Stop::Decided), "±1% noise decides at the minimum");
        let (rounds, stop) = rounds_until_stop(0.5, rule, 40);
        assert_eq!((rounds, stop), (40, Stop::Budget), "±50% noise is left undecided by the budget");
        let (rounds, stop) = rounds_until_stop(0.5, StoppingRule { max_rounds: 12, ..rule }, 40);
        assert_eq!((rounds, stop), (12, Stop::MaxRounds));
        assert_eq!(rule.verdict(3, &[], true), None, "never below the minimum");
    }
}
