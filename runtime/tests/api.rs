//! The runtime's own API: `Runtime` and `Builder`, `abort`, `is_finished`,
//! `into_panic`, `spawn_blocking`, `timeout`, `interval`, and the misuse
//! messages. Lessons #8 (a panic kills a worker) and #9 (no shutdown) for a
//! `Runtime` you build and drop yourself.

mod common;

use std::future::pending;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use common::watchdog;
use runtime::time::{Elapsed, interval, sleep, timeout};
use runtime::{JoinHandle, Runtime, block_on, spawn, task};

const LIMIT: Duration = Duration::from_secs(60);

/// Counts drops of its kind.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Tasks that can only finish if `n` of them run at once.
async fn n_at_once(n: usize) {
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let barrier = barrier.clone();
            spawn(async move {
                barrier.wait();
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
}

#[test]
fn the_builder_sets_the_number_of_workers() {
    watchdog(LIMIT, "three workers", || {
        let runtime = Runtime::builder().worker_threads(3).build().unwrap();
        runtime.block_on(n_at_once(3));
    });
}

#[test]
fn zero_workers_is_refused_with_a_clear_message() {
    let panic = std::panic::catch_unwind(|| Runtime::builder().worker_threads(0)).unwrap_err();
    assert!(panic_message(&*panic).contains("at least one worker"));
}

#[test]
fn runtime_spawn_works_from_any_thread() {
    watchdog(LIMIT, "spawn from plain threads", || {
        let runtime = Arc::new(Runtime::builder().worker_threads(2).build().unwrap());
        let spawners: Vec<thread::JoinHandle<Vec<JoinHandle<usize>>>> = (0..4)
            .map(|t| {
                let runtime = runtime.clone();
                thread::spawn(move || {
                    (0..250)
                        .map(|i| runtime.spawn(async move { t * 1000 + i }))
                        .collect()
                })
            })
            .collect();
        let handles: Vec<JoinHandle<usize>> = spawners
            .into_iter()
            .flat_map(|s| s.join().unwrap())
            .collect();
        let sum: usize = runtime.block_on(async {
            let mut sum = 0;
            for handle in handles {
                sum += handle.await.unwrap();
            }
            sum
        });
        let expected: usize = (0..4)
            .map(|t| (0..250).map(|i| t * 1000 + i).sum::<usize>())
            .sum();
        assert_eq!(sum, expected);
    });
}

#[test]
fn two_threads_can_block_on_one_runtime_at_once() {
    watchdog(LIMIT, "two block_on at once", || {
        let runtime = Arc::new(Runtime::builder().worker_threads(2).build().unwrap());
        let meeting = Arc::new(Barrier::new(2));
        let others: Vec<_> = (0..2)
            .map(|i| {
                let runtime = runtime.clone();
                let meeting = meeting.clone();
                thread::spawn(move || {
                    runtime.block_on(async move {
                        let value = spawn(async move { i * 10 }).await.unwrap();
                        task::spawn_blocking(move || meeting.wait()).await.unwrap();
                        value
                    })
                })
            })
            .collect();
        let values: Vec<i32> = others.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(values, [0, 10]);
    });
}

/// Lesson #9: dropping a runtime with 1,000 unfinished tasks drops all
/// 1,000 futures, whatever they were waiting for.
#[test]
fn dropping_a_runtime_drops_every_unfinished_task() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let counter = dropped.clone();
    watchdog(LIMIT, "dropping a busy runtime", move || {
        let runtime = Runtime::builder().worker_threads(2).build().unwrap();
        for i in 0..1_000 {
            let guard = DropCounter(counter.clone());
            runtime.spawn(async move {
                let _guard = guard;
                match i % 4 {
                    0 => pending::<()>().await,
                    1 => sleep(Duration::from_secs(3600)).await,
                    2 => loop {
                        task::yield_now().await;
                    },
                    _ => {
                        let listener = runtime::net::TcpListener::bind("127.0.0.1:0")
                            .await
                            .unwrap();
                        let _ = listener.accept().await;
                    }
                }
            });
        }
        runtime.block_on(sleep(Duration::from_millis(50)));
        drop(runtime);
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 1_000);
}

/// Lesson #8: a panicking task gives a `JoinError` whose payload can be
/// taken back, and every worker goes on running tasks.
/// Lesson #8: a worker that fires a timer whose waker panics goes on. If it
/// died, the runtime would say so as it shuts down, at the end of
/// `block_on`.
#[test]
fn a_timer_waker_that_panics_does_not_take_a_worker_down() {
    use std::future::Future;

    watchdog(LIMIT, "a timer with a panicking waker", || {
        block_on(async {
            let waker = common::panicking_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            let mut nap = Box::pin(sleep(Duration::from_millis(5)));
            assert!(nap.as_mut().poll(&mut cx).is_pending());
            // Meanwhile the nap's deadline passes, and a worker wakes it.
            sleep(Duration::from_millis(50)).await;
            for _ in 0..8 {
                assert_eq!(spawn(async { 1 }).await.unwrap(), 1);
            }
            drop(nap);
        });
    });
}

/// Lesson #8 for the reactor: a worker that dispatches an event to a
/// waker that panics goes on.
#[test]
fn an_io_waker_that_panics_does_not_take_a_worker_down() {
    use std::future::Future;

    watchdog(LIMIT, "a socket with a panicking waker", || {
        block_on(async {
            let listener = runtime::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap();
            let address = listener.local_addr().unwrap();
            let waker = common::panicking_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            let mut accept = Box::pin(listener.accept());
            assert!(accept.as_mut().poll(&mut cx).is_pending());
            // A connection comes in: the reactor wakes the accept's waker.
            let _client = std::net::TcpStream::connect(address).unwrap();
            sleep(Duration::from_millis(50)).await;
            for _ in 0..8 {
                assert_eq!(spawn(async { 1 }).await.unwrap(), 1);
            }
            drop(accept);
        });
    });
}

#[test]
fn a_panic_becomes_a_join_error_and_every_worker_goes_on() {
    watchdog(LIMIT, "panics", || {
        let runtime = Runtime::builder().worker_threads(2).build().unwrap();
        runtime.block_on(async {
            for i in 0..20 {
                let error = spawn(async move { panic!("task {i} failed") })
                    .await
                    .unwrap_err();
                assert!(error.is_panic());
                assert!(!error.is_cancelled());
                assert_eq!(
                    panic_message(&*error.into_panic()),
                    format!("task {i} failed")
                );
            }
            n_at_once(2).await;
        });
    });
}

#[test]
fn into_panic_on_a_cancelled_task_says_why_it_panics() {
    let error = block_on(async {
        let handle = spawn(pending::<()>());
        handle.abort();
        handle.await.unwrap_err()
    });
    assert!(error.is_cancelled());
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || error.into_panic()))
        .unwrap_err();
    assert!(panic_message(&*panic).contains("cancelled"));
}

