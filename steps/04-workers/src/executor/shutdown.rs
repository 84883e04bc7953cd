//! Shutdown: stop the workers, then drop every task that has not completed.

use std::thread;

use super::Executor;

impl Executor {
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
        // ANCHOR: exercise-04-begin-shutdown set the flag and wake every worker, the timekeeper too, so each leaves its loop
        let mut state = self.state.lock();
        state.shut_down = true;
        self.workers_condvar.notify_all();
        self.wake_timekeeper(&mut state);
        // ANCHOR_END: exercise-04-begin-shutdown
    }

    /// Once the workers are gone: drops every task that has not completed.
    fn finish_shutdown(&self) {
        let (ready_queue, tasks) = {
            let mut state = self.state.lock();
            (
                std::mem::take(&mut state.ready_queue),
                std::mem::take(&mut state.tasks),
            )
        };
        drop(ready_queue);
        // Pending timers hold wakers, and so tasks: let them go too.
        let timers = std::mem::take(&mut *self.timers.lock());
        drop(timers);
        for (_, task) in tasks {
            task.drop_future();
        }
    }
    // ANCHOR_END: shutdown
}
