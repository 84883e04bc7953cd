//! `interval`: a tick every period.

use std::fmt;
use std::time::{Duration, Instant};

use crate::time::{deadline_after, sleep_until};

// ANCHOR: interval
/// A stream of ticks, `period` apart; the first tick completes at once.
///
/// If a tick comes late (the task was busy for longer than a period), the
/// ticks it missed are skipped, not fired in a burst: the next tick is the
/// next multiple of `period` after now, on the original schedule.
///
/// # Panics
///
/// If `period` is zero.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// runtime::block_on(async {
///     let mut interval = runtime::time::interval(Duration::from_millis(10));
///     let first = interval.tick().await; // at once
///     let second = interval.tick().await; // 10 ms later
///     assert_eq!(second - first, Duration::from_millis(10));
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "interval period must be greater than zero"
    );
    Interval {
        next: Instant::now(),
        period,
    }
}

/// Ticks `period` apart, returned by [`interval`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::{Interval, interval};
///
/// runtime::block_on(async {
///     let mut ticks: Interval = interval(Duration::from_millis(5));
///     for _ in 0..3 {
///         ticks.tick().await;
///     }
///     assert_eq!(ticks.period(), Duration::from_millis(5));
/// });
/// ```
pub struct Interval {
    /// When the next tick is due.
    next: Instant,
    period: Duration,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was due at.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// runtime::block_on(async {
    ///     let mut interval = runtime::time::interval(Duration::from_millis(5));
    ///     let due = interval.tick().await;
    ///     assert!(due <= Instant::now());
    /// });
    /// ```
    pub async fn tick(&mut self) -> Instant {
        let due = self.next;
        sleep_until(due).await;
        // Schedule the tick after: one period on, or, if that is already
        // past, the first point of the schedule that is not.
        let now = Instant::now();
        // (A period too long for an `Instant`: the next tick is never.)
        let mut next = due
            .checked_add(self.period)
            .unwrap_or_else(|| deadline_after(self.period));
        if next <= now {
            let behind = now.duration_since(next).as_nanos() / self.period.as_nanos();
            let skip = u32::try_from(behind + 1).unwrap_or(u32::MAX);
            next += self.period.saturating_mul(skip);
        }
        self.next = next;
        due
    }

    /// The time between ticks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// runtime::block_on(async {
    ///     let interval = runtime::time::interval(Duration::from_secs(1));
    ///     assert_eq!(interval.period(), Duration::from_secs(1));
    /// });
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("period", &self.period)
            .field("next", &self.next)
            .finish()
    }
}
// ANCHOR_END: interval
