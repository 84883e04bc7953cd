//! The executor against the bug classes it could have (see the book's
//! appendix "Bugs this book guards against"):
//! #1 (a wake during poll is lost), #2 (a task queued twice, polled
//! concurrently or after completion), #3 (a lost wakeup before parking),
//! #4 (a stale waker), #8 (a panic kills the executor) and #9 (no shutdown).

mod common;

use std::future::{Future, pending};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use common::{Rng, oneshot, panic_message, spin, watchdog};
use parking_lot::Mutex;
use runtime::{JoinHandle, block_on, spawn, task};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn spawned_tasks_return_their_output() {
    watchdog(LIMIT, "spawned tasks return their output", || {
        let outputs = block_on(async {
            let handles: Vec<JoinHandle<u64>> =
                (0..100).map(|i| spawn(async move { i * 2 })).collect();
            let mut outputs = Vec::new();
            for handle in handles {
                outputs.push(handle.await.unwrap());
            }
            outputs
        });
        assert_eq!(outputs, (0..100).map(|i| i * 2).collect::<Vec<_>>());
    });
}

#[test]
fn tasks_interleave_at_yield_points() {
    watchdog(LIMIT, "tasks interleave at yield points", || {
        let log = Arc::new(Mutex::new(Vec::new()));
        block_on({
            let log = log.clone();
            async move {
                let handles: Vec<_> = ["a", "b", "c"]
                    .into_iter()
                    .map(|name| {
                        let log = log.clone();
                        spawn(async move {
                            for step in 0..3 {
                                log.lock().push(format!("{name}{step}"));
                                task::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for handle in handles {
                    handle.await.unwrap();
                }
            }
        });
        let log = log.lock().join(" ");
        assert_eq!(
            log, "a0 b0 c0 a1 b1 c1 a2 b2 c2",
            "yield_now must go to the back of the queue"
        );
    });
}

#[test]
fn tasks_spawned_from_tasks_run() {
    watchdog(LIMIT, "tasks spawned from tasks run", || {
        let total = block_on(async {
            spawn(async {
                spawn(async { spawn(async { 3 }).await.unwrap() + 2 })
                    .await
                    .unwrap()
                    + 1
            })
            .await
            .unwrap()
        });
        assert_eq!(total, 6);
    });
}

#[test]
fn a_dropped_handle_detaches_the_task() {
    watchdog(LIMIT, "a dropped handle detaches the task", || {
        let (sender, receiver) = oneshot();
        block_on(async move {
            drop(spawn(async move {
                task::yield_now().await;
                sender.send("ran to the end");
            }));
            assert_eq!(receiver.await, "ran to the end");
        });
    });
}

/// Lesson #1: a task that wakes itself during its poll, 10,000 times.
#[test]
fn wake_during_poll_is_kept() {
    struct SelfWaking(u32);
    impl Future for SelfWaking {
        type Output = u32;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            if self.0 == 10_000 {
                return Poll::Ready(self.0);
            }
            self.0 += 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    let polls = watchdog(LIMIT, "a task waking itself 10,000 times", || {
        block_on(async { spawn(SelfWaking(0)).await.unwrap() })
    });
    assert_eq!(polls, 10_000);
}

/// Lesson #1 across threads: another thread wakes the task while it is
/// being polled, at a random point of the poll. 100 tasks x 100 polls.
///
/// Four waking threads, started once, take the wakers from a channel: a
/// thread per wake would start 10,000 of them, and on Windows (and under
/// Wine) exited threads are reaped slowly enough to run a process out of
/// handles.
#[test]
fn wake_from_another_thread_mid_poll_is_kept() {
    const WAKERS: usize = 4;
    struct WokenFromOutside {
        remaining: u32,
        rng: Rng,
        wakers: Vec<mpsc::Sender<(u64, Waker)>>,
    }
    impl Future for WokenFromOutside {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.remaining == 0 {
                return Poll::Ready(());
            }
            self.remaining -= 1;
            let gap = self.rng.below(1_000);
            let to = self.rng.below(WAKERS as u64) as usize;
            self.wakers[to]
                .send((gap, cx.waker().clone()))
                .expect("a waking thread has gone");
            spin(self.rng.below(1_000));
            Poll::Pending
        }
    }
    watchdog(LIMIT, "10,000 wakes from other threads mid-poll", || {
        let (senders, threads): (Vec<_>, Vec<_>) = (0..WAKERS)
            .map(|_| {
                let (sender, receiver) = mpsc::channel::<(u64, Waker)>();
                let thread = thread::spawn(move || {
                    for (gap, waker) in receiver {
                        spin(gap);
                        waker.wake();
                    }
                });
                (sender, thread)
            })
            .unzip();
        block_on(async {
            let handles: Vec<_> = (0..100)
                .map(|seed| {
                    spawn(WokenFromOutside {
                        remaining: 100,
                        rng: Rng::new(seed + 1),
                        wakers: senders.clone(),
                    })
                })
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
        });
        drop(senders);
        for thread in threads {
            thread.join().expect("a waking thread panicked");
        }
    });
}

/// A task that records how it is polled: how many times, whether two polls
/// ever overlapped, and whether it was polled after it returned `Ready`.
struct Probe {
    polls: Arc<AtomicU32>,
    in_poll: Arc<AtomicBool>,
    overlapped: Arc<AtomicBool>,
    completed: Arc<AtomicBool>,
    polled_after_ready: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
    finish: Arc<AtomicBool>,
}

impl Probe {
    fn new() -> Probe {
        Probe {
            polls: Default::default(),
            in_poll: Default::default(),
            overlapped: Default::default(),
            completed: Default::default(),
            polled_after_ready: Default::default(),
            waker: Default::default(),
            finish: Default::default(),
        }
    }

    fn clone_handles(&self) -> Probe {
        Probe {
            polls: self.polls.clone(),
            in_poll: self.in_poll.clone(),
            overlapped: self.overlapped.clone(),
            completed: self.completed.clone(),
            polled_after_ready: self.polled_after_ready.clone(),
            waker: self.waker.clone(),
            finish: self.finish.clone(),
        }
    }
}

impl Future for Probe {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.completed.load(Ordering::SeqCst) {
            self.polled_after_ready.store(true, Ordering::SeqCst);
        }
        if self.in_poll.swap(true, Ordering::SeqCst) {
            self.overlapped.store(true, Ordering::SeqCst);
        }
        // The waker is stored before the poll is counted: a test that saw
        // the count go up takes the waker right away.
        *self.waker.lock() = Some(cx.waker().clone());
        self.polls.fetch_add(1, Ordering::SeqCst);
        spin(200);
        self.in_poll.store(false, Ordering::SeqCst);
        if self.finish.load(Ordering::SeqCst) {
            self.completed.store(true, Ordering::SeqCst);
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

// ANCHOR: duplicate_wakes
/// Lesson #2: 1,000 wakes of an idle task queue it once, so it is polled
/// once more, not 1,000 times.
#[test]
fn duplicate_wakes_queue_a_task_once() {
    watchdog(LIMIT, "duplicate wakes queue a task once", || {
        let probe = Probe::new();
        let observer = probe.clone_handles();
        block_on(async move {
            let handle = spawn(probe);
            task::yield_now().await; // the task runs its first poll
            assert_eq!(observer.polls.load(Ordering::SeqCst), 1);
            let waker = observer.waker.lock().clone().unwrap();
            for _ in 0..1_000 {
                waker.wake_by_ref();
            }
            task::yield_now().await; // the task runs, once
            task::yield_now().await; // (and would run again here if queued twice)
            assert_eq!(
                observer.polls.load(Ordering::SeqCst),
                2,
                "1,000 wakes, one poll"
            );

            observer.finish.store(true, Ordering::SeqCst);
            waker.wake_by_ref();
            handle.await.unwrap();
            // Wakes after completion, spurious as they are, must do nothing.
            for _ in 0..1_000 {
                waker.wake_by_ref();
            }
            task::yield_now().await;
            task::yield_now().await;
            assert_eq!(observer.polls.load(Ordering::SeqCst), 3);
            assert!(!observer.polled_after_ready.load(Ordering::SeqCst));
        });
    });
}
// ANCHOR_END: duplicate_wakes

/// Lesson #2 under fire: threads wake a task as fast as they can while it
/// runs; its polls never overlap and it is never polled after `Ready`.
#[test]
fn hammered_task_is_never_polled_concurrently_or_after_ready() {
    watchdog(LIMIT, "wake storm", || {
        for round in 0..50 {
            let probe = Probe::new();
            let observer = probe.clone_handles();
            let stop = Arc::new(AtomicBool::new(false));
            block_on(async {
                let handle = spawn(probe);
                task::yield_now().await;
                let hammers: Vec<_> = (0..2)
                    .map(|_| {
                        let waker = observer.waker.lock().clone().unwrap();
                        let stop = stop.clone();
                        thread::spawn(move || {
                            while !stop.load(Ordering::Relaxed) {
                                waker.wake_by_ref();
                            }
                        })
                    })
                    .collect();
                while observer.polls.load(Ordering::SeqCst) < 200 {
                    task::yield_now().await;
                }
                observer.finish.store(true, Ordering::SeqCst);
                handle.await.unwrap();
                for _ in 0..100 {
                    task::yield_now().await;
                }
                stop.store(true, Ordering::Relaxed);
                for hammer in hammers {
                    hammer.join().unwrap();
                }
            });
            assert!(
                !observer.overlapped.load(Ordering::SeqCst),
                "round {round}: overlapping polls"
            );
            assert!(
                !observer.polled_after_ready.load(Ordering::SeqCst),
                "round {round}: polled after Ready"
            );
        }
    });
}

/// Lesson #3: 100,000 values sent from another thread with random gaps to
/// tasks waiting for them. A lost wakeup hangs; the watchdog reports it.
#[test]
fn no_lost_wakeup_over_100_000_cross_thread_wakes() {
    watchdog(LIMIT, "100,000 cross-thread wakes of tasks", || {
        let (requests, incoming) = std::sync::mpsc::channel::<(common::Sender<u64>, u64)>();
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
        block_on(async move {
            let mut rng = Rng::new(42);
            for _ in 0..100_000 {
                let (sender, receiver) = oneshot();
                let gap = rng.below(500);
                let handle = spawn(receiver);
                requests.send((sender, gap)).unwrap();
                assert_eq!(handle.await.unwrap(), gap);
            }
        });
        helper.join().unwrap();
    });
}

/// Lesson #4: a `JoinHandle` polled from one task, then moved to another,
/// wakes the task that polled it last.
#[test]
fn join_handle_wakes_the_latest_poller() {
    let (release, released) = oneshot::<()>();
    let result = watchdog(LIMIT, "a handle moved between tasks", || {
        block_on(async move {
            let mut handle = spawn(async move {
                released.await;
                "finished"
            });
            // Poll the handle once from the main future, with its waker...
            let first =
                std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut handle).poll(cx))).await;
            assert!(first.is_pending());
            // ...then move it into another task, which awaits it.
            let second = spawn(async move { handle.await.unwrap() });
            task::yield_now().await;
            release.send(());
            second.await.unwrap()
        })
    });
    assert_eq!(result, "finished");
}

/// Counts how many of its kind were dropped.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Lesson #9: when `block_on` returns, every unfinished task is dropped:
/// the ones waiting forever, the ones still queued, and the ones that are
/// only reachable through a waker stored inside another task (a cycle).
#[test]
fn unfinished_tasks_are_dropped_when_block_on_returns() {
    watchdog(
        LIMIT,
        "unfinished tasks are dropped when block on returns",
        || {
            let dropped = Arc::new(AtomicUsize::new(0));
            let counter = dropped.clone();
            block_on(async move {
                for _ in 0..1_000 {
                    let guard = DropCounter(counter.clone());
                    spawn(async move {
                        let _guard = guard;
                        pending::<()>().await;
                    });
                }
                // Two tasks that hold each other's wakers: a reference cycle.
                let slot_a: Arc<Mutex<Option<Waker>>> = Default::default();
                let slot_b: Arc<Mutex<Option<Waker>>> = Default::default();
                let pair = [
                    (slot_a.clone(), slot_b.clone()),
                    (slot_b.clone(), slot_a.clone()),
                ];
                for (mine, theirs) in pair {
                    let guard = DropCounter(counter.clone());
                    spawn(async move {
                        let _guard = guard;
                        let _theirs = theirs;
                        std::future::poll_fn(|cx| {
                            *mine.lock() = Some(cx.waker().clone());
                            Poll::<()>::Pending
                        })
                        .await;
                    });
                }
                // Wait until the cycle exists: each task holds the other's
                // waker, and so, through it, the other task.
                while slot_a.lock().is_none() || slot_b.lock().is_none() {
                    task::yield_now().await;
                }
                // Tasks still in the ready queue when the main future finishes.
                for _ in 0..10 {
                    let guard = DropCounter(counter.clone());
                    spawn(async move {
                        let _guard = guard;
                    });
                }
                task::yield_now().await;
                for _ in 0..10 {
                    let guard = DropCounter(counter.clone());
                    spawn(async move {
                        let _guard = guard;
                    });
                }
            });
            assert_eq!(dropped.load(Ordering::SeqCst), 1_022);
        },
    );
}

/// A handle whose task was dropped at shutdown says it was cancelled.
#[test]
#[allow(
    clippy::async_yields_async,
    reason = "the handle is taken out on purpose"
)]
fn handle_of_a_task_dropped_at_shutdown_is_cancelled() {
    watchdog(
        LIMIT,
        "handle of a task dropped at shutdown is cancelled",
        || {
            let handle = block_on(async { spawn(pending::<()>()) });
            let error = block_on(handle).unwrap_err();
            assert!(error.is_cancelled());
            assert!(!error.is_panic());
            assert_eq!(error.to_string(), "task was cancelled");
        },
    );
}

/// Lesson #8: a panicking task gives a `JoinError`; the others go on.
#[test]
fn a_panicking_task_gives_a_join_error_and_the_rest_go_on() {
    watchdog(
        LIMIT,
        "a panicking task gives a join error and the rest go on",
        || {
            let (outcome, after) = block_on(async {
                let bad = spawn(async {
                    task::yield_now().await;
                    panic!("boom");
                });
                let good = spawn(async {
                    for _ in 0..10 {
                        task::yield_now().await;
                    }
                    "still running"
                });
                let outcome = bad.await;
                (outcome, good.await)
            });
            let error = outcome.unwrap_err();
            assert!(error.is_panic());
            assert!(error.to_string().contains("boom"), "{error}");
            assert_eq!(after.unwrap(), "still running");
            // And the next block_on on this thread works as usual.
            assert_eq!(block_on(async { spawn(async { 1 }).await.unwrap() }), 1);
        },
    );
}

#[test]
fn spawn_outside_a_runtime_panics_with_a_clear_message() {
    watchdog(
        LIMIT,
        "spawn outside a runtime panics with a clear message",
        || {
            let panic = std::panic::catch_unwind(|| spawn(async {})).unwrap_err();
            let message = panic_message(&*panic);
            assert!(message.contains("outside of a runtime"), "{message}");
        },
    );
}

#[test]
fn block_on_inside_a_task_panics_with_a_clear_message() {
    watchdog(
        LIMIT,
        "block on inside a task panics with a clear message",
        || {
            let error = block_on(async { spawn(async { block_on(async {}) }).await }).unwrap_err();
            assert!(error.is_panic());
            assert!(
                error
                    .to_string()
                    .contains("block_on called from inside a runtime"),
                "{error}"
            );
        },
    );
}

/// The main future gets its turn even while a task never stops yielding:
/// `block_on` must not run ready tasks for as long as there are any.
#[test]
fn the_main_future_runs_beside_a_task_that_yields_forever() {
    watchdog(LIMIT, "the main future beside a busy task", || {
        block_on(async {
            spawn(async {
                loop {
                    task::yield_now().await;
                }
            });
            for _ in 0..100 {
                task::yield_now().await;
            }
        });
    });
}

/// Lesson #8 at the edge: a destructor that panics, when the task's future
/// finishes or when it is dropped at shutdown, does not take the executor
/// down; the handle says the task did not give its output.
#[test]
fn a_destructor_that_panics_does_not_take_the_executor_down() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("a destructor panicked");
        }
    }
    watchdog(LIMIT, "panicking destructors", || {
        let outcome = block_on(async {
            let finished = spawn(async {
                let _bomb = PanicOnDrop;
            })
            .await;
            // Left unfinished: dropped at shutdown.
            spawn(async {
                let _bomb = PanicOnDrop;
                pending::<()>().await;
            });
            let after = spawn(async { "still running" }).await.unwrap();
            (finished.is_err(), after)
        });
        assert_eq!(outcome, (true, "still running"));
        assert_eq!(block_on(async { spawn(async { 1 }).await.unwrap() }), 1);
    });
}
