//! Which form of a backend runs: the textbook pool (one message per job in,
//! one per result out) or the tuned one (chunks of job ids whose size adapts
//! to the work, results handed back in per-worker batches), on the same
//! substrate and under the same contract.

use std::fmt;

/// The form of a backend a run uses. A pool-wide setting: a backend has
/// the ones its `Backend::FLAVORS` (pool-core) names (the
/// in-process ones both), the sequential baseline ignores it (it has no
/// hand-off to tune).
///
/// Three hidden values take the tuned form apart for the ablation: chunks
/// without batched results, batched results without chunks, both without
/// the quick path (every job on its own through the per-job path).
#[derive(
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
)]
#[serde(rename_all = "kebab-case")]
pub enum Flavor {
    /// The seed's shape: one hand-off per job and one per result.
    #[default]
    Textbook,
    /// Adaptive chunks of job ids, batched results, the substrate's own
    /// tools (work stealing, indexed parallel iterators) where it has them.
    Tuned,
    /// Diagnostic (the ablation): tuned with chunks of job ids, but every
    /// result handed back on its own.
    #[value(hide = true)]
    TunedChunksOnly,
    /// Diagnostic (the ablation): tuned with batched results, but one job
    /// claimed at a time.
    #[value(hide = true)]
    TunedBatchesOnly,
    /// Diagnostic (the ablation): tuned with chunks and batched results, but
    /// every job run on its own, never in blocks of the quick path
    /// (pool-core's `Worker::quick` says no).
    #[value(hide = true)]
    TunedJobByJob,
}

impl Flavor {
    /// Both flavors, textbook first.
    pub const ALL: [Flavor; 2] = [Flavor::Textbook, Flavor::Tuned];

    /// The flag value: `textbook`, `tuned` (or a diagnostic one).
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Textbook => "textbook",
            Flavor::Tuned => "tuned",
            Flavor::TunedChunksOnly => "tuned-chunks-only",
            Flavor::TunedBatchesOnly => "tuned-batches-only",
            Flavor::TunedJobByJob => "tuned-job-by-job",
        }
    }

    /// Whether a backend runs its tuned form (whole, or a diagnostic part).
    pub fn is_tuned(self) -> bool {
        self != Flavor::Textbook
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
