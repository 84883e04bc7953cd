//! An HTTP/1.1 server: hyper 1.x, running on this runtime.
//!
//! ```text
//! cargo run --release -p runtime --example http -- 127.0.0.1:8080
//! curl http://127.0.0.1:8080/hello     # in another terminal
//! ```
//!
//! hyper does the HTTP; the runtime does the rest. Two small adapters
//! connect them: `HyperIo` gives hyper's I/O traits to a `TcpStream` (which
//! has the `futures::io` ones), and `HyperTimer` gives hyper the runtime's
//! timers, so that hyper's header-read timeout is on (without a timer,
//! hyper turns it off, and a client that sends half a request and waits
//! holds its connection open forever).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::io::{AsyncRead, AsyncWrite};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use runtime::net::{TcpListener, TcpStream};

// ANCHOR: handler
/// Answers every request: a greeting at `/`, the request echoed back at
/// `/echo` (POST), 404 elsewhere.
async fn handle(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match (request.method(), request.uri().path()) {
        (&Method::GET, "/") | (&Method::GET, "/hello") => Response::new(Full::new(Bytes::from(
            "Hello from a runtime built step by step!\n",
        ))),
        (&Method::POST, "/echo") => {
            use http_body_util::BodyExt;
            match request.into_body().collect().await {
                Ok(body) => Response::new(Full::new(body.to_bytes())),
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
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    runtime::block_on(async {
        let listener = TcpListener::bind(&address).await?;
        println!(
            "HTTP server on http://{}; Ctrl-C stops it",
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
            stream.set_nodelay(true)?;
            runtime::spawn(async move {
                let connection = http1::Builder::new()
                    .timer(HyperTimer)
                    .header_read_timeout(Duration::from_secs(30))
                    .serve_connection(HyperIo(stream), service_fn(handle));
                if let Err(error) = connection.await {
                    eprintln!("http: connection ended with an error: {error}");
                }
            });
        }
    })
}
// ANCHOR_END: main

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
