//! `TcpStream`: a TCP connection, readable and writable through the reactor.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::io::{AsyncRead, AsyncWrite};

use crate::net::each_address;
use crate::reactor::Registered;

/// A TCP connection.
///
/// It implements [`futures::io::AsyncRead`] and [`AsyncWrite`], so the
/// helpers of `futures::io::AsyncReadExt` and `AsyncWriteExt` (`read`,
/// `read_exact`, `write_all`, `close`, ...) work on it. `&TcpStream` does
/// too, so one task can read while another writes.
///
/// # Examples
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use runtime::net::{TcpListener, TcpStream};
///
/// runtime::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///     client.write_all(b"hello").await?;
///     client.close().await?; // shuts down the write half: the server reads to the end
///     let mut received = Vec::new();
///     server.read_to_end(&mut received).await?;
///     assert_eq!(received, b"hello");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub struct TcpStream {
    io: Registered<mio::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each address it resolves to in turn.
    ///
    /// The connection is made without blocking a worker: the socket is
    /// created non-blocking and the task waits until it is writable, then
    /// asks the OS how the attempt ended. A refused connection comes back
    /// as an `io::Error` of kind `ConnectionRefused`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::net::TcpStream;
    ///
    /// runtime::block_on(async {
    ///     // A port nobody listens on: bind one, then close it.
    ///     let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    ///     let error = TcpStream::connect(closed).await.unwrap_err();
    ///     assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        each_address(addr, |address| async move {
            let stream = TcpStream::from_mio(mio::net::TcpStream::connect(address)?)?;
            stream.io.write_with(connected).await?;
            Ok(stream)
        })
        .await
    }

    pub(crate) fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: Registered::new(stream)?,
        })
    }

    /// The address of the peer.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    ///     let stream = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    ///     assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The local address of this end.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    ///     let stream = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    ///     let (_, peer) = listener.accept()?; // the server side sees this end's address
    ///     assert_eq!(stream.local_addr()?, peer);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY`: send small writes at once rather than wait to
    /// gather them (Nagle's algorithm).
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    ///     let stream = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    ///     stream.set_nodelay(true)?;
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }
}

/// How a non-blocking connect ended, once the socket reports writable:
/// `Ok` if connected, the error if it failed, `WouldBlock` if it is still
/// under way (the socket was writable for another reason).
///
/// Through mio's `try_io`: on Windows, mio asks the OS for a socket's next
/// event only after an I/O call through mio returned `WouldBlock`, and
/// `peer_addr` is no such call; `try_io` makes its `WouldBlock` one.
fn connected(stream: &mio::net::TcpStream) -> io::Result<()> {
    stream.try_io(|| {
        if let Some(error) = stream.take_error()? {
            return Err(error);
        }
        match stream.peer_addr() {
            Ok(_) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::NotConnected => {
                Err(io::ErrorKind::WouldBlock.into())
            }
            Err(error) => Err(error),
        }
    })
}

impl AsyncRead for &TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let capacity = buf.len();
        self.io
            .poll_read_stream(cx, capacity, |mut stream| stream.read(buf))
    }
}

impl AsyncWrite for &TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write_with(cx, |mut stream| stream.write(buf))
    }

    /// Nothing to flush: every write goes straight to the OS.
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Shuts down the write half: the peer reads end of stream, and this
    /// end can still read what the peer sends.
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.io.get_ref().shutdown(Shutdown::Write))
    }
}

/// The owned stream reads and writes through `&TcpStream`.
impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_read(cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self).poll_close(cx)
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}
