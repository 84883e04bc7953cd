//! `block_on`: run one future to completion on the current thread.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use parking_lot::{Condvar, Mutex};

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
        // ANCHOR: exercise-01-wait sleep on the condition variable until the flag is raised, then lower it
        let mut notified = self.notified.lock();
        // A loop, not an `if`: condition variables may wake up spuriously.
        while !*notified {
            self.condvar.wait(&mut notified);
        }
        *notified = false;
        // ANCHOR_END: exercise-01-wait
    }

    /// Raises the flag and wakes the waiting thread, if there is one.
    pub(crate) fn notify(&self) {
        // ANCHOR: exercise-01-notify raise the flag under the lock and wake the waiting thread
        let mut notified = self.notified.lock();
        if !*notified {
            *notified = true;
            self.condvar.notify_one();
        }
        // ANCHOR_END: exercise-01-notify
    }
}
// ANCHOR_END: signal

// ANCHOR: wake
/// Waking a `block_on` task means raising its signal.
///
/// `std::task::Wake` turns an `Arc<Signal>` into a `Waker` with no unsafe
/// code: the standard library writes the vtable for us.
impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        // ANCHOR: exercise-01-wake waking means raising the signal
        self.notify();
        // ANCHOR_END: exercise-01-wake
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // ANCHOR: exercise-01-wake-by-ref the same, without consuming the Arc
        self.notify();
        // ANCHOR_END: exercise-01-wake-by-ref
    }
}
// ANCHOR_END: wake

// ANCHOR: block_on
/// Runs `future` to completion on the current thread and returns its output.
///
/// Between polls the thread sleeps; it wakes up only when the future's waker
/// is called, from this thread or any other. No time is spent spinning.
///
/// ```
/// let answer = runtime::block_on(async { 6 * 7 });
/// assert_eq!(answer, 42);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    // ANCHOR: exercise-01-block-on pin the future, make a waker from a Signal, poll; on Pending wait for the signal
    // The future must not move once polled: pin it on this stack frame.
    let mut future = pin!(future);

    let signal = Arc::new(Signal::new());
    let waker = Waker::from(signal.clone());
    let mut cx = Context::from_waker(&waker);

    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        // `Pending` promises that the waker will be called when there is
        // progress to make. Sleep until then.
        signal.wait();
    }
    // ANCHOR_END: exercise-01-block-on
}
// ANCHOR_END: block_on
