//! The in-process conformance suite: each check a function generic over
//! [`Backend`](pool_core::Backend), run under a watchdog and judged by the
//! trace checker (see `conformance_tests!`).

use super::*;

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
        let pool = Pool::<B>::new(PoolConfig::for_run(&case, log), B::Options::default())?;
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
pub(super) fn check_outcomes(case: &RunSpec, run: &Run) {
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
pub(super) fn outcomes_are_the_logs(backend: &str, case: &RunSpec, run: &Run) {
    use pool_core::Event;
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
    let config =
        PoolConfig::new(2, "noop".parse::<pool_core::WorkSpec>().map(|s| pool_core::Work::new(s, 0)).expect("noop"));
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
    let config = PoolConfig::for_run(&case, Some(log));
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
