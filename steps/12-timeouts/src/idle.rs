//! Idle threads: threads that wait on a condition variable for work, counted
//! so that each notification goes to a thread no earlier one woke.
//!
//! The workers park this way.

use parking_lot::{Condvar, MutexGuard};

// ANCHOR: idle
/// How many threads wait on one condition variable, and how many of them
/// were notified and have not woken up yet.
///
/// Counting the notified ones apart is what keeps a second piece of work
/// from "waking" a thread that an earlier notification already woke, while
/// another thread sleeps on. It lives inside the state the condition
/// variable's mutex guards, and every method is called with that mutex held.
#[derive(Debug, Default)]
pub(crate) struct Idle {
    /// Threads waiting and not notified.
    waiting: usize,
    /// Threads notified that have not woken up yet.
    notified: usize,
}

impl Idle {
    /// Counts the calling thread as idle and waits on `condvar`, whose mutex
    /// `guard` holds, until it is notified. Spurious wake-ups return too:
    /// callers look for work again either way.
    pub(crate) fn wait<S: AsMut<Idle>>(condvar: &Condvar, guard: &mut MutexGuard<'_, S>) {
        guard.as_mut().waiting += 1;
        condvar.wait(guard);
        // Woken by a notification, or spuriously: either way this thread
        // is no longer counted as idle.
        let idle = guard.as_mut();
        if idle.notified > 0 {
            idle.notified -= 1;
        } else {
            idle.waiting -= 1;
        }
    }

    /// Wakes one waiting thread that no notification has picked yet.
    /// Returns `false` if there is none.
    pub(crate) fn notify_one(&mut self, condvar: &Condvar) -> bool {
        if self.waiting == 0 {
            return false;
        }
        self.waiting -= 1;
        self.notified += 1;
        condvar.notify_one();
        true
    }
}
// ANCHOR_END: idle
