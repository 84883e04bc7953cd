//! Stage 7: bookkeeping on an interval.
//!
//! Stage 6 fired due timers before every task a worker ran: a lock and a
//! clock read per task, on a lock every worker shares. This stage does that
//! bookkeeping every 61 tasks, as it already did for OS events, and shows
//! with the benchmarks what the change buys. The book's chapter
//! "Bookkeeping on an interval" walks through this crate.

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
