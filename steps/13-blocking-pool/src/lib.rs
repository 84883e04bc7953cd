//! Stage 13: the blocking pool.
//!
//! A task that blocks (a file read, a long computation, a library that
//! waits) holds up its worker thread and every task queued behind it. This
//! stage adds `task::spawn_blocking`: the closure runs on a pool of threads
//! of its own, started as jobs come (up to 512) and let go after 10 s
//! without work; its `JoinHandle` is the one tasks have, fed by the job
//! instead of a task, and a job's panic comes back as a `JoinError`.
//! Shutdown drops the jobs that have not started and waits for the running
//! ones. The book's chapter "The blocking pool" walks through this crate.

mod block_on;
mod blocking;
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
