//! Tasks: a spawned future, the state machine that schedules it, its
//! waker and its output, all in one allocation. The public part of this
//! module is [`yield_now`] and [`spawn_blocking`].

mod yield_now;

pub use crate::blocking::spawn_blocking;
pub use yield_now::yield_now;

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::task::{Context, Poll};

use futures::task::{ArcWake, waker_ref};
use parking_lot::Mutex;

use crate::executor::Executor;
use crate::join::{self, JoinError, JoinTarget, Slot};

// ANCHOR: states
/// Not queued, not running: waiting for its waker.
const IDLE: u8 = 0;
/// In the ready queue. Further wakes change nothing: it will be polled once.
const SCHEDULED: u8 = 1;
/// Being polled right now.
const RUNNING: u8 = 2;
/// Being polled, and woken meanwhile: it must be polled again afterwards.
const NOTIFIED: u8 = 3;
/// Its future returned `Ready` or was dropped: never polled again.
const COMPLETE: u8 = 4;
// ANCHOR_END: states

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

/// A spawned future and everything it takes to schedule it and hand its
/// output over, in one allocation: the `Arc` that `spawn` makes.
pub(crate) struct TaskCell<F: Future> {
    /// One of the states above. Every change is a compare-and-swap, so that
    /// a wake from another thread and the end of a poll never both win.
    state: AtomicU8,
    /// The future, polled where it lies: `None` once it has completed or
    /// was dropped. The state machine keeps polls apart; the mutex lets the
    /// compiler see that only one thread at a time touches the future.
    future: Mutex<Option<F>>,
    /// Where the output waits for the `JoinHandle`.
    output: Mutex<Slot<F::Output>>,
    executor: Arc<Executor>,
    /// Where this task sits in the executor's set of live tasks.
    key: usize,
    /// Set by `JoinHandle::abort`: the next run drops the future instead
    /// of polling it.
    aborted: AtomicBool,
}
// ANCHOR_END: task

impl<F: Future> TaskCell<F> {
    /// A new task, created in the ready queue.
    pub(crate) fn new(key: usize, future: F, executor: Arc<Executor>) -> TaskCell<F> {
        TaskCell {
            state: AtomicU8::new(SCHEDULED),
            future: Mutex::new(Some(future)),
            output: Mutex::new(Slot::Waiting(None)),
            executor,
            key,
            aborted: AtomicBool::new(false),
        }
    }
}

