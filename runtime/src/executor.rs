//! The executor: worker threads, the ready queue they share, the set of
//! live tasks, and `spawn`.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{self, AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use parking_lot::{Condvar, Mutex, MutexGuard};
use slab::Slab;

use crate::blocking::BlockingPool;
use crate::join::JoinHandle;
use crate::reactor::Reactor;
use crate::task::{Runnable, Task, TaskCell};
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
    /// Set when the runtime was dropped inside one of its own tasks: no
    /// thread joins the workers, so the last one to exit drops the tasks.
    detached: AtomicBool,
    /// Worker threads started and not exited yet.
    live_workers: AtomicUsize,
    state: Mutex<State>,
    /// Every task that has not completed yet, queued or not. A task waiting
    /// for a waker is referenced only by that waker and here; at shutdown
    /// this is how we find it and drop its future. Every spawn and every
    /// completion takes a lock here, so it is split into `TASK_SHARDS`
    /// slabs with a lock each, none of them the state's: spawns and
    /// completions on different threads rarely wait for each other, and
    /// never for workers parking and waking.
    tasks: Box<[Mutex<Slab<Arc<Task>>>]>,
    /// Idle workers wait here for a task.
    workers_condvar: Condvar,
    /// The timekeeper waits in the reactor's OS poll, for I/O events, a
    /// task, or the next deadline.
    pub(crate) reactor: Reactor,
    /// The deadlines that sleeping tasks wait for.
    pub(crate) timers: Mutex<TimerQueue>,
    /// The worker threads, joined at shutdown.
    threads: Mutex<Vec<thread::JoinHandle<()>>>,
    /// The threads that run `spawn_blocking` jobs.
    pub(crate) blocking: BlockingPool,
}

struct State {
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

// ANCHOR: task_shards
/// How many parts the set of live tasks is split into, each with a lock of
/// its own. A thread puts the tasks it spawns in each part in turn, so the
/// spawns and completions of different threads spread over the parts
/// instead of all wanting one lock.
const TASK_SHARDS: usize = 16;

thread_local! {
    /// The part of the set of live tasks this thread's next task goes in.
    static NEXT_SHARD: Cell<usize> = const { Cell::new(0) };
}

/// The part of the set of live tasks for a task this thread spawns now.
fn next_shard() -> usize {
    NEXT_SHARD.with(|next| {
        let shard = next.get();
        next.set((shard + 1) % TASK_SHARDS);
        shard
    })
}
// ANCHOR_END: task_shards

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

// ANCHOR: thread_locals
thread_local! {
    /// This thread's own ready queue, if it is a worker.
    static LOCAL: RefCell<Option<LocalQueue>> = const { RefCell::new(None) };

    /// The executor `spawn` reaches from this thread: set on worker
    /// threads, blocking threads, and threads inside `block_on`.
    static CURRENT: RefCell<Option<Arc<Executor>>> = const { RefCell::new(None) };
    /// Whether this thread runs tasks or a `block_on`, where blocking would
    /// stall other work: `block_on` refuses to start here. Blocking threads
    /// have a runtime (`CURRENT`) but may block.
    static IN_ASYNC_CONTEXT: Cell<bool> = const { Cell::new(false) };
}
// ANCHOR_END: thread_locals

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

// ANCHOR: assert_can_block
/// Panics if this thread runs tasks or a `block_on`, where blocking would
/// stall other work.
pub(crate) fn assert_can_block() {
    assert!(
        !IN_ASYNC_CONTEXT.get(),
        "block_on called from inside a runtime: a task must not block \
         the thread it runs on; use .await, or spawn_blocking for blocking work"
    );
}
// ANCHOR_END: assert_can_block

/// Dropped as a worker thread leaves, by returning or unwinding: drops its
/// local queue and counts the worker out.
struct WorkerExit<'a>(&'a Executor);

impl Drop for WorkerExit<'_> {
    fn drop(&mut self) {
        LOCAL.with(|local| local.borrow_mut().take());
        self.0.worker_exited();
    }
}

