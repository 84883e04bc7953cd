//! Stage 12: timeouts and intervals.
//!
//! Since stage 3, a task can sleep until a deadline. This stage builds two things on
//! that sleep, without touching the executor: `time::timeout`, which gives
//! any future a deadline and drops it when the deadline wins, and
//! `time::interval`, which ticks every period on a fixed schedule. The
//! book's chapter "Timeouts and intervals" walks through this crate.

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
