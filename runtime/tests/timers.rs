//! Timers against the bug classes they could have (see the book's appendix
//! "Bugs this book guards against"):
//! #7 (timers starve behind busy tasks) and #4 (a stale waker).
//! Lesson #5 for timers (a polling loop while waiting) is in `idle_timer.rs`.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use common::{Rng, panic_message, watchdog};
use parking_lot::Mutex;
use runtime::{block_on, spawn, task, time};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn sleeps_complete_in_deadline_order_and_not_early() {
    watchdog(LIMIT, "sleeps in deadline order", || {
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut rng = Rng::new(3);
        let durations: Vec<u64> = (0..50).map(|_| 5 + rng.below(100)).collect();
        let start = Instant::now();
        block_on({
            let order = order.clone();
            let durations = durations.clone();
            async move {
                let handles: Vec<_> = durations
                    .into_iter()
                    .enumerate()
                    .map(|(i, ms)| {
                        let order = order.clone();
                        spawn(async move {
                            let deadline = start + Duration::from_millis(ms);
                            time::sleep_until(deadline).await;
                            assert!(Instant::now() >= deadline, "woke before its deadline");
                            order.lock().push((ms, i));
                        })
                    })
                    .collect();
                for handle in handles {
                    handle.await.unwrap();
                }
            }
        });
        // The timer queue fires in deadline order, but two tasks woken
        // together run on two workers at once, and either may record first.
        // Only deadlines far apart must come in order.
        let order = order.lock();
        let fired: Vec<u64> = order.iter().map(|&(ms, _)| ms).collect();
        for (i, &earlier) in fired.iter().enumerate() {
            for &later in &fired[i + 1..] {
                assert!(
                    later + 25 > earlier,
                    "a {later} ms sleep finished after a {earlier} ms one: {fired:?}"
                );
            }
        }
    });
}

#[test]
fn a_deadline_in_the_past_completes_at_once() {
    watchdog(LIMIT, "a past deadline", || {
        block_on(async {
            let start = Instant::now();
            time::sleep_until(start - Duration::from_millis(1)).await;
            time::sleep(Duration::ZERO).await;
            assert!(start.elapsed() < Duration::from_secs(1));
        });
    });
}

/// A sleep too long for the clock (`Duration::MAX`, how "no time limit" is
/// often written) never ends, and making it does not panic on an overflow:
/// the runtime goes on, and shuts down with it still waiting.
#[test]
fn a_sleep_too_long_for_the_clock_never_ends() {
    watchdog(LIMIT, "a sleep of Duration::MAX", || {
        let fired = Arc::new(AtomicBool::new(false));
        block_on({
            let fired = fired.clone();
            async move {
                let never = time::sleep(Duration::MAX);
                spawn(async move {
                    never.await;
                    fired.store(true, Ordering::SeqCst);
                });
                time::sleep(Duration::from_millis(20)).await;
            }
        });
        assert!(
            !fired.load(Ordering::SeqCst),
            "a sleep of Duration::MAX ended"
        );
    });
}

/// Lesson #7: a timer fires while other tasks keep the ready queue full.
/// An executor that only looks at timers when it has nothing else to do
/// never fires it, and this test hangs until the watchdog fails it.
#[test]
fn timers_fire_while_other_tasks_keep_yielding() {
    watchdog(LIMIT, "a sleep among busy tasks", || {
        let stop = Arc::new(AtomicBool::new(false));
        let late_by = block_on({
            let stop = stop.clone();
            async move {
                for _ in 0..4 {
                    let stop = stop.clone();
                    spawn(async move {
                        while !stop.load(Ordering::Relaxed) {
                            task::yield_now().await;
                        }
                    });
                }
                let deadline = Instant::now() + Duration::from_millis(50);
                time::sleep_until(deadline).await;
                let late_by = deadline.elapsed();
                stop.store(true, Ordering::Relaxed);
                late_by
            }
        });
        // A generous sanity bound on a noisy machine, not a timing claim.
        assert!(late_by < Duration::from_secs(2), "fired {late_by:?} late");
    });
}

/// Lesson #4: a sleep polled from one task and then moved to another wakes
/// the task that polled it last.
#[test]
fn a_moved_sleep_wakes_the_task_that_polled_it_last() {
    watchdog(LIMIT, "a sleep moved between tasks", || {
        block_on(async {
            let mut sleep = Box::pin(time::sleep(Duration::from_millis(30)));
            let first = std::future::poll_fn(|cx| Poll::Ready(sleep.as_mut().poll(cx))).await;
            assert!(first.is_pending());
            // The main future stops polling it; a task takes it over.
            let handle = spawn(async move {
                sleep.await;
                "woken"
            });
            assert_eq!(handle.await.unwrap(), "woken");
        });
    });
}

/// A sleep dropped before its deadline never wakes anyone, and the
/// executor does not wait for its deadline before `block_on` returns.
#[test]
fn a_dropped_sleep_does_not_hold_up_block_on() {
    watchdog(LIMIT, "a dropped hour-long sleep", || {
        let start = Instant::now();
        block_on(async {
            let sleep = time::sleep(Duration::from_secs(3600));
            let mut sleep = Box::pin(sleep);
            let first = std::future::poll_fn(|cx| Poll::Ready(sleep.as_mut().poll(cx))).await;
            assert!(first.is_pending());
            drop(sleep);
            time::sleep(Duration::from_millis(10)).await;
        });
        assert!(start.elapsed() < Duration::from_secs(30));
    });
}

#[test]
fn sleep_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    assert_send(&time::sleep(Duration::ZERO));
}

#[test]
fn a_sleep_polled_outside_a_runtime_panics_with_a_clear_message() {
    let panic = std::panic::catch_unwind(|| {
        let mut sleep = Box::pin(time::sleep(Duration::from_secs(1)));
        let waker = std::task::Waker::noop();
        let _ = sleep
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker));
    })
    .unwrap_err();
    let message = panic_message(&*panic);
    assert!(message.contains("outside of a runtime"), "{message}");
}

/// A sleep first polled under one `block_on` and awaited under the next:
/// the first runtime's timers are gone with it, so the sleep must register
/// again with the runtime polling it now, not wait on the old one forever.
#[test]
fn a_sleep_polled_under_one_runtime_completes_under_another() {
    watchdog(LIMIT, "a sleep moved to another runtime", || {
        let mut sleep = Box::pin(time::sleep(Duration::from_millis(20)));
        block_on(async {
            let first = std::future::poll_fn(|cx| Poll::Ready(sleep.as_mut().poll(cx))).await;
            assert!(first.is_pending());
        });
        block_on(sleep);
    });
}