impl Executor {
    // ANCHOR: new
    /// Starts an executor with `worker_threads` workers, whose blocking
    /// threads exit after `keep_alive` without work. Fails if the operating
    /// system refuses an event queue or a thread.
    pub(crate) fn new(worker_threads: usize, keep_alive: Duration) -> io::Result<Arc<Executor>> {
        let reactor = Reactor::new()?;
        let queues: Vec<Worker<Arc<Task>>> = (0..worker_threads.max(1))
            .map(|_| Worker::new_fifo())
            .collect();
        let executor = Arc::new(Executor {
            injector: Injector::new(),
            stealers: queues.iter().map(Worker::stealer).collect(),
            sleepers: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            detached: AtomicBool::new(false),
            live_workers: AtomicUsize::new(0),
            state: Mutex::new(State {
                idle_workers: 0,
                notified_workers: 0,
                timekeeper_parked: false,
                timekeeper_woken: false,
            }),
            tasks: (0..TASK_SHARDS).map(|_| Mutex::new(Slab::new())).collect(),
            workers_condvar: Condvar::new(),
            reactor,
            timers: Mutex::new(TimerQueue::default()),
            threads: Mutex::new(Vec::new()),
            blocking: BlockingPool::new(keep_alive),
        });
        for (index, queue) in queues.into_iter().enumerate() {
            let worker = executor.clone();
            // Counted before it starts, so it can never leave before it is.
            executor.live_workers.fetch_add(1, Ordering::AcqRel);
            let spawned = thread::Builder::new()
                .name(format!("runtime-worker-{index}"))
                .spawn(move || {
                    let _context = Context::set(&worker, true);
                    let executor = Arc::as_ptr(&worker) as usize;
                    LOCAL.with(|local| *local.borrow_mut() = Some(LocalQueue { executor, queue }));
                    // Leaving, however it leaves: even a worker that unwinds
                    // (a bug) must count itself out, or a shutdown nobody
                    // waits for would never drop the tasks.
                    let _exit = WorkerExit(&worker);
                    worker.run_worker();
                });
            match spawned {
                Ok(thread) => executor.threads.lock().push(thread),
                Err(error) => {
                    executor.live_workers.fetch_sub(1, Ordering::AcqRel);
                    // Stop the workers started so far, then report.
                    executor.shutdown();
                    return Err(error);
                }
            }
        }
        Ok(executor)
    }
    // ANCHOR_END: new

