//! `JoinHandle::abort`, `JoinHandle::is_finished` and `JoinError::into_panic`
//! against the bug classes they could have (see the book's appendix "Bugs
//! this book guards against"): an abort that is lost, or that lets the task
//! be polled again (#1, #2); an abort that blocks on a poll, or on the task
//! itself; a task, an output or a socket left behind (#9); and a panic's
//! payload that does not come back (#8).

mod common;

use std::future::{Future, pending};
use std::io::Read;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use common::{Rng, panic_message, spin, watchdog};
use futures::io::AsyncReadExt;
use runtime::net::TcpListener;
use runtime::time::sleep;
use runtime::{JoinHandle, block_on, spawn, task};

thread_local! { static STAT_BASE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) }; }
const LIMIT: Duration = Duration::from_secs(60);

/// Counts how many of its kind were dropped.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// An abort lands between polls, for a task that waits forever, one that
/// sleeps for an hour and one that yields in a loop: its future is dropped
/// once, its handle says cancelled, and a second abort changes nothing.
/// The first two, idle when they are aborted, are never polled again.
#[test]
fn abort_drops_the_future_and_the_handle_says_cancelled() {
    watchdog(LIMIT, "abort", || {
        block_on(async {
            for case in 0..3 {
                let dropped = Arc::new(AtomicUsize::new(0));
                let guard = DropCounter(dropped.clone());
                let mut waiting = Box::pin(async move {
                    let _guard = guard;
                    match case {
                        0 => pending::<()>().await,
                        1 => sleep(Duration::from_secs(3600)).await,
                        _ => loop {
                            task::yield_now().await; // busy: aborted between polls
                        },
                    }
                });
                let polls = Arc::new(AtomicUsize::new(0));
                let counted = polls.clone();
                let handle = spawn(std::future::poll_fn(move |cx| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    waiting.as_mut().poll(cx)
                }));
                sleep(Duration::from_millis(5)).await;
                assert!(!handle.is_finished());
                handle.abort();
                handle.abort(); // twice is harmless
                let error = handle.await.unwrap_err();
                assert!(error.is_cancelled(), "case {case}: {error}");
                assert!(!error.is_panic());
                assert_eq!(error.to_string(), "task was cancelled");
                assert_eq!(
                    dropped.load(Ordering::SeqCst),
                    1,
                    "case {case}: the future was not dropped once"
                );
                if case < 2 {
                    assert_eq!(
                        polls.load(Ordering::SeqCst),
                        1,
                        "case {case}: polled after the abort"
                    );
                }
            }
        });
    });
}

/// A task that has finished keeps its output: `is_finished` says so
/// without waiting, and an abort after it changes nothing.
#[test]
fn abort_after_the_task_finished_keeps_its_output() {
    watchdog(LIMIT, "abort after finish", || {
        block_on(async {
            let handle = spawn(async { 5 });
            while !handle.is_finished() {
                task::yield_now().await;
            }
            handle.abort();
            assert!(handle.is_finished());
            assert_eq!(handle.await.unwrap(), 5);
        });
    });
}

