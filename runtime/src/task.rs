//! Tasks: a spawned future, the state machine that schedules it, and its
//! waker. The public part of this module is [`yield_now`] and
//! [`spawn_blocking`].

mod yield_now;

pub use crate::blocking::spawn_blocking;
pub use yield_now::yield_now;

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use parking_lot::Mutex;

use crate::executor::Executor;

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

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
/// A spawned future and what it takes to schedule it.
pub(crate) struct Task {
    /// One of the states above. Every change is a compare-and-swap, so that
    /// a wake from another thread and the end of a poll never both win.
    state: AtomicU8,
    /// `None` once the future has completed or was dropped at shutdown.
    /// The state machine already keeps polls apart; the mutex makes that
    /// visible to the compiler, which is why no `unsafe` is needed here.
    future: Mutex<Option<BoxFuture>>,
    executor: Arc<Executor>,
    /// Where this task sits in the executor's set of live tasks.
    key: usize,
    /// Set by `JoinHandle::abort`: the next run drops the future instead
    /// of polling it.
    aborted: AtomicBool,
}
// ANCHOR_END: task

impl Task {
    /// A new task, created in the ready queue.
    pub(crate) fn new(key: usize, future: BoxFuture, executor: Arc<Executor>) -> Task {
        Task {
            state: AtomicU8::new(SCHEDULED),
            future: Mutex::new(Some(future)),
            executor,
            key,
            aborted: AtomicBool::new(false),
        }
    }

    // ANCHOR: abort
    /// Asks for the task to be cancelled: it is woken, and its next run
    /// drops its future, which resolves its handle as cancelled. A task
    /// being polled right now finishes that poll first.
    pub(crate) fn abort(self: &Arc<Self>) {
        self.aborted.store(true, Ordering::Release);
        // A task already queued runs without another wake, so the wake
        // below may change nothing. This read-modify-write of the state
        // (writing back what is there) is what the run's compare-and-swap
        // then reads, which makes `aborted` visible to that run; a plain
        // store could still sit in this core's store buffer when the run
        // looks (Miri found that interleaving: the task was polled again,
        // not dropped, and nothing ever woke it).
        self.state.fetch_or(0, Ordering::AcqRel);
        self.wake_by_ref();
    }
    // ANCHOR_END: abort

    // ANCHOR: run
    /// Polls the task once. Called by the executor after popping it from
    /// the ready queue.
    pub(crate) fn run(self: Arc<Self>) {
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

        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = self.future.lock();
        let Some(fut) = future.as_mut() else {
            // Dropped at shutdown since it was queued: nothing to poll.
            self.state.store(COMPLETE, Ordering::Release);
            return;
        };

        // The user's panics are caught inside the task's future. One that
        // still escapes (from a destructor that runs as that future ends)
        // ends the task as if it had finished, and must not unwind through
        // the executor and take its thread down (lesson #8).
        let poll = panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx)));
        match poll.unwrap_or(Poll::Ready(())) {
            Poll::Ready(()) => {
                *future = None;
                drop(future);
                self.state.store(COMPLETE, Ordering::Release);
                self.executor.remove(self.key);
            }
            Poll::Pending => {
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
            }
        }
    }
    // ANCHOR_END: run

    // ANCHOR: drop_future
    /// Drops the future without polling it again (executor shutdown).
    pub(crate) fn drop_future(&self) {
        self.state.store(COMPLETE, Ordering::Release);
        let future = self.future.lock().take();
        // A destructor that panics has been reported by the panic hook; it
        // must not stop the other tasks from being dropped.
        let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(future)));
    }
    // ANCHOR_END: drop_future
}

// ANCHOR: wake
impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    /// Queues the task if it is idle; remembers the wake if it is running;
    /// does nothing if it is already queued or complete. So a task is never
    /// in the queue twice, however many times it is woken.
    fn wake_by_ref(self: &Arc<Self>) {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let next = match state {
                IDLE => SCHEDULED,
                RUNNING => NOTIFIED,
                _ => return, // SCHEDULED, NOTIFIED or COMPLETE
            };
            match self
                .state
                .compare_exchange_weak(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        if state == IDLE {
            self.executor.schedule(self.clone());
        }
    }
}
// ANCHOR_END: wake

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};

    use crate::{Runtime, task};

    /// Small counts under Miri, which runs this code a thousand times slower.
    fn scaled(n: u32) -> u32 {
        if cfg!(miri) { n / 50 + 1 } else { n }
    }

    fn runtime() -> Runtime {
        Runtime::builder().worker_threads(2).build().unwrap()
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
