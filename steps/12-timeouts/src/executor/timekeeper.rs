//! The timekeeper, and the timers it keeps.
//!
//! An idle worker that finds no other worker in the OS poll becomes the
//! timekeeper: it waits there, with the earliest timer deadline as its
//! timeout, so that one wait ends for whichever comes first: an I/O event,
//! a new task, a new earliest deadline, or that deadline.

use std::task::Waker;
use std::time::Instant;

use parking_lot::MutexGuard;

use super::{Executor, State};
use crate::timer_queue::TimerKey;
use crate::trace::{self, Event, Park};

impl Executor {
    // ANCHOR: park_timekeeper
    /// Parks as the timekeeper, in the reactor's OS poll: until an I/O
    /// event comes, a task is queued, a new earliest deadline arrives, or
    /// the earliest deadline passes. Then fires the timers that are due.
    pub(super) fn park_timekeeper(&self, state: &mut MutexGuard<'_, State>) {
        state.timekeeper_parked = true;
        state.timekeeper_woken = false;
        let timeout = self
            .next_deadline()
            .map(|deadline| deadline.saturating_duration_since(Instant::now()));
        // Wait without the lock. A task queued from now on finds
        // `timekeeper_parked` set and interrupts the poll through the
        // reactor's `mio::Waker`, whose wake is kept until the next poll:
        // one sent before the poll begins makes it return at once.
        trace::record(Event::Park(Park::Reactor));
        MutexGuard::unlocked(state, || self.reactor.poll(timeout));
        trace::record(Event::Unpark);
        state.timekeeper_parked = false;
        // Leaving the role: if other workers are parked, one of them takes
        // it over, or no one would wait for the next deadline or OS event
        // while this worker runs a long task.
        state.idle_workers.notify_one(&self.workers_condvar);
        // Waking tasks takes the state lock: fire the timers without it.
        MutexGuard::unlocked(state, || self.fire_expired_timers());
    }

    /// Interrupts the timekeeper's OS poll, if it is in one.
    pub(super) fn wake_timekeeper(&self, state: &mut State) {
        if state.timekeeper_parked && !state.timekeeper_woken {
            state.timekeeper_woken = true;
            self.reactor.wake();
        }
    }
    // ANCHOR_END: park_timekeeper

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
