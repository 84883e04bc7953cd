//! `TcpListener`: accepts TCP connections.

use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use socket2::{Domain, Protocol, Socket, Type};

use crate::net::{TcpStream, each_address};
use crate::reactor::Registered;

/// How many connections the OS may hold for a listener until its `accept`
/// takes them: tokio's figure. std and mio ask for 128, which a burst of
/// clients overflows, and a client whose connection finds the queue full
/// tries again only a second later (on Linux; then after 3 s, 7 s…). The OS
/// may cap it: Linux at `net.core.somaxconn` (4,096 since Linux 5.4), macOS
/// at `kern.ipc.somaxconn` (128).
const LISTEN_QUEUE: i32 = 1024;

/// A TCP socket that listens for connections.
///
/// # Examples
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use runtime::net::{TcpListener, TcpStream};
///
/// runtime::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let address = listener.local_addr()?;
///     let client = runtime::spawn(async move {
///         let mut stream = TcpStream::connect(address).await?;
///         stream.write_all(b"ping").await?;
///         std::io::Result::Ok(())
///     });
///     let (mut stream, _peer) = listener.accept().await?;
///     let mut buf = [0; 4];
///     stream.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     client.await.unwrap()
/// })
/// .unwrap();
/// ```
pub struct TcpListener {
    io: Registered<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` and listens, with room for 1,024 connections that
    /// have not been accepted yet. The first address that binds wins.
    ///
    /// Errors such as "address in use" come back as `io::Error`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::net::TcpListener;
    ///
    /// runtime::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?; // port 0: any free port
    ///     let taken = listener.local_addr()?;
    ///     let error = TcpListener::bind(taken).await.unwrap_err();
    ///     assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        each_address(addr, |address| async move {
            Ok(TcpListener {
                io: Registered::new(listen(address)?)?,
            })
        })
        .await
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// It tries `accept` first and waits only on `WouldBlock`, so
    /// connections that queued up before the call are taken at once.
    ///
    /// An error here is usually about this one attempt, not the listener:
    /// the process is out of file descriptors (`EMFILE`), say, or the peer
    /// gave up before it was accepted. The connection that caused it stays
    /// in the listen queue, and the listener stays ready, so an accept loop
    /// that retries at once fails again at once, at 100% of a core, and
    /// starves the very tasks whose closing would free a descriptor. Log
    /// the error and pause a little before the next `accept`, as
    /// `examples/echo.rs` and `examples/http.rs` do.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::net::TcpListener;
    ///
    /// runtime::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     // A blocking client on a plain thread: the runtime serves any peer.
    ///     let client = std::net::TcpStream::connect(listener.local_addr()?)?;
    ///     let (stream, peer) = listener.accept().await?;
    ///     assert_eq!(peer, client.local_addr()?);
    ///     assert_eq!(stream.peer_addr()?, peer);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = self.io.read_with(|listener| listener.accept()).await?;
        Ok((TcpStream::from_mio(stream)?, peer))
    }

    /// The local address this listener is bound to: with port 0 in
    /// [`bind`](TcpListener::bind), the port the system chose.
    ///
    /// # Examples
    ///
    /// ```
    /// runtime::block_on(async {
    ///     let listener = runtime::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     assert_ne!(listener.local_addr()?.port(), 0);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

/// A non-blocking socket bound to `address` and listening, as mio's
/// `TcpListener::bind` makes one, but with a longer queue.
fn listen(address: SocketAddr) -> io::Result<mio::net::TcpListener> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    // As std and mio do. On Unix, a new listener may take a port that
    // connections closed a moment ago still hold (TIME_WAIT); on Windows the
    // same option would let another socket take the port from this one.
    #[cfg(not(windows))]
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    socket.listen(LISTEN_QUEUE)?;
    Ok(mio::net::TcpListener::from_std(socket.into()))
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
