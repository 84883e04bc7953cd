//! The reactor against the bug classes it could have (see the book's
//! appendix "Bugs this book guards against"), with blocking `std::net`
//! peers on plain threads as the other side:
//! #6 (edge-triggered readiness lost) and #10 (panics on OS errors).
//! Lesson #11 (stale tokens) is tested in `src/reactor.rs`.

mod common;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{Rng, watchdog};
use runtime::reactor::Registered;
use runtime::{block_on, spawn};

const LIMIT: Duration = Duration::from_secs(60);

fn listen() -> (Registered<mio::net::TcpListener>, SocketAddr) {
    let listener = mio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let address = listener.local_addr().unwrap();
    (Registered::new(listener).unwrap(), address)
}

async fn accept(listener: &Registered<mio::net::TcpListener>) -> Registered<mio::net::TcpStream> {
    let (stream, _) = listener
        .read_with(|listener| listener.accept())
        .await
        .unwrap();
    Registered::new(stream).unwrap()
}

async fn read_to_end(stream: &Registered<mio::net::TcpStream>) -> Vec<u8> {
    let mut received = Vec::new();
    loop {
        let mut buf = [0; 4096];
        let n = stream.read_with(|mut s| s.read(&mut buf)).await.unwrap();
        if n == 0 {
            return received;
        }
        received.extend_from_slice(&buf[..n]);
    }
}

/// Lesson #6: 100 clients connect before the server's first `accept`. One
/// readable edge announces them all; a server that waits for an edge per
/// connection, instead of accepting until `WouldBlock`, hangs.
#[test]
fn clients_that_connect_before_the_first_accept_are_all_accepted() {
    watchdog(LIMIT, "100 early clients", || {
        block_on(async {
            let (listener, address) = listen();
            let clients: Vec<StdTcpStream> = (0..100)
                .map(|_| StdTcpStream::connect(address).unwrap())
                .collect();
            // Give the OS time to complete every handshake first.
            thread::sleep(Duration::from_millis(100));
            let mut accepted = Vec::new();
            for _ in 0..100 {
                accepted.push(accept(&listener).await);
            }
            assert_eq!(accepted.len(), clients.len());
        });
    });
}

/// Lesson #6: a peer writes in many small pieces with pauses; every byte
/// arrives, in order.
#[test]
fn small_pieces_with_pauses_all_arrive() {
    watchdog(LIMIT, "small pieces with pauses", || {
        block_on(async {
            let (listener, address) = listen();
            let mut rng = Rng::new(11);
            let sent: Vec<u8> = (0..20_000).map(|_| rng.next() as u8).collect();
            let to_send = sent.clone();
            let writer = thread::spawn(move || {
                let mut stream = StdTcpStream::connect(address).unwrap();
                stream.set_nodelay(true).unwrap();
                let mut rng = Rng::new(12);
                let mut rest = &to_send[..];
                while !rest.is_empty() {
                    let n = (1 + rng.below(64) as usize).min(rest.len());
                    stream.write_all(&rest[..n]).unwrap();
                    rest = &rest[n..];
                    if rng.below(20) == 0 {
                        thread::sleep(Duration::from_millis(1));
                    }
                }
            });
            let stream = accept(&listener).await;
            let received = read_to_end(&stream).await;
            writer.join().unwrap();
            assert_eq!(received.len(), sent.len());
            assert!(
                received == sent,
                "the bytes arrived altered or out of order"
            );
        });
    });
}

/// Lesson #6: a write much larger than the socket buffer, to a reader that
/// takes its time, completes: the writer waits for writability each time
/// the buffer fills.
#[test]
fn a_16_mib_write_to_a_slow_reader_completes() {
    watchdog(LIMIT, "16 MiB to a slow reader", || {
        block_on(async {
            let (listener, address) = listen();
            let reader = thread::spawn(move || {
                let mut stream = StdTcpStream::connect(address).unwrap();
                let mut received = Vec::new();
                let mut buf = [0; 64 * 1024];
                let mut reads = 0;
                loop {
                    let n = stream.read(&mut buf).unwrap();
                    if n == 0 {
                        return received;
                    }
                    received.extend_from_slice(&buf[..n]);
                    reads += 1;
                    if reads % 16 == 0 {
                        thread::sleep(Duration::from_millis(1));
                    }
                }
            });
            let stream = accept(&listener).await;
            let sent: Vec<u8> = (0..16 << 20).map(|i: u32| (i % 251) as u8).collect();
            let mut rest = &sent[..];
            while !rest.is_empty() {
                let n = stream.write_with(|mut s| s.write(rest)).await.unwrap();
                rest = &rest[n..];
            }
            drop(stream); // closes: the reader sees end of stream
            let received = reader.join().unwrap();
            assert_eq!(received.len(), sent.len());
            assert!(received == sent);
        });
    });
}

