//! Stage 7 demo: the echo server of stage 6, timed, and a yield storm (200 tasks that
//! yield 1,000 times each), the workloads this stage's bookkeeping interval
//! speeds up.
//!
//! `cargo run -p step-07` starts an echo server and a set of clients in
//! this process; the clients send messages, check that every byte comes
//! back, and the demo prints what moved and how long it took, then exits.
//!
//! `cargo run -p step-07 -- serve 127.0.0.1:7000` runs only the server,
//! until you interrupt it (Ctrl-C), so you can talk to it with `nc` or
//! `socat`: `socat - TCP:127.0.0.1:7000`.

use std::io;
use std::time::Instant;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime::{block_on, spawn};

// ANCHOR: echo
/// Accepts connections forever; each gets a task that echoes what it reads.
async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, _peer) = listener.accept().await?;
        spawn(async move {
            // A failed connection (a reset, say) ends its own task only.
            if let Err(error) = echo(stream).await {
                eprintln!("echo: connection ended with an error: {error}");
            }
        });
    }
}

/// Writes back everything it reads, until the peer closes its side.
async fn echo(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = vec![0; 16 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return stream.close().await; // end of stream: close ours too
        }
        stream.write_all(&buf[..n]).await?;
    }
}
// ANCHOR_END: echo

// ANCHOR: client
/// Sends `messages` messages of `size` bytes, one at a time, and checks
/// that each comes back whole; returns the bytes sent.
async fn client(
    address: std::net::SocketAddr,
    id: usize,
    messages: usize,
    size: usize,
) -> io::Result<usize> {
    let mut stream = TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let mut reply = vec![0; size];
    for n in 0..messages {
        let message: Vec<u8> = (0..size).map(|i| (id * 31 + n * 7 + i) as u8).collect();
        stream.write_all(&message).await?;
        stream.read_exact(&mut reply).await?;
        assert_eq!(
            reply, message,
            "client {id}: the echo differs from message {n}"
        );
    }
    stream.close().await?;
    // After our close, the server closes too: we read end of stream.
    assert_eq!(stream.read(&mut reply).await?, 0);
    Ok(messages * size)
}
// ANCHOR_END: client

// ANCHOR: main
fn main() -> io::Result<()> {
    // `--trace FILE` records what every thread does (see chapter 4).
    let (trace, args) = runtime::trace::start_if_asked(std::env::args().skip(1).collect())?;
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => demo(),
        ["serve", address] => block_on(async {
            let listener = TcpListener::bind(address).await?;
            println!(
                "echo server listening on {}; Ctrl-C stops it",
                listener.local_addr()?
            );
            serve(listener).await
        }),
        _ => {
            eprintln!(
                "usage: step-07 [--trace FILE]   or   step-07 serve ADDRESS   e.g. step-07 serve 127.0.0.1:7000"
            );
            std::process::exit(2);
        }
    }?;
    runtime::trace::write_if_asked(trace)
}
// ANCHOR_END: main

// ANCHOR: demo
fn demo() -> io::Result<()> {
    const CLIENTS: usize = 50;
    const MESSAGES: usize = 200;
    const SIZE: usize = 1024;

    let started = Instant::now();
    let total = block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        println!(
            "echo server on {address}; {CLIENTS} clients, {MESSAGES} messages of {SIZE} bytes each"
        );
        spawn(serve(listener));

        let clients: Vec<_> = (0..CLIENTS)
            .map(|id| spawn(client(address, id, MESSAGES, SIZE)))
            .collect();
        let mut total = 0;
        for handle in clients {
            total += handle.await.expect("a client task panicked")?;
        }
        io::Result::Ok(total)
    })?;
    let elapsed = started.elapsed();
    // ANCHOR_END: demo

    let round_trips = CLIENTS * MESSAGES;
    println!(
        "{round_trips} round trips, {} KiB each way, in {} ms",
        total / 1024,
        elapsed.as_millis()
    );
    println!(
        "that is {:.0} round trips per second",
        round_trips as f64 / elapsed.as_secs_f64()
    );
    yield_storm();
    println!();
    println!("Notice: {CLIENTS} connections were served at once by a few worker");
    println!("threads; every byte came back to the client that sent it. When");
    println!("block_on returned, the server task, still waiting in accept, was");
    println!("dropped, and the demo exited.");
    Ok(())
}

// ANCHOR: yield_storm
/// What this stage speeds up: the scheduler's own cost per task switch.
/// 200 tasks yield 1,000 times each: 200,000 wakes and polls, no I/O.
fn yield_storm() {
    const TASKS: usize = 200;
    const YIELDS: usize = 1_000;
    let elapsed = block_on(async {
        let started = Instant::now();
        let handles: Vec<_> = (0..TASKS)
            .map(|_| {
                spawn(async {
                    for _ in 0..YIELDS {
                        runtime::task::yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("a yielding task panicked");
        }
        started.elapsed()
    });
    let switches = (TASKS * YIELDS) as f64;
    println!(
        "{TASKS} tasks x {YIELDS} yields: {} ms, {:.0} ns per task switch",
        elapsed.as_millis(),
        elapsed.as_nanos() as f64 / switches
    );
    println!("(build with --release for figures worth comparing; to compare the stages,");
    println!(" tokio and smol side by side: `cargo run --release -p bench -- run`)");
}
// ANCHOR_END: yield_storm
