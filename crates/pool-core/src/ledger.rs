//! The caller's own check of a run's results, independent of the log and of
//! the outcomes' say-so: the binary knows which job ids it handed out, so it
//! checks that each comes back exactly once, from a real worker, with the
//! closed-form result `2 * j` (or failed, exactly when `--panic-on` names
//! it), and that the results add up to the closed-form total `J (J + 1)`
//! less twice the ids that failed or never came back.
//!
//! Memory: one bit per job id between the lowest id not yet back and the
//! highest id back (a window that slides as outcomes arrive, so a run of
//! ten million jobs holds a few words), and nothing per job.
//!
//! Speed: outcomes usually come back in runs of consecutive ids (one
//! worker's batch, or every job of a sequential run). The ledger keeps the
//! current run as two numbers and checks each of its outcomes in a few
//! instructions; the run's bits are marked a word at a time when it ends, and
//! a duplicate is found then.

use std::collections::VecDeque;
use std::fmt;

use crate::{JobId, JobOutcome, OutcomeSink, RunSpec, WorkerId};

/// The first way a run's outcomes were wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BadOutcome {
    /// An outcome for an id that was never handed out.
    UnknownJob {
        /// The id.
        job: u64,
    },
    /// An outcome from a worker the pool does not have.
    UnknownWorker {
        /// The job.
        job: u64,
        /// The worker it named.
        worker: u32,
    },
    /// The same job came back a second time.
    Duplicate {
        /// The job.
        job: u64,
    },
    /// A job finished with a result other than `2 * j`.
    WrongResult {
        /// The job.
        job: u64,
        /// What came back.
        got: u64,
    },
    /// A job failed that nothing made fail.
    UnexpectedFailure {
        /// The job.
        job: u64,
        /// Its message.
        message: String,
    },
    /// A job made to panic came back finished.
    UnexpectedSuccess {
        /// The job.
        job: u64,
    },
    /// A job handed out never came back (in a run that was not cancelled).
    Missing {
        /// The lowest such job.
        job: u64,
        /// How many never came back.
        count: u64,
    },
    /// The results do not add up to the closed-form total.
    WrongTotal {
        /// Their sum.
        sum: u128,
        /// The closed-form total.
        expected: u128,
    },
}

impl fmt::Display for BadOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadOutcome::UnknownJob { job } => write!(f, "job {job} came back but was never handed out"),
            BadOutcome::UnknownWorker { job, worker } => {
                write!(f, "job {job} came back from worker {worker}, which the pool does not have")
            }
            BadOutcome::Duplicate { job } => write!(f, "job {job} came back twice"),
            BadOutcome::WrongResult { job, got } => {
                write!(f, "job {job} yielded {got}, not {}", u128::from(*job) * 2)
            }
            BadOutcome::UnexpectedFailure { job, message } => {
                write!(f, "job {job} failed ({message}) though --panic-on does not name it")
            }
            BadOutcome::UnexpectedSuccess { job } => write!(f, "job {job} finished though --panic-on makes it fail"),
            BadOutcome::Missing { job, count } => {
                write!(f, "job {job} never came back ({count} job{} missing)", if *count == 1 { "" } else { "s" })
            }
            BadOutcome::WrongTotal { sum, expected } => write!(f, "results add up to {sum}, not {expected}"),
        }
    }
}

impl std::error::Error for BadOutcome {}

/// What a run's outcomes add up to, once they checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    /// Jobs that came back finished.
    pub finished: u64,
    /// Jobs that came back failed, ascending.
    pub failed: Vec<u64>,
    /// Jobs that never came back (a cancelled run's unstarted jobs).
    pub missing: u64,
    /// The sum of the results.
    pub sum: u128,
}

/// The caller's ledger of one run: fed each outcome as it arrives, then
/// [`close`](Self::close)d. Pure: no I/O, no clock.
#[derive(Debug)]
pub struct Ledger {
    jobs: u64,
    workers: u32,
    panic_on: Vec<u64>,
    /// Every id below `base` came back (and is marked).
    base: u64,
    /// Bit `i` of word `k`: id `base + 64 k + i` came back.
    window: VecDeque<u64>,
    /// The current run: ids `run_first..run_next` came back, finished and
    /// right, and are not yet marked in the window.
    run_first: u64,
    run_next: u64,
    /// The highest id a run may reach: the last job, or 0 (no runs) when
    /// some jobs are made to fail and each outcome is checked on its own.
    run_limit: u64,
    finished: u64,
    failed: Vec<u64>,
    sum: u128,
    first_bad: Option<BadOutcome>,
}

