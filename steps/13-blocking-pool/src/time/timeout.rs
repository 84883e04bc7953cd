//! `timeout`: give a future a deadline.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::time::{Sleep, sleep};

// ANCHOR: timeout
/// Runs `future` with a time limit: `Ok(output)` if it completes within
/// `duration`, `Err(Elapsed)` if not, in which case `future` is dropped.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::{sleep, timeout};
///
/// runtime::block_on(async {
///     let quick = timeout(Duration::from_secs(1), async { 7 }).await;
///     assert_eq!(quick.unwrap(), 7);
///     let slow = timeout(Duration::from_millis(10), sleep(Duration::from_secs(3600))).await;
///     assert!(slow.is_err());
/// });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        deadline: sleep(duration),
    }
}
// ANCHOR_END: timeout

// ANCHOR: timeout_struct
pin_project_lite::pin_project! {
    /// The future returned by [`timeout`]: the inner future's output, or
    /// [`Elapsed`] if its deadline passes first.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use runtime::time::{Timeout, timeout};
    ///
    /// runtime::block_on(async {
    ///     let limited: Timeout<_> = timeout(Duration::from_secs(1), async { "in time" });
    ///     assert_eq!(limited.await, Ok("in time"));
    /// });
    /// ```
    #[must_use = "a Timeout does nothing unless it is awaited"]
    #[derive(Debug)]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        deadline: Sleep,
    }
}
// ANCHOR_END: timeout_struct

// ANCHOR: poll_timeout
impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The future first: if it is ready just as the deadline passes, the
        // work it did is not thrown away.
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(this.deadline).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}
// ANCHOR_END: poll_timeout

// ANCHOR: elapsed
/// The error of a [`timeout`] whose deadline passed first.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use runtime::time::{sleep, timeout};
///
/// runtime::block_on(async {
///     let error = timeout(Duration::from_millis(1), sleep(Duration::from_secs(60)))
///         .await
///         .unwrap_err();
///     assert_eq!(error.to_string(), "deadline has elapsed");
///     // `?` in a function returning io::Result turns it into a TimedOut error:
///     let io_error = std::io::Error::from(error);
///     assert_eq!(io_error.kind(), std::io::ErrorKind::TimedOut);
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// Lets `?` turn a timeout into an `io::Error` of kind `TimedOut`.
impl From<Elapsed> for std::io::Error {
    fn from(elapsed: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed)
    }
}
// ANCHOR_END: elapsed
