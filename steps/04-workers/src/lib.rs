//! Stage 4: worker threads.
//!
//! Stage 3 ran every task on the thread that called `block_on`. This stage
//! starts one *worker thread* per core; the workers share the ready queue,
//! park when it is empty, and one of them, the *timekeeper*, waits for the
//! next deadline. The book's chapter "Worker threads" walks through this
//! crate.

mod block_on;
mod executor;
mod idle;
mod join;
pub mod task;
pub mod time;
mod timer_queue;
pub mod trace;

pub use block_on::block_on;
pub use executor::spawn;
pub use join::{JoinError, JoinHandle};
