//! The executor: the ready queue, the set of live tasks, and `spawn`.
//!
//! This file holds what every part of the executor shares: the `Executor`
//! itself, how a task is spawned, and how a woken task is queued. The parts
//! each have a file:
//!
//! - [`context`]: which executor the current thread belongs to;
//! - [`shutdown`]: dropping the tasks.
//!
//! # Locks
//!
//! The state lock (`Executor::state`) and a task's output are taken one at
//! a time: nothing else is taken while one is held.
//! Wakers are called with no lock held, since waking a task takes the
//! state lock.

mod context;
mod shutdown;

pub(crate) use context::{assert_can_block, current, enter};

use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use parking_lot::Mutex;
use slab::Slab;

use crate::block_on::Signal;
use crate::join::{self, JoinHandle};
use crate::task::{Schedule, Task};

// ANCHOR: executor
/// A single-threaded executor: it owns the tasks, and `block_on` runs them.
pub(crate) struct Executor {
    /// The ready queue and the live tasks.
    state: Mutex<State>,
    /// Raised whenever a task is queued, so that a parked `block_on` wakes.
    signal: Arc<Signal>,
}

/// The ready queue and the live tasks, guarded by `Executor::state`.
struct State {
    /// Tasks that were woken and wait for their turn to be polled.
    ready_queue: VecDeque<Arc<Task>>,
    /// Every task that has not completed yet, queued or not. A task waiting
    /// for a waker is referenced only by that waker and here; at shutdown
    /// this is how we find it and drop its future.
    tasks: Slab<Arc<Task>>,
    /// Set when shutdown begins: from then on nothing is queued or spawned.
    shut_down: bool,
}
// ANCHOR_END: executor

// ANCHOR: spawn
/// Spawns `future` as a new task on the current runtime and returns a
/// handle that resolves to its output.
///
/// The task starts running at the executor's next turn, whether or not the
/// handle is awaited; dropping the handle detaches the task. A task that
/// panics resolves its handle to a [`JoinError`](crate::JoinError) for which
/// `is_panic()` is true, and the other tasks go on.
///
/// # Panics
///
/// If called outside of [`block_on`](crate::block_on): there is no executor
/// to run the task.
///
/// ```
/// runtime::block_on(async {
///     let handle = runtime::spawn(async { "done" });
///     assert_eq!(handle.await.unwrap(), "done");
/// });
/// ```
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let executor = current().expect(
        "spawn called outside of a runtime: call it from inside block_on or from a spawned task",
    );
    executor.spawn(future)
}
// ANCHOR_END: spawn

impl Executor {
    // ANCHOR: new
    /// A new executor, with no task yet.
    pub(crate) fn new() -> Arc<Executor> {
        Arc::new(Executor {
            state: Mutex::new(State {
                ready_queue: VecDeque::new(),
                tasks: Slab::new(),
                shut_down: false,
            }),
            signal: Arc::new(Signal::new()),
        })
    }
    // ANCHOR_END: new

    /// The signal that a queued task raises, for `block_on` to wait on.
    pub(crate) fn signal(&self) -> &Arc<Signal> {
        &self.signal
    }

    // ANCHOR: executor_spawn
    /// Spawns `future` as a task on this executor.
    fn spawn<F>(self: &Arc<Self>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // ANCHOR: exercise-02b-spawn wrap the future so its result reaches the JoinHandle, insert the task in the set, queue it, raise the signal
        let (completer, handle) = join::channel();
        // The task's future: run the user's future, catching a panic so it
        // becomes a `JoinError` instead of unwinding through the executor,
        // then hand the result to the `JoinHandle`.
        let future = async move {
            let result = AssertUnwindSafe(future).catch_unwind().await;
            completer.complete(result);
        };

        let mut state = self.state.lock();
        if state.shut_down {
            // Too late to run: dropping the future drops the completer,
            // which resolves the handle as cancelled.
            drop(state);
            drop(future);
            return handle;
        }
        let entry = state.tasks.vacant_entry();
        let task = Arc::new(Task::new(entry.key(), Box::pin(future), self.clone()));
        entry.insert(task.clone());
        state.ready_queue.push_back(task);
        drop(state);
        self.signal.notify();
        handle
        // ANCHOR_END: exercise-02b-spawn
    }
    // ANCHOR_END: executor_spawn

    // ANCHOR: run_ready_tasks
    /// Polls up to `budget` tasks from the ready queue; returns how many.
    pub(crate) fn run_ready_tasks(&self, budget: usize) -> usize {
        // ANCHOR: exercise-02b-run-ready pop and run up to budget tasks, never holding the lock during a poll
        for ran in 0..budget {
            // The lock is released before the poll: the task may spawn or
            // wake tasks, and both need the lock.
            let Some(task) = self.state.lock().ready_queue.pop_front() else {
                return ran;
            };
            task.run();
        }
        budget
        // ANCHOR_END: exercise-02b-run-ready
    }
    // ANCHOR_END: run_ready_tasks
}

/// What a task asks of the executor that runs it: the one place where the
/// task layer calls back up into the executor.
impl Schedule for Executor {
    // ANCHOR: schedule
    /// Puts a woken task at the back of the ready queue.
    fn schedule(&self, task: Arc<Task>) {
        // ANCHOR: exercise-02b-schedule push the task on the ready queue (not after shutdown) and raise the signal
        let mut state = self.state.lock();
        if state.shut_down {
            return; // its future is being dropped; there is nothing to run
        }
        state.ready_queue.push_back(task);
        drop(state);
        self.signal.notify();
        // ANCHOR_END: exercise-02b-schedule
    }
    // ANCHOR_END: schedule

    // ANCHOR: remove
    /// Forgets a task that has completed. A key that names no task (taken
    /// at shutdown) changes nothing.
    fn release(&self, key: usize) {
        // ANCHOR: exercise-02b-release forget the task's key
        self.state.lock().tasks.try_remove(key);
        // ANCHOR_END: exercise-02b-release
    }
    // ANCHOR_END: remove
}
