//! How figures are written, everywhere the xtask writes one (the findings'
//! sentences, the reports): units, three significant figures, intervals,
//! thousands separators.

use crate::stats::{Interval, Spread};

/// A duration in seconds as a short human figure: `812 ns`, `95.2 µs`,
/// `12.3 ms`, `2.01 s`.
pub fn duration(seconds: f64) -> String {
    let (v, unit) = match seconds.abs() {
        s if s >= 1.0 => (seconds, "s"),
        s if s >= 1e-3 => (seconds * 1e3, "ms"),
        s if s >= 1e-6 => (seconds * 1e6, "µs"),
        _ => (seconds * 1e9, "ns"),
    };
    format!("{} {unit}", sig3(v))
}

/// `12.3 (11.9–13.0)`: a median and min–max, in the median's precision.
pub fn spread(s: &Spread) -> String {
    format!("{} ({}–{})", sig3(s.median), sig3(s.lo), sig3(s.hi))
}

/// A ratio with the min–max of its samples: `1.05× (1.01–1.09)`.
pub fn spread_ratio(s: &Spread) -> String {
    format!("{}× ({}–{})", sig3(s.median), sig3(s.lo), sig3(s.hi))
}

/// A spread of seconds, in the median's unit: `12.3 ms (11.9–13.0)`.
pub fn spread_time(s: &Spread) -> String {
    let median = duration(s.median);
    let (_, unit) = median.rsplit_once(' ').expect("a unit");
    let scale = match unit {
        "s" => 1.0,
        "ms" => 1e3,
        "µs" => 1e6,
        _ => 1e9,
    };
    format!("{median} ({}–{})", sig3(s.lo * scale), sig3(s.hi * scale))
}

/// A spread of nanoseconds in microseconds.
pub fn micros(ns: &Spread) -> Spread {
    Spread { median: ns.median / 1e3, lo: ns.lo / 1e3, hi: ns.hi / 1e3 }
}

/// A paired ratio with its 95% interval: `1.23× (1.10–1.31)`.
pub fn ratio(s: &Interval) -> String {
    format!("{}× ({}–{})", sig3(s.median), sig3(s.lo), sig3(s.hi))
}

/// A median with its 95% interval: `12.3 (11.9–13.0)`.
pub fn interval(s: &Interval) -> String {
    format!("{} ({}–{})", sig3(s.median), sig3(s.lo), sig3(s.hi))
}

/// `1000000` as `1,000,000`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Three significant figures, no exponent: `1234`, `123`, `12.3`, `1.23`.
pub fn sig3(v: f64) -> String {
    match v.abs() {
        a if a >= 100.0 || a == 0.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        a if a >= 1.0 => format!("{v:.2}"),
        _ => format!("{v:.3}"),
    }
}

/// The stopping rule's precision as the report words it: `0.05` is "±5%".
pub fn plus_minus(precision: f64) -> String {
    format!("±{}%", (precision * 1000.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(2.014), "2.01 s");
        assert_eq!(duration(0.0123), "12.3 ms");
        assert_eq!(duration(0.000_095_2), "95.2 µs");
        assert_eq!(duration(0.000_000_812), "812 ns");
        assert_eq!(sig3(0.0), "0");
    }

    #[test]
    fn precision_is_worded_as_a_percentage() {
        assert_eq!(plus_minus(0.05), "±5%");
        assert_eq!(plus_minus(0.025), "±2.5%");
    }
}
