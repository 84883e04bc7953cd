//! `yield_now`: let the other tasks run.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

// ANCHOR: yield_now
/// Lets the other ready tasks run before this one goes on.
///
/// The first poll wakes the task and returns `Pending`, which puts it at the
/// back of the ready queue; the second poll returns `Ready`.
///
/// ```
/// runtime::block_on(async {
///     runtime::task::yield_now().await;
/// });
/// ```
pub fn yield_now() -> impl Future<Output = ()> {
    YieldNow { yielded: false }
}

struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
// ANCHOR_END: yield_now
