//! Panics at the job boundary: a job's panic is caught and becomes its
//! `failed` outcome ([`catch_job`]), and the panic hook stays silent for it
//! ([`silence_job_panics`]); [`report_panic`] hands a library's panic to its
//! caller as it begins.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Set while a job's code runs on this thread, so that the panic hook
    /// stays silent for panics the pool catches and reports itself.
    static IN_JOB: Cell<bool> = const { Cell::new(false) };
    /// Set while [`report_panic`] runs its function on this thread: who is
    /// told of a panic there, in place of the default hook.
    static REPORT: RefCell<Option<PanicReport>> = const { RefCell::new(None) };
}

/// What [`report_panic`] does with a panic's message.
type PanicReport = Box<dyn FnOnce(String)>;

/// Keeps the default panic hook from printing a message and backtrace for a
/// panic inside a job: the pool reports it once, as a `failed` event. A
/// panic inside [`report_panic`] goes to its report instead. Panics anywhere
/// else still reach the previous hook.
pub fn silence_job_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if IN_JOB.with(Cell::get) {
                return;
            }
            match REPORT.with(|report| report.borrow_mut().take()) {
                Some(report) => report(panic_message(info.payload())),
                None => previous(info),
            }
        }));
    });
}

/// Runs `f` on this thread; if it panics, `report` is given the panic's
/// message as the panic begins, and nothing is printed. The panic then goes
/// on as usual.
///
/// For a library that panics where it could have returned an error: tokio's
/// runtime builder panics when the OS refuses one of its threads, and then,
/// unwinding, waits for ever for the threads it did start (it cannot shut
/// down a runtime it has not finished building). Run such a call on a helper
/// thread under `report_panic`, and the caller hears of the failure even if
/// that thread never returns.
pub fn report_panic<T>(report: impl FnOnce(String) + 'static, f: impl FnOnce() -> T) -> T {
    /// Clears the report when `f` returns or unwinds, so a later panic on
    /// this thread is printed as usual.
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            REPORT.with(|report| report.borrow_mut().take());
        }
    }
    silence_job_panics();
    REPORT.with(|slot| *slot.borrow_mut() = Some(Box::new(report)));
    let _clear = Clear;
    f()
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "job panicked with a non-string payload".to_owned()
    }
}

/// Runs a job's code `f` inside the panic boundary: its value, or the
/// panic's message (printed by no hook: the pool reports it).
#[inline]
pub(crate) fn catch_job<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    IN_JOB.set(true);
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    IN_JOB.set(false);
    result.map_err(|payload| panic_message(&*payload))
}
