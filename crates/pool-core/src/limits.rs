//! Living within an address-space limit (`ulimit -v`, `prlimit --as`).
//!
//! glibc's malloc gives each thread that allocates an arena of its own, up
//! to eight per core, and each reserves 64 MiB of address space. Under a
//! limit, the worker threads' stacks could fit and then a thread's first
//! small allocation not: Rust aborts on a failed allocation ("memory
//! allocation of 41 bytes failed", SIGABRT) and glibc on a failed TLS
//! destructor registration, where a refused thread is status 3 and a line.
//! So under a finite limit the process keeps one arena: what the limit
//! leaves goes to stacks and data, and a limit too small for the stacks is
//! a refused thread. Without a limit nothing changes.

/// Keeps malloc to one arena if the address space is limited (see the
/// module docs). Call it before the process starts threads.
pub fn fit_address_space() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if address_space_limited() {
        one_arena();
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn address_space_limited() -> bool {
    use nix::sys::resource::{Resource, getrlimit};
    getrlimit(Resource::RLIMIT_AS).is_ok_and(|(soft, _)| soft != nix::sys::resource::RLIM_INFINITY)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn one_arena() {
    // SAFETY: `mallopt` only sets a tuning parameter of glibc's allocator;
    // M_ARENA_MAX may be set at any time (it caps arenas made from then
    // on), and this runs before the process starts threads. A failure
    // (0) leaves the default, which is no worse than before.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}
