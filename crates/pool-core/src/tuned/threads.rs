//! Scaffolding for tuned flavors whose workers are OS threads (std and
//! crossbeam): scoped threads that each [`serve`] a queue, and the caller's
//! loop over result batches.

use std::sync::Arc;

use super::{JobQueue, Limits, Results, Spares, serve};
use crate::threads::sync::{spawn_scoped, thread};
use crate::{Crew, OutcomeSink, PoolError};

/// Runs the crew with one OS thread per worker, in a scope, so every thread
/// is joined before this returns.
///
/// - `queue_for` is called on this thread once per worker, with the worker's
///   index (0-based), and gives the [`JobQueue`] that worker serves.
/// - `deliver` is the sending half of the result channel: cloned for each
///   worker, it hands a batch back (`false` when the receiver is gone); the
///   original is dropped once all are spawned.
/// - `results` is iterated on this thread, the outcomes of each batch passed
///   to `on_result`, until every sender is gone; the emptied buffers go back
///   to the workers for their next batches ([`Spares`]).
pub fn run_threads<Q, D, R>(
    crew: Crew,
    mut queue_for: impl FnMut(usize) -> Q,
    deliver: D,
    results: R,
    mut on_result: impl OutcomeSink,
) -> Result<(), PoolError>
where
    Q: JobQueue + Send,
    D: FnMut(Results) -> bool + Clone + Send,
    R: IntoIterator<Item = Results>,
{
    let limits = Limits::of(&crew);
    let spares = Arc::new(Spares::default());
    thread::scope(move |s| {
        for (index, worker) in crew.into_workers().enumerate() {
            let name = format!("worker-{}", worker.id());
            let (mut queue, deliver, spares) = (queue_for(index), deliver.clone(), Arc::clone(&spares));
            let body = move || serve(worker, &mut queue, &limits, spares, deliver);
            spawn_scoped(s, name, body).map_err(PoolError::Spawn)?;
        }
        drop(deliver);
        for batch in results {
            spares.consume(batch, &mut on_result);
        }
        Ok(())
    })
}
