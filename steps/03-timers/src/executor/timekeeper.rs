//! The timers: the deadlines that sleeping tasks wait for.
//!
//! `block_on` keeps the time: it fires the timers that are due on every
//! turn, and sleeps no later than the earliest deadline.

use std::task::Waker;
use std::time::Instant;

use super::Executor;
use crate::timer_queue::TimerKey;

impl Executor {
    // ANCHOR: fire_timers
    /// Wakes every task whose deadline has passed.
    ///
    /// The wakers are called after the lock is released: waking a task
    /// takes the executor's lock, and a woken task may sleep again.
    pub(crate) fn fire_expired_timers(&self) {
        let expired = self.timers.lock().take_expired(Instant::now());
        for waker in expired {
            waker.wake();
        }
    }

    /// When the earliest pending timer is due, if there is one.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.timers.lock().next_deadline()
    }

    /// Adds a timer.
    pub(crate) fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerKey {
        self.timers.lock().insert(deadline, waker)
    }

    /// Gives a pending timer the waker of the latest poll. Returns `false`
    /// if the timer is not pending any more (it fired, or the runtime shut
    /// down).
    pub(crate) fn update_timer(&self, key: TimerKey, waker: &Waker) -> bool {
        self.timers.lock().update(key, waker)
    }

    /// Removes a timer if it is still pending.
    pub(crate) fn remove_timer(&self, key: TimerKey) {
        self.timers.lock().remove(key);
    }

    /// How many timers are pending.
    #[cfg(test)]
    pub(crate) fn pending_timers(&self) -> usize {
        self.timers.lock().len()
    }
    // ANCHOR_END: fire_timers
}
