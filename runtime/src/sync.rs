//! The synchronisation primitives the runtime is built on, in one place, so
//! that the model checker can take their place.
//!
//! Normally these are parking_lot's locks and std's atomics. Built with
//! `RUSTFLAGS="--cfg loom"`, they are loom's, which lets the model tests
//! (`loom` modules in task/state.rs, join.rs and idle.rs) run the code
//! under every interleaving of its threads that can happen (see the book's
//! chapter "How we know it works").

// ANCHOR: sync
#[cfg(not(loom))]
pub(crate) use parking_lot::{Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering, fence};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, fence};
#[cfg(loom)]
pub(crate) use shim::{Condvar, Mutex, MutexGuard};
#[cfg(loom)]
pub(crate) use std::sync::atomic::Ordering;
// ANCHOR_END: sync

/// loom's locks with parking_lot's interface: no poisoning, a condition
/// variable that waits on a `&mut` guard, and `MutexGuard::unlocked`.
#[cfg(loom)]
mod shim {
    use std::ops::{Deref, DerefMut};
    use std::time::Duration;

    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    /// `None` only while a condition variable waits with it.
    pub(crate) struct MutexGuard<'a, T> {
        mutex: &'a Mutex<T>,
        guard: Option<loom::sync::MutexGuard<'a, T>>,
    }

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Mutex<T> {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            MutexGuard {
                mutex: self,
                guard: Some(self.0.lock().unwrap_or_else(|e| e.into_inner())),
            }
        }

        pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
            let guard = self.0.try_lock().ok()?;
            Some(MutexGuard {
                mutex: self,
                guard: Some(guard),
            })
        }

        pub(crate) fn into_inner(self) -> T {
            self.0.into_inner().unwrap_or_else(|e| e.into_inner())
        }
    }

    impl<T: Default> Default for Mutex<T> {
        fn default() -> Mutex<T> {
            Mutex::new(T::default())
        }
    }

    impl<T> MutexGuard<'_, T> {
        /// Runs `f` with the lock released, then takes it again.
        pub(crate) fn unlocked<R>(this: &mut Self, f: impl FnOnce() -> R) -> R {
            drop(this.guard.take());
            let result = f();
            this.guard = Some(this.mutex.0.lock().unwrap_or_else(|e| e.into_inner()));
            result
        }
    }

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            self.guard.as_ref().expect("a guard in use by a condvar")
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.guard.as_mut().expect("a guard in use by a condvar")
        }
    }

    #[derive(Default)]
    pub(crate) struct Condvar(loom::sync::Condvar);

    pub(crate) struct WaitTimeoutResult(bool);

    impl WaitTimeoutResult {
        pub(crate) fn timed_out(&self) -> bool {
            self.0
        }
    }

    impl Condvar {
        pub(crate) fn new() -> Condvar {
            Condvar(loom::sync::Condvar::new())
        }

        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let inner = guard.guard.take().expect("a guard in use by a condvar");
            guard.guard = Some(self.0.wait(inner).unwrap_or_else(|e| e.into_inner()));
        }

        pub(crate) fn wait_for<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            timeout: Duration,
        ) -> WaitTimeoutResult {
            let inner = guard.guard.take().expect("a guard in use by a condvar");
            let (inner, result) = self
                .0
                .wait_timeout(inner, timeout)
                .unwrap_or_else(|e| e.into_inner());
            guard.guard = Some(inner);
            WaitTimeoutResult(result.timed_out())
        }

        pub(crate) fn notify_one(&self) {
            self.0.notify_one();
        }

        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }
}
