//! Which form of a backend runs: the textbook pool (one message per job in,
//! one per result out) or the tuned one (chunks of job ids whose size adapts
//! to the work, results handed back in per-worker batches), on the same
//! substrate and under the same contract.

use std::fmt;

/// The form of a backend a run uses. A pool-wide setting: every backend has
/// both, the sequential baseline ignores it (it has no hand-off to tune).
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flavor {
    /// The seed's shape: one hand-off per job and one per result.
    #[default]
    Textbook,
    /// Adaptive chunks of job ids, batched results, the substrate's own
    /// tools (work stealing, indexed parallel iterators) where it has them.
    Tuned,
}

impl Flavor {
    /// Both flavors, textbook first.
    pub const ALL: [Flavor; 2] = [Flavor::Textbook, Flavor::Tuned];

    /// The flag value: `textbook` or `tuned`.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Textbook => "textbook",
            Flavor::Tuned => "tuned",
        }
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