#[test]
fn abort_drops_the_future_and_the_handle_says_cancelled() {
    watchdog(LIMIT, "abort", || {
        block_on(async {
            for case in 0..3 {
                let dropped = Arc::new(AtomicUsize::new(0));
                let guard = DropCounter(dropped.clone());
                let handle = spawn(async move {
                    let _guard = guard;
                    match case {
                        0 => pending::<()>().await,
                        1 => sleep(Duration::from_secs(3600)).await,
                        _ => loop {
                            task::yield_now().await; // busy: aborted between polls
                        },
                    }
                });
                sleep(Duration::from_millis(5)).await;
                assert!(!handle.is_finished());
                handle.abort();
                handle.abort(); // twice is harmless
                let error = handle.await.unwrap_err();
                assert!(error.is_cancelled(), "case {case}: {error}");
                assert_eq!(
                    dropped.load(Ordering::SeqCst),
                    1,
                    "case {case}: the future was not dropped"
                );
            }
        });
    });
}

#[test]
fn abort_after_the_task_finished_keeps_its_output() {
    watchdog(LIMIT, "abort after finish", || {
        block_on(async {
            let handle = spawn(async { 5 });
            while !handle.is_finished() {
                task::yield_now().await;
            }
            handle.abort();
            assert_eq!(handle.await.unwrap(), 5);
        });
    });
}

