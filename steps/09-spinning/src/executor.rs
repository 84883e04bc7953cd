//! The executor: worker threads, the ready queue they share, the set of
//! live tasks, and `spawn`.

use std::cell::RefCell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{self, AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use futures::FutureExt;
use parking_lot::{Condvar, Mutex, MutexGuard};
use slab::Slab;

use crate::join::{self, JoinHandle};
use crate::reactor::Reactor;
use crate::task::Task;
use crate::timer_queue::{TimerKey, TimerQueue};

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
    /// Set by `shutdown`: from then on nothing is queued or spawned. It is
    /// set under the state lock, so code holding the lock sees it hold
    /// still, and it is an atomic because `schedule` and the worker loop
    /// read it without the lock.
    closed: AtomicBool,
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
    /// Every task that has not completed yet, queued or not. A task waiting
    /// for a waker is referenced only by that waker and here; at shutdown
    /// this is how we find it and drop its future.
    tasks: Slab<Arc<Task>>,
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

/// How many tasks a worker runs between two rounds of bookkeeping (due
/// timers, ready sockets). tokio's number: often enough that a due timer
/// waits for at most 61 tasks, rarely enough that its cost disappears.
const BOOKKEEPING_INTERVAL: u32 = 61;

// ANCHOR: spin_time
/// How long a worker that runs out of tasks keeps looking for more before
/// it parks. Parking and being woken again costs a system call on each
/// side and a few microseconds before the sleeper runs; work that turns up
/// sooner than this is cheaper to wait for awake. It is also the most CPU
/// an idle worker burns each time it runs out of work.
const SPIN_TIME: Duration = Duration::from_micros(20);
// ANCHOR_END: spin_time

// ANCHOR: queues
/// A worker thread's own ready queue.
struct LocalQueue {
    /// The executor it belongs to, by address: only compared, never used
    /// to reach the executor.
    executor: usize,
    queue: Worker<Arc<Task>>,
}

/// Where an idle worker can take tasks from: the injector, or another
/// worker's queue.
trait StealSource {
    fn steal_into(&self, queue: &Worker<Arc<Task>>) -> Steal<Arc<Task>>;
}

impl StealSource for Injector<Arc<Task>> {
    fn steal_into(&self, queue: &Worker<Arc<Task>>) -> Steal<Arc<Task>> {
        self.steal_batch_and_pop(queue)
    }
}

impl StealSource for Stealer<Arc<Task>> {
    fn steal_into(&self, queue: &Worker<Arc<Task>>) -> Steal<Arc<Task>> {
        self.steal_batch_and_pop(queue)
    }
}

thread_local! {
    /// This thread's own ready queue, if it is a worker.
    static LOCAL: RefCell<Option<LocalQueue>> = const { RefCell::new(None) };

    /// The executor this thread belongs to: set on worker threads, and on
    /// the thread running `block_on`.
    static CURRENT: RefCell<Option<Arc<Executor>>> = const { RefCell::new(None) };
}
// ANCHOR_END: queues

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
        let queues: Vec<Worker<Arc<Task>>> = (0..worker_threads.max(1))
            .map(|_| Worker::new_fifo())
            .collect();
        let executor = Arc::new(Executor {
            injector: Injector::new(),
            stealers: queues.iter().map(Worker::stealer).collect(),
            sleepers: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            state: Mutex::new(State {
                tasks: Slab::new(),
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
        for (index, queue) in queues.into_iter().enumerate() {
            let worker = executor.clone();
            let thread = thread::Builder::new()
                .name(format!("runtime-worker-{index}"))
                .spawn(move || {
                    CURRENT.with(|current| *current.borrow_mut() = Some(worker.clone()));
                    let executor = Arc::as_ptr(&worker) as usize;
                    LOCAL.with(|local| *local.borrow_mut() = Some(LocalQueue { executor, queue }));
                    worker.run_worker();
                    LOCAL.with(|local| local.borrow_mut().take());
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
        if self.closed.load(Ordering::Acquire) {
            // Too late to run: dropping the future drops the completer,
            // which resolves the handle as cancelled.
            drop(state);
            drop(future);
            return handle;
        }
        let entry = state.tasks.vacant_entry();
        let task = Arc::new(Task::new(entry.key(), Box::pin(future), self.clone()));
        entry.insert(task.clone());
        drop(state);
        self.schedule(task);
        handle
    }
    // ANCHOR_END: executor_spawn

    // ANCHOR: schedule
    // ANCHOR: schedule_fn
    /// Queues a woken task: in the local queue of the worker doing the
    /// waking, without any lock, or, from any other thread, in the injector.
    /// Then wakes a sleeping worker, if there is one, to share the work.
    pub(crate) fn schedule(&self, task: Arc<Task>) {
        if self.closed.load(Ordering::Acquire) {
            return; // its future is being dropped; there is nothing to run
        }
        let mut task = Some(task);
        LOCAL.with(|local| {
            if let Some(local) = local.borrow().as_ref()
                && local.executor == self as *const Executor as usize
            {
                local.queue.push(task.take().expect("taken once"));
            }
        });
        if let Some(task) = task {
            self.injector.push(task);
            if self.closed.load(Ordering::Acquire) {
                // Shut down meanwhile: the queue was drained already, and
                // a task left in it would keep this executor alive.
                while !matches!(self.injector.steal(), Steal::Empty) {}
            }
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

    /// Interrupts the timekeeper's OS poll, if it is in one.
    fn wake_timekeeper(&self, state: &mut State) {
        if state.timekeeper_parked && !state.timekeeper_woken {
            state.timekeeper_woken = true;
            self.reactor.wake();
        }
    }

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
    // ANCHOR: run_worker
    /// The loop of a worker thread: fire due timers, run a task, repeat;
    /// park when there is nothing to do; return at shutdown.
    fn run_worker(&self) {
        let mut turns: u32 = 0;
        loop {
            // Tasks that never stop waking each other would keep this loop
            // busy for ever: look for shutdown before each one.
            if self.closed.load(Ordering::Acquire) {
                return;
            }
            // Bookkeeping, every few turns: fire the timers that are due and
            // look for I/O events without waiting. It takes locks and reads
            // the clock, which costs more than running many a task, so not
            // every turn; but busy workers must still do it, or timers and
            // sockets would wait for a worker to go idle (lesson #7). An idle
            // worker does both as the timekeeper anyway.
            turns = turns.wrapping_add(1);
            let bookkeeping = turns.is_multiple_of(BOOKKEEPING_INTERVAL);
            if bookkeeping {
                self.fire_expired_timers();
                self.poll_now();
            }
            // The local queue first, except every few turns: a worker whose
            // own tasks keep waking each other must still take the tasks
            // woken from outside, which wait in the injector.
            let task = if bookkeeping {
                self.steal_from(&self.injector).or_else(|| self.pop_local())
            } else {
                self.pop_local()
            };
            match task.or_else(|| self.steal()) {
                Some(task) => task.run(),
                None => {
                    // Out of work: look around a little longer before
                    // parking. Work that turns up meanwhile is taken
                    // without any thread having to wake another.
                    if self.spin() {
                        continue;
                    }
                    if !self.park() {
                        return; // shut down
                    }
                }
            }
        }
    }
    // ANCHOR_END: run_worker

    // ANCHOR: steal
    /// The next task of this worker's own queue.
    fn pop_local(&self) -> Option<Arc<Task>> {
        LOCAL.with(|local| local.borrow().as_ref()?.queue.pop())
    }

    /// Takes a batch of tasks from `source` into the local queue and
    /// returns one of them.
    fn steal_from(&self, source: &impl StealSource) -> Option<Arc<Task>> {
        LOCAL.with(|local| {
            let local = local.borrow();
            let queue = &local.as_ref()?.queue;
            loop {
                match source.steal_into(queue) {
                    Steal::Success(task) => return Some(task),
                    Steal::Empty => return None,
                    Steal::Retry => {}
                }
            }
        })
    }

    /// Work for an idle worker: from the injector, or from another
    /// worker's queue (half of it, so the two stay busy).
    fn steal(&self) -> Option<Arc<Task>> {
        self.steal_from(&self.injector).or_else(|| {
            self.stealers
                .iter()
                .find_map(|stealer| self.steal_from(stealer))
        })
    }

    // ANCHOR: spin
    /// Fires the timers that are due, then keeps looking for work for up to
    /// `SPIN_TIME`: in the queues, and in the OS's events, whose wakes land
    /// in this worker's queue. Returns whether it found some.
    fn spin(&self) -> bool {
        // An idle worker keeps the time, as the timekeeper does: workers
        // that keep finding work in their spins may not park for a long
        // while, and the next bookkeeping turn may be 61 spins away.
        self.fire_expired_timers();
        let start = Instant::now();
        loop {
            self.poll_now();
            if self.has_work() {
                return true;
            }
            if self.closed.load(Ordering::Acquire) || start.elapsed() >= SPIN_TIME {
                return false;
            }
            std::hint::spin_loop();
        }
    }

    /// Dispatches the OS events that are ready now, unless the timekeeper
    /// is in the OS poll (it dispatches them).
    fn poll_now(&self) {
        if self.reactor.poll_now() {
            // This glance read the wake meant for the timekeeper. If one is
            // parked (or about to be: it is counted under the lock before it
            // polls), send the wake again, or its wait would not end, not
            // even for shutdown. If none is, the wake is stale: sending it
            // again would only bounce it between workers that keep glancing.
            let state = self.state.lock();
            if state.timekeeper_parked {
                self.reactor.wake();
            }
        }
    }
    // ANCHOR_END: spin

    /// Whether any queue holds a task.
    fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|stealer| !stealer.is_empty())
    }
    // ANCHOR_END: steal

    // ANCHOR: park
    /// Parks this worker until there may be work; `false` at shutdown.
    fn park(&self) -> bool {
        let mut state = self.state.lock();
        if self.closed.load(Ordering::Acquire) {
            return false;
        }
        // Count this worker as a sleeper, then look at the queues again:
        // a task queued before the count was seen here; one queued after
        // sees the count and takes the lock to wake a worker, which it
        // gets only once this worker waits (or has left).
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        atomic::fence(Ordering::SeqCst);
        if !self.has_work() {
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
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        !self.closed.load(Ordering::Acquire)
    }
    // ANCHOR_END: park

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
            self.closed.store(true, Ordering::Release);
            self.workers_condvar.notify_all();
            self.wake_timekeeper(&mut state);
        }
        let threads = std::mem::take(&mut *self.threads.lock());
        let mut worker_panicked = false;
        for thread in threads {
            worker_panicked |= thread.join().is_err();
        }

        // Empty the injector and every local queue. A worker's queue keeps
        // its tasks in a buffer it shares with its stealer, which lives
        // here: left there, they would keep this executor alive through
        // their own `executor` field, a cycle nothing would ever break.
        while !matches!(self.injector.steal(), Steal::Empty) {}
        for stealer in &self.stealers {
            while !matches!(stealer.steal(), Steal::Empty) {}
        }
        let tasks = std::mem::take(&mut self.state.lock().tasks);
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