// ANCHOR: parked
/// An abort frees a task parked on a timer or on I/O, at once, not at the
/// timer's deadline or the socket's next event: a task asleep for an hour,
/// one waiting in `accept` on a listener it owns, and one waiting to read
/// a stream it owns. Each future is dropped; the listener is closed, so
/// its address can be bound again; the stream is closed, so the client at
/// its other end reads the end of the stream.
#[test]
fn abort_frees_a_task_parked_on_a_timer_or_on_io() {
    watchdog(LIMIT, "abort of parked tasks", || {
        block_on(async {
            let dropped = Arc::new(AtomicUsize::new(0));

            let guard = DropCounter(dropped.clone());
            let asleep = spawn(async move {
                let _guard = guard;
                sleep(Duration::from_secs(3600)).await;
            });

            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let listening_on = listener.local_addr().unwrap();
            let guard = DropCounter(dropped.clone());
            let accepting = spawn(async move {
                let _guard = guard;
                listener.accept().await
            });

            let other = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut client = std::net::TcpStream::connect(other.local_addr().unwrap()).unwrap();
            let (mut stream, _) = other.accept().await.unwrap();
            let guard = DropCounter(dropped.clone());
            let reading = spawn(async move {
                let _guard = guard;
                let mut buf = [0; 16];
                stream.read(&mut buf).await
            });

            sleep(Duration::from_millis(20)).await; // all three are parked
            let started = Instant::now();
            asleep.abort();
            accepting.abort();
            reading.abort();
            assert!(asleep.await.unwrap_err().is_cancelled());
            assert!(accepting.await.unwrap_err().is_cancelled());
            assert!(reading.await.unwrap_err().is_cancelled());
            assert!(started.elapsed() < Duration::from_secs(10));
            assert_eq!(dropped.load(Ordering::SeqCst), 3);

            // The aborted tasks' sockets are closed.
            let again = TcpListener::bind(listening_on).await;
            assert!(again.is_ok(), "the aborted accept's listener is still open");
            client
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut buf = [0; 16];
            assert_eq!(
                client.read(&mut buf).unwrap(),
                0,
                "the aborted read's stream is still open"
            );
        });
    });
}
// ANCHOR_END: parked

/// An abort while the task is being polled does not wait for that poll: it
/// returns at once. The poll then finishes, and the task is dropped after
/// it if it returned `Pending`, or keeps its output if it returned `Ready`.
/// (An `abort` that dropped the future on the spot would wait here for the
/// poll's lock, while the poll waits for the test: a deadlock.)
#[test]
fn an_abort_during_a_poll_lets_that_poll_finish() {
    watchdog(LIMIT, "abort during a poll", || {
        block_on(async {
            for finish in [false, true] {
                let (in_poll, is_in_poll) = mpsc::channel::<()>();
                let (go_on, may_go_on) = mpsc::channel::<()>();
                let dropped = Arc::new(AtomicUsize::new(0));
                let guard = DropCounter(dropped.clone());
                let polls = Arc::new(AtomicUsize::new(0));
                let counted = polls.clone();
                let handle = spawn(std::future::poll_fn(move |_| {
                    let _ = &guard;
                    counted.fetch_add(1, Ordering::SeqCst);
                    in_poll.send(()).unwrap();
                    may_go_on.recv().unwrap(); // blocks this worker, on purpose
                    if finish {
                        Poll::Ready("finished")
                    } else {
                        Poll::Pending
                    }
                }));
                // The main future blocks its own thread, not a worker.
                is_in_poll.recv().unwrap();
                handle.abort(); // must not wait for the poll
                go_on.send(()).unwrap();
                let result = handle.await;
                assert_eq!(polls.load(Ordering::SeqCst), 1, "polled after the abort");
                assert_eq!(dropped.load(Ordering::SeqCst), 1);
                if finish {
                    assert_eq!(result.unwrap(), "finished");
                } else {
                    assert!(result.unwrap_err().is_cancelled());
                }
            }
        });
    });
}

/// A task may abort itself, through its own handle: its poll goes on to
/// its next `.await`, and the task is dropped there, never resumed. (An
/// `abort` that dropped the future on the spot would take the lock its own
/// poll holds: a deadlock.)
#[test]
fn a_task_that_aborts_itself_is_dropped_at_its_next_await() {
    watchdog(LIMIT, "a task aborts itself", || {
        block_on(async {
            let dropped = Arc::new(AtomicUsize::new(0));
            let guard = DropCounter(dropped.clone());
            let resumed = Arc::new(AtomicBool::new(false));
            let (send_handle, own_handle) = futures::channel::oneshot::channel();
            let handle = spawn({
                let resumed = resumed.clone();
                async move {
                    let _guard = guard;
                    let me: JoinHandle<()> = own_handle.await.unwrap();
                    me.abort();
                    task::yield_now().await;
                    resumed.store(true, Ordering::SeqCst);
                }
            });
            send_handle.send(handle).unwrap();
            while dropped.load(Ordering::SeqCst) == 0 {
                task::yield_now().await;
            }
            assert!(!resumed.load(Ordering::SeqCst), "resumed after its abort");
        });
    });
}