#[test]
fn spawn_blocking_returns_values_and_panics() {
    watchdog(LIMIT, "spawn_blocking", || {
        block_on(async {
            assert_eq!(task::spawn_blocking(|| 6 * 7).await.unwrap(), 42);
            let error = task::spawn_blocking(|| panic!("blocking boom"))
                .await
                .unwrap_err();
            assert!(error.is_panic());
            assert_eq!(panic_message(&*error.into_panic()), "blocking boom");
            // A blocking thread may spawn tasks, and even block_on.
            let nested = task::spawn_blocking(|| {
                let handle = spawn(async { 1 });
                let inner = block_on(async { spawn(async { 2 }).await.unwrap() });
                (handle, inner)
            })
            .await
            .unwrap();
            assert_eq!(nested.0.await.unwrap() + nested.1, 3);
        });
    });
}

/// Shutdown drops the unfinished tasks before it waits for the running
/// blocking jobs: a job that waits on a channel whose sender a pending task
/// holds is released by that drop. Joining the jobs first hung for ever.
#[test]
fn dropping_a_runtime_releases_a_blocking_job_that_waits_on_one_of_its_tasks() {
    watchdog(
        LIMIT,
        "a runtime whose blocking job waits on a task",
        || {
            let runtime = Runtime::builder().worker_threads(2).build().unwrap();
            let (sender, receiver) = std::sync::mpsc::channel::<()>();
            let started = Arc::new(Barrier::new(2));
            runtime.spawn(async move {
                let _sender = sender;
                pending::<()>().await;
            });
            // The handle is what we want, not the job's output: it is awaited later.
            #[allow(clippy::async_yields_async)]
            let job = runtime.block_on({
                let started = started.clone();
                async move {
                    task::spawn_blocking(move || {
                        started.wait();
                        receiver.recv()
                    })
                }
            });
            started.wait(); // the job is running, about to wait in `recv`
            drop(runtime);
            let received = block_on(job).expect("the blocking job did not finish");
            assert!(
                received.is_err(),
                "the job must have been released by the sender's drop"
            );
        },
    );
}

/// The pool grows on demand: eight jobs that must all run at once.
#[test]
fn the_blocking_pool_grows_to_run_jobs_at_once() {
    watchdog(LIMIT, "eight blocking jobs at once", || {
        let runtime = Runtime::builder().worker_threads(1).build().unwrap();
        runtime.block_on(async {
            let barrier = Arc::new(Barrier::new(8));
            let jobs: Vec<_> = (0..8)
                .map(|_| {
                    let barrier = barrier.clone();
                    task::spawn_blocking(move || barrier.wait())
                })
                .collect();
            for job in jobs {
                job.await.unwrap();
            }
        });
    });
}

/// `abort` skips a blocking job that has not started: with every one of the
/// pool's 512 threads held at a barrier, a 513th job waits in the queue, is
/// aborted there, and must never run.
#[test]
fn an_aborted_blocking_job_that_has_not_started_never_runs() {
    const POOL: usize = 512; // the pool's limit on threads
    watchdog(LIMIT, "an aborted blocking job in the queue", || {
        block_on(async {
            let barrier = Arc::new(Barrier::new(POOL + 1));
            let busy: Vec<_> = (0..POOL)
                .map(|_| {
                    let barrier = barrier.clone();
                    task::spawn_blocking(move || {
                        barrier.wait();
                    })
                })
                .collect();
            let ran = Arc::new(AtomicUsize::new(0));
            let queued = {
                let ran = ran.clone();
                task::spawn_blocking(move || ran.fetch_add(1, Ordering::SeqCst))
            };
            queued.abort();
            // Every thread of the pool is taken, so only this thread can
            // release them; the runtime's worker does not need it meanwhile.
            barrier.wait();
            let error = queued
                .await
                .expect_err("the aborted job ran: it was not skipped");
            assert!(error.is_cancelled(), "{error}");
            for job in busy {
                job.await.unwrap();
            }
            assert_eq!(ran.load(Ordering::SeqCst), 0, "the aborted job ran");
        });
    });
}

/// A blocking job that has started can't be stopped: `abort` then changes
/// nothing, and the handle gets the job's result.
#[test]
fn an_aborted_blocking_job_that_has_started_runs_to_its_end() {
    watchdog(LIMIT, "an aborted blocking job that runs", || {
        block_on(async {
            let (started, has_started) = std::sync::mpsc::channel::<()>();
            let (release, released) = std::sync::mpsc::channel::<()>();
            let job = task::spawn_blocking(move || {
                started.send(()).unwrap();
                released.recv().unwrap();
                7
            });
            has_started.recv().unwrap();
            job.abort();
            release.send(()).unwrap();
            assert_eq!(job.await.unwrap(), 7);
        });
    });
}

