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
/// or was dropped before it finished (at shutdown). Dropping the handle
/// detaches the task: it keeps running, and its output is dropped.
pub struct JoinHandle<T> {
    slot: Arc<Mutex<Slot<T>>>,
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

// ANCHOR: channel
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
        JoinHandle { slot },
    )
}
// ANCHOR_END: channel

// ANCHOR: completer
impl<T> Completer<T> {
    /// Hands the task's result, or the panic that ended it, to the handle.
    pub(crate) fn complete(mut self, result: std::thread::Result<T>) {
        // ANCHOR: exercise-02c-complete a panic payload becomes a JoinError; hand the result over
        let result = result.map_err(|payload| JoinError {
            repr: Repr::Panic(Mutex::new(payload)),
        });
        self.finish(result);
        // ANCHOR_END: exercise-02c-complete
    }

    fn finish(&mut self, result: Result<T, JoinError>) {
        // ANCHOR: exercise-02c-finish only once: put the result in the slot, then wake the waiting handle outside the lock
        let Some(slot) = self.slot.take() else { return };
        let previous = std::mem::replace(&mut *slot.lock(), Slot::Finished(result));
        // Wake outside the lock: the woken task may be polled on another
        // thread at once, and its poll takes this lock.
        if let Slot::Waiting(Some(waker)) = previous {
            waker.wake();
        }
        // ANCHOR_END: exercise-02c-finish
    }
}

/// A task whose future is dropped before it finished was cancelled: the
/// completer goes with the future, and says so to the handle.
impl<T> Drop for Completer<T> {
    fn drop(&mut self) {
        // ANCHOR: exercise-02c-drop a completer dropped before it finished says: cancelled
        self.finish(Err(JoinError {
            repr: Repr::Cancelled,
        }));
        // ANCHOR_END: exercise-02c-drop
    }
}
// ANCHOR_END: completer

// ANCHOR: poll_join_handle
impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // ANCHOR: exercise-02c-poll Ready with the result, or keep the waker of the latest poll and return Pending
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
        // ANCHOR_END: exercise-02c-poll
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
