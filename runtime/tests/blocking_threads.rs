//! The blocking pool shrinks when idle, and a dropped runtime leaves no
//! thread behind (lesson #9).
//!
//! This file holds one test, so that no other test's threads are alive in
//! this process while it counts them.

mod common;

use std::time::Duration;

use common::{threads_named, watchdog};
use runtime::{Runtime, task};

fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "gave up waiting: {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn blocking_threads_exit_when_idle_and_every_thread_exits_on_drop() {
    watchdog(Duration::from_secs(60), "blocking threads", || {
        let runtime = Runtime::builder()
            .worker_threads(2)
            .thread_keep_alive(Duration::from_millis(50))
            .build()
            .unwrap();
        runtime.block_on(async {
            let jobs: Vec<_> = (0..4)
                .map(|_| task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(20))))
                .collect();
            for job in jobs {
                job.await.unwrap();
            }
        });
        assert!(!threads_named("runtime-blockin").is_empty());
        wait_until("idle blocking threads to exit", || {
            threads_named("runtime-blockin").is_empty()
        });

        // One more job, then drop the runtime while it runs: drop waits for
        // it, and every thread is gone afterwards.
        let started = std::sync::Arc::new(std::sync::Barrier::new(2));
        let job_started = started.clone();
        let job = runtime.spawn(async move {
            task::spawn_blocking(move || {
                job_started.wait();
                std::thread::sleep(Duration::from_millis(50));
                "finished"
            })
            .await
        });
        started.wait();
        drop(runtime);
        // Joined threads may stay listed for a moment; leaked ones stay for good.
        wait_until("workers to leave the list of threads", || {
            threads_named("runtime-worker").is_empty()
        });
        wait_until("blocking threads to leave the list of threads", || {
            threads_named("runtime-blockin").is_empty()
        });
        assert!(
            job.is_finished(),
            "drop returned before the running blocking job finished"
        );
        drop(job);
    });
}
