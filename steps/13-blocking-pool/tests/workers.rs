//! Worker threads against the bug classes they could have (see the book's
//! appendix "Bugs this book guards against"):
//! #3 (a lost wakeup between "the queue is empty" and "park", now between
//! threads), #7 (a parked timekeeper that misses an earlier deadline) and
//! #8 (a panic kills a worker).

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use common::watchdog;
use parking_lot::Mutex;
use runtime::{block_on, spawn, time};

const LIMIT: Duration = Duration::from_secs(60);

fn worker_count() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// Spawns one task per worker that can only finish if every worker runs
/// one of them at the same time; returns the names of the threads.
async fn one_task_per_worker_at_once() -> HashSet<String> {
    let workers = worker_count();
    let barrier = Arc::new(Barrier::new(workers));
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let barrier = barrier.clone();
            spawn(async move {
                barrier.wait();
                thread::current().name().unwrap_or_default().to_string()
            })
        })
        .collect();
    let mut names = HashSet::new();
    for handle in handles {
        names.insert(handle.await.unwrap());
    }
    names
}

/// Lesson #3 between threads: a burst of spawns must wake every idle
/// worker, not notify the same one twice while another sleeps on. If a
/// wake is lost, the tasks never all meet at the barrier and this hangs.
#[test]
fn a_burst_of_tasks_wakes_every_idle_worker() {
    watchdog(LIMIT, "1,000 bursts of one task per worker", || {
        block_on(async {
            for _ in 0..1_000 {
                let names = one_task_per_worker_at_once().await;
                assert_eq!(
                    names.len(),
                    worker_count(),
                    "every worker ran one: {names:?}"
                );
                // Let the workers go idle again before the next burst.
                time::sleep(Duration::from_micros(100)).await;
            }
        });
    });
}

#[test]
fn tasks_run_on_more_than_one_thread() {
    if worker_count() < 2 {
        eprintln!("skipped: this machine has one core, so the runtime has one worker");
        return;
    }
    let names = watchdog(LIMIT, "tasks on several threads", || {
        block_on(one_task_per_worker_at_once())
    });
    assert!(names.len() >= 2, "{names:?}");
    assert!(
        names.iter().all(|name| name.starts_with("runtime-worker-")),
        "{names:?}"
    );
}

/// Lesson #7 with workers: the timekeeper is parked until a deadline an
/// hour away; a new, earlier timer must wake it, not wait behind it.
#[test]
fn an_earlier_timer_wakes_the_parked_timekeeper() {
    watchdog(LIMIT, "an earlier timer", || {
        block_on(async {
            let _far = spawn(time::sleep(Duration::from_secs(3600)));
            // Let every worker go idle: one of them parks as timekeeper
            // with the hour-long timeout.
            thread::sleep(Duration::from_millis(50));
            let start = Instant::now();
            spawn(time::sleep(Duration::from_millis(20))).await.unwrap();
            let took = start.elapsed();
            // A generous sanity bound on a noisy machine, not a timing claim.
            assert!(took < Duration::from_secs(5), "a 20 ms sleep took {took:?}");
        });
    });
}

/// Lesson #8: panicking tasks leave every worker alive and working.
#[test]
fn panics_leave_every_worker_running() {
    watchdog(LIMIT, "tasks after panics", || {
        block_on(async {
            let panics: Vec<_> = (0..worker_count() * 8)
                .map(|i| spawn(async move { panic!("task {i} fails") }))
                .collect();
            for handle in panics {
                assert!(handle.await.unwrap_err().is_panic());
            }
            // Every worker must still be there to meet at the barrier.
            let names = one_task_per_worker_at_once().await;
            assert_eq!(names.len(), worker_count());
        });
    });
}

/// Tasks woken from the `block_on` thread, from workers and from plain
/// threads all get run: 1,000 tasks pass a token around a ring.
#[test]
fn a_token_passes_around_a_ring_of_tasks() {
    let log = Arc::new(Mutex::new(0u32));
    watchdog(LIMIT, "a ring of 1,000 tasks", move || {
        block_on(async move {
            let (first_sender, mut receiver) = common::oneshot::<u32>();
            let mut handles = Vec::new();
            for _ in 0..1_000 {
                let (sender, next) = common::oneshot::<u32>();
                let log = log.clone();
                handles.push(spawn(async move {
                    let token = receiver.await;
                    *log.lock() += 1;
                    sender.send(token + 1);
                }));
                receiver = next;
            }
            thread::spawn(move || first_sender.send(0));
            assert_eq!(receiver.await, 1_000);
            for handle in handles {
                handle.await.unwrap();
            }
        });
    });
}

/// Tasks spawned by a task go into its worker's own queue: the other
/// workers must steal them, or they would all run on one thread and never
/// meet at the barrier.
#[test]
fn tasks_spawned_by_a_task_are_stolen_by_idle_workers() {
    watchdog(LIMIT, "stealing", || {
        block_on(async {
            for _ in 0..200 {
                let names = spawn(one_task_per_worker_at_once()).await.unwrap();
                assert_eq!(names.len(), worker_count());
                time::sleep(Duration::from_micros(100)).await;
            }
        });
    });
}

/// Every worker's own queue stays full (its tasks keep yielding), and a
/// task queued from outside, in the shared injector, must still run: a
/// worker that only looked there when its own queue was empty would never
/// get to it.
#[test]
fn a_task_from_outside_runs_while_every_local_queue_is_busy() {
    use std::sync::atomic::{AtomicBool, Ordering};
    watchdog(LIMIT, "the injector beside busy local queues", || {
        block_on(async {
            let stop = Arc::new(AtomicBool::new(false));
            let busy: Vec<_> = (0..worker_count() * 2)
                .map(|_| {
                    let stop = stop.clone();
                    spawn(async move {
                        while !stop.load(Ordering::Relaxed) {
                            runtime::task::yield_now().await;
                        }
                    })
                })
                .collect();
            // Spawned from the block_on thread: into the injector.
            for i in 0..100 {
                assert_eq!(spawn(async move { i }).await.unwrap(), i);
            }
            stop.store(true, Ordering::Relaxed);
            for task in busy {
                task.await.unwrap();
            }
        });
    });
}
