//! The runtime's own API: `Runtime` and `Builder`, and the misuse messages
//! they add. Lessons #8 (a panic kills a worker) and #9 (no shutdown) for a
//! `Runtime` you build and drop yourself. (`abort`, `timeout`, `interval`
//! and `spawn_blocking` are tried by the test files of stages 11 to 13,
//! here unchanged.)

mod common;

use std::future::pending;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::{panic_message, watchdog};
use runtime::time::{Elapsed, sleep};
use runtime::{JoinHandle, Runtime, block_on, spawn, task};

const LIMIT: Duration = Duration::from_secs(60);

/// Counts drops of its kind.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
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
