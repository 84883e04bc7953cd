//! Stage 5: the reactor.
//!
//! Stage 4's workers could wait for tasks and for time. This stage lets
//! tasks wait for the operating system: a *reactor* registers sockets with
//! mio, and the timekeeper now waits in the OS poll, which wakes it for I/O
//! events, for new tasks and at the next deadline. The book's chapter
//! "The reactor" walks through this crate.

mod block_on;
mod executor;
mod idle;
mod join;
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
