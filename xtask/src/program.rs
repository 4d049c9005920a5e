//! The programs compared: one entry each in [`PROGRAMS`]. The backends, the
//! sequential baseline and the reference rows (a bare loop and Go by
//! Example's pool for `noop` and `sleep` work, the longest-first run for CPU work) all
//! take the pool binaries' flags and print the same quiet summary line, so
//! the xtask times them alike. Adding a program (a tuned flavor, a
//! new substrate) is one entry here.

use std::fmt;

use pool_core::{Flavor, Kind, RunSpec};

use serde::{Serialize, Serializer};

/// What a program is to the comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A pool on one substrate: verified by the trace checker, then timed.
    Backend,
    /// The sequential baseline: the shared per-job path with no pool, on one
    /// thread. Verified, then timed at 1 worker.
    Baseline,
    /// A reference a reader knows, not a backend: it logs nothing, so the
    /// checker does not verify it; it is timed on `noop` cells only, and its
    /// summary line's sum is checked.
    Reference,
}

/// How a program's binary is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Build {
    /// A binary of a workspace package, built by `cargo build --release`.
    Cargo {
        /// The package.
        package: &'static str,
        /// The binary target.
        bin: &'static str,
    },
    /// A Go program in this folder of the workspace, built with `go build`
    /// when `go` is on PATH (otherwise skipped, with the reason).
    Go {
        /// The folder, relative to the workspace root.
        dir: &'static str,
    },
}

/// One program of the comparison.
#[derive(Debug)]
pub struct Entry {
    /// Short name, as in reports and `--backends`.
    pub name: &'static str,
    /// One line on what it is.
    pub about: &'static str,
    /// Backend, baseline or reference.
    pub role: Role,
    /// How its binary is built.
    pub build: Build,
    /// The form of its backend it runs (`--flavor`, said by its runs'
    /// [`RunSpec::args`](pool_core::RunSpec::args)); textbook for programs
    /// with one form.
    pub flavor: Flavor,
    /// For a tuned flavor, the name of the textbook program it is the tuned
    /// form of (the report pairs the two, round by round).
    pub tunes: Option<&'static str>,
    /// Whether it runs every job on one thread whatever `--workers` says: it
    /// is then run and shown once per workload, at 1 worker.
    pub one_worker: bool,
    /// Its color in every plot (fixed, so a program looks the same in all).
    pub rgb: (u8, u8, u8),
    /// What one hand-off costs it, and so which cells it is timed in.
    pub per_job: PerJob,
    /// The kinds of work it is timed on (a reference is the limit, or a
    /// well-known program, for those kinds); empty: every kind.
    pub timed_on: &'static [Kind],
}

/// The order of a program's per-job cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PerJob {
    /// Nanoseconds: an in-process hand-off. Timed in every cell.
    Nanos,
    /// Microseconds: a round trip to a broker. Timed only in cells of at most
    /// [`MICROS_MAX_JOBS`] jobs and [`MICROS_MAX_WORKERS`] workers (the
    /// million-job cells would take minutes a run), and reported in µs.
    Micros,
}

/// The most jobs of a cell a [`PerJob::Micros`] program is timed in.
pub const MICROS_MAX_JOBS: u64 = 20_000;
/// The most workers of a cell a [`PerJob::Micros`] program is timed in (each
/// worker is a thread with a broker connection; pool-redis takes 1,000).
pub const MICROS_MAX_WORKERS: u32 = 1_000;

