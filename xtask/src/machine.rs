//! Where and how the figures were made: the machine, the compiler, the
//! crate versions, the commit, the date and the command. The machine's
//! facts come from `sysinfo` (Linux, macOS and Windows alike), the rest from
//! Cargo.lock and the tools themselves; what cannot be read says so.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde::Serialize;
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

/// Everything recorded about the run's circumstances.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// CPU model.
    pub cpu: String,
    /// Logical cores available to this process.
    pub cores: u32,
    /// Total memory, GiB.
    pub memory_gib: f64,
    /// Operating system and its version.
    pub os: String,
    /// Kernel release.
    pub kernel: String,
    /// `rustc --version`.
    pub rustc: String,
    /// Versions of the substrates' crates (as each backend's `--describe`
    /// names them), from Cargo.lock; filled in once the binaries are built.
    pub crates: BTreeMap<String, String>,
    /// `git rev-parse HEAD`.
    pub commit: String,
    /// Whether the working tree had uncommitted changes.
    pub dirty: bool,
    /// When the run started (UTC, RFC 3339).
    pub date: String,
    /// The command as typed.
    pub command: String,
    /// 1-minute load average when the run started: other work on the machine
    /// (0 on Windows, which keeps none).
    pub load_at_start: f64,
    /// 1-minute load average when the runs ended (the xtask's own runs count).
    pub load_at_end: f64,
}

/// The 1-minute load average now (0 on Windows, which keeps none).
pub fn load_average() -> f64 {
    System::load_average().one
}

fn tool(root: &Path, program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).current_dir(root).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The value after `key` in a `key: value` or `KEY=value` listing.
fn field<'a>(text: &'a str, key: &str, sep: char) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(sep)?;
        (k.trim() == key).then(|| v.trim().trim_matches('"'))
    })
}

/// The versions of `names` in a Cargo.lock (every version, if several).
pub fn lock_versions(lock: &str, names: &[&str]) -> BTreeMap<String, String> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let (Some(name), Some(version)) = (field(block, "name", '='), field(block, "version", '=')) else { continue };
        if names.contains(&name) {
            found.entry(name.to_owned()).or_default().push(version.to_owned());
        }
    }
    found.into_iter().map(|(k, v)| (k, v.join(", "))).collect()
}

/// The versions of `names` in the workspace's Cargo.lock.
pub fn lock_versions_of(root: &Path, names: &[String]) -> BTreeMap<String, String> {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    lock_versions(&std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default(), &names)
}

/// Reads the machine's details now.
pub fn describe(root: &Path) -> Machine {
    let unknown = || "unknown".to_owned();
    let system = System::new_with_specifics(
        RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing()).with_memory(MemoryRefreshKind::nothing().with_ram()),
    );
    let bytes = system.total_memory() as f64;
    let args: Vec<String> = std::env::args().skip(1).collect();
    Machine {
        cpu: system
            .cpus()
            .first()
            .map(|c| c.brand().trim())
            .filter(|b| !b.is_empty())
            .map_or_else(unknown, str::to_owned),
        cores: crate::cores(),
        memory_gib: (bytes / f64::from(1 << 30) * 10.0).round() / 10.0,
        os: System::long_os_version().unwrap_or_else(unknown),
        kernel: System::kernel_version().unwrap_or_else(unknown),
        rustc: tool(root, "rustc", &["--version"]).unwrap_or_else(unknown),
        crates: BTreeMap::new(),
        commit: tool(root, "git", &["rev-parse", "HEAD"]).unwrap_or_else(unknown),
        dirty: tool(root, "git", &["status", "--porcelain"]).is_some_and(|s| !s.is_empty()),
        date: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        command: format!("cargo xtask {}", args.join(" ")),
        load_at_start: load_average(),
        load_at_end: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The facts are read on this machine, whatever its OS.
    #[test]
    fn reads_the_machine() {
        let m = describe(Path::new("."));
        assert!(m.cpu != "unknown" && !m.cpu.is_empty(), "{m:?}");
        assert!(m.memory_gib > 0.0 && m.cores >= 1, "{m:?}");
        assert!(m.os != "unknown" && m.kernel != "unknown", "{m:?}");
        assert!(load_average() >= 0.0);
    }

    #[test]
    fn reads_versions_from_a_lock_file() {
        let lock = "version = 4\n\n[[package]]\nname = \"tokio\"\nversion = \"1.47.1\"\nsource = \"x\"\n\n\
                    [[package]]\nname = \"rand\"\nversion = \"0.8.5\"\n\n[[package]]\nname = \"rand\"\nversion = \"0.9.2\"\n";
        let v = lock_versions(lock, &["tokio", "rand", "rayon"]);
        assert_eq!(v.get("tokio").map(String::as_str), Some("1.47.1"));
        assert_eq!(v.get("rand").map(String::as_str), Some("0.8.5, 0.9.2"));
        assert!(!v.contains_key("rayon"));
    }
}
