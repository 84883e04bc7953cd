//! Lesson #8 (see the book's appendix "Bugs this book guards against") on
//! a blocking thread: a `spawn_blocking` handle may be awaited with anybody's
//! waker. One that panics when the job finishes must not end the thread
//! that ran the job.
//!
//! This file holds one test, so that no other test's threads are alive in
//! this process while it counts them.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::task::Context;
use std::time::Duration;

use common::{panicking_waker, threads_named, watchdog};
use runtime::{Runtime, task};

#[test]
fn a_handle_waker_that_panics_does_not_end_the_blocking_thread() {
    watchdog(
        Duration::from_secs(60),
        "a blocking job's panicking waker",
        || {
            // Idle blocking threads stay for a minute: the one that ran the job
            // must still be there afterwards.
            let runtime = Runtime::builder()
                .worker_threads(1)
                .thread_keep_alive(Duration::from_secs(60))
                .build()
                .unwrap();
            let (go, wait) = std::sync::mpsc::channel::<()>();
            // The handle is what we want, not the job's output: it is awaited later.
            #[allow(clippy::async_yields_async)]
            let mut handle = runtime.block_on(async {
                task::spawn_blocking(move || {
                    wait.recv().unwrap();
                    7
                })
            });
            let waker = panicking_waker();
            let mut cx = Context::from_waker(&waker);
            assert!(Pin::new(&mut handle).poll(&mut cx).is_pending());
            // The job finishes, and handing its result over wakes that waker.
            go.send(()).unwrap();
            let start = std::time::Instant::now();
            while !handle.is_finished() {
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "the job never finished"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
            assert_eq!(futures::executor::block_on(handle).unwrap(), 7);
            // A thread that died would leave the list of threads within moments; this one
            // must stay, idle.
            for _ in 0..30 {
                assert_eq!(
                    threads_named("runtime-blockin").len(),
                    1,
                    "the blocking thread that ran the job is gone"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
            drop(runtime);
        },
    );
}
