//! The floor: the same TCP workloads as hand-written mio event loops, with
//! no futures, no tasks and no wakers. Each workload has two loops, and the
//! floor is the faster of the two in the same run:
//!
//! - two threads, one serving and one running the clients, like two
//!   runtime workers that each hold one side;
//! - one thread holding both sides, like a runtime worker that runs the
//!   clients and the server's tasks without any other thread in the way.
//!
//! A runtime can do either, so a floor must beat both.
//!
//! The two-thread loops put their threads on two different cores, where
//! the OS lets a process choose (Linux). A loop that never sleeps and
//! shares a core with its peer waits for the scheduler to take turns; the
//! runtimes' workers, started long before and parking when idle, are
//! rarely caught that way, and the floor was slower than they were in one
//! run out of three.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token};

/// The loop with one thread serving and one running the clients.
pub const NAME: &str = "raw mio loop, 2 threads";
/// The loop with one thread doing both.
pub const NAME_ONE_THREAD: &str = "raw mio loop, 1 thread";

const LISTENER: Token = Token(usize::MAX);

/// How long a loop looks for events without sleeping before it blocks in
/// the OS poll: the runtime's workers spin this long before they park
/// (`SPIN_TIME` in runtime/src/executor/worker.rs). A loop that blocks at
/// once pays a sleep and a wake-up, in the kernel, on every turn where the
/// peer has not answered yet, and then it is not a floor.
const SPIN_TIME: Duration = Duration::from_micros(20);

/// How long the stream's two loops look for events before they block: as
/// long as it takes. One thread writes and one reads, and each waits for
/// the other a thousand times in 64 MiB; a wait that ends in a sleep costs
/// a wake-up. A loop that never sleeps pays the system calls and nothing
/// else.
const STREAM_SPIN_TIME: Duration = Duration::MAX;

