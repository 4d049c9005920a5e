//! The macros a backend's tests call once each: `conformance_tests!`
//! (the in-process suite) and `binary_tests!` (the process tests).

/// Defines the conformance suite as `#[test]`s for a backend type. Add
/// `concurrent = false` for the sequential baseline, which runs one job at a
/// time by design. Attributes written last, after a comma each, go on every
/// test (pool-redis: `#[cfg_attr(no_redis_server, ignore = "…")]`).
#[macro_export]
macro_rules! conformance_tests {
    ($backend:ty $(, #[$attr:meta])*) => {
        $crate::conformance_tests!($backend, mod conformance, concurrent = true $(, #[$attr])*);
    };
    ($backend:ty, mod $name:ident $(, #[$attr:meta])*) => {
        $crate::conformance_tests!($backend, mod $name, concurrent = true $(, #[$attr])*);
    };
    ($backend:ty, concurrent = $concurrent:expr $(, #[$attr:meta])*) => {
        $crate::conformance_tests!($backend, mod conformance, concurrent = $concurrent $(, #[$attr])*);
    };
    ($backend:ty, mod $name:ident, concurrent = $concurrent:expr $(, #[$attr:meta])*) => {
        mod $name {
            use $crate::{self as testing, case};
            type B = $backend;

            /// A pool runs W jobs at once; the sequential baseline
            /// (`concurrent = false`) runs one at a time and must be caught.
            #[test]
            $(#[$attr])*
            fn runs_jobs_at_once() {
                if $concurrent {
                    testing::runs_jobs_at_once::<B>();
                } else {
                    assert_eq!(testing::jobs_in_flight::<B>(), 1);
                }
            }
            #[test]
            $(#[$attr])*
            fn literal_results() {
                testing::literal_results::<B>();
            }
            #[test]
            $(#[$attr])*
            fn literal_lines() {
                testing::literal_lines::<B>();
            }
            #[test]
            $(#[$attr])*
            fn a_stream_with_gaps() {
                testing::a_stream_with_gaps::<B>();
            }

            #[test]
            $(#[$attr])*
            fn seed() {
                testing::conform::<B>(&case(3, 5, "sleep:1s"));
            }
            #[test]
            $(#[$attr])*
            fn one_worker_is_byte_exact() {
                testing::one_worker_is_byte_exact::<B>(200);
            }
            #[test]
            $(#[$attr])*
            fn more_workers_than_jobs() {
                testing::conform::<B>(&case(8, 3, "sleep:1ms"));
            }
            #[test]
            $(#[$attr])*
            fn zero_jobs_every_worker_still_exits() {
                testing::conform::<B>(&case(4, 0, "noop"));
            }
            #[test]
            $(#[$attr])*
            fn many_noop_jobs() {
                testing::conform::<B>(&case(4, 100_000, "noop"));
            }
            #[test]
            $(#[$attr])*
            fn bounded_queue_of_one() {
                testing::conform::<B>(&case(3, 500, "spin:0us..20us").queue(1));
            }
            #[test]
            $(#[$attr])*
            fn many_workers() {
                testing::conform::<B>(&case(64, 2_000, "sleep:0us..200us").queue(16));
            }
            #[test]
            $(#[$attr])*
            fn random_workloads() {
                testing::random_workloads::<B>(0xC0FFEE, 12);
            }
            #[test]
            $(#[$attr])*
            fn one_panicking_job_among_many() {
                testing::conform::<B>(&case(3, 1_000, "noop").panics([4, 11, 999]));
            }
            #[test]
            $(#[$attr])*
            fn every_job_panics() {
                testing::conform::<B>(&case(3, 50, "spin:0us..10us").panics(1..=50));
            }
            #[test]
            $(#[$attr])*
            fn panics_at_once_on_every_worker() {
                testing::conform::<B>(&case(4, 8, "sleep:20ms").panics(1..=4));
            }
            #[test]
            $(#[$attr])*
            fn cancel_stops_new_jobs() {
                testing::cancel_stops_new_jobs::<B>();
            }
            #[test]
            $(#[$attr])*
            fn cancel_leaves_the_backlog() {
                testing::cancel_leaves_the_backlog::<B>();
            }
            #[test]
            $(#[$attr])*
            fn arrivals_are_kept() {
                testing::arrivals_are_kept::<B>();
            }
            #[test]
            $(#[$attr])*
            fn caller_panic_drains_and_joins() {
                testing::caller_panic_drains_and_joins::<B>();
            }
            #[test]
            $(#[$attr])*
            fn slow_consumer_with_small_queue() {
                testing::slow_consumer_with_small_queue::<B>();
            }
            #[test]
            $(#[$attr])*
            fn bad_sizes_are_refused() {
                testing::bad_sizes_are_refused::<B>();
            }
            #[test]
            $(#[$attr])*
            fn proptest_workloads() {
                testing::proptest_workloads::<B>();
            }
        }
    };
}

/// Defines the integration tests of a backend binary, given its path
/// (`env!("CARGO_BIN_EXE_pool-…")`). Add `concurrent = false` for the
/// sequential baseline, whose seed run takes 5 s by design; `mod NAME,
/// flavor = "tuned"` runs the same tests on a flavor (see [`flavored`](crate::flavored)) in
/// module `NAME`; `bounded_memory_jobs = N` sizes the bounded-memory run for
/// a backend whose jobs cost microseconds each (pool-redis). Attributes
/// written last go on every test, as in [`conformance_tests!`]. Tests that
/// need Unix (signals, `sh`, `/proc`, `/dev/full`) and the flavored module
/// are `cfg(unix)`.
#[macro_export]
macro_rules! binary_tests {
    (@tests [$(#[$attr:meta])*] $name:ident, $bin:expr, $concurrent:expr, $memory_jobs:expr) => {
        mod $name {
            use $crate as testing;

            #[test]
            $(#[$attr])*
            fn runs_the_seed() {
                testing::binary_runs_the_seed($bin, $concurrent);
            }
            #[test]
            $(#[$attr])*
            fn writes_json_lines() {
                testing::binary_writes_json_lines($bin);
            }
            #[test]
            $(#[$attr])*
            fn one_worker_is_byte_exact() {
                testing::binary_one_worker_is_byte_exact($bin);
            }
            #[cfg(unix)] // GNU `timeout` and its signals
            #[test]
            $(#[$attr])*
            fn timeout_is_one_stop() {
                testing::binary_timeout_is_one_stop($bin);
            }
            #[cfg(unix)] // `ulimit -f` under `sh`
            #[test]
            $(#[$attr])*
            fn file_size_limit() {
                testing::binary_file_size_limit($bin);
            }
            #[cfg(unix)] // reads /proc, sends SIGINT
            #[test]
            $(#[$attr])*
            fn huge_run_stops_fast_in_bounded_memory() {
                testing::binary_huge_run_stops_fast_in_bounded_memory($bin);
            }
            #[test]
            $(#[$attr])*
            fn describes_itself() {
                testing::binary_describes_itself($bin);
            }
            #[test]
            $(#[$attr])*
            fn quiet_prints_a_summary() {
                testing::binary_quiet_prints_a_summary($bin);
            }
            #[test]
            $(#[$attr])*
            fn panic_on() {
                testing::binary_panic_on($bin);
            }
            #[test]
            $(#[$attr])*
            fn every_job_panics() {
                testing::binary_every_job_panics($bin);
            }
            #[test]
            $(#[$attr])*
            fn failures_in_quick_blocks() {
                testing::binary_failures_in_quick_blocks($bin);
            }
            #[test]
            $(#[$attr])*
            fn rejects_bad_input() {
                testing::binary_rejects_bad_input($bin);
            }
            #[test]
            $(#[$attr])*
            fn closed_stdout() {
                testing::binary_closed_stdout($bin);
            }
            #[cfg(unix)] // sends a signal
            #[test]
            $(#[$attr])*
            fn sigint() {
                testing::binary_sigint($bin);
            }
            #[cfg(unix)] // sends a signal
            #[test]
            $(#[$attr])*
            fn sigterm() {
                testing::binary_sigterm($bin);
            }
            #[cfg(unix)] // sends a signal
            #[test]
            $(#[$attr])*
            fn sighup() {
                testing::binary_sighup($bin);
            }
            #[cfg(unix)] // sends signals
            #[test]
            $(#[$attr])*
            fn second_signal_quits_at_once() {
                testing::binary_second_signal_quits_at_once($bin);
            }
            #[cfg(unix)] // sends a signal
            #[test]
            $(#[$attr])*
            fn early_signal() {
                testing::binary_early_signal($bin);
            }
            #[cfg(unix)] // sends a signal
            #[test]
            $(#[$attr])*
            fn sigint_with_a_backlog() {
                testing::binary_sigint_with_a_backlog($bin);
            }
            #[cfg(unix)] // stops the run with SIGINT
            #[test]
            $(#[$attr])*
            fn most_workers() {
                testing::binary_most_workers($bin);
            }
            #[test]
            $(#[$attr])*
            fn whitespace_in_values() {
                testing::binary_whitespace_in_values($bin);
            }
            #[cfg(unix)] // peak memory from /proc
            #[test]
            $(#[$attr])*
            fn queue_larger_than_the_run() {
                testing::binary_queue_larger_than_the_run($bin);
            }
            #[test]
            $(#[$attr])*
            fn many_failures_one_short_line() {
                testing::binary_many_failures_one_short_line($bin);
            }
            #[cfg(unix)] // /dev/full
            #[test]
            $(#[$attr])*
            fn unwritable_stderr() {
                testing::binary_unwritable_stderr($bin);
            }
            #[cfg(unix)] // closes descriptor 1 under `sh`
            #[test]
            $(#[$attr])*
            fn stdout_closed_from_the_start() {
                testing::binary_stdout_closed_from_the_start($bin);
            }
            #[cfg(unix)] // peak memory from /proc
            #[test]
            $(#[$attr])*
            fn bounded_memory() {
                testing::binary_bounded_memory_of($bin, $memory_jobs);
            }
        }
    };
    ($bin:expr $(, #[$attr:meta])*) => {
        $crate::binary_tests!($bin, concurrent = true $(, #[$attr])*);
    };
    ($bin:expr, concurrent = $concurrent:expr $(, #[$attr:meta])*) => {
        $crate::binary_tests!(@tests [$(#[$attr])*] binary, $bin, $concurrent, $crate::bounded_memory_jobs());
    };
    ($bin:expr, bounded_memory_jobs = $jobs:expr $(, #[$attr:meta])*) => {
        $crate::binary_tests!(@tests [$(#[$attr])*] binary, $bin, true, $jobs);
    };
    ($bin:expr, mod $name:ident, flavor = $flavor:expr $(, #[$attr:meta])*) => {
        // The flavor is given by a `sh` script around the binary.
        #[cfg(unix)]
        $crate::binary_tests!(
            @tests [$(#[$attr])*] $name,
            $crate::flavored($bin, $flavor),
            true,
            $crate::bounded_memory_jobs()
        );
    };
}
