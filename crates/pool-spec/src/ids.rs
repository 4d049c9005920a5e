//! Newtype ids, so a worker number and a job number cannot be swapped.

use std::fmt;

/// A worker's number, counted from 1 as in the seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkerId(pub u32);

/// A job's number, counted from 1 as in the seed. Job `j` yields `j * 2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub u64);

impl JobId {
    /// The result a correct run of this job yields: `j * 2`.
    #[inline]
    pub fn expected_result(self) -> u64 {
        self.0.wrapping_mul(2)
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
