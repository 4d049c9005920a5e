//! `results.json`: every raw sample and derived figure, as documented on
//! [`Results`] and the types it holds (`///` on each field).

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{Exporter, Results};

/// The layout version written as `schema_version`. 3: `wall_s` is the
/// program's own process, no longer with the measuring helper's start; the
/// throughput cell's `start_wall_s`, `whole_ns` and `whole_less_start_ns`.
/// 4: `makespan_over_measured_ideal` is an interval paired by round with
/// the `longest-first` reference, and `measured_ideal_s` its median makespan.
/// 5: each of `findings.meaning` is `{topic, says}` in plain words, no
/// longer a Markdown line.
pub const SCHEMA_VERSION: u32 = 5;

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
        assert_eq!(json["schema_version"], 5);
        let cpu = &json["cells"][2];
        assert_eq!(cpu["workload"], "cpu");
        assert_eq!(cpu["backends"][0]["backend"], "longest-first", "fastest first: the measured ideal");
        assert_eq!(cpu["backends"][1]["backend"], "crossbeam", "then the fastest pool");
        assert_eq!(cpu["backends"][1]["samples"].as_array().unwrap().len(), 3);
        assert_eq!(cpu["backends"][3]["failure"], "exit status 3: out of memory");
        assert_eq!(cpu["baseline"]["kind"], "in_first_cell");
        assert!((cpu["measured_ideal_s"].as_f64().unwrap() - 0.502).abs() < 1e-12);
        let crossbeam = &cpu["backends"][1];
        assert!(crossbeam["stats"]["makespan_over_measured_ideal"]["median"].as_f64().unwrap() > 1.0);
        assert_eq!(crossbeam["samples"][0]["start_wall_s"], serde_json::Value::Null, "no 0-job runs here");
        assert!(crossbeam["stats"]["whole_ns"]["median"].as_f64().unwrap() > 0.0);
        assert_eq!(crossbeam["stats"]["whole_less_start_ns"], serde_json::Value::Null);
        assert_eq!(json["traces"][0]["pickup"]["max_us"], 90);
    }
}