// ANCHOR: blocking_work
/// Blocking work never stalls async tasks, even with a single worker.
#[test]
fn blocking_work_does_not_stall_tasks() {
    watchdog(LIMIT, "tasks beside blocking work", || {
        let runtime = Runtime::builder().worker_threads(1).build().unwrap();
        runtime.block_on(async {
            let (release, released) = std::sync::mpsc::channel::<()>();
            let blocked = task::spawn_blocking(move || released.recv());
            // With the only worker blocked, these would never run.
            for i in 0..100 {
                assert_eq!(spawn(async move { i }).await.unwrap(), i);
            }
            sleep(Duration::from_millis(5)).await;
            release.send(()).unwrap();
            blocked.await.unwrap().unwrap();
        });
    });
}
// ANCHOR_END: blocking_work

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
            let error = result.unwrap_err();
            assert_eq!(error.to_string(), "deadline has elapsed");
            let io_error: std::io::Error = error.into();
            assert_eq!(io_error.kind(), std::io::ErrorKind::TimedOut);
        });
    });
}

/// On an idle machine: ticks at 0 and 20 ms, 70 ms of blocking, then the
/// tick due at 40 ms at once, and the next at 100 ms. The assertions hold
/// however late a loaded machine runs the task: every tick is on the
/// schedule, and none after the busy time is already past.
#[test]
fn interval_ticks_on_its_schedule_and_skips_missed_ticks() {
    watchdog(LIMIT, "interval", || {
        block_on(async {
            let period = Duration::from_millis(20);
            let mut ticks = interval(period);
            let start = Instant::now();
            let first = ticks.tick().await;
            assert!(
                start.elapsed() < Duration::from_secs(1),
                "the first tick is at once"
            );
            let on_schedule =
                |tick: Instant| (tick - first).as_nanos().is_multiple_of(period.as_nanos());
            let second = ticks.tick().await;
            assert!(
                second > first && on_schedule(second),
                "{:?}",
                second - first
            );
            assert!(Instant::now() >= second, "a tick came early");
            // Busy for three and a half periods: ticks fall due meanwhile.
            thread::sleep(period * 7 / 2);
            let busy_end = Instant::now();
            // The one due during the busy time comes at once...
            let late = ticks.tick().await;
            assert!(late < busy_end && on_schedule(late), "{:?}", late - first);
            // ...and the others are skipped, not fired in a burst.
            let next = ticks.tick().await;
            assert!(
                next >= busy_end,
                "a missed tick fired late, {:?} after the first",
                next - first
            );
            assert!(on_schedule(next), "{:?}: off the schedule", next - first);
        });
    });
}

#[test]
fn a_zero_interval_is_refused_with_a_clear_message() {
    let panic = std::panic::catch_unwind(|| interval(Duration::ZERO)).unwrap_err();
    assert!(panic_message(&*panic).contains("greater than zero"));
}

#[test]
fn dropping_a_runtime_inside_its_own_task_panics_with_a_clear_message() {
    watchdog(LIMIT, "a runtime dropped by its own task", || {
        let runtime = Runtime::builder().worker_threads(1).build().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel::<Runtime>();
        let receiver = Arc::new(parking_lot::Mutex::new(receiver));
        let handle = runtime.spawn(async move {
            let runtime = receiver.lock().recv().unwrap();
            drop(runtime);
        });
        sender.send(runtime).unwrap();
        // No runtime on this thread any more: wait for the handle with a
        // fresh one.
        let error = block_on(handle).unwrap_err();
        assert!(error.is_panic());
        assert!(
            error
                .to_string()
                .contains("dropped inside one of its own tasks"),
            "{error}"
        );
    });
}

#[test]
fn the_public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Runtime>();
    send_sync::<runtime::Builder>();
    send_sync::<JoinHandle<u32>>();
    send_sync::<runtime::JoinError>();
    send_sync::<runtime::time::Sleep>();
    send_sync::<Elapsed>();
    send::<runtime::time::Interval>();
    send::<runtime::time::Timeout<runtime::time::Sleep>>();
}
