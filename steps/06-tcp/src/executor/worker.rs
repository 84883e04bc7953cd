//! A worker thread: its loop, where it finds work, and how it parks.

use std::sync::Arc;
use std::thread;

use super::context;
use super::{Executor, State};
use crate::idle::Idle;
use crate::task::Task;
use crate::trace::{self, Event, Park};

/// How many tasks a worker runs between two looks at the OS events.
const EVENT_INTERVAL: u32 = 61;

/// Starts worker thread number `index`.
///
/// # Panics
///
/// If the operating system refuses to start the thread.
pub(super) fn start(executor: &Arc<Executor>, index: usize) {
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
        let executor = &*self.executor;
        let mut turns: u32 = 0;
        loop {
            // Every turn, so that busy workers fire timers too (lesson #7).
            executor.fire_expired_timers();
            // Every few turns, look for I/O events without waiting: only an
            // idle worker waits in the OS poll, and busy workers must not
            // leave ready sockets unattended (lesson #7, for I/O).
            turns = turns.wrapping_add(1);
            if turns.is_multiple_of(EVENT_INTERVAL) {
                executor.reactor.poll_now();
            }
            match self.next_task() {
                Some(task) => task.run(),
                None => return,
            }
        }
    }
    // ANCHOR_END: run_worker

    // ANCHOR: next_task
    /// The next task to run, parking until there is one. `None` at shutdown.
    fn next_task(&self) -> Option<Arc<Task>> {
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
    }
    // ANCHOR_END: next_task
}
// ANCHOR_END: worker
