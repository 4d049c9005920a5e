//! What a pool binary says of itself, `--describe`: one JSON line that the
//! xtask and the test kit read, so neither links a backend library to learn
//! its limits, its flavors or what it needs on the machine. Written and
//! parsed here, once.

use serde::{Deserialize, Serialize};

use crate::Flavor;

/// A backend binary's account of itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Description {
    /// The backend's short name (`tokio`); its binary is `pool-NAME`.
    pub name: String,
    /// The flavors it runs; `--flavor` refuses the others.
    pub flavors: Vec<Flavor>,
    /// One line on each flavor of `flavors`, in order (empty if unsaid).
    pub about: Vec<String>,
    /// How a job reaches a worker.
    pub hand_off: HandOff,
    /// The most workers it starts; `-w` refuses more.
    pub max_workers: u32,
    /// The crates its substrate is, by name (their versions are the
    /// workspace's Cargo.lock's); empty for the standard library alone.
    pub substrate: Vec<String>,
    /// What it needs on the machine beyond itself, and whether it is there.
    pub needs: Vec<Need>,
}

/// How a job reaches a worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HandOff {
    /// Within the process: nanoseconds.
    InProcess,
    /// By a round trip to another process (a broker): microseconds.
    RoundTrip,
}

/// Something a backend needs on the machine (a broker, say).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Need {
    /// What it is, in a few words (`redis-server on PATH, or POOL_REDIS_URL`).
    pub what: String,
    /// Whether it is there now.
    pub met: bool,
    /// How to get it (`apt-get install redis-server`).
    pub how: String,
}

impl Description {
    /// The one JSON line `--describe` prints (without its newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("a description serialises")
    }

    /// Reads a line [`to_line`](Self::to_line) wrote.
    pub fn parse(line: &str) -> Result<Description, String> {
        serde_json::from_str(line.trim()).map_err(|e| format!("not a backend's description: {e}"))
    }

    /// Why the backend cannot run on this machine, in one line (what is
    /// missing and how to get it), or `None` if it can.
    pub fn unmet(&self) -> Option<String> {
        let missing: Vec<String> =
            self.needs.iter().filter(|n| !n.met).map(|n| format!("no {} ({})", n.what, n.how)).collect();
        (!missing.is_empty()).then(|| missing.join("; "))
    }

    /// The line on `flavor` (empty if unsaid or not run).
    pub fn about(&self, flavor: Flavor) -> &str {
        self.flavors.iter().position(|&f| f == flavor).and_then(|i| self.about.get(i)).map_or("", String::as_str)
    }

    /// Whether it runs `flavor` (a diagnostic tuned flavor counts as tuned).
    pub fn runs(&self, flavor: Flavor) -> bool {
        runs(&self.flavors, flavor)
    }
}

/// Whether a backend with `flavors` runs `flavor` (a diagnostic tuned
/// flavor counts as tuned).
pub fn runs(flavors: &[Flavor], flavor: Flavor) -> bool {
    let base = if flavor.is_tuned() { Flavor::Tuned } else { Flavor::Textbook };
    flavors.contains(&base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_round_trips_through_its_line() {
        let d = Description {
            name: "x".into(),
            flavors: vec![Flavor::Textbook],
            about: vec!["one at a time".into()],
            hand_off: HandOff::RoundTrip,
            max_workers: 7,
            substrate: vec!["tokio".into()],
            needs: vec![Need { what: "a broker".into(), met: false, how: "install one".into() }],
        };
        let line = d.to_line();
        assert!(!line.contains('\n'));
        assert!(line.contains(r#""flavors":["textbook"]"#), "{line}");
        assert!(line.contains(r#""hand_off":"round-trip""#), "{line}");
        assert_eq!((d.about(Flavor::Textbook), d.about(Flavor::Tuned)), ("one at a time", ""));
        assert_eq!(Description::parse(&line), Ok(d.clone()));
        assert_eq!(d.unmet().as_deref(), Some("no a broker (install one)"));
        assert!(d.runs(Flavor::Textbook) && !d.runs(Flavor::Tuned) && !d.runs(Flavor::TunedJobByJob));
    }
}
