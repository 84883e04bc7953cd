//! A worker thread: its loop, where it finds work, and how it parks.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{self, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_deque::{Injector, Steal, Stealer, Worker as Queue};

use super::context::{self, ThreadKind};
use super::{Executor, State};
use crate::idle::Idle;
use crate::task::Task;
use crate::trace::{self, Event, Park};

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
    queue: Queue<Arc<Task>>,
}

thread_local! {
    /// This thread's own ready queue, if it is a worker. A thread-local,
    /// not a field of `Worker`: a task woken by the task this worker runs
    /// is pushed here by its waker, which knows only the executor.
    static LOCAL: RefCell<Option<LocalQueue>> = const { RefCell::new(None) };
}

/// Queues the task in the calling thread's local queue, taking it out of
/// `task`, if the thread is one of `executor`'s workers; leaves it there
/// otherwise.
#[inline]
pub(super) fn push_local(executor: &Executor, task: &mut Option<Arc<Task>>) {
    LOCAL.with(|local| {
        if let Some(local) = local.borrow().as_ref()
            && local.executor == executor as *const Executor as usize
        {
            local.queue.push(task.take().expect("taken once"));
        }
    });
}
// ANCHOR_END: queues

/// Starts worker thread number `index`, with `queue` as its local queue.
///
/// # Panics
///
/// If the operating system refuses to start the thread.
pub(super) fn start(executor: &Arc<Executor>, index: usize, queue: Queue<Arc<Task>>) {
    let executor_for_thread = executor.clone();
    let thread = thread::Builder::new()
        .name(format!("runtime-worker-{index}"))
        .spawn(move || {
            let _context = context::enter(&executor_for_thread, ThreadKind::Worker);
            let worker = Worker::new(executor_for_thread, index, queue);
            worker.run();
            // `worker` is dropped here, or while unwinding: see its `Drop`.
        })
        .unwrap_or_else(|error| panic!("failed to start a worker thread: {error}"));
    executor.threads.lock().push(thread);
}

// ANCHOR: worker
/// A worker thread's handle on its executor. It lives on the worker's
/// stack for the thread's whole life.
struct Worker {
    executor: Arc<Executor>,
    /// Which worker this is: its queue's `Stealer` is `stealers[index]`.
    index: usize,
}

/// Leaving, however it leaves: even a worker that unwinds (a bug) drops
/// its local queue.
impl Drop for Worker {
    fn drop(&mut self) {
        LOCAL.with(|local| local.borrow_mut().take());
    }
}

/// Where an idle worker can take tasks from: the injector, or another
/// worker's queue.
trait StealSource {
    fn steal_into(&self, queue: &Queue<Arc<Task>>) -> Steal<Arc<Task>>;
}

impl StealSource for Injector<Arc<Task>> {
    fn steal_into(&self, queue: &Queue<Arc<Task>>) -> Steal<Arc<Task>> {
        self.steal_batch_and_pop(queue)
    }
}

impl StealSource for Stealer<Arc<Task>> {
    fn steal_into(&self, queue: &Queue<Arc<Task>>) -> Steal<Arc<Task>> {
        self.steal_batch_and_pop(queue)
    }
}

impl Worker {
    /// Makes `queue`, worker `index`'s, this thread's local queue.
    fn new(executor: Arc<Executor>, index: usize, queue: Queue<Arc<Task>>) -> Worker {
        let address = Arc::as_ptr(&executor) as usize;
        LOCAL.with(|local| {
            *local.borrow_mut() = Some(LocalQueue {
                executor: address,
                queue,
            })
        });
        Worker { executor, index }
    }

