//! Keeps signal handlers off the threads that talk to the broker.
//!
//! Every connection has a receive timeout (so a broker that stops answering
//! is noticed), and on Linux a socket read with a receive timeout fails with
//! `EINTR` when a signal handler runs on that thread, even under
//! `SA_RESTART` (signal(7)). The client cannot resume a reply it has half
//! read, and a command whose reply is lost may have run (a job taken and
//! never seen). So the threads this crate starts block the signals a
//! program catches (the driver's Ctrl-C handler, say), and the kernel
//! delivers them to a thread that waits on something else.

use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};

/// Blocks, on the calling thread, the signals a program may handle. Call it
/// first thing in every thread that uses a broker connection.
pub(crate) fn quiet_signals() {
    // Failing leaves the mask as it was: the thread may then see EINTR,
    // which ends the run with an error rather than a wrong result.
    let _ = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&caught()), None);
}

/// The calling thread's signal mask as it was before [`hold`]; dropping it
/// restores the mask, and a signal that came meanwhile is delivered then.
pub(crate) struct Held(Option<SigSet>);

/// Holds the signals back on the calling thread until the guard drops: for
/// a step a signal must not cut in two (starting the private broker: a
/// server started and its reaper not yet would outlive the process).
pub(crate) fn hold() -> Held {
    let mut old = SigSet::empty();
    Held(pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&caught()), Some(&mut old)).ok().map(|()| old))
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(old) = self.0.take() {
            let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
        }
    }
}

/// The signals a program may catch, or that end it.
fn caught() -> SigSet {
    let mut set = SigSet::empty();
    for signal in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGALRM,
        Signal::SIGWINCH,
        Signal::SIGCHLD,
    ] {
        set.add(signal);
    }
    set
}
