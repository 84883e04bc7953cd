//! Stage 8: a local queue per worker.
//!
//! Up to stage 7, every worker took its tasks from one ready queue under
//! one lock, and every wake took that lock too. This stage gives each
//! worker a queue of its own: a task woken on a worker goes into that
//! worker's queue, without a lock; an idle worker steals from the others.
//! The book's chapter "A queue per worker" walks through this crate.

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
