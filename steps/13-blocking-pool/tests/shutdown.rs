//! Lesson #9 (see the book's appendix "Bugs this book guards against")
//! with threads: when `block_on` returns, every worker thread has exited.
//!
//! This file holds one test, so that no other test's runtime has worker
//! threads alive in this process while it counts them.

mod common;

use std::future::pending;
use std::time::Duration;

use common::{threads_named, watchdog};
use runtime::{block_on, spawn, time};

/// The names of this process's worker threads.
fn worker_threads_alive() -> Vec<String> {
    threads_named("runtime-worker")
}

#[test]
fn every_worker_thread_has_exited_when_block_on_returns() {
    watchdog(
        Duration::from_secs(60),
        "200 runtimes started and stopped",
        || {
            for round in 0..200 {
                block_on(async {
                    // Leave work behind: tasks waiting forever, a pending timer,
                    // and tasks still queued.
                    for _ in 0..10 {
                        spawn(pending::<()>());
                    }
                    spawn(time::sleep(Duration::from_secs(3600)));
                    for _ in 0..10 {
                        spawn(async {});
                    }
                });
                // Joined threads have exited, but the kernel may still list
                // one for a moment after `join` returns: give it that moment.
                // A leaked thread stays listed for good.
                let start = std::time::Instant::now();
                let mut alive = worker_threads_alive();
                while !alive.is_empty() && start.elapsed() < Duration::from_secs(2) {
                    std::thread::sleep(Duration::from_millis(1));
                    alive = worker_threads_alive();
                }
                assert!(alive.is_empty(), "round {round}: still running: {alive:?}");
            }
        },
    );
}
