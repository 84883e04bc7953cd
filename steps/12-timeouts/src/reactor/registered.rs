//! `Registered`: a mio source registered with the current runtime's reactor.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::executor;
use crate::reactor::{Direction, Reactor, ScheduledIo, Waiter};

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
        waiter: &mut Waiter,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            // Read the readiness *before* trying, so that clearing it below
            // cannot erase an event that came in during the attempt.
            let observed = self.io.snapshot(direction);
            match op(self.get_ref()) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.io.clear_readiness(observed, direction);
                    if self.io.poll_ready(cx, direction, waiter).is_pending() {
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
    ///
    /// This is for `poll_read`-style code, as in `AsyncRead`, which has
    /// nowhere to keep a place of its own among the waiters: the source
    /// keeps one waker per polling task, and the next readable event wakes
    /// them all. A task that stops polling stays until that event. For
    /// many tasks that wait and give up, use
    /// [`read_with`](Registered::read_with).
    pub fn poll_read_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io(cx, Direction::Read, &mut Waiter::Poller, op)
    }

    /// Polls a write-side operation: `op` is retried whenever the source
    /// becomes writable, until it does not return `WouldBlock`. Like
    /// [`poll_read_with`](Registered::poll_read_with), it keeps one waker
    /// per polling task until the next writable event.
    pub fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io(cx, Direction::Write, &mut Waiter::Poller, op)
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
    pub async fn read_with<R>(&self, op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        self.wait_with(Direction::Read, op).await
    }

    /// Runs a write-side operation, waiting for writability as needed.
    pub async fn write_with<R>(&self, op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        self.wait_with(Direction::Write, op).await
    }

    /// Runs `op` until it does not return `WouldBlock`, in a place among
    /// the waiters of its own: any number of tasks can wait at once, and
    /// the place goes when this future completes or is dropped.
    async fn wait_with<R>(
        &self,
        direction: Direction,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        let mut place = Place {
            io: &self.io,
            direction,
            waiter: Waiter::Future(None),
        };
        std::future::poll_fn(|cx| self.poll_io(cx, direction, &mut place.waiter, &mut op)).await
    }
    // ANCHOR_END: read_with
}

// ANCHOR: place
/// A waiting future's place among a source's waiters, given back when the
/// future completes or is dropped (lesson #14).
struct Place<'a> {
    io: &'a ScheduledIo,
    direction: Direction,
    waiter: Waiter,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        if let Waiter::Future(Some(key)) = self.waiter {
            self.io.remove_waiter(self.direction, key);
        }
    }
}
// ANCHOR_END: place

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

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::sync::Arc;
    use std::time::Duration;

    use futures::future::{Either, select};

    use super::*;
    use crate::time::sleep;
    use crate::{block_on, spawn};

    /// Lesson #14: tasks that give up waiting (here, an `accept` raced
    /// against a 1 ms sleep) give their places among the waiters back as
    /// their futures are dropped, and a task that is woken and completes
    /// gives its place back too.
    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot open sockets")]
    fn futures_that_stop_waiting_give_their_places_back() {
        block_on(async {
            let listener = mio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let address = listener.local_addr().unwrap();
            let listener = Arc::new(Registered::new(listener).unwrap());
            let tasks: Vec<_> = (0..10_000)
                .map(|_| {
                    let listener = listener.clone();
                    spawn(async move {
                        let accept = Box::pin(listener.read_with(|listener| listener.accept()));
                        let give_up = pin!(sleep(Duration::from_millis(1)));
                        // The sleep wins: the accept's future comes back
                        // with it, and is dropped at the end of the line.
                        matches!(select(accept, give_up).await, Either::Right(_))
                    })
                })
                .collect();
            for task in tasks {
                assert!(task.await.unwrap(), "an accept with no client completed");
            }
            assert_eq!(listener.io.waiter_places(Direction::Read), 0);

            let _client = std::net::TcpStream::connect(address).unwrap();
            listener
                .read_with(|listener| listener.accept())
                .await
                .unwrap();
            assert_eq!(listener.io.waiter_places(Direction::Read), 0);
        });
    }
}
