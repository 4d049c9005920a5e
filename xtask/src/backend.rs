//! The programs compared: the four backends and the sequential baseline,
//! each one binary with the same flags.

use serde::Serialize;

/// One program under comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// `std::sync::mpsc` + `Arc<Mutex<Receiver>>`.
    Std,
    /// crossbeam-channel, a receiver clone per worker.
    Crossbeam,
    /// W async tasks on a multi-thread tokio runtime.
    Tokio,
    /// A W-thread rayon pool fed by `par_bridge`.
    Rayon,
    /// The baseline: every job in one loop on the main thread, no pool.
    Sequential,
}

impl Backend {
    /// Every program, in report order.
    pub const ALL: [Backend; 5] =
        [Backend::Std, Backend::Crossbeam, Backend::Tokio, Backend::Rayon, Backend::Sequential];

    /// Short name, as in reports.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Std => "std",
            Backend::Crossbeam => "crossbeam",
            Backend::Tokio => "tokio",
            Backend::Rayon => "rayon",
            Backend::Sequential => "sequential",
        }
    }

    /// The binary's name.
    pub fn binary(self) -> String {
        format!("pool-{}", self.name())
    }

    /// Whether this is the no-pool baseline, always run with one worker.
    pub fn is_baseline(self) -> bool {
        self == Backend::Sequential
    }

    /// Its color in every plot (fixed, so a backend looks the same in all).
    pub fn rgb(self) -> (u8, u8, u8) {
        match self {
            Backend::Std => (0x1f, 0x77, 0xb4),
            Backend::Crossbeam => (0xd6, 0x27, 0x28),
            Backend::Tokio => (0x2c, 0xa0, 0x2c),
            Backend::Rayon => (0xff, 0x7f, 0x0e),
            Backend::Sequential => (0x55, 0x55, 0x55),
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
