//! The executor: the ready queue, the set of live tasks, and `spawn`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use parking_lot::Mutex;
use slab::Slab;

use crate::block_on::Signal;
use crate::join::{self, JoinHandle};
use crate::task::Task;

// ANCHOR: executor
/// A single-threaded executor: it owns the tasks, and `block_on` runs them.
pub(crate) struct Executor {
    state: Mutex<State>,
    /// Raised whenever a task is queued, so that a parked `block_on` wakes.
    pub(crate) signal: Arc<Signal>,
}

struct State {
    /// Tasks that were woken and wait for their turn to be polled.
    ready_queue: VecDeque<Arc<Task>>,
    /// Every task that has not completed yet, queued or not. A task waiting
    /// for a waker is referenced only by that waker and here; at shutdown
    /// this is how we find it and drop its future.
    tasks: Slab<Arc<Task>>,
    /// Set by `shutdown`: from then on nothing is queued or spawned.
    shut_down: bool,
}
// ANCHOR_END: executor

// ANCHOR: current
thread_local! {
    /// The executor of the `block_on` running on this thread, if any.
    static CURRENT: RefCell<Option<Arc<Executor>>> = const { RefCell::new(None) };
}
// ANCHOR_END: current

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
    let executor = CURRENT.with(|current| current.borrow().clone()).expect(
        "spawn called outside of a runtime: call it from inside block_on or from a spawned task",
    );
    executor.spawn(future)
}
// ANCHOR_END: spawn

impl Executor {
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

    // ANCHOR: enter
    /// Makes this the current thread's executor until the guard is dropped;
    /// dropping the guard shuts the executor down.
    pub(crate) fn enter(self: &Arc<Self>) -> Enter {
        CURRENT.with(|current| {
            let mut current = current.borrow_mut();
            assert!(
                current.is_none(),
                "block_on called from inside a runtime: a task must not block \
                 the thread it runs on; use .await instead"
            );
            *current = Some(self.clone());
        });
        Enter {
            executor: self.clone(),
        }
    }
    // ANCHOR_END: enter

    // ANCHOR: executor_spawn
    fn spawn<F>(self: &Arc<Self>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
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
    }
    // ANCHOR_END: executor_spawn

    // ANCHOR: schedule
    /// Puts a woken task at the back of the ready queue.
    pub(crate) fn schedule(&self, task: Arc<Task>) {
        let mut state = self.state.lock();
        if state.shut_down {
            return; // its future is being dropped; there is nothing to run
        }
        state.ready_queue.push_back(task);
        drop(state);
        self.signal.notify();
    }

    /// Polls up to `budget` tasks from the ready queue; returns how many.
    pub(crate) fn run_ready_tasks(&self, budget: usize) -> usize {
        for ran in 0..budget {
            // The lock is released before the poll: the task may spawn or
            // wake tasks, and both need the lock.
            let Some(task) = self.state.lock().ready_queue.pop_front() else {
                return ran;
            };
            task.run();
        }
        budget
    }

    /// Forgets a task that has completed.
    pub(crate) fn remove(&self, key: usize) {
        self.state.lock().tasks.remove(key);
    }
    // ANCHOR_END: schedule

    // ANCHOR: shutdown
    /// Drops every task that has not completed.
    ///
    /// The futures are dropped after the lock is released, because dropping
    /// one may wake or spawn tasks, which takes the lock again.
    fn shutdown(&self) {
        let (ready_queue, tasks) = {
            let mut state = self.state.lock();
            state.shut_down = true;
            (
                std::mem::take(&mut state.ready_queue),
                std::mem::take(&mut state.tasks),
            )
        };
        drop(ready_queue);
        for (_, task) in tasks {
            task.drop_future();
        }
    }
    // ANCHOR_END: shutdown
}

// ANCHOR: enter_guard
/// Returned by [`Executor::enter`]: while it lives, `spawn` on this thread
/// reaches the executor.
pub(crate) struct Enter {
    executor: Arc<Executor>,
}

impl Drop for Enter {
    fn drop(&mut self) {
        self.executor.shutdown();
        CURRENT.with(|current| current.borrow_mut().take());
    }
}
// ANCHOR_END: enter_guard
