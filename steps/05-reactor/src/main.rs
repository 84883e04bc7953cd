//! Stage 5 demo: the readiness of a real socket, made visible.
//!
//! Run it with `cargo run -p step-05`. A task accepts a connection and
//! reads from it; a plain thread is the client, writing with pauses. Each
//! attempt the task makes is printed, and so is every event the reactor
//! gets from the OS and how many tasks it wakes for it.

use std::io::{self, Read, Write};
use std::net::TcpStream as StdTcpStream;
use std::thread;
use std::time::Duration;

use runtime::reactor::{self, Registered};
use runtime::{block_on, spawn};

/// How an attempt went, for the printout.
fn outcome<T>(result: &io::Result<T>, ok: impl Fn(&T) -> String) -> String {
    match result {
        Ok(value) => ok(value),
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => "WouldBlock: wait".into(),
        Err(error) => format!("error: {error}"),
    }
}

fn main() -> io::Result<()> {
    // `--trace FILE` records what every thread does (see chapter 4).
    let (trace, _) = runtime::trace::start_if_asked(std::env::args().skip(1).collect())?;
    reactor::set_trace(true);

    // ANCHOR: main
    block_on(async {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let address = std_listener.local_addr()?;
        let listener = Registered::new(mio::net::TcpListener::from_std(std_listener))?;
        println!("listening on {address}");

        // The client: a plain thread with blocking calls and pauses.
        let client = thread::spawn(move || -> io::Result<()> {
            thread::sleep(Duration::from_millis(200));
            let mut stream = StdTcpStream::connect(address)?;
            for word in ["hello", "reactor"] {
                thread::sleep(Duration::from_millis(200));
                println!("client thread: writing {word:?}");
                stream.write_all(word.as_bytes())?;
            }
            thread::sleep(Duration::from_millis(200));
            println!("client thread: closing");
            Ok(())
        });

        // The server: a task that accepts, then reads until end of stream.
        let server = spawn(async move {
            let (stream, peer) = listener
                .read_with(|listener| {
                    let result = listener.accept();
                    println!(
                        "server task: accept() -> {}",
                        outcome(&result, |_| "a connection".into())
                    );
                    result
                })
                .await?;
            println!("server task: accepted {peer}");
            let stream = Registered::new(stream)?;
            let mut received = Vec::new();
            loop {
                let mut buf = [0; 64];
                let n = stream
                    .read_with(|mut stream| {
                        let result = stream.read(&mut buf);
                        println!(
                            "server task: read() -> {}",
                            outcome(&result, |n| format!("{n} bytes"))
                        );
                        result
                    })
                    .await?;
                if n == 0 {
                    break;
                }
                received.extend_from_slice(&buf[..n]);
            }
            io::Result::Ok(String::from_utf8_lossy(&received).into_owned())
        });

        let received = server.await.expect("the server task panicked")?;
        client.join().expect("the client thread panicked")?;
        println!("server task: received {received:?}, then end of stream");
        io::Result::Ok(())
    })?;
    // ANCHOR_END: main

    println!();
    println!("Notice: every WouldBlock is followed by a wait, and the wait ends");
    println!("with an event from the OS (the reactor lines) that wakes the task,");
    println!("which then tries again. No attempt is made without a reason.");
    runtime::trace::write_if_asked(trace)
}
