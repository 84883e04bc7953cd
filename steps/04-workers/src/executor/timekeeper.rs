//! The timekeeper, and the timers it keeps.
//!
//! An idle worker that finds no other worker keeping the time becomes the
//! timekeeper: it waits on its own condition variable, with the earliest
//! timer deadline as its timeout, so that one wait ends for whichever comes
//! first: a new task, a new earliest deadline, or that deadline.

use std::task::Waker;
use std::time::Instant;

use parking_lot::MutexGuard;

use super::{Executor, State};
use crate::timer_queue::TimerKey;
use crate::trace::{self, Event, Park};

impl Executor {
    // ANCHOR: park_timekeeper
    /// Parks as the timekeeper: until a task is queued, a new earliest
    /// deadline arrives, or the earliest deadline passes. Then fires the
    /// timers that are due.
    pub(super) fn park_timekeeper(&self, state: &mut MutexGuard<'_, State>) {
        // ANCHOR: exercise-04-park-timekeeper one idle worker waits until the next deadline, or until woken
        state.timekeeper_parked = true;
        trace::record(Event::Park(Park::Timekeeper));
        match self.next_deadline() {
            Some(deadline) => {
                self.timekeeper_condvar.wait_until(state, deadline);
            }
            None => self.timekeeper_condvar.wait(state),
        }
        trace::record(Event::Unpark);
        state.timekeeper_parked = false;
        // Leaving the role: if other workers are parked, one of them takes
        // it over, or no one would wait for the next deadline while this
        // worker runs a long task. (Done whether a timer is pending or not:
        // one rule, at the price of a wake that may find nothing to do.)
        state.idle_workers.notify_one(&self.workers_condvar);
        // Waking tasks takes the state lock: fire the timers without it.
        MutexGuard::unlocked(state, || self.fire_expired_timers());
        // ANCHOR_END: exercise-04-park-timekeeper
    }
    // ANCHOR_END: park_timekeeper

    // ANCHOR: wake_timekeeper
    /// Wakes the timekeeper, if one is parked.
    pub(super) fn wake_timekeeper(&self, state: &mut State) {
        // ANCHOR: exercise-04-wake-timekeeper an earlier deadline or a task for it: wake the timekeeper
        if state.timekeeper_parked {
            self.timekeeper_condvar.notify_one();
        }
        // ANCHOR_END: exercise-04-wake-timekeeper
    }
    // ANCHOR_END: wake_timekeeper

    // ANCHOR: fire_timers
    /// Wakes every task whose deadline has passed.
    ///
    /// The wakers are called after the lock is released: waking a task
    /// takes the executor's lock, and a woken task may sleep again.
    pub(super) fn fire_expired_timers(&self) {
        let expired = self.timers.lock().take_expired(Instant::now());
        if !expired.is_empty() {
            trace::record(Event::TimersFired(expired.len()));
        }
        for waker in expired {
            waker.wake();
        }
    }

    /// When the earliest pending timer is due, if there is one.
    fn next_deadline(&self) -> Option<Instant> {
        self.timers.lock().next_deadline()
    }

    // ANCHOR: add_timer
    /// Adds a timer. If it is now the earliest, the timekeeper may be
    /// parked with a later timeout: wake it so it waits for this one.
    pub(crate) fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerKey {
        let (key, earliest) = {
            let mut timers = self.timers.lock();
            let key = timers.insert(deadline, waker);
            (key, timers.next_deadline() == Some(deadline))
        };
        if earliest {
            // The timekeeper reads the deadline and parks under the state
            // lock, so it either saw this timer or gets this notification.
            self.wake_timekeeper(&mut self.state.lock());
        }
        key
    }
    // ANCHOR_END: add_timer

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