/// The binary's result callback: every outcome goes through the ledger.
impl OutcomeSink for Ledger {
    #[inline]
    fn one(&mut self, outcome: JobOutcome) {
        self.record(&outcome);
    }

    #[inline]
    fn finished(&mut self, worker: WorkerId, first: JobId, results: &[u64]) {
        self.record_finished(worker, first, results);
    }
}

/// Twice the sum of the ids `lo..=hi` (zero when `lo > hi`).
fn twice_sum(lo: u64, hi: u64) -> u128 {
    if lo > hi {
        return 0;
    }
    let (lo, hi) = (u128::from(lo), u128::from(hi));
    (lo + hi) * (hi - lo + 1)
}

impl Ledger {
    /// A ledger for a run that hands out jobs `1..=run.jobs`.
    pub fn new(run: &RunSpec) -> Self {
        let mut panic_on = run.panic_on.clone();
        panic_on.sort_unstable();
        Ledger {
            jobs: run.jobs,
            workers: run.workers,
            run_limit: if panic_on.is_empty() { run.jobs } else { 0 },
            panic_on,
            base: 1,
            window: VecDeque::new(),
            run_first: 1,
            run_next: 1,
            finished: 0,
            failed: Vec::new(),
            sum: 0,
            first_bad: None,
        }
    }

    /// Records one outcome. The first thing wrong is kept; later outcomes
    /// are still counted.
    #[inline]
    pub fn record(&mut self, outcome: &JobOutcome) {
        // The common case, first: the id after the current run's last comes
        // back finished and right (and no job is made to fail). The run grows
        // by one; nothing is marked until it ends.
        let job = outcome.job.0;
        if job == self.run_next && job <= self.run_limit {
            if let Ok(r) = outcome.result {
                if r == job.wrapping_mul(2) && outcome.worker.0.wrapping_sub(1) < self.workers {
                    self.run_next += 1;
                    self.finished += 1;
                    self.sum += u128::from(r);
                    return;
                }
            }
        }
        self.record_apart(outcome);
    }

    /// Records jobs `first, first + 1, …`, finished by `worker` with
    /// `results` (see [`OutcomeSink::finished`]). The common case — ids
    /// handed out, from a real worker, each result `2 * j` — is one pass over
    /// `results` with no branch per job; the jobs then extend the current run,
    /// or end it and start the next (as another worker's batch does).
    /// Anything else is checked outcome by outcome.
    #[inline]
    pub fn record_finished(&mut self, worker: WorkerId, first: JobId, results: &[u64]) {
        let (first, n) = (first.0, results.len() as u64);
        let fits = n > 0
            && first != 0
            && first <= self.run_limit
            && n - 1 <= self.run_limit - first
            && worker.0.wrapping_sub(1) < self.workers;
        if fits {
            // Every `results[i] == 2 (first + i)`: no early exit, so the
            // loop vectorises; the run's results then add up in closed form.
            let wrong = results.iter().zip(first..).fold(0, |acc, (&r, j)| acc | (r ^ j.wrapping_mul(2)));
            if wrong == 0 {
                if first != self.run_next {
                    // Marked later, with the rest of the new run.
                    self.end_run();
                    self.run_first = first;
                }
                self.run_next = first + n;
                self.finished += n;
                self.sum += twice_sum(first, first + n - 1);
                return;
            }
        }
        for (job, &result) in (first..).zip(results) {
            self.record(&JobOutcome { worker, job: JobId(job), result: Ok(result) });
        }
    }

