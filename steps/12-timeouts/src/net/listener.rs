//! `TcpListener`: accepts TCP connections.

use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use crate::net::{TcpStream, each_address};
use crate::reactor::Registered;

// ANCHOR: listener
/// A TCP socket that listens for connections.
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
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = self.io.read_with(|listener| listener.accept()).await?;
        Ok((TcpStream::from_mio(stream)?, peer))
    }

    /// The local address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}
// ANCHOR_END: listener

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
