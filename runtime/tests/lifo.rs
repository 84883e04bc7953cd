//! The LIFO slot: a task woken by the task a worker runs runs next on that
//! worker, and two tasks that keep waking each other cannot starve the rest
//! of the worker's queue.

mod common;

use std::future::poll_fn;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Poll, Waker};
use std::time::Duration;

use common::{oneshot, watchdog};
use parking_lot::Mutex;
use runtime::{Runtime, task};

const LIMIT: Duration = Duration::from_secs(60);

/// One worker, so the order tasks run in is the order its queue gives.
fn one_worker() -> Runtime {
    Runtime::builder()
        .worker_threads(1)
        .build()
        .expect("a runtime")
}

/// A task woken by the running task runs before the tasks that were queued
/// before the wake: it is the one whose data is in the cache.
#[test]
fn a_task_woken_by_the_running_task_runs_next() {
    watchdog(LIMIT, "the woken task runs next", || {
        let runtime = one_worker();
        let order = Arc::new(Mutex::new(Vec::new()));
        let main = runtime.spawn({
            let order = order.clone();
            async move {
                let (wake, woken) = oneshot::<()>();
                let waiter = runtime::spawn({
                    let order = order.clone();
                    async move {
                        woken.await;
                        order.lock().push("woken");
                    }
                });
                // Let the waiter run and wait.
                task::yield_now().await;
                let queued: Vec<_> = (0..3)
                    .map(|_| {
                        let order = order.clone();
                        runtime::spawn(async move { order.lock().push("queued") })
                    })
                    .collect();
                wake.send(());
                waiter.await.unwrap();
                for handle in queued {
                    handle.await.unwrap();
                }
            }
        });
        runtime.block_on(main).unwrap();
        assert_eq!(*order.lock(), ["woken", "queued", "queued", "queued"]);
    });
}

/// Two tasks that wake each other for ever would take turns in the LIFO
/// slot for ever; the slot gives way after a few runs, so a third task,
/// queued on the same worker, runs and stops them.
#[test]
fn two_tasks_waking_each_other_do_not_starve_the_queue() {
    watchdog(LIMIT, "a partner-waking pair beside a queued task", || {
        let runtime = one_worker();
        let stop = Arc::new(AtomicBool::new(false));
        let wakers: Arc<Mutex<[Option<Waker>; 2]>> = Arc::default();
        let main = runtime.spawn({
            let stop = stop.clone();
            async move {
                let pair: Vec<_> = (0..2)
                    .map(|me| {
                        let (stop, wakers) = (stop.clone(), wakers.clone());
                        runtime::spawn(poll_fn(move |cx| {
                            let partner = {
                                let mut wakers = wakers.lock();
                                wakers[me] = Some(cx.waker().clone());
                                wakers[1 - me].clone()
                            };
                            if let Some(partner) = partner {
                                partner.wake();
                            }
                            if stop.load(Ordering::SeqCst) {
                                Poll::Ready(())
                            } else {
                                Poll::Pending
                            }
                        }))
                    })
                    .collect();
                // Queued behind the pair, on the same worker.
                let stopper = runtime::spawn(async move { stop.store(true, Ordering::SeqCst) });
                stopper.await.unwrap();
                for handle in pair {
                    handle.await.unwrap();
                }
            }
        });
        runtime.block_on(main).unwrap();
        assert!(stop.load(Ordering::SeqCst));
    });
}