// ANCHOR: race
/// A task for the race below. Until the test lets it finish, each poll
/// wakes the task itself, or has another thread wake it, and spins a
/// little: the task is always running, queued or about to be woken. Then
/// it returns an output that counts its drops.
struct Racer {
    rng: Rng,
    wakers: mpsc::Sender<Waker>,
    /// Polls begun so far.
    polls: Arc<AtomicUsize>,
    /// Set by the test: the next poll returns `Ready`.
    finish: Arc<AtomicBool>,
    /// Set by the test once `abort` has returned.
    aborted: Arc<AtomicBool>,
    /// Polls that began after `abort` returned.
    late_polls: Arc<AtomicUsize>,
    outputs_made: Arc<AtomicUsize>,
    outputs_dropped: Arc<AtomicUsize>,
    _dropped: DropCounter,
}

impl Future for Racer {
    type Output = DropCounter;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DropCounter> {
        if self.aborted.load(Ordering::SeqCst) {
            self.late_polls.fetch_add(1, Ordering::SeqCst);
        }
        self.polls.fetch_add(1, Ordering::SeqCst);
        if self.finish.load(Ordering::SeqCst) {
            self.outputs_made.fetch_add(1, Ordering::SeqCst);
            return Poll::Ready(DropCounter(self.outputs_dropped.clone()));
        }
        if self.rng.below(2) == 0 {
            cx.waker().wake_by_ref(); // woken during its own poll
        } else {
            let _ = self.wakers.send(cx.waker().clone()); // woken from outside
        }
        spin(self.rng.below(500));
        Poll::Pending
    }
}

/// Lesson #1 (a wake is not lost), lesson #2 (no poll after the end) and
/// lesson #9 (nothing left behind), for `abort`: 5,000 tasks, each aborted at a random
/// moment while it is being polled, queued or woken from another thread,
/// and a third of them told to finish just before. An abort is never lost:
/// every handle resolves, cancelled unless the task finished first. Once
/// `abort` has returned, at most the poll already under way begins after
/// it; then the task is never polled again. Every future is dropped
/// exactly once, and every output made is dropped exactly once, whether
/// the handle takes it or was dropped (detached) right after the abort.
#[test]
fn an_abort_racing_wakes_and_a_running_poll_is_never_lost() {
    const TASKS: u64 = 5_000;
    watchdog(LIMIT, "5,000 aborts racing wakes and polls", || {
        let (wakers, to_wake) = mpsc::channel::<Waker>();
        let waking = thread::spawn(move || {
            let mut rng = Rng::new(7);
            for waker in to_wake {
                spin(rng.below(300));
                waker.wake();
            }
        });
        let futures_dropped = Arc::new(AtomicUsize::new(0));
        let outputs_made = Arc::new(AtomicUsize::new(0));
        let outputs_dropped = Arc::new(AtomicUsize::new(0));
        let mut late_polls_of_each = Vec::new();
        let (mut finished, mut cancelled) = (0, 0);
        block_on(async {
            let mut rng = Rng::new(11);
            for seed in 0..TASKS {
                let polls = Arc::new(AtomicUsize::new(0));
                let finish = Arc::new(AtomicBool::new(false));
                let aborted = Arc::new(AtomicBool::new(false));
                let late_polls = Arc::new(AtomicUsize::new(0));
                late_polls_of_each.push(late_polls.clone());
                let handle = spawn(Racer {
                    rng: Rng::new(seed + 1),
                    wakers: wakers.clone(),
                    polls: polls.clone(),
                    finish: finish.clone(),
                    aborted: aborted.clone(),
                    late_polls: late_polls.clone(),
                    outputs_made: outputs_made.clone(),
                    outputs_dropped: outputs_dropped.clone(),
                    _dropped: DropCounter(futures_dropped.clone()),
                });
                // Most aborts land after a few polls, on the workers; one in
                // eight before the first poll, most likely.
                let after = rng.below(8) as usize;
                while polls.load(Ordering::SeqCst) < after.min(4) {
                    std::hint::spin_loop();
                }
                spin(rng.below(1_000));
                if rng.below(3) == 0 {
                    finish.store(true, Ordering::SeqCst);
                    spin(rng.below(1_000));
                }
                handle.abort();
                aborted.store(true, Ordering::SeqCst);
                if rng.below(4) == 0 {
                    drop(handle); // detached: the task drops any output itself
                    continue;
                }
                match handle.await {
                    Ok(output) => {
                        finished += 1;
                        drop(output);
                    }
                    Err(error) => {
                        assert!(error.is_cancelled(), "task {seed}: {error}");
                        cancelled += 1;
                    }
                }
            }
            // The detached tasks end on their own: wait for the last ones.
            let deadline = Instant::now() + Duration::from_secs(20);
            while futures_dropped.load(Ordering::SeqCst) < TASKS as usize
                || outputs_dropped.load(Ordering::SeqCst) < outputs_made.load(Ordering::SeqCst)
            {
                assert!(
                    Instant::now() < deadline,
                    "an aborted task was never dropped"
                );
                sleep(Duration::from_millis(1)).await;
            }
        });
        drop(wakers);
        waking.join().unwrap();
        assert_eq!(futures_dropped.load(Ordering::SeqCst), TASKS as usize);
        for (task, late_polls) in late_polls_of_each.iter().enumerate() {
            assert!(
                late_polls.load(Ordering::SeqCst) <= 1,
                "task {task}: polled again after the poll that was under way at the abort"
            );
        }
        assert_eq!(
            outputs_dropped.load(Ordering::SeqCst),
            outputs_made.load(Ordering::SeqCst),
            "an output was dropped twice, or never"
        );
        // Both outcomes happened: the race was a race.
        assert!(
            finished > 0 && cancelled > 0,
            "{finished} finished, {cancelled} cancelled"
        );
    });
}
// ANCHOR_END: race