/// Every program, in report order: backends, then the baseline, then the
/// references.
pub const PROGRAMS: &[Entry] = &[
    Entry {
        name: "std",
        about: "`std::sync::mpsc` + `Arc<Mutex<Receiver>>`",
        role: Role::Backend,
        build: Build::Cargo { package: "pool-std", bin: "pool-std" },
        flavor: Flavor::Textbook,
        tunes: None,
        one_worker: false,
        per_job: PerJob::Nanos,
        rgb: (0x1f, 0x77, 0xb4),
        timed_on: &[],
    },
    Entry {
        name: "std-tuned",
        about: "std, tuned: workers claim adaptive chunks from the shared stream, batched results",
        role: Role::Backend,
        build: Build::Cargo { package: "pool-std", bin: "pool-std" },
        flavor: Flavor::Tuned,
        tunes: Some("std"),
        one_worker: false,
        per_job: PerJob::Nanos,
        rgb: (0x6b, 0xae, 0xd6),
        timed_on: &[],
    },
    Entry {
        name: "crossbeam",
        about: "crossbeam-channel, a receiver clone per worker",
        role: Role::Backend,
        build: Build::Cargo { package: "pool-crossbeam", bin: "pool-crossbeam" },
        flavor: Flavor::Textbook,
        tunes: None,
        one_worker: false,
        per_job: PerJob::Nanos,
        rgb: (0xd6, 0x27, 0x28),
        timed_on: &[],
    },
    Entry {
        name: "crossbeam-tuned",
        about: "crossbeam, tuned: guided chunks on crossbeam-deque with stealing, batched results",
        role: Role::Backend,
        build: Build::Cargo { package: "pool-crossbeam", bin: "pool-crossbeam" },
        flavor: Flavor::Tuned,
        tunes: Some("crossbeam"),
        one_worker: false,
        per_job: PerJob::Nanos,
        rgb: (0xf0, 0x80, 0x80),
        timed_on: &[],
    },
    Entry {
        name: "tokio",
        about: "W async tasks on a multi-thread tokio runtime",
        role: Role::Backend,
        build: Build::Cargo { package: "pool-tokio", bin: "pool-tokio" },
        flavor: Flavor::Textbook,
        tunes: None,
        one_worker: false,
        per_job: PerJob::Nanos,
        rgb: (0x2c, 0xa0, 0x2c),
        timed_on: &[],
    },
    Entry {
        name: "tokio-tuned",
        about: "tokio, tuned: runs of ids through the queue sized by the measured grain, batched results",
        role: Role::Backend,
        build: Build::Cargo { package: "pool-tokio", bin: "pool-tokio" },
        flavor: Flavor::Tuned,
        tunes: Some("tokio"),
        one_worker: false,
        per_job: PerJob::Nanos,
        rgb: (0x98, 0xdf, 0x8a),
        timed_on: &[],
    },
    Entry {
        name: "rayon",
        about: "a W-thread rayon pool fed by `par_bridge`",
        role: Role::Backend,
        build: Build::Cargo { package: "pool-rayon", bin: "pool-rayon" },
        flavor: Flavor::Textbook,
        tunes: None,
        one_worker: false,
        per_job: PerJob::Nanos,
        rgb: (0xff, 0x7f, 0x0e),
        timed_on: &[],
    },
    Entry {
        name: "rayon-tuned",
        about: "rayon, tuned: blocks of ids as indexed parallel iterators, batched results",
        role: Role::Backend,
        build: Build::Cargo { package: "pool-rayon", bin: "pool-rayon" },
        flavor: Flavor::Tuned,
        tunes: Some("rayon"),
        one_worker: false,
        per_job: PerJob::Nanos,
        rgb: (0xff, 0xbb, 0x78),
        timed_on: &[],
    },
    Entry {
        name: "redis",
        about: "Redis Streams: W threads each with its own broker connection, one job at a time through a consumer \
                group (XREADGROUP, XACK); a private redis-server on a unix socket",
        role: Role::Backend,
        build: Build::Cargo { package: "pool-redis", bin: "pool-redis" },
        flavor: Flavor::Textbook,
        tunes: None,
        one_worker: false,
        rgb: (0x8c, 0x56, 0x4b),
        per_job: PerJob::Micros,
        timed_on: &[],
    },
    Entry {
        name: "sequential",
        about: "the baseline: every job in one loop on the main thread, through the shared per-job path, no pool",
        role: Role::Baseline,
        build: Build::Cargo { package: "pool-core", bin: "pool-sequential" },
        flavor: Flavor::Textbook,
        tunes: None,
        one_worker: true,
        per_job: PerJob::Nanos,
        rgb: (0x55, 0x55, 0x55),
        timed_on: &[],
    },
    Entry {
        name: "bare-loop",
        about: "the limit: the same job ids summed in a plain loop, no pool and no shared path",
        role: Role::Reference,
        build: Build::Cargo { package: "bare-loop", bin: "bare-loop" },
        flavor: Flavor::Textbook,
        tunes: None,
        one_worker: true,
        per_job: PerJob::Nanos,
        rgb: (0x99, 0x99, 0x99),
        timed_on: &[Kind::Noop],
    },
    Entry {
        name: "gobyexample",
        about: "Go by Example's worker pool (goroutines over buffered channels), without prints; its jobs \
                `time.Sleep` in the sleep cells",
        role: Role::Reference,
        build: Build::Go { dir: "references/gobyexample" },
        flavor: Flavor::Textbook,
        tunes: None,
        one_worker: false,
        per_job: PerJob::Nanos,
        rgb: (0x00, 0xad, 0xd8),
        timed_on: &[Kind::Noop, Kind::Sleep],
    },
    Entry {
        name: "longest-first",
        about: "the measured ideal for CPU work: the same jobs, longest first, taken one at a time (an atomic add) \
                by one thread per core the pool could use; no queue, no results handed back, no log",
        role: Role::Reference,
        build: Build::Cargo { package: "longest-first", bin: "longest-first" },
        flavor: Flavor::Textbook,
        tunes: None,
        one_worker: false,
        per_job: PerJob::Nanos,
        rgb: (0x33, 0x33, 0x33),
        timed_on: &[Kind::Spin],
    },
];

