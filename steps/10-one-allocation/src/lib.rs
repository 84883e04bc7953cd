//! Stage 10: one allocation per task.
//!
//! Up to stage 9, spawning a task made three allocations: the boxed
//! future, the task around it, and the slot its `JoinHandle` reads from.
//! Each poll also cloned and dropped the task's `Arc` for its waker. This
//! stage puts future, state and output in one allocation, polls the future
//! where it lies (the one `unsafe` line of the book, and why it is sound),
//! and lends the waker instead of cloning it. The book's chapter "One
//! allocation per task" walks through this crate.

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
