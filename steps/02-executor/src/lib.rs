//! Stage 2: a single-threaded executor.
//!
//! Stage 1 could run one future. This stage runs many: `spawn` hands a
//! future to the executor as a *task*, the executor keeps the tasks that
//! can make progress in a *ready queue*, and `block_on` polls them in turn
//! on the calling thread. The book's chapter "An executor" walks through
//! this crate.

mod block_on;
mod executor;
mod join;
pub mod task;

pub use block_on::block_on;
pub use executor::spawn;
pub use join::{JoinError, JoinHandle};
