//! An HTTP/1.1 server: hyper 1.x, running on this runtime.
//!
//! ```text
//! cargo run --release -p runtime --example http -- 127.0.0.1:8080
//! curl http://127.0.0.1:8080/hello     # in another terminal
//! ```
//!
//! With `--features trace`, `--trace FILE` records what every thread does
//! until standard input closes (Ctrl-D), then writes FILE for Perfetto:
//!
//! ```text
//! cargo run --release -p runtime --features trace --example http -- 127.0.0.1:8080 --trace http.json
//! ```
//!
//! hyper does the HTTP; the runtime does the rest. Two small adapters
//! connect them: `HyperIo` gives hyper's I/O traits to a `TcpStream` (which
//! has the `futures::io` ones), and `HyperTimer` gives hyper the runtime's
//! timers, so that hyper's header-read timeout is on (without a timer,
//! hyper turns it off, and a client that sends half a request and waits
//! holds its connection open forever).
//!
//! It is written to survive what clients do: an error on one connection
//! ends that connection only, a request body has a size limit, a client
//! that shuts down its sending half still gets its answer, and the server
//! outlives running out of file descriptors. `runtime/tests/hostile.rs`
//! tries each of these against this very file.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::io::{AsyncRead, AsyncWrite};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use runtime::net::{TcpListener, TcpStream};

/// The largest request body `/echo` takes: a client must not be able to
/// make the server hold as much memory as it cares to send.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

// ANCHOR: handler
/// Answers every request: a greeting at `/`, the request echoed back at
/// `/echo` (POST, at most `MAX_BODY` bytes, or 413), 404 elsewhere.
async fn handle(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match (request.method(), request.uri().path()) {
        (&Method::GET, "/") | (&Method::GET, "/hello") => Response::new(Full::new(Bytes::from(
            "Hello from a runtime built step by step!\n",
        ))),
        (&Method::POST, "/echo") => {
            // `Limited` stops reading at the limit, whatever the client
            // said the length would be.
            match Limited::new(request.into_body(), MAX_BODY).collect().await {
                Ok(body) => Response::new(Full::new(body.to_bytes())),
                Err(error) if error.is::<http_body_util::LengthLimitError>() => {
                    status(StatusCode::PAYLOAD_TOO_LARGE)
                }
                Err(_) => status(StatusCode::BAD_REQUEST),
            }
        }
        _ => status(StatusCode::NOT_FOUND),
    };
    Ok(response)
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(format!("{code}\n"))));
    *response.status_mut() = code;
    response
}
// ANCHOR_END: handler

// ANCHOR: main
fn main() -> io::Result<()> {
    let (trace, args) = trace_args()?;
    let address = args.first().map_or("127.0.0.1:8080", String::as_str);
    runtime::block_on(async {
        let listener = TcpListener::bind(address).await?;
        println!(
            "HTTP server on http://{}; Ctrl-C stops it",
            listener.local_addr()?
        );
        let server = serve(listener, Duration::from_secs(30));
        match trace {
            Some(_) => until_stdin_closes(server).await,
            None => server.await,
        }
    })?;
    write_trace(trace)
}

/// Accepts connections for ever, and serves each on a task of its own. A
/// client that has not sent a request's headers within `header_timeout`
/// is disconnected.
pub async fn serve(listener: TcpListener, header_timeout: Duration) -> io::Result<()> {
    loop {
        let (stream, _peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, say. The connection that waits
                // stays in the listen queue, and the listener stays ready,
                // so the next accept would fail at once, again and again:
                // a loop at 100% of a core that starves the connections
                // whose closing would free a descriptor. Pause instead.
                eprintln!("accept failed: {error}");
                runtime::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // An error here is this connection's, not the server's.
        if let Err(error) = stream.set_nodelay(true) {
            eprintln!("http: set_nodelay failed: {error}");
        }
        runtime::spawn(async move {
            let connection = http1::Builder::new()
                .timer(HyperTimer)
                .header_read_timeout(header_timeout)
                // A client may shut down its sending half once its request
                // is out (curl's --no-keepalive scripts, `nc -N`): answer it
                // anyway, instead of taking the end of its stream for a
                // hang-up.
                .half_close(true)
                .serve_connection(HyperIo(stream), service_fn(handle));
            if let Err(error) = connection.await {
                eprintln!("http: connection ended with an error: {error}");
            }
        });
    }
}
// ANCHOR_END: main

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

// ANCHOR: adapters
/// A `TcpStream` seen through hyper's I/O traits.
struct HyperIo(TcpStream);

impl hyper::rt::Read for HyperIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // Read into initialized memory, then copy: hyper's buffer may be
        // uninitialized, and filling it in place would take `unsafe`.
        let mut chunk = [0; 8 * 1024];
        let len = chunk.len().min(buf.remaining());
        let n = match Pin::new(&mut self.0).poll_read(cx, &mut chunk[..len]) {
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
            Poll::Pending => return Poll::Pending,
        };
        buf.put_slice(&chunk[..n]);
        Poll::Ready(Ok(()))
    }
}

impl hyper::rt::Write for HyperIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

/// The runtime's timers, for hyper.
#[derive(Clone, Copy)]
struct HyperTimer;

impl hyper::rt::Timer for HyperTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep(runtime::time::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep(runtime::time::sleep_until(deadline)))
    }
}

/// A runtime `Sleep` that hyper accepts as its own.
struct HyperSleep(runtime::time::Sleep);

impl Future for HyperSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl hyper::rt::Sleep for HyperSleep {}
// ANCHOR_END: adapters
