//! Medians with their spread, ratios to a reference, and the rule that two
//! results whose intervals overlap are not ranked.
//!
//! The interval is the range of the counted runs (min–max): with 5 runs a
//! bootstrap interval says little more, and the range hides nothing.

use serde::Serialize;

/// A median and the interval around it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    /// Median of the samples.
    pub median: f64,
    /// Lower end of the interval (smallest sample).
    pub lo: f64,
    /// Upper end of the interval (largest sample).
    pub hi: f64,
}

/// The median of `xs` (mean of the middle two for an even count); `None` for
/// no samples.
pub fn median(xs: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

impl Spread {
    /// Median and min–max of `xs`; `None` for no samples.
    pub fn of(xs: &[f64]) -> Option<Spread> {
        let median = median(xs)?;
        let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(Spread { median, lo, hi })
    }

    /// Whether the two intervals share a point: then the data cannot tell
    /// which is faster.
    pub fn overlaps(&self, other: &Spread) -> bool {
        self.lo <= other.hi && other.lo <= self.hi
    }

    /// `self / reference`, the median ratio with the widest ratio the two
    /// intervals allow (`lo / ref.hi` to `hi / ref.lo`).
    pub fn ratio_to(&self, reference: &Spread) -> Spread {
        let div = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
        Spread {
            median: div(self.median, reference.median),
            lo: div(self.lo, reference.hi),
            hi: div(self.hi, reference.lo),
        }
    }
}

/// Ranks of lower-is-better results: 1 + the number of others whose whole
/// interval lies below this one's. Results that overlap share a rank, so
/// only real differences order them.
pub fn ranks(spreads: &[Spread]) -> Vec<usize> {
    spreads.iter().map(|s| 1 + spreads.iter().filter(|o| o.hi < s.lo).count()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(median: f64, lo: f64, hi: f64) -> Spread {
        Spread { median, lo, hi }
    }

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(Spread::of(&[5.0, 1.0, 9.0, 2.0, 4.0]), Some(s(4.0, 1.0, 9.0)));
    }

    #[test]
    fn overlap_decides_indistinguishable() {
        assert!(s(2.0, 1.0, 3.0).overlaps(&s(3.5, 3.0, 4.0)), "touching counts");
        assert!(!s(2.0, 1.0, 2.9).overlaps(&s(3.5, 3.0, 4.0)));
        assert!(s(2.0, 1.0, 5.0).overlaps(&s(3.0, 2.5, 3.5)), "nested");
    }

    #[test]
    fn ratio_takes_the_widest_interval() {
        let r = s(20.0, 18.0, 24.0).ratio_to(&s(10.0, 9.0, 12.0));
        assert_eq!(r, s(2.0, 1.5, 24.0 / 9.0));
        assert!(s(1.0, 1.0, 1.0).ratio_to(&s(0.0, 0.0, 0.0)).median.is_nan());
    }

    #[test]
    fn overlapping_results_share_a_rank() {
        let r = ranks(&[s(10.0, 9.0, 11.0), s(10.5, 10.0, 12.0), s(20.0, 19.0, 21.0), s(5.0, 4.0, 6.0)]);
        assert_eq!(r, [2, 2, 4, 1]);
    }
}
