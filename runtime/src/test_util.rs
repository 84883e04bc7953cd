//! Helpers for the unit tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Wake, Waker};

/// A waker's target that counts how many times it was woken.
pub(crate) struct CountWakes(pub(crate) AtomicUsize);

impl Wake for CountWakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A waker, and the count of its wakes.
pub(crate) fn counting_waker() -> (Arc<CountWakes>, Waker) {
    let count = Arc::new(CountWakes(AtomicUsize::new(0)));
    (count.clone(), Waker::from(count))
}

/// Runs `body` on its own thread and fails the test with a message naming
/// `what` if it has not finished within a minute: a hang becomes a
/// failure. Under Miri, whose clock runs at its own pace, `body` runs on
/// the calling thread, and a hang is caught by CI's overall timeout.
pub(crate) fn watchdog(what: &str, body: impl FnOnce() + Send + 'static) {
    if cfg!(miri) {
        return body();
    }
    let (done, finished) = std::sync::mpsc::channel();
    let watched = std::thread::spawn(move || {
        body();
        let _ = done.send(());
    });
    match finished.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(()) => watched
            .join()
            .expect("the watched thread panicked after finishing"),
        // The body panicked: re-raise its panic so the test shows its message.
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = watched.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("watchdog: `{what}` did not finish within a minute: a lost abort or wakeup")
        }
    }
}
