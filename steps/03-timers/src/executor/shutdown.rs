//! Shutdown: drop every task that has not completed.

use super::Executor;

impl Executor {
    // ANCHOR: shutdown
    /// Drops every task that has not completed.
    ///
    /// The futures are dropped after the lock is released, because dropping
    /// one may wake or spawn tasks, which takes the lock again.
    pub(crate) fn shutdown(&self) {
        self.begin_shutdown();
        self.finish_shutdown();
    }

    /// Sets `shut_down`: from then on nothing is queued or spawned.
    fn begin_shutdown(&self) {
        self.state.lock().shut_down = true;
    }

    /// Drops every task that has not completed.
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
