//! Jobs that arrive over time (`--arrival poisson:RATE`, `uniform:RATE`):
//! each job's arrival, counted from the run's start, drawn once from the
//! seed so every backend gets the same schedule, and the checker can
//! recompute it. The stream releases a job at its arrival ([`crate::Jobs`]),
//! and a job's latency is counted from its arrival, not from when the pool
//! took it: a pool that falls behind cannot hide its backlog (coordinated
//! omission).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::JobId;

/// The most jobs a run with arrivals may have: its schedule is held whole
/// (8 bytes a job).
pub const MAX_ARRIVING_JOBS: u64 = 50_000_000;

/// Mixed into the seed for the arrivals, so they are not drawn from the
/// stream the work's durations come from.
const ARRIVAL_STREAM: u64 = 0x0a44_17a1;

/// How jobs arrive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arrival {
    /// A Poisson process: exponential gaps with mean `1 / rate`.
    Poisson {
        /// Jobs per second, on average.
        rate: f64,
    },
    /// Evenly spaced: job `j` at `(j - 1) / rate`.
    Uniform {
        /// Jobs per second.
        rate: f64,
    },
}

impl Eq for Arrival {}

impl Arrival {
    /// Jobs per second, on average.
    pub fn rate(self) -> f64 {
        match self {
            Arrival::Poisson { rate } | Arrival::Uniform { rate } => rate,
        }
    }

    /// When each of `jobs` jobs arrives, drawn from `seed` (Poisson only;
    /// not the stream the work's durations come from).
    pub fn schedule(self, jobs: u64, seed: u64) -> Schedule {
        let n = usize::try_from(jobs.min(MAX_ARRIVING_JOBS)).unwrap_or(usize::MAX);
        let mut at_ns = Vec::with_capacity(n);
        match self {
            Arrival::Uniform { rate } => {
                at_ns.extend((0..n as u64).map(|j| (j as f64 * 1e9 / rate) as u64));
            }
            Arrival::Poisson { rate } => {
                let mut rng = Pcg64Mcg::seed_from_u64(seed ^ ARRIVAL_STREAM);
                let mut t = 0.0f64;
                for _ in 0..n {
                    // 1 - U lies in (0, 1]: its logarithm is finite.
                    let u: f64 = rng.random();
                    t += -(1.0 - u).ln() / rate * 1e9;
                    at_ns.push(t as u64);
                }
            }
        }
        Schedule { at_ns }
    }
}

/// When each job of a run arrives, counted from the run's start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schedule {
    /// Job `j`'s arrival, nanoseconds, at index `j - 1`; never decreasing.
    at_ns: Vec<u64>,
}

impl Schedule {
    /// When `job` arrives; `None` for an id outside the run.
    #[inline]
    pub fn at(&self, job: JobId) -> Option<Duration> {
        let i = usize::try_from(job.0.checked_sub(1)?).ok()?;
        self.at_ns.get(i).map(|&ns| Duration::from_nanos(ns))
    }

    /// How many jobs it schedules.
    pub fn len(&self) -> usize {
        self.at_ns.len()
    }

    /// Whether it schedules none.
    pub fn is_empty(&self) -> bool {
        self.at_ns.is_empty()
    }
}

impl fmt::Display for Arrival {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arrival::Poisson { rate } => write!(f, "poisson:{rate}"),
            Arrival::Uniform { rate } => write!(f, "uniform:{rate}"),
        }
    }
}

impl FromStr for Arrival {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, rate) = s.split_once(':').ok_or_else(|| format!("'{s}': expected poisson:RATE or uniform:RATE"))?;
        let rate: f64 = rate
            .trim()
            .parse()
            .ok()
            .filter(|r: &f64| r.is_finite() && *r > 0.0 && *r <= 1e9)
            .ok_or_else(|| format!("'{rate}': a rate is jobs per second, above 0 and at most 1e9"))?;
        match kind.trim() {
            "poisson" => Ok(Arrival::Poisson { rate }),
            "uniform" => Ok(Arrival::Uniform { rate }),
            other => Err(format!("'{other}': expected poisson or uniform")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_parse_and_print_back() {
        for s in ["poisson:10000", "uniform:2.5", "poisson:1000000000"] {
            assert_eq!(s.parse::<Arrival>().unwrap().to_string(), s);
        }
        for bad in ["poisson", "poisson:0", "poisson:-3", "poisson:inf", "uniform:x", "burst:10", "poisson:2e9"] {
            assert!(bad.parse::<Arrival>().is_err(), "{bad}");
        }
    }

    #[test]
    fn uniform_arrivals_are_evenly_spaced_from_zero() {
        let s = Arrival::Uniform { rate: 1000.0 }.schedule(3, 1);
        assert_eq!(s.at(JobId(1)), Some(Duration::ZERO));
        assert_eq!(s.at(JobId(3)), Some(Duration::from_millis(2)));
        assert_eq!((s.at(JobId(0)), s.at(JobId(4))), (None, None));
    }

    /// Poisson arrivals: never decreasing, the same for the same seed, and
    /// their gaps average about `1 / rate` (100,000 gaps: the mean's
    /// relative error is about 0.3% at one standard deviation).
    #[test]
    fn poisson_arrivals_have_the_rate_and_follow_the_seed() {
        let rate = 10_000.0;
        let s = Arrival::Poisson { rate }.schedule(100_000, 7);
        let at: Vec<Duration> = (1..=100_000).map(|j| s.at(JobId(j)).unwrap()).collect();
        assert!(at.windows(2).all(|w| w[0] <= w[1]));
        let mean_gap = at[99_999].as_secs_f64() / 100_000.0;
        assert!((mean_gap * rate - 1.0).abs() < 0.02, "mean gap {mean_gap}");
        assert_eq!(s, Arrival::Poisson { rate }.schedule(100_000, 7));
        assert_ne!(s, Arrival::Poisson { rate }.schedule(100_000, 8));
    }
}