    /// An outcome that does not extend the current run: ends the run, then
    /// checks the outcome on its own and, if it is a plain finished job,
    /// starts a new run with it.
    #[cold]
    #[inline(never)]
    fn record_apart(&mut self, outcome: &JobOutcome) {
        self.end_run();
        let job = outcome.job.0;
        let plain = matches!(outcome.result, Ok(r) if r == job.wrapping_mul(2));
        if plain && job != 0 && job <= self.run_limit && outcome.worker.0.wrapping_sub(1) < self.workers {
            // Marked later, with the rest of its run.
            (self.run_first, self.run_next) = (job, job + 1);
            self.finished += 1;
            self.sum += u128::from(job) * 2;
            return;
        }
        if let Err(bad) = self.enter(outcome) {
            self.first_bad.get_or_insert(bad);
        }
        let next = job.saturating_add(1);
        (self.run_first, self.run_next) = (next, next);
    }

    /// Marks the current run's ids in the window, a word at a time, and
    /// starts an empty one. An id already marked (or below the base) came
    /// back twice.
    fn end_run(&mut self) {
        let (first, next) = (self.run_first, self.run_next);
        self.run_first = next;
        if first == next {
            return;
        }
        if first < self.base {
            self.first_bad.get_or_insert(BadOutcome::Duplicate { job: first });
            return;
        }
        if first == self.base && self.window.is_empty() {
            // Everything up to the run's end is back: nothing to mark.
            self.base = next;
            return;
        }
        let mut id = first;
        while id < next {
            let offset = id - self.base;
            let (word, bit) = ((offset / 64) as usize, offset % 64);
            let n = (64 - bit).min(next - id);
            let bits = (u64::MAX >> (64 - n)) << bit;
            if word >= self.window.len() {
                self.window.resize(word + 1, 0);
            }
            let twice = self.window[word] & bits;
            if twice != 0 {
                let job = self.base + 64 * word as u64 + u64::from(twice.trailing_zeros());
                self.first_bad.get_or_insert(BadOutcome::Duplicate { job });
            }
            self.window[word] |= bits;
            id += n;
        }
        self.slide();
    }

    /// Moves the base past the leading words whose ids all came back.
    fn slide(&mut self) {
        while self.window.front() == Some(&u64::MAX) {
            self.window.pop_front();
            self.base += 64;
        }
    }

    fn enter(&mut self, outcome: &JobOutcome) -> Result<(), BadOutcome> {
        let job = outcome.job.0;
        if job == 0 || job > self.jobs {
            return Err(BadOutcome::UnknownJob { job });
        }
        if outcome.worker.0 == 0 || outcome.worker.0 > self.workers {
            return Err(BadOutcome::UnknownWorker { job, worker: outcome.worker.0 });
        }
        if job < self.base {
            return Err(BadOutcome::Duplicate { job });
        }
        let offset = job - self.base;
        let (word, bit) = ((offset / 64) as usize, offset % 64);
        if word >= self.window.len() {
            self.window.resize(word + 1, 0);
        }
        if self.window[word] & (1 << bit) != 0 {
            return Err(BadOutcome::Duplicate { job });
        }
        self.window[word] |= 1 << bit;
        self.slide();
        let made_to_fail = self.panic_on.binary_search(&job).is_ok();
        match &outcome.result {
            Ok(_) if made_to_fail => Err(BadOutcome::UnexpectedSuccess { job }),
            Ok(r) => {
                self.finished += 1;
                self.sum += u128::from(*r);
                if u128::from(*r) != u128::from(job) * 2 {
                    return Err(BadOutcome::WrongResult { job, got: *r });
                }
                Ok(())
            }
            Err(message) if !made_to_fail => Err(BadOutcome::UnexpectedFailure { job, message: message.clone() }),
            Err(_) => {
                self.failed.push(job);
                Ok(())
            }
        }
    }

    /// The ids that never came back: how many, the lowest, and twice their
    /// sum.
    fn missing(&self) -> (u64, Option<u64>, u128) {
        let (mut count, mut lowest, mut twice) = (0, None, 0);
        for (k, &word) in self.window.iter().enumerate() {
            for bit in 0..64 {
                let id = self.base + 64 * k as u64 + bit;
                if id <= self.jobs && word & (1 << bit) == 0 {
                    count += 1;
                    lowest.get_or_insert(id);
                    twice += u128::from(id) * 2;
                }
            }
        }
        let above = self.base + 64 * self.window.len() as u64;
        if above <= self.jobs {
            count += self.jobs - above + 1;
            lowest.get_or_insert(above);
            twice += twice_sum(above, self.jobs);
        }
        (count, lowest, twice)
    }

