//! The executor: worker threads, the ready queue they share, the set of
//! live tasks, and `spawn`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use futures::FutureExt;
use parking_lot::{Condvar, Mutex, MutexGuard};
use slab::Slab;

use crate::join::{self, JoinHandle};
use crate::reactor::Reactor;
use crate::task::Task;
use crate::timer_queue::{TimerKey, TimerQueue};

// ANCHOR: executor
/// A multi-threaded executor: worker threads take tasks from one shared
/// ready queue and poll them.
pub(crate) struct Executor {
    state: Mutex<State>,
    /// Idle workers wait here for a task.
    workers_condvar: Condvar,
    /// The timekeeper waits in the reactor's OS poll, for I/O events, a
    /// task, or the next deadline.
    pub(crate) reactor: Reactor,
    /// The deadlines that sleeping tasks wait for.
    pub(crate) timers: Mutex<TimerQueue>,
    /// The worker threads, joined at shutdown.
    threads: Mutex<Vec<thread::JoinHandle<()>>>,
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
    /// How many workers wait on `workers_condvar` and were not notified.
    idle_workers: usize,
    /// How many workers were notified and have not woken up yet. Counting
    /// them apart is what keeps a second task from "waking" a worker that
    /// an earlier notification already woke, while another one sleeps on.
    notified_workers: usize,
    /// Whether a worker waits in the reactor's OS poll, with the earliest
    /// deadline as its timeout. At most one does: the timekeeper.
    timekeeper_parked: bool,
    /// Whether the parked timekeeper has been woken already: waking it is
    /// a system call, so it is done once per park.
    timekeeper_woken: bool,
}
// ANCHOR_END: executor

/// How many tasks a worker runs between two looks at the OS events.
const EVENT_INTERVAL: u32 = 61;

