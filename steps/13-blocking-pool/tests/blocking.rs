//! `task::spawn_blocking`: blocking work on a pool of threads of its own.
//! Lessons #1 and #3 (a wake lost between the job's end and the handle's
//! poll), #8 (a panic) and #9 (shutdown) for blocking jobs.

mod common;

use std::collections::HashSet;
use std::future::pending;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::Duration;

use common::{panic_message, watchdog};
use runtime::{block_on, spawn, task, time};

const LIMIT: Duration = Duration::from_secs(60);

/// Lesson #8 for a job: its value comes back; its panic comes back as a
/// `JoinError` with `is_panic()` and the message, and the pool runs the
/// next jobs.
#[test]
fn spawn_blocking_returns_values_and_panics() {
    watchdog(LIMIT, "spawn_blocking", || {
        block_on(async {
            assert_eq!(task::spawn_blocking(|| 6 * 7).await.unwrap(), 42);
            let error = task::spawn_blocking(|| panic!("blocking boom"))
                .await
                .unwrap_err();
            assert!(error.is_panic() && !error.is_cancelled());
            assert_eq!(
                error.to_string(),
                "task panicked with message \"blocking boom\""
            );
            // The pool survives its job's panic: the next jobs run.
            for i in 0..10 {
                assert_eq!(task::spawn_blocking(move || i).await.unwrap(), i);
            }
        });
    });
}

