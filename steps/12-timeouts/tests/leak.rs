//! Lesson #9 (see the book's appendix "Bugs this book guards against"): a
//! runtime shut down with tasks still in its queues leaves nothing behind.
//! Its OS handles (the reactor's event queue and its waker) are closed only
//! when the executor itself is freed, so they show whether it was.
//!
//! This file holds one test, so that no other test's runtime opens or
//! closes files in this process while it counts them.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{open_handles, watchdog};
use runtime::{block_on, spawn, task};

#[test]
fn a_runtime_shut_down_with_queued_tasks_closes_its_os_handles() {
    watchdog(
        Duration::from_secs(60),
        "200 runtimes shut down with queued tasks",
        || {
            let round = || {
                block_on(async {
                    // Tasks that never stop waking themselves: once each has
                    // run, it is always back in a worker's queue, where
                    // shutdown finds it.
                    let started = Arc::new(AtomicUsize::new(0));
                    for _ in 0..8 {
                        let started = started.clone();
                        spawn(async move {
                            started.fetch_add(1, Ordering::SeqCst);
                            loop {
                                task::yield_now().await;
                            }
                        });
                    }
                    while started.load(Ordering::SeqCst) < 8 {
                        task::yield_now().await;
                    }
                })
            };
            round();
            let before = open_handles();
            for _ in 0..200 {
                round();
            }
            let left_open = open_handles().saturating_sub(before);
            // Each executor holds a few: a leak of one executor per round
            // leaves hundreds open.
            assert!(left_open <= 10, "200 runtimes left {left_open} files open");
        },
    );
}