thread_local! {
    /// The executor this thread belongs to: set on worker threads, and on
    /// the thread running `block_on`.
    static CURRENT: RefCell<Option<Arc<Executor>>> = const { RefCell::new(None) };
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
    let executor = Executor::current().expect(
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
        let executor = Arc::new(Executor {
            state: Mutex::new(State {
                ready_queue: VecDeque::new(),
                tasks: Slab::new(),
                shut_down: false,
                idle_workers: 0,
                notified_workers: 0,
                timekeeper_parked: false,
                timekeeper_woken: false,
            }),
            workers_condvar: Condvar::new(),
            reactor,
            timers: Mutex::new(TimerQueue::default()),
            threads: Mutex::new(Vec::new()),
        });
        for index in 0..worker_threads.max(1) {
            let worker = executor.clone();
            let thread = thread::Builder::new()
                .name(format!("runtime-worker-{index}"))
                .spawn(move || {
                    CURRENT.with(|current| *current.borrow_mut() = Some(worker.clone()));
                    worker.run_worker();
                    CURRENT.with(|current| current.borrow_mut().take());
                })
                .unwrap_or_else(|error| panic!("failed to start a worker thread: {error}"));
            executor.threads.lock().push(thread);
        }
        executor
    }
    // ANCHOR_END: new

    /// The executor this thread belongs to, if any.
    pub(crate) fn current() -> Option<Arc<Executor>> {
        CURRENT.with(|current| current.borrow().clone())
    }

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
        self.wake_one_worker(&mut state);
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
        self.wake_one_worker(&mut state);
    }

    /// Wakes one idle worker for a task just queued: a worker parked on
    /// the condvar if there is one, else the timekeeper. Only one: the
    /// others would find the queue empty and go back to sleep.
    ///
    /// It is called with the lock held, and a worker checks the queue and
    /// parks under that same lock, so the wake cannot fall between the two.
    fn wake_one_worker(&self, state: &mut State) {
        if !self.notify_idle_worker(state) {
            self.wake_timekeeper(state);
        }
    }

    // ANCHOR: wake_timekeeper
    /// Interrupts the timekeeper's OS poll, if it is in one.
    fn wake_timekeeper(&self, state: &mut State) {
        if state.timekeeper_parked && !state.timekeeper_woken {
            state.timekeeper_woken = true;
            self.reactor.wake();
        }
    }
    // ANCHOR_END: wake_timekeeper

    /// Wakes one worker parked on `workers_condvar`, if there is one that
    /// has not been notified already.
    fn notify_idle_worker(&self, state: &mut State) -> bool {
        if state.idle_workers == 0 {
            return false;
        }
        state.idle_workers -= 1;
        state.notified_workers += 1;
        self.workers_condvar.notify_one();
        true
    }
    // ANCHOR_END: schedule

    // ANCHOR: worker
    /// The loop of a worker thread: fire due timers, run a task, repeat;
    /// park when there is nothing to do; return at shutdown.
    fn run_worker(&self) {
        let mut turns: u32 = 0;
        loop {
            // Every turn, so that busy workers fire timers too (lesson #7).
            self.fire_expired_timers();
            // Every few turns, look for I/O events without waiting: only an
            // idle worker waits in the OS poll, and busy workers must not
            // leave ready sockets unattended (lesson #7, for I/O).
            turns = turns.wrapping_add(1);
            if turns.is_multiple_of(EVENT_INTERVAL) {
                self.reactor.poll_now();
            }
            match self.next_task() {
                Some(task) => task.run(),
                None => return,
            }
        }
    }

    /// The next task to run, parking until there is one. `None` at shutdown.
    fn next_task(&self) -> Option<Arc<Task>> {
        let mut state = self.state.lock();
        loop {
            if state.shut_down {
                return None;
            }
            if let Some(task) = state.ready_queue.pop_front() {
                return Some(task);
            }
            if !state.timekeeper_parked {
                self.park_timekeeper(&mut state);
            } else {
                state.idle_workers += 1;
                self.workers_condvar.wait(&mut state);
                // Woken by a notification, or spuriously: either way, this
                // worker is no longer counted as idle.
                if state.notified_workers > 0 {
                    state.notified_workers -= 1;
                } else {
                    state.idle_workers -= 1;
                }
            }
        }
    }

    // ANCHOR: park_timekeeper
    /// Parks as the timekeeper, in the reactor's OS poll: until an I/O
    /// event comes, a task is queued, a new earliest deadline arrives, or
    /// the earliest deadline passes. Then fires the timers that are due.
    fn park_timekeeper(&self, state: &mut MutexGuard<'_, State>) {
        state.timekeeper_parked = true;
        state.timekeeper_woken = false;
        let timeout = self
            .next_deadline()
            .map(|deadline| deadline.saturating_duration_since(Instant::now()));
        // Wait without the lock. A task queued from now on finds
        // `timekeeper_parked` set and interrupts the poll through the
        // reactor's `mio::Waker`, whose wake is kept until the next poll:
        // one sent before the poll begins makes it return at once.
        MutexGuard::unlocked(state, || self.reactor.poll(timeout));
        state.timekeeper_parked = false;
        // Leaving the role: if other workers are parked, one of them takes
        // it over, or no one would wait for the next deadline or OS event
        // while this worker runs a long task.
        self.notify_idle_worker(state);
        // Waking tasks takes the state lock: fire the timers without it.
        MutexGuard::unlocked(state, || self.fire_expired_timers());
    }
    // ANCHOR_END: park_timekeeper
    // ANCHOR_END: worker

    // ANCHOR: fire_timers
    /// Wakes every task whose deadline has passed.
    ///
    /// The wakers are called after the lock is released: waking a task
    /// takes the executor's lock, and a woken task may sleep again.
    pub(crate) fn fire_expired_timers(&self) {
        let expired = self.timers.lock().take_expired(Instant::now());
        for waker in expired {
            waker.wake();
        }
    }

    /// When the earliest pending timer is due, if there is one.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.timers.lock().next_deadline()
    }

    /// Adds a timer. If it is now the earliest, the timekeeper may be
    /// parked with a later timeout: wake it so it waits for this one.
    pub(crate) fn add_timer(&self, deadline: Instant, waker: std::task::Waker) -> TimerKey {
        let (key, earliest) = {
            let mut timers = self.timers.lock();
            let key = timers.insert(deadline, waker);
            (key, timers.next_deadline() == Some(deadline))
        };
        if earliest {
            // The timekeeper reads the deadline and parks under the state
            // lock, so it either saw this timer or gets this notification.
            self.wake_timekeeper(&mut self.state.lock());
        }
        key
    }
    // ANCHOR_END: fire_timers

    // ANCHOR: remove
    /// Forgets a task that has completed.
    pub(crate) fn remove(&self, key: usize) {
        self.state.lock().tasks.remove(key);
    }
    // ANCHOR_END: remove

    // ANCHOR: shutdown
    /// Stops the workers, then drops every task that has not completed.
    ///
    /// The futures are dropped after the workers have exited, so none is
    /// being polled, and after the lock is released, because dropping one
    /// may wake or spawn tasks, which takes the lock again.
    fn shutdown(&self) {
        {
            let mut state = self.state.lock();
            state.shut_down = true;
            self.workers_condvar.notify_all();
            self.wake_timekeeper(&mut state);
        }
        let threads = std::mem::take(&mut *self.threads.lock());
        let mut worker_panicked = false;
        for thread in threads {
            worker_panicked |= thread.join().is_err();
        }

        let (ready_queue, tasks) = {
            let mut state = self.state.lock();
            (
                std::mem::take(&mut state.ready_queue),
                std::mem::take(&mut state.tasks),
            )
        };
        drop(ready_queue);
        // Pending timers and I/O waiters hold wakers, and so tasks: let
        // them go too.
        let timers = std::mem::take(&mut *self.timers.lock());
        drop(timers);
        self.reactor.clear_wakers();
        for (_, task) in tasks {
            task.drop_future();
        }
        // Task panics are caught; a worker can only panic through a bug in
        // this crate. Say so, unless this thread is already unwinding.
        if worker_panicked && !thread::panicking() {
            panic!("a runtime worker thread panicked");
        }
    }
    // ANCHOR_END: shutdown
}

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
