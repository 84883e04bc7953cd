//! `yield_now`: let the other tasks run.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Lets the other ready tasks run before this one goes on.
///
/// The first poll wakes the task and returns `Pending`, which puts it at the
/// back of the ready queue; the second poll returns `Ready`.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
///
/// let runtime = runtime::Runtime::builder().worker_threads(1).build()?;
/// let done = runtime.block_on(runtime.spawn(async {
///     // One worker: the other task runs only if this one steps aside.
///     let ran = Arc::new(AtomicBool::new(false));
///     let flag = ran.clone();
///     runtime::spawn(async move { flag.store(true, Ordering::SeqCst) });
///     while !ran.load(Ordering::SeqCst) {
///         runtime::task::yield_now().await;
///     }
/// }));
/// assert!(done.is_ok());
/// # std::io::Result::Ok(())
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
