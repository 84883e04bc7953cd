//! `TcpListener`: accepts TCP connections.

use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use crate::net::{TcpStream, each_address};
use crate::reactor::Registered;

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
    /// Binds to `addr` and listens. The first address that binds wins.
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
            let listener = mio::net::TcpListener::bind(address)?;
            Ok(TcpListener {
                io: Registered::new(listener)?,
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

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
