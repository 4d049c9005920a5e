//! The xtask binary from the outside: bad input gives one clear line and a
//! non-zero exit; the measuring helper passes the child's exit through and
//! reports its usage.

use std::process::Command;

fn xtask(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    for args in
        [&["compare", "--backends", "nope"][..], &["compare", "--runs", "0"], &["frobnicate"], &["compare", "--bogus"]]
    {
        let (code, _, err) = xtask(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
    let (_, _, err) = xtask(&["compare", "--workloads", "cpu,nope"]);
    assert!(
        err.contains("'nope'") && err.contains("[possible values: overhead, sleep, cpu, skewed, seed, broker]"),
        "{err}"
    );
}

#[test]
fn the_helper_passes_exit_and_output_through_and_reports_usage() {
    let (code, out, err) = xtask(&["__measure", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!(code, Some(3));
    assert_eq!(out, "out\n");
    let (own, usage) = err.split_once("\n@@xtask-rusage ").unwrap();
    assert_eq!(own, "err\n");
    assert!(usage.trim_end().ends_with(" code:3"), "{usage}");
}