/// Two tasks waiting to accept on one listener both get a connection: the
/// reactor keeps a waker per waiting task, not one per direction.
#[test]
fn two_tasks_accepting_on_one_listener_are_both_served() {
    watchdog(LIMIT, "two acceptors", || {
        block_on(async {
            let (listener, address) = listen();
            let listener = std::sync::Arc::new(listener);
            let acceptors: Vec<_> = (0..2)
                .map(|_| {
                    let listener = listener.clone();
                    spawn(async move {
                        let stream = accept(&listener).await;
                        read_to_end(&stream).await
                    })
                })
                .collect();
            thread::sleep(Duration::from_millis(50)); // both are waiting now
            for word in [&b"one"[..], b"two"] {
                let mut client = StdTcpStream::connect(address).unwrap();
                client.write_all(word).unwrap();
            }
            let mut got = Vec::new();
            for acceptor in acceptors {
                got.push(acceptor.await.unwrap());
            }
            got.sort();
            assert_eq!(got, [b"one".to_vec(), b"two".to_vec()]);
        });
    });
}

/// Lesson #10: ordinary OS errors come back as `io::Error`, not a panic.
#[test]
fn a_reset_by_the_peer_is_an_io_error() {
    watchdog(LIMIT, "a reset", || {
        block_on(async {
            let (listener, address) = listen();
            let client = StdTcpStream::connect(address).unwrap();
            let stream = accept(&listener).await;
            // Closing with unread data in its buffer makes the OS send a
            // reset instead of a clean close.
            stream.write_with(|mut s| s.write(b"unread")).await.unwrap();
            thread::sleep(Duration::from_millis(50));
            drop(client);
            let mut result = Ok(1);
            for _ in 0..100 {
                let mut buf = [0; 16];
                result = stream.read_with(|mut s| s.read(&mut buf)).await;
                if !matches!(result, Ok(n) if n > 0) {
                    break;
                }
            }
            // A reset, or an end of stream, depending on timing; never a panic.
            match result {
                Err(error) => assert_eq!(error.kind(), io::ErrorKind::ConnectionReset),
                Ok(n) => assert_eq!(n, 0),
            }
        });
    });
}

/// Lesson #7 for I/O: every worker is busy with tasks that never stop
/// yielding, so none is idle to wait in the OS poll. A socket that becomes
/// ready must still be seen; a runtime that only polls the OS when a worker
/// is idle hangs here.
#[test]
fn io_is_seen_while_every_worker_is_busy() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    watchdog(LIMIT, "I/O beside busy workers", || {
        block_on(async {
            let stop = Arc::new(AtomicBool::new(false));
            let workers = thread::available_parallelism().map_or(1, |n| n.get());
            for _ in 0..workers * 2 {
                let stop = stop.clone();
                spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        runtime::task::yield_now().await;
                    }
                });
            }
            let (listener, address) = listen();
            let client = thread::spawn(move || {
                let mut stream = StdTcpStream::connect(address).unwrap();
                stream.write_all(b"ping").unwrap();
                stream
            });
            let stream = accept(&listener).await;
            let mut received = Vec::new();
            while received.len() < 4 {
                let mut buf = [0; 4];
                let n = stream.read_with(|mut s| s.read(&mut buf)).await.unwrap();
                received.extend_from_slice(&buf[..n]);
            }
            stop.store(true, Ordering::Relaxed);
            assert_eq!(received, b"ping");
            drop(client.join().unwrap());
        });
    });
}

/// Two tasks read one stream at once, through `poll_read_with`, as
/// `AsyncRead` on a shared `&TcpStream` does. The peer sends one byte, then
/// another: each is read by one of them, and neither waits for ever for an
/// event that woke only the other (lesson #14's single place per direction
/// lost that wake).
#[test]
fn two_tasks_reading_one_stream_are_both_woken() {
    watchdog(LIMIT, "two tasks reading one stream", || {
        block_on(async {
            let (listener, address) = listen();
            let peer = thread::spawn(move || {
                let mut client = StdTcpStream::connect(address).unwrap();
                for byte in [b'a', b'b'] {
                    thread::sleep(Duration::from_millis(50));
                    client.write_all(&[byte]).unwrap();
                }
                client
            });
            let stream = Arc::new(accept(&listener).await);
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    let stream = stream.clone();
                    spawn(async move {
                        let mut buf = [0; 1];
                        let n = std::future::poll_fn(|cx| {
                            stream.poll_read_with(cx, |mut s| s.read(&mut buf))
                        })
                        .await
                        .unwrap();
                        assert_eq!(n, 1);
                        buf[0]
                    })
                })
                .collect();
            let mut received = Vec::new();
            for reader in readers {
                received.push(reader.await.unwrap());
            }
            received.sort();
            assert_eq!(received, b"ab");
            drop(peer.join().unwrap());
        });
    });
}
