//! The current-thread context: which executor this thread belongs to, and
//! whether it may block.
//!
//! `spawn`, `Sleep` and the sockets find their executor here, through
//! [`current`]; `block_on` refuses to start where [`assert_can_block`]
//! says blocking would stall other work.

use std::cell::RefCell;
use std::sync::Arc;

use super::Executor;

// ANCHOR: context
/// What a thread does for the executor it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ThreadKind {
    /// A worker thread: it runs tasks.
    Worker,
    /// A thread inside `block_on`: it polls one future and parks.
    BlockOn,
    /// A thread of the blocking pool, running a `spawn_blocking` job: it
    /// may block, even in a `block_on` of its own.
    Blocking,
}

thread_local! {
    /// This thread's executor, and what the thread does for it.
    static CONTEXT: RefCell<Option<(Arc<Executor>, ThreadKind)>> = const { RefCell::new(None) };
}

/// While it lives, the thread's context is set; dropping it restores the
/// context there was before.
pub(crate) struct ContextGuard {
    previous: Option<(Arc<Executor>, ThreadKind)>,
}

/// Makes `executor` this thread's executor, as a `kind` thread, until the
/// guard is dropped.
pub(crate) fn enter(executor: &Arc<Executor>, kind: ThreadKind) -> ContextGuard {
    let previous = CONTEXT.with(|context| context.borrow_mut().replace((executor.clone(), kind)));
    ContextGuard { previous }
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CONTEXT.with(|context| *context.borrow_mut() = previous);
    }
}

/// The executor this thread belongs to, if any.
pub(crate) fn current() -> Option<Arc<Executor>> {
    CONTEXT.with(|context| Some(context.borrow().as_ref()?.0.clone()))
}
// ANCHOR_END: context

// ANCHOR: assert_can_block
/// Panics if this thread runs tasks or a `block_on`, where blocking would
/// stall other work.
pub(crate) fn assert_can_block() {
    let kind = CONTEXT.with(|context| context.borrow().as_ref().map(|(_, kind)| *kind));
    assert!(
        matches!(kind, None | Some(ThreadKind::Blocking)),
        "block_on called from inside a runtime: a task must not block \
         the thread it runs on; use .await, or spawn_blocking for blocking work"
    );
}
// ANCHOR_END: assert_can_block
