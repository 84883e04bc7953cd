//! TCP: a listener that accepts connections, and a stream that reads and
//! writes through the reactor.

mod listener;
mod stream;

pub use listener::TcpListener;
pub use stream::TcpStream;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

// ANCHOR: each_address
/// Calls `f` with each address `addr` resolves to, until one succeeds;
/// returns the last error if none does.
///
/// Resolving a host name asks the system resolver, which blocks: this
/// runtime has no thread pool for blocking calls yet, so prefer IP
/// addresses (`"127.0.0.1:8080"`), which resolve without it.
async fn each_address<T, F>(
    addr: impl ToSocketAddrs,
    mut f: impl FnMut(SocketAddr) -> F,
) -> io::Result<T>
where
    F: Future<Output = io::Result<T>>,
{
    let mut last_error = None;
    for address in addr.to_socket_addrs()? {
        match f(address).await {
            Ok(value) => return Ok(value),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to nothing",
        )
    }))
}
// ANCHOR_END: each_address
