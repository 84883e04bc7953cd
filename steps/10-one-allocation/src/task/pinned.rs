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

    /// Polls the future once. A panic in the future unwinds to the caller.
    ///
    /// # Panics
    ///
    /// If the future has been dropped: the task's state machine lets no
    /// poll through after that.
    pub(super) fn poll(&self, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut future = self.future.lock();
        let future = future
            .as_mut()
            .expect("a task's future was polled after it was dropped");
        // ANCHOR: pin
        // SAFETY: `Pin` asks that the future never moves again, from this
        // poll until it is dropped. It lives inside a task's `Arc`
        // allocation (see the type's documentation), which never moves; and
        // it never leaves its `Option`: the only write to `future` is the
        // `= None` in `drop_in_place`, which drops it where it lies. No
        // other code can reach the field: it is private to this module.
        let future = unsafe { Pin::new_unchecked(future) };
        // ANCHOR_END: pin
        future.poll(cx)
    }

    /// Drops the future where it lies, as `Pin` requires, if it is still
    /// there. A destructor that panics has been reported by the panic
    /// hook; the panic stops here.
    pub(super) fn drop_in_place(&self) {
        let mut future = self.future.lock();
        let _ = panic::catch_unwind(AssertUnwindSafe(|| *future = None));
    }
}
// ANCHOR_END: pinned_future
