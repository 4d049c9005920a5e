//! Builds every program of [`PROGRAMS`](crate::program::PROGRAMS) once and
//! finds the binaries: the Rust ones in release through cargo's own JSON
//! messages (so a `CARGO_TARGET_DIR` elsewhere works too), the Go ones with
//! `go build` when `go` is on PATH.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;

use pool_core::Description;

use crate::program::{Build, Program};

/// The workspace root: the xtask crate's parent folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives inside the workspace").to_path_buf()
}

#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    executable: Option<PathBuf>,
    #[serde(default)]
    target: Option<Target>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
}

/// What the build produced.
#[derive(Debug, Default)]
pub struct Binaries {
    /// Each program that was built, and its binary.
    pub paths: BTreeMap<Program, PathBuf>,
    /// What each pool binary said of itself (`--describe`): its worker
    /// limit, flavors, substrate crates and needs. The references have none.
    pub described: BTreeMap<Program, Description>,
    /// Programs that could not be built or run here, with the reason (`go`
    /// not on PATH, no Redis broker). Only references, and backends whose
    /// described needs are unmet, may be skipped (not in CI, where a missing
    /// broker fails the command); a backend that does not build fails it.
    pub skipped: BTreeMap<Program, String>,
}

/// Builds `programs`: the workspace binaries with one
/// `cargo build --release`, the Go ones with `go build` into
/// `target/release/`.
pub fn build(root: &Path, programs: &[Program]) -> Result<Binaries> {
    let mut built = Binaries::default();
    let cargo_bins: Vec<(Program, &str, &str)> = programs
        .iter()
        .filter_map(|&p| match p.entry().build {
            Build::Cargo { package, bin } => Some((p, package, bin)),
            Build::Go { .. } => None,
        })
        .collect();
    if !cargo_bins.is_empty() {
        let found = cargo_build(root, cargo_bins.iter().map(|&(_, package, _)| package))?;
        for (p, _, bin) in cargo_bins {
            match found.get(bin) {
                Some(exe) => {
                    built.paths.insert(p, exe.clone());
                }
                None => bail!("cargo build did not produce the binary {bin}"),
            }
        }
    }
    for &p in programs {
        if let (true, Some(exe)) = (p.describes_itself(), built.paths.get(&p)) {
            let description = describe(exe).with_context(|| format!("{p}: {} --describe", exe.display()))?;
            if !description.runs(p.entry().flavor) {
                bail!("{p}: its binary has no {} flavor (it has: {:?})", p.entry().flavor, description.flavors);
            }
            if let Some(why) = description.unmet() {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    bail!("{p} cannot run in CI: {why}");
                }
                built.paths.remove(&p);
                built.skipped.insert(p, why);
                continue;
            }
            built.described.insert(p, description);
        }
        if let Build::Go { dir } = p.entry().build {
            match go_build(root, dir, p.name()) {
                Ok(exe) => {
                    built.paths.insert(p, exe);
                }
                Err(why) if p.is_reference() => {
                    built.skipped.insert(p, why);
                }
                Err(why) => bail!("could not build {p}: {why}"),
            }
        }
    }
    Ok(built)
}

/// What a pool binary says of itself: its `--describe` line.
fn describe(exe: &Path) -> Result<Description> {
    let run = crate::child::run(Command::new(exe).arg("--describe"), true, std::time::Duration::from_secs(30))?;
    if run.exit != crate::child::Exit::Code(0) {
        bail!("{}: {}", run.exit, run.last_error_line());
    }
    Description::parse(&String::from_utf8_lossy(&run.stdout)).map_err(anyhow::Error::msg)
}

/// The substrate crates of every described program, each once, for the
/// report's versions (read from Cargo.lock).
pub fn substrate_crates(built: &Binaries) -> Vec<String> {
    let mut crates: Vec<String> = built.described.values().flat_map(|d| d.substrate.iter().cloned()).collect();
    crates.sort_unstable();
    crates.dedup();
    crates
}

/// `cargo build --release -p ...`: every binary it produced, by target name.
fn cargo_build<'a>(root: &Path, packages: impl Iterator<Item = &'a str>) -> Result<BTreeMap<String, PathBuf>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root).args(["build", "--release", "--message-format=json-render-diagnostics"]);
    let mut packages: Vec<&str> = packages.collect();
    packages.sort_unstable();
    packages.dedup();
    for package in packages {
        cmd.args(["-p", package]);
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let output = cmd.output().context("could not run cargo build")?;
    if !output.status.success() {
        bail!("cargo build --release of the programs failed ({})", output.status);
    }
    let mut found = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Message>(line) else { continue };
        if message.reason != "compiler-artifact" {
            continue;
        }
        if let (Some(exe), Some(target)) = (message.executable, message.target) {
            found.insert(target.name, exe);
        }
    }
    Ok(found)
}

/// `go build` of the program in `dir`, into `target/release/NAME`; the
/// reason as one line if it cannot be built here.
fn go_build(root: &Path, dir: &str, name: &str) -> Result<PathBuf, String> {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let out = target.join("release").join(name);
    let output = Command::new("go")
        .current_dir(root.join(dir))
        .args(["build", "-o"])
        .arg(&out)
        .arg(".")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    match output {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err("`go` is not on PATH (apt-get install golang-go; macOS: brew install go)".to_owned())
        }
        Err(e) => Err(format!("could not run go build: {e}")),
        Ok(o) if !o.status.success() => {
            let stderr = String::from_utf8_lossy(&o.stderr);
            Err(format!("go build failed: {}", stderr.lines().next().unwrap_or("(no message)")))
        }
        Ok(_) => Ok(out),
    }
}
