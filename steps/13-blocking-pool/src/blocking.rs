//! The blocking pool: threads for work that blocks, so that it never holds
//! up a worker thread and the tasks queued behind it.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::executor::{self, ThreadKind};
use crate::idle::Idle;
use crate::join::{self, JoinError, JoinHandle, JoinTarget, Slot};
use crate::trace::{self, Event};

/// At most this many blocking threads run at once; more jobs wait.
const MAX_THREADS: usize = 512;
/// A blocking thread with no job for this long exits, by default.
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

// ANCHOR: pool
/// A pool that grows when every thread is busy and shrinks when threads
/// stay idle.
pub(crate) struct BlockingPool {
    state: Mutex<PoolState>,
    condvar: Condvar,
    /// How long a thread waits for a job before it exits.
    keep_alive: Duration,
}

/// What the pool's lock guards. Under it:
///
/// - every job in `queue` will be taken by a thread: one notified for it,
///   one started for it, or, at the limit of `MAX_THREADS`, a busy one
///   when it is done;
/// - `threads` counts the threads that have not exited, idle or busy, and
///   `idle` the ones waiting on the condvar;
/// - once `shut_down` is set, nothing is queued again.
struct PoolState {
    queue: VecDeque<Job>,
    /// Threads alive, busy or idle.
    threads: usize,
    /// Threads waiting on the condvar for a job, counted as the workers are.
    idle: Idle,
    shut_down: bool,
    /// To join at shutdown; handles of threads that exited are pruned.
    handles: Vec<thread::JoinHandle<()>>,
}
// ANCHOR_END: pool

impl AsMut<Idle> for PoolState {
    fn as_mut(&mut self) -> &mut Idle {
        &mut self.idle
    }
}

// ANCHOR: spawn_blocking
/// Runs `f` on a thread of the runtime's blocking pool and returns a handle
/// to its result: for work that blocks (a file read, a heavy computation,
/// a blocking library), which would otherwise stall a worker thread and
/// every task queued behind it.
///
/// The pool starts threads as needed (up to 512) and lets them go after
/// 10 s without work. A job that panics resolves its handle to a
/// [`JoinError`](crate::JoinError) with `is_panic()`.
///
/// # Panics
///
/// If called outside of a runtime.
///
/// # Examples
///
/// ```
/// runtime::block_on(async {
///     let sum = runtime::task::spawn_blocking(|| (1..=100u64).sum::<u64>()).await.unwrap();
///     assert_eq!(sum, 5050);
/// });
/// ```
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let executor = executor::current().expect(
        "spawn_blocking called outside of a runtime: call it from inside block_on or a task",
    );
    let (completer, handle) = channel();
    let runtime = executor.clone();
    let job = Box::new(move || {
        // The runtime, so that `spawn` works in the job; as a blocking
        // thread, so that blocking (even `block_on`) is allowed.
        let _context = executor::enter(&runtime, ThreadKind::Blocking);
        if completer.is_cancelled() {
            drop(completer); // resolves the handle as cancelled
            return;
        }
        completer.complete(std::panic::catch_unwind(AssertUnwindSafe(f)));
    });
    executor.blocking().push(job);
    handle
}
// ANCHOR_END: spawn_blocking

/// A `spawn_blocking` job's side of its handle: the output, and the flag
/// that `abort` sets.
pub(crate) struct BlockingTarget<T> {
    output: Mutex<Slot<T>>,
    cancelled: AtomicBool,
}

impl<T: Send> JoinTarget<T> for BlockingTarget<T> {
    fn output(&self) -> &Mutex<Slot<T>> {
        &self.output
    }

    /// A job can only be skipped: one that has started runs to its end.
    fn abort(self: Arc<Self>) {
        self.cancelled.store(true, Ordering::Release);
    }
}

/// The blocking job's end: it stores the result and wakes the handle.
pub(crate) struct Completer<T> {
    target: Arc<BlockingTarget<T>>,
}

/// A new blocking job's output, seen from both ends.
pub(crate) fn channel<T: Send + 'static>() -> (Completer<T>, JoinHandle<T>) {
    let target = Arc::new(BlockingTarget {
        output: Mutex::new(Slot::Waiting(None)),
        cancelled: AtomicBool::new(false),
    });
    (
        Completer {
            target: target.clone(),
        },
        JoinHandle::new(target),
    )
}

