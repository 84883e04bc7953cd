//! `JoinHandle` and `JoinError`: how a task's output gets back to whoever
//! spawned it.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

use crate::task::Task;

// ANCHOR: join_handle
/// An owned permission to await a spawned task's output.
///
/// Awaiting it gives `Ok(output)`, or `Err(JoinError)` if the task panicked
/// or was dropped before it finished (at shutdown). Dropping the handle
/// detaches the task: it keeps running, and its output is dropped.
pub struct JoinHandle<T> {
    slot: Arc<Mutex<Slot<T>>>,
    /// What `abort` reaches.
    abort: Option<Abort>,
}

/// How to cancel the task behind a handle.
enum Abort {
    /// A spawned task: woken, and dropped at its next run.
    Task(Arc<Task>),
    /// A `spawn_blocking` job: skipped if it has not started.
    Blocking(Arc<AtomicBool>),
}

/// What the task and its handle share.
enum Slot<T> {
    /// The task has not finished; `Some` is the waker of the handle's latest poll.
    Waiting(Option<Waker>),
    /// The task has finished; the handle has not taken the result yet.
    Finished(Result<T, JoinError>),
    /// The handle returned the result.
    Taken,
}
// ANCHOR_END: join_handle

/// The task's end of the slot: it stores the result and wakes the handle.
pub(crate) struct Completer<T> {
    slot: Option<Arc<Mutex<Slot<T>>>>,
}

/// A new slot, seen from both ends.
pub(crate) fn channel<T>() -> (Completer<T>, JoinHandle<T>) {
    let slot = Arc::new(Mutex::new(Slot::Waiting(None)));
    (
        Completer {
            slot: Some(slot.clone()),
        },
        JoinHandle { slot, abort: None },
    )
}

impl<T> JoinHandle<T> {
    /// Lets `abort` reach a spawned task.
    pub(crate) fn set_task(&mut self, task: Arc<Task>) {
        self.abort = Some(Abort::Task(task));
    }

    /// Lets `abort` reach a blocking job, through the flag it checks
    /// before it starts.
    pub(crate) fn set_blocking(&mut self, cancelled: Arc<AtomicBool>) {
        self.abort = Some(Abort::Blocking(cancelled));
    }

    // ANCHOR: abort
    /// Cancels the task: its future is dropped at its next turn and the
    /// handle resolves to a [`JoinError`] for which `is_cancelled()` is
    /// true. A task that already finished keeps its result; a task being
    /// polled right now is dropped once that poll returns. A
    /// `spawn_blocking` job can only be cancelled before it starts.
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
        match &self.abort {
            Some(Abort::Task(task)) => task.abort(),
            Some(Abort::Blocking(cancelled)) => cancelled.store(true, Ordering::Release),
            None => {}
        }
    }

    /// Whether the task has finished: returned, panicked or been cancelled.
    /// Awaiting the handle then completes at once.
    pub fn is_finished(&self) -> bool {
        !matches!(*self.slot.lock(), Slot::Waiting(_))
    }
    // ANCHOR_END: abort
}

// ANCHOR: completer
impl<T> Completer<T> {
    /// Hands the task's result, or the panic that ended it, to the handle.
    pub(crate) fn complete(mut self, result: std::thread::Result<T>) {
        let result = result.map_err(|payload| JoinError {
            repr: Repr::Panic(Mutex::new(payload)),
        });
        self.finish(result);
    }

    fn finish(&mut self, result: Result<T, JoinError>) {
        let Some(slot) = self.slot.take() else { return };
        let previous = std::mem::replace(&mut *slot.lock(), Slot::Finished(result));
        // Wake outside the lock: the woken task may be polled on another
        // thread at once, and its poll takes this lock.
        if let Slot::Waiting(Some(waker)) = previous {
            waker.wake();
        }
    }
}

/// A task whose future is dropped before it finished was cancelled: the
/// completer goes with the future, and says so to the handle.
impl<T> Drop for Completer<T> {
    fn drop(&mut self) {
        self.finish(Err(JoinError {
            repr: Repr::Cancelled,
        }));
    }
}
// ANCHOR_END: completer

// ANCHOR: poll_join_handle
impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.slot.lock();
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
            Slot::Taken => panic!("JoinHandle polled again after it returned the task's result"),
        }
    }
}
// ANCHOR_END: poll_join_handle

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &*self.slot.lock() {
            Slot::Waiting(_) => "running",
            Slot::Finished(_) => "finished",
            Slot::Taken => "taken",
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
    /// True if the task was dropped before it finished.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// True if the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The value the task panicked with, to inspect it or to resume the
    /// panic with [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// If the task was cancelled rather than panicked: check
    /// [`is_panic`](JoinError::is_panic) first.
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
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    struct CountWakes(AtomicUsize);
    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (Arc<CountWakes>, Waker) {
        let count = Arc::new(CountWakes(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

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
        assert!(!handle.is_finished());
        completer.complete(Ok(7));
        assert_eq!(first.0.load(Ordering::SeqCst), 0, "a stale waker was woken");
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
        assert!(handle.is_finished());
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
                assert_eq!(error.into_panic().downcast_ref::<&str>(), Some(&"boom"));
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
