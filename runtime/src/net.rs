//! TCP: a listener that accepts connections, and a stream that reads and
//! writes through the reactor.

mod listener;
mod stream;

pub use listener::TcpListener;
pub use stream::TcpStream;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// Calls `f` with each address `addr` resolves to, until one succeeds;
/// returns the last error if none does.
///
/// Resolving a host name asks the system resolver, which blocks the worker
/// while it waits. IP addresses (`"127.0.0.1:8080"`) resolve without it; to
/// connect to a host name without blocking a worker, resolve it first in
/// [`spawn_blocking`](crate::task::spawn_blocking) and pass the address.
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