    /// Ends the run: the tally, or the first thing wrong. A run that was not
    /// `cancelled` must have handed every job back; the results must add up
    /// to `J (J + 1)` less twice the ids that failed or never came back.
    pub fn close(mut self, cancelled: bool) -> Result<Tally, BadOutcome> {
        self.end_run();
        if let Some(bad) = self.first_bad.take() {
            return Err(bad);
        }
        let (missing, lowest, twice_missing) = self.missing();
        if let (false, Some(job)) = (cancelled, lowest) {
            return Err(BadOutcome::Missing { job, count: missing });
        }
        // A second, independent account: while the per-outcome checks and
        // the bitmap agree it always holds; it catches a fault in the
        // ledger's own bookkeeping (an id marked whose result was not
        // summed, a run marked twice), which no outcome can cause.
        let twice_failed: u128 = self.failed.iter().map(|&j| u128::from(j) * 2).sum();
        let expected = twice_sum(1, self.jobs) - twice_failed - twice_missing;
        if self.sum != expected {
            return Err(BadOutcome::WrongTotal { sum: self.sum, expected });
        }
        self.failed.sort_unstable();
        Ok(Tally { finished: self.finished, failed: self.failed, missing, sum: self.sum })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{JobId, WorkerId};

    fn run(jobs: u64) -> RunSpec {
        RunSpec::new(2, jobs, "noop".parse().unwrap())
    }

    fn ok(job: u64, result: u64) -> JobOutcome {
        JobOutcome { worker: WorkerId(1), job: JobId(job), result: Ok(result) }
    }

    fn feed(
        run: &RunSpec,
        outcomes: impl IntoIterator<Item = JobOutcome>,
        cancelled: bool,
    ) -> Result<Tally, BadOutcome> {
        let mut ledger = Ledger::new(run);
        for o in outcomes {
            ledger.record(&o);
        }
        ledger.close(cancelled)
    }

    #[test]
    fn a_correct_run_in_any_order_adds_up() {
        // Literal results: job j yields 2j.
        let outcomes = [ok(3, 6), ok(1, 2), ok(2, 4), ok(5, 10), ok(4, 8)];
        let tally = feed(&run(5), outcomes, false).unwrap();
        assert_eq!(tally, Tally { finished: 5, failed: vec![], missing: 0, sum: 30 });
    }

    #[test]
    fn many_jobs_slide_the_window() {
        let n = 100_000;
        let mut ledger = Ledger::new(&run(n));
        for j in (1..=n).rev().collect::<Vec<_>>().chunks(7).rev().flatten() {
            ledger.record(&ok(*j, j * 2));
        }
        assert!(ledger.window.len() <= 2, "window of {} words", ledger.window.len());
        assert_eq!(ledger.close(false).unwrap().sum, u128::from(n) * u128::from(n + 1));
    }

    #[test]
    fn a_duplicated_and_a_lost_outcome_are_caught() {
        // Job 2's outcome handed back in place of job 3's: the sum of the
        // results is off by 2, and the ids say which.
        let err = feed(&run(4), [ok(1, 2), ok(2, 4), ok(2, 4), ok(4, 8)], false).unwrap_err();
        assert_eq!(err, BadOutcome::Duplicate { job: 2 });
        assert_eq!(err.to_string(), "job 2 came back twice");
        // Below the window's base, too.
        let mut outcomes: Vec<_> = (1..=200).map(|j| ok(j, 2 * j)).collect();
        outcomes[150] = ok(1, 2);
        assert_eq!(feed(&run(200), outcomes, false).unwrap_err(), BadOutcome::Duplicate { job: 1 });
    }

    #[test]
    fn a_wrong_result_is_caught() {
        let err = feed(&run(3), [ok(1, 2), ok(2, 5), ok(3, 6)], false).unwrap_err();
        assert_eq!(err.to_string(), "job 2 yielded 5, not 4");
    }

    #[test]
    fn a_missing_outcome_is_caught_unless_cancelled() {
        let err = feed(&run(200), (1..=200).filter(|&j| j != 70 && j != 190).map(|j| ok(j, 2 * j)), false);
        assert_eq!(err.unwrap_err().to_string(), "job 70 never came back (2 jobs missing)");
        let err = feed(&run(200), (1..=100).map(|j| ok(j, 2 * j)), false).unwrap_err();
        assert_eq!(err, BadOutcome::Missing { job: 101, count: 100 });
        let tally = feed(&run(200), (1..=100).filter(|&j| j != 7).map(|j| ok(j, 2 * j)), true).unwrap();
        assert_eq!((tally.finished, tally.missing, tally.sum), (99, 101, 100 * 101 - 14));
    }

    #[test]
    fn failures_only_where_panics_were_asked_for() {
        let spec = run(4).panics([3]);
        let failed = |j: u64| JobOutcome { worker: WorkerId(2), job: JobId(j), result: Err(RunSpec::panic_message(j)) };
        let tally = feed(&spec, [ok(1, 2), failed(3), ok(2, 4), ok(4, 8)], false).unwrap();
        assert_eq!((tally.finished, tally.failed, tally.sum), (3, vec![3], 14));
        let err = feed(&spec, [ok(1, 2), failed(2), ok(3, 6), ok(4, 8)], false).unwrap_err();
        assert_eq!(err, BadOutcome::UnexpectedFailure { job: 2, message: "job 2 panicked (--panic-on)".into() });
        let err = feed(&spec, [ok(1, 2), ok(2, 4), ok(3, 6), ok(4, 8)], false).unwrap_err();
        assert_eq!(err, BadOutcome::UnexpectedSuccess { job: 3 });
    }

    #[test]
    fn a_duplicate_inside_a_run_is_caught_when_the_run_ends() {
        // Two workers' batches: 1..=100, then 50..=60 again (a run that
        // overlaps marked ids), then the rest.
        let outcomes = (1..=100).chain(50..=60).chain(101..=128).map(|j| ok(j, 2 * j));
        assert_eq!(feed(&run(128), outcomes, false).unwrap_err(), BadOutcome::Duplicate { job: 50 });
        // A run that starts in the window, after a gap.
        let outcomes = (1..=10).chain(70..=90).chain(11..=69).chain(85..=86).chain(91..=100).map(|j| ok(j, 2 * j));
        assert_eq!(feed(&run(100), outcomes, false).unwrap_err(), BadOutcome::Duplicate { job: 85 });
        // The last run, ended by close.
        let outcomes = (1..=10).chain(5..=6).map(|j| ok(j, 2 * j));
        assert_eq!(feed(&run(10), outcomes, false).unwrap_err(), BadOutcome::Duplicate { job: 5 });
    }

    /// Outcomes as batches of consecutive ids from several workers, shuffled
    /// together, some of them damaged: the ledger must agree with a plain
    /// count of every id (a `Vec` of counts, the obvious oracle).
    #[test]
    fn agrees_with_counting_every_id() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
        for case in 0..400 {
            let jobs = rng.random_range(1..3_000u64);
            let mut batches: Vec<Vec<u64>> = Vec::new();
            let mut next = 1;
            while next <= jobs {
                let len = rng.random_range(1..200).min(jobs - next + 1);
                batches.push((next..next + len).collect());
                next += len;
            }
            // Interleave the batches as workers would hand them back.
            let mut ids = Vec::new();
            while !batches.is_empty() {
                let i = rng.random_range(0..batches.len().min(3));
                ids.extend(batches.remove(i));
            }
            let damage = case % 4;
            let mut wrong = None;
            if damage == 1 {
                let i = rng.random_range(0..ids.len());
                ids.insert(rng.random_range(0..=ids.len()), ids[i]);
            } else if damage == 2 {
                ids.remove(rng.random_range(0..ids.len()));
            } else if damage == 3 {
                wrong = Some(ids[rng.random_range(0..ids.len())]);
            }
            let mut counts = vec![0u32; jobs as usize + 1];
            ids.iter().for_each(|&j| counts[j as usize] += 1);
            let outcomes: Vec<_> =
                ids.iter().map(|&j| ok(j, if Some(j) == wrong { 2 * j + 1 } else { 2 * j })).collect();
            let got = feed(&run(jobs), outcomes.iter().cloned(), false);
            // The same outcomes in runs of consecutive ids, as a tuned
            // batch hands them over, give the same verdict.
            let mut ledger = Ledger::new(&run(jobs));
            let mut rest = &outcomes[..];
            while !rest.is_empty() {
                let most = rng.random_range(1..300).min(rest.len());
                let len =
                    1 + rest[1..most].iter().zip(&rest[..most - 1]).take_while(|(b, a)| b.job.0 == a.job.0 + 1).count();
                let values: Vec<u64> = rest[..len].iter().map(|o| *o.result.as_ref().unwrap()).collect();
                ledger.record_finished(WorkerId(1), rest[0].job, &values);
                rest = &rest[len..];
            }
            assert_eq!(ledger.close(false), got, "case {case}: runs whole");
            match &got {
                Ok(tally) => {
                    assert!(counts[1..].iter().all(|&c| c == 1) && wrong.is_none(), "case {case}: passed {tally:?}");
                    assert_eq!(tally.sum, u128::from(jobs) * u128::from(jobs + 1));
                }
                Err(BadOutcome::Duplicate { job }) => assert!(counts[*job as usize] > 1, "case {case}: {job}"),
                Err(BadOutcome::Missing { job, .. }) => {
                    assert_eq!(Some(*job as usize), counts.iter().skip(1).position(|&c| c == 0).map(|i| i + 1))
                }
                Err(BadOutcome::WrongResult { job, .. }) => assert_eq!(Some(*job), wrong),
                Err(other) => panic!("case {case}: {other}"),
            }
            assert_eq!(got.is_ok(), damage == 0, "case {case}");
        }
    }

