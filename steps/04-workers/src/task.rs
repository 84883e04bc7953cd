//! Tasks: a spawned future, the state machine that schedules it, and its
//! waker. The public part of this module is [`yield_now`].

// This is the bottom layer of the runtime: it knows nothing of queues or
// threads. What it needs from the executor that runs it is
// the `Schedule` trait below, the one call that goes back up the layers: a
// woken task asks to be queued.

mod state;
mod yield_now;

pub use yield_now::yield_now;

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use parking_lot::Mutex;

use state::State;

use crate::trace::{self, Event};

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

// ANCHOR: task
/// A spawned future and what it takes to schedule it.
pub(crate) struct Task {
    /// Where the task is: idle, queued, running, complete.
    state: State,
    /// `None` once the future has completed or was dropped at shutdown.
    /// The state machine already keeps polls apart; the mutex makes that
    /// visible to the compiler, which is why no `unsafe` is needed here.
    future: Mutex<Option<BoxFuture>>,
    /// The executor that runs the task, and queues it when it is woken.
    scheduler: Arc<dyn Schedule>,
    /// Where this task sits in the executor's set of live tasks.
    key: usize,
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

impl Task {
    /// A new task, created in the ready queue (its caller queues it).
    pub(crate) fn new(key: usize, future: BoxFuture, scheduler: Arc<dyn Schedule>) -> Task {
        Task {
            state: State::new(),
            future: Mutex::new(Some(future)),
            scheduler,
            key,
        }
    }

    // ANCHOR: run
    /// Polls the task once. Called by the executor after popping it from
    /// the ready queue.
    pub(crate) fn run(self: Arc<Self>) {
        if !self.state.start_run() {
            return; // completed or dropped since it was queued
        }

        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = self.future.lock();
        let Some(fut) = future.as_mut() else {
            return; // dropped at shutdown since it was queued
        };

        // The user's panics are caught inside the task's future. One that
        // still escapes (from a destructor that runs as that future ends)
        // ends the task as if it had finished, and must not unwind through
        // the executor and take its thread down (lesson #8).
        trace::record(Event::PollStart(trace::task_id(&self)));
        let poll = panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx)));
        trace::record(Event::PollEnd(trace::task_id(&self)));
        drop(future);
        match poll.unwrap_or(Poll::Ready(())) {
            Poll::Ready(()) => self.complete(),
            Poll::Pending => {
                if self.state.end_run_pending() {
                    self.scheduler.schedule(self.clone());
                }
            }
        }
    }
    // ANCHOR_END: run

    // ANCHOR: drop_future
    /// Drops the future without polling it again (executor shutdown).
    pub(crate) fn drop_future(&self) {
        self.complete();
    }
    // ANCHOR_END: drop_future

    // ANCHOR: complete
    /// The end of every task, however it ends: drops the future and leaves
    /// the set of live tasks. Only the first call does anything.
    fn complete(&self) {
        if !self.state.complete() {
            return;
        }
        let future = self.future.lock().take();
        // A destructor that panics has been reported by the panic hook; it
        // must not take the worker down, nor stop the other tasks from
        // being dropped at shutdown.
        let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(future)));
        self.scheduler.release(self.key);
    }
    // ANCHOR_END: complete
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
        if self.state.wake() {
            self.scheduler.schedule(self.clone());
        }
    }
}
// ANCHOR_END: wake
