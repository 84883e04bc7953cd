//! An echo server on the runtime: stage 6's server, unchanged but for the
//! crate it runs on.
//!
//! ```text
//! cargo run --release -p runtime --example echo -- 127.0.0.1:7000
//! socat - TCP:127.0.0.1:7000      # in another terminal: type, read it back
//! ```
//!
//! With `--features trace`, `--trace FILE` records what every thread does
//! until standard input closes (Ctrl-D), then writes FILE for Perfetto:
//!
//! ```text
//! cargo run --release -p runtime --features trace --example echo -- 127.0.0.1:7000 --trace echo.json
//! ```

use std::future::Future;
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
    let (trace, args) = trace_args()?;
    let address = args.first().map_or("127.0.0.1:7000", String::as_str);
    runtime::block_on(async {
        let listener = TcpListener::bind(address).await?;
        println!(
            "echo server listening on {}; Ctrl-C stops it",
            listener.local_addr()?
        );
        match trace {
            Some(_) => until_stdin_closes(serve(listener)).await,
            None => serve(listener).await,
        }
    })?;
    write_trace(trace)
}

/// Accepts connections for ever, and echoes each on a task of its own.
async fn serve(listener: TcpListener) -> io::Result<()> {
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
}
// ANCHOR_END: echo

/// `--trace FILE` among the arguments: starts recording and returns FILE,
/// and the other arguments.
#[cfg(feature = "trace")]
fn trace_args() -> io::Result<(Option<std::path::PathBuf>, Vec<String>)> {
    runtime::trace::start_if_asked(std::env::args().skip(1).collect())
}

/// Without the `trace` feature there is no recorder: `--trace` says so.
#[cfg(not(feature = "trace"))]
fn trace_args() -> io::Result<(Option<std::path::PathBuf>, Vec<String>)> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "--trace") {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--trace needs the recorder: run with `--features trace`",
        ));
    }
    Ok((None, args))
}

/// Writes the trace, if one was recorded.
fn write_trace(trace: Option<std::path::PathBuf>) -> io::Result<()> {
    #[cfg(feature = "trace")]
    runtime::trace::write_if_asked(trace)?;
    #[cfg(not(feature = "trace"))]
    let _ = trace;
    Ok(())
}

/// Serves until standard input closes: a traced server must end on its own
/// for its trace to be written, and Ctrl-C would kill it first.
async fn until_stdin_closes(server: impl Future<Output = io::Result<()>>) -> io::Result<()> {
    let (closed, stdin_closed) = futures::channel::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let _ = io::copy(&mut io::stdin(), &mut io::sink());
        drop(closed);
    });
    match futures::future::select(std::pin::pin!(server), stdin_closed).await {
        futures::future::Either::Left((result, _)) => result,
        futures::future::Either::Right(_) => Ok(()),
    }
}
