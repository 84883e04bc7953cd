//! Shutdown: stop the workers, then drop every task that has not completed.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;

use crossbeam_deque::Steal;

use super::Executor;
use crate::task::Task;

impl Executor {
    /// Whether shutdown has begun: no worker runs tasks or polls the OS
    /// for this executor any more, or will soon.
    #[inline]
    pub(crate) fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Acquire)
    }

    // ANCHOR: shutdown
    /// Stops the workers, then drops every task that has not completed.
    ///
    /// The futures are dropped after the workers have exited, so none is
    /// being polled, and after the locks are released, because dropping one
    /// may wake or spawn tasks, which takes them again.
    pub(crate) fn shutdown(&self) {
        self.begin_shutdown();
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
    /// loop.
    fn begin_shutdown(&self) {
        let mut state = self.state.lock();
        self.shut_down.store(true, Ordering::Release);
        self.workers_condvar.notify_all();
        self.wake_timekeeper(&mut state);
    }

    /// Once the workers are gone: drops every task that has not completed.
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
        // them go too.
        let timers = std::mem::take(&mut *self.timers.lock());
        drop(timers);
        self.reactor.clear_wakers();
        for task in tasks {
            task.drop_future();
        }
    }
    // ANCHOR_END: shutdown
}
