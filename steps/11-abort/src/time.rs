//! Time: futures that complete at a point in time.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::executor::{self, Executor};
use crate::timer_queue::TimerKey;

// ANCHOR: sleep
/// Waits until `duration` has elapsed.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// runtime::block_on(async {
///     let start = Instant::now();
///     runtime::time::sleep(Duration::from_millis(10)).await;
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(deadline_after(duration))
}

/// The instant `duration` from now; or, if an `Instant` can't hold it
/// (`Duration::MAX`, which is how "no time limit" is often written), about
/// 30 years from now: for ever, as far as a program is concerned, where
/// `Instant::now() + duration` would panic on the overflow.
pub(crate) fn deadline_after(duration: Duration) -> Instant {
    const FOR_EVER: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);
    let now = Instant::now();
    now.checked_add(duration).unwrap_or_else(|| now + FOR_EVER)
}

/// Waits until `deadline`. A deadline in the past completes at once.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        entry: None,
    }
}

/// The future returned by [`sleep`] and [`sleep_until`].
///
/// It holds at most one entry in the timer queue, however often it is
/// polled, and removes it when dropped.
#[must_use = "a Sleep does nothing unless it is awaited"]
pub struct Sleep {
    deadline: Instant,
    /// Its entry in the timer queue of the executor it was first polled on.
    entry: Option<(Arc<Executor>, TimerKey)>,
}
// ANCHOR_END: sleep

// ANCHOR: poll_sleep
impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            self.deregister();
            return Poll::Ready(());
        }
        // Polled again: keep the one entry, with this poll's waker.
        if let Some((executor, key)) = &self.entry
            && executor.update_timer(*key, cx.waker())
        {
            return Poll::Pending;
        }
        // First poll: register with the executor running this task. (Or the
        // entry is gone while the deadline is still ahead: the runtime it
        // was registered with has shut down, and its timers with it, so
        // register with the one polling it now.)
        let executor = executor::current()
            .expect("a Sleep was polled outside of a runtime: await it inside block_on");
        let key = executor.add_timer(self.deadline, cx.waker().clone());
        self.entry = Some((executor, key));
        Poll::Pending
    }
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.entry.is_some())
            .finish()
    }
}

impl Sleep {
    fn deregister(&mut self) {
        if let Some((executor, key)) = self.entry.take() {
            executor.remove_timer(key);
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.deregister();
    }
}
// ANCHOR_END: poll_sleep

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;

    fn pending_timers() -> usize {
        executor::current()
            .expect("inside block_on")
            .pending_timers()
    }

    /// Lesson #7: a sleep polled 1,000 times holds one entry, and a dropped
    /// sleep frees it at once rather than at its deadline.
    #[test]
    fn a_sleep_holds_one_entry_and_frees_it_when_dropped() {
        crate::block_on(async {
            let mut sleep = Box::pin(sleep(Duration::from_secs(3600)));
            for _ in 0..1_000 {
                poll_fn(|cx| Poll::Ready(sleep.as_mut().poll(cx)))
                    .await
                    .is_pending();
                crate::task::yield_now().await;
            }
            assert_eq!(pending_timers(), 1);
            drop(sleep);
            assert_eq!(pending_timers(), 0);
        });
    }

    #[test]
    fn a_finished_sleep_leaves_no_entry() {
        crate::block_on(async {
            sleep(Duration::from_millis(5)).await;
            sleep_until(Instant::now()).await;
            assert_eq!(pending_timers(), 0);
        });
    }
}
