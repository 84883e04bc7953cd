//! Shutdown: stop the workers, then drop every task that has not completed.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::thread;

use crossbeam_deque::Steal;

use super::{Executor, context};
use crate::sync::Ordering;
use crate::task::Task;

impl Executor {
    /// Whether shutdown has begun: no worker runs tasks or polls the OS
    /// for this executor any more, or will soon.
    #[inline]
    pub(crate) fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Acquire)
    }

    // ANCHOR: shutdown
    /// Stops the workers, drops every task that has not completed, then
    /// waits for the blocking jobs that are running. Does nothing the second
    /// time.
    ///
    /// The futures are dropped after the workers have exited, so none is
    /// being polled, and after the locks are released, because dropping one
    /// may wake or spawn tasks, which takes them again.
    ///
    /// # Panics
    ///
    /// If called from one of this executor's own tasks: the worker running
    /// it cannot wait for itself to exit. The workers are stopped anyway,
    /// and the last one out drops the tasks.
    pub(crate) fn shutdown(&self) {
        if context::runs_async_for(self) {
            // This worker cannot wait for itself to exit. Stop every worker
            // anyway, without waiting: the last one out drops the tasks
            // (`worker_exited`). Then say what went wrong.
            self.detached.store(true, Ordering::Release);
            self.begin_shutdown();
            panic!(
                "a Runtime was dropped inside one of its own tasks; drop it outside \
                 the runtime, or in spawn_blocking"
            );
        }
        if !self.begin_shutdown() {
            return; // shut down already
        }
        let threads = std::mem::take(&mut *self.threads.lock());
        let mut worker_panicked = false;
        for thread in threads {
            worker_panicked |= thread.join().is_err();
        }
        self.finish_shutdown();
        // Task panics are caught; a worker can only panic through a bug in
        // this crate. Say so, unless this thread is already unwinding.
        if worker_panicked && !thread::panicking() {
            panic!("a runtime worker thread panicked");
        }
    }

    /// Sets `shut_down` and wakes every worker, so that each leaves its
    /// loop. Returns `false` if shutdown had begun already.
    fn begin_shutdown(&self) -> bool {
        let mut state = self.state.lock();
        if self.is_shut_down() {
            return false;
        }
        self.shut_down.store(true, Ordering::Release);
        self.reactor.shut_down();
        self.workers_condvar.notify_all();
        self.wake_timekeeper(&mut state);
        true
    }

    /// Once the workers are gone: drops every task that has not completed,
    /// then waits for the blocking jobs that are running.
    ///
    /// In that order: a running job may wait for something a task holds
    /// (the other end of a channel, say), which only dropping the task
    /// releases. `shut_down` is set, so a job that spawns or wakes a task
    /// meanwhile changes nothing.
    fn finish_shutdown(&self) {
        // Empty the injector and every local queue. A worker's queue keeps
        // its tasks in a buffer it shares with its stealer, which lives
        // here: left there, they would keep this executor alive through
        // their own `scheduler` field, a cycle nothing would ever break.
        while !matches!(self.injector.steal(), Steal::Empty) {}
        for stealer in &self.stealers {
            while !matches!(stealer.steal(), Steal::Empty) {}
        }
        let tasks: Vec<Arc<Task>> = self.tasks.take_all();
        // Pending timers and I/O waiters hold wakers, and so tasks: let
        // them go too, woken rather than dropped. A waker may belong to a
        // thread outside the runtime (a blocking job in a `block_on` of
        // its own, say), which then polls again and learns that the
        // runtime is gone, instead of waiting for ever. This runtime's own
        // tasks ignore the wake: nothing is queued any more.
        for waker in self.take_timers() {
            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| waker.wake()));
        }
        self.reactor.wake_all_waiters();
        for task in tasks {
            task.drop_future();
        }
        self.blocking.shutdown();
    }

    /// Called by each worker thread as it leaves (see `Worker`'s `Drop`).
    /// If nobody waits for the workers (the runtime was dropped inside one
    /// of its own tasks), the last one out finishes the shutdown.
    pub(super) fn worker_exited(&self) {
        if self.live_workers.fetch_sub(1, Ordering::AcqRel) == 1
            && self.detached.load(Ordering::Acquire)
        {
            self.finish_shutdown();
        }
    }
    // ANCHOR_END: shutdown
}
