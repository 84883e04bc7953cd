//! `JoinHandle` and `JoinError`: how a task's output gets back to whoever
//! spawned it.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

// ANCHOR: join_handle
/// An owned permission to await a spawned task's output.
///
/// Awaiting it gives `Ok(output)`, or `Err(JoinError)` if the task panicked
/// or was dropped before it finished (by `abort`, or at shutdown). Dropping
/// the handle detaches the task: it keeps running, and its output is
/// dropped.
pub struct JoinHandle<T> {
    /// The task (or `spawn_blocking` job) itself, seen only through its
    /// output: for a task, the slot lives in the task's own allocation.
    target: Arc<dyn JoinTarget<T>>,
}

/// What a `JoinHandle` reads from: a task whose output is a `T`, whatever
/// the type of its future, or a blocking job.
pub(crate) trait JoinTarget<T>: Send + Sync {
    /// Where the output is left.
    fn output(&self) -> &Mutex<Slot<T>>;
    /// Asks for the task or job to be cancelled.
    fn abort(self: Arc<Self>);
}

/// What the task and its handle share.
pub(crate) enum Slot<T> {
    /// The task has not finished; `Some` is the waker of the handle's latest poll.
    Waiting(Option<Waker>),
    /// The task has finished; the handle has not taken the result yet.
    Finished(Result<T, JoinError>),
    /// The handle returned the result.
    Taken,
    /// The handle was dropped: a result that comes now is dropped at once,
    /// by the task as it finishes.
    Detached,
}
// ANCHOR_END: join_handle

impl<T> JoinHandle<T> {
    /// The handle of `target`.
    pub(crate) fn new(target: Arc<dyn JoinTarget<T>>) -> JoinHandle<T> {
        JoinHandle { target }
    }

    // ANCHOR: abort
    /// Cancels the task: its future is dropped at its next turn and the
    /// handle resolves to a [`JoinError`] for which `is_cancelled()` is
    /// true. A task that already finished keeps its result; a task being
    /// polled right now is dropped once that poll returns. A
    /// `spawn_blocking` job can only be cancelled before it starts.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// runtime::block_on(async {
    ///     let handle = runtime::spawn(runtime::time::sleep(Duration::from_secs(3600)));
    ///     handle.abort();
    ///     assert!(handle.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort(&self) {
        self.target.clone().abort();
    }

    /// Whether the task has finished: returned, panicked or been cancelled.
    /// Awaiting the handle then completes at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// runtime::block_on(async {
    ///     let handle = runtime::spawn(async {});
    ///     while !handle.is_finished() {
    ///         runtime::time::sleep(Duration::from_millis(1)).await;
    ///     }
    ///     assert!(handle.await.is_ok()); // completes at once
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        !matches!(*self.target.output().lock(), Slot::Waiting(_))
    }
    // ANCHOR_END: abort
}

// ANCHOR: finish
/// Hands a task's result to its handle and wakes the handle. Only the
/// first result counts: a task that completed is not cancelled afterwards.
pub(crate) fn finish<T>(output: &Mutex<Slot<T>>, result: Result<T, JoinError>) {
    let previous = {
        let mut slot = output.lock();
        if !matches!(*slot, Slot::Waiting(_)) {
            return;
        }
        std::mem::replace(&mut *slot, Slot::Finished(result))
    };
    // Wake outside the lock: the woken task may be polled on another
    // thread at once, and its poll takes this lock.
    if let Slot::Waiting(Some(waker)) = previous {
        waker.wake();
    }
}
// ANCHOR_END: finish

// ANCHOR: poll_join_handle
impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.target.output().lock();
        match std::mem::replace(&mut *slot, Slot::Taken) {
            Slot::Finished(result) => Poll::Ready(result),
            Slot::Waiting(waker) => {
                // Keep the waker of the *latest* poll: the handle may have
                // moved to another task since the last one (lesson #4).
                let waker = match waker {
                    Some(waker) if waker.will_wake(cx.waker()) => waker,
                    _ => cx.waker().clone(),
                };
                *slot = Slot::Waiting(Some(waker));
                Poll::Pending
            }
            // (`Detached` is only ever set by the handle's own `drop`.)
            Slot::Taken | Slot::Detached => {
                panic!("JoinHandle polled again after it returned the task's result")
            }
        }
    }
}
// ANCHOR_END: poll_join_handle

