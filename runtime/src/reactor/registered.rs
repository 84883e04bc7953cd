//! `Registered`: a mio source registered with the current runtime's reactor.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::executor;
use crate::reactor::{Direction, Reactor, ScheduledIo, Waiter};

/// Whether the OS itself reports readiness on edges, as epoll and kqueue
/// do: a new event for each change, new bytes to read or new room to
/// write, whether or not the last operation said `WouldBlock`. There, an
/// operation that heard `WouldBlock` is not tried again until an event
/// comes (`said_nothing` in scheduled_io.rs), which saves a system call
/// that could only say `WouldBlock`. mio's Windows backend, and its
/// `poll(2)` backend (`--cfg mio_unsupported_force_poll_poll`), ask the OS
/// for the next event only when an operation through mio says
/// `WouldBlock` (chapter 5), so there every operation is tried, as in the
/// stages.
const EDGE_TRIGGERED: bool = cfg!(all(
    not(mio_unsupported_force_poll_poll),
    any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly",
    )
));

/// Whether a read of a stream that fills less than its buffer may count
/// as `WouldBlock` (see [`ScheduledIo::clear_drained`]): only with epoll,
/// where mio also reports urgent data. A TCP read stops short at urgent
/// (out-of-band) data with more bytes behind it, and no new event comes
/// for those bytes; epoll says so (`EPOLLPRI`, `PRIORITY` in the
/// readiness), and then a short read proves nothing. mio's kqueue backend
/// does not report urgent data, so on macOS and the BSDs a short read is
/// followed by one more read, as in the stages.
const SHORT_READ_DRAINS: bool = cfg!(all(
    not(mio_unsupported_force_poll_poll),
    any(target_os = "linux", target_os = "android")
));

/// A read that returns this much or more may have been cut short by the OS
/// (Linux moves at most a little under 2 GiB in one call), so it never
/// counts as having drained the socket.
const LONGEST_SHORT_READ: usize = 1 << 30;

/// A non-blocking I/O source (a `mio::net::TcpStream`, say) registered with
/// the reactor of the runtime it was created in, so tasks can await it.
///
/// Its operations follow the edge-triggered rules: try the operation
/// first; on `WouldBlock`, forget the readiness and wait for the next
/// event. On Linux, macOS and the BSDs, once the OS has said there is
/// nothing, by `WouldBlock` or (on Linux) by a short read of a stream, the
/// next operation waits for the next event without being tried: `op` is
/// called only when the OS may have something for it.
pub struct Registered<S: mio::event::Source> {
    /// `None` only while being dropped.
    source: Option<S>,
    io: Arc<ScheduledIo>,
    /// The reactor of the runtime it was created in.
    reactor: Arc<Reactor>,
}

impl<S: mio::event::Source> Registered<S> {
    /// Registers `source` with the current runtime's reactor.
    ///
    /// # Panics
    ///
    /// If called outside of a runtime.
    pub fn new(mut source: S) -> io::Result<Registered<S>> {
        let reactor = executor::current()
            .expect(
                "a socket (TcpListener, TcpStream or Registered) was created outside of a runtime: \
                 create it inside block_on or a task",
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

    /// Runs `op` until it does not return `WouldBlock`; in between, waits
    /// for the source to become ready in `direction`. If `drained` says
    /// that what `op` returned emptied the source in that direction, the
    /// readiness goes at once (see [`ScheduledIo::clear_drained`]).
    fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        waiter: &mut Waiter,
        drained: impl Fn(&R) -> bool,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            // Read the readiness *before* trying, so that clearing it below
            // cannot erase an event that came in during the attempt.
            let observed = self.io.snapshot(direction);
            // ANCHOR: said_nothing
            let result =
                if EDGE_TRIGGERED && observed.said_nothing() && !self.reactor.is_shut_down() {
                    // The OS said so, and no event has come since: asking it
                    // again would cost a system call to hear the same. (Once
                    // the reactor has shut down, no event will come: the
                    // operation is tried, and gets what the socket still has.)
                    Err(io::ErrorKind::WouldBlock.into())
                } else {
                    op(self.get_ref())
                };
            // ANCHOR_END: said_nothing
            match result {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.io.clear_readiness(observed, direction);
                    if self.reactor.is_shut_down() {
                        // No reactor polls for this source any more: waiting
                        // would be for ever.
                        return Poll::Ready(Err(shut_down()));
                    }
                    if self.io.poll_ready(cx, direction, waiter).is_pending() {
                        // Shutdown wakes every stored waker once, after it
                        // sets the flag: a waker stored since then would
                        // never be woken. Look at the flag again.
                        if self.reactor.is_shut_down() {
                            return Poll::Ready(Err(shut_down()));
                        }
                        return Poll::Pending;
                    }
                    // Ready again already: an event came in. Try again.
                }
                // A signal interrupted the call: nothing happened, try again.
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                // ANCHOR: drained
                Ok(done) => {
                    if SHORT_READ_DRAINS && drained(&done) {
                        self.io.clear_drained(observed);
                    }
                    return Poll::Ready(Ok(done));
                }
                // ANCHOR_END: drained
                error => return Poll::Ready(error),
            }
        }
    }

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
        self.poll_io(cx, Direction::Read, &mut Waiter::Poller, |_| false, op)
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
        self.poll_io(cx, Direction::Write, &mut Waiter::Poller, |_| false, op)
    }

    /// Polls a read of a byte stream into a buffer of `capacity` bytes:
    /// like [`poll_read_with`](Registered::poll_read_with), and, on Linux,
    /// a read that fills less than the buffer took all the socket had, so
    /// the readiness goes at once. The next read then waits for the next
    /// event instead of making a system call only to hear `WouldBlock`.
    pub(crate) fn poll_read_stream(
        &self,
        cx: &mut Context<'_>,
        capacity: usize,
        op: impl FnMut(&S) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        // ANCHOR: short_read
        let drained = |&read: &usize| 0 < read && read < capacity.min(LONGEST_SHORT_READ);
        // ANCHOR_END: short_read
        self.poll_io(cx, Direction::Read, &mut Waiter::Poller, drained, op)
    }

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
        std::future::poll_fn(|cx| {
            self.poll_io(cx, direction, &mut place.waiter, |_| false, &mut op)
        })
        .await
    }
}