    #[test]
    fn a_run_from_a_stranger_or_past_the_last_job_is_caught() {
        let mut ledger = Ledger::new(&run(5));
        ledger.record_finished(WorkerId(3), JobId(1), &[2, 4]);
        assert_eq!(ledger.close(false).unwrap_err(), BadOutcome::UnknownWorker { job: 1, worker: 3 });
        let mut ledger = Ledger::new(&run(5));
        ledger.record_finished(WorkerId(1), JobId(4), &[8, 10, 12]);
        assert_eq!(ledger.close(false).unwrap_err(), BadOutcome::UnknownJob { job: 6 });
        let mut ledger = Ledger::new(&run(5));
        ledger.record_finished(WorkerId(2), JobId(1), &[2, 4, 6, 8, 10]);
        ledger.record_finished(WorkerId(2), JobId(5), &[]);
        assert_eq!(ledger.close(false).unwrap().sum, 30);
    }

    #[test]
    fn unknown_ids_and_workers_are_caught() {
        assert_eq!(feed(&run(2), [ok(3, 6)], false).unwrap_err(), BadOutcome::UnknownJob { job: 3 });
        assert_eq!(feed(&run(2), [ok(0, 0)], false).unwrap_err(), BadOutcome::UnknownJob { job: 0 });
        let stranger = JobOutcome { worker: WorkerId(3), job: JobId(1), result: Ok(2) };
        assert_eq!(feed(&run(2), [stranger], false).unwrap_err(), BadOutcome::UnknownWorker { job: 1, worker: 3 });
    }

