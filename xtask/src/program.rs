//! The programs compared. The backends are found, not listed: every
//! workspace package `pool-NAME` with a binary of its own name is one, with
//! a row per flavor its `--describe` names (see `binaries`), so adding a
//! substrate is adding its crate. After them come the fixed programs: the
//! sequential baseline and the reference rows (a bare loop and Go by
//! Example's pool for `noop` and `sleep` work, the longest-first run for
//! CPU work). All take the pool binaries' flags and print the same quiet
//! summary line, so the xtask times them alike.

use std::fmt;

use std::sync::OnceLock;

use pool_spec::{Description, Flavor, HandOff, Kind, RunSpec};

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
#[derive(Clone, Debug)]
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
    /// [`RunSpec::args`](pool_spec::RunSpec::args)); textbook for programs
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

/// The programs that are not backends, in report order after them: the
/// baseline, then the references.
const FIXED: &[Entry] = &[
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

/// A color.
type Rgb = (u8, u8, u8);

/// Colors of the backends, a (textbook, tuned) pair each in registry order:
/// the pairs of the Tableau 20 palette, which stay apart in print.
const PALETTE: [(Rgb, Rgb); 8] = [
    ((0x1f, 0x77, 0xb4), (0xae, 0xc7, 0xe8)),
    ((0xff, 0x7f, 0x0e), (0xff, 0xbb, 0x78)),
    ((0x2c, 0xa0, 0x2c), (0x98, 0xdf, 0x8a)),
    ((0xd6, 0x27, 0x28), (0xff, 0x98, 0x96)),
    ((0x94, 0x67, 0xbd), (0xc5, 0xb0, 0xd5)),
    ((0x8c, 0x56, 0x4b), (0xc4, 0x9c, 0x94)),
    ((0xe3, 0x77, 0xc2), (0xf7, 0xb6, 0xd2)),
    ((0xbc, 0xbd, 0x22), (0xdb, 0xdb, 0x8d)),
];

impl Entry {
    /// The row of `flavor` of the backend built from workspace package
    /// `package` (binary of the same name), as its `--describe` said;
    /// `index` is its place among the backends (its colors).
    pub fn backend(package: &str, description: &Description, flavor: Flavor, index: usize) -> Entry {
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        let base = description.name.as_str();
        let tuned = flavor != Flavor::Textbook;
        let (textbook_rgb, tuned_rgb) = PALETTE[index % PALETTE.len()];
        let package = leak(package.to_owned());
        Entry {
            name: leak(if tuned { format!("{base}-tuned") } else { base.to_owned() }),
            about: leak(description.about(flavor).to_owned()),
            role: Role::Backend,
            build: Build::Cargo { package, bin: package },
            flavor,
            tunes: tuned.then(|| leak(base.to_owned())),
            one_worker: false,
            rgb: if tuned { tuned_rgb } else { textbook_rgb },
            per_job: match description.hand_off {
                HandOff::InProcess => PerJob::Nanos,
                HandOff::RoundTrip => PerJob::Micros,
            },
            timed_on: &[],
        }
    }
}

/// The programs of this run: the backends found, then [`FIXED`].
static REGISTRY: OnceLock<Vec<Entry>> = OnceLock::new();

/// Sets the programs of this run: `backends` (rows made by
/// [`Entry::backend`], in report order), then the baseline and the
/// references. Once per process, before any [`Program`] is read.
pub fn install(backends: Vec<Entry>) {
    let all = backends.into_iter().chain(FIXED.iter().cloned()).collect();
    assert!(REGISTRY.set(all).is_ok(), "the programs are installed once");
}

/// Whether `name` may name a program of a run whose backends are
/// `backend_names`, before any is built (whether a backend has a tuned
/// flavor, its binary says): `Err` says what may be named.
pub fn possible(name: &str, backend_names: &[String]) -> Result<(), String> {
    let base = name.strip_suffix("-tuned").unwrap_or(name);
    if backend_names.iter().any(|b| b == base) || FIXED.iter().any(|e| e.name == name) {
        return Ok(());
    }
    let fixed: Vec<&str> = FIXED.iter().map(|e| e.name).collect();
    Err(format!(
        "no program '{name}' (expected a backend: {}, or NAME-tuned for its tuned flavor; or one of: {})",
        backend_names.join(", "),
        fixed.join(", ")
    ))
}

/// The fixed programs (not backends) named `names`, or all if empty.
pub fn fixed(names: &[String]) -> impl Iterator<Item = &'static Entry> {
    FIXED.iter().filter(move |e| names.is_empty() || names.iter().any(|n| n == e.name))
}

