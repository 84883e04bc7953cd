//! Stage 9: spin before you sleep.
//!
//! Up to stage 8, a worker that found no task parked at once, and the next
//! task had to wake it: a system call on the waking side, a context switch
//! on the sleeping one, for every lull. This stage keeps an idle worker
//! looking for work, in the queues and in the OS's events, for a few
//! microseconds before it parks. The book's chapter "Spin before you sleep"
//! walks through this crate.

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
