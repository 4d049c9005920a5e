//! How the command-line driver meets the signals that stop a program:
//! SIGINT (Ctrl-C), SIGTERM (`kill`, `timeout`, systemd, container
//! runtimes) and SIGHUP (a closed terminal). Each stops a run the same way:
//! no new job starts, running jobs end, every worker exits, the summary is
//! printed, and the status is 128 + the signal's number (130, 143, 129). A
//! second signal quits at once with that signal's status.
//!
//! The three are blocked on the calling thread before anything else happens
//! and one thread takes them with `sigwait`. Every thread started later
//! inherits the mask, so there is no moment in which a signal finds no
//! handler: one that comes before the watcher runs waits, pending, until it
//! does. No handler runs in signal context (nothing here is `unsafe`).
//!
//! One stop request can arrive twice: GNU `timeout` sends SIGTERM to the
//! program and then to its process group, which the program is in. The same
//! signal again within [`DUPLICATE`] of the first is taken for that echo,
//! not for a second request.
//!
//! SIGXFSZ (a write past `ulimit -f`) is blocked too, and never taken: the
//! write then fails with `EFBIG`, which the log reports as any unwritable
//! log (status 3, one line), instead of the signal killing the process.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering::SeqCst};
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, Signal};

use crate::say::say;

/// The signals that stop a run.
pub const STOP_SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// How soon after a stop signal the same signal is taken for the same
/// request delivered twice (`timeout`'s echo through the process group),
/// not for a second one: far longer than the echo takes, far shorter than a
/// person pressing Ctrl-C again.
pub const DUPLICATE: Duration = Duration::from_millis(100);

/// The exit status after signal `signal` stopped a run: 128 + its number.
pub fn exit_status(signal: Signal) -> u8 {
    u8::try_from(128 + signal as i32).unwrap_or(u8::MAX)
}

/// Blocks [`STOP_SIGNALS`] (and SIGXFSZ) on the calling thread, and so on
/// every thread it starts: for a binary that does something before the
/// driver's [`Signals::watch`] (pool-redis starts its private broker), so a
/// signal meanwhile waits for the watcher. Failing changes nothing.
pub fn block_stop_signals() {
    let _ = stop_set(true).thread_block();
}

/// [`STOP_SIGNALS`], and SIGXFSZ if `and_file_size`.
fn stop_set(and_file_size: bool) -> SigSet {
    let mut set = STOP_SIGNALS.iter().fold(SigSet::empty(), |mut set, &s| {
        set.add(s);
        set
    });
    if and_file_size {
        set.add(Signal::SIGXFSZ);
    }
    set
}

/// The watcher of [`STOP_SIGNALS`] for one process (see the module docs).
#[derive(Debug)]
pub struct Signals {
    cancel: Arc<AtomicBool>,
    received: Arc<AtomicI32>,
}

impl Signals {
    /// Blocks the stop signals on this thread (and so on every thread it
    /// starts from now on) and starts the thread that takes them. `bin` names
    /// the program in its messages.
    pub fn watch(bin: &str) -> io::Result<Self> {
        let set = stop_set(false);
        stop_set(true).thread_block().map_err(io::Error::from)?;
        let cancel = Arc::new(AtomicBool::new(false));
        let received = Arc::new(AtomicI32::new(0));
        let (stop, got, bin) = (Arc::clone(&cancel), Arc::clone(&received), bin.to_owned());
        let watcher = move || {
            let mut first: Option<(Signal, Instant)> = None;
            loop {
                // `sigwait` fails only for an invalid set.
                let Ok(signal) = set.wait() else { return };
                if first.is_some_and(|(s, at)| s == signal && at.elapsed() < DUPLICATE) {
                    continue;
                }
                if stop.load(SeqCst) {
                    say(&format!("{bin}: {} again, quitting at once", name(signal)));
                    std::process::exit(i32::from(exit_status(signal)));
                }
                first = Some((signal, Instant::now()));
                got.store(signal as i32, SeqCst);
                stop.store(true, SeqCst);
                let again = if signal == Signal::SIGINT { "Ctrl-C again" } else { "send it again" };
                say(&format!("{bin}: {}: letting running jobs end ({again} to quit at once)", name(signal)));
            }
        };
        std::thread::Builder::new().name("signals".into()).stack_size(64 * 1024).spawn(watcher)?;
        Ok(Signals { cancel, received })
    }

    /// The flag the first signal sets: hand it to the pool as its cancel flag.
    pub fn cancel(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancel)
    }

    /// The signal that stopped the run, if one did.
    pub fn received(&self) -> Option<Signal> {
        Signal::try_from(self.received.load(SeqCst)).ok()
    }
}

/// How the messages call a signal.
fn name(signal: Signal) -> &'static str {
    match signal {
        Signal::SIGINT => "interrupted",
        Signal::SIGTERM => "terminated (SIGTERM)",
        Signal::SIGHUP => "hung up (SIGHUP)",
        other => other.as_str(),
    }
}