    /// Whether `shutdown` has begun: no worker runs tasks or polls the OS
    /// for this executor any more.
    pub(crate) fn is_shut_down(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The executor this thread belongs to, if any.
    pub(crate) fn current() -> Option<Arc<Executor>> {
        CURRENT.with(|current| current.borrow().clone())
    }

    // ANCHOR: enter
    /// Makes this the current thread's executor for a `block_on`, until
    /// the guard is dropped.
    ///
    /// # Panics
    ///
    /// If this thread already runs tasks or a `block_on`.
    pub(crate) fn enter(self: &Arc<Self>) -> Context {
        assert_can_block();
        Context::set(self, true)
    }

    /// Whether the calling thread is one of this executor's workers.
    fn is_own_worker(&self) -> bool {
        IN_ASYNC_CONTEXT.get()
            && CURRENT.with(|current| {
                current
                    .borrow()
                    .as_ref()
                    .is_some_and(|executor| std::ptr::eq(&**executor, self))
            })
    }
    // ANCHOR_END: enter

    // ANCHOR: executor_spawn
    pub(crate) fn spawn<F>(self: &Arc<Self>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // Shutdown sets `closed`, stops the workers, then takes the tasks
        // under these locks: a task inserted before that is dropped there.
        let shard = next_shard();
        let mut tasks = self.tasks[shard].lock();
        if self.closed.load(Ordering::Acquire) {
            // Too late to run: the task is made only to drop its future,
            // which resolves the handle as cancelled.
            drop(tasks);
            let task = Arc::new(TaskCell::new(usize::MAX, future, self.clone()));
            task.drop_future();
            return JoinHandle::new(task);
        }
        let entry = tasks.vacant_entry();
        // The one allocation: future, state, waker and output together.
        // The key names both the part (its remainder) and the slot in it.
        let key = entry.key() * TASK_SHARDS + shard;
        let task = Arc::new(TaskCell::new(key, future, self.clone()));
        entry.insert(task.clone());
        drop(tasks);
        self.schedule(task.clone());
        JoinHandle::new(task)
    }
    // ANCHOR_END: executor_spawn

    // ANCHOR: schedule
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
            // A waker may be anybody's; one that panics must not take this
            // worker down (lesson #8).
            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| waker.wake()));
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
        self.tasks[key % TASK_SHARDS]
            .lock()
            .remove(key / TASK_SHARDS);
    }
    // ANCHOR_END: remove

    // ANCHOR: shutdown
    /// Stops the workers, drops every task that has not completed, then
    /// waits for the blocking jobs that are running. Does nothing the second
    /// time.
    ///
    /// The futures are dropped after the workers have exited, so none is
    /// being polled, and after the locks are released, because dropping one
    /// may wake or spawn tasks, which takes them again.
    ///
    /// # Panics
    ///
    /// If called from one of this executor's own tasks: the worker running
    /// it cannot wait for itself to exit. The workers are stopped anyway,
    /// and the last one out drops the tasks.
    pub(crate) fn shutdown(&self) {
        // ANCHOR: own_worker_check
        if self.is_own_worker() {
            // This worker cannot wait for itself to exit. Stop every worker
            // anyway, without waiting: the last one out drops the tasks
            // (`worker_exited`). Then say what went wrong.
            self.detached.store(true, Ordering::Release);
            self.close();
            panic!(
                "a Runtime was dropped inside one of its own tasks; drop it outside \
                 the runtime, or in spawn_blocking"
            );
        }
        // ANCHOR_END: own_worker_check
        if !self.close() {
            return; // shut down already
        }
        let threads = std::mem::take(&mut *self.threads.lock());
        let mut worker_panicked = false;
        for thread in threads {
            worker_panicked |= thread.join().is_err();
        }
        self.drop_tasks();
        // Task panics are caught; a worker can only panic through a bug in
        // this crate. Say so, unless this thread is already unwinding.
        if worker_panicked && !thread::panicking() {
            panic!("a runtime worker thread panicked");
        }
    }

    /// Sets `closed` and wakes every worker, so that each leaves its loop.
    /// Returns `false` if it was set already.
    fn close(&self) -> bool {
        let mut state = self.state.lock();
        if self.closed.load(Ordering::Acquire) {
            return false;
        }
        self.closed.store(true, Ordering::Release);
        self.workers_condvar.notify_all();
        self.wake_timekeeper(&mut state);
        true
    }

    /// Once the workers are gone: drops every task that has not completed,
    /// then waits for the blocking jobs that are running.
    ///
    /// In that order: a running job may wait for something a task holds
    /// (the other end of a channel, say), which only dropping the task
    /// releases. `closed` is set, so a job that spawns or wakes a task
    /// meanwhile changes nothing.
    fn drop_tasks(&self) {
        // Empty the injector and every local queue. A worker's queue keeps
        // its tasks in a buffer it shares with its stealer, which lives
        // here: left there, they would keep this executor alive through
        // their own `executor` field, a cycle nothing would ever break.
        while !matches!(self.injector.steal(), Steal::Empty) {}
        for stealer in &self.stealers {
            while !matches!(stealer.steal(), Steal::Empty) {}
        }
        let tasks: Vec<Arc<Task>> = self
            .tasks
            .iter()
            .flat_map(|shard| std::mem::take(&mut *shard.lock()))
            .map(|(_, task)| task)
            .collect();
        // Pending timers and I/O waiters hold wakers, and so tasks: let
        // them go too.
        let timers = std::mem::take(&mut *self.timers.lock());
        drop(timers);
        self.reactor.clear_wakers();
        for task in tasks {
            task.drop_future();
        }
        self.blocking.shutdown();
    }

    /// Called by each worker thread as it leaves (see `WorkerExit`). If nobody waits for the
    /// workers (the runtime was dropped inside one of its own tasks), the
    /// last one out does what `shutdown` does after joining them.
    fn worker_exited(&self) {
        if self.live_workers.fetch_sub(1, Ordering::AcqRel) == 1
            && self.detached.load(Ordering::Acquire)
        {
            self.drop_tasks();
        }
    }
    // ANCHOR_END: shutdown
}

// ANCHOR: context
/// While it lives, the thread's `CURRENT` executor is set; dropping it
/// restores what was there before.
pub(crate) struct Context {
    previous: Option<Arc<Executor>>,
    was_async: bool,
}

impl Context {
    /// Sets `executor` as this thread's executor; `in_async` says whether
    /// the thread runs tasks or a `block_on` (not a blocking thread).
    pub(crate) fn set(executor: &Arc<Executor>, in_async: bool) -> Context {
        let previous = CURRENT.with(|current| current.borrow_mut().replace(executor.clone()));
        let was_async = IN_ASYNC_CONTEXT.replace(in_async);
        Context {
            previous,
            was_async,
        }
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|current| *current.borrow_mut() = previous);
        IN_ASYNC_CONTEXT.set(self.was_async);
    }
}
// ANCHOR_END: context
