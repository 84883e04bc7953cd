//! Stage 1: `block_on`.
//!
//! The smallest thing that can run a future: poll it, and when it says
//! `Pending`, put the thread to sleep until the future's waker is called.
//! The book's chapter "block_on" walks through this crate.

mod block_on;

pub use block_on::block_on;
