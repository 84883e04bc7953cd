//! The executor: worker threads, the ready queue they share, the set of
//! live tasks, and `spawn`.
//!
//! This file holds what every part of the executor shares: the `Executor`
//! itself, how a task is spawned, and how a woken task is queued and a
//! worker woken for it. The parts each have a file:
//!
//! - [`context`]: which executor the current thread belongs to;
//! - [`worker`]: a worker thread's loop, where it finds work, and how it
//!   parks;
//! - [`timekeeper`]: the worker that waits in the OS poll, and the timers;
//! - [`shutdown`]: stopping the workers and dropping the tasks.
//!
//! # Locks
//!
//! A thread that holds one of these locks may take only the ones listed
//! after it, never one before: a task's future (held while it is polled, so
//! around all of the task's own code), the reactor's poll lock, the state
//! lock (`Executor::state`), the timer queue. The other locks (the
//! reactor's list of sources, a source's waiters, a task's output) are
//! leaves: nothing else is taken while one is held. The reactor wakes tasks
//! with its poll lock held, and waking a task may take the state lock,
//! which is why the poll lock comes first; every other waker is called with
//! no lock held.

mod context;
mod shutdown;
mod timekeeper;
mod worker;

pub(crate) use context::{assert_can_block, current, enter};

use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::thread;

use futures::FutureExt;
use parking_lot::{Condvar, Mutex};
use slab::Slab;

use crate::idle::Idle;
use crate::join::{self, JoinHandle};
use crate::reactor::Reactor;
use crate::task::{Schedule, Task};
use crate::timer_queue::TimerQueue;
use crate::trace::{self, Event, Queue};

// ANCHOR: executor
/// A multi-threaded executor: worker threads take tasks from one shared
/// ready queue and poll them.
pub(crate) struct Executor {
    /// The ready queue, the live tasks, and who sleeps where; see [`State`]
    /// for what it guarantees.
    state: Mutex<State>,
    /// Idle workers wait here for a task.
    workers_condvar: Condvar,
    /// The timekeeper waits in the reactor's OS poll, for I/O events, a
    /// task, or the next deadline.
    reactor: Arc<Reactor>,
    /// The deadlines that sleeping tasks wait for.
    timers: Mutex<TimerQueue>,
    /// The worker threads, joined at shutdown.
    threads: Mutex<Vec<thread::JoinHandle<()>>>,
}

/// The ready queue, the live tasks, and where the idle workers are,
/// guarded by `Executor::state`.
///
/// It holds these invariants:
///
/// - A worker parks (on `workers_condvar` or in the OS poll) only after
///   it has seen the ready queue empty, with this lock held; whoever queues
///   a task takes this lock to wake one. So no task waits in the queue
///   while every worker sleeps.
/// - At most one worker is the timekeeper: `timekeeper_parked` is set
///   only by a worker that found it unset, under this lock.
/// - `timekeeper_woken` is set only while `timekeeper_parked` is: the
///   reactor's wake is sent once per park.
struct State {
    /// Tasks that were woken and wait for their turn to be polled.
    ready_queue: VecDeque<Arc<Task>>,
    /// Every task that has not completed yet, queued or not. A task waiting
    /// for a waker is referenced only by that waker and here; at shutdown
    /// this is how we find it and drop its future.
    tasks: Slab<Arc<Task>>,
    /// Set when shutdown begins: from then on nothing is queued or spawned.
    shut_down: bool,
    /// Workers parked on `workers_condvar`.
    idle_workers: Idle,
    /// Whether a worker waits in the reactor's OS poll, with the earliest
    /// deadline as its timeout. At most one does: the timekeeper.
    timekeeper_parked: bool,
    /// Whether the parked timekeeper has been woken already: waking it is
    /// a system call, so it is done once per park.
    timekeeper_woken: bool,
}
// ANCHOR_END: executor

impl AsMut<Idle> for State {
    fn as_mut(&mut self) -> &mut Idle {
        &mut self.idle_workers
    }
}

// ANCHOR: spawn
/// Spawns `future` as a new task on the current runtime and returns a
/// handle that resolves to its output.
///
/// The task starts running on a worker thread right away, whether or not
/// the handle is awaited; dropping the handle detaches the task. A task that
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
    /// Starts an executor with `worker_threads` workers.
    ///
    /// # Panics
    ///
    /// If the operating system refuses to start a thread or an event queue.
    pub(crate) fn new(worker_threads: usize) -> Arc<Executor> {
        let reactor = Reactor::new()
            .unwrap_or_else(|error| panic!("failed to create the reactor's OS poll: {error}"));
        let reactor = Arc::new(reactor);
        let executor = Arc::new(Executor {
            state: Mutex::new(State {
                ready_queue: VecDeque::new(),
                tasks: Slab::new(),
                shut_down: false,
                idle_workers: Idle::default(),
                timekeeper_parked: false,
                timekeeper_woken: false,
            }),
            workers_condvar: Condvar::new(),
            reactor,
            timers: Mutex::new(TimerQueue::default()),
            threads: Mutex::new(Vec::new()),
        });
        for index in 0..worker_threads.max(1) {
            worker::start(&executor, index);
        }
        executor
    }
    // ANCHOR_END: new

    /// The reactor, to register I/O sources with.
    pub(crate) fn reactor(&self) -> &Arc<Reactor> {
        &self.reactor
    }

    // ANCHOR: executor_spawn
    /// Spawns `future` as a task on this executor.
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

        let mut state = trace::lock(&self.state);
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
        trace::record(Event::Spawn(trace::task_id(&task), Queue::Shared));
        state.ready_queue.push_back(task);
        self.wake_one_worker(&mut state);
        handle
    }
    // ANCHOR_END: executor_spawn

    // ANCHOR: wake_one_worker
    /// Wakes one idle worker for a task just queued: a worker parked on
    /// the condvar if there is one, else the timekeeper. Only one: the
    /// others would find the queue empty and go back to sleep.
    ///
    /// It is called with the lock held, and a worker checks the queue and
    /// parks under that same lock, so the wake cannot fall between the two.
    fn wake_one_worker(&self, state: &mut State) {
        if !state.idle_workers.notify_one(&self.workers_condvar) {
            self.wake_timekeeper(state);
        }
    }
    // ANCHOR_END: wake_one_worker
}

/// What a task asks of the executor that runs it: the one place where the
/// task layer calls back up into the executor.
impl Schedule for Executor {
    // ANCHOR: schedule
    // ANCHOR: schedule_fn
    /// Puts a woken task at the back of the ready queue.
    fn schedule(&self, task: Arc<Task>) {
        let mut state = trace::lock(&self.state);
        if state.shut_down {
            return; // its future is being dropped; there is nothing to run
        }
        trace::record(Event::Wake(trace::task_id(&task), Queue::Shared));
        state.ready_queue.push_back(task);
        self.wake_one_worker(&mut state);
    }
    // ANCHOR_END: schedule_fn
    // ANCHOR_END: schedule

    // ANCHOR: remove
    /// Forgets a task that has completed. A key that names no task (taken
    /// at shutdown) changes nothing.
    fn release(&self, key: usize) {
        trace::lock(&self.state).tasks.try_remove(key);
    }
    // ANCHOR_END: remove
}