// ANCHOR: completer
impl<T> Completer<T> {
    /// Whether the handle asked for the job to be skipped.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.target.cancelled.load(Ordering::Acquire)
    }

    /// Hands the job's result, or the panic that ended it, to the handle.
    pub(crate) fn complete(self, result: std::thread::Result<T>) {
        // ANCHOR: exercise-13a-complete hand the result (or the panic, as a JoinError) to the handle, and wake it
        join::finish(&self.target.output, result.map_err(JoinError::panic));
        // ANCHOR_END: exercise-13a-complete
    }
}

/// A job dropped before it ran (skipped, or queued at shutdown) was
/// cancelled: the completer goes with the job, and says so to the handle.
/// After `complete`, this finds the result there and changes nothing.
impl<T> Drop for Completer<T> {
    fn drop(&mut self) {
        // ANCHOR: exercise-13a-cancel resolve the handle as cancelled (a result already there stays)
        join::finish(&self.target.output, Err(JoinError::cancelled()));
        // ANCHOR_END: exercise-13a-cancel
    }
}
// ANCHOR_END: completer

impl BlockingPool {
    pub(crate) fn new(keep_alive: Duration) -> BlockingPool {
        BlockingPool {
            state: Mutex::new(PoolState {
                queue: VecDeque::new(),
                threads: 0,
                idle: Idle::default(),
                shut_down: false,
                handles: Vec::new(),
            }),
            condvar: Condvar::new(),
            keep_alive,
        }
    }

    // ANCHOR: push
    /// Queues a job: wakes an idle thread, or starts a new one if none is
    /// idle and the pool is not at its limit.
    pub(crate) fn push(self: &Arc<Self>, job: Job) {
        // ANCHOR: exercise-13a-push refuse after shutdown, queue the job, then wake an idle thread, or start one below the limit
        let mut state = self.state.lock();
        if state.shut_down {
            return; // dropping the job resolves its handle as cancelled
        }
        state.queue.push_back(job);
        if state.idle.notify_one(&self.condvar) {
            return;
        }
        if state.threads >= MAX_THREADS {
            return; // a busy thread takes it when it is done
        }
        state.handles.retain(|handle| !handle.is_finished());
        let pool = self.clone();
        let spawned = thread::Builder::new()
            .name("runtime-blocking".into())
            .spawn(move || pool.run_thread());
        match spawned {
            Ok(handle) => {
                state.threads += 1;
                state.handles.push(handle);
            }
            // With no thread at all, the job would wait forever: say so.
            Err(error) if state.threads == 0 => {
                let job = state.queue.pop_back();
                drop(state);
                drop(job);
                panic!("spawn_blocking could not start a thread: {error}");
            }
            Err(_) => {} // the threads that exist will take it
        }
        // ANCHOR_END: exercise-13a-push
    }
    // ANCHOR_END: push

    // ANCHOR: run_thread
    /// The loop of a blocking thread: run jobs; exit after `keep_alive`
    /// without one, or at shutdown.
    fn run_thread(&self) {
        // ANCHOR: exercise-13a-run-thread take jobs from the queue and run them outside the lock, a panic caught; wait as an idle thread; leave at shutdown or after keep_alive with no job
        let mut state = self.state.lock();
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                // The job catches its closure's panic itself; what can still
                // escape is the wake of its handle, whose waker may be
                // anybody's. It must not end this thread, which the count of
                // threads would then still include (lesson #8).
                trace::record(Event::BlockingStart);
                let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                trace::record(Event::BlockingEnd);
                state = self.state.lock();
                continue;
            }
            if state.shut_down {
                break;
            }
            let woken = Idle::wait(&self.condvar, &mut state, Some(self.keep_alive));
            if !woken.notified && woken.timed_out && state.queue.is_empty() {
                break;
            }
        }
        state.threads -= 1;
        // ANCHOR_END: exercise-13a-run-thread
    }
    // ANCHOR_END: run_thread

    // ANCHOR: pool_shutdown
    /// Drops the jobs that have not started and waits for the running ones
    /// to finish (they cannot be interrupted).
    pub(crate) fn shutdown(&self) {
        // ANCHOR: exercise-13a-shutdown under the lock: set shut_down, wake every idle thread, take the queue and the handles; then drop the queued jobs and join the threads
        let (queue, handles) = {
            let mut state = self.state.lock();
            state.shut_down = true;
            self.condvar.notify_all();
            (
                std::mem::take(&mut state.queue),
                std::mem::take(&mut state.handles),
            )
        };
        drop(queue);
        for handle in handles {
            // A job's panic was caught on its thread: joining cannot fail.
            let _ = handle.join();
        }
        // ANCHOR_END: exercise-13a-shutdown
    }
    // ANCHOR_END: pool_shutdown
}
