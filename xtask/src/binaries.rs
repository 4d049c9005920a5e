//! Finds the backends of the workspace, builds the programs once and finds
//! the binaries: the Rust ones in release through cargo's own JSON messages
//! (so a `CARGO_TARGET_DIR` elsewhere works too), the Go ones with `go
//! build` when `go` is on PATH; each pool binary's `--describe` makes its
//! rows (see `program`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;

use pool_spec::{Description, Flavor, HandOff};

use crate::program::{Build, Entry, Program};

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

/// The workspace's backends, by package name: every package `pool-NAME`
/// with a binary of its own name (`cargo metadata`, no build needed).
pub fn workspace_backends(root: &Path) -> Result<Vec<String>> {
    #[derive(Deserialize)]
    struct Metadata {
        packages: Vec<Package>,
    }
    #[derive(Deserialize)]
    struct Package {
        name: String,
        targets: Vec<MetaTarget>,
    }
    #[derive(Deserialize)]
    struct MetaTarget {
        name: String,
        kind: Vec<String>,
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .stderr(Stdio::inherit())
        .output()
        .context("could not run cargo metadata")?;
    if !output.status.success() {
        bail!("cargo metadata failed ({})", output.status);
    }
    let metadata: Metadata = serde_json::from_slice(&output.stdout).context("cargo metadata's output")?;
    let mut found: Vec<String> = metadata
        .packages
        .into_iter()
        .filter(|p| {
            p.name.starts_with("pool-")
                && p.targets.iter().any(|t| t.name == p.name && t.kind.iter().any(|k| k == "bin"))
        })
        .map(|p| p.name)
        .collect();
    found.sort_unstable();
    Ok(found)
}

/// The backend name of package `pool-NAME`.
fn backend_name(package: &str) -> &str {
    package.strip_prefix("pool-").unwrap_or(package)
}

/// Checks the names `--backends` gave against what the workspace has,
/// before anything is built: `Err` is the one line to print.
pub fn check_names(root: &Path, chosen: &[String]) -> Result<Result<(), String>> {
    let backends: Vec<String> = workspace_backends(root)?.iter().map(|p| backend_name(p).to_owned()).collect();
    Ok(chosen.iter().try_for_each(|name| crate::program::possible(name, &backends)))
}

/// Finds the backends, builds what `chosen` names (every program if empty)
/// and installs the programs of the run (see `program`): the workspace
/// binaries with one `cargo build --release`, each backend's rows from its
/// `--describe` (in-process ones by name, then those a round trip away),
/// the Go ones with `go build` into `target/release/`. Returns the chosen
/// programs, in report order.
pub fn build(root: &Path, chosen: &[String]) -> Result<(Vec<Program>, Binaries)> {
    let wanted =
        |name: &str| chosen.is_empty() || chosen.iter().any(|c| c == name || c.strip_suffix("-tuned") == Some(name));
    let backend_packages: Vec<String> =
        workspace_backends(root)?.into_iter().filter(|p| wanted(backend_name(p))).collect();
    let fixed: Vec<&Entry> = crate::program::fixed(chosen).collect();
    let fixed_packages = fixed.iter().filter_map(|e| match e.build {
        Build::Cargo { package, .. } => Some(package),
        Build::Go { .. } => None,
    });
    let packages: Vec<&str> = backend_packages.iter().map(String::as_str).chain(fixed_packages).collect();
    let found = if packages.is_empty() { BTreeMap::new() } else { cargo_build(root, packages.into_iter())? };
    let exe =
        |bin: &str| found.get(bin).cloned().with_context(|| format!("cargo build did not produce the binary {bin}"));

    // Each backend as it describes itself: in-process ones by name, then
    // those whose jobs travel by round trip.
    let mut backends = Vec::new();
    for package in &backend_packages {
        let path = exe(package)?;
        let description = describe(&path).with_context(|| format!("{package}: {} --describe", path.display()))?;
        backends.push((package, path, description));
    }
    backends.sort_by_key(|(package, _, d)| (d.hand_off == HandOff::RoundTrip, (*package).clone()));
    let mut rows = Vec::new();
    for (i, (package, _, d)) in backends.iter().enumerate() {
        for &flavor in d.flavors.iter().filter(|&&f| f == Flavor::Textbook || f == Flavor::Tuned) {
            rows.push(Entry::backend(package, d, flavor, i));
        }
    }
    crate::program::install(rows);

    let mut built = Binaries::default();
    for (_, path, d) in backends {
        let name = d.name.clone();
        for p in Program::all().filter(|p| p.textbook().map_or(p.name(), Program::name) == name) {
            built.paths.insert(p, path.clone());
            built.described.insert(p, d.clone());
        }
    }
    for entry in fixed {
        let p = Program::known(entry.name);
        match entry.build {
            Build::Cargo { bin, .. } => {
                built.paths.insert(p, exe(bin)?);
            }
            Build::Go { dir } => match go_build(root, dir, p.name()) {
                Ok(path) => {
                    built.paths.insert(p, path);
                }
                Err(why) if p.is_reference() => {
                    built.skipped.insert(p, why);
                }
                Err(why) => bail!("could not build {p}: {why}"),
            },
        }
        if p.describes_itself() {
            let path = &built.paths[&p];
            let description = describe(path).with_context(|| format!("{p}: {} --describe", path.display()))?;
            built.described.insert(p, description);
        }
    }

    let programs: Vec<Program> = if chosen.is_empty() {
        Program::all().collect()
    } else {
        let mut programs =
            chosen.iter().map(|name| Program::parse(name).map_err(anyhow::Error::msg)).collect::<Result<Vec<_>>>()?;
        programs.sort();
        programs.dedup();
        programs
    };
    // A backend that cannot run here (its needs unmet) is skipped, with
    // why; in CI that fails the command.
    for &p in &programs {
        let Some(why) = built.described.get(&p).and_then(Description::unmet) else { continue };
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            bail!("{p} cannot run in CI: {why}");
        }
        built.paths.remove(&p);
        built.described.remove(&p);
        built.skipped.insert(p, why);
    }
    built.paths.retain(|p, _| programs.contains(p));
    built.described.retain(|p, _| programs.contains(p));
    Ok((programs, built))
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
