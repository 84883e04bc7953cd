//! The HTTP example (`examples/http.rs`, included here as it is) against
//! clients that misbehave, on loopback, each test bounded in time by the
//! watchdog: resets in the middle of a request, a client that shuts down
//! its sending half, one that never finishes its headers, malformed
//! requests, a body over the limit, and 10,000 connections churned with
//! every byte checked. Running out of file descriptors is in
//! `hostile_fds.rs`, a process of its own, since it lowers a limit that the
//! whole process shares.

mod common;
#[allow(dead_code)]
#[path = "../examples/http.rs"]
mod http;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{PoisonError, RwLock, RwLockReadGuard};
use std::thread;
use std::time::{Duration, Instant};

use common::{Rng, open_handles, watchdog};
use runtime::Runtime;
use runtime::net::TcpListener;

const LIMIT: Duration = Duration::from_secs(120);

/// The tests of one file run in parallel, in one process. The test that
/// counts the process's open files holds this for writing, every other one
/// for reading: a connection that another test opened or closed meanwhile
/// would count as one of its own.
static COUNTING: RwLock<()> = RwLock::new(());

/// For a test that does not count open files: it runs beside the others,
/// but not while they are counted.
fn not_while_counting() -> RwLockReadGuard<'static, ()> {
    COUNTING.read().unwrap_or_else(PoisonError::into_inner)
}

/// A runtime serving the example on a free port, with the given header
/// timeout. Dropping the runtime stops the server.
fn server(header_timeout: Duration) -> (Runtime, SocketAddr) {
    let runtime = Runtime::builder().worker_threads(2).build().unwrap();
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let address = listener.local_addr().unwrap();
    runtime.spawn(http::serve(listener, header_timeout));
    (runtime, address)
}

/// Sends `request` on a new connection and reads until the server closes
/// it: the raw response.
fn exchange(address: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    response
}

fn status_line(response: &[u8]) -> String {
    let end = response
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(response.len());
    String::from_utf8_lossy(&response[..end]).into_owned()
}

fn body(response: &[u8]) -> &[u8] {
    let start = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response with no end of headers")
        + 4;
    &response[start..]
}