/// A job runs with its runtime as the thread's context, as a thread that
/// may block: it spawns a task, and calls `block_on` itself.
#[test]
fn a_blocking_job_may_spawn_tasks_and_even_block_on() {
    watchdog(LIMIT, "spawn and block_on in a blocking job", || {
        block_on(async {
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

/// Misuse gets a clear message: `spawn_blocking` with no runtime panics,
/// saying "outside of a runtime".
#[test]
fn spawn_blocking_outside_a_runtime_panics_with_a_clear_message() {
    let panic = std::panic::catch_unwind(|| task::spawn_blocking(|| ())).unwrap_err();
    let message = panic_message(&*panic);
    assert!(message.contains("outside of a runtime"), "{message}");
}

// ANCHOR: blocking_work
/// Blocking work never stalls async tasks: more jobs than there are
/// workers, spawned from tasks, all block until the tasks that run
/// meanwhile let them go.
#[test]
fn blocking_jobs_do_not_stall_tasks() {
    watchdog(LIMIT, "tasks beside blocking work", || {
        block_on(async {
            let workers = thread::available_parallelism().map_or(1, |n| n.get());
            let jobs = 2 * workers + 2;
            let (release, released) = mpsc::channel::<()>();
            let released = Arc::new(parking_lot::Mutex::new(released));
            let blocked: Vec<_> = (0..jobs)
                .map(|_| {
                    let released = released.clone();
                    spawn(async move { task::spawn_blocking(move || released.lock().recv()).await })
                })
                .collect();
            // With every worker blocked, these would never run.
            for i in 0..100 {
                assert_eq!(spawn(async move { i }).await.unwrap(), i);
            }
            time::sleep(Duration::from_millis(5)).await;
            for _ in 0..jobs {
                release.send(()).unwrap();
            }
            for job in blocked {
                job.await.unwrap().unwrap().unwrap();
            }
        });
    });
}
// ANCHOR_END: blocking_work

/// Lesson #1 and lesson #3: the job finishes on its thread while the task that
/// awaits its handle is being polled, parked or woken on a worker. Each
/// handle must wake its task, every time: one lost wake hangs the test.
#[test]
fn every_handle_wakes_its_task_when_the_job_finishes() {
    watchdog(LIMIT, "10,000 blocking jobs awaited", || {
        block_on(async {
            // One after the other: the job races the first poll.
            for i in 0..5_000u32 {
                assert_eq!(task::spawn_blocking(move || i).await.unwrap(), i);
            }
            // Many at once, each awaited by a task of its own.
            let tasks: Vec<_> = (0..5_000u32)
                .map(|i| {
                    spawn(async move {
                        let job = task::spawn_blocking(move || i * 2);
                        job.await.unwrap()
                    })
                })
                .collect();
            for (i, task) in (0..).zip(tasks) {
                assert_eq!(task.await.unwrap(), i * 2);
            }
        });
    });
}

/// A job that comes while a thread of the pool is idle goes to that
/// thread: 100 jobs one after the other run on a few threads, not on a
/// thread each. (A few, not one: a job may come while the thread that ran
/// the last one is still handing over its result, not idle yet; the pause
/// between jobs makes that rare, on a busy machine too.)
#[test]
fn an_idle_thread_takes_the_next_job() {
    watchdog(LIMIT, "jobs one after the other", || {
        block_on(async {
            let mut threads = HashSet::new();
            for _ in 0..100 {
                let id = task::spawn_blocking(|| thread::current().id())
                    .await
                    .unwrap();
                threads.insert(id);
                time::sleep(Duration::from_millis(1)).await;
            }
            let threads = threads.len();
            assert!(threads < 50, "100 jobs in turn started {threads} threads");
        });
    });
}

/// The pool grows on demand: eight jobs that must all run at once.
#[test]
fn the_blocking_pool_grows_to_run_jobs_at_once() {
    watchdog(LIMIT, "eight blocking jobs at once", || {
        block_on(async {
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

/// The pool's threads are capped: 1,000 jobs that each block for a while
/// never run more than 512 at once, and every one of them runs.
#[test]
fn at_most_512_jobs_run_at_once_and_the_rest_wait_their_turn() {
    watchdog(LIMIT, "1,000 blocking jobs", || {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let done = block_on({
            let (running, most) = (running.clone(), most.clone());
            async move {
                let jobs: Vec<_> = (0..1_000)
                    .map(|_| {
                        let (running, most) = (running.clone(), most.clone());
                        task::spawn_blocking(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            thread::sleep(Duration::from_millis(20));
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                    })
                    .collect();
                let mut done = 0;
                for job in jobs {
                    job.await.unwrap();
                    done += 1;
                }
                done
            }
        });
        assert_eq!(done, 1_000);
        let most = most.load(Ordering::SeqCst);
        assert!(most <= 512, "{most} blocking jobs ran at once");
        assert!(most > 1, "the pool never grew");
    });
}

/// Lesson #9: `block_on` returns only once the running jobs have finished:
/// none is left running, unseen, after the runtime is gone.
#[test]
fn shutdown_waits_for_the_running_jobs() {
    watchdog(LIMIT, "shutdown with a job running", || {
        let finished = Arc::new(AtomicBool::new(false));
        block_on({
            let finished = finished.clone();
            async move {
                let started = Arc::new(Barrier::new(2));
                let job_started = started.clone();
                task::spawn_blocking(move || {
                    job_started.wait();
                    thread::sleep(Duration::from_millis(50));
                    finished.store(true, Ordering::SeqCst);
                });
                // Return while the job runs.
                task::spawn_blocking(move || started.wait()).await.unwrap();
            }
        });
        assert!(
            finished.load(Ordering::SeqCst),
            "block_on returned before the running blocking job finished"
        );
    });
}

/// Shutdown drops the unfinished tasks before it waits for the running
/// blocking jobs: a job that waits on a channel whose sender a pending task
/// holds is released by that drop. Joining the jobs first hung for ever.
#[test]
fn shutdown_releases_a_blocking_job_that_waits_on_one_of_its_tasks() {
    watchdog(
        LIMIT,
        "a runtime whose blocking job waits on a task",
        || {
            let (sender, receiver) = mpsc::channel::<()>();
            // The handle is what we want, not the job's output: it is awaited later.
            #[allow(clippy::async_yields_async)]
            let job = block_on(async move {
                spawn(async move {
                    let _sender = sender;
                    pending::<()>().await;
                });
                let started = Arc::new(Barrier::new(2));
                let job_started = started.clone();
                let job = task::spawn_blocking(move || {
                    job_started.wait();
                    receiver.recv()
                });
                // Return while the job waits in `recv`.
                task::spawn_blocking(move || started.wait()).await.unwrap();
                job
            });
            let received =
                futures::executor::block_on(job).expect("the blocking job did not finish");
            assert!(
                received.is_err(),
                "the job must have been released by the sender's drop"
            );
        },
    );
}

/// A job still queued when the runtime shuts down is dropped, and its
/// handle says so: it resolves, as cancelled, instead of waiting for ever.
/// Each round returns from `block_on` right after spawning the job, which
/// has or has not started by then.
#[test]
fn a_job_queued_at_shutdown_resolves_its_handle() {
    watchdog(LIMIT, "jobs left at shutdown", || {
        let (mut ran, mut cancelled) = (0, 0);
        for _ in 0..500 {
            #[allow(clippy::async_yields_async)]
            let job = block_on(async { task::spawn_blocking(|| 1) });
            match futures::executor::block_on(job) {
                Ok(1) => ran += 1,
                Err(error) if error.is_cancelled() => cancelled += 1,
                other => panic!("unexpected result: {other:?}"),
            }
        }
        assert_eq!(ran + cancelled, 500);
    });
}

/// `abort` (stage 11) skips a blocking job that has not started: with every one of the
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
