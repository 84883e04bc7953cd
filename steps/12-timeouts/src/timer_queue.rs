//! The timer queue: every pending sleep's deadline and waker, in deadline
//! order.

use std::collections::BTreeMap;
use std::task::Waker;
use std::time::Instant;

// ANCHOR: timer_queue
/// Identifies one entry: its deadline, then a number that tells apart
/// entries with the same deadline. Ordered by deadline first.
pub(crate) type TimerKey = (Instant, u64);

/// Pending timers, ordered by deadline.
///
/// A `BTreeMap` rather than a `BinaryHeap`: a heap finds the earliest
/// deadline just as fast, but cannot remove an entry from the middle, and a
/// sleep that is dropped, or polled again with a new waker, must change its
/// own entry right away instead of leaving it there until its deadline.
#[derive(Default)]
pub(crate) struct TimerQueue {
    entries: BTreeMap<TimerKey, Waker>,
    next_id: u64,
}

impl TimerQueue {
    /// Adds a timer; returns the key that finds it again.
    pub(crate) fn insert(&mut self, deadline: Instant, waker: Waker) -> TimerKey {
        let key = (deadline, self.next_id);
        self.next_id += 1;
        self.entries.insert(key, waker);
        key
    }

    /// Replaces the waker of a timer that is still pending, so that the
    /// latest poll's waker is the one woken. Returns `false` if it fired.
    pub(crate) fn update(&mut self, key: TimerKey, waker: &Waker) -> bool {
        match self.entries.get_mut(&key) {
            Some(stored) => {
                if !stored.will_wake(waker) {
                    *stored = waker.clone();
                }
                true
            }
            None => false,
        }
    }

    /// Removes a timer if it is still there.
    pub(crate) fn remove(&mut self, key: TimerKey) {
        self.entries.remove(&key);
    }

    /// The earliest deadline, if any timer is pending.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.entries
            .first_key_value()
            .map(|(&(deadline, _), _)| deadline)
    }

    /// Removes every timer whose deadline is not after `now`, and returns
    /// their wakers, earliest first, for the caller to wake.
    pub(crate) fn take_expired(&mut self, now: Instant) -> Vec<Waker> {
        let mut expired = Vec::new();
        while let Some(entry) = self.entries.first_entry() {
            if entry.key().0 > now {
                break;
            }
            expired.push(entry.remove());
        }
        expired
    }

    /// How many timers are pending.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}
// ANCHOR_END: timer_queue

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::counting_waker;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    #[test]
    fn expired_timers_come_out_in_deadline_order() {
        let start = Instant::now();
        let mut queue = TimerQueue::default();
        let (count, waker) = counting_waker();
        for ms in [30, 10, 20, 10, 50] {
            queue.insert(start + Duration::from_millis(ms), waker.clone());
        }
        assert_eq!(
            queue.next_deadline(),
            Some(start + Duration::from_millis(10))
        );
        let expired = queue.take_expired(start + Duration::from_millis(20));
        assert_eq!(expired.len(), 3, "10, 10 and 20 ms are due at 20 ms");
        assert_eq!(
            queue.next_deadline(),
            Some(start + Duration::from_millis(30))
        );
        expired.into_iter().for_each(Waker::wake);
        assert_eq!(count.0.load(Ordering::SeqCst), 3);
        assert_eq!(queue.len(), 2);
    }

    #[test]
    fn update_replaces_the_waker_and_reports_a_fired_timer() {
        let start = Instant::now();
        let mut queue = TimerQueue::default();
        let (first, first_waker) = counting_waker();
        let (second, second_waker) = counting_waker();
        let key = queue.insert(start, first_waker);
        assert!(queue.update(key, &second_waker));
        assert_eq!(queue.len(), 1, "an update is not a second entry");
        queue.take_expired(start).into_iter().for_each(Waker::wake);
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert_eq!(
            second.0.load(Ordering::SeqCst),
            1,
            "the latest waker is woken"
        );
        assert!(!queue.update(key, &second_waker), "a fired timer is gone");
    }

    #[test]
    fn remove_frees_the_entry() {
        let mut queue = TimerQueue::default();
        let (_, waker) = counting_waker();
        let key = queue.insert(Instant::now() + Duration::from_secs(3600), waker);
        queue.remove(key);
        assert_eq!(queue.len(), 0);
        assert_eq!(queue.next_deadline(), None);
    }
}
