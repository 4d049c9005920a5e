//! How the command-line driver meets a stop request on Windows: the
//! console's control events (Ctrl-C, Ctrl-Break, the console window
//! closed), Windows' counterpart of SIGINT, SIGTERM and SIGHUP. The first
//! stops a run as a signal does on Unix: no new job starts, running jobs
//! end, every worker exits, the summary is printed, and the status is 130
//! (as for Ctrl-C on Unix). A second quits at once, also with 130.
//!
//! The events are taken by the `ctrlc` crate's handler, which runs on a
//! thread of its own (not in the console's handler), so nothing here is
//! `unsafe`. `ctrlc` does not say which event came, so all share one
//! status. A closed console window gives the process a few seconds after
//! the handler returns, after which Windows ends it.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use crate::say::say;

/// What stops a run on Windows: a console control event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Ctrl-C, Ctrl-Break or the console closing (`ctrlc` does not tell
    /// them apart).
    ConsoleCtrl,
}

/// The exit status after a console control event stopped a run: 130, the
/// status of Ctrl-C on Unix.
pub fn exit_status(_: Signal) -> u8 {
    130
}

/// Nothing to hold back on Windows: the events are not queued as blocked
/// signals are, so one before [`Signals::watch`] ends the process as
/// Windows' default does. Kept so callers need no `cfg`.
pub fn block_stop_signals() {}

/// The watcher of console control events for one process (see the module
/// docs).
#[derive(Debug)]
pub struct Signals {
    cancel: Arc<AtomicBool>,
}

impl Signals {
    /// Sets the handler of console control events. `bin` names the program
    /// in its messages.
    pub fn watch(bin: &str) -> io::Result<Self> {
        let cancel = Arc::new(AtomicBool::new(false));
        let (stop, bin) = (Arc::clone(&cancel), bin.to_owned());
        ctrlc::try_set_handler(move || {
            if stop.swap(true, SeqCst) {
                say(&format!("{bin}: interrupted again, quitting at once"));
                std::process::exit(i32::from(exit_status(Signal::ConsoleCtrl)));
            }
            say(&format!("{bin}: interrupted: letting running jobs end (Ctrl-C again to quit at once)"));
        })
        .map_err(|e| match e {
            ctrlc::Error::System(e) => e,
            other => io::Error::other(other),
        })?;
        Ok(Signals { cancel })
    }

    /// The flag the first event sets: hand it to the pool as its cancel flag.
    pub fn cancel(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancel)
    }

    /// The event that stopped the run, if one did.
    pub fn received(&self) -> Option<Signal> {
        self.cancel.load(SeqCst).then_some(Signal::ConsoleCtrl)
    }
}
