//! The HTTP example (`examples/http.rs`, included as it is) when the
//! process runs out of file descriptors, and after they come back. In a
//! process of its own: the limit it lowers is the whole process's.
//!
//! Unix only: Windows has no limit on open handles that a process could
//! lower, so there the test only says that it has nothing to run out of.

#![cfg_attr(not(unix), allow(unused_imports, dead_code))]

mod common;
#[allow(dead_code)]
#[path = "../examples/http.rs"]
mod http;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use common::watchdog;
#[cfg(unix)]
use rlimit::Resource;
use runtime::Runtime;
use runtime::net::TcpListener;
use socket2::{Domain, Socket, Type};

#[cfg(unix)]
/// `EMFILE`, "too many open files", on Linux and macOS alike.
const EMFILE: i32 = 24;

/// The highest file descriptor number open now, plus one: a lower bound
/// for a limit that leaves everything open where it is.
#[cfg(unix)]
fn next_descriptor() -> u64 {
    use std::os::fd::AsRawFd;
    let probe = std::fs::File::open("/dev/null").unwrap();
    probe.as_raw_fd() as u64
}

#[cfg(not(unix))]
#[test]
fn the_server_outlives_running_out_of_file_descriptors() {
    eprintln!(
        "not run on this system: it has no limit on open handles that a process can \
         lower, so there is nothing to run out of"
    );
}

#[cfg(unix)]
#[test]
fn the_server_outlives_running_out_of_file_descriptors() {
    watchdog(Duration::from_secs(120), "out of file descriptors", || {
        let runtime = Runtime::builder().worker_threads(2).build().unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        runtime.spawn(http::serve(listener, Duration::from_secs(30)));

        // The clients' sockets, made while descriptors are still to be had.
        let clients: Vec<Socket> = (0..10)
            .map(|_| Socket::new(Domain::IPV4, Type::STREAM, None).unwrap())
            .collect();

        let (soft, hard) = rlimit::getrlimit(Resource::NOFILE).unwrap();
        rlimit::setrlimit(Resource::NOFILE, next_descriptor() + 64, hard).unwrap();
        // Take every descriptor left.
        let mut fillers = Vec::new();
        loop {
            match std::fs::File::open("/dev/null") {
                Ok(file) => fillers.push(file),
                Err(error) => {
                    assert_eq!(error.raw_os_error(), Some(EMFILE), "{error}");
                    break;
                }
            }
        }
        // The clients connect: the handshakes complete in the listen queue,
        // and every accept fails for want of a descriptor.
        let mut clients: Vec<std::net::TcpStream> = clients
            .into_iter()
            .map(|socket| {
                socket.connect(&address.into()).unwrap();
                socket.into()
            })
            .collect();
        let cpu_before = common::process_cpu_time();
        std::thread::sleep(Duration::from_millis(300));
        // The accept loop pauses after each failure rather than retrying
        // at once: a retry loop would keep a core busy all this time.
        let cpu = common::process_cpu_time() - cpu_before;
        assert!(
            cpu < Duration::from_millis(150),
            "{cpu:?} of CPU in 300 ms without descriptors: the accept loop spins"
        );

        // Descriptors come back: every client is served.
        drop(fillers);
        rlimit::setrlimit(Resource::NOFILE, soft, hard).unwrap();
        for client in &mut clients {
            client
                .set_read_timeout(Some(Duration::from_secs(30)))
                .unwrap();
            client
                .write_all(b"GET /hello HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut response = Vec::new();
            client.read_to_end(&mut response).unwrap();
            let text = String::from_utf8_lossy(&response);
            assert!(text.starts_with("HTTP/1.1 200"), "answer: {text:?}");
        }
    });
}
