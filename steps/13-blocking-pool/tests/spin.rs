//! Stage 9's promise about spinning: a worker that runs out of work keeps
//! looking for a moment, then parks. A spin with no end (a time limit that
//! is never reached, say) would look like lesson #5 (see the book's
//! appendix "Bugs this book guards against"): a busy idle loop.
//!
//! This file holds one test, so that its test binary runs nothing else and
//! the process CPU time it reads is its own.

mod common;

use std::time::{Duration, Instant};

use common::{process_cpu_time, watchdog};
use runtime::{block_on, spawn, time};

#[test]
fn workers_spin_for_a_moment_then_park() {
    watchdog(Duration::from_secs(20), "250 short naps", || {
        let cpu_before = process_cpu_time();
        let start = Instant::now();
        block_on(async {
            // Each lap gives the workers a task, then nothing for 2 ms:
            // every lap, each of them runs out of work, spins and parks.
            for _ in 0..250 {
                let task = spawn(async {});
                time::sleep(Duration::from_millis(2)).await;
                task.await.unwrap();
            }
        });
        let cpu_used = process_cpu_time() - cpu_before;
        assert!(start.elapsed() >= Duration::from_millis(500));
        // 250 laps of at most 20 µs of spinning per worker cost a few
        // milliseconds. Workers that spun until work came back would keep
        // every core busy for the whole 500 ms.
        assert!(
            cpu_used < Duration::from_millis(150),
            "250 naps of 2 ms used {cpu_used:?} of CPU"
        );
    });
}
