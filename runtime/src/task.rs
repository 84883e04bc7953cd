//! Tasks: a spawned future, the state machine that schedules it, its
//! waker and its output, all in one allocation. The public part of this
//! module is [`yield_now`] and [`spawn_blocking`].

// This is the bottom layer of the runtime: it knows nothing of workers,
// queues or the reactor. What it needs from the executor that runs it is
// the `Schedule` trait below, the one call that goes back up the layers: a
// woken task asks to be queued.

mod cell;
mod pinned;
mod state;
mod yield_now;

pub use crate::blocking::spawn_blocking;
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};

    use crate::test_util::watchdog;
    use crate::{Runtime, block_on, spawn, task};

    /// Small counts under Miri, which runs this code a thousand times slower.
    fn scaled(n: u32) -> u32 {
        if cfg!(miri) { n / 50 + 1 } else { n }
    }

    fn runtime() -> Runtime {
        Runtime::builder().worker_threads(2).build().unwrap()
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

    #[test]
    fn a_wake_during_the_poll_is_kept() {
        let runtime = runtime();
        let rounds = scaled(1_000);
        let mut done = 0;
        let polls = runtime.block_on(runtime.spawn(std::future::poll_fn(move |cx| {
            done += 1;
            if done > rounds {
                return Poll::Ready(done);
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        })));
        assert_eq!(polls.unwrap(), rounds + 1);
    }

    /// Two threads wake a task as fast as they can while it is polled: its
    /// polls never overlap, and it is never polled after `Ready`.
    #[test]
    fn a_hammered_task_is_polled_by_one_worker_at_a_time() {
        let runtime = runtime();
        let in_poll = Arc::new(AtomicBool::new(false));
        let finished = Arc::new(AtomicBool::new(false));
        let waker_slot: Arc<Mutex<Option<Waker>>> = Default::default();
        let polls = Arc::new(AtomicU32::new(0));
        let target = scaled(500);
        let handle = runtime.spawn({
            let (in_poll, finished, waker_slot, polls) = (
                in_poll.clone(),
                finished.clone(),
                waker_slot.clone(),
                polls.clone(),
            );
            std::future::poll_fn(move |cx: &mut Context<'_>| {
                assert!(!finished.load(Ordering::SeqCst), "polled after Ready");
                assert!(!in_poll.swap(true, Ordering::SeqCst), "two polls at once");
                *waker_slot.lock().unwrap() = Some(cx.waker().clone());
                let n = polls.fetch_add(1, Ordering::SeqCst) + 1;
                in_poll.store(false, Ordering::SeqCst);
                if n >= target {
                    finished.store(true, Ordering::SeqCst);
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
        });
        let hammers: Vec<_> = (0..2)
            .map(|_| {
                let (waker_slot, finished) = (waker_slot.clone(), finished.clone());
                std::thread::spawn(move || {
                    while !finished.load(Ordering::SeqCst) {
                        if let Some(waker) = waker_slot.lock().unwrap().clone() {
                            waker.wake();
                        }
                        std::thread::yield_now();
                    }
                })
            })
            .collect();
        runtime.block_on(handle).unwrap();
        for hammer in hammers {
            hammer.join().unwrap();
        }
        assert_eq!(polls.load(Ordering::SeqCst), target);
    }

    #[test]
    fn an_aborted_task_is_dropped_and_its_handle_cancelled() {
        watchdog("an aborted pending task", || {
            let runtime = runtime();
            let handle = runtime.spawn(std::future::pending::<()>());
            runtime.block_on(task::yield_now());
            handle.abort();
            let error = runtime.block_on(handle).unwrap_err();
            assert!(error.is_cancelled());
        });
    }

    /// Tasks that never stop waking themselves, so that each abort finds
    /// the task queued, running, or woken during its run: the abort is
    /// seen by that run or the next, never lost. Under Miri, which lets an
    /// atomic load return any value the memory model allows, this is the
    /// test that finds an abort whose flag the next run does not see.
    #[test]
    fn an_abort_racing_a_busy_task_is_never_lost() {
        let rounds = scaled(500);
        watchdog("aborts racing a busy task", move || {
            runtime().block_on(async move {
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
            })
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
        watchdog("an aborted sleeping task", || {
            runtime().block_on(async {
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
            })
        });
    }

    #[test]
    fn dropping_the_runtime_drops_unfinished_tasks() {
        struct Flag(Arc<AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(AtomicBool::new(false));
        let runtime = runtime();
        let flag = Flag(dropped.clone());
        runtime.spawn(async move {
            let _flag = flag;
            std::future::pending::<()>().await;
        });
        drop(runtime);
        assert!(dropped.load(Ordering::SeqCst));
    }
}