// ANCHOR: drop_join_handle
/// Dropping the handle detaches the task. A result already there is dropped
/// here; one that comes later, by the task as it finishes, inside the
/// `catch_unwind` around `finish`. Never by whichever thread happens to
/// drop the task's last reference: that may be a worker, with nothing to
/// catch a panicking destructor (lesson #8).
impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let previous = std::mem::replace(&mut *self.target.output().lock(), Slot::Detached);
        drop(previous); // outside the lock
    }
}
// ANCHOR_END: drop_join_handle

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &*self.target.output().lock() {
            Slot::Waiting(_) => "running",
            Slot::Finished(_) => "finished",
            Slot::Taken => "taken",
            Slot::Detached => "detached",
        };
        f.debug_struct("JoinHandle").field("state", &state).finish()
    }
}

// ANCHOR: join_error
/// Why a task did not give its output: it panicked, or it was cancelled
/// (dropped before it finished).
pub struct JoinError {
    repr: Repr,
}

enum Repr {
    Cancelled,
    /// The panic's payload. The mutex makes `JoinError` `Sync`, so it fits
    /// in `Box<dyn Error + Send + Sync>`; it is never contended.
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

impl JoinError {
    /// A task dropped before it finished.
    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
        }
    }

    /// A task whose future panicked with `payload`.
    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            repr: Repr::Panic(Mutex::new(payload)),
        }
    }

    /// True if the task was dropped before it finished: aborted, or still
    /// unfinished when its runtime shut down.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// True if the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    // ANCHOR: into_panic
    /// The value the task panicked with, to inspect it or to resume the
    /// panic with [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// If the task was cancelled rather than panicked: check
    /// [`is_panic`](JoinError::is_panic) first.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let error = runtime::spawn(async { panic!("boom") }).await.unwrap_err();
    ///     let payload = error.into_panic();
    ///     assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    /// });
    /// ```
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self.repr {
            Repr::Panic(payload) => payload.into_inner(),
            Repr::Cancelled => panic!("into_panic called on a JoinError for a cancelled task"),
        }
    }
    // ANCHOR_END: into_panic
}
// ANCHOR_END: join_error

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("task was cancelled"),
            Repr::Panic(payload) => match panic_message(&**payload.lock()) {
                Some(message) => write!(f, "task panicked with message {message:?}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panic(payload) => match panic_message(&**payload.lock()) {
                Some(message) => write!(f, "JoinError::Panic({message:?})"),
                None => f.write_str("JoinError::Panic(..)"),
            },
        }
    }
}

impl std::error::Error for JoinError {}

/// The message of a panic, when it was raised with a string.
fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocking::channel;
    use crate::test_util::counting_waker;
    use std::sync::atomic::Ordering;

    fn poll<T>(handle: &mut JoinHandle<T>, waker: &Waker) -> Poll<Result<T, JoinError>> {
        Pin::new(handle).poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn the_result_reaches_the_handle_and_wakes_its_latest_poller() {
        let (completer, mut handle) = channel::<u32>();
        let (first, first_waker) = counting_waker();
        let (second, second_waker) = counting_waker();
        assert!(poll(&mut handle, &first_waker).is_pending());
        assert!(poll(&mut handle, &second_waker).is_pending());
        completer.complete(Ok(7));
        assert_eq!(first.0.load(Ordering::SeqCst), 0, "a stale waker was woken");
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
        assert!(matches!(
            poll(&mut handle, &second_waker),
            Poll::Ready(Ok(7))
        ));
    }

    #[test]
    fn a_dropped_completer_means_cancelled() {
        let (completer, mut handle) = channel::<u32>();
        drop(completer);
        let (_, waker) = counting_waker();
        match poll(&mut handle, &waker) {
            Poll::Ready(Err(error)) => assert!(error.is_cancelled()),
            _ => panic!("expected a cancelled JoinError"),
        }
    }

    #[test]
    fn a_panic_payload_comes_back_out() {
        let (completer, mut handle) = channel::<u32>();
        completer.complete(Err(Box::new("boom")));
        let (_, waker) = counting_waker();
        match poll(&mut handle, &waker) {
            Poll::Ready(Err(error)) => {
                assert!(error.is_panic());
                assert_eq!(error.to_string(), "task panicked with message \"boom\"");
            }
            _ => panic!("expected a panic JoinError"),
        }
    }

    #[test]
    fn completing_from_another_thread_while_polling_is_never_lost() {
        for _ in 0..if cfg!(miri) { 20 } else { 2_000 } {
            let (completer, mut handle) = channel::<u32>();
            let (count, waker) = counting_waker();
            let thread = std::thread::spawn(move || completer.complete(Ok(1)));
            let first = poll(&mut handle, &waker);
            thread.join().unwrap();
            // Either the first poll saw the result, or it stored the waker
            // before the result came and that waker was woken.
            if first.is_pending() {
                assert_eq!(count.0.load(Ordering::SeqCst), 1, "the wake was lost");
                assert!(matches!(poll(&mut handle, &waker), Poll::Ready(Ok(1))));
            }
        }
    }
}
