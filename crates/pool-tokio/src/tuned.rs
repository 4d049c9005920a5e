//! The tuned flavor on tokio: the same W tasks on the same runtime, but the
//! `async-channel` queue carries runs of consecutive job ids instead of
//! single ids. The producer sizes each run by the grain the workers last
//! measured ([`Grain`]: about 20 µs of work, one job when jobs are long), so
//! a no-op job costs a fraction of a channel hand-off and the seed's long
//! jobs still go one per task. Results go back in per-task batches over the
//! `tokio::sync::mpsc` channel, by the log's rule: before a long job, once a
//! batch holds 1 ms of work, and before the task waits for the next run.
//!
//! Trade-off: no stealing — what a task took it runs — which is why a run
//! is kept to a few microseconds of work; the queue holds at most one run
//! per task, so run sizes follow the grain as it changes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

use async_channel::{Receiver, TryRecvError, bounded};
use pool_core::tuned::{Batch, Grain, Limits, Results, Run, Source, Spares};
use pool_core::{Crew, JobId, JobOutcome, PoolError, Worker};

use crate::{CpuJobs, ResultTx, TokioOptions, finish_job, result_channel_of, runtime};

/// Runs `crew` on `jobs` in the tuned flavor (see the module docs).
pub(crate) fn run<I>(
    crew: Crew,
    options: &TokioOptions,
    jobs: I,
    mut on_result: impl FnMut(JobOutcome),
) -> Result<(), PoolError>
where
    I: Iterator<Item = JobId> + Send,
{
    let runtime = runtime(options)?;
    let limits = Limits::of(&crew);
    let (run_tx, run_rx) = bounded::<Run>(limits.workers);
    let (result_tx, mut result_rx) = result_channel_of::<Results>(limits.results.and_then(std::num::NonZeroUsize::new));
    let grain = Arc::new(AtomicUsize::new(1));
    let spares = Arc::new(Spares::default());
    runtime.block_on(async move {
        let tasks: Vec<_> = crew
            .into_workers()
            .map(|worker| {
                let batch = Batch::new(limits.batch, Arc::clone(&spares));
                let task = work(
                    worker,
                    run_rx.clone(),
                    result_tx.clone(),
                    Arc::clone(&grain),
                    limits,
                    batch,
                    options.cpu_jobs,
                );
                tokio::spawn(task)
            })
            .collect();
        drop((run_rx, result_tx));
        let produce = async move {
            let source = Source::new(jobs);
            while let Some(run) = source.claim(grain.load(Relaxed), &mut || {}) {
                if run_tx.send(run).await.is_err() {
                    break;
                }
            }
        };
        let consume = async {
            while let Some(batch) = result_rx.recv().await {
                spares.consume(batch, &mut on_result);
            }
        };
        tokio::join!(produce, consume);
        for task in tasks {
            if let Err(e) = task.await {
                // A task only dies outside a job (job panics are caught);
                // the pool then reports the worker as lost.
                debug_assert!(e.is_panic(), "{e}");
            }
        }
    });
    Ok(())
}

/// Hands the batch back unless it is empty; `false` once nobody listens.
async fn hand_back(batch: &mut Batch, results: &ResultTx<Results>) -> bool {
    batch.is_empty() || results.send(batch.take()).await
}

/// One worker task: take a run (writing out what it holds before it waits
/// for one), run its jobs into the batch, tell the producer the grain.
async fn work(
    mut worker: Worker,
    runs: Receiver<Run>,
    results: ResultTx<Results>,
    grain_hint: Arc<AtomicUsize>,
    limits: Limits,
    mut batch: Batch,
    cpu: CpuJobs,
) {
    let mut grain = Grain::new(limits.chunk);
    let mut open = true;
    while open {
        let run = match runs.try_recv() {
            Ok(run) => run,
            Err(TryRecvError::Closed) => break,
            Err(TryRecvError::Empty) => {
                worker.idle();
                open = hand_back(&mut batch, &results).await;
                match runs.recv().await {
                    Ok(run) if open => run,
                    _ => break,
                }
            }
        };
        let start = Instant::now();
        for job in run.ids() {
            let Some(sleep) = worker.start(job) else { continue };
            let work_ns = (sleep + worker.pending_cpu()).as_nanos() as u64;
            if open && batch.hand_back_before(work_ns) {
                open = hand_back(&mut batch, &results).await;
            }
            if !sleep.is_zero() {
                tokio::time::sleep(sleep).await;
            }
            // A lost blocking task means a lost worker; the pool says so.
            let Some((back, outcome)) = finish_job(worker, job, cpu).await else { return };
            worker = back;
            if batch.push(outcome, work_ns) && open {
                open = hand_back(&mut batch, &results).await;
            }
        }
        grain.observe(run.len as usize, start.elapsed());
        grain_hint.store(grain.size(), Relaxed);
    }
    if open {
        hand_back(&mut batch, &results).await;
    }
    worker.exit();
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;

    use pool_core::testing::{case, judge};
    use pool_core::{Completeness, Flavor, Format, JobId, Log, Pool};

    use crate::{CpuJobs, Tokio, TokioOptions};

    /// Every placement of CPU work gives a correct tuned run, panics included.
    #[test]
    fn every_cpu_placement_conforms() {
        for cpu_jobs in [CpuJobs::Inline, CpuJobs::BlockInPlace, CpuJobs::SpawnBlocking] {
            let case = case(5, 300, "spin:0us..50us").panics([7, 300]).flavor(Flavor::Tuned);
            let (log, sink) = Log::memory(Format::Jsonl);
            let options = TokioOptions { threads: NonZeroUsize::new(2), cpu_jobs };
            let pool = Pool::<Tokio>::new(case.config(Some(log)), options).unwrap();
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
