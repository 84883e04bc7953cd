//! Stage 11: panics and abort.
//!
//! Up to stage 10, a spawned task ran until it finished or its runtime
//! shut down, and a task that panicked gave its handle an error that said
//! so and nothing more. This stage adds `JoinHandle::abort`, which cancels
//! a task: a flag and a wake, so that the worker that runs the task next
//! drops its future instead of polling it. `JoinHandle::is_finished` looks
//! without waiting, and `JoinError::into_panic` hands back the value the
//! task panicked with. The book's chapter "Panics and abort" walks through
//! this crate.

mod block_on;
mod executor;
mod idle;
mod join;
pub mod net;
pub mod reactor;
pub mod task;
#[cfg(test)]
mod test_util;
pub mod time;
mod timer_queue;
pub mod trace;

pub use block_on::block_on;
pub use executor::spawn;
pub use join::{JoinError, JoinHandle};
