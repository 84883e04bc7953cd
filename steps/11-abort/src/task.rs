//! Tasks: a spawned future, the state machine that schedules it, its
//! waker and its output, all in one allocation. The public part of this
//! module is [`yield_now`].

// This is the bottom layer of the runtime: it knows nothing of workers,
// queues or the reactor. What it needs from the executor that runs it is
// the `Schedule` trait below, the one call that goes back up the layers: a
// woken task asks to be queued.

mod cell;
mod pinned;
mod state;
mod yield_now;

pub use yield_now::yield_now;

pub(crate) use cell::TaskCell;

use std::sync::Arc;

// ANCHOR: task
/// What the executor sees of a task, whatever the type of its future: it
/// can run it, and drop its future at shutdown. The queues and the set of
/// live tasks hold `Arc<Task>`.
pub(crate) type Task = dyn Runnable;

/// A task with its future's type forgotten.
pub(crate) trait Runnable: Send + Sync {
    /// Polls the task once. Called by the executor after popping it from
    /// the ready queue.
    fn run(self: Arc<Self>);
    /// Drops the future without polling it again (executor shutdown): its
    /// handle resolves as cancelled.
    fn drop_future(&self);
}

/// What a task needs from the executor that runs it.
pub(crate) trait Schedule: Send + Sync + 'static {
    /// Queues a woken task, to be run once.
    fn schedule(&self, task: Arc<Task>);
    /// Forgets a task that has completed: `key` is the one the task was
    /// created with.
    fn release(&self, key: usize);
}
// ANCHOR_END: task

