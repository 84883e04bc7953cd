//! Scale: how each runtime's cost grows with the count, from 10,000 to
//! 1,000,000 tasks and timers, and up to 10,000 connections: the time per
//! task, per timer and per connection at each count. The connections'
//! clients run in a child process, this executable run with
//! `scale-client`.

use std::io::{self, BufRead, Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::channel::oneshot;
use futures::io::{AsyncReadExt, AsyncWriteExt};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll as MioPoll, Token};

use crate::runtimes::{Net, Rt, Runtime, Smol, Timers, TokioMultiThread};
use crate::workloads::{spawn_many, timers};

/// The counts each curve is measured at.
#[derive(Clone, Copy)]
pub struct ScaleSizes {
    pub tasks: &'static [usize],
    pub connections: &'static [usize],
}

impl ScaleSizes {
    pub const FULL: ScaleSizes = ScaleSizes {
        tasks: &[10_000, 100_000, 1_000_000],
        connections: &[100, 1_000, 5_000, 10_000],
    };
    pub const SMOKE: ScaleSizes = ScaleSizes {
        tasks: &[100, 1_000, 10_000],
        connections: &[4, 16, 64],
    };
}

/// The curves: for each workload, each count, each runtime, the median
/// time per item.
pub struct ScaleResult {
    /// The runtimes, in column order.
    pub runtimes: Vec<&'static str>,
    /// (workload, count, time per item for each runtime).
    pub points: Vec<(&'static str, usize, Vec<Duration>)>,
}

/// The most connections this process can serve at once: one descriptor
/// each (the clients are another process), and some to spare.
fn connection_limit() -> usize {
    #[cfg(unix)]
    {
        let _ = rlimit::increase_nofile_limit(u64::MAX);
        if let Ok((soft, _)) = rlimit::getrlimit(rlimit::Resource::NOFILE) {
            return soft.saturating_sub(256) as usize;
        }
    }
    usize::MAX
}

/// Connections the client opens before it waits for them all to connect:
/// a listen queue that overflows drops connection attempts that the OS
/// tries again only a second later, and that second would be all the
/// figure measured.
const WAVE: usize = 100;

/// How long the client process waits for an event before it calls the
/// server stalled and fails, which ends the bench with its error.
const STALLED: Duration = Duration::from_secs(60);

/// `n` concurrent connections to an echo server on runtime `R`, each
/// sending 1 KiB and reading it back, and all held open until every one
/// has its answer. The clients are a mio loop in another process (this
/// executable, run with `scale-client`): the server's process holds one
/// descriptor per connection, not two, so the curve reaches 10,000, and
/// the clients' work is not counted for the runtime. Gives the time from
/// the address handed to the client to the last answer written; the
/// client then closes every connection and exits.
fn connections<R: Net>(n: usize) -> Duration {
    let mut client = Command::new(std::env::current_exe().expect("the bench's own path"))
        .args(["scale-client", &n.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("scale: could not start the client process");
    let mut to_client = client.stdin.take().expect("piped");
    // The client says it is ready, started and waiting for the address,
    // before the clock starts: its start-up is no runtime's time.
    let mut ready = String::new();
    std::io::BufReader::new(client.stdout.take().expect("piped"))
        .read_line(&mut ready)
        .expect("scale: reading the client's first line");
    assert_eq!(ready.trim(), "ready", "scale: the client did not start");
    // A client that fails would leave the server waiting for connections
    // that never come: end the bench with its error instead of hanging.
    let (exited, client_exited) = oneshot::channel::<()>();
    let watcher = std::thread::spawn(move || {
        let status = client.wait().expect("scale: waiting for the client");
        if !status.success() {
            eprintln!("error: scale: the client process of {n} connections failed: {status}");
            std::process::exit(1);
        }
        let _ = exited.send(());
    });
    let time = R::run(async move {
        let (listener, address) = R::bind().await.expect("bind");
        let answered = Arc::new(AtomicUsize::new(0));
        let (all_answered, all_answered_rx) = oneshot::channel::<()>();
        let all_answered = Arc::new(Mutex::new(Some(all_answered)));
        let start = Instant::now();
        // One short line into a pipe: it does not block.
        writeln!(to_client, "{address}").expect("scale: could not tell the client the address");
        to_client
            .flush()
            .expect("scale: could not tell the client the address");
        for _ in 0..n {
            let mut stream = R::accept(&listener).await.expect("accept");
            let answered = answered.clone();
            let all_answered = all_answered.clone();
            R::spawn_detached(async move {
                let mut buf = vec![0; 1024];
                if stream.read_exact(&mut buf).await.is_err()
                    || stream.write_all(&buf).await.is_err()
                {
                    return; // the client reports what it misses
                }
                if answered.fetch_add(1, Ordering::AcqRel) + 1 == n
                    && let Some(all_answered) = all_answered.lock().expect("poisoned").take()
                {
                    let _ = all_answered.send(());
                }
                // Held open until the client closes, or the runtime shuts
                // down.
                let _ = stream.read(&mut buf).await;
            });
        }
        all_answered_rx
            .await
            .expect("scale: the server lost an answer");
        let time = start.elapsed();
        // The client closes its connections first, when its input ends,
        // and exits: the side that closes first keeps each connection's
        // address pair in TIME_WAIT for a minute, and on the client's side
        // those are ports the next run's connects can pass over. On the
        // server's side they are pairs a later listener's port may meet
        // again, and the OS answers such a connect with a reset.
        drop(to_client);
        client_exited
            .await
            .expect("scale: the client's watcher ended");
        time
    });
    watcher
        .join()
        .expect("scale: the client's watcher panicked");
    time
}

/// The client process of the connection curve (`bench scale-client N`):
/// reads the server's address from its standard input, opens `N`
/// connections in waves, writes 1 KiB on each and reads it back, and once
/// every connection has its answer, waits for its input to end, then exits,
/// closing them all.
pub fn client_main(args: &[String]) -> Result<(), String> {
    let [n] = args else {
        return Err("usage: bench scale-client CONNECTIONS".into());
    };
    let n: usize = n.parse().map_err(|_| format!("not a count: {n:?}"))?;
    #[cfg(unix)]
    {
        let _ = rlimit::increase_nofile_limit(u64::MAX);
    }
    println!("ready");
    std::io::stdout()
        .flush()
        .map_err(|error| format!("saying it is ready: {error}"))?;
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|error| format!("reading the address: {error}"))?;
    let address: SocketAddr = line
        .trim()
        .parse()
        .map_err(|_| format!("not an address: {line:?}"))?;
    echo_clients(address, n).map_err(|error| format!("{n} clients of {address}: {error}"))
}

fn echo_clients(address: SocketAddr, n: usize) -> io::Result<()> {
    struct Client {
        stream: TcpStream,
        connected: bool,
        written: usize,
        read: usize,
    }
    const SIZE: usize = 1024;
    let message = [7u8; SIZE];
    let mut buf = [0u8; SIZE];
    let mut poll = MioPoll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut clients: Vec<Client> = Vec::with_capacity(n);
    let mut answered = 0;
    while answered < n {
        // The next wave, once every connection so far has its answer, and
        // so has been accepted: no more than a wave waits in the listen
        // queue.
        if clients.len() < n && answered == clients.len() {
            for i in clients.len()..n.min(clients.len() + WAVE) {
                let mut stream = TcpStream::connect(address)?;
                poll.registry().register(
                    &mut stream,
                    Token(i),
                    Interest::READABLE | Interest::WRITABLE,
                )?;
                clients.push(Client {
                    stream,
                    connected: false,
                    written: 0,
                    read: 0,
                });
            }
        }
        match poll.poll(&mut events, Some(STALLED)) {
            // A server that stopped answering would leave this process,
            // and the bench with it, waiting for ever: fail instead.
            Ok(()) if events.is_empty() => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no event for {STALLED:?}, {answered} of {n} answered: the server stalled"
                    ),
                ));
            }
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        }
        for event in events.iter() {
            let client = &mut clients[event.token().0];
            if !client.connected {
                // A non-blocking connect: done once the socket has a peer.
                if let Some(error) = client.stream.take_error()? {
                    return Err(error);
                }
                match client.stream.peer_addr() {
                    Ok(_) => client.connected = true,
                    Err(error) if error.kind() == io::ErrorKind::NotConnected => continue,
                    Err(error) => return Err(error),
                }
            }
            while client.written < SIZE {
                match client.stream.write(&message[client.written..]) {
                    Ok(k) => client.written += k,
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                    Err(error) => return Err(error),
                }
            }
            while client.read < SIZE {
                match client.stream.read(&mut buf[..SIZE - client.read]) {
                    Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                    Ok(k) => {
                        client.read += k;
                        if client.read == SIZE {
                            answered += 1;
                        }
                    }
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                    Err(error) => return Err(error),
                }
            }
        }
    }
    // Every connection has its answer: hold them open until the server's
    // process has taken its time and closes this one's input.
    let mut rest = String::new();
    while std::io::stdin().read_line(&mut rest)? > 0 {}
    Ok(())
}