/// Whether a read that fills less than its buffer counts as having emptied
/// the socket, so that the loop waits for the next event instead of reading
/// again to hear `WouldBlock`: where the runtime does the same
/// (`SHORT_READ_DRAINS` in runtime/src/reactor/registered.rs), so that the
/// floor saves every system call the runtime saves.
const SHORT_READ_DRAINS: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// Waits for events: looks without blocking for up to `spin`, then blocks.
/// An interrupted wait (EINTR) returns with no events.
fn wait(poll: &mut Poll, events: &mut Events, spin: Duration) -> io::Result<()> {
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

/// Runs the calling thread on the `n`th core this process may use, if
/// the OS lets it choose and there are two or more; otherwise leaves it
/// where the OS puts it.
fn pin_to_core(n: usize) {
    #[cfg(target_os = "linux")]
    {
        use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};
        let Ok(allowed) = sched_getaffinity(None) else {
            return;
        };
        let cores: Vec<usize> = (0..CpuSet::MAX_CPU)
            .filter(|&cpu| allowed.is_set(cpu))
            .collect();
        if cores.len() >= 2 {
            let mut only = CpuSet::new();
            only.set(cores[n % cores.len()]);
            // Not pinned is still a correct loop, only a slower one.
            let _ = sched_setaffinity(None, &only);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = n;
}

/// The echo server's side: reads what arrives, writes it back. Its
/// connections' tokens start at `first_token`, so that one poll can also
/// hold the clients'.
struct EchoServer {
    listener: TcpListener,
    streams: HashMap<Token, (TcpStream, Vec<u8>)>,
    first_token: usize,
    accepted: usize,
    closed: usize,
    buf: Vec<u8>,
}

impl EchoServer {
    fn new(listener: TcpListener, registry: &Registry, first_token: usize) -> io::Result<Self> {
        let mut listener = listener;
        registry.register(&mut listener, LISTENER, Interest::READABLE)?;
        Ok(EchoServer {
            listener,
            streams: HashMap::new(),
            first_token,
            accepted: 0,
            closed: 0,
            buf: vec![0; 64 * 1024],
        })
    }

    /// Handles one event of the listener or of a server connection.
    fn on_event(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        if token == LISTENER {
            loop {
                match self.listener.accept() {
                    Ok((mut stream, _)) => {
                        stream.set_nodelay(true)?;
                        let token = Token(self.first_token + self.accepted);
                        self.accepted += 1;
                        registry.register(
                            &mut stream,
                            token,
                            Interest::READABLE | Interest::WRITABLE,
                        )?;
                        self.streams.insert(token, (stream, Vec::new()));
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
        }
        let Some((stream, pending)) = self.streams.get_mut(&token) else {
            return Ok(());
        };
        let mut eof = false;
        loop {
            match stream.read(&mut self.buf) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    pending.extend_from_slice(&self.buf[..n]);
                    if SHORT_READ_DRAINS && n < self.buf.len() {
                        // Everything the socket had: the next bytes are a
                        // new event (no urgent data in this workload).
                        break;
                    }
                }
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
            self.streams.remove(&token);
            self.closed += 1;
        }
        Ok(())
    }
}

/// The echo clients' side: each client writes 1 KiB, reads it back, and
/// does it again, `round_trips` times. Client `i` has token `i`.
struct EchoClients {
    clients: Vec<Client>,
    done: usize,
    latencies: Vec<Duration>,
    message: Vec<u8>,
    buf: Vec<u8>,
}

struct Client {
    stream: TcpStream,
    left: usize,
    written: usize,
    read: usize,
    /// When this round's first byte was written.
    sent: Instant,
}

impl EchoClients {
    fn connect(
        address: SocketAddr,
        registry: &Registry,
        connections: usize,
        round_trips: usize,
    ) -> io::Result<Self> {
        let mut clients = Vec::with_capacity(connections);
        for i in 0..connections {
            let mut stream = TcpStream::connect(address)?;
            stream.set_nodelay(true)?;
            registry.register(
                &mut stream,
                Token(i),
                Interest::READABLE | Interest::WRITABLE,
            )?;
            clients.push(Client {
                stream,
                left: round_trips,
                written: 0,
                read: 0,
                sent: Instant::now(),
            });
        }
        Ok(EchoClients {
            clients,
            done: 0,
            latencies: Vec::with_capacity(connections * round_trips),
            message: vec![7u8; 1024],
            buf: vec![0; 1024],
        })
    }

    fn finished(&self) -> bool {
        self.done == self.clients.len()
    }

    /// Handles one event of client `token`: writes what is left of this
    /// round's message, reads the echo, and goes on to the next round
    /// until the socket would block.
    fn on_event(&mut self, token: Token) -> io::Result<()> {
        let client = &mut self.clients[token.0];
        let size = self.message.len();
        while client.left > 0 {
            while client.written < size {
                if client.written == 0 && client.read == 0 {
                    client.sent = Instant::now();
                }
                match client.stream.write(&self.message[client.written..]) {
                    Ok(n) => client.written += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    // Not connected yet: the connect is still in flight.
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
            match client.stream.read(&mut self.buf[..size - client.read]) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => client.read += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
            if client.read == size {
                self.latencies.push(client.sent.elapsed());
                client.left -= 1;
                client.written = 0;
                client.read = 0;
                if client.left == 0 {
                    client.stream.shutdown(std::net::Shutdown::Write)?;
                    self.done += 1;
                }
            }
        }
        Ok(())
    }
}

/// The echo workload on two threads: `connections` clients on this
/// thread, each `round_trips` times writing 1 KiB and reading it back, and
/// the server on another. Gives the time it took and the time of every
/// round trip.
pub fn echo(connections: usize, round_trips: usize) -> (Duration, Vec<Duration>) {
    echo_two_threads(connections, round_trips).expect("the mio echo loop failed")
}

fn echo_two_threads(
    connections: usize,
    round_trips: usize,
) -> io::Result<(Duration, Vec<Duration>)> {
    let listener = TcpListener::bind("127.0.0.1:0".parse().expect("an address"))?;
    let address = listener.local_addr()?;
    let (ready, started) = std::sync::mpsc::channel();
    let server = thread::spawn(move || -> io::Result<()> {
        pin_to_core(1);
        let mut poll = Poll::new()?;
        let mut events = Events::with_capacity(256);
        let mut server = EchoServer::new(listener, poll.registry(), 0)?;
        let _ = ready.send(());
        while server.closed < connections {
            wait(&mut poll, &mut events, SPIN_TIME)?;
            for event in events.iter() {
                server.on_event(poll.registry(), event.token())?;
            }
        }
        Ok(())
    });
    let clients = thread::spawn(move || -> io::Result<(Duration, Vec<Duration>)> {
        pin_to_core(0);
        // The server thread runs, its poll made, before the clock starts,
        // as the runtimes' workers do.
        let _ = started.recv();
        let start = Instant::now();
        let mut poll = Poll::new()?;
        let mut events = Events::with_capacity(256);
        let mut clients = EchoClients::connect(address, poll.registry(), connections, round_trips)?;
        while !clients.finished() {
            wait(&mut poll, &mut events, SPIN_TIME)?;
            for event in events.iter() {
                clients.on_event(event.token())?;
            }
        }
        Ok((start.elapsed(), clients.latencies))
    });
    // Clients that failed leave the server waiting for connections to
    // close: report their error without waiting for it.
    let measured = clients.join().expect("the mio echo clients panicked")?;
    server.join().expect("the mio echo server panicked")?;
    Ok(measured)
}

/// The echo workload on one thread: the server and the clients in one
/// event loop. Gives the time it took and the time of every round trip.
pub fn echo_one_thread(connections: usize, round_trips: usize) -> (Duration, Vec<Duration>) {
    (|| -> io::Result<(Duration, Vec<Duration>)> {
        let listener = TcpListener::bind("127.0.0.1:0".parse().expect("an address"))?;
        let address = listener.local_addr()?;
        let start = Instant::now();
        let mut poll = Poll::new()?;
        let mut events = Events::with_capacity(256);
        // Client i has token i; the server's connections come after them.
        let mut server = EchoServer::new(listener, poll.registry(), connections)?;
        let mut clients = EchoClients::connect(address, poll.registry(), connections, round_trips)?;
        // Timed until the clients have their last answers, as the other
        // loop and the runtimes are; then the server sees the closes.
        let mut time = None;
        while time.is_none() || server.closed < connections {
            wait(&mut poll, &mut events, SPIN_TIME)?;
            for event in events.iter() {
                if event.token() == LISTENER || event.token().0 >= connections {
                    server.on_event(poll.registry(), event.token())?;
                } else {
                    clients.on_event(event.token())?;
                }
            }
            if time.is_none() && clients.finished() {
                time = Some(start.elapsed());
            }
        }
        Ok((time.expect("timed"), clients.latencies))
    })()
    .expect("the mio echo loop failed")
}

/// The streaming workload on two threads: one connection, `bytes` in
/// 64 KiB writes from one thread to a reader on another.
pub fn stream(bytes: usize) -> Duration {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("local_addr");
    let (ready, started) = std::sync::mpsc::channel();
    let reader = thread::spawn(move || -> io::Result<(usize, Instant)> {
        pin_to_core(1);
        let mut poll = Poll::new()?;
        let mut events = Events::with_capacity(16);
        let _ = ready.send(());
        let (stream, _) = listener.accept()?;
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
        let mut stream = TcpStream::from_std(stream);
        poll.registry()
            .register(&mut stream, Token(0), Interest::READABLE)?;
        let mut buf = vec![0; 64 * 1024];
        let mut total = 0;
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return Ok((total, Instant::now())),
                Ok(n) => total += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    wait(&mut poll, &mut events, STREAM_SPIN_TIME)?;
                }
                Err(e) => return Err(e),
            }
        }
    });
    let writer = thread::spawn(move || -> io::Result<Instant> {
        pin_to_core(0);
        // The runtimes' workers are running before their clocks start: so
        // is this reader, with its poll made, before this clock starts.
        let _ = started.recv();
        let start = Instant::now();
        let stream = std::net::TcpStream::connect(address)?;
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
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
                    wait(&mut poll, &mut events, STREAM_SPIN_TIME)?;
                }
                Err(e) => return Err(e),
            }
        }
        stream.shutdown(std::net::Shutdown::Write)?;
        Ok(start)
    });
    let start = writer
        .join()
        .expect("the mio writer panicked")
        .expect("the mio stream writer failed");
    let (total, end) = reader
        .join()
        .expect("the mio reader panicked")
        .expect("the mio reader failed");
    assert_eq!(total, bytes, "stream: bytes went missing");
    // From the writer's first byte to the reader's last.
    end.duration_since(start)
}

