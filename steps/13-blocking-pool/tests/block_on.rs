//! `block_on` against the bug classes it could have (see the book's
//! appendix "Bugs this book guards against"):
//! #1 (a wake during poll is lost) and #3 (a lost wakeup before parking).
//! Lesson #5 (a busy idle loop) is in `idle.rs`, alone in its process.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use common::{Rng, oneshot, spin, watchdog};
use runtime::block_on;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn returns_the_output_of_the_future() {
    assert_eq!(block_on(async { 6 * 7 }), 42);
    let text = block_on(async { String::from("owned") });
    assert_eq!(text, "owned");
}

#[test]
fn runs_futures_that_are_not_send() {
    let shared = std::rc::Rc::new(5);
    let value = block_on(async move { *shared + 1 });
    assert_eq!(value, 6);
}

/// Returns `Pending` `n` times, waking itself each time before returning.
struct SelfWaking {
    remaining: u32,
    polls: Arc<AtomicU32>,
}

impl Future for SelfWaking {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        if self.remaining == 0 {
            return Poll::Ready(());
        }
        self.remaining -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Lesson #1: a wake that happens while the future is being polled must
/// lead to another poll, not be dropped.
#[test]
fn wake_during_poll_is_kept() {
    let polls = Arc::new(AtomicU32::new(0));
    let future = SelfWaking {
        remaining: 10_000,
        polls: polls.clone(),
    };
    watchdog(LIMIT, "10,000 self-wakes", move || block_on(future));
    assert_eq!(
        polls.load(Ordering::SeqCst),
        10_001,
        "one poll per wake, plus the last"
    );
}

/// Lesson #1 across threads: on each poll, another thread wakes the future
/// while the poll is still running (or just after it returned).
#[test]
fn wake_from_another_thread_mid_poll_is_kept() {
    struct WokenFromOutside {
        remaining: u32,
        rng: Rng,
    }
    impl Future for WokenFromOutside {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.remaining == 0 {
                return Poll::Ready(());
            }
            self.remaining -= 1;
            let waker = cx.waker().clone();
            let gap = self.rng.below(2_000);
            thread::spawn(move || {
                spin(gap);
                waker.wake();
            });
            // Keep the poll running for a random while, so the wake lands
            // before, during or after the return of `Pending`.
            spin(self.rng.below(2_000));
            Poll::Pending
        }
    }
    watchdog(LIMIT, "2,000 wakes from other threads mid-poll", || {
        block_on(WokenFromOutside {
            remaining: 2_000,
            rng: Rng::new(7),
        })
    });
}

/// Lesson #3: 100,000 values sent from another thread with random gaps.
/// If a wake could slip in between "Pending" and "park", this hangs, and the
/// watchdog turns the hang into a failure.
#[test]
fn no_lost_wakeup_over_100_000_cross_thread_wakes() {
    watchdog(LIMIT, "100,000 cross-thread wakes", || {
        let (requests, incoming) = std::sync::mpsc::channel::<(common::Sender<u64>, u64)>();
        // The helper spins instead of blocking in `recv`, so that its wake
        // lands within nanoseconds of the request: right in the window
        // between the poll returning `Pending` and the thread parking.
        let helper = thread::spawn(move || {
            loop {
                match incoming.try_recv() {
                    Ok((sender, gap)) => {
                        spin(gap);
                        sender.send(gap);
                    }
                    Err(std::sync::mpsc::TryRecvError::Empty) => std::hint::spin_loop(),
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => break,
                }
            }
        });
        // One `block_on` awaiting 100,000 times: each call now starts and
        // stops worker threads, too slow to do 100,000 times.
        block_on(async move {
            let mut rng = Rng::new(42);
            for _ in 0..100_000 {
                let (sender, receiver) = oneshot();
                let gap = rng.below(500);
                requests.send((sender, gap)).unwrap();
                assert_eq!(receiver.await, gap);
            }
        });
        helper.join().unwrap();
    });
}
