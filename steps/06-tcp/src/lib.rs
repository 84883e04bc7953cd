//! Stage 6: TCP.
//!
//! Stage 5's reactor could wait for any mio source. This stage builds the
//! types a program uses on top of it: `net::TcpListener` and
//! `net::TcpStream`, which implement `futures::io::AsyncRead` and
//! `AsyncWrite`, and an echo server with them. The book's chapter "TCP"
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
