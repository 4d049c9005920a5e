//! The conformance suite, written once and run by every backend's tests
//! (`pool_core::conformance_tests!(MyBackend);`), in the manner of ripgrep's
//! `rgtest!`. Every run is judged by the trace checker and its canonical
//! summary compared with the one a correct pool must give, so all backends
//! that pass give the same summaries. Every run is under a watchdog, so a
//! hang fails the test instead of stalling CI.

use std::num::NonZeroUsize;
use std::panic::{self, AssertUnwindSafe};
use std::process::{Command, Output};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::{
    Backend, Completeness, Flavor, Format, JobId, JobOutcome, Log, LoggedOutcome, Pool, PoolConfig, PoolError,
    RunReport, RunSpec, Summary, Work, check, max_in_flight,
};

pub mod mutant;

/// How long one conformance run may take before it counts as hung.
pub const WATCHDOG: Duration = Duration::from_secs(120);

/// `jobs` jobs of `work` on `workers` workers, logged as JSON lines: the
/// run description the suite's cases start from.
pub fn case(workers: u32, jobs: u64, work: &str) -> RunSpec {
    let spec = work.parse().unwrap_or_else(|e| panic!("bad work spec in test: {e}"));
    RunSpec::new(workers, jobs, spec).format(Some(Format::Jsonl))
}

/// What one run gave.
#[derive(Debug)]
pub struct Run {
    /// The pool's counts.
    pub report: RunReport,
    /// Every outcome handed to the caller, in arrival order.
    pub outcomes: Vec<JobOutcome>,
    /// The log, if one was kept.
    pub log: String,
}

/// Runs `f` on its own thread and panics if it has not returned within
/// `limit` (the thread is left behind; the test has failed anyway).
pub fn watchdog<T: Send + 'static>(what: &str, limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(panic::catch_unwind(AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(value)) => value,
        Ok(Err(payload)) => panic::resume_unwind(payload),
        Err(_) => panic!("{what}: no answer within {limit:?}: the pool hangs"),
    }
}

/// Runs `case` on backend `B` with a log in its format (or quiet), under the
/// watchdog; `on_result` sees each outcome as it arrives.
pub fn run_with<B: Backend>(
    case: &RunSpec,
    mut on_result: impl FnMut(&JobOutcome, &PoolConfig) + Send + 'static,
) -> Result<Run, PoolError>
where
    B::Options: 'static,
{
    let case = case.clone();
    watchdog(&format!("{} {case:?}", B::NAME), WATCHDOG, move || {
        let (log, sink) = match case.format {
            Some(f) => {
                let (log, sink) = Log::memory(f);
                (Some(log), Some(sink))
            }
            None => (None, None),
        };
        let pool = Pool::<B>::new(case.config(log), B::Options::default())?;
        let config = pool.config().clone();
        let mut outcomes = Vec::new();
        let report = pool.run((1..=case.jobs).map(JobId), |o| {
            on_result(&o, &config);
            outcomes.push(o);
        })?;
        let log = sink.map(|s| String::from_utf8(s.contents()).expect("log is UTF-8")).unwrap_or_default();
        Ok(Run { report, outcomes, log })
    })
}

/// Runs `case` on backend `B` (see [`run_with`]).
pub fn run<B: Backend>(case: &RunSpec) -> Result<Run, PoolError>
where
    B::Options: 'static,
{
    run_with::<B>(case, |_, _| {})
}

/// Checks that the outcomes handed to the caller are exactly the case's
/// jobs, each once, with the expected results, and match the report.
fn check_outcomes(case: &RunSpec, run: &Run) {
    let expected = case.clone().format(None).expected();
    let mut seen = vec![false; case.jobs as usize];
    for o in &run.outcomes {
        let j = o.job.0 as usize;
        assert!((1..=case.jobs as usize).contains(&j), "outcome for job {} outside 1..={}", o.job, case.jobs);
        assert!(!seen[j - 1], "job {} handed back twice", o.job);
        seen[j - 1] = true;
        assert!((1..=case.workers).contains(&o.worker.0), "outcome from worker {}", o.worker);
        let got = match &o.result {
            Ok(r) => LoggedOutcome::Finished(Some(*r)),
            Err(e) => LoggedOutcome::Failed(e.clone()),
        };
        assert_eq!(&got, expected.outcome(o.job), "job {}", o.job);
    }
    let (finished, failed, _) = expected.counts();
    assert_eq!(run.outcomes.len() as u64, finished + failed, "every job's outcome comes back");
    assert_eq!((run.report.finished, run.report.failed, run.report.skipped), (finished, failed, 0));
}

/// Each outcome handed back names the worker the log shows ending that job:
/// in release builds as in debug (a tuned batch whose reused buffer kept
/// the previous worker's id would hand back valid-looking outcomes under
/// the wrong worker, which only a `debug_assert!` saw).
fn outcomes_are_the_logs(backend: &str, case: &RunSpec, run: &Run) {
    use crate::Event;
    let format = case.format.expect("a run with a log");
    let records = format.parse(&run.log).unwrap_or_else(|e| panic!("log does not parse: {e}"));
    let mut ended_by = std::collections::HashMap::new();
    for r in &records {
        if let Event::Finished { job, .. } | Event::Failed { job, .. } = &r.event {
            ended_by.insert(*job, r.worker);
        }
    }
    for o in &run.outcomes {
        assert_eq!(
            Some(&o.worker),
            ended_by.get(&o.job),
            "{backend} {case:?}: job {} handed back from worker {}, but the log ends it on another",
            o.job,
            o.worker
        );
    }
}

/// Parses a log of `run` (in its format) and checks it, panicking with the
/// violation.
pub fn judge(log: &str, run: &RunSpec, completeness: Completeness) -> Summary {
    let format = run.format.expect("a run with a log");
    let records = format.parse(log).unwrap_or_else(|e| panic!("log does not parse: {e}\n{log}"));
    check(&records, run, completeness).unwrap_or_else(|v| panic!("log breaks a rule: {v}"))
}

/// The main conformance check: runs `case` traced as JSON lines and as text
/// and quiet, judges each log, compares the summaries with the expected one
/// and checks every outcome handed back. Returns the JSON run's summary.
pub fn conform<B: Backend>(case: &RunSpec) -> Summary
where
    B::Options: 'static,
{
    let mut json_summary = None;
    for format in [Some(Format::Jsonl), Some(Format::Text), None] {
        let case = &case.clone().format(format);
        let run = run::<B>(case).unwrap_or_else(|e| panic!("{} {case:?}: {e}", B::NAME));
        check_outcomes(case, &run);
        let Some(format) = format else { continue };
        let summary = judge(&run.log, case, Completeness::Complete);
        outcomes_are_the_logs(B::NAME, case, &run);
        let expected = case.expected();
        if let Some(diff) = summary.first_difference(&expected) {
            panic!("{} {case:?} ({format:?}): summary differs from the expected one: {diff}", B::NAME);
        }
        if format == Format::Jsonl {
            json_summary = Some(summary);
        }
    }
    json_summary.expect("ran JSON lines")
}

/// The text log a single worker must print for `jobs` noop jobs.
pub fn one_worker_text(jobs: u64) -> String {
    let mut text = String::new();
    for j in 1..=jobs {
        text += &format!("worker 1 started  job {j}\nworker 1 finished job {j}\n");
    }
    text + "worker 1 exiting\n"
}

/// One worker is deterministic: the text log is byte-identical to
/// [`one_worker_text`].
pub fn one_worker_is_byte_exact<B: Backend>(jobs: u64)
where
    B::Options: 'static,
{
    let run = run::<B>(&case(1, jobs, "noop").format(Some(Format::Text))).expect("runs");
    assert_eq!(run.log, one_worker_text(jobs));
}

/// The oracle written out, not computed: job `j` yields `2 j` and job 4,
/// made to panic, fails with its message — literal values, so a change to
/// the shared oracle (`JobId::expected_result`, `RunSpec::expected`) cannot
/// pass everywhere at once.
pub fn literal_results<B: Backend>()
where
    B::Options: 'static,
{
    let run = run::<B>(&case(3, 6, "noop").panics([4]).format(None)).expect("runs");
    let mut got: Vec<(u64, Result<u64, String>)> = run.outcomes.into_iter().map(|o| (o.job.0, o.result)).collect();
    got.sort_by_key(|(j, _)| *j);
    let want = [
        (1, Ok(2)),
        (2, Ok(4)),
        (3, Ok(6)),
        (4, Err("job 4 panicked (--panic-on)".to_owned())),
        (5, Ok(10)),
        (6, Ok(12)),
    ];
    assert_eq!(got, want, "{}", B::NAME);
}

/// A job stream with a gap after every id (only even ids, 100,000 of them):
/// a pool gets no run of consecutive ids longer than one, which the tuned
/// flavors claim and hand back by, and still runs each job exactly once.
pub fn a_stream_with_gaps<B: Backend>() {
    let jobs = 100_000u64;
    let config = PoolConfig::new(2, "noop".parse::<crate::WorkSpec>().map(|s| crate::Work::new(s, 0)).expect("noop"));
    let pool = Pool::<B>::new(config, B::Options::default()).expect("a pool of 2");
    let mut seen = vec![false; jobs as usize + 1];
    let report = pool
        .run((1..=jobs).map(|j| JobId(2 * j)), |o| {
            let j = o.job.0;
            assert!(j % 2 == 0 && j <= 2 * jobs, "{}: job {j} was never handed out", B::NAME);
            assert_eq!(o.result, Ok(2 * j), "{}: job {j}", B::NAME);
            assert!(!std::mem::replace(&mut seen[(j / 2) as usize], true), "{}: job {j} came back twice", B::NAME);
        })
        .expect("runs");
    assert_eq!(report.finished, jobs, "{}", B::NAME);
    assert!(seen[1..].iter().all(|&s| s), "{}: a job never came back", B::NAME);
}

