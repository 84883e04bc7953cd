//! An echo server on the runtime: stage 6's server, unchanged but for the
//! crate it runs on.
//!
//! ```text
//! cargo run --release -p runtime --example echo -- 127.0.0.1:7000
//! socat - TCP:127.0.0.1:7000      # in another terminal: type, read it back
//! ```

use std::io;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};

// ANCHOR: echo
/// Writes back everything it reads, until the peer closes its side.
async fn echo(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = vec![0; 16 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return stream.close().await;
        }
        stream.write_all(&buf[..n]).await?;
    }
}

fn main() -> io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".into());
    runtime::block_on(async {
        let listener = TcpListener::bind(&address).await?;
        println!(
            "echo server listening on {}; Ctrl-C stops it",
            listener.local_addr()?
        );
        loop {
            let (stream, _peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: this connection is lost,
                    // the server is not. Pause, so as not to spin on it.
                    eprintln!("accept failed: {error}");
                    runtime::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            runtime::spawn(async move {
                if let Err(error) = echo(stream).await {
                    eprintln!("echo: connection ended with an error: {error}");
                }
            });
        }
    })
}
// ANCHOR_END: echo
