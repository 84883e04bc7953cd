//! `time::timeout` against what a deadline could get wrong: the output
//! thrown away when it is ready as the deadline passes, a timer left
//! behind when the future wins (lesson #7, timers that pile up), a
//! deadline that never fires around a future that never completes
//! (lesson #13 needs it to), and races between the two sides.

mod common;

use std::future::{Future, pending};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use common::{oneshot, watchdog};
use runtime::net::{TcpListener, TcpStream};
use runtime::time::{Elapsed, sleep, timeout};
use runtime::{block_on, spawn, task};

const LIMIT: Duration = Duration::from_secs(30);

/// Counts drops of its kind.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A future in time gives its output; a future that never completes is
/// given up on after its duration, not before, and dropped; `Elapsed`
/// says what happened and converts to an `io::Error` of kind `TimedOut`.
#[test]
fn timeout_gives_the_output_or_elapsed_and_drops_the_future() {
    watchdog(LIMIT, "timeout", || {
        block_on(async {
            assert_eq!(timeout(Duration::from_secs(5), async { 3 }).await, Ok(3));
            let dropped = Arc::new(AtomicUsize::new(0));
            let guard = DropCounter(dropped.clone());
            let start = Instant::now();
            let result = timeout(Duration::from_millis(20), async move {
                let _guard = guard;
                pending::<()>().await;
            })
            .await;
            assert!(
                result.is_err(),
                "the future never completes: the deadline must win"
            );
            assert!(start.elapsed() >= Duration::from_millis(20));
            assert_eq!(dropped.load(Ordering::SeqCst), 1);
            let error: Elapsed = result.unwrap_err();
            assert_eq!(error.to_string(), "deadline has elapsed");
            let io_error: std::io::Error = error.into();
            assert_eq!(io_error.kind(), std::io::ErrorKind::TimedOut);
        });
    });
}

/// The inner future is polled first: one that is ready at once wins even
/// with no time at all, and one that is not loses at once.
#[test]
fn a_ready_future_wins_even_at_a_zero_duration() {
    watchdog(LIMIT, "zero-duration timeouts", || {
        block_on(async {
            for i in 0..1_000 {
                assert_eq!(
                    timeout(Duration::ZERO, async move { i }).await,
                    Ok(i),
                    "a ready future lost to a zero deadline"
                );
            }
            assert!(timeout(Duration::ZERO, pending::<()>()).await.is_err());
        });
    });
}

/// Counts the polls of the future it wraps.
struct CountPolls<F> {
    inner: Pin<Box<F>>,
    polls: usize,
}

impl<F: Future> Future for CountPolls<F> {
    type Output = (F::Output, usize);
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.polls += 1;
        let polls = self.polls;
        self.inner.as_mut().poll(cx).map(|output| (output, polls))
    }
}

/// Lesson #7: when the future wins, its timeout's timer goes with it. 100
/// timeouts, each registered (its future waits once) and beaten by its
/// future; then the task sleeps past all their deadlines. A timer left
/// behind would fire at its deadline and wake the task for nothing: the
/// sleep is polled twice, once to start and once when it is due.
#[test]
fn a_timeout_whose_future_finishes_first_leaves_no_timer() {
    watchdog(LIMIT, "timeouts beaten by their futures", || {
        block_on(async {
            for i in 0..100 {
                let output = timeout(Duration::from_millis(20 + i), async move {
                    task::yield_now().await; // pending once: the timer is registered
                    i
                })
                .await;
                assert_eq!(output, Ok(i));
            }
            let ((), polls) = CountPolls {
                inner: Box::pin(sleep(Duration::from_millis(300))),
                polls: 0,
            }
            .await;
            // Exactly 2 unless the machine wakes a task for nothing; 100
            // timers left behind would make it about 100 more.
            assert!(
                polls <= 3,
                "the sleep was polled {polls} times: timers of finished timeouts woke the task"
            );
        });
    });
}

/// Lesson #13 needs a `timeout` that fires around an accept that nobody
/// answers. It fires on time (within a generous bound: the machine is
/// shared), and gives the listener back: the dropped accept no longer
/// waits, and the next one takes the next connection.
#[test]
fn a_timeout_around_a_pending_accept_fires_and_frees_it() {
    watchdog(LIMIT, "a timed-out accept", || {
        block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            let start = Instant::now();
            let nobody = timeout(Duration::from_millis(100), listener.accept()).await;
            let waited = start.elapsed();
            assert!(nobody.is_err(), "an accept with no client completed");
            assert!(
                waited >= Duration::from_millis(100),
                "fired early: {waited:?}"
            );
            assert!(waited < Duration::from_secs(10), "fired late: {waited:?}");

            let client = spawn(async move { TcpStream::connect(address).await.map(|_| ()) });
            let accepted = timeout(Duration::from_secs(10), listener.accept()).await;
            assert!(
                matches!(accepted, Ok(Ok(_))),
                "no accept after the timed-out one: {accepted:?}"
            );
            client.await.unwrap().unwrap();
        });
    });
}

/// Thousands of timeouts raced against sends from another thread at about
/// their deadline, half of which never come: every timeout resolves once
/// and only once, with the value sent or `Elapsed` (`Elapsed` always when
/// nothing is sent), and every inner future is dropped exactly once.
#[test]
fn thousands_of_timeouts_raced_with_sends_resolve_exactly_once() {
    const TASKS: usize = 2_000;
    watchdog(LIMIT, "timeouts raced with sends", || {
        for round in 0..5 {
            let dropped = Arc::new(AtomicUsize::new(0));
            let resolved = Arc::new(AtomicUsize::new(0));
            let (on_time, late) = block_on(async {
                let mut senders = Vec::new();
                let mut tasks = Vec::new();
                for i in 0..TASKS {
                    let (sender, receiver) = oneshot::<usize>();
                    let guard = DropCounter(dropped.clone());
                    let resolved = resolved.clone();
                    tasks.push(spawn(async move {
                        let result = timeout(Duration::from_millis(2), async move {
                            let _guard = guard;
                            receiver.await
                        })
                        .await;
                        resolved.fetch_add(1, Ordering::SeqCst);
                        result
                    }));
                    if i % 2 == 0 {
                        senders.push((i, sender));
                    } // else: dropped, never sent
                }
                let sending = thread::spawn(move || {
                    thread::sleep(Duration::from_millis(2));
                    for (i, sender) in senders {
                        sender.send(i);
                    }
                });
                let (mut on_time, mut late) = (0, 0);
                for (i, task) in tasks.into_iter().enumerate() {
                    match task.await.unwrap() {
                        Ok(value) => {
                            assert_eq!(value, i, "round {round}: another task's value");
                            assert!(i % 2 == 0, "round {round}: task {i} got a value never sent");
                            on_time += 1;
                        }
                        Err(_elapsed) => late += 1,
                    }
                }
                sending.join().unwrap();
                (on_time, late)
            });
            assert_eq!(on_time + late, TASKS, "round {round}");
            assert_eq!(resolved.load(Ordering::SeqCst), TASKS, "round {round}");
            assert_eq!(dropped.load(Ordering::SeqCst), TASKS, "round {round}");
        }
    });
}

/// A `Timeout` around a `Send` future can be spawned: it is `Send` too.
#[test]
fn timeout_is_send_when_its_future_is() {
    fn assert_send<T: Send>(_: &T) {}
    assert_send(&timeout(Duration::ZERO, async { 1 }));
}
