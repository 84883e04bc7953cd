//! An async runtime for Rust, built step by step in a book.
//!
//! This is the complete crate that the book *Build an Async Runtime, Step by
//! Step* arrives at. It runs futures on a pool of worker threads, with
//! timers, a mio reactor for TCP, a pool for blocking work, and panics
//! caught into [`JoinError`]s. Its API is a small subset of tokio's, with
//! the same names, and the I/O types implement the `futures::io` traits.
//!
//! ```
//! use futures::io::{AsyncReadExt, AsyncWriteExt};
//! use runtime::net::{TcpListener, TcpStream};
//!
//! runtime::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let address = listener.local_addr()?;
//!     runtime::spawn(async move {
//!         let (mut stream, _) = listener.accept().await?;
//!         let mut buf = [0; 5];
//!         stream.read_exact(&mut buf).await?;
//!         stream.write_all(&buf).await?; // echo
//!         std::io::Result::Ok(())
//!     });
//!     let mut stream = TcpStream::connect(address).await?;
//!     stream.write_all(b"hello").await?;
//!     let mut reply = [0; 5];
//!     stream.read_exact(&mut reply).await?;
//!     assert_eq!(&reply, b"hello");
//!     std::io::Result::Ok(())
//! })
//! .unwrap();
//! ```
//!
//! # How it is built
//!
//! - [`block_on`] and [`Runtime::block_on`] poll one future on the calling
//!   thread and park it between polls; its waker unparks it.
//! - [`spawn`] turns a future into a *task*. A woken task is queued in the
//!   *local queue* of the worker that woke it, or in the shared *injector*
//!   when the waker runs on another thread; idle workers steal from both. A
//!   state machine makes sure a task is queued once, polled by one worker
//!   at a time, and never after it completed.
//! - Idle workers spin for a moment, then park. One of them, the
//!   *timekeeper*, waits in the OS poll (epoll, kqueue, IOCP) through mio,
//!   with the earliest timer deadline as its timeout; I/O events, new tasks
//!   and earlier deadlines interrupt it.
//! - [`net`] builds `TcpListener` and `TcpStream` on the reactor, following
//!   the edge-triggered rules: try first, clear readiness only after
//!   `WouldBlock`.
//! - [`task::spawn_blocking`] runs closures on a pool of threads that grows
//!   on demand and shrinks when idle.
//!
//! The modules are layered, each using only the ones below it:
//!
//! ```text
//!  public API   Runtime, Builder, block_on, spawn     net      time (Sleep, timeout, interval)
//!  ----------------------------------------------------------------------------------------
//!  executor     the Executor and its workers, the current-thread context, the timekeeper
//!  ----------------------------------------------------------------------------------------
//!  beside it    reactor (mio)        timer queue        blocking pool        idle threads
//!  ----------------------------------------------------------------------------------------
//!  tasks        TaskCell: state machine, pinned future, waker        JoinHandle, JoinError
//! ```
//!
//! One call goes back up: a woken task asks the executor to queue it,
//! through the task layer's `Schedule` trait, which the executor
//! implements.
//!
//! Each of these ideas is one chapter of the book, with a runnable crate
//! per stage (`steps/` in the repository); the chapters "From stage 10 to
//! a runtime" and "Using the runtime" cover this crate.
//!
//! # Misuse
//!
//! [`spawn`] outside a runtime, and [`block_on`] inside a runtime's task,
//! panic with a message that says so. Operating-system errors (address in
//! use, connection refused, reset by peer) come back as `io::Error`.

mod block_on;
mod blocking;
mod executor;
mod idle;
mod join;
pub mod net;
pub mod reactor;
mod runtime;
mod sync;
pub mod task;
#[cfg(test)]
mod test_util;
pub mod time;
mod timer_queue;
pub mod trace;

pub use executor::spawn;
pub use join::{JoinError, JoinHandle};
pub use runtime::{Builder, Runtime, block_on};