/// The error of an operation that would wait on a runtime that has shut
/// down: no reactor will ever report the event it waits for.
fn shut_down() -> io::Error {
    io::Error::other("the runtime this socket was created in has shut down")
}

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

impl<S: mio::event::Source + fmt::Debug> fmt::Debug for Registered<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registered")
            .field("source", &self.source)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::time::timeout;
    use crate::{block_on, spawn};

    /// Lesson #14: tasks that give up waiting (here, an `accept` under a
    /// timeout) give their places among the waiters back as their futures
    /// are dropped, and a task that is woken and completes gives its place
    /// back too.
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
                        let accept = listener.read_with(|listener| listener.accept());
                        timeout(Duration::from_millis(1), accept).await.is_err()
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

    /// A read that fills less than its buffer took everything: where the
    /// OS reports every new byte as an event, the next read waits for that
    /// event without asking the OS first. Everywhere, no byte is lost, and
    /// the end of the stream is read at once.
    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot open sockets")]
    fn a_short_read_waits_for_the_next_event_and_loses_nothing() {
        use std::cell::Cell;
        use std::io::{Read, Write};
        use std::task::Waker;

        block_on(async {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let mut peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (ours, _) = listener.accept().unwrap();
            ours.set_nonblocking(true).unwrap();
            let stream = Registered::new(mio::net::TcpStream::from_std(ours)).unwrap();
            let calls = Cell::new(0);
            let mut buf = [0u8; 64];
            let read = |cx: &mut Context<'_>, buf: &mut [u8]| {
                let capacity = buf.len();
                stream.poll_read_stream(cx, capacity, |mut s| {
                    calls.set(calls.get() + 1);
                    s.read(buf)
                })
            };
            // Bytes, and their event seen by the reactor.
            peer.write_all(b"hello").unwrap();
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while !stream.io.snapshot(Direction::Read).is_ready() {
                assert!(std::time::Instant::now() < deadline, "no readable event");
                crate::time::sleep(Duration::from_millis(1)).await;
            }
            let n = std::future::poll_fn(|cx| read(cx, &mut buf)).await.unwrap();
            assert_eq!(&buf[..n], b"hello");
            assert_eq!(calls.get(), 1);

            // Nothing more yet: the read waits. On Linux, it does not ask
            // the OS to hear `WouldBlock`.
            let mut cx = Context::from_waker(Waker::noop());
            assert!(read(&mut cx, &mut buf).is_pending());
            let expected = if SHORT_READ_DRAINS { 1 } else { 2 };
            assert_eq!(calls.get(), expected, "system calls after a short read");

            // The next bytes bring an event, and the read gets them.
            peer.write_all(b"world").unwrap();
            let next = std::future::poll_fn(|cx| read(cx, &mut buf));
            let n = timeout(Duration::from_secs(10), next)
                .await
                .expect("bytes sent after a short read were never read")
                .unwrap();
            assert_eq!(&buf[..n], b"world");

            // Last bytes, then the end: both are read, without waiting for
            // an event that will not come.
            peer.write_all(b"bye").unwrap();
            peer.shutdown(std::net::Shutdown::Write).unwrap();
            let mut rest = Vec::new();
            loop {
                let next = std::future::poll_fn(|cx| read(cx, &mut buf));
                let n = timeout(Duration::from_secs(10), next)
                    .await
                    .expect("the end of the stream was never read")
                    .unwrap();
                if n == 0 {
                    break;
                }
                rest.extend_from_slice(&buf[..n]);
            }
            assert_eq!(rest, b"bye");
        });
    }
}