/// One program of [`PROGRAMS`], by position: copied freely, ordered as the
/// report lists them, written by name.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Program(usize);

impl Program {
    /// Every program, in report order.
    pub fn all() -> impl Iterator<Item = Program> {
        (0..PROGRAMS.len()).map(Program)
    }

    /// The program called `name`, if there is one.
    pub fn named(name: &str) -> Option<Program> {
        PROGRAMS.iter().position(|e| e.name == name).map(Program)
    }

    /// The program called `name`; panics if there is none (for names the
    /// code itself spells).
    pub fn known(name: &str) -> Program {
        Program::named(name).unwrap_or_else(|| panic!("no program named {name}"))
    }

    /// Parses `--backends` values.
    pub fn parse(name: &str) -> Result<Program, String> {
        Program::named(name).ok_or_else(|| {
            let names: Vec<&str> = PROGRAMS.iter().map(|e| e.name).collect();
            format!("no program '{name}' (expected one of: {})", names.join(", "))
        })
    }

    /// Its entry.
    pub fn entry(self) -> &'static Entry {
        &PROGRAMS[self.0]
    }

    /// Short name, as in reports.
    pub fn name(self) -> &'static str {
        self.entry().name
    }

    /// Whether it runs every job on one thread (shown once, at 1 worker).
    pub fn is_baseline(self) -> bool {
        self.entry().one_worker
    }

    /// Whether it is a reference row (not verified, timed on one kind of
    /// work only).
    pub fn is_reference(self) -> bool {
        self.entry().role == Role::Reference
    }

    /// Whether it is verified by the trace checker before it is timed.
    pub fn is_verified(self) -> bool {
        self.entry().role != Role::Reference
    }

    /// The run this program is given for `run`: in its flavor, and at 1
    /// worker if it runs every job on one thread.
    pub fn given(self, run: &RunSpec) -> RunSpec {
        let workers = if self.is_baseline() { 1 } else { run.workers };
        RunSpec { workers, ..run.clone() }.flavor(self.entry().flavor)
    }

    /// For a tuned flavor, the textbook program it is the tuned form of.
    pub fn textbook(self) -> Option<Program> {
        self.entry().tunes.map(Program::known)
    }

    /// Its color in every plot.
    pub fn rgb(self) -> (u8, u8, u8) {
        self.entry().rgb
    }

    /// Whether a hand-off costs it microseconds (a broker round trip).
    pub fn is_micros(self) -> bool {
        self.entry().per_job == PerJob::Micros
    }

    /// Whether it is timed on cells of jobs of this kind.
    pub fn times_kind(self, kind: Kind) -> bool {
        let kinds = self.entry().timed_on;
        kinds.is_empty() || kinds.contains(&kind)
    }

    /// Whether it is timed in a cell of `jobs` jobs on `workers` workers,
    /// given the most workers it starts (its binary's `--describe`): a cell
    /// with more is not timed for it, rather than counted as a failed run.
    pub fn times_in(self, jobs: u64, workers: u32, max_workers: u32) -> bool {
        workers <= max_workers && (!self.is_micros() || (jobs <= MICROS_MAX_JOBS && workers <= MICROS_MAX_WORKERS))
    }

    /// Whether it is a pool binary of the workspace, which describes itself
    /// (`--describe`: its limit, flavors, substrate and needs); the
    /// references are not.
    pub fn describes_itself(self) -> bool {
        self.entry().role != Role::Reference
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Program {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_above_a_backends_limit_is_not_timed_for_it() {
        for name in ["rayon", "rayon-tuned"] {
            let p = Program::known(name);
            assert!(p.times_in(1_000, 256, 256));
            assert!(!p.times_in(1_000, 257, 256), "{name}");
        }
        assert!(Program::known("std").times_in(100_000, 10_000, 10_000));
    }

    #[test]
    fn names_are_unique_and_parse_back() {
        for p in Program::all() {
            assert_eq!(Program::parse(p.name()), Ok(p));
        }
        assert_eq!(Program::all().count(), PROGRAMS.len());
        let err = Program::parse("nope").unwrap_err();
        assert!(err.contains("std") && err.contains("sequential"), "{err}");
    }

    #[test]
    fn every_backend_has_a_tuned_flavor_right_after_it() {
        // In process, that is: a broker's round trip is not what a flavor tunes.
        let backends: Vec<Program> =
            Program::all().filter(|p| p.entry().role == Role::Backend && !p.is_micros()).collect();
        for pair in backends.chunks(2) {
            assert_eq!((pair[0].entry().flavor, pair[1].entry().flavor), (Flavor::Textbook, Flavor::Tuned), "{pair:?}");
            assert_eq!(pair[1].name(), format!("{}-tuned", pair[0].name()));
            assert_eq!((pair[0].textbook(), pair[1].textbook()), (None, Some(pair[0])));
        }
    }

    #[test]
    fn references_are_not_verified_and_the_baseline_is() {
        assert!(!Program::known("bare-loop").is_verified());
        assert!(Program::known("bare-loop").is_reference());
        assert!(Program::known("sequential").is_verified() && Program::known("sequential").is_baseline());
        assert!(!Program::known("gobyexample").is_baseline());
    }

    #[test]
    fn a_broker_backend_is_timed_only_in_cells_sized_for_it() {
        let redis = Program::known("redis");
        assert!(redis.is_micros() && redis.is_verified() && redis.describes_itself());
        assert!(redis.times_in(20_000, 16, 1_000) && redis.times_in(1_000, 100, 1_000));
        assert!(!redis.times_in(1_000_000, 4, 1_000) && !redis.times_in(100_000, 1_000, 1_000));
        assert!(Program::known("std").times_in(1_000_000, 10_000, 10_000));
        assert!(!Program::known("gobyexample").describes_itself());
    }
}
