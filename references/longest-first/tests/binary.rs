//! The reference binary runs the jobs it is given, on as many threads as the
//! pool could use, and says so on the pools' summary line.

use std::process::Command;
use std::time::Duration;

use pool_core::RunSummary;

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_longest-first")).args(args).output().expect("the binary runs");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn every_job_runs_and_the_sum_checks_out() {
    for (workers, work) in [("1", "spin:20us"), ("2", "spin:10us~2ms"), ("5", "sleep:1ms")] {
        let (code, stderr) = run(&["--workers", workers, "--jobs", "200", "--work", work, "--quiet"]);
        assert_eq!(code, Some(0), "{stderr}");
        let s = RunSummary::find_in(&stderr).expect("a summary line");
        assert_eq!((s.program.as_str(), s.jobs, s.finished, s.failed), ("longest-first", 200, 200, 0));
        assert_eq!(s.checked_sum, Some(200 * 201), "{stderr}");
    }
}

#[test]
fn its_makespan_is_the_work_spread_over_the_threads() {
    // 40 sleeps of 5 ms on 2 threads: 20 each, 100 ms, whatever the cores
    // (a sleep needs none); never less.
    let (code, stderr) = run(&["-w", "2", "-j", "40", "--work", "sleep:5ms", "--quiet"]);
    assert_eq!(code, Some(0), "{stderr}");
    let s = RunSummary::find_in(&stderr).expect("a summary line");
    let cores = std::thread::available_parallelism().map_or(1, usize::from).min(2) as u32;
    assert!(s.elapsed >= Duration::from_millis(5) * (40 / cores), "{stderr}");
}

#[test]
fn failing_jobs_and_bad_flags_are_refused_in_one_line() {
    for args in [&["--panic-on", "1", "-j", "3"][..], &["--work", "nap:1s"][..], &["-w", "0"][..]] {
        let (code, stderr) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
