//! The multi-thread runtime both flavors run on, started so that an OS that
//! refuses a thread is an error, not a panic and a hang.
//!
//! tokio starts a runtime's worker threads in `Builder::build`, and when the
//! OS refuses one (a thread or memory limit) it panics rather than return the
//! error (tokio-rs/tokio#6167); unwinding, it then waits for ever for the
//! threads it did start, since only a built runtime can stop them. So the
//! runtime is built on a helper thread under [`pool_core::report_panic`]:
//! the panic's message reaches the caller as it begins, the caller returns
//! [`PoolError::Spawn`], and the helper is left behind, stuck with the
//! threads tokio started — idle, holding no job (no job is handed out before
//! the runtime is built), gone when the process exits.

use std::io;
use std::num::NonZeroUsize;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use pool_core::PoolError;
use tokio::runtime::{Builder, Runtime};

use crate::{CpuJobs, TokioOptions};

/// How long an idle blocking thread waits for work before it ends; tokio's
/// default is 10 s. With `--cpu-jobs block-in-place` or `spawn-blocking`,
/// tokio panics if the OS refuses a blocking thread while it has none, but
/// when it has one it queues the work for it. So one is started with the
/// runtime, where a refusal is reported like any other, and kept: blocking
/// threads stay for the whole run (there are at most `--threads` of them).
const BLOCKING_KEEP_ALIVE: Duration = Duration::from_secs(365 * 24 * 3600);

/// How tokio words the panic when the OS refuses it a thread.
const REFUSED: &str = "OS can't spawn worker thread: ";

/// The runtime for `options`: `--threads` worker threads (default: the
/// machine's cores), as many blocking threads (one started at once if CPU
/// work runs on them), timers on, and with `io` the reactor too (the tuned
/// flavor's timers are a file descriptor on it); or [`PoolError::Spawn`] if
/// the OS refuses a thread.
pub(crate) fn runtime(options: &TokioOptions, io: bool) -> Result<Runtime, PoolError> {
    let threads =
        options.threads.map_or_else(|| thread::available_parallelism().map_or(1, NonZeroUsize::get), NonZeroUsize::get);
    let mut builder = Builder::new_multi_thread();
    builder.enable_time().thread_name("tokio-worker").worker_threads(threads).max_blocking_threads(threads);
    builder.thread_keep_alive(BLOCKING_KEEP_ALIVE);
    if io {
        builder.enable_io();
    }
    let cpu_jobs = options.cpu_jobs;

    let (built_tx, built) = mpsc::sync_channel(1);
    let refused_tx = built_tx.clone();
    let report = move |message: String| {
        let _ = refused_tx.send(Err(refused(&message)));
    };
    let helper = thread::Builder::new()
        .name("tokio-start".into())
        .spawn(move || {
            let runtime = pool_core::report_panic(report, || {
                let runtime = builder.build()?;
                if cpu_jobs != CpuJobs::Inline {
                    // Started here, where a refusal is reported (see `BLOCKING_KEEP_ALIVE`).
                    drop(runtime.spawn_blocking(|| ()));
                }
                Ok(runtime)
            });
            let _ = built_tx.send(runtime);
        })
        .map_err(PoolError::Spawn)?;
    match built.recv() {
        Ok(Ok(runtime)) => {
            // Built: the helper has nothing left to do but return.
            let _ = helper.join();
            Ok(runtime)
        }
        // Refused: the helper may never return (see the module docs).
        Ok(Err(e)) => Err(PoolError::Spawn(e)),
        Err(mpsc::RecvError) => {
            Err(PoolError::Spawn(io::Error::other("the tokio runtime's builder ended without a word")))
        }
    }
}

/// The error a panic while building the runtime stands for: tokio's own
/// (`... (os error 11)`) when it is the refused thread, otherwise the
/// message itself.
fn refused(message: &str) -> io::Error {
    let os_error = message
        .strip_prefix(REFUSED)
        .and_then(|rest| rest.strip_suffix(')')?.rsplit_once("(os error ")?.1.parse().ok());
    match os_error {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::other(format!("the tokio runtime did not start: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// tokio's panic message gives back the OS's error; any other panic
    /// keeps its message.
    #[test]
    fn refused_reads_the_os_error() {
        let e = refused("OS can't spawn worker thread: Resource temporarily unavailable (os error 11)");
        assert_eq!(e.raw_os_error(), Some(11));
        let e = refused("something else");
        assert_eq!(e.to_string(), "the tokio runtime did not start: something else");
    }
}