/// The log's lines written out, not formatted by the code under test
/// (`Format::write`): one worker, three jobs, job 2 failing, in both
/// formats (JSON lines with their timestamps removed).
pub fn literal_lines<B: Backend>()
where
    B::Options: 'static,
{
    let text = run::<B>(&case(1, 3, "noop").panics([2]).format(Some(Format::Text))).expect("runs").log;
    assert_eq!(
        text,
        "worker 1 started  job 1\nworker 1 finished job 1\n\
         worker 1 started  job 2\nworker 1 failed   job 2: job 2 panicked (--panic-on)\n\
         worker 1 started  job 3\nworker 1 finished job 3\nworker 1 exiting\n",
        "{}",
        B::NAME
    );
    let json = run::<B>(&case(1, 3, "noop").panics([2])).expect("runs").log;
    let untimed: Vec<String> = json
        .lines()
        .map(|l| {
            let rest = l.strip_prefix("{\"t_us\":").unwrap_or_else(|| panic!("no t_us first: {l}"));
            let digits = rest.find(|c: char| !c.is_ascii_digit()).expect("a number");
            format!("{{{}", rest[digits..].strip_prefix(',').expect("a comma after t_us"))
        })
        .collect();
    assert_eq!(
        untimed,
        [
            r#"{"worker":1,"event":"started","job":1}"#,
            r#"{"worker":1,"event":"finished","job":1,"result":2}"#,
            r#"{"worker":1,"event":"started","job":2}"#,
            r#"{"worker":1,"event":"failed","job":2,"error":"job 2 panicked (--panic-on)"}"#,
            r#"{"worker":1,"event":"started","job":3}"#,
            r#"{"worker":1,"event":"finished","job":3,"result":6}"#,
            r#"{"worker":1,"event":"exiting"}"#,
        ],
        "{}",
        B::NAME
    );
}

/// The case that needs a pool: W workers given W jobs of `sleep:200ms` at
/// once must run them all at once (the log's most jobs in flight is W).
pub fn concurrency_case() -> RunSpec {
    case(4, 4, "sleep:200ms")
}

/// Runs [`concurrency_case`] and returns the most jobs the log shows in
/// flight, after the usual conformance checks.
pub fn jobs_in_flight<B: Backend>() -> usize
where
    B::Options: 'static,
{
    let case = concurrency_case();
    let run = run::<B>(&case).expect("runs");
    check_outcomes(&case, &run);
    judge(&run.log, &case, Completeness::Complete);
    let records = Format::Jsonl.parse(&run.log).expect("parses");
    max_in_flight(&records).expect("JSON lines have timestamps")
}

/// How many times [`runs_jobs_at_once`] tries before it fails.
pub const OVERLAP_ATTEMPTS: usize = 3;

/// A pool runs its workers at once: see [`concurrency_case`]. A pool that
/// can never overlap its jobs fails every attempt; a correct one on a loaded
/// machine may miss once when a worker thread is woken late (rayon's idle
/// threads wake on their own schedule), so it has [`OVERLAP_ATTEMPTS`] tries,
/// each also judged by the usual conformance checks.
pub fn runs_jobs_at_once<B: Backend>()
where
    B::Options: 'static,
{
    let workers = concurrency_case().workers as usize;
    let mut seen = Vec::new();
    for _ in 0..OVERLAP_ATTEMPTS {
        let most = jobs_in_flight::<B>();
        if most == workers {
            return;
        }
        seen.push(most);
    }
    panic!("{}: {workers} workers never ran {workers} jobs at once; most in flight per attempt: {seen:?}", B::NAME);
}

/// Seeded random workloads, judged by [`conform`].
pub fn random_workloads<B: Backend>(seed: u64, cases: usize)
where
    B::Options: 'static,
{
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    for _ in 0..cases {
        let workers = rng.random_range(1..=8);
        let jobs = rng.random_range(0..=300u64);
        let work = match rng.random_range(0..4) {
            0 => "noop".to_owned(),
            1 => format!("spin:0us..{}us", rng.random_range(1..=50)),
            2 => format!("sleep:0us..{}us", rng.random_range(1..=300)),
            _ => format!("spin:{}us", rng.random_range(0..=20)),
        };
        let mut case = case(workers, jobs, &work);
        case.seed = rng.random();
        if rng.random_bool(0.5) {
            case = case.queue(rng.random_range(1..=8));
        }
        if jobs > 0 && rng.random_bool(0.3) {
            let mut ids: Vec<u64> = (0..rng.random_range(1..=5)).map(|_| rng.random_range(1..=jobs)).collect();
            ids.sort_unstable();
            ids.dedup();
            case = case.panics(ids);
        }
        conform::<B>(&case);
    }
}

/// Cancelling mid-run: no job starts after the flag is seen, jobs running
/// end, every worker exits, and the log is a valid partial log.
pub fn cancel_stops_new_jobs<B: Backend>()
where
    B::Options: 'static,
{
    // A result queue of 1 bounds how far the workers can run ahead of what
    // the caller has seen.
    let case = case(4, 2_000, "sleep:1ms").queue(1);
    let mut seen = 0;
    let run = run_with::<B>(&case, move |_, config| {
        seen += 1;
        if seen == 10 {
            config.cancel.store(true, Relaxed);
        }
    })
    .expect("runs");
    let summary = judge(&run.log, &case, Completeness::Partial);
    let (finished, failed, not_started) = summary.counts();
    // When the caller sees the 10th result, at most one more waits in the
    // result queue and each worker holds one more (waiting to hand it back,
    // or running it): nothing else may start.
    let bound = 10 + 1 + u64::from(case.workers);
    assert!(finished + failed <= bound, "{} jobs ran; a cancel at 10 allows {bound}", finished + failed);
    // The caller was handed exactly the jobs the log shows ending, and the
    // pool's counts agree; what it skipped after the cancel never started.
    assert_eq!(run.outcomes.len() as u64, finished + failed, "outcomes handed back vs jobs the log ended");
    assert_eq!((run.report.finished, run.report.failed), (finished, failed));
    assert!(run.report.skipped <= not_started, "{} skipped, {not_started} not started", run.report.skipped);
    assert!(not_started > 0, "the cancel stopped nothing");
}

/// Cancelling with a large backlog queued (an unbounded queue the producer
/// has run far ahead on): workers stop taking jobs instead of draining the
/// queue one job at a time, so each skips at most the one job it took when
/// it saw the cancel, and the jobs never started are what is left over.
pub fn cancel_leaves_the_backlog<B: Backend>()
where
    B::Options: 'static,
{
    let case = case(3, 300_000, "sleep:1ms");
    let mut seen = 0;
    let run = run_with::<B>(&case, move |_, config| {
        seen += 1;
        if seen == 10 {
            // Let the producer run ahead: the backlog is what is tested.
            std::thread::sleep(Duration::from_millis(100));
            config.cancel.store(true, Relaxed);
        }
    })
    .expect("runs");
    let summary = judge(&run.log, &case, Completeness::Partial);
    let (finished, failed, not_started) = summary.counts();
    assert_eq!((finished, failed), (run.report.finished, run.report.failed));
    assert!(not_started > 0, "{}: every job ran", B::NAME);
    assert!(
        run.report.skipped <= u64::from(case.workers),
        "{}: {} jobs taken from the queue after the cancel; each worker may take one",
        B::NAME,
        run.report.skipped
    );
}

/// A caller whose result callback panics: the pool stops, lets running jobs
/// end, joins every worker, and then the panic reaches the caller.
pub fn caller_panic_drains_and_joins<B: Backend>()
where
    B::Options: 'static,
{
    let case = case(3, 1_000, "sleep:100us").queue(4);
    let (log, sink) = Log::memory(Format::Jsonl);
    let config = case.config(Some(log));
    let result = watchdog("caller panic", WATCHDOG, move || {
        let pool = Pool::<B>::new(config, B::Options::default()).expect("builds");
        let mut seen = 0;
        panic::catch_unwind(AssertUnwindSafe(|| {
            pool.run((1..=1_000).map(JobId), |_| {
                seen += 1;
                assert!(seen < 20, "caller gives up");
            })
        }))
    });
    let err = result.expect_err("the caller's panic comes back");
    let message = err.downcast_ref::<&str>().copied().or(err.downcast_ref::<String>().map(String::as_str));
    assert_eq!(message, Some("caller gives up"));
    let log = String::from_utf8(sink.contents()).unwrap();
    let summary = judge(&log, &case, Completeness::Partial);
    assert!(summary.counts().2 > 0, "the pool stopped early");
}

/// A consumer slower than the workers, with a small bounded queue: the
/// producer and workers wait, nothing is lost.
pub fn slow_consumer_with_small_queue<B: Backend>()
where
    B::Options: 'static,
{
    let case = case(3, 300, "noop").queue(2);
    let run = run_with::<B>(&case, |_, _| std::thread::sleep(Duration::from_micros(200))).expect("runs");
    check_outcomes(&case, &run);
    judge(&run.log, &case, Completeness::Complete);
}

