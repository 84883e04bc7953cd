//! The recorder behind the examples' `--trace FILE`: what every thread of
//! the runtime does, over time, written as a Chrome trace-event file that
//! Perfetto (<https://ui.perfetto.dev>) and `chrome://tracing` open.
//!
//! The stages from the workers stage on have the same recorder, always
//! built and switched on at run time. Here it is behind the `trace` cargo
//! feature: without it, `record` is an empty function that each call
//! site inlines to nothing, no buffer exists, and the runtime's hot path is
//! what it would be with no recorder at all. With it, recording is still
//! off until `start`; then each thread appends to a buffer of its own,
//! with no lock, and `write` collects them once the runtime has shut
//! down.
//!
//! ```text
//! cargo run --release -p runtime --features trace --example http -- 127.0.0.1:8080 --trace http.json
//! ```

// Not every event happens in this crate (tasks are spawned as wakes).
#![allow(dead_code)]

#[cfg(feature = "trace")]
mod recorder;

#[cfg(feature = "trace")]
pub(crate) use recorder::{enabled, record, task_id};
#[cfg(feature = "trace")]
pub use recorder::{start, start_if_asked, write, write_if_asked};

/// Where a woken task was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Queue {
    /// The ready queue all workers share.
    Shared,
    /// The waking worker's own queue.
    Local,
    /// The queue for tasks woken from outside the workers.
    Injector,
}

/// How a thread parks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Park {
    /// An idle worker, until a task is queued.
    Idle,
    /// The timekeeper, until a task, a new earliest deadline, or that
    /// deadline.
    Timekeeper,
    /// The timekeeper in the OS poll: until an I/O event too.
    Reactor,
}

/// One thing a thread did. Small and `Copy`: recording one is a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    /// A task (its [`task_id`]) was spawned into a queue.
    Spawn(usize, Queue),
    /// A task's poll begins.
    PollStart(usize),
    /// A task's poll ends.
    PollEnd(usize),
    /// This thread woke a task into a queue.
    Wake(usize, Queue),
    /// This thread parks.
    Park(Park),
    /// This thread's park ended.
    Unpark,
    /// An idle worker starts looking for work before it parks.
    SpinStart,
    /// Its search ended, with work found (`true`) or not.
    SpinEnd(bool),
    /// A worker took tasks from another's queue: from which worker, how
    /// many.
    Steal(usize, usize),
    /// A look at the OS's events returned some: how many.
    ReactorTurn(usize),
    /// Timers were due and their tasks woken: how many.
    TimersFired(usize),
    /// A blocking-pool job starts.
    BlockingStart,
    /// A blocking-pool job ends.
    BlockingEnd,
}

// ANCHOR: off
/// Without the `trace` feature: nothing, inlined away.
#[cfg(not(feature = "trace"))]
#[inline(always)]
pub(crate) fn record(_event: Event) {}

/// Without the `trace` feature, nothing is recorded: the code that gathers
/// an event's costlier numbers behind `if trace::enabled()` is left out.
#[cfg(not(feature = "trace"))]
#[inline(always)]
pub(crate) const fn enabled() -> bool {
    false
}
// ANCHOR_END: off

/// A task's number in the trace: its address (see the recorder).
#[cfg(not(feature = "trace"))]
#[inline(always)]
pub(crate) fn task_id<T: ?Sized>(task: &std::sync::Arc<T>) -> usize {
    std::sync::Arc::as_ptr(task).cast::<()>().addr()
}
