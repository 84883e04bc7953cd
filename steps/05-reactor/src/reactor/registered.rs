//! `Registered`: a mio source registered with the current runtime's reactor.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::executor;
use crate::reactor::{Direction, Reactor, ScheduledIo};

// ANCHOR: registered
/// A non-blocking I/O source (a `mio::net::TcpStream`, say) registered with
/// the reactor of the runtime it was created in, so tasks can await it.
///
/// Its operations follow the edge-triggered rules: try the operation first;
/// on `WouldBlock`, forget the readiness and wait for the next event.
pub struct Registered<S: mio::event::Source> {
    /// `None` only while being dropped.
    source: Option<S>,
    io: Arc<ScheduledIo>,
    /// The reactor of the runtime it was created in.
    reactor: Arc<Reactor>,
}
// ANCHOR_END: registered

impl<S: mio::event::Source> Registered<S> {
    /// Registers `source` with the current runtime's reactor.
    ///
    /// # Panics
    ///
    /// If called outside of a runtime.
    pub fn new(mut source: S) -> io::Result<Registered<S>> {
        let reactor = executor::current()
            .expect(
                "Registered::new called outside of a runtime: call it inside block_on or a task",
            )
            .reactor()
            .clone();
        let io = reactor.register(&mut source)?;
        Ok(Registered {
            source: Some(source),
            io,
            reactor,
        })
    }

    /// The source itself.
    pub fn get_ref(&self) -> &S {
        self.source
            .as_ref()
            .expect("the source is only taken in drop")
    }

    // ANCHOR: poll_io
    /// Runs `op` until it does not return `WouldBlock`; in between, waits
    /// for the source to become ready in `direction`.
    fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            // Read the readiness *before* trying, so that clearing it below
            // cannot erase an event that came in during the attempt.
            let observed = self.io.snapshot(direction);
            match op(self.get_ref()) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.io.clear_readiness(observed, direction);
                    if self.io.poll_ready(cx, direction).is_pending() {
                        return Poll::Pending;
                    }
                    // Ready again already: an event came in. Try again.
                }
                // A signal interrupted the call: nothing happened, try again.
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                result => return Poll::Ready(result),
            }
        }
    }
    // ANCHOR_END: poll_io

    /// Polls a read-side operation: `op` is retried whenever the source
    /// becomes readable, until it does not return `WouldBlock`.
    pub fn poll_read_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io(cx, Direction::Read, op)
    }

    /// Polls a write-side operation: `op` is retried whenever the source
    /// becomes writable, until it does not return `WouldBlock`.
    pub fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io(cx, Direction::Write, op)
    }

    // ANCHOR: read_with
    /// Runs a read-side operation, waiting for readability as needed.
    ///
    /// ```
    /// use std::io::Read;
    /// use runtime::reactor::Registered;
    ///
    /// runtime::block_on(async {
    ///     let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    ///     std::io::Write::write_all(&mut client, b"hi").unwrap();
    ///
    ///     let (server_side, _) = listener.accept().unwrap();
    ///     server_side.set_nonblocking(true).unwrap();
    ///     let stream = Registered::new(mio::net::TcpStream::from_std(server_side)).unwrap();
    ///     let mut buf = [0; 2];
    ///     let n = stream.read_with(|s| { let mut s = s; s.read(&mut buf) }).await.unwrap();
    ///     assert_eq!(&buf[..n], b"hi");
    /// });
    /// ```
    pub async fn read_with<R>(&self, mut op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        std::future::poll_fn(|cx| self.poll_read_with(cx, &mut op)).await
    }

    /// Runs a write-side operation, waiting for writability as needed.
    pub async fn write_with<R>(&self, mut op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        std::future::poll_fn(|cx| self.poll_write_with(cx, &mut op)).await
    }
    // ANCHOR_END: read_with
}

// ANCHOR: drop
/// Dropping a source removes it from the reactor: from the OS queue, and
/// from the slab, whose slot may then be reused under a new generation.
impl<S: mio::event::Source> Drop for Registered<S> {
    fn drop(&mut self) {
        if let Some(mut source) = self.source.take() {
            // Nothing useful can be done with an error here: the source is
            // closed right after, which removes it from the OS queue anyway.
            let _ = self.reactor.deregister(&mut source, &self.io);
        }
    }
}
// ANCHOR_END: drop

impl<S: mio::event::Source + fmt::Debug> fmt::Debug for Registered<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registered")
            .field("source", &self.source)
            .finish()
    }
}