/// A pool of zero workers, or more than the backend's limit, is refused at
/// construction.
pub fn bad_sizes_are_refused<B: Backend>() {
    let work = Work::new("noop".parse().unwrap(), 0);
    assert!(matches!(Pool::<B>::new(PoolConfig::new(0, work.clone()), Default::default()), Err(PoolError::NoWorkers)));
    if let Some(over) = B::MAX_WORKERS.checked_add(1) {
        let refused = Pool::<B>::new(PoolConfig::new(over, work), Default::default());
        assert!(matches!(refused, Err(PoolError::TooManyWorkers { .. })));
    }
}

/// A program that runs `bin` with `--flavor FLAVOR` before its other
/// arguments: a two-line shell script next to `bin` that `exec`s it (same
/// process, so signals, exit status and peak memory are the binary's own).
/// Lets every binary test run on a flavor unchanged.
pub fn flavored(bin: &str, flavor: &str) -> &'static str {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static SCRIPTS: OnceLock<Mutex<HashMap<(String, String), &'static str>>> = OnceLock::new();
    let mut scripts = SCRIPTS.get_or_init(Mutex::default).lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    scripts.entry((bin.to_owned(), flavor.to_owned())).or_insert_with(|| {
        use std::os::unix::fs::PermissionsExt;
        let path = format!("{bin}.{flavor}.sh");
        let quoted = bin.replace('\'', "'\\''");
        let script = format!("#!/bin/sh\nexec '{quoted}' --flavor {flavor} \"$@\"\n");
        // Written under a temporary name and renamed, so a concurrent test
        // run never executes a half-written script.
        let tmp = format!("{path}.{}", std::process::id());
        std::fs::write(&tmp, script).unwrap_or_else(|e| panic!("cannot write {tmp}: {e}"));
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::rename(&tmp, &path).unwrap_or_else(|e| panic!("cannot rename {tmp}: {e}"));
        Box::leak(path.into_boxed_str())
    })
}

/// Runs a binary with `args`, returning its output and wall time; fails,
/// naming the command, if it runs longer than [`CHILD_BOUND`].
pub fn run_binary(bin: &str, args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let output = output_within(Command::new(bin).args(args));
    (output, start.elapsed())
}

/// The longest any test waits for a child process before it kills it and
/// fails, naming the command: "it hangs", not a benchmark.
pub const CHILD_BOUND: Duration = Duration::from_secs(120);

/// The command as a line, for messages.
fn shown(command: &Command) -> String {
    let args: Vec<String> = command.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
    format!("{} {}", command.get_program().to_string_lossy(), args.join(" "))
}

/// `command`'s output (stdout and stderr captured), waiting at most
/// [`CHILD_BOUND`]: past it the child is killed and the test fails, naming
/// the command.
pub fn output_within(command: &mut Command) -> Output {
    let name = shown(command);
    output_bounded(&name, command, CHILD_BOUND)
}

/// `command`'s exit status, its standard streams as set, waiting at most
/// [`CHILD_BOUND`] (as [`output_within`]).
pub fn status_within(command: &mut Command) -> std::process::ExitStatus {
    let name = shown(command);
    let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
    wait_bounded(&name, &mut child, CHILD_BOUND)
}

