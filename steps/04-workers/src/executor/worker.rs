//! A worker thread: its loop, where it finds work, and how it parks.

use std::sync::Arc;
use std::thread;

use super::context;
use super::{Executor, State};
use crate::idle::Idle;
use crate::task::Task;
use crate::trace::{self, Event, Park};

/// Starts worker thread number `index`.
///
/// # Panics
///
/// If the operating system refuses to start the thread.
pub(super) fn start(executor: &Arc<Executor>, index: usize) {
    // ANCHOR: exercise-04-start spawn a named worker thread that runs Worker::run, and keep its JoinHandle
    let executor_for_thread = executor.clone();
    let thread = thread::Builder::new()
        .name(format!("runtime-worker-{index}"))
        .spawn(move || {
            let _context = context::enter(&executor_for_thread);
            let worker = Worker::new(executor_for_thread);
            worker.run();
        })
        .unwrap_or_else(|error| panic!("failed to start a worker thread: {error}"));
    executor.threads.lock().push(thread);
    // ANCHOR_END: exercise-04-start
}

// ANCHOR: worker
/// A worker thread's handle on its executor. It lives on the worker's
/// stack for the thread's whole life.
struct Worker {
    executor: Arc<Executor>,
}

impl Worker {
    fn new(executor: Arc<Executor>) -> Worker {
        Worker { executor }
    }

    // ANCHOR: run_worker
    /// The loop of a worker thread: fire due timers, run a task, repeat;
    /// park when there is nothing to do; return at shutdown.
    fn run(&self) {
        // ANCHOR: exercise-04-run take tasks and run them until shutdown; with none, park as idle (or as the timekeeper)
        let executor = &*self.executor;
        loop {
            // Every turn, so that busy workers fire timers too (lesson #7).
            executor.fire_expired_timers();
            match self.next_task() {
                Some(task) => task.run(),
                None => return,
            }
        }
        // ANCHOR_END: exercise-04-run
    }
    // ANCHOR_END: run_worker

    // ANCHOR: next_task
    /// The next task to run, parking until there is one. `None` at shutdown.
    fn next_task(&self) -> Option<Arc<Task>> {
        // ANCHOR: exercise-04-next-task fire due timers, then pop the shared queue
        let executor = &*self.executor;
        let mut state = trace::lock(&executor.state);
        loop {
            if state.shut_down {
                return None;
            }
            if let Some(task) = state.ready_queue.pop_front() {
                return Some(task);
            }
            if !state.timekeeper_parked {
                executor.park_timekeeper(&mut state);
            } else {
                trace::record(Event::Park(Park::Idle));
                Idle::wait::<State>(&executor.workers_condvar, &mut state);
                trace::record(Event::Unpark);
            }
        }
        // ANCHOR_END: exercise-04-next-task
    }
    // ANCHOR_END: next_task
}
// ANCHOR_END: worker