    // ANCHOR: run_worker
    /// The loop of a worker thread: fire due timers, run a task, repeat;
    /// park when there is nothing to do; return at shutdown.
    fn run(&self) {
        let executor = &*self.executor;
        let mut turns: u32 = 0;
        loop {
            // Tasks that never stop waking each other would keep this loop
            // busy for ever: look for shutdown before each one.
            if executor.is_shut_down() {
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
                executor.fire_expired_timers();
                self.poll_now();
            }
            // The local queue first, except every few turns: a worker whose
            // own tasks keep waking each other must still take the tasks
            // woken from outside, which wait in the injector.
            let task = if bookkeeping {
                self.steal_from(&executor.injector)
                    .or_else(|| self.pop_local())
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
    /// returns one of them; wakes a sleeping worker if the batch left
    /// tasks in the local queue.
    fn steal_from(&self, source: &impl StealSource) -> Option<Arc<Task>> {
        LOCAL.with(|local| {
            let local = local.borrow();
            let queue = &local.as_ref()?.queue;
            loop {
                match source.steal_into(queue) {
                    Steal::Success(task) => {
                        // The batch may have left tasks in this queue. While
                        // they moved, a worker looking at both queues saw
                        // neither holding them and may have gone to park:
                        // pass the wake on, as `schedule` does after a push
                        // (tasks in, fence, then the count of sleepers).
                        if !queue.is_empty() {
                            atomic::fence(Ordering::SeqCst);
                            if self.executor.sleepers.load(Ordering::SeqCst) > 0 {
                                self.executor
                                    .wake_one_worker(&mut self.executor.state.lock());
                            }
                        }
                        return Some(task);
                    }
                    Steal::Empty => return None,
                    Steal::Retry => {}
                }
            }
        })
    }

    /// Work for an idle worker: from the injector, or from another
    /// worker's queue (half of it, so the two stay busy).
    fn steal(&self) -> Option<Arc<Task>> {
        self.steal_from(&self.executor.injector).or_else(|| {
            // Each other worker's queue, starting past this one's: its own
            // is empty, and workers that run dry together should not all
            // try the same queue first.
            let stealers = &self.executor.stealers;
            (1..stealers.len()).find_map(|k| {
                let from = (self.index + k) % stealers.len();
                self.steal_from(&stealers[from])
                    .inspect(|_| self.record_steal(from))
            })
        })
    }

    /// Records a steal from worker `from`, if a trace is being recorded,
    /// with how many tasks are in this worker's queue now.
    fn record_steal(&self, from: usize) {
        if trace::enabled() {
            let count = LOCAL.with(|local| local.borrow().as_ref().map_or(0, |l| l.queue.len()));
            trace::record(Event::Steal(from, 1 + count));
        }
    }

    // ANCHOR: spin
    /// Fires the timers that are due, then keeps looking for work for up to
    /// `SPIN_TIME`: in the queues, and in the OS's events, whose wakes land
    /// in this worker's queue. Returns whether it found some.
    fn spin(&self) -> bool {
        // An idle worker keeps the time, as the timekeeper does: workers
        // that keep finding work in their spins may not park for a long
        // while, and the next bookkeeping turn may be 61 spins away.
        self.executor.fire_expired_timers();
        let start = Instant::now();
        trace::record(Event::SpinStart);
        loop {
            self.poll_now();
            if self.executor.has_work() {
                trace::record(Event::SpinEnd(true));
                return true;
            }
            if self.executor.is_shut_down() || start.elapsed() >= SPIN_TIME {
                trace::record(Event::SpinEnd(false));
                return false;
            }
            std::hint::spin_loop();
        }
    }

    /// Dispatches the OS events that are ready now, unless the timekeeper
    /// is in the OS poll (it dispatches them).
    fn poll_now(&self) {
        if self.executor.reactor.poll_now() {
            // This glance read the wake meant for the timekeeper. If one is
            // parked (or about to be: it is counted under the lock before it
            // polls), send the wake again, or its wait would not end, not
            // even for shutdown. If none is, the wake is stale: sending it
            // again would only bounce it between workers that keep glancing.
            let state = self.executor.state.lock();
            if state.timekeeper_parked {
                self.executor.reactor.wake();
            }
        }
    }
    // ANCHOR_END: spin
    // ANCHOR_END: steal

    // ANCHOR: park
    /// Parks this worker until there may be work; `false` at shutdown.
    fn park(&self) -> bool {
        let executor = &*self.executor;
        let mut state = executor.state.lock();
        if executor.is_shut_down() {
            return false;
        }
        // Count this worker as a sleeper, then look at the queues again:
        // a task queued before the count was seen here; one queued after
        // sees the count and takes the lock to wake a worker, which it
        // gets only once this worker waits (or has left).
        executor.sleepers.fetch_add(1, Ordering::SeqCst);
        atomic::fence(Ordering::SeqCst);
        if !executor.has_work() {
            if !state.timekeeper_parked {
                executor.park_timekeeper(&mut state);
            } else {
                trace::record(Event::Park(Park::Idle));
                Idle::wait::<State>(&executor.workers_condvar, &mut state, None);
                trace::record(Event::Unpark);
            }
        }
        executor.sleepers.fetch_sub(1, Ordering::SeqCst);
        !executor.is_shut_down()
    }
    // ANCHOR_END: park
}
// ANCHOR_END: worker

impl Executor {
    /// Whether any queue holds a task.
    fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|stealer| !stealer.is_empty())
    }
}
