//! Sources after an error, and waiters that stop waiting: lessons #13
//! (spin after an error event) and #14 (waiter lists that only grow), each
//! under a watchdog, since both bugs show up as a task that never returns.

mod common;

use std::io;
use std::net::UdpSocket as StdUdpSocket;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::watchdog;
use runtime::net::{TcpListener, TcpStream};
use runtime::reactor::Registered;
use runtime::time::timeout;
use runtime::{block_on, spawn};

const LIMIT: Duration = Duration::from_secs(60);

/// Lesson #13. A connected UDP socket sends to a port nobody listens on:
/// the OS reports the refusal as an error event, and the next receive
/// returns it. The receive after that has nothing to read: it must wait,
/// so the `timeout` around it fires, rather than retry for ever with the
/// error bit still set.
// ANCHOR: udp_error
#[test]
fn a_receive_after_an_error_waits_for_the_next_event() {
    watchdog(LIMIT, "a receive after a reported error", || {
        block_on(async {
            // A port with nothing behind it: bind one, then close it.
            let closed = StdUdpSocket::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap();
            let socket = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            socket.connect(closed).unwrap();
            let socket = Registered::new(socket).unwrap();
            socket.write_with(|s| s.send(b"anyone?")).await.unwrap();
            // Give the reactor time to see the error event before anything
            // reads the error: the error bit is then set.
            runtime::time::sleep(Duration::from_millis(50)).await;

            let mut buf = [0; 16];
            let first = timeout(
                Duration::from_secs(5),
                socket.read_with(|s| s.recv(&mut buf)),
            )
            .await;
            match first {
                Ok(Err(error)) => assert_ne!(error.kind(), io::ErrorKind::WouldBlock),
                Ok(Ok(n)) => panic!("received {n} bytes from a closed port"),
                // Systems that never report the refusal on a connected UDP
                // socket: the wait below still must not spin.
                Err(_) => eprintln!("note: this system did not report the refused datagram"),
            }
            let started = Instant::now();
            let second = timeout(
                Duration::from_millis(200),
                socket.read_with(|s| s.recv(&mut buf)),
            )
            .await;
            assert!(
                second.is_err(),
                "the second receive returned {second:?}, with nothing to read"
            );
            assert!(started.elapsed() >= Duration::from_millis(200));
        })
    });
}
// ANCHOR_END: udp_error

/// Lesson #14. 100,000 tasks each wait in `accept` on one listener, under
/// a 1 ms timeout, and give up. Each gives its place among the listener's
/// waiters back as its future is dropped, so the last ones cost what the
/// first ones did, and a connection is still accepted afterwards.
#[test]
fn a_hundred_thousand_cancelled_accepts_leave_the_listener_working() {
    watchdog(LIMIT, "100,000 cancelled accepts on one listener", || {
        block_on(async {
            let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
            let address = listener.local_addr().unwrap();
            let tasks: Vec<_> = (0..100_000)
                .map(|_| {
                    let listener = listener.clone();
                    spawn(async move {
                        timeout(Duration::from_millis(1), listener.accept())
                            .await
                            .is_err()
                    })
                })
                .collect();
            for task in tasks {
                assert!(task.await.unwrap(), "an accept with no client completed");
            }
            let client = spawn(async move { TcpStream::connect(address).await.map(|_| ()) });
            let accepted = timeout(Duration::from_secs(10), listener.accept()).await;
            assert!(
                matches!(accepted, Ok(Ok(_))),
                "no accept after the cancelled ones: {accepted:?}"
            );
            client.await.unwrap().unwrap();
        })
    });
}
