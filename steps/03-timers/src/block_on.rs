//! `block_on`: run one future to completion on the current thread, and the
//! spawned tasks alongside it.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

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

    // ANCHOR: wait_until
    /// Like `wait`, but returns at `deadline` if the flag is still down.
    pub(crate) fn wait_until(&self, deadline: Instant) {
        // ANCHOR: exercise-03-wait-until like wait, but give up at the deadline
        let mut notified = self.notified.lock();
        while !*notified {
            if self.condvar.wait_until(&mut notified, deadline).timed_out() {
                return;
            }
        }
        *notified = false;
        // ANCHOR_END: exercise-03-wait-until
    }
    // ANCHOR_END: wait_until

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
/// The waker of the future given to `block_on`.
///
/// The thread's signal is now raised by tasks too, so waking the main
/// future also sets `woken`: it tells the loop that *this* future, not only
/// some task, has progress to make.
struct MainWaker {
    woken: AtomicBool,
    signal: Arc<Signal>,
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.signal.notify();
    }
}
// ANCHOR_END: wake

// ANCHOR: block_on
/// Runs `future` to completion on the current thread and returns its output.
///
/// While it waits, the thread runs the tasks spawned with [`spawn`](crate::spawn).
/// When `block_on` returns, every task that has not finished is dropped.
///
/// # Panics
///
/// If called from inside a task or another `block_on`: blocking there would
/// stop every task that shares the thread. Use `.await` instead.
///
/// ```
/// let handle = runtime::block_on(async { runtime::spawn(async { 6 * 7 }).await });
/// assert_eq!(handle.unwrap(), 42);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    executor::assert_can_block();
    let executor = Executor::new();
    // Makes `spawn` find this executor until `block_on` returns.
    let _context = executor::enter(&executor);
    // Dropped first: shuts the executor down, whether `block_on` returns
    // or unwinds, while `spawn` on this thread still finds it.
    let _shutdown = ShutdownGuard(executor.clone());
    // The future must not move once polled: pin it on this stack frame.
    let mut future = pin!(future);

    let main_waker = Arc::new(MainWaker {
        woken: AtomicBool::new(true),
        signal: executor.signal().clone(),
    });
    let waker = Waker::from(main_waker.clone());
    let mut cx = Context::from_waker(&waker);

    // ANCHOR: block_on_loop
    // ANCHOR: exercise-03-block-on as in stage 2, and fire due timers on every turn; sleep until the next deadline at most
    loop {
        if main_waker.woken.swap(false, Ordering::AcqRel)
            && let Poll::Ready(output) = future.as_mut().poll(&mut cx)
        {
            return output;
        }
        // Timers first, on every turn: a task that keeps yielding keeps the
        // ready queue full, and must not keep due timers from firing.
        executor.fire_expired_timers();
        // Give the spawned tasks a turn, a bounded one, so that a task that
        // keeps yielding cannot keep the main future waiting forever.
        let ran = executor.run_ready_tasks(BUDGET);
        if ran == 0 && !main_waker.woken.load(Ordering::Acquire) {
            // Nothing to do: sleep until a task is queued, the main future
            // is woken, or the earliest timer is due, and not a moment
            // longer: no polling interval, no busy loop.
            match executor.next_deadline() {
                Some(deadline) => executor.signal().wait_until(deadline),
                None => executor.signal().wait(),
            }
        }
    }
    // ANCHOR_END: exercise-03-block-on
    // ANCHOR_END: block_on_loop
}

/// How many tasks `block_on` runs before it looks at the main future again.
const BUDGET: usize = 64;
// ANCHOR_END: block_on

/// Shuts its executor down when dropped.
struct ShutdownGuard(Arc<Executor>);

impl Drop for ShutdownGuard {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}
