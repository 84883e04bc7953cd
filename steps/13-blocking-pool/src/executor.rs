//! The executor: the worker threads, their ready queues, the set of live
//! tasks, and `spawn`.
//!
//! This file holds what every part of the executor shares: the `Executor`
//! itself, how a task is spawned, and how a woken task is queued and a
//! worker woken for it. The parts each have a file:
//!
//! - [`context`]: which executor the current thread belongs to;
//! - [`worker`]: a worker thread's loop, where it finds work, and how it
//!   parks;
//! - [`timekeeper`]: the worker that waits in the OS poll, and the timers;
//! - [`live_tasks`]: every task not completed yet, to drop at shutdown;
//! - [`shutdown`]: stopping the workers and dropping the tasks.
//!
//! # Locks
//!
//! A thread that holds one of these locks may take only the ones listed
//! after it, never one before: a task's future (held while it is polled, so
//! around all of the task's own code), the reactor's poll lock, the state
//! lock (`Executor::state`), the timer queue. The other locks (a part of
//! the set of live tasks, the reactor's list of sources, a source's
//! waiters, a task's output, the blocking pool's state) are leaves: nothing
//! else is taken while one is held. The reactor wakes tasks with its poll
//! lock held, and waking a task may take the state lock, which is why the
//! poll lock comes first; every other waker is called with no lock held.

mod context;
mod live_tasks;
mod shutdown;
mod timekeeper;
mod worker;

