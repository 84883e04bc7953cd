//! A source after an error: lesson #13 (spin after an error event), under
//! a watchdog, since the bug shows up as a task that never returns.

mod common;

use std::io;
use std::net::UdpSocket as StdUdpSocket;
use std::pin::pin;
use std::time::{Duration, Instant};

use common::watchdog;
use futures::future::{Either, select};
use runtime::block_on;
use runtime::reactor::Registered;
use runtime::time::sleep;

const LIMIT: Duration = Duration::from_secs(60);

/// Lesson #13. A connected UDP socket sends to a port nobody listens on:
/// the OS reports the refusal as an error event, and the next receive
/// returns it. The receive after that has nothing to read: it must wait,
/// so the sleep raced against it wins, rather than retry for ever with the
/// error bit still set.
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
            sleep(Duration::from_millis(50)).await;

            let mut buf = [0; 16];
            {
                let receive = pin!(socket.read_with(|s| s.recv(&mut buf)));
                match select(receive, pin!(sleep(Duration::from_secs(5)))).await {
                    Either::Left((Err(error), _)) => {
                        assert_ne!(error.kind(), io::ErrorKind::WouldBlock)
                    }
                    Either::Left((Ok(n), _)) => panic!("received {n} bytes from a closed port"),
                    // Systems that never report the refusal on a connected UDP
                    // socket: the wait below still must not spin.
                    Either::Right(_) => {
                        eprintln!("note: this system did not report the refused datagram")
                    }
                }
            }
            let started = Instant::now();
            let receive = pin!(socket.read_with(|s| s.recv(&mut buf)));
            let give_up = pin!(sleep(Duration::from_millis(200)));
            if let Either::Left((result, _)) = select(receive, give_up).await {
                panic!("the second receive returned {result:?}, with nothing to read");
            }
            assert!(started.elapsed() >= Duration::from_millis(200));
        })
    });
}
