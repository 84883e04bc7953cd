//! The current-thread context: which executor this thread belongs to.
//!
//! `spawn`, `Sleep` and the sockets find their executor here, through
//! [`current`]; `block_on` refuses to start where [`assert_can_block`]
//! says blocking would stall other work.

use std::cell::RefCell;
use std::sync::Arc;

use super::Executor;

// ANCHOR: context
thread_local! {
    /// The executor this thread belongs to: set on worker threads, and on
    /// the thread running `block_on`.
    static CONTEXT: RefCell<Option<Arc<Executor>>> = const { RefCell::new(None) };
}

/// While it lives, the thread's context is set; dropping it restores the
/// context there was before.
pub(crate) struct ContextGuard {
    previous: Option<Arc<Executor>>,
}

/// Makes `executor` this thread's executor until the guard is dropped.
pub(crate) fn enter(executor: &Arc<Executor>) -> ContextGuard {
    let previous = CONTEXT.with(|context| context.borrow_mut().replace(executor.clone()));
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
    CONTEXT.with(|context| context.borrow().clone())
}
// ANCHOR_END: context

// ANCHOR: assert_can_block
/// Panics if this thread runs tasks or a `block_on`, where blocking would
/// stall other work.
pub(crate) fn assert_can_block() {
    assert!(
        current().is_none(),
        "block_on called from inside a runtime: a task must not block \
         the thread it runs on; use .await instead"
    );
}
// ANCHOR_END: assert_can_block
