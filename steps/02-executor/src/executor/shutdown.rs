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
        // ANCHOR: exercise-02b-begin-shutdown from now on nothing is queued or spawned
        self.state.lock().shut_down = true;
        // ANCHOR_END: exercise-02b-begin-shutdown
    }

    /// Drops every task that has not completed.
    fn finish_shutdown(&self) {
        // ANCHOR: exercise-02b-finish-shutdown take the queue and the task set out of the lock, then drop every task's future
        let (ready_queue, tasks) = {
            let mut state = self.state.lock();
            (
                std::mem::take(&mut state.ready_queue),
                std::mem::take(&mut state.tasks),
            )
        };
        drop(ready_queue);
        for (_, task) in tasks {
            task.drop_future();
        }
        // ANCHOR_END: exercise-02b-finish-shutdown
    }
    // ANCHOR_END: shutdown
}