/// These run under Miri too (`ci/test`), which checks the `unsafe` pin
/// in `pinned.rs`: a future that moved after its first poll would leave its
/// references to itself dangling, and Miri reports any use of one.
#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use crate::{block_on, spawn, task};

    /// Small counts under Miri, which runs this code a thousand times slower.
    fn scaled(n: usize) -> usize {
        if cfg!(miri) { n / 50 + 1 } else { n }
    }

    /// An `async` block that holds a reference to its own local across
    /// `.await`s: it must stay where it was first polled, while it is woken
    /// and polled by either worker.
    #[test]
    fn a_future_that_borrows_from_itself_is_polled_in_place() {
        let yields = scaled(200);
        let sums = block_on(async move {
            let handles: Vec<_> = (0..4u64)
                .map(|n| {
                    spawn(async move {
                        let numbers = [n; 16];
                        let view = &numbers;
                        for _ in 0..yields {
                            task::yield_now().await;
                        }
                        view.iter().sum::<u64>()
                    })
                })
                .collect();
            let mut sums = Vec::new();
            for handle in handles {
                sums.push(handle.await.unwrap());
            }
            sums
        });
        assert_eq!(sums, [0, 16, 32, 48]);
    }

    /// The handle's waker may be anybody's. One that panics when the task
    /// finishes must not take the worker down (lesson #8): if it did, the
    /// runtime would say so when it shuts down, at the end of `block_on`.
    #[test]
    fn a_handle_waker_that_panics_does_not_take_a_worker_down() {
        use std::future::Future;

        struct PanicOnWake;
        impl std::task::Wake for PanicOnWake {
            fn wake(self: Arc<Self>) {
                panic!("this waker panics");
            }
        }
        let waker = std::task::Waker::from(Arc::new(PanicOnWake));
        let output = block_on(async move {
            let (send, receive) = futures::channel::oneshot::channel::<()>();
            let mut handle = spawn(async move {
                receive.await.unwrap();
                7
            });
            let mut cx = std::task::Context::from_waker(&waker);
            assert!(std::pin::Pin::new(&mut handle).poll(&mut cx).is_pending());
            // The task finishes and wakes the panicking waker.
            send.send(()).unwrap();
            for _ in 0..8 {
                assert_eq!(spawn(async { 1 }).await.unwrap(), 1);
            }
            handle.await.unwrap()
        });
        assert_eq!(output, 7);
    }

    /// A task whose handle was dropped drops its own output as it finishes,
    /// inside its catch: an output whose destructor panics must not take
    /// the worker down (lesson #8), as it would if it were dropped with the
    /// task's last reference, on the worker, after `run`.
    #[test]
    fn a_detached_task_whose_output_panics_when_dropped_does_not_take_a_worker_down() {
        struct PanicOnDrop;
        impl Drop for PanicOnDrop {
            fn drop(&mut self) {
                panic!("this output panics when dropped");
            }
        }
        block_on(async {
            let (send, receive) = futures::channel::oneshot::channel::<()>();
            drop(spawn(async move {
                receive.await.unwrap();
                PanicOnDrop
            }));
            send.send(()).unwrap();
            for _ in 0..8 {
                assert_eq!(spawn(async { 1 }).await.unwrap(), 1);
            }
        });
    }

    /// Every future is dropped exactly once: after it completes, after it
    /// panics, or, unfinished, when its runtime goes away; and each handle
    /// says which.
    #[test]
    fn every_future_is_dropped_once_and_its_handle_told_why() {
        struct CountDrop(Arc<AtomicUsize>);
        impl Drop for CountDrop {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let drops = Arc::new(AtomicUsize::new(0));
        let (finished, panicked, pending) = block_on({
            let drops = drops.clone();
            async move {
                let guard = CountDrop(drops.clone());
                let finished = spawn(async move {
                    let _guard = guard;
                    task::yield_now().await;
                    7
                });
                let guard = CountDrop(drops.clone());
                let panicked = spawn(async move {
                    let _guard = guard;
                    task::yield_now().await;
                    panic!("boom");
                });
                let guard = CountDrop(drops.clone());
                let pending = spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                });
                (finished.await, panicked.await, pending)
            }
        });
        // `block_on` has returned: its runtime is gone, and with it the
        // pending task's future.
        assert_eq!(finished.unwrap(), 7);
        assert!(panicked.unwrap_err().is_panic());
        assert_eq!(
            drops.load(Ordering::SeqCst),
            3,
            "a future was not dropped once"
        );
        let cancelled = block_on(pending).unwrap_err();
        assert!(cancelled.is_cancelled());
    }

    #[test]
    fn an_aborted_task_is_dropped_and_its_handle_cancelled() {
        let error = block_on(async {
            let handle = spawn(std::future::pending::<()>());
            task::yield_now().await;
            handle.abort();
            handle.await.unwrap_err()
        });
        assert!(error.is_cancelled());
    }

    /// Tasks that never stop waking themselves, so that each abort finds
    /// the task queued, running, or woken during its run: the abort is
    /// seen by that run or the next, never lost. Under Miri, which lets an
    /// atomic load return any value the memory model allows, this is the
    /// test that finds an abort whose flag the next run does not see.
    #[test]
    fn an_abort_racing_a_busy_task_is_never_lost() {
        let rounds = scaled(500);
        block_on(async move {
            for round in 0..rounds {
                let handle = spawn(async {
                    loop {
                        task::yield_now().await;
                    }
                });
                for _ in 0..round % 3 {
                    task::yield_now().await;
                }
                handle.abort();
                assert!(handle.await.unwrap_err().is_cancelled());
            }
        });
    }

    /// An aborted task asleep on a timer is dropped at once, not at its
    /// deadline an hour later, and leaves no entry in the timer queue: the
    /// entry held the task's waker, and so the task itself. (Under Miri,
    /// whose clock jumps to the next deadline when every thread waits, a
    /// lost abort would pass the hour in no time: hence the clock.)
    #[test]
    fn an_aborted_sleeping_task_leaves_no_timer_behind() {
        use std::time::{Duration, Instant};
        block_on(async {
            let executor = crate::executor::current().expect("inside block_on");
            let started = Instant::now();
            let handle = spawn(crate::time::sleep(Duration::from_secs(3600)));
            while executor.pending_timers() == 0 {
                task::yield_now().await;
            }
            handle.abort();
            assert!(handle.await.unwrap_err().is_cancelled());
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "woken by the timer"
            );
            assert_eq!(executor.pending_timers(), 0);
        });
    }
}