impl<F> Runnable for TaskCell<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // ANCHOR: run
    fn run(self: Arc<Self>) {
        if self
            .state
            .compare_exchange(SCHEDULED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return; // completed or dropped since it was queued
        }

        // ANCHOR: aborted
        if self.aborted.load(Ordering::Acquire) {
            self.drop_future();
            self.executor.remove(self.key);
            return;
        }
        // ANCHOR_END: aborted

        // A waker that borrows this `Arc` instead of cloning it: no
        // reference count goes up and down for each poll. A future that
        // keeps the waker clones it, and that clone counts.
        let waker = waker_ref(&self);
        let mut cx = Context::from_waker(&waker);
        let mut future = self.future.lock();
        let Some(fut) = future.as_mut() else {
            // Dropped at shutdown since it was queued: nothing to poll.
            self.state.store(COMPLETE, Ordering::Release);
            return;
        };
        // ANCHOR: pin
        // SAFETY: `Pin` asks that the future never moves again, from this
        // poll until it is dropped. It lives inside this task's `Arc`
        // allocation, which never moves; and it never leaves its `Option`:
        // the only writes to `future` are `= None`, which drop it where it
        // lies. No other code can reach the field: it is private to this
        // module, and the submodules that could see it never touch it.
        let fut = unsafe { Pin::new_unchecked(fut) };
        // ANCHOR_END: pin

        // A panic in the future ends the task, not the worker (lesson #8).
        let result = match panic::catch_unwind(AssertUnwindSafe(|| fut.poll(&mut cx))) {
            Ok(Poll::Ready(output)) => Ok(output),
            Err(payload) => Err(JoinError::panic(payload)),
            Ok(Poll::Pending) => {
                drop(future);
                // RUNNING -> IDLE, unless a wake came during the poll: then
                // the state is NOTIFIED and the task goes back in the queue.
                // Dropping that wake is lesson #1's bug.
                if let Err(NOTIFIED) =
                    self.state
                        .compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire)
                {
                    self.state.store(SCHEDULED, Ordering::Release);
                    self.executor.schedule(self.clone());
                }
                return;
            }
        };
        // Finished: drop the future where it lies, then hand the result
        // over. A destructor that panics has been reported by the panic
        // hook; it must not take the worker down either.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| *future = None));
        drop(future);
        self.state.store(COMPLETE, Ordering::Release);
        // Handing the result over wakes the handle's task, whose waker may
        // be anybody's (another executor's, say): if it panics, that must
        // not take the worker down either.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| join::finish(&self.output, result)));
        self.executor.remove(self.key);
    }
    // ANCHOR_END: run

    // ANCHOR: drop_future
    fn drop_future(&self) {
        self.state.store(COMPLETE, Ordering::Release);
        // Dropped where it lies, as `Pin` requires; a destructor that
        // panics must not stop the other tasks from being dropped.
        let mut future = self.future.lock();
        let _ = panic::catch_unwind(AssertUnwindSafe(|| *future = None));
        drop(future);
        let cancelled = Err(JoinError::cancelled());
        let _ = panic::catch_unwind(AssertUnwindSafe(|| join::finish(&self.output, cancelled)));
    }
    // ANCHOR_END: drop_future
}

/// The handle reads the output from the task itself.
impl<F> JoinTarget<F::Output> for TaskCell<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn output(&self) -> &Mutex<Slot<F::Output>> {
        &self.output
    }

    // ANCHOR: abort
    /// Asks for the task to be cancelled: it is woken, and its next run
    /// drops its future, which resolves its handle as cancelled. A task
    /// being polled right now finishes that poll first.
    fn abort(self: Arc<Self>) {
        self.aborted.store(true, Ordering::Release);
        // A task already queued runs without another wake, so the wake
        // below may change nothing. This read-modify-write of the state
        // (writing back what is there) is what the run's compare-and-swap
        // then reads, which makes `aborted` visible to that run; a plain
        // store could still sit in this core's store buffer when the run
        // looks (Miri found that interleaving: the task was polled again,
        // not dropped, and nothing ever woke it).
        self.state.fetch_or(0, Ordering::AcqRel);
        ArcWake::wake_by_ref(&self);
    }
    // ANCHOR_END: abort
}

// ANCHOR: wake
/// The task's waker. `futures::task::waker_ref` builds the waker's vtable
/// from this, over the task's own `Arc`: waking needs no allocation, and
/// a borrowed waker no reference count.
impl<F> ArcWake for TaskCell<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    /// Queues the task if it is idle; remembers the wake if it is running;
    /// does nothing if it is already queued or complete. So a task is never
    /// in the queue twice, however many times it is woken.
    fn wake_by_ref(task: &Arc<Self>) {
        let mut state = task.state.load(Ordering::Acquire);
        loop {
            let next = match state {
                IDLE => SCHEDULED,
                RUNNING => NOTIFIED,
                _ => return, // SCHEDULED, NOTIFIED or COMPLETE
            };
            match task
                .state
                .compare_exchange_weak(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        if state == IDLE {
            task.executor.schedule(task.clone());
        }
    }
}
// ANCHOR_END: wake

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};

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
        let runtime = runtime();
        let handle = runtime.spawn(std::future::pending::<()>());
        runtime.block_on(task::yield_now());
        handle.abort();
        let error = runtime.block_on(handle).unwrap_err();
        assert!(error.is_cancelled());
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
