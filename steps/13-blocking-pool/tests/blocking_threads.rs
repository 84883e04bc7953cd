//! The blocking pool shrinks when idle, and a runtime that shuts down
//! leaves no thread behind (lesson #9).
//!
//! This file holds one test, so that no other test's threads are alive in
//! this process while it counts them. It takes over ten seconds: a thread
//! of the pool waits 10 s for a job before it exits.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{threads_named, watchdog};
use runtime::{block_on, task, time};

/// The threads of the blocking pool, by the 15 bytes of their name that
/// every system keeps.
fn blocking_threads() -> usize {
    threads_named("runtime-blockin").len()
}

/// Idle threads of the pool stay a while (still there a second after a
/// burst of jobs) and then exit (within 30 s; the keep-alive is 10 s);
/// and, lesson #9, no thread is left once `block_on` has returned, which
/// waits for the job still running.
#[test]
fn blocking_threads_exit_when_idle_and_every_thread_exits_at_shutdown() {
    watchdog(Duration::from_secs(90), "blocking threads", || {
        block_on(async {
            let jobs: Vec<_> = (0..4)
                .map(|_| task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(20))))
                .collect();
            for job in jobs {
                job.await.unwrap();
            }
            let idle_since = Instant::now();
            let started = blocking_threads();
            assert!(
                (1..=4).contains(&started),
                "4 jobs at once, {started} blocking threads"
            );
            // Idle threads stay a while, ready for the next job...
            time::sleep(Duration::from_secs(1)).await;
            assert_eq!(
                blocking_threads(),
                started,
                "idle blocking threads left within a second"
            );
            // ...and then leave (after 10 s), while the runtime goes on.
            while blocking_threads() > 0 {
                assert!(
                    idle_since.elapsed() < Duration::from_secs(30),
                    "idle blocking threads still there after 30 s"
                );
                time::sleep(Duration::from_millis(50)).await;
            }
        });

        // One more job, running when `block_on` returns: it waits for the
        // job, and every thread is gone afterwards. The barrier makes sure
        // the job has started: one still queued at shutdown is dropped.
        let finished = Arc::new(AtomicBool::new(false));
        let job_finished = finished.clone();
        block_on(async move {
            let started = Arc::new(std::sync::Barrier::new(2));
            let job_started = started.clone();
            task::spawn_blocking(move || {
                job_started.wait();
                std::thread::sleep(Duration::from_millis(50));
                job_finished.store(true, Ordering::SeqCst);
            });
            started.wait();
        });
        assert!(
            finished.load(Ordering::SeqCst),
            "block_on returned before the job finished"
        );
        // Joined threads may stay listed for a moment; leaked ones stay for good.
        let start = Instant::now();
        while blocking_threads() > 0 || !threads_named("runtime-worker").is_empty() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "threads left after block_on returned"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    });
}
