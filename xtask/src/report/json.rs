//! `results.json`: every raw sample and derived figure, as documented on
//! [`Results`] and the types it holds (`///` on each field).

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{Exporter, Results};

/// The layout version written as `schema_version`.
pub const SCHEMA_VERSION: u32 = 2;

/// The JSON exporter.
pub struct Json;

impl Exporter for Json {
    fn export(&self, results: &Results, dir: &Path) -> Result<Vec<PathBuf>> {
        let mut text = serde_json::to_string_pretty(results)?;
        text.push('\n');
        Ok(vec![super::write(dir, "results.json", text.as_bytes())?])
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample_results;

    #[test]
    fn keeps_the_schema_version_and_every_raw_sample() {
        let json: serde_json::Value = serde_json::to_value(sample_results()).unwrap();
        assert_eq!(json["schema_version"], 2);
        let cpu = &json["cells"][2];
        assert_eq!(cpu["workload"], "cpu");
        assert_eq!(cpu["backends"][0]["backend"], "crossbeam", "fastest first");
        assert_eq!(cpu["backends"][0]["samples"].as_array().unwrap().len(), 3);
        assert_eq!(cpu["backends"][2]["failure"], "exit status 3: out of memory");
        assert_eq!(cpu["baseline"]["kind"], "in_first_cell");
        assert_eq!(json["traces"][0]["pickup"]["max_us"], 90);
    }
}
