//! Tasks: a spawned future, the state machine that schedules it, and its
//! waker. The public part of this module is [`yield_now`].

mod yield_now;

pub use yield_now::yield_now;

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
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
        }
    }

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

    /// Drops the future without polling it again (executor shutdown).
    pub(crate) fn drop_future(&self) {
        self.state.store(COMPLETE, Ordering::Release);
        let future = self.future.lock().take();
        // A destructor that panics has been reported by the panic hook; it
        // must not stop the other tasks from being dropped.
        let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(future)));
    }
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