pub(crate) use context::{ThreadKind, assert_can_block, current, enter};

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{self, AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use parking_lot::{Condvar, Mutex};

use crate::blocking::BlockingPool;
use crate::idle::Idle;
use crate::join::JoinHandle;
use crate::reactor::Reactor;
use crate::task::{Runnable, Schedule, Task, TaskCell};
use crate::timer_queue::TimerQueue;
use crate::trace::{self, Event, Queue};
use live_tasks::LiveTasks;

// ANCHOR: executor
/// A multi-threaded executor: each worker thread has a ready queue of its
/// own, takes tasks from the others' when it runs out, and parks when
/// there are none anywhere.
pub(crate) struct Executor {
    /// Tasks woken outside of any worker: by the `block_on` thread, a plain
    /// thread, a blocking thread. (A worker, the timekeeper included, puts
    /// the tasks it wakes in its own queue.)
    injector: Injector<Arc<Task>>,
    /// The other ends of every worker's local queue, to steal from.
    stealers: Vec<Stealer<Arc<Task>>>,
    /// Workers parked or about to park. Read without the lock by whoever
    /// queues a task, to skip the lock when nobody sleeps.
    sleepers: AtomicUsize,
    /// Set when shutdown begins: from then on nothing is queued or
    /// spawned. It is set under the state lock, so code holding the lock
    /// sees it hold still, and it is an atomic because `schedule` and the
    /// worker loop read it without the lock.
    shut_down: AtomicBool,
    /// Who sleeps where; see [`State`] for what it guarantees.
    state: Mutex<State>,
    /// Every task that has not completed yet, queued or not.
    tasks: LiveTasks,
    /// Idle workers wait here for a task.
    workers_condvar: Condvar,
    /// The timekeeper waits in the reactor's OS poll, for I/O events, a
    /// task, or the next deadline.
    reactor: Arc<Reactor>,
    /// The deadlines that sleeping tasks wait for.
    timers: Mutex<TimerQueue>,
    /// The worker threads, joined at shutdown.
    threads: Mutex<Vec<thread::JoinHandle<()>>>,
    /// The threads that run `spawn_blocking` jobs.
    blocking: Arc<BlockingPool>,
}

/// Where the idle workers are, guarded by `Executor::state`.
///
/// It holds these invariants:
///
/// - A worker parks (on `workers_condvar` or in the OS poll) only after
///   it has counted itself in `sleepers` and seen every queue empty, with
///   this lock held; whoever queues a task and sees `sleepers` above zero
///   takes this lock to wake one. So no task waits in a queue while every
///   worker sleeps.
/// - At most one worker is the timekeeper: `timekeeper_parked` is set
///   only by a worker that found it unset, under this lock.
/// - `timekeeper_woken` is set only while `timekeeper_parked` is: the
///   reactor's wake is sent once per park.
struct State {
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
    /// Starts an executor with `worker_threads` workers, whose blocking
    /// threads exit after `keep_alive` without work.
    ///
    /// # Panics
    ///
    /// If the operating system refuses to start a thread or an event queue.
    pub(crate) fn new(worker_threads: usize, keep_alive: Duration) -> Arc<Executor> {
        let reactor = Reactor::new()
            .unwrap_or_else(|error| panic!("failed to create the reactor's OS poll: {error}"));
        let reactor = Arc::new(reactor);
        let queues: Vec<Worker<Arc<Task>>> = (0..worker_threads.max(1))
            .map(|_| Worker::new_fifo())
            .collect();
        let executor = Arc::new(Executor {
            injector: Injector::new(),
            stealers: queues.iter().map(Worker::stealer).collect(),
            sleepers: AtomicUsize::new(0),
            shut_down: AtomicBool::new(false),
            state: Mutex::new(State {
                idle_workers: Idle::default(),
                timekeeper_parked: false,
                timekeeper_woken: false,
            }),
            tasks: LiveTasks::new(),
            workers_condvar: Condvar::new(),
            reactor,
            timers: Mutex::new(TimerQueue::default()),
            threads: Mutex::new(Vec::new()),
            blocking: Arc::new(BlockingPool::new(keep_alive)),
        });
        for (index, queue) in queues.into_iter().enumerate() {
            worker::start(&executor, index, queue);
        }
        executor
    }
    // ANCHOR_END: new

    /// The reactor, to register I/O sources with.
    pub(crate) fn reactor(&self) -> &Arc<Reactor> {
        &self.reactor
    }

    /// The pool that runs `spawn_blocking` jobs.
    pub(crate) fn blocking(&self) -> &Arc<BlockingPool> {
        &self.blocking
    }

    // ANCHOR: executor_spawn
    /// Spawns `future` as a task on this executor.
    fn spawn<F>(self: &Arc<Self>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // The one allocation: future, state, waker and output together.
        let spawned = self.tasks.insert(&self.shut_down, |key| {
            TaskCell::new(key, future, self.clone())
        });
        match spawned {
            Ok(task) => {
                self.schedule(task.clone());
                JoinHandle::new(task)
            }
            Err(task) => {
                // Too late to run: the task was made only to drop its
                // future, which resolves the handle as cancelled.
                task.drop_future();
                JoinHandle::new(task)
            }
        }
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
    /// Queues a woken task: in the local queue of the worker doing the
    /// waking, without any lock, or, from any other thread, in the injector.
    /// Then wakes a sleeping worker, if there is one, to share the work.
    fn schedule(&self, task: Arc<Task>) {
        if self.is_shut_down() {
            return; // its future is being dropped; there is nothing to run
        }
        let id = trace::task_id(&task);
        let mut task = Some(task);
        worker::push_local(self, &mut task);
        if let Some(task) = task {
            trace::record(Event::Wake(id, Queue::Injector));
            self.injector.push(task);
            if self.is_shut_down() {
                // Shut down meanwhile: the queue was drained already, and
                // a task left in it would keep this executor alive.
                while !matches!(self.injector.steal(), Steal::Empty) {}
            }
        } else {
            trace::record(Event::Wake(id, Queue::Local));
        }
        // The push above, then this read: a worker about to park does the
        // opposite (counts itself, then looks at the queues), so one of the
        // two sees the other. The fences make both orders hold.
        atomic::fence(Ordering::SeqCst);
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            self.wake_one_worker(&mut self.state.lock());
        }
    }
    // ANCHOR_END: schedule_fn
    // ANCHOR_END: schedule

    /// Forgets a task that has completed.
    fn release(&self, key: usize) {
        self.tasks.remove(key);
    }
}
