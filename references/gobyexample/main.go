// Go by Example's worker pool (https://gobyexample.com/worker-pools), the
// program the Rust seed came from, kept as a reference row for
// `cargo xtask compare`: W goroutines take job ids from a buffered channel
// and send j*2 back on another; main sends every id, closes the jobs
// channel and receives every result. Ported without the prints. Its jobs
// are `noop` (the hand-off alone) or, as in the original, a `time.Sleep`
// of a fixed duration (`--work sleep:10ms`): the goroutine runtime's timers
// and wake-ups beside the pools' in the sleep cells.
//
// It takes the pool binaries' flags and prints their summary line on
// stderr. That line's format is owned by pool-core's RunSummary (Rust),
// which the xtask parses this line with; keep the two in step.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

func worker(jobs <-chan uint64, results chan<- uint64, sleep time.Duration) {
	for j := range jobs {
		if sleep > 0 {
			time.Sleep(sleep)
		}
		results <- j * 2
	}
}

// parseWork reads `noop` or `sleep:D` with one duration D (Go's own
// duration syntax covers the pool binaries' `10ms`, `1s`, `500us`).
func parseWork(work string) (time.Duration, bool) {
	if work == "noop" {
		return 0, true
	}
	if !strings.HasPrefix(work, "sleep:") {
		return 0, false
	}
	rest := strings.TrimPrefix(work, "sleep:")
	d, err := time.ParseDuration(strings.TrimSpace(rest))
	if err != nil || d < 0 {
		return 0, false
	}
	return d, true
}

func main() {
	workers := flag.Int("workers", 3, "number of workers")
	numJobs := flag.Uint64("jobs", 5, "number of jobs")
	work := flag.String("work", "noop", "work spec: noop or sleep:D")
	flag.Uint64("seed", 0, "ignored (noop work has no durations)")
	flag.Bool("quiet", false, "ignored (nothing is logged)")
	flag.Parse()
	sleep, ok := parseWork(*work)
	if !ok {
		fmt.Fprintf(os.Stderr, "error: invalid value '%s' for '--work': gobyexample runs noop or sleep:D work\n", *work)
		os.Exit(2)
	}
	if *workers < 1 || *numJobs > 1<<31 {
		fmt.Fprintf(os.Stderr, "error: need at least 1 worker and at most %d jobs\n", uint64(1)<<31)
		os.Exit(2)
	}

	start := time.Now()
	jobs := make(chan uint64, *numJobs)
	results := make(chan uint64, *numJobs)
	for w := 1; w <= *workers; w++ {
		go worker(jobs, results, sleep)
	}
	for j := uint64(1); j <= *numJobs; j++ {
		jobs <- j
	}
	close(jobs)
	var sum uint64
	for a := uint64(1); a <= *numJobs; a++ {
		sum += <-results
	}
	elapsed := time.Since(start)

	line := fmt.Sprintf("gobyexample: %d jobs on %d workers (%s): %d finished, 0 failed in %.6f s",
		*numJobs, *workers, *work, *numJobs, elapsed.Seconds())
	if sum != *numJobs*(*numJobs+1) {
		fmt.Fprintln(os.Stderr, line)
		fmt.Fprintf(os.Stderr, "gobyexample: error: results are wrong: sum %d, expected %d\n", sum, *numJobs*(*numJobs+1))
		os.Exit(3)
	}
	fmt.Fprintf(os.Stderr, "%s; results check out (sum %d)\n", line, sum)
}
