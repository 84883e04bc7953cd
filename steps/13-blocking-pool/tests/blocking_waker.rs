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
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use common::{threads_named, watchdog};
use runtime::{block_on, task, time};

/// A waker that says it was woken, then panics.
struct PanickingWaker(AtomicBool);

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
        panic!("a waker that panics");
    }
}

/// Lesson #8: a job's handle, polled with a waker that panics when the job
/// finishes and wakes it, leaves the thread that ran the job alive, and
/// the pool runs the next job.
#[test]
fn a_handle_waker_that_panics_does_not_end_the_blocking_thread() {
    watchdog(
        Duration::from_secs(60),
        "a blocking job's panicking waker",
        || {
            block_on(async {
                let (go, wait) = std::sync::mpsc::channel::<()>();
                let mut handle = task::spawn_blocking(move || {
                    wait.recv().unwrap();
                    7
                });
                let woken = Arc::new(PanickingWaker(AtomicBool::new(false)));
                let waker = Waker::from(woken.clone());
                let mut cx = Context::from_waker(&waker);
                assert!(Pin::new(&mut handle).poll(&mut cx).is_pending());
                // The job finishes, and handing its result over wakes that
                // waker, on the blocking thread.
                go.send(()).unwrap();
                let start = Instant::now();
                while !woken.0.load(Ordering::SeqCst) {
                    assert!(
                        start.elapsed() < Duration::from_secs(10),
                        "the job never finished"
                    );
                    time::sleep(Duration::from_millis(1)).await;
                }
                // A thread that died would leave the list of threads within
                // moments; this one must stay, idle, for its 10 s.
                for _ in 0..30 {
                    assert_eq!(
                        threads_named("runtime-blockin").len(),
                        1,
                        "the blocking thread that ran the job is gone"
                    );
                    time::sleep(Duration::from_millis(10)).await;
                }
                // The result is there, and the pool takes more jobs.
                let noop = Context::from_waker(Waker::noop());
                assert!(matches!(
                    Pin::new(&mut handle).poll(&mut { noop }),
                    Poll::Ready(Ok(7))
                ));
                assert_eq!(task::spawn_blocking(|| 8).await.unwrap(), 8);
            });
        },
    );
}
