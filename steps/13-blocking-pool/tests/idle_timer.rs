//! Lesson #5 (see the book's appendix "Bugs this book guards against")
//! for timers: a runtime that waits for a deadline by polling on an
//! interval, or spinning, burns CPU.
//!
//! This file holds one test, so that its test binary runs nothing else and
//! the process CPU time it reads is its own.

mod common;

use std::time::{Duration, Instant};

use common::{process_cpu_time, watchdog};
use runtime::{block_on, spawn, time};

#[test]
fn sleeping_500_ms_costs_a_few_milliseconds_of_cpu() {
    watchdog(Duration::from_secs(60), "a 500 ms sleep", || {
        let cpu_before = process_cpu_time();
        let start = Instant::now();
        block_on(async {
            // A task sleeping too, so that the executor has a timer to wait
            // for and a task to run when it fires.
            let task = spawn(time::sleep(Duration::from_millis(500)));
            time::sleep(Duration::from_millis(500)).await;
            task.await.unwrap();
        });
        let cpu_used = process_cpu_time() - cpu_before;
        assert!(start.elapsed() >= Duration::from_millis(500));
        // Spinning would cost about 500 ms, and waking every 100 µs to look
        // at the timers about 60 ms; parking until the deadline costs next
        // to nothing (the clock counts in 10 ms ticks).
        assert!(
            cpu_used < Duration::from_millis(40),
            "sleeping used {cpu_used:?} of CPU"
        );
    });
}
