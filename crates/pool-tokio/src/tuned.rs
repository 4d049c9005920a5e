//! The tuned flavor on tokio: pool-core's tuned tasks
//! ([`pool_core::tuned::tasks`]) on the same multi-thread runtime as
//! textbook. What is tokio's here is how a task is spawned, where CPU work
//! runs (`--cpu-jobs`), and how it sleeps: on a timerfd registered with
//! tokio's reactor, armed for the earliest deadline (`timer.rs`), so a
//! sleep ends when it is due, not on the next millisecond tick of tokio's
//! timer wheel.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use pool_core::tuned::tasks::{self, Substrate};
use pool_core::{Crew, JobId, JobOutcome, Jobs, OutcomeSink, PoolError, Worker};

use crate::{CpuJobs, TokioOptions, finish_job, runtime};

mod timer;

use timer::{Sleep, Timers};

/// Tokio's part of the tuned tasks.
#[derive(Clone, Debug)]
struct TokioTasks {
    cpu: CpuJobs,
    timers: Arc<Timers>,
}

impl Substrate for TokioTasks {
    type Timer = Sleep;
    type Task = tokio::task::JoinHandle<()>;

    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, task: F) -> Self::Task {
        tokio::spawn(task)
    }

    fn timer(&self) -> Sleep {
        self.timers.timer()
    }

    fn sleep(timer: Pin<&mut Sleep>, duration: Duration) -> impl Future<Output = ()> + Send + '_ {
        let timer = timer.get_mut();
        timer.set(duration);
        timer
    }

    fn sleep_until(&self, at: std::time::Instant) -> impl Future<Output = ()> + 'static {
        let mut sleep = self.timers.timer();
        sleep.set(at.saturating_duration_since(std::time::Instant::now()));
        sleep
    }

    fn cpu_inline(&self) -> bool {
        self.cpu == CpuJobs::Inline
    }

    fn finish_elsewhere(
        &self,
        worker: Worker,
        job: JobId,
    ) -> impl Future<Output = Option<(Worker, JobOutcome)>> + Send {
        finish_job(worker, job, self.cpu)
    }
}

/// Runs `crew` on `jobs` in the tuned flavor (see the module docs).
pub(crate) fn run<I>(
    crew: Crew,
    options: &TokioOptions,
    jobs: Jobs<I>,
    on_result: impl OutcomeSink,
) -> Result<(), PoolError>
where
    I: Iterator<Item = JobId> + Send,
{
    let runtime = runtime(options, true)?;
    runtime.block_on(async {
        let timers = Arc::new(timer::start().map_err(PoolError::Spawn)?);
        tasks::run(crew, TokioTasks { cpu: options.cpu_jobs, timers }, jobs, on_result).await;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;

    use pool_core::{Completeness, Flavor, Format, JobId, Log, Pool};
    use pool_testkit::{case, judge};

    use crate::{CpuJobs, Tokio, TokioOptions};

    /// Both kinds of task, with 1,000 workers, whole and cancelled.
    #[test]
    fn both_tasks_conform_with_many_workers_and_a_cancel() {
        pool_testkit::many_tasks_conform_and_cancel::<Tokio>();
    }

    /// Every placement of CPU work gives a correct tuned run, panics included.
    #[test]
    fn every_cpu_placement_conforms() {
        for cpu_jobs in [CpuJobs::Inline, CpuJobs::BlockInPlace, CpuJobs::SpawnBlocking] {
            let case = case(5, 300, "spin:0us..50us").panics([7, 300]).flavor(Flavor::Tuned);
            let (log, sink) = Log::memory(Format::Jsonl);
            let options = TokioOptions { threads: NonZeroUsize::new(2), cpu_jobs };
            let pool = Pool::<Tokio>::new(pool_core::PoolConfig::for_run(&case, Some(log)), options).unwrap();
            let mut sum = 0;
            let report = pool.run((1..=300).map(JobId), |o| sum += o.result.unwrap_or(0)).unwrap();
            assert_eq!((report.finished, report.failed), (298, 2), "{cpu_jobs:?}");
            assert_eq!(sum, 300 * 301 - 14 - 600, "{cpu_jobs:?}");
            let log = String::from_utf8(sink.contents()).unwrap();
            let summary = judge(&log, &case, Completeness::Complete);
            assert_eq!(summary, case.expected(), "{cpu_jobs:?}");
        }
    }
}
