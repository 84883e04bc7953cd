//! `block_on`: run one future to completion on the current thread, while
//! worker threads run the spawned tasks.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use parking_lot::{Condvar, Mutex};

use crate::executor::{self, Executor};

// ANCHOR: signal
/// A flag that one thread waits on and any thread can raise.
///
/// This is what the waker of `block_on` points at. Raising the flag and
/// checking it both happen under the same lock, so a `notify` that comes
/// between "the future returned `Pending`" and "the thread went to sleep"
/// is not lost: `wait` sees the flag already raised and returns at once.
pub(crate) struct Signal {
    notified: Mutex<bool>,
    condvar: Condvar,
}

impl Signal {
    pub(crate) fn new() -> Signal {
        Signal {
            notified: Mutex::new(false),
            condvar: Condvar::new(),
        }
    }

    /// Sleeps until the flag is raised, then lowers it.
    pub(crate) fn wait(&self) {
        let mut notified = self.notified.lock();
        // A loop, not an `if`: condition variables may wake up spuriously.
        while !*notified {
            self.condvar.wait(&mut notified);
        }
        *notified = false;
    }

    /// Raises the flag and wakes the waiting thread, if there is one.
    pub(crate) fn notify(&self) {
        let mut notified = self.notified.lock();
        if !*notified {
            *notified = true;
            self.condvar.notify_one();
        }
    }
}
// ANCHOR_END: signal

// ANCHOR: wake
/// Waking the future given to `block_on` means raising its thread's signal.
///
/// Tasks no longer run on this thread, so the signal is raised by this
/// future's waker alone, as in stage 1.
impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.notify();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.notify();
    }
}
// ANCHOR_END: wake

// ANCHOR: block_on
/// Runs `future` to completion on the current thread and returns its output.
///
/// The spawned tasks run on worker threads, one per available core, which
/// start here and stop when `block_on` returns; every task that has not
/// finished by then is dropped.
///
/// # Panics
///
/// If called from inside a task or another `block_on`: blocking there would
/// stop a thread that other tasks are waiting for. Use `.await` instead.
///
/// ```
/// let handle = runtime::block_on(async { runtime::spawn(async { 6 * 7 }).await });
/// assert_eq!(handle.unwrap(), 42);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    executor::assert_can_block();
    let worker_threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let executor = Executor::new(worker_threads);
    // Makes `spawn` find this executor until `block_on` returns.
    let _context = executor::enter(&executor);
    // Dropped first: shuts the executor down, whether `block_on` returns
    // or unwinds, while `spawn` on this thread still finds it.
    let _shutdown = ShutdownGuard(executor);
    // The future must not move once polled: pin it on this stack frame.
    let mut future = pin!(future);

    let signal = Arc::new(Signal::new());
    let waker = Waker::from(signal.clone());
    let mut cx = Context::from_waker(&waker);

    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        // The workers run the tasks and fire the timers; this thread only
        // waits for its own future's waker.
        signal.wait();
    }
}
// ANCHOR_END: block_on

/// Shuts its executor down when dropped.
struct ShutdownGuard(Arc<Executor>);

impl Drop for ShutdownGuard {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}