fn registry() -> &'static [Entry] {
    #[cfg(test)]
    return REGISTRY.get_or_init(tests::registry).as_slice();
    #[cfg(not(test))]
    REGISTRY.get().expect("the programs are installed (binaries::build) before they are read").as_slice()
}

/// One program of this run, by position: copied freely, ordered as the
/// report lists them, written by name.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Program(usize);

impl Program {
    /// Every program, in report order.
    pub fn all() -> impl Iterator<Item = Program> {
        (0..registry().len()).map(Program)
    }

    /// The program called `name`, if there is one.
    pub fn named(name: &str) -> Option<Program> {
        registry().iter().position(|e| e.name == name).map(Program)
    }

    /// The program called `name`; panics if there is none (for names the
    /// code itself spells).
    pub fn known(name: &str) -> Program {
        Program::named(name).unwrap_or_else(|| panic!("no program named {name}"))
    }

    /// Parses `--backends` values.
    pub fn parse(name: &str) -> Result<Program, String> {
        Program::named(name).ok_or_else(|| {
            let names: Vec<&str> = registry().iter().map(|e| e.name).collect();
            format!("no program '{name}' (expected one of: {})", names.join(", "))
        })
    }

    /// Its entry.
    pub fn entry(self) -> &'static Entry {
        &registry()[self.0]
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
pub(crate) mod tests {
    use super::*;

    /// A backend's description as its binary would give it.
    pub(crate) fn described(name: &str, tuned: bool, hand_off: HandOff, max_workers: u32) -> Description {
        let flavors = if tuned { vec![Flavor::Textbook, Flavor::Tuned] } else { vec![Flavor::Textbook] };
        Description {
            name: name.to_owned(),
            about: flavors.iter().map(|f| format!("{name}, {f}")).collect(),
            flavors,
            hand_off,
            max_workers,
            substrate: Vec::new(),
            needs: Vec::new(),
        }
    }

    /// The programs unit tests see: the workspace's backends as discovery
    /// finds them (in-process ones by name, then the broker), then the
    /// fixed programs.
    pub(crate) fn registry() -> Vec<Entry> {
        let backends = [
            described("crossbeam", true, HandOff::InProcess, 10_000),
            described("rayon", true, HandOff::InProcess, 256),
            described("std", true, HandOff::InProcess, 10_000),
            described("tokio", true, HandOff::InProcess, 1_000_000),
            described("redis", false, HandOff::RoundTrip, 1_000),
        ];
        let rows = backends
            .iter()
            .enumerate()
            .flat_map(|(i, d)| d.flavors.iter().map(move |&f| Entry::backend(&format!("pool-{}", d.name), d, f, i)));
        rows.chain(FIXED.iter().cloned()).collect()
    }

    #[test]
    fn a_backend_row_is_what_its_binary_described() {
        let d = described("smol", true, HandOff::InProcess, 5);
        let tuned = Entry::backend("pool-smol", &d, Flavor::Tuned, 1);
        assert_eq!(
            (tuned.name, tuned.about, tuned.tunes, tuned.flavor),
            ("smol-tuned", "smol, tuned", Some("smol"), Flavor::Tuned)
        );
        assert_eq!(tuned.build, Build::Cargo { package: "pool-smol", bin: "pool-smol" });
        let textbook = Entry::backend("pool-smol", &d, Flavor::Textbook, 1);
        assert_eq!((textbook.rgb, tuned.rgb), PALETTE[1]);
        assert_eq!(textbook.per_job, PerJob::Nanos);
        let broker = Entry::backend("pool-mq", &described("mq", false, HandOff::RoundTrip, 5), Flavor::Textbook, 0);
        assert_eq!(broker.per_job, PerJob::Micros);
        let backends = ["smol".to_owned()];
        assert_eq!((possible("smol-tuned", &backends), possible("sequential", &backends)), (Ok(()), Ok(())));
        let err = possible("tokio", &backends).unwrap_err();
        assert!(err.starts_with("no program 'tokio' (expected a backend: smol, or NAME-tuned"), "{err}");
    }

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
        assert_eq!(Program::all().count(), registry().len());
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