fn get_hello(address: SocketAddr) -> Vec<u8> {
    exchange(
        address,
        b"GET /hello HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    )
}

#[test]
fn resets_in_the_middle_of_a_request_leave_the_server_serving_and_nothing_open() {
    let _alone = COUNTING.write().unwrap_or_else(PoisonError::into_inner);
    watchdog(LIMIT, "resets mid-request", || {
        let (_runtime, address) = server(Duration::from_secs(30));
        assert!(status_line(&get_hello(address)).contains("200"));
        let before = open_handles();
        for i in 0..200 {
            let stream = TcpStream::connect(address).unwrap();
            let mut stream = socket2::Socket::from(stream);
            // Half a request: headers cut short, or a body cut short.
            let partial: &[u8] = if i % 2 == 0 {
                b"GET /hello HTTP/1.1\r\nHost: te"
            } else {
                b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\nonly a bit"
            };
            stream.write_all(partial).unwrap();
            // Linger 0: closing sends a reset, not a FIN.
            stream.set_linger(Some(Duration::ZERO)).unwrap();
            drop(stream);
        }
        assert!(status_line(&get_hello(address)).contains("200"));
        // The server side of every reset connection is closed, soon.
        let deadline = Instant::now() + Duration::from_secs(10);
        while open_handles() > before + 2 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        let after = open_handles();
        assert!(
            after <= before + 2,
            "{before} files open before 200 resets, {after} after"
        );
    });
}

#[test]
fn a_client_that_shuts_down_its_sending_half_still_gets_its_answer() {
    let _counting_waits = not_while_counting();
    watchdog(LIMIT, "half-close", || {
        let (_runtime, address) = server(Duration::from_secs(30));
        let mut stream = TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream
            .write_all(b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello")
            .unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        assert!(
            status_line(&response).contains("200"),
            "answer: {:?}",
            String::from_utf8_lossy(&response)
        );
        assert_eq!(body(&response), b"hello");
    });
}

#[test]
fn a_client_that_never_finishes_its_headers_is_held_to_the_timeout() {
    let _counting_waits = not_while_counting();
    watchdog(LIMIT, "slow headers", || {
        let timeout = Duration::from_millis(300);
        let (_runtime, address) = server(timeout);
        let mut slow = TcpStream::connect(address).unwrap();
        slow.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let started = Instant::now();
        slow.write_all(b"GET /hello HTTP/1.1\r\nHost: slo").unwrap();
        // Meanwhile, other clients are served.
        for _ in 0..10 {
            assert!(status_line(&get_hello(address)).contains("200"));
        }
        // The slow one is cut off once its time is up: end of stream, an
        // error response, or a reset.
        let mut rest = Vec::new();
        let _ = slow.read_to_end(&mut rest);
        let held = started.elapsed();
        assert!(
            held >= timeout,
            "cut off after {held:?}, before the timeout"
        );
        assert!(held < Duration::from_secs(20), "held for {held:?}");
    });
}

#[test]
fn malformed_requests_are_answered_with_an_error_status() {
    let _counting_waits = not_while_counting();
    watchdog(LIMIT, "malformed requests", || {
        let (_runtime, address) = server(Duration::from_secs(30));
        let garbage = exchange(address, b"THIS IS NOT HTTP\r\n\r\n");
        assert!(
            status_line(&garbage).contains("400"),
            "{:?}",
            status_line(&garbage)
        );

        let mut huge = b"GET /hello HTTP/1.1\r\nHost: test\r\nX-Big: ".to_vec();
        huge.extend(std::iter::repeat_n(b'a', 1 << 20));
        huge.extend(b"\r\n\r\n");
        let too_large = exchange(address, &huge);
        assert!(
            status_line(&too_large).contains("431"),
            "{:?}",
            status_line(&too_large)
        );

        // And the server goes on.
        assert!(status_line(&get_hello(address)).contains("200"));
    });
}

#[test]
fn a_body_over_the_limit_gets_413_and_one_at_the_limit_is_echoed() {
    let _counting_waits = not_while_counting();
    watchdog(LIMIT, "body limit", || {
        let (_runtime, address) = server(Duration::from_secs(30));
        for (size, expected) in [(http::MAX_BODY, "200"), (http::MAX_BODY + 1, "413")] {
            let mut request = format!(
                "POST /echo HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {size}\r\n\r\n"
            )
            .into_bytes();
            request.extend(std::iter::repeat_n(b'x', size));
            let response = exchange(address, &request);
            assert!(
                status_line(&response).contains(expected),
                "{size} bytes: {:?}",
                status_line(&response)
            );
            if expected == "200" {
                assert_eq!(body(&response).len(), size);
            }
        }
    });
}

#[test]
fn ten_thousand_connections_churned_with_every_byte_checked() {
    let _counting_waits = not_while_counting();
    watchdog(LIMIT, "10,000 connections", || {
        let (_runtime, address) = server(Duration::from_secs(30));
        let clients: Vec<_> = (0..4u64)
            .map(|client| {
                thread::spawn(move || {
                    let mut rng = Rng::new(client + 1);
                    for _ in 0..2_500 {
                        let len = 1 + rng.below(4096) as usize;
                        let payload: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                        let mut request = format!(
                            "POST /echo HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {len}\r\n\r\n"
                        )
                        .into_bytes();
                        request.extend(&payload);
                        let response = exchange(address, &request);
                        assert!(status_line(&response).contains("200"));
                        assert_eq!(body(&response), &payload[..], "a byte went astray");
                    }
                })
            })
            .collect();
        for client in clients {
            client.join().unwrap();
        }
    });
}
