//! Builds the backend binaries in release once and finds them, through
//! cargo's own JSON messages (so a `CARGO_TARGET_DIR` elsewhere works too).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;

use crate::program::Program;

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

/// Builds every backend's binary (and `pool-sequential`) with
/// `cargo build --release`, and returns the path of each.
pub fn build(root: &Path) -> Result<BTreeMap<Program, PathBuf>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root).args(["build", "--release", "--message-format=json-render-diagnostics"]);
    for package in ["pool-std", "pool-crossbeam", "pool-tokio", "pool-rayon", "pool-core"] {
        cmd.args(["-p", package]);
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let output = cmd.output().context("could not run cargo build")?;
    if !output.status.success() {
        bail!("cargo build --release of the backends failed ({})", output.status);
    }
    let mut found = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Message>(line) else { continue };
        if message.reason != "compiler-artifact" {
            continue;
        }
        let (Some(exe), Some(target)) = (message.executable, message.target) else { continue };
        if let Some(backend) = Program::ALL.into_iter().find(|b| b.binary() == target.name) {
            found.insert(backend, exe);
        }
    }
    for backend in Program::ALL {
        if !found.contains_key(&backend) {
            bail!("cargo build did not produce the binary {}", backend.binary());
        }
    }
    Ok(found)
}
