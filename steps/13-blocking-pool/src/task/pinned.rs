//! A task's future, polled where it lies.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use parking_lot::Mutex;

// ANCHOR: pinned_future
/// A future that is polled in place and dropped in place: the one place in
/// the runtime that needs `unsafe`.
///
/// It must never move once polled. It lives in a task's `Arc` allocation:
/// [`TaskCell::new`](super::TaskCell::new), the only code that makes one,
/// puts it there before anything can poll it, and never moves it out.
pub(crate) struct PinnedFuture<F> {
    /// `None` once the future has been dropped. The task's state machine
    /// keeps polls apart; the mutex lets the compiler see that only one
    /// thread at a time touches the future.
    future: Mutex<Option<F>>,
}

impl<F: Future> PinnedFuture<F> {
    /// Wraps `future`, to be placed in a task's allocation at once.
    pub(super) fn new(future: F) -> PinnedFuture<F> {
        PinnedFuture {
            future: Mutex::new(Some(future)),
        }
    }

    /// Polls the future once. When it returns `Ready`, the future is
    /// dropped where it lies before the lock is let go: a task's end then
    /// takes the lock once, not twice. A panic in the poll unwinds to the
    /// caller, and leaves the future for `drop_in_place`.
    ///
    /// # Panics
    ///
    /// If the future has been dropped: the task's state machine lets no
    /// poll through after that.
    #[inline]
    pub(super) fn poll(&self, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut slot = self.future.lock();
        let future = slot
            .as_mut()
            .expect("a task's future was polled after it was dropped");
        // ANCHOR: pin
        // SAFETY: `Pin` asks that the future never moves again, from this
        // poll until it is dropped. It lives inside a task's `Arc`
        // allocation (see the type's documentation), which never moves; and
        // it never leaves its `Option`: the only write to `future` is the
        // `= None` in `drop_locked`, which drops it where it lies. No other
        // code can reach the field: it is private to this module.
        let future = unsafe { Pin::new_unchecked(future) };
        // ANCHOR_END: pin
        let poll = future.poll(cx);
        if poll.is_ready() {
            Self::drop_locked(&mut slot);
        }
        poll
    }

    /// Drops the future where it lies, as `Pin` requires, if it is still
    /// there.
    pub(super) fn drop_in_place(&self) {
        Self::drop_locked(&mut self.future.lock());
    }

    /// Drops the future in `slot`, its lock held. A destructor that panics
    /// has been reported by the panic hook; the panic stops here.
    fn drop_locked(slot: &mut Option<F>) {
        let _ = panic::catch_unwind(AssertUnwindSafe(|| *slot = None));
    }
}
// ANCHOR_END: pinned_future
