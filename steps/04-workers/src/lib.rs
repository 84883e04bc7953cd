//! Stage 3: timers.
//!
//! Stage 2 ran many tasks on one thread. This stage lets them wait for
//! time: `time::sleep` registers a deadline in the executor's *timer queue*,
//! and when nothing is ready the executor sleeps exactly until the earliest
//! deadline. The book's chapter "Timers" walks through this crate.

mod block_on;
mod executor;
mod join;
pub mod task;
pub mod time;
mod timer_queue;

pub use block_on::block_on;
pub use executor::spawn;
pub use join::{JoinError, JoinHandle};
