//! The run's clock across processes. A log's JSON timestamps (`t_us`) count
//! from the run's epoch, an [`Instant`] of the coordinator's; an `Instant`
//! means nothing in another process, so the coordinator publishes the epoch
//! as wall-clock time (microseconds since the UNIX epoch, setting
//! `epoch_us`) and each remote worker turns it back into an `Instant` of its
//! own, from which its pool stamps its lines. The coordinator relays those
//! stamps as they are, so a job's time from `started` to `finished` in the
//! log is the worker's own, and the checker's work rule judges it.
//!
//! Assumption: the worker's wall clock agrees with the coordinator's. On one
//! machine it is the same clock, and the stamps are exact (each process
//! reads its two clocks once, a fraction of a microsecond apart). Across
//! machines, the stamps are off by the clocks' difference (NTP keeps it to
//! milliseconds or less): within one worker the times stay exact (they
//! differ by a constant), so the work rule still holds; what compares one
//! worker's time with another's (the order of events across workers, "no
//! worker leaves while work remains", which allows 1 ms) is only as good as
//! the clocks' agreement.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `epoch` as wall-clock time: microseconds since the UNIX epoch.
pub(crate) fn to_unix_us(epoch: Instant) -> u64 {
    let wall = SystemTime::now() - epoch.elapsed();
    wall.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// The [`Instant`] of this process that is `unix_us` (microseconds since
/// the UNIX epoch) on its wall clock; in the future if this clock is behind
/// the one that gave it.
pub(crate) fn from_unix_us(unix_us: u64) -> Instant {
    let wall = UNIX_EPOCH + Duration::from_micros(unix_us);
    let now = Instant::now();
    match SystemTime::now().duration_since(wall) {
        Ok(ago) => now.checked_sub(ago).unwrap_or(now),
        Err(ahead) => now + ahead.duration(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An epoch survives the round trip through wall-clock time to within
    /// the time the round trip took (the two clocks advance alike in it)
    /// and the microsecond rounding.
    #[test]
    fn round_trip() {
        let epoch = Instant::now() - Duration::from_millis(1500);
        let took = Instant::now();
        let back = from_unix_us(to_unix_us(epoch));
        let bound = took.elapsed() + Duration::from_micros(2);
        let apart = if back > epoch { back - epoch } else { epoch - back };
        assert!(apart <= bound, "{apart:?} > {bound:?}");
        // An epoch ahead of this clock (another machine's clock is ahead).
        let ahead = from_unix_us(to_unix_us(Instant::now()) + 2_000_000);
        assert!(ahead > Instant::now() + Duration::from_secs(1));
    }
}