    #[test]
    fn the_closed_form_total_is_literal() {
        assert_eq!(twice_sum(1, 5), 30);
        assert_eq!(twice_sum(1, 10_000), 100_010_000);
        assert_eq!(twice_sum(4, 3), 0);
        assert_eq!(twice_sum(1, 1 << 40), (1u128 << 40) * ((1u128 << 40) + 1));
    }

    /// The closed-form total checks the ledger's own bookkeeping: outcomes
    /// that each check out cannot break it, so it is tested on a ledger whose
    /// account was corrupted behind its back: the run's ids marked as back,
    /// one result's worth missing from the sum.
    #[test]
    fn the_closed_form_total_catches_a_bookkeeping_fault() {
        let mut ledger = Ledger::new(&run(10));
        for j in 1..=10 {
            ledger.record(&ok(j, 2 * j));
        }
        ledger.sum -= 14;
        assert_eq!(ledger.close(false), Err(BadOutcome::WrongTotal { sum: 110 - 14, expected: 110 }));
        let mut ledger = Ledger::new(&run(10));
        ledger.record_finished(WorkerId(1), JobId(1), &[2, 4, 6]);
        ledger.sum += 1;
        assert!(matches!(ledger.close(true), Err(BadOutcome::WrongTotal { .. })), "also in a cancelled run");
    }
}