/// Runs `body` once in a fresh runtime and gives its time (scale points
/// are big enough that start-up does not matter, and a second run of a
/// million tasks would double the wait).
fn time<R: Rt, F>(body: F) -> Duration
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    R::run(async move {
        let start = Instant::now();
        body.await;
        start.elapsed()
    })
}

type Measure = fn(usize) -> Duration;

fn on<R: Timers + Net>() -> [Measure; 3] {
    [
        |n| time::<R, _>(spawn_many::<R>(n)),
        |n| time::<R, _>(timers::<R>(n)),
        connections::<R>,
    ]
}

/// Measures every curve on the runtime, tokio multi-thread and smol,
/// `rounds` times each point in a rotating order; keeps the medians.
pub fn run_all(sizes: ScaleSizes, rounds: usize) -> ScaleResult {
    let runtimes = [Runtime::NAME, TokioMultiThread::NAME, Smol::NAME];
    let measures = [on::<Runtime>(), on::<TokioMultiThread>(), on::<Smol>()];
    let limit = connection_limit();
    let mut points = Vec::new();
    let workloads: [(&str, &[usize]); 3] = [
        ("spawn", sizes.tasks),
        ("timers", sizes.tasks),
        ("connections", sizes.connections),
    ];
    // BENCH_SCALE=spawn|timers|connections measures that curve alone, and
    // BENCH_SCALE_RUNTIME=name that runtime alone: for profiling.
    let alone = std::env::var("BENCH_SCALE").ok();
    let only_runtime = std::env::var("BENCH_SCALE_RUNTIME").ok();
    for (w, (workload, counts)) in workloads.into_iter().enumerate() {
        if alone.as_deref().is_some_and(|name| name != workload) {
            continue;
        }
        for &count in counts {
            if workload == "connections" && count > limit {
                eprintln!(
                    "scale: serving {count} connections needs more open files than this process may have; left out"
                );
                continue;
            }
            eprint!("scale, {workload} x {count}: ");
            let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); runtimes.len()];
            for round in 0..rounds {
                for k in 0..runtimes.len() {
                    let i = (k + round) % runtimes.len();
                    if only_runtime
                        .as_deref()
                        .is_some_and(|name| name != runtimes[i])
                    {
                        samples[i].push(Duration::ZERO);
                        continue;
                    }
                    samples[i].push(measures[i][w](count) / count as u32);
                }
                eprint!(".");
            }
            eprintln!();
            let medians = samples
                .into_iter()
                .map(|mut samples| {
                    samples.sort();
                    samples[samples.len() / 2]
                })
                .collect();
            points.push((workload, count, medians));
        }
    }
    ScaleResult {
        runtimes: runtimes.to_vec(),
        points,
    }
}
