//! `TaskCell`: a spawned future and everything it takes to schedule it and
//! hand its output over, in one allocation.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures::task::{ArcWake, waker_ref};
use parking_lot::Mutex;

use super::pinned::PinnedFuture;
use super::state::State;
use super::{Runnable, Schedule};
use crate::join::{self, JoinError, JoinTarget, Slot};
use crate::trace::{self, Event};

// ANCHOR: task_cell
/// A spawned future and everything it takes to schedule it and hand its
/// output over, in one allocation: the `Arc` that `spawn` makes.
pub(crate) struct TaskCell<F: Future, S> {
    /// Where the task is: idle, queued, running, complete.
    state: State,
    /// The future, polled where it lies.
    future: PinnedFuture<F>,
    /// Where the output waits for the `JoinHandle`.
    output: Mutex<Slot<F::Output>>,
    /// The executor that runs the task, and queues it when it is woken.
    scheduler: Arc<S>,
    /// Where this task sits in the executor's set of live tasks.
    key: usize,
    /// Set by `JoinHandle::abort`: the next run drops the future instead
    /// of polling it.
    aborted: AtomicBool,
}
// ANCHOR_END: task_cell

impl<F, S> TaskCell<F, S>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    /// A new task, created in the ready queue (its caller queues it), in
    /// the `Arc` it keeps for its whole life.
    pub(crate) fn new(key: usize, future: F, scheduler: Arc<S>) -> Arc<TaskCell<F, S>> {
        Arc::new(TaskCell {
            state: State::new(),
            future: PinnedFuture::new(future),
            output: Mutex::new(Slot::Waiting(None)),
            scheduler,
            key,
            aborted: AtomicBool::new(false),
        })
    }

    // ANCHOR: complete
    /// The end of every task, however it ends: the future is dropped where
    /// it lies, `result` goes to the handle, and the task leaves the set of
    /// live tasks. Only the first call does anything.
    fn complete(&self, result: Result<F::Output, JoinError>) {
        if !self.state.complete() {
            return;
        }
        // A future that returned `Ready` (`Ok`) was dropped by its poll.
        // It is still there if it panicked, was aborted, or is dropped at
        // shutdown (`Err`).
        if result.is_err() {
            self.future.drop_in_place();
        }
        // Handing the result over wakes the handle's task, whose waker may
        // be anybody's (another executor's, say): if it panics, that must
        // not take the worker down either (lesson #8).
        let _ = panic::catch_unwind(AssertUnwindSafe(|| join::finish(&self.output, result)));
        self.scheduler.release(self.key);
    }
    // ANCHOR_END: complete
}

impl<F, S> Runnable for TaskCell<F, S>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // ANCHOR: run
    fn run(self: Arc<Self>) {
        if !self.state.start_run() {
            return; // completed or dropped since it was queued
        }

        // ANCHOR: aborted
        if self.aborted.load(Ordering::Acquire) {
            self.complete(Err(JoinError::cancelled()));
            return;
        }
        // ANCHOR_END: aborted

        // A waker that borrows this `Arc` instead of cloning it: no
        // reference count goes up and down for each poll. A future that
        // keeps the waker clones it, and that clone counts.
        let waker = waker_ref(&self);
        let mut cx = Context::from_waker(&waker);

        // A panic in the future ends the task, not the worker (lesson #8).
        trace::record(Event::PollStart(trace::task_id(&self)));
        let poll = panic::catch_unwind(AssertUnwindSafe(|| self.future.poll(&mut cx)));
        trace::record(Event::PollEnd(trace::task_id(&self)));
        let result = match poll {
            Ok(Poll::Ready(output)) => Ok(output),
            Err(payload) => Err(JoinError::panic(payload)),
            Ok(Poll::Pending) => {
                if self.state.end_run_pending() {
                    self.scheduler.schedule(self.clone());
                }
                return;
            }
        };
        self.complete(result);
    }
    // ANCHOR_END: run

    fn drop_future(&self) {
        self.complete(Err(JoinError::cancelled()));
    }
}

/// The handle reads the output from the task itself, and cancels it.
impl<F, S> JoinTarget<F::Output> for TaskCell<F, S>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
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
        // below may change nothing. `publish` makes `aborted` visible to
        // that run's compare-and-swap; without it, the store could still
        // sit in this core's store buffer when the run looks (Miri found
        // that interleaving: the task was polled again, not dropped, and
        // nothing ever woke it).
        self.state.publish();
        ArcWake::wake_by_ref(&self);
    }
    // ANCHOR_END: abort
}

// ANCHOR: wake
/// The task's waker. `futures::task::waker_ref` builds the waker's vtable
/// from this, over the task's own `Arc`: waking needs no allocation, and
/// a borrowed waker no reference count.
impl<F, S> ArcWake for TaskCell<F, S>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    /// Queues the task if it is idle; remembers the wake if it is running;
    /// does nothing if it is already queued or complete. So a task is never
    /// in the queue twice, however many times it is woken.
    fn wake_by_ref(task: &Arc<Self>) {
        if task.state.wake() {
            task.scheduler.schedule(task.clone());
        }
    }
}
// ANCHOR_END: wake
