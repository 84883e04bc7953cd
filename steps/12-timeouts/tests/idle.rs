//! Lesson #5 (see the book's appendix "Bugs this book guards against"):
//! a busy idle loop.
//!
//! This file holds one test, so that its test binary runs nothing else and
//! the process CPU time it reads is its own.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use common::{oneshot, process_cpu_time, watchdog};
use runtime::block_on;

/// Lesson #5: waiting is sleeping. A future that is woken once after 500 ms
/// is polled twice, and the process uses a few milliseconds of CPU meanwhile.
#[test]
fn waiting_does_not_spin() {
    watchdog(
        Duration::from_secs(60),
        "a 500 ms wait",
        waiting_does_not_spin_body,
    );
}

fn waiting_does_not_spin_body() {
    struct CountPolls<F> {
        inner: Pin<Box<F>>,
        polls: u32,
    }
    impl<F: Future> Future for CountPolls<F> {
        type Output = (F::Output, u32);
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            self.polls += 1;
            let polls = self.polls;
            self.inner.as_mut().poll(cx).map(|out| (out, polls))
        }
    }

    let (sender, receiver) = oneshot();
    let sender_thread = thread::spawn(move || {
        thread::sleep(Duration::from_millis(500));
        sender.send("done");
    });
    let cpu_before = process_cpu_time();
    let (value, polls) = block_on(CountPolls {
        inner: Box::pin(receiver),
        polls: 0,
    });
    let cpu_used = process_cpu_time() - cpu_before;
    sender_thread.join().unwrap();

    assert_eq!(value, "done");
    assert_eq!(polls, 2, "polled once before the wake and once after");
    // Spinning for 500 ms would cost about 500 ms of CPU. The bound is
    // generous because the machine is shared and noisy.
    assert!(
        cpu_used < Duration::from_millis(250),
        "waiting used {cpu_used:?} of CPU"
    );
}