/// The binary with no arguments runs the seed: 13 lines that a correct pool
/// of 3 workers over 5 jobs can print, in about 2 s (`concurrent`; the
/// sequential baseline takes 5 s).
pub fn binary_runs_the_seed(bin: &str, concurrent: bool) {
    let (out, took) = run_binary(bin, &[]);
    assert!(out.status.success(), "{bin}: {:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 13, "{stdout}");
    let summary = judge(&stdout, &RunSpec::default(), Completeness::Complete);
    assert_eq!(summary, Summary::expected(3, 5, false));
    assert!(out.stderr.is_empty(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    // A sanity bound, not a benchmark: five 1 s jobs on three workers must
    // overlap (2 s ideal; serial would be 5 s).
    if concurrent {
        assert!(took < Duration::from_secs(5), "the seed run took {took:?}");
        assert_spread_like_the_seed(&stdout);
    }
}

/// The seed's five long jobs are spread as the seed spreads them: three
/// workers start one each before any job ends, and no worker runs more than
/// two — a pool that claims chunks must not let one worker hold a long job
/// it has not started while another has none.
pub fn assert_spread_like_the_seed(text_log: &str) {
    let records = Format::Text.parse(text_log).unwrap_or_else(|e| panic!("log does not parse: {e}"));
    let first_end = records.iter().position(|r| !matches!(r.event, crate::Event::Started { .. }));
    let early: std::collections::BTreeSet<_> = records[..first_end.unwrap_or(records.len())]
        .iter()
        .filter(|r| matches!(r.event, crate::Event::Started { .. }))
        .map(|r| r.worker)
        .collect();
    assert_eq!(early.len(), 3, "three workers start a job before any ends:\n{text_log}");
    let mut per_worker = std::collections::BTreeMap::<_, u32>::new();
    for r in &records {
        if matches!(r.event, crate::Event::Started { .. }) {
            *per_worker.entry(r.worker).or_default() += 1;
        }
    }
    assert!(per_worker.values().all(|&n| n <= 2), "no worker runs three of five: {per_worker:?}\n{text_log}");
}

/// `--format jsonl` gives JSON lines a checker accepts, with every result.
pub fn binary_writes_json_lines(bin: &str) {
    let (out, _) = run_binary(bin, &["-w", "4", "-j", "300", "--work", "spin:1us..30us", "--format", "jsonl"]);
    assert!(out.status.success(), "{bin}: {}", String::from_utf8_lossy(&out.stderr));
    let summary =
        judge(std::str::from_utf8(&out.stdout).unwrap(), &case(4, 300, "spin:1us..30us"), Completeness::Complete);
    assert_eq!(summary, Summary::expected(4, 300, true));
}

/// One worker prints the same bytes on every backend.
pub fn binary_one_worker_is_byte_exact(bin: &str) {
    let (out, _) = run_binary(bin, &["-w", "1", "-j", "50", "--work", "noop"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), one_worker_text(50));
}

/// `--quiet` prints no event line and one summary line on stderr.
pub fn binary_quiet_prints_a_summary(bin: &str) {
    let (out, _) = run_binary(bin, &["-w", "2", "-j", "10000", "--work", "noop", "--quiet"]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("10000 finished, 0 failed") && stderr.contains("results check out"), "{stderr}");
}

/// Jobs that fail inside quick-path blocks (a quiet `noop` run: blocks of
/// thousands of jobs, one panic boundary each): each fails alone, at the
/// first and last id, at a block's edge and inside one; every other job
/// finishes once and the caller's ledger says so; status 1; no panic report.
pub fn binary_failures_in_quick_blocks(bin: &str) {
    let args = ["-w", "3", "-j", "20000", "--work", "noop", "--quiet", "--panic-on", "1,4096,4097,9999,16384,20000"];
    let (out, _) = run_binary(bin, &args);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{bin} {args:?}: {stderr}");
    assert!(stderr.contains("19994 finished, 6 failed"), "{bin} {args:?}: {stderr}");
    assert!(stderr.contains("failed jobs: 1,4096,4097,9999,16384,20000"), "{bin} {args:?}: {stderr}");
    assert!(stderr.contains("results check out"), "{bin} {args:?}: {stderr}");
    assert_no_panic_report(bin, &args, &stderr);
}

/// The ablation's diagnostic flavors (tuned without one of its techniques)
/// keep the contract: a quiet run with failing jobs checks out in the
/// caller's ledger, and a logged run is judged correct by the checker.
pub fn binary_diagnostic_flavors(bin: &str) {
    for flavor in [Flavor::TunedChunksOnly, Flavor::TunedBatchesOnly, Flavor::TunedJobByJob] {
        binary_failures_in_quick_blocks(flavored(bin, flavor.name()));
        let case = case(3, 500, "spin:0us..20us").panics([7, 500]).flavor(flavor);
        let args = ["-w", "3", "-j", "500", "--work", "spin:0us..20us", "--panic-on", "7,500", "--format", "jsonl"];
        let (out, _) = run_binary(flavored(bin, flavor.name()), &args);
        assert_eq!(out.status.code(), Some(1), "{bin} --flavor {flavor} {args:?}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        let case = case.format(Some(Format::Jsonl));
        let summary = judge(&stdout, &case, Completeness::Complete);
        assert_eq!(summary.first_difference(&case.expected()), None, "{bin} --flavor {flavor}");
    }
}

/// Asserts a binary's stderr carries no default panic report: failures are
/// reported once, in the log and the summary.
fn assert_no_panic_report(bin: &str, args: &[&str], stderr: &str) {
    for noise in ["panicked at", "panicked", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(!stderr.contains(noise), "{bin} {args:?}: stderr has {noise:?}:\n{stderr}");
    }
}

/// `--panic-on`: the named jobs fail, every other job finishes, the log (in
/// both formats) is valid with `failed` lines carrying the message, the exit
/// status is 1 and the stderr summary lists the failed jobs, with no panic
/// report on stderr.
pub fn binary_panic_on(bin: &str) {
    let case = case(3, 40, "spin:0us..20us").panics([4, 11, 40]);
    for format in [Format::Text, Format::Jsonl] {
        let fmt = if format == Format::Text { "text" } else { "jsonl" };
        let args = ["-w", "3", "-j", "40", "--work", "spin:0us..20us", "--panic-on", "4,11,40", "--format", fmt];
        let (out, _) = run_binary(bin, &args);
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{bin} {args:?}: {stderr}");
        let summary = judge(&stdout, &case.clone().format(Some(format)), Completeness::Complete);
        assert_eq!(summary.first_difference(&case.clone().format(Some(format)).expected()), None, "{bin} {args:?}");
        let failed_line = match format {
            Format::Text => "failed   job 11: job 11 panicked (--panic-on)",
            Format::Jsonl => r#""event":"failed""#,
        };
        assert!(stdout.contains(failed_line), "{bin} {args:?}: no {failed_line:?} in\n{stdout}");
        assert!(stderr.contains("37 finished, 3 failed"), "{bin}: {stderr}");
        assert!(stderr.contains("failed jobs: 4,11,40"), "{bin}: {stderr}");
        assert_no_panic_report(bin, &args, &stderr);
    }
}

/// Every job panics: the run still ends, every worker exits, status 1.
pub fn binary_every_job_panics(bin: &str) {
    let ids: Vec<String> = (1..=30).map(|j: u64| j.to_string()).collect();
    let ids = ids.join(",");
    let args = ["-w", "4", "-j", "30", "--work", "noop", "--panic-on", &ids, "--format", "jsonl"];
    let (out, _) = run_binary(bin, &args);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{bin}: {stderr}");
    let summary = judge(std::str::from_utf8(&out.stdout).unwrap(), &case(4, 30, "noop"), Completeness::Complete);
    assert_eq!(summary.counts(), (0, 30, 0));
    assert!(stderr.contains("0 finished, 30 failed"), "{bin}: {stderr}");
    assert_no_panic_report(bin, &args, &stderr);
}

/// Malformed command lines, each with the flag its one-line message must
/// name.
pub const BAD_INPUTS: &[(&[&str], &str)] = &[
    (&["-w", "0"], "--workers"),
    (&["-w", "-3"], "--workers"),
    (&["-w", "three"], "--workers"),
    (&["-w", "99999999999"], "--workers"),
    (&["-w", ""], "--workers"),
    (&["-w"], "--workers"),
    // Above every backend's limit (tokio's is a million tasks; the thread
    // backends' ten thousand threads): refused, not attempted.
    (&["-w", "4000000000"], "--workers"),
    (&["-j", "-1"], "'--jobs <N>': expected a whole number of jobs from 0 to 1099511627776"),
    (&["-w", "-1"], "backend's limit)"),
    (&["-j", "1.5"], "--jobs"),
    (&["-j", "99999999999999999999999"], "--jobs"),
    (&["--seed", "-5"], "--seed"),
    (&["--seed", "x"], "--seed"),
    (&["--work", "sleep:"], "--work"),
    (&["--work", "sleep"], "--work"),
    (&["--work", "sleep:-1s"], "--work"),
    (&["--work", "spin:-5ms..1ms"], "--work"),
    (&["--work", "sleep:1fortnight"], "--work"),
    (&["--work", "sleep:99999999999999999999s"], "--work"),
    (&["--work", "sleep:1000000h"], "--work"),
    (&["--work", "bake:1s"], "--work"),
    (&["--work", ""], "--work"),
    (&["--work", "spin:1ms..0ms"], "--work"),
    (&["--work", "spin:1ms..2ms..3ms"], "--work"),
    (&["--format", "xml"], "'--format <FORMAT>' (expected one of: text, jsonl)"),
    (&["--bogus"], "--bogus"),
    (&["-x"], "-x"),
    (&["extra"], "extra"),
    (&["--panic-on", "4,,x"], "--panic-on"),
    (&["--panic-on", "0"], "--panic-on"),
    (&["--panic-on", "-4"], "--panic-on"),
    (&["--panic-on", "x"], "--panic-on"),
    (&["-j", "5", "--panic-on", "6"], "--panic-on"),
    (&["--queue", "0"], "--queue"),
    (&["--queue", "-1"], "--queue"),
    (&["--queue", "many"], "--queue"),
    // Past what any backend's bounded channel should allocate up front.
    (&["--queue", "100000000"], "'--queue <N>': expected a whole number of entries from 1 to 1048576"),
    // tokio's own flag; unknown to the other backends, refused by all.
    (&["--threads", "0"], "--threads"),
    (&["--threads", "20000"], "--threads"),
];

/// Every malformed command line gets exit status 2 and one line on stderr
/// naming the flag, nothing on stdout, and never a panic.
pub fn binary_rejects_bad_input(bin: &str) {
    let mut failures = Vec::new();
    for &(args, flag) in BAD_INPUTS {
        let (out, took) = run_binary(bin, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let problem = if out.status.code() != Some(2) {
            Some(format!("exit status {:?}", out.status))
        } else if stderr.trim().is_empty() {
            Some("no message".to_owned())
        } else if stderr.lines().count() != 1 {
            Some("more than one line".to_owned())
        } else if !stderr.contains(flag) {
            Some(format!("message does not name {flag}"))
        } else if stderr.contains("panicked") {
            Some("a panic".to_owned())
        } else if !out.stdout.is_empty() {
            Some("output on stdout".to_owned())
        } else if took > Duration::from_secs(10) {
            Some(format!("took {took:?}: the run was attempted"))
        } else {
            None
        };
        if let Some(problem) = problem {
            failures.push(format!("{args:?}: {problem}; stderr: {stderr}"));
        }
    }
    assert!(failures.is_empty(), "{bin}:\n{}", failures.join("\n"));
}

/// A closed standard output (`pool-x | head -1`): the run ends with status 3
/// and one error line, not a panic.
pub fn binary_closed_stdout(bin: &str) {
    use std::io::Read;
    use std::process::Stdio;
    let args = ["-w", "3", "-j", "200000", "--work", "noop"];
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    drop(child.stdout.take());
    let mut from = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut stderr = String::new();
        from.read_to_string(&mut stderr).map(|_| stderr)
    });
    let status = wait_bounded(bin, &mut child, CHILD_BOUND);
    let stderr = reader.join().expect("read stderr").expect("stderr is text");
    assert_eq!(status.code(), Some(3), "{bin}: {status:?}: {stderr}");
    assert!(stderr.contains("could not write the log"), "{bin}: {stderr}");
    assert_no_panic_report(bin, &args, &stderr);
}

/// How long an interrupted binary may take to exit: a sanity bound, not a
/// benchmark (a job in flight lasts 100 ms).
pub const INTERRUPT_BOUND: Duration = Duration::from_secs(5);

/// Starts `bin` with `args`, stdout and stderr piped.
fn spawn_piped(bin: &str, args: &[&str]) -> std::process::Child {
    use std::process::Stdio;
    Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"))
}

/// Waits for `child` at most `bound` (then kills it and fails: it hangs).
fn wait_bounded(bin: &str, child: &mut std::process::Child, bound: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            return status;
        }
        if start.elapsed() > bound {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{bin}: still running after {bound:?}, so it was killed: it hangs");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends `signal` to `child`.
fn send(child: &std::process::Child, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid fits"));
    nix::sys::signal::kill(pid, signal).expect("signal the child");
}

/// Reads stdout until it holds `lines` lines (the pool is running and
/// logging), failing if the child ends first.
fn read_lines(bin: &str, stdout: &mut impl std::io::BufRead, log: &mut String, lines: usize) {
    while log.lines().count() < lines {
        assert!(stdout.read_line(log).expect("read stdout") > 0, "{bin} ended early:\n{log}");
    }
}

/// A stop signal (SIGINT, SIGTERM or SIGHUP) to a running binary: it stops
/// starting jobs, lets the running ones end, every worker exits, the log is
/// a valid partial log, the summary says how many never started, and the
/// status is 128 + the signal (130, 143, 129) — promptly, not after the
/// remaining queue.
pub fn binary_stopped_by(bin: &str, signal: nix::sys::signal::Signal) {
    use std::io::{BufReader, Read};

    let (workers, jobs) = (2, 1_000);
    let args = ["-w", "2", "-j", "1000", "--work", "sleep:100ms", "--format", "jsonl"];
    let mut child = spawn_piped(bin, &args);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut log = String::new();
    read_lines(bin, &mut stdout, &mut log, 5);
    send(&child, signal);
    let sent = Instant::now();
    let status = wait_bounded(bin, &mut child, INTERRUPT_BOUND);
    let took = sent.elapsed();
    stdout.read_to_string(&mut log).unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();

    let code = i32::from(crate::signals::exit_status(signal));
    assert_eq!(status.code(), Some(code), "{bin}: {status:?} after {signal}; stderr: {stderr}");
    let summary = judge(&log, &case(workers, jobs, "sleep:100ms"), Completeness::Partial);
    let (finished, failed, not_started) = summary.counts();
    assert_eq!(failed, 0);
    assert!(not_started > 0, "{bin}: every job ran in {took:?} after {signal}");
    let expected = format!("{finished} finished, 0 failed, {not_started} never started (interrupted)");
    assert!(stderr.contains(&expected), "{bin}: stderr lacks {expected:?}: {stderr}");
    assert!(stderr.contains("letting running jobs end"), "{bin}: {stderr}");
    assert_no_panic_report(bin, &args, &stderr);
}

/// SIGINT (Ctrl-C): see [`binary_stopped_by`]; status 130.
pub fn binary_sigint(bin: &str) {
    binary_stopped_by(bin, nix::sys::signal::Signal::SIGINT);
}

/// SIGTERM (`kill`, `timeout`, a process manager): see
/// [`binary_stopped_by`]; status 143.
pub fn binary_sigterm(bin: &str) {
    binary_stopped_by(bin, nix::sys::signal::Signal::SIGTERM);
}

/// SIGHUP (the terminal went away): see [`binary_stopped_by`]; status 129.
pub fn binary_sighup(bin: &str) {
    binary_stopped_by(bin, nix::sys::signal::Signal::SIGHUP);
}

/// A second stop signal quits at once, with that signal's status, even
/// while jobs that would take a minute are running.
pub fn binary_second_signal_quits_at_once(bin: &str) {
    use std::io::{BufRead, BufReader};

    use nix::sys::signal::Signal;

    let args = ["-w", "2", "-j", "10", "--work", "sleep:60s"];
    let mut child = spawn_piped(bin, &args);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut log = String::new();
    // A job has started (text lines are written before a long job).
    read_lines(bin, &mut stdout, &mut log, 1);
    send(&child, Signal::SIGTERM);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    stderr.read_line(&mut said).unwrap();
    assert!(said.contains("letting running jobs end"), "{bin}: {said}");
    send(&child, Signal::SIGHUP);
    let status = wait_bounded(bin, &mut child, INTERRUPT_BOUND);
    assert_eq!(status.code(), Some(129), "{bin}: {status:?}; stderr: {said}");
    said.clear();
    stderr.read_line(&mut said).unwrap();
    assert!(said.contains("again, quitting at once"), "{bin}: {said}");
}

/// GNU `timeout` stops a run gracefully: it sends SIGTERM to the program and
/// then to its process group, and the program takes the two for one
/// request: status 143, no "quitting at once", and a valid partial log
/// (every started job ended, every worker exited). Several runs, as the
/// echo races the first signal's handling.
pub fn binary_timeout_is_one_stop(bin: &str) {
    for run in 0..6 {
        let args = ["--preserve-status", "-s", "TERM", "0.3", bin, "-w", "2", "-j", "100", "--work", "sleep:1s"];
        let mut cmd = Command::new("timeout");
        cmd.args(args).args(["--format", "jsonl"]);
        let out = output_bounded(bin, &mut cmd, INTERRUPT_BOUND + Duration::from_secs(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(143), "{bin} under timeout, run {run}: {stderr}");
        assert!(
            !stderr.contains("quitting at once"),
            "{bin} under timeout, run {run}: one request, two stops: {stderr}"
        );
        let log = String::from_utf8_lossy(&out.stdout);
        let summary = judge(&log, &case(2, 100, "sleep:1s"), Completeness::Partial);
        assert!(summary.counts().2 > 0, "{bin}: the stop left nothing unstarted");
    }
}

/// A log past the file-size limit (`ulimit -f`) is an unwritable log:
/// status 3 and one line, not death by SIGXFSZ.
pub fn binary_file_size_limit(bin: &str) {
    let dir = std::env::temp_dir().join(format!("workerpools-fsize-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let log = dir.join("log");
    let script = "ulimit -f 8 && exec \"$0\" \"$@\" > \"$LOG\"";
    let mut cmd = Command::new("sh");
    cmd.args(["-c", script, bin, "-w", "2", "-j", "100000", "--work", "noop", "--format", "jsonl"]).env("LOG", &log);
    let out = output_bounded(bin, &mut cmd, REFUSED_THREAD_BOUND);
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{bin} past ulimit -f: {:?}: {stderr}", out.status);
    assert_eq!(stderr.lines().count(), 1, "{bin}: one line: {stderr}");
    assert!(stderr.contains("could not write the log"), "{bin}: {stderr}");
}

/// A run of 2^40 `noop` jobs with `--queue 1024`, stopped by Ctrl-C after a
/// moment: its memory stays bounded while it runs (peak RSS under 100 MB),
/// and it ends with 130 within [`INTERRUPT_BOUND`] of the signal, whatever
/// it has in flight.
pub fn binary_huge_run_stops_fast_in_bounded_memory(bin: &str) {
    use nix::sys::signal::Signal;
    let args = ["-w", "8", "-j", "1099511627776", "--work", "noop", "--quiet", "--queue", "1024"];
    let w = if bin.contains("sequential") { "1" } else { "8" };
    let args: Vec<&str> = args.iter().map(|&a| if a == "8" { w } else { a }).collect();
    let mut child = spawn_piped(bin, &args);
    std::thread::sleep(Duration::from_millis(1500));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let peak_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    send(&child, Signal::SIGINT);
    let stopped = wait_bounded(bin, &mut child, INTERRUPT_BOUND);
    assert!(peak_kib < 100 * 1024, "{bin} {args:?}: peak RSS {peak_kib} KiB after 1.5 s");
    assert_eq!(stopped.code(), Some(130), "{bin} {args:?}: {stopped:?}");
}

/// A number no other call in this process got.
fn unique() -> u32 {
    use std::sync::atomic::AtomicU32;
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Relaxed)
}

/// A signal in the first moments of a run, before or while the pool starts,
/// is handled like a later one: status 143 and a valid (perhaps empty)
/// log with every worker that started exiting. A signal can only find the
/// program unprepared before its `main` runs (the dynamic loader's moments):
/// then it dies with nothing written, which this accepts; anything in
/// between (a log cut short, a summary missing) fails. Which of the two a
/// delay gives depends on the machine's load, so either passes; once the
/// program runs, handling is certain ([`binary_sigterm`]).
pub fn binary_early_signal(bin: &str) {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;

    use nix::sys::signal::Signal;

    let (workers, jobs) = (3, 1_000);
    let args = ["-w", "3", "-j", "1000", "--work", "sleep:10ms", "--format", "jsonl"];
    for delay_us in [0, 0, 100, 300, 1_000, 2_000, 5_000, 10_000, 20_000, 200_000] {
        let mut child = spawn_piped(bin, &args);
        std::thread::sleep(Duration::from_micros(delay_us));
        send(&child, Signal::SIGTERM);
        let status = wait_bounded(bin, &mut child, INTERRUPT_BOUND);
        let (mut log, mut stderr) = (String::new(), String::new());
        child.stdout.take().unwrap().read_to_string(&mut log).unwrap();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        if status.signal() == Some(Signal::SIGTERM as i32) {
            assert!(
                log.is_empty() && stderr.is_empty(),
                "{bin}: killed by SIGTERM after {delay_us} us with output:\n{stderr}\n{log}"
            );
            continue;
        }
        assert_eq!(status.code(), Some(143), "{bin}: {status:?} after SIGTERM at {delay_us} us; stderr: {stderr}");
        let summary = judge(&log, &case(workers, jobs, "sleep:10ms"), Completeness::Partial);
        let (finished, failed, not_started) = summary.counts();
        let expected = format!("{finished} finished, {failed} failed, {not_started} never started (interrupted)");
        assert!(stderr.contains(&expected), "{bin}: stderr lacks {expected:?}: {stderr}");
    }
}

/// Ctrl-C with millions of jobs queued (no `--queue`): the process exits
/// promptly, not after working through the backlog, and the counts add up:
/// every job finished or never started.
pub fn binary_sigint_with_a_backlog(bin: &str) {
    use std::io::{BufReader, Read};

    let (workers, jobs) = (2, 4_000_000);
    let args = ["-w", "2", "-j", "4000000", "--work", "sleep:50ms", "--format", "jsonl"];
    let mut child = spawn_piped(bin, &args);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut log = String::new();
    read_lines(bin, &mut stdout, &mut log, 2);
    // Let the producer run ahead: the backlog is what is tested.
    std::thread::sleep(Duration::from_millis(500));
    send(&child, nix::sys::signal::Signal::SIGINT);
    let status = wait_bounded(bin, &mut child, INTERRUPT_BOUND);
    stdout.read_to_string(&mut log).unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{bin}: {status:?}; stderr: {stderr}");
    let summary = judge(&log, &case(workers, jobs, "sleep:50ms"), Completeness::Partial);
    let (finished, failed, not_started) = summary.counts();
    assert_eq!(finished + failed + not_started, jobs);
    let expected = format!("{finished} finished, 0 failed, {not_started} never started (interrupted)");
    assert!(stderr.contains(&expected), "{bin}: stderr lacks {expected:?}: {stderr}");
}

/// What the binary says of itself (`--describe`).
pub fn description(bin: &str) -> crate::Description {
    let (out, _) = run_binary(bin, &["--describe"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{bin} --describe: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.lines().count(), 1, "{bin} --describe: one line: {stdout}");
    crate::Description::parse(&stdout).unwrap_or_else(|e| panic!("{bin} --describe: {e}"))
}

/// `--describe` is one JSON line on stdout and runs nothing; each flavor it
/// names runs, every other is refused with status 2; a description that
/// cannot be written is status 3.
pub fn binary_describes_itself(bin: &str) {
    use std::process::Stdio;
    let d = description(bin);
    assert!(d.max_workers >= 1, "{bin}: {d:?}");
    for flavor in Flavor::ALL {
        let (out, _) = run_binary(bin, &["-j", "2", "--work", "noop", "--quiet", "--flavor", flavor.name()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expected = if d.runs(flavor) { 0 } else { 2 };
        assert_eq!(out.status.code(), Some(expected), "{bin} --flavor {flavor} ({:?}): {stderr}", d.flavors);
        if expected == 2 {
            assert!(stderr.lines().count() == 1 && stderr.contains("--flavor"), "{bin}: {stderr}");
        }
    }
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("open /dev/full");
    let status = status_within(Command::new(bin).arg("--describe").stdout(full).stderr(Stdio::null()));
    assert_eq!(status.code(), Some(3), "{bin} --describe >/dev/full");
}

/// The backend's own limit on workers, as it describes itself; its `-w`
/// message names the same bound.
fn max_workers(bin: &str) -> u32 {
    let most = description(bin).max_workers;
    let (out, _) = run_binary(bin, &["-w", "-1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{bin} -w -1: {stderr}");
    assert!(stderr.contains(&format!("from 1 to {most} ")), "{bin}: -w -1 names another limit than {most}: {stderr}");
    most
}

/// How long starting and stopping the most workers a backend takes may
/// last: "did not hang", not a benchmark (a debug build, a busy machine).
pub const MOST_WORKERS_BOUND: Duration = Duration::from_secs(60);

/// The most workers the backend's message names is what it can do: a run
/// with that many starts and stops, and one Ctrl-C ends a run of them, both
/// within [`MOST_WORKERS_BOUND`]; one more is refused with status 2.
pub fn binary_most_workers(bin: &str) {
    use std::io::BufReader;

    let most = max_workers(bin);
    let w = most.to_string();
    let mut child = spawn_piped(bin, &["-w", &w, "-j", "0", "--work", "noop", "--quiet"]);
    let status = wait_bounded(bin, &mut child, MOST_WORKERS_BOUND);
    assert_eq!(status.code(), Some(0), "{bin} -w {most} -j 0: {status:?}");

    let args = ["-w", &w, "-j", "1000000", "--work", "sleep:10ms", "--format", "jsonl"];
    let mut child = spawn_piped(bin, &args);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    read_lines(bin, &mut stdout, &mut String::new(), 1);
    send(&child, nix::sys::signal::Signal::SIGINT);
    drop(stdout);
    let status = wait_bounded(bin, &mut child, MOST_WORKERS_BOUND);
    // 130, or 3 if the log's reader (dropped above) was gone first.
    assert!(matches!(status.code(), Some(130 | 3)), "{bin} -w {most}, one Ctrl-C: {status:?}");

    let over = (u64::from(most) + 1).to_string();
    let (out, _) = run_binary(bin, &["-w", &over, "-j", "0"]);
    assert_eq!(out.status.code(), Some(2), "{bin} -w {over}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Surrounding whitespace in a value is ignored by every flag alike.
pub fn binary_whitespace_in_values(bin: &str) {
    let args = ["-w", " 3", "-j", " 4 ", "--seed", " 5", "--work", " noop ", "--panic-on", " 2, 3", "--queue", " 2"];
    let (out, _) = run_binary(bin, &[&args[..], &["--quiet"]].concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{bin} {args:?}: {stderr}");
    assert!(stderr.contains("2 finished, 2 failed") && stderr.contains("failed jobs: 2,3"), "{bin}: {stderr}");
}

/// A `--queue` far beyond what the run needs allocates only what its jobs
/// need: the queue is cut to the number of jobs, so the largest allowed
/// queue over five jobs runs in the memory of a small one.
pub fn binary_queue_larger_than_the_run(bin: &str) {
    let args = ["-j", "5", "--work", "noop", "--quiet", "--queue", "1048576"];
    let (out, peak) = run_measuring_peak_rss(bin, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{bin} {args:?}: {:?}: {stderr}", out.status);
    assert!(peak < MEMORY_BOUND, "{bin} {args:?}: peak RSS {} MiB", peak >> 20);
}

/// 10,000 failed jobs make one short summary line: the first ids and how
/// many more, not every id.
pub fn binary_many_failures_one_short_line(bin: &str) {
    let ids: Vec<String> = (1..=10_000u64).map(|j| j.to_string()).collect();
    let ids = ids.join(",");
    let args = ["-j", "10000", "--work", "noop", "--quiet", "--panic-on", &ids];
    let (out, _) = run_binary(bin, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{bin}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{bin}: {stderr}");
    assert!(stderr.len() < 400, "{bin}: a {}-byte summary", stderr.len());
    assert!(stderr.contains("failed jobs: 1,2,3,4,5,6,7,8,9,10 and 9990 more"), "{bin}: {stderr}");
}

/// Opens `/dev/full`, where every write fails.
fn dev_full() -> std::fs::File {
    std::fs::OpenOptions::new().write(true).open("/dev/full").expect("open /dev/full")
}

/// An unwritable stderr (`2>/dev/full`) loses the messages, never the
/// status: 0, 1, 2, 3 and 143 come out as documented, with no panic (101).
pub fn binary_unwritable_stderr(bin: &str) {
    use std::process::Stdio;

    let cases: &[(&[&str], Option<i32>)] = &[
        (&["-j", "20", "--work", "noop", "--quiet"], Some(0)),
        (&["-j", "20", "--work", "noop", "--panic-on", "3"], Some(1)),
        (&["-w", "nine"], Some(2)),
        (&["-j", "20", "--work", "noop"], Some(3)),
    ];
    for &(args, code) in cases {
        // The log goes to /dev/full too in the status-3 case.
        let stdout = if code == Some(3) { Stdio::from(dev_full()) } else { Stdio::null() };
        let status = status_within(Command::new(bin).args(args).stdout(stdout).stderr(dev_full()));
        assert_eq!(status.code(), code, "{bin} {args:?} 2>/dev/full: {status:?}");
    }
    let mut child = Command::new(bin)
        .args(["-w", "2", "-j", "100", "--work", "sleep:20ms", "--quiet"])
        .stdout(Stdio::null())
        .stderr(dev_full())
        .spawn()
        .expect("runs");
    std::thread::sleep(Duration::from_millis(200));
    send(&child, nix::sys::signal::Signal::SIGTERM);
    let status = wait_bounded(bin, &mut child, INTERRUPT_BOUND);
    assert_eq!(status.code(), Some(143), "{bin}: SIGTERM with 2>/dev/full: {status:?}");
}

/// A closed standard output (`>&-`): the log cannot be written, so the run
/// is refused with status 3 and one line; with `--quiet` there is no log and
/// the run is fine. (`>/dev/null` is an ordinary place for a log.)
pub fn binary_stdout_closed_from_the_start(bin: &str) {
    let run = |redirect: &str, quiet: bool| {
        let script = format!("exec \"$0\" \"$@\" {redirect}");
        let mut args = vec!["-c", &script, bin, "-j", "20", "--work", "noop"];
        if quiet {
            args.push("--quiet");
        }
        run_binary("sh", &args).0
    };
    let out = run(">&-", false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{bin} >&-: {:?}: {stderr}", out.status);
    assert_eq!(stderr.lines().count(), 1, "{bin} >&-: {stderr}");
    assert!(stderr.contains("standard output is closed"), "{bin}: {stderr}");
    let out = run(">&-", true);
    assert_eq!(out.status.code(), Some(0), "{bin} --quiet >&-: {}", String::from_utf8_lossy(&out.stderr));
    // `/dev/null` opened read-write by the parent (Python's
    // `subprocess.DEVNULL`, daemon launchers) is open, not closed.
    for redirect in [">/dev/null", "1<>/dev/null"] {
        let out = run(redirect, false);
        assert_eq!(out.status.code(), Some(0), "{bin} {redirect}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// How long a run the OS refuses threads may take to end: "did not hang",
/// not a benchmark.
pub const REFUSED_THREAD_BOUND: Duration = Duration::from_secs(60);

/// Runs `bin` with `args` where the OS starts at most `tasks` threads for it
/// (`prlimit --nproc`, `ulimit -u`: a limit on a user's threads; so thread creation fails with
/// `EAGAIN` and nothing else does), waiting at most
/// [`REFUSED_THREAD_BOUND`]. Root ignores that limit, so the run is under a
/// user id of its own that runs nothing else (`setpriv`), from a copy of the
/// binary in a temporary folder that user can read. `None` where that cannot
/// be arranged (not root, no `setpriv` or `prlimit`): then the caller's test says so and
/// checks nothing.
pub fn run_with_thread_limit(bin: &str, tasks: u32, args: &[&str]) -> Option<Output> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::sync::atomic::AtomicU32;
    static RUN: AtomicU32 = AtomicU32::new(0);

    let root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
    let has = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .spawn()
            .is_ok_and(|mut child| wait_bounded(tool, &mut child, CHILD_BOUND).success())
    };
    if !root || !has("setpriv") || !has("prlimit") {
        return None;
    }
    // A user id nothing else on the machine runs as, so no other process
    // counts against the limit: one per test process and run.
    let run = RUN.fetch_add(1, Relaxed);
    let uid = 200_000 + (std::process::id() % 100_000) * 16 + run % 16;
    /// Removes the folder also when the run fails the test.
    struct Remove(std::path::PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let dir = std::env::temp_dir().join(format!("pool-thread-limit-{}-{run}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary folder");
    let _remove = Remove(dir.clone());
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let copy = dir.join("pool");
    std::fs::copy(bin, &copy).unwrap_or_else(|e| panic!("cannot copy {bin}: {e}"));
    let mut command = Command::new("setpriv");
    command.args(["--reuid", &uid.to_string(), "--regid", &uid.to_string(), "--clear-groups"]);
    command.args(["prlimit", &format!("--nproc={tasks}"), "--"]).arg(&copy).args(args).current_dir(&dir);
    Some(output_bounded(bin, &mut command, REFUSED_THREAD_BOUND))
}

/// Runs `command` to the end, reading its output as it comes, and fails if
/// it takes longer than `bound` (it hangs).
fn output_bounded(bin: &str, command: &mut Command, bound: Duration) -> Output {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    let read = |mut from: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            from.read_to_end(&mut bytes).expect("read the child's output");
            bytes
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let status = wait_bounded(bin, &mut child, bound);
    Output { status, stdout: stdout.join().unwrap(), stderr: stderr.join().unwrap() }
}

/// Runs `bin` with `args` under `sh -c 'ulimit LIMIT; exec …'` (say
/// `-v 300000`: an address space too small for the thread stacks asked
/// for, where root ignores `ulimit -u`), waiting at most
/// [`REFUSED_THREAD_BOUND`].
pub fn run_with_ulimit(bin: &str, limit: &str, args: &[&str]) -> Output {
    let script = format!("ulimit {limit} && exec \"$0\" \"$@\"");
    output_bounded(bin, Command::new("sh").args(["-c", &script, bin]).args(args), REFUSED_THREAD_BOUND)
}

/// A run the OS refused a thread (see [`run_with_thread_limit`]), of
/// `jobs` jobs logged as JSON lines: status 3 and one line saying a worker
/// could not start, no panic report; nothing done is lost: the log is whole
/// lines, and it is a valid partial log of the workers that started (every
/// job one of them started ended, every one of them exited).
pub fn assert_refused_thread(bin: &str, args: &[&str], jobs: u64, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{bin} {args:?}: {:?}: {stderr}", out.status);
    assert_eq!(stderr.lines().count(), 1, "{bin} {args:?}: {stderr}");
    assert!(stderr.starts_with("pool-"), "{bin} {args:?}: {stderr}");
    assert!(stderr.contains(": error: could not start a worker: "), "{bin} {args:?}: {stderr}");
    assert_no_panic_report(bin, args, &stderr);
    let log = String::from_utf8(out.stdout.clone()).expect("the log is UTF-8");
    let records = Format::Jsonl.parse(&log).unwrap_or_else(|e| panic!("{bin} {args:?}: log does not parse: {e}"));
    let started = records.iter().map(|r| r.worker.0).max().unwrap_or(0);
    if started > 0 {
        let run = case(started, jobs, "noop");
        check(&records, &run, Completeness::Partial).unwrap_or_else(|v| panic!("{bin} {args:?}: {v}\n{log}"));
    }
}

/// A backend whose `threads` flags (`-w 50`; pool-tokio: `--threads 50`)
/// ask for more threads than the OS starts (8 in all): the run is refused
/// as [`assert_refused_thread`] says, in both flavors. Skipped, saying so,
/// where the limit cannot be set.
pub fn binary_refused_thread(bin: &str, threads: &[&str]) {
    for flavor in ["textbook", "tuned"] {
        let args = [&["--flavor", flavor, "-j", "1000", "--work", "noop", "--format", "jsonl"], threads].concat();
        let Some(out) = run_with_thread_limit(bin, 8, &args) else {
            eprintln!("{bin}: not root, or no setpriv or prlimit: the thread limit cannot be set; not checked");
            return;
        };
        assert_refused_thread(bin, &args, 1000, &out);
    }
}

/// Runs `bin` with `args` and returns its output with its peak resident
/// memory in bytes: the kernel's high-water mark (`VmHWM` in
/// `/proc/PID/status`), read every few milliseconds while it runs. This
/// child's own figure: `getrusage(RUSAGE_CHILDREN)` would give the largest
/// of every child the test process ever ran, so one test's big run would
/// fail another's bound. A mark only grows, so the last reading misses at
/// most the final moments.
pub fn run_measuring_peak_rss(bin: &str, args: &[&str]) -> (Output, u64) {
    use std::io::Read;
    let mut child = spawn_piped(bin, args);
    let status_file = format!("/proc/{}/status", child.id());
    let read_peak = || -> Option<u64> {
        let status = std::fs::read_to_string(&status_file).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: u64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kb * 1024)
    };
    // Read the pipes on their own threads so a full pipe cannot stall it.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let mut peak = 0;
    let status = loop {
        // Read before checking for the end: a reaped child has no status file.
        if let Some(now) = read_peak() {
            peak = peak.max(now);
        }
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let output = Output { status, stdout: out.join().unwrap(), stderr: err.join().unwrap() };
    (output, peak)
}

/// The memory bound of the bounded-queue run: well under the issue's 50 MB
/// (a bounded run peaks near 5 MB, even in a debug build), and below what an
/// unbounded queue takes for three million jobs (about 55 MB on std).
pub const MEMORY_BOUND: u64 = 25 << 20;

/// The jobs of the bounded-memory run: three million (a few seconds in a
/// debug build); `WORKERPOOLS_SLOW=1` runs the issue's ten million.
pub fn bounded_memory_jobs() -> u64 {
    if std::env::var_os("WORKERPOOLS_SLOW").is_some() { 10_000_000 } else { 3_000_000 }
}

/// `-j N --work noop --quiet --queue 1024` runs in flat memory: the peak RSS
/// of the child (see [`run_measuring_peak_rss`]) stays under [`MEMORY_BOUND`],
/// and the results check out. N is [`bounded_memory_jobs`].
pub fn binary_bounded_memory(bin: &str) {
    binary_bounded_memory_of(bin, bounded_memory_jobs());
}

/// [`binary_bounded_memory`] with `jobs` jobs, for a backend whose every job
/// is a round trip to another process (pool-redis: tens of microseconds a
/// job, so three million would take minutes).
pub fn binary_bounded_memory_of(bin: &str, jobs: u64) {
    let jobs = jobs.to_string();
    let jobs = jobs.as_str();
    let args = ["-j", jobs, "--work", "noop", "--quiet", "--queue", "1024"];
    let (out, peak) = run_measuring_peak_rss(bin, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{bin} {args:?}: {:?}: {stderr}", out.status);
    assert!(stderr.contains(&format!("{jobs} finished, 0 failed")), "{bin}: {stderr}");
    assert!(stderr.contains("results check out"), "{bin}: {stderr}");
    assert!(peak > 0, "{bin}: no peak RSS read");
    assert!(peak < MEMORY_BOUND, "{bin} {args:?}: peak RSS {} MiB", peak >> 20);
}

/// Random workloads from proptest — workers, jobs, work, queue bound,
/// panicking jobs, seed — each judged by [`conform`]. 24 cases; more with
/// `PROPTEST_CASES=N`. A failure is shrunk to a small case.
pub fn proptest_workloads<B: Backend>()
where
    B::Options: 'static,
{
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let work = prop_oneof![
        Just("noop".to_owned()),
        (0..=30u32).prop_map(|us| format!("spin:{us}us")),
        (1..=50u32).prop_map(|us| format!("spin:0us..{us}us")),
        (1..=300u32).prop_map(|us| format!("sleep:0us..{us}us")),
        (1..=50u32).prop_map(|us| format!("spin:1us~{us}us")),
    ];
    let strategy = (1..=6u32, 0..=120u64, work, proptest::option::of(1..=6usize), any::<u64>())
        .prop_flat_map(|(workers, jobs, work, queue, seed)| {
            let ids =
                if jobs == 0 { Just(Vec::new()).boxed() } else { proptest::collection::vec(1..=jobs, 0..=4).boxed() };
            (Just((workers, jobs, work, queue, seed)), ids)
        })
        .prop_map(|((workers, jobs, work, queue, seed), mut ids)| {
            ids.sort_unstable();
            ids.dedup();
            let mut case = case(workers, jobs, &work).panics(ids);
            case.queue = queue.and_then(NonZeroUsize::new);
            case.seed = seed;
            case
        });

    let mut config = Config { failure_persistence: None, ..Config::default() };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 24;
    }
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |case| {
        conform::<B>(&case);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{}: {e}", B::NAME);
    }
}

/// Defines the conformance suite as `#[test]`s for a backend type. Add
/// `concurrent = false` for the sequential baseline, which runs one job at a
/// time by design. Attributes written last, after a comma each, go on every
/// test (pool-redis: `#[cfg_attr(no_redis_server, ignore = "…")]`).
#[macro_export]
macro_rules! conformance_tests {
    ($backend:ty $(, #[$attr:meta])*) => {
        $crate::conformance_tests!($backend, mod conformance, concurrent = true $(, #[$attr])*);
    };
    ($backend:ty, mod $name:ident $(, #[$attr:meta])*) => {
        $crate::conformance_tests!($backend, mod $name, concurrent = true $(, #[$attr])*);
    };
    ($backend:ty, concurrent = $concurrent:expr $(, #[$attr:meta])*) => {
        $crate::conformance_tests!($backend, mod conformance, concurrent = $concurrent $(, #[$attr])*);
    };
    ($backend:ty, mod $name:ident, concurrent = $concurrent:expr $(, #[$attr:meta])*) => {
        mod $name {
            use $crate::testing::{self, case};
            type B = $backend;

            /// A pool runs W jobs at once; the sequential baseline
            /// (`concurrent = false`) runs one at a time and must be caught.
            #[test]
            $(#[$attr])*
            fn runs_jobs_at_once() {
                if $concurrent {
                    testing::runs_jobs_at_once::<B>();
                } else {
                    assert_eq!(testing::jobs_in_flight::<B>(), 1);
                }
            }
            #[test]
            $(#[$attr])*
            fn literal_results() {
                testing::literal_results::<B>();
            }
            #[test]
            $(#[$attr])*
            fn literal_lines() {
                testing::literal_lines::<B>();
            }
            #[test]
            $(#[$attr])*
            fn a_stream_with_gaps() {
                testing::a_stream_with_gaps::<B>();
            }

            #[test]
            $(#[$attr])*
            fn seed() {
                testing::conform::<B>(&case(3, 5, "sleep:1s"));
            }
            #[test]
            $(#[$attr])*
            fn one_worker_is_byte_exact() {
                testing::one_worker_is_byte_exact::<B>(200);
            }
            #[test]
            $(#[$attr])*
            fn more_workers_than_jobs() {
                testing::conform::<B>(&case(8, 3, "sleep:1ms"));
            }
            #[test]
            $(#[$attr])*
            fn zero_jobs_every_worker_still_exits() {
                testing::conform::<B>(&case(4, 0, "noop"));
            }
            #[test]
            $(#[$attr])*
            fn many_noop_jobs() {
                testing::conform::<B>(&case(4, 100_000, "noop"));
            }
            #[test]
            $(#[$attr])*
            fn bounded_queue_of_one() {
                testing::conform::<B>(&case(3, 500, "spin:0us..20us").queue(1));
            }
            #[test]
            $(#[$attr])*
            fn many_workers() {
                testing::conform::<B>(&case(64, 2_000, "sleep:0us..200us").queue(16));
            }
            #[test]
            $(#[$attr])*
            fn random_workloads() {
                testing::random_workloads::<B>(0xC0FFEE, 12);
            }
            #[test]
            $(#[$attr])*
            fn one_panicking_job_among_many() {
                testing::conform::<B>(&case(3, 1_000, "noop").panics([4, 11, 999]));
            }
            #[test]
            $(#[$attr])*
            fn every_job_panics() {
                testing::conform::<B>(&case(3, 50, "spin:0us..10us").panics(1..=50));
            }
            #[test]
            $(#[$attr])*
            fn panics_at_once_on_every_worker() {
                testing::conform::<B>(&case(4, 8, "sleep:20ms").panics(1..=4));
            }
            #[test]
            $(#[$attr])*
            fn cancel_stops_new_jobs() {
                testing::cancel_stops_new_jobs::<B>();
            }
            #[test]
            $(#[$attr])*
            fn cancel_leaves_the_backlog() {
                testing::cancel_leaves_the_backlog::<B>();
            }
            #[test]
            $(#[$attr])*
            fn caller_panic_drains_and_joins() {
                testing::caller_panic_drains_and_joins::<B>();
            }
            #[test]
            $(#[$attr])*
            fn slow_consumer_with_small_queue() {
                testing::slow_consumer_with_small_queue::<B>();
            }
            #[test]
            $(#[$attr])*
            fn bad_sizes_are_refused() {
                testing::bad_sizes_are_refused::<B>();
            }
            #[test]
            $(#[$attr])*
            fn proptest_workloads() {
                testing::proptest_workloads::<B>();
            }
        }
    };
}

/// Defines the integration tests of a backend binary, given its path
/// (`env!("CARGO_BIN_EXE_pool-…")`). Add `concurrent = false` for the
/// sequential baseline, whose seed run takes 5 s by design; `mod NAME,
/// flavor = "tuned"` runs the same tests on a flavor (see [`flavored`]) in
/// module `NAME`; `bounded_memory_jobs = N` sizes the bounded-memory run for
/// a backend whose jobs cost microseconds each (pool-redis). Attributes
/// written last go on every test, as in [`conformance_tests!`].
#[macro_export]
macro_rules! binary_tests {
    (@tests [$(#[$attr:meta])*] $name:ident, $bin:expr, $concurrent:expr, $memory_jobs:expr) => {
        mod $name {
            use $crate::testing;

            #[test]
            $(#[$attr])*
            fn runs_the_seed() {
                testing::binary_runs_the_seed($bin, $concurrent);
            }
            #[test]
            $(#[$attr])*
            fn writes_json_lines() {
                testing::binary_writes_json_lines($bin);
            }
            #[test]
            $(#[$attr])*
            fn one_worker_is_byte_exact() {
                testing::binary_one_worker_is_byte_exact($bin);
            }
            #[test]
            $(#[$attr])*
            fn timeout_is_one_stop() {
                testing::binary_timeout_is_one_stop($bin);
            }
            #[test]
            $(#[$attr])*
            fn file_size_limit() {
                testing::binary_file_size_limit($bin);
            }
            #[test]
            $(#[$attr])*
            fn huge_run_stops_fast_in_bounded_memory() {
                testing::binary_huge_run_stops_fast_in_bounded_memory($bin);
            }
            #[test]
            $(#[$attr])*
            fn describes_itself() {
                testing::binary_describes_itself($bin);
            }
            #[test]
            $(#[$attr])*
            fn quiet_prints_a_summary() {
                testing::binary_quiet_prints_a_summary($bin);
            }
            #[test]
            $(#[$attr])*
            fn panic_on() {
                testing::binary_panic_on($bin);
            }
            #[test]
            $(#[$attr])*
            fn every_job_panics() {
                testing::binary_every_job_panics($bin);
            }
            #[test]
            $(#[$attr])*
            fn failures_in_quick_blocks() {
                testing::binary_failures_in_quick_blocks($bin);
            }
            #[test]
            $(#[$attr])*
            fn rejects_bad_input() {
                testing::binary_rejects_bad_input($bin);
            }
            #[test]
            $(#[$attr])*
            fn closed_stdout() {
                testing::binary_closed_stdout($bin);
            }
            #[test]
            $(#[$attr])*
            fn sigint() {
                testing::binary_sigint($bin);
            }
            #[test]
            $(#[$attr])*
            fn sigterm() {
                testing::binary_sigterm($bin);
            }
            #[test]
            $(#[$attr])*
            fn sighup() {
                testing::binary_sighup($bin);
            }
            #[test]
            $(#[$attr])*
            fn second_signal_quits_at_once() {
                testing::binary_second_signal_quits_at_once($bin);
            }
            #[test]
            $(#[$attr])*
            fn early_signal() {
                testing::binary_early_signal($bin);
            }
            #[test]
            $(#[$attr])*
            fn sigint_with_a_backlog() {
                testing::binary_sigint_with_a_backlog($bin);
            }
            #[test]
            $(#[$attr])*
            fn most_workers() {
                testing::binary_most_workers($bin);
            }
            #[test]
            $(#[$attr])*
            fn whitespace_in_values() {
                testing::binary_whitespace_in_values($bin);
            }
            #[test]
            $(#[$attr])*
            fn queue_larger_than_the_run() {
                testing::binary_queue_larger_than_the_run($bin);
            }
            #[test]
            $(#[$attr])*
            fn many_failures_one_short_line() {
                testing::binary_many_failures_one_short_line($bin);
            }
            #[test]
            $(#[$attr])*
            fn unwritable_stderr() {
                testing::binary_unwritable_stderr($bin);
            }
            #[test]
            $(#[$attr])*
            fn stdout_closed_from_the_start() {
                testing::binary_stdout_closed_from_the_start($bin);
            }
            #[test]
            $(#[$attr])*
            fn bounded_memory() {
                testing::binary_bounded_memory_of($bin, $memory_jobs);
            }
        }
    };
    ($bin:expr $(, #[$attr:meta])*) => {
        $crate::binary_tests!($bin, concurrent = true $(, #[$attr])*);
    };
    ($bin:expr, concurrent = $concurrent:expr $(, #[$attr:meta])*) => {
        $crate::binary_tests!(@tests [$(#[$attr])*] binary, $bin, $concurrent, $crate::testing::bounded_memory_jobs());
    };
    ($bin:expr, bounded_memory_jobs = $jobs:expr $(, #[$attr:meta])*) => {
        $crate::binary_tests!(@tests [$(#[$attr])*] binary, $bin, true, $jobs);
    };
    ($bin:expr, mod $name:ident, flavor = $flavor:expr $(, #[$attr:meta])*) => {
        $crate::binary_tests!(
            @tests [$(#[$attr])*] $name,
            $crate::testing::flavored($bin, $flavor),
            true,
            $crate::testing::bounded_memory_jobs()
        );
    };
}

#[cfg(test)]
mod bounded_waits {
    use super::*;

    /// A child that outlives its bound is killed, and the test fails naming
    /// the command.
    #[test]
    fn a_child_past_its_bound_is_killed_and_named() {
        let mut child = Command::new("sleep").arg("30").spawn().expect("sleep runs");
        let pid = child.id();
        let err = panic::catch_unwind(AssertUnwindSafe(|| {
            wait_bounded("sleep 30", &mut child, Duration::from_millis(100));
        }))
        .expect_err("the wait is bounded");
        let message = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("sleep 30") && message.contains("it hangs"), "{message}");
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "the child was killed and reaped");
        assert_eq!(shown(Command::new("sleep").arg("30")), "sleep 30");
    }
}
