//! A worker thread: its loop, where it finds work, and how it parks.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{self, Ordering};
use std::thread;

use crossbeam_deque::{Injector, Steal, Stealer, Worker as Queue};

use super::context;
use super::{Executor, State};
use crate::idle::Idle;
use crate::task::Task;
use crate::trace::{self, Event, Park};

/// How many tasks a worker runs between two rounds of bookkeeping (due
/// timers, ready sockets). tokio's number: often enough that a due timer
/// waits for at most 61 tasks, rarely enough that its cost disappears.
const BOOKKEEPING_INTERVAL: u32 = 61;

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
    // ANCHOR: exercise-08-push-local on a worker of this runtime, push to its local queue; else leave the task to the shared one
    LOCAL.with(|local| {
        if let Some(local) = local.borrow().as_ref()
            && local.executor == executor as *const Executor as usize
        {
            local.queue.push(task.take().expect("taken once"));
        }
    });
    // ANCHOR_END: exercise-08-push-local
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
            let _context = context::enter(&executor_for_thread);
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
        // ANCHOR: exercise-08-run local queue first, then the shared queue, then steal; park only when there is no work anywhere
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
                executor.reactor.poll_now();
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
                    if !self.park() {
                        return; // shut down
                    }
                }
            }
        }
        // ANCHOR_END: exercise-08-run
    }
    // ANCHOR_END: run_worker

    // ANCHOR: steal
    /// The next task of this worker's own queue.
    fn pop_local(&self) -> Option<Arc<Task>> {
        // ANCHOR: exercise-08-pop-local pop this worker's own queue
        LOCAL.with(|local| local.borrow().as_ref()?.queue.pop())
        // ANCHOR_END: exercise-08-pop-local
    }

    /// Takes a batch of tasks from `source` into the local queue and
    /// returns one of them; wakes a sleeping worker if the batch left
    /// tasks in the local queue.
    fn steal_from(&self, source: &impl StealSource) -> Option<Arc<Task>> {
        // ANCHOR: exercise-08-steal-from steal a batch into the local queue, retrying while the source says Retry; wake a sleeper if the batch left tasks behind
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
        // ANCHOR_END: exercise-08-steal-from
    }

    /// Work for an idle worker: from the injector, or from another
    /// worker's queue (half of it, so the two stay busy).
    fn steal(&self) -> Option<Arc<Task>> {
        // ANCHOR: exercise-08-steal the shared queue, then each other worker's, starting past your own
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
        // ANCHOR_END: exercise-08-steal
    }

    /// Records a steal from worker `from`, if a trace is being recorded,
    /// with how many tasks are in this worker's queue now.
    fn record_steal(&self, from: usize) {
        if trace::enabled() {
            let count = LOCAL.with(|local| local.borrow().as_ref().map_or(0, |l| l.queue.len()));
            trace::record(Event::Steal(from, 1 + count));
        }
    }
    // ANCHOR_END: steal

    // ANCHOR: park
    /// Parks this worker until there may be work; `false` at shutdown.
    fn park(&self) -> bool {
        // ANCHOR: exercise-08-park look again for work under the lock, then wait as an idle worker or as the timekeeper
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
                Idle::wait::<State>(&executor.workers_condvar, &mut state);
                trace::record(Event::Unpark);
            }
        }
        executor.sleepers.fetch_sub(1, Ordering::SeqCst);
        !executor.is_shut_down()
        // ANCHOR_END: exercise-08-park
    }
    // ANCHOR_END: park
}
// ANCHOR_END: worker

impl Executor {
    /// Whether any queue holds a task.
    fn has_work(&self) -> bool {
        // ANCHOR: exercise-08-has-work is any queue, local or shared, not empty
        !self.injector.is_empty() || self.stealers.iter().any(|stealer| !stealer.is_empty())
        // ANCHOR_END: exercise-08-has-work
    }
}