/// The streaming workload on one thread: the writer and the reader take
/// turns, each until its socket would block. One of them can always go on
/// (what the writer could not write, the reader has not read yet), so the
/// loop never waits and needs no poll: it pays the system calls and nothing
/// else.
pub fn stream_one_thread(bytes: usize) -> Duration {
    (|| -> io::Result<Duration> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let start = Instant::now();
        let writer = std::net::TcpStream::connect(address)?;
        let (reader, _) = listener.accept()?;
        writer.set_nonblocking(true)?;
        reader.set_nonblocking(true)?;
        // As the runtimes' streams in the bench are.
        writer.set_nodelay(true)?;
        reader.set_nodelay(true)?;
        let (mut writer, mut reader) = (TcpStream::from_std(writer), TcpStream::from_std(reader));
        let chunk = vec![1u8; 64 * 1024];
        let mut buf = vec![0; 64 * 1024];
        let (mut sent, mut total) = (0, 0);
        let mut shut = false;
        loop {
            while sent < bytes {
                let n = chunk.len().min(bytes - sent);
                match writer.write(&chunk[..n]) {
                    Ok(written) => sent += written,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
            if sent == bytes && !shut {
                writer.shutdown(std::net::Shutdown::Write)?;
                shut = true;
            }
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => {
                        assert_eq!(total, bytes, "stream: bytes went missing");
                        return Ok(start.elapsed());
                    }
                    Ok(n) => total += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
        }
    })()
    .expect("the one-thread mio stream loop failed")
}
