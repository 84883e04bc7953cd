//! The task state machine: when a task may be queued, polled, or neither.

use std::sync::atomic::{AtomicU8, Ordering};

// ANCHOR: states
/// Not queued, not running: waiting for its waker.
const IDLE: u8 = 0;
/// In the ready queue. Further wakes change nothing: it will be polled once.
const SCHEDULED: u8 = 1;
/// Being polled right now.
const RUNNING: u8 = 2;
/// Being polled, and woken meanwhile: it must be polled again afterwards.
const NOTIFIED: u8 = 3;
/// Its future returned `Ready` or was dropped: never polled again.
const COMPLETE: u8 = 4;

/// A task's state. Every change is an atomic read-modify-write, so that a
/// wake from another thread and the end of a poll never both win.
///
/// | state     | woken           | run begins | poll returns `Pending` | completes |
/// |-----------|-----------------|------------|------------------------|-----------|
/// | IDLE      | SCHEDULED, queue it | —      | —                      | COMPLETE  |
/// | SCHEDULED | (no change)     | RUNNING    | —                      | COMPLETE  |
/// | RUNNING   | NOTIFIED        | —          | IDLE                   | COMPLETE  |
/// | NOTIFIED  | (no change)     | —          | SCHEDULED, queue it    | COMPLETE  |
/// | COMPLETE  | (no change)     | (skipped)  | —                      | —         |
///
/// So a task is in the ready queue at most once however often it is woken
/// (lesson #2), a wake during a poll is kept (lesson #1), and a completed
/// task is never polled again. "—" marks what cannot happen: only the
/// worker that popped a task runs it, and only that run ends a poll.
pub(crate) struct State(AtomicU8);
// ANCHOR_END: states

impl State {
    /// A new task, created in the ready queue.
    #[inline]
    pub(crate) fn new() -> State {
        State(AtomicU8::new(SCHEDULED))
    }

    // ANCHOR: transitions
    /// A wake: returns `true` if the task was idle, and so must now be
    /// queued by the caller.
    #[inline]
    pub(crate) fn wake(&self) -> bool {
        let mut state = self.0.load(Ordering::Acquire);
        loop {
            let next = match state {
                IDLE => SCHEDULED,
                RUNNING => NOTIFIED,
                _ => return false, // SCHEDULED, NOTIFIED or COMPLETE
            };
            match self
                .0
                .compare_exchange_weak(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return state == IDLE,
                Err(actual) => state = actual,
            }
        }
    }

    /// A worker popped the task and is about to poll it. Returns `false` if
    /// the task completed (was dropped) since it was queued: skip it.
    #[inline]
    pub(crate) fn start_run(&self) -> bool {
        self.0
            .compare_exchange(SCHEDULED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The poll returned `Pending`. Returns `true` if a wake came during
    /// the poll: the task is scheduled again, and the caller must queue it.
    /// Dropping that wake is lesson #1's bug.
    #[inline]
    pub(crate) fn end_run_pending(&self) -> bool {
        match self
            .0
            .compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => false,
            Err(actual) => {
                // Only wakes change a running task's state, to NOTIFIED,
                // and only this run changes it back. A swap, not a plain
                // store: a read-modify-write keeps the chain of writes that
                // an abort's `publish` relies on (see `publish`).
                debug_assert_eq!(actual, NOTIFIED);
                self.0.swap(SCHEDULED, Ordering::AcqRel);
                true
            }
        }
    }

    /// The task completed, or its future was dropped. Returns `false` if it
    /// had completed already: whoever completes it first hands the result
    /// over.
    ///
    /// A load and a store, not a read-modify-write, which would cost every
    /// task's end a locked instruction: only the worker running the task
    /// completes it, or shutdown once no worker runs, so two calls never
    /// meet. A wake that comes in between changes nothing either way.
    #[inline]
    pub(crate) fn complete(&self) -> bool {
        if self.0.load(Ordering::Acquire) == COMPLETE {
            return false;
        }
        self.0.store(COMPLETE, Ordering::Release);
        true
    }
    // ANCHOR_END: transitions

    // ANCHOR: publish
    /// A read-modify-write that changes nothing, so that what the calling
    /// thread wrote before it is seen by the next `start_run`, which reads
    /// the state with a compare-and-swap. `JoinHandle::abort` needs it.
    #[inline]
    pub(crate) fn publish(&self) {
        // ANCHOR: exercise-11a-publish write the state back as it is, with a read-modify-write
        self.0.fetch_or(0, Ordering::AcqRel);
        // ANCHOR_END: exercise-11a-publish
    }
    // ANCHOR_END: publish
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wake_queues_an_idle_task_once() {
        let state = State::new();
        assert!(state.start_run());
        assert!(!state.end_run_pending());
        assert!(state.wake(), "an idle task is queued by the first wake");
        for _ in 0..1_000 {
            assert!(!state.wake(), "a scheduled task is not queued again");
        }
    }

    #[test]
    fn a_wake_during_the_run_queues_the_task_after_it() {
        let state = State::new();
        assert!(state.start_run());
        assert!(!state.wake(), "a running task is not queued by its waker");
        assert!(!state.wake());
        assert!(state.end_run_pending(), "the wake during the run is kept");
        assert!(state.start_run());
    }

    #[test]
    fn a_completed_task_is_never_run_nor_queued() {
        let state = State::new();
        assert!(state.complete());
        assert!(!state.complete(), "completes once");
        assert!(!state.wake());
        assert!(!state.start_run());
    }
}
