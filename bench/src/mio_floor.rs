//! The floor: the same TCP workloads as hand-written mio event loops, with
//! no futures, no tasks and no wakers. One thread serves, one thread is
//! the clients, like two runtime workers.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

pub const NAME: &str = "raw mio loop";

const LISTENER: Token = Token(usize::MAX);

/// How long a loop looks for events without sleeping before it blocks in
/// the OS poll: the runtime's workers spin this long before they park
/// (`SPIN_TIME` in runtime/src/executor/worker.rs). A loop that blocks at
/// once pays a sleep and a wake-up, in the kernel, on every turn where the
/// peer has not answered yet; on a 64 MiB stream that is a thousand times,
/// and it made this loop slower than the runtime it is meant to be the
/// floor of.
const SPIN_TIME: Duration = Duration::from_micros(20);

/// How long the stream's two loops look for events before they block: as
/// long as it takes. One thread writes and one reads, and each waits for
/// the other a thousand times in 64 MiB; a wait that ends in a sleep costs
/// a wake-up, and then the runtime, whose two tasks can run on one worker
/// without any thread waiting for another, beats the loop. A floor that
/// never sleeps pays the system calls and nothing else.
const STREAM_SPIN_TIME: Duration = Duration::MAX;

/// Waits for events: looks without blocking for up to `SPIN_TIME`, then
/// blocks. An interrupted wait (EINTR) returns with no events.
fn wait(poll: &mut Poll, events: &mut Events) -> io::Result<()> {
    wait_spinning(poll, events, SPIN_TIME)
}

