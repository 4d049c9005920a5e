//! The programs compared: the four backends and the sequential baseline,
//! each one binary with the same flags.

use serde::Serialize;

/// One program under comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Program {
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

impl Program {
    /// Every program, in report order.
    pub const ALL: [Program; 5] =
        [Program::Std, Program::Crossbeam, Program::Tokio, Program::Rayon, Program::Sequential];

    /// Short name, as in reports.
    pub fn name(self) -> &'static str {
        match self {
            Program::Std => "std",
            Program::Crossbeam => "crossbeam",
            Program::Tokio => "tokio",
            Program::Rayon => "rayon",
            Program::Sequential => "sequential",
        }
    }

    /// The binary's name.
    pub fn binary(self) -> String {
        format!("pool-{}", self.name())
    }

    /// Whether this is the no-pool baseline, always run with one worker.
    pub fn is_baseline(self) -> bool {
        self == Program::Sequential
    }

    /// Its color in every plot (fixed, so a backend looks the same in all).
    pub fn rgb(self) -> (u8, u8, u8) {
        match self {
            Program::Std => (0x1f, 0x77, 0xb4),
            Program::Crossbeam => (0xd6, 0x27, 0x28),
            Program::Tokio => (0x2c, 0xa0, 0x2c),
            Program::Rayon => (0xff, 0x7f, 0x0e),
            Program::Sequential => (0x55, 0x55, 0x55),
        }
    }
}

impl std::fmt::Display for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
