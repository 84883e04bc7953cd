//! Running one future to completion on the current thread, parked between
//! polls, while worker threads run the spawned tasks. [`block_on`] and
//! [`Runtime::block_on`] are built on this.
//!
//! [`block_on`]: crate::block_on
//! [`Runtime::block_on`]: crate::Runtime::block_on

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use crate::sync::{Condvar, Mutex};

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

/// Polls `future` on this thread until it completes, parking in between.
pub(crate) fn run_until_complete<F: Future>(future: F) -> F::Output {
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