/// Waits for events: looks without blocking for up to `spin`, then blocks.
fn wait_spinning(poll: &mut Poll, events: &mut Events, spin: Duration) -> io::Result<()> {
    let start = Instant::now();
    loop {
        let timeout = if start.elapsed() < spin {
            Some(Duration::ZERO)
        } else {
            None
        };
        match poll.poll(events, timeout) {
            Ok(()) if events.is_empty() && timeout.is_some() => std::hint::spin_loop(),
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// An echo server: reads what arrives, writes it back. Returns when
/// `connections` connections have come and gone. Sends on `ready` once it
/// listens.
fn serve_echo(
    listener: TcpListener,
    connections: usize,
    ready: std::sync::mpsc::Sender<()>,
) -> io::Result<()> {
    let mut listener = listener;
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(256);
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let _ = ready.send(());
    let mut streams: HashMap<Token, (TcpStream, Vec<u8>)> = HashMap::new();
    let (mut accepted, mut closed) = (0, 0);
    let mut buf = vec![0; 64 * 1024];
    while closed < connections {
        wait(&mut poll, &mut events)?;
        for event in events.iter() {
            if event.token() == LISTENER {
                loop {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            stream.set_nodelay(true)?;
                            let token = Token(accepted);
                            accepted += 1;
                            poll.registry().register(
                                &mut stream,
                                token,
                                Interest::READABLE | Interest::WRITABLE,
                            )?;
                            streams.insert(token, (stream, Vec::new()));
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                }
                continue;
            }
            let Some((stream, pending)) = streams.get_mut(&event.token()) else {
                continue;
            };
            let mut eof = false;
            loop {
                match stream.read(&mut buf) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => pending.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
            while !pending.is_empty() {
                match stream.write(pending) {
                    Ok(n) => {
                        pending.drain(..n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
            if eof && pending.is_empty() {
                streams.remove(&event.token());
                closed += 1;
            }
        }
    }
    Ok(())
}

/// The echo workload: `connections` clients, each `round_trips` times
/// writing 1 KiB and reading it back, all in one client event loop. Gives
/// the time it took and the time of every round trip.
pub fn echo(connections: usize, round_trips: usize) -> (Duration, Vec<Duration>) {
    let listener = TcpListener::bind("127.0.0.1:0".parse().expect("an address")).expect("bind");
    let address = listener.local_addr().expect("local_addr");
    let (ready, started) = std::sync::mpsc::channel();
    let server = thread::spawn(move || serve_echo(listener, connections, ready));
    // The server thread runs, its poll made, before the clock starts.
    let _ = started.recv();
    let measured =
        echo_clients(address, connections, round_trips).expect("the mio echo clients failed");
    server
        .join()
        .expect("the mio server panicked")
        .expect("the mio server failed");
    measured
}

fn echo_clients(
    address: SocketAddr,
    connections: usize,
    round_trips: usize,
) -> io::Result<(Duration, Vec<Duration>)> {
    struct Client {
        stream: TcpStream,
        left: usize,
        written: usize,
        read: usize,
        /// When this round's first byte was written.
        sent: Instant,
    }
    let mut latencies = Vec::with_capacity(connections * round_trips);
    let start = Instant::now();
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(256);
    let message = vec![7u8; 1024];
    let mut buf = vec![0; 1024];
    let mut clients = Vec::new();
    for i in 0..connections {
        let mut stream = TcpStream::connect(address)?;
        stream.set_nodelay(true)?;
        poll.registry().register(
            &mut stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        clients.push(Client {
            stream,
            left: round_trips,
            written: 0,
            read: 0,
            sent: start,
        });
    }
    let mut done = 0;
    while done < connections {
        wait(&mut poll, &mut events)?;
        for event in events.iter() {
            let client = &mut clients[event.token().0];
            if client.left == 0 {
                continue;
            }
            loop {
                // Write what is left of this round's message, then read the echo.
                while client.written < message.len() {
                    if client.written == 0 && client.read == 0 {
                        client.sent = Instant::now();
                    }
                    match client.stream.write(&message[client.written..]) {
                        Ok(n) => client.written += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::NotConnected => break,
                        Err(e) => return Err(e),
                    }
                }
                if client.written < message.len() {
                    break;
                }
                match client.stream.read(&mut buf[..message.len() - client.read]) {
                    Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                    Ok(n) => client.read += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
                if client.read == message.len() {
                    latencies.push(client.sent.elapsed());
                    client.left -= 1;
                    client.written = 0;
                    client.read = 0;
                    if client.left == 0 {
                        client.stream.shutdown(std::net::Shutdown::Write)?;
                        done += 1;
                        break;
                    }
                }
            }
        }
    }
    Ok((start.elapsed(), latencies))
}

/// The streaming workload: one connection, `bytes` in 64 KiB writes.
pub fn stream(bytes: usize) -> Duration {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("local_addr");
    let (ready, started) = std::sync::mpsc::channel();
    let reader = thread::spawn(move || -> io::Result<usize> {
        let mut poll = Poll::new()?;
        let mut events = Events::with_capacity(16);
        let _ = ready.send(());
        let (stream, _) = listener.accept()?;
        stream.set_nonblocking(true)?;
        let mut stream = TcpStream::from_std(stream);
        poll.registry()
            .register(&mut stream, Token(0), Interest::READABLE)?;
        let mut buf = vec![0; 64 * 1024];
        let mut total = 0;
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return Ok(total),
                Ok(n) => total += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    wait_spinning(&mut poll, &mut events, STREAM_SPIN_TIME)?;
                }
                Err(e) => return Err(e),
            }
        }
    });
    // The runtimes' workers are running before their clocks start: so is
    // this reader, with its poll made, before this clock starts.
    let _ = started.recv();
    let start = Instant::now();
    let result = (|| -> io::Result<()> {
        let stream = std::net::TcpStream::connect(address)?;
        stream.set_nonblocking(true)?;
        let mut stream = TcpStream::from_std(stream);
        let mut poll = Poll::new()?;
        let mut events = Events::with_capacity(16);
        poll.registry()
            .register(&mut stream, Token(0), Interest::WRITABLE)?;
        let chunk = vec![1u8; 64 * 1024];
        let mut sent = 0;
        while sent < bytes {
            let n = chunk.len().min(bytes - sent);
            match stream.write(&chunk[..n]) {
                Ok(written) => sent += written,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    wait_spinning(&mut poll, &mut events, STREAM_SPIN_TIME)?;
                }
                Err(e) => return Err(e),
            }
        }
        stream.shutdown(std::net::Shutdown::Write)
    })();
    result.expect("the mio stream writer failed");
    let total = reader
        .join()
        .expect("the mio reader panicked")
        .expect("the mio reader failed");
    assert_eq!(total, bytes, "stream: bytes went missing");
    start.elapsed()
}
