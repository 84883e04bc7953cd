//! Idle threads: threads that wait on a condition variable for work, counted
//! so that each notification goes to a thread no earlier one woke.
//!
//! The workers park this way, and so do the threads of the blocking pool.

use std::time::Duration;

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

/// How a [`Idle::wait`] ended.
pub(crate) struct Woken {
    /// A notification picked this thread (or one that was meant for a
    /// thread that has since woken up for another reason: the counts only
    /// say how many, not which).
    pub(crate) notified: bool,
    /// The timeout passed.
    pub(crate) timed_out: bool,
}

impl Idle {
    /// Counts the calling thread as idle and waits on `condvar`, whose mutex
    /// `guard` holds, until it is notified or `timeout` passes (`None`:
    /// no timeout). Spurious wake-ups return too: callers look for work
    /// again either way.
    pub(crate) fn wait<S: AsMut<Idle>>(
        condvar: &Condvar,
        guard: &mut MutexGuard<'_, S>,
        timeout: Option<Duration>,
    ) -> Woken {
        guard.as_mut().waiting += 1;
        let timed_out = match timeout {
            Some(timeout) => condvar.wait_for(guard, timeout).timed_out(),
            None => {
                condvar.wait(guard);
                false
            }
        };
        // Woken by a notification, by the timeout or spuriously: either
        // way this thread is no longer counted as idle.
        let idle = guard.as_mut();
        let notified = idle.notified > 0;
        if notified {
            idle.notified -= 1;
        } else {
            idle.waiting -= 1;
        }
        Woken {
            notified,
            timed_out,
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