/// Lesson #8, the payload back: `into_panic` returns the very value the
/// task panicked with, a `&str`, a `String` or a value of any type, and
/// `resume_unwind` carries it on into the task that awaited the handle,
/// whose own handle gives it back again.
#[test]
fn into_panic_returns_the_payload_the_task_panicked_with() {
    #[derive(Debug, PartialEq)]
    struct Code(u32);
    watchdog(LIMIT, "into_panic", || {
        block_on(async {
            let error = spawn(async { panic!("boom") }).await.unwrap_err();
            assert!(error.is_panic() && !error.is_cancelled());
            assert_eq!(error.to_string(), "task panicked with message \"boom\"");
            assert_eq!(panic_message(&*error.into_panic()), "boom");

            let error = spawn(async { panic!("task {} failed", 3) })
                .await
                .unwrap_err();
            assert_eq!(panic_message(&*error.into_panic()), "task 3 failed");

            let inner: JoinHandle<()> = spawn(async { std::panic::panic_any(Code(42)) });
            let outer: JoinHandle<()> = spawn(async move {
                match inner.await {
                    Ok(()) => unreachable!("the inner task panics"),
                    Err(error) => std::panic::resume_unwind(error.into_panic()),
                }
            });
            let error = outer.await.unwrap_err();
            assert!(error.is_panic());
            let payload = error.into_panic().downcast::<Code>().unwrap();
            assert_eq!(*payload, Code(42));
        });
    });
}

/// A cancelled task has no payload: `into_panic` panics, and says why.
#[test]
fn into_panic_on_a_cancelled_task_says_why_it_panics() {
    watchdog(LIMIT, "into_panic on a cancelled task", || {
        let error = block_on(async {
            let handle = spawn(pending::<()>());
            handle.abort();
            handle.await.unwrap_err()
        });
        assert!(error.is_cancelled());
        let panic =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || error.into_panic()))
                .unwrap_err();
        assert!(panic_message(&*panic).contains("cancelled"));
    });
}

/// The handle's new methods keep it what it was: a `Send`, `Sync` and
/// `Unpin` future, and `JoinError` an error that fits in a
/// `Box<dyn Error + Send + Sync>`.
#[test]
fn the_handle_and_the_error_stay_send_and_sync() {
    fn assert_handle<T: Send + Sync + Unpin + Future>() {}
    fn assert_error<T: std::error::Error + Send + Sync + 'static>() {}
    assert_handle::<JoinHandle<u32>>();
    assert_error::<runtime::JoinError>();
}
