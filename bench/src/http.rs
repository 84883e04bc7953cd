//! HTTP: the same hyper service on each runtime, driven by a load
//! generator in the same process, the way `wrk -t1` drives a server: one
//! client thread, a fixed set of keep-alive connections, each sending its
//! next request as soon as the answer to the last one is in.

use std::convert::Infallible;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use futures::io::{AsyncRead, AsyncWrite};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll as MioPoll, Token};

use crate::runtimes::{Net, Runtime, Smol, TokioMultiThread};

/// A runtime that can serve hyper: how its accepted stream becomes
/// hyper's I/O.
pub trait Http: Net {
    /// The stream as hyper reads and writes it.
    type Io: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static;
    /// Wraps an accepted stream.
    fn io(stream: Self::Stream) -> Self::Io;
}

impl Http for Runtime {
    type Io = FuturesIo<runtime::net::TcpStream>;
    fn io(stream: Self::Stream) -> Self::Io {
        FuturesIo::new(stream)
    }
}

impl Http for Smol {
    type Io = FuturesIo<smol::net::TcpStream>;
    fn io(stream: Self::Stream) -> Self::Io {
        FuturesIo::new(stream)
    }
}

impl Http for TokioMultiThread {
    type Io = hyper_util::rt::TokioIo<tokio::net::TcpStream>;
    fn io(stream: Self::Stream) -> Self::Io {
        hyper_util::rt::TokioIo::new(stream.0)
    }
}

/// A `futures::io` stream (the runtime's, smol's) seen through hyper's
/// I/O traits: the same adapter for both, so neither gets a faster one.
pub struct FuturesIo<S> {
    stream: S,
    /// Read into this, then copy into hyper's buffer, which may be
    /// uninitialised: filling it in place would take `unsafe`. Kept, not
    /// made for each read, so a read does not zero 8 KiB first.
    scratch: Box<[u8]>,
}

impl<S> FuturesIo<S> {
    fn new(stream: S) -> FuturesIo<S> {
        FuturesIo {
            stream,
            scratch: vec![0; 8 * 1024].into_boxed_slice(),
        }
    }
}

impl<S: AsyncRead + Unpin> hyper::rt::Read for FuturesIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let len = this.scratch.len().min(buf.remaining());
        match Pin::new(&mut this.stream).poll_read(cx, &mut this.scratch[..len]) {
            Poll::Ready(Ok(n)) => {
                buf.put_slice(&this.scratch[..n]);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> hyper::rt::Write for FuturesIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_close(cx)
    }
}

/// The service: a short greeting, as `runtime/examples/http.rs` gives at `/`.
async fn hello(_request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello from a runtime built step by step!\n",
    ))))
}

/// Accepts connections until `stop` is set (and one more connection comes
/// to wake the accept), serving each on a task of its own.
async fn serve<R: Http>(listener: R::Listener, stop: Arc<AtomicBool>) {
    loop {
        let stream = match R::accept(&listener).await {
            Ok(stream) => stream,
            Err(error) => {
                eprintln!("http: accept failed: {error}");
                continue;
            }
        };
        if stop.load(Ordering::SeqCst) {
            return;
        }
        R::spawn_detached(async move {
            // The load generator closes its connections when it is done.
            let _ = http1::Builder::new()
                .serve_connection(R::io(stream), service_fn(hello))
                .await;
        });
    }
}

/// What one run of the load generator saw.
pub struct HttpSample {
    /// Requests answered per second, over the measured time.
    pub requests_per_second: f64,
    /// Each answered request's latency, from its first byte sent to the
    /// last byte of its answer read.
    pub latencies: Vec<Duration>,
    /// The CPU time the server spent per answered request over the
    /// measured time, where the OS tells it (Linux).
    pub server_cpu: Option<CpuPerRequest>,
}

/// CPU time per request, split the way the OS accounts it.
#[derive(Clone, Copy)]
pub struct CpuPerRequest {
    /// Running the program's own code: the runtime, hyper, the service.
    pub user: Duration,
    /// In the kernel on the program's behalf: TCP, epoll, futexes.
    pub system: Duration,
}

/// CPU time used so far, (user, system): the whole process's and the
/// calling thread's.
#[cfg(target_os = "linux")]
fn cpu_times() -> Option<[(Duration, Duration); 2]> {
    // Fields 14 and 15 of `/proc/.../stat` (utime, stime), in clock
    // ticks. The second field, the command name, is in parentheses and
    // may hold spaces: count from the closing one.
    fn read(path: &str) -> Option<(Duration, Duration)> {
        let stat = std::fs::read_to_string(path).ok()?;
        let mut fields = stat.get(stat.rfind(')')? + 2..)?.split(' ');
        let user: u64 = fields.nth(11)?.parse().ok()?;
        let system: u64 = fields.next()?.parse().ok()?;
        let tick = 1e9 / rustix::param::clock_ticks_per_second() as f64;
        Some((
            Duration::from_nanos((user as f64 * tick) as u64),
            Duration::from_nanos((system as f64 * tick) as u64),
        ))
    }
    Some([read("/proc/self/stat")?, read("/proc/thread-self/stat")?])
}

#[cfg(not(target_os = "linux"))]
fn cpu_times() -> Option<[(Duration, Duration); 2]> {
    None
}

/// The server's CPU time per request between two readings of
/// [`cpu_times`] taken on the load generator's thread: the process's,
/// less the load generator's own.
fn server_cpu(
    before: Option<[(Duration, Duration); 2]>,
    after: Option<[(Duration, Duration); 2]>,
    requests: usize,
) -> Option<CpuPerRequest> {
    let ([process0, thread0], [process1, thread1]) = (before?, after?);
    let requests = u32::try_from(requests.max(1)).ok()?;
    // The OS rounds each reading to its clock tick on its own: never let
    // a rounding make a negative time.
    let spent = |process0: Duration, process1: Duration, thread0: Duration, thread1: Duration| {
        process1
            .saturating_sub(process0)
            .saturating_sub(thread1.saturating_sub(thread0))
    };
    let user = spent(process0.0, process1.0, thread0.0, thread1.0);
    let system = spent(process0.1, process1.1, thread0.1, thread1.1);
    Some(CpuPerRequest {
        user: user / requests,
        system: system / requests,
    })
}

/// Serves on `R` and drives it with `connections` keep-alive connections:
/// `warm_up` unmeasured, then `measured`.
pub fn run<R: Http>(connections: usize, warm_up: Duration, measured: Duration) -> HttpSample {
    let stop = Arc::new(AtomicBool::new(false));
    let (address_sender, address) = mpsc::channel();
    let server = thread::spawn({
        let stop = stop.clone();
        move || {
            R::run(async move {
                let (listener, address) = R::bind().await.expect("http: bind");
                address_sender
                    .send(address)
                    .expect("http: the client is gone");
                serve::<R>(listener, stop).await;
            })
        }
    });
    let address = address.recv().expect("http: the server did not start");
    let sample =
        load(address, connections, warm_up, measured).expect("http: the load generator failed");
    stop.store(true, Ordering::SeqCst);
    // Wakes the accept, which then sees `stop`.
    let _ = std::net::TcpStream::connect(address);
    server.join().expect("http: the server panicked");
    sample
}

/// The request every connection sends, again and again.
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n";

/// One client connection of the load generator.
struct Client {
    stream: TcpStream,
    /// When the request in flight was sent.
    sent: Instant,
    /// Bytes of the request written so far.
    written: usize,
    /// The answer read so far.
    answer: Vec<u8>,
}

/// The length of a complete answer at the start of `answer`, if it is all
/// there: its headers, then `content-length` bytes of body.
fn answer_length(answer: &[u8]) -> Option<usize> {
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let headers = std::str::from_utf8(&answer[..end]).ok()?;
    let length: usize = headers
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    (answer.len() >= end + length).then_some(end + length)
}

/// The load generator: one thread, one mio event loop, `connections`
/// connections each with one request in flight at a time.
fn load(
    address: SocketAddr,
    connections: usize,
    warm_up: Duration,
    measured: Duration,
) -> io::Result<HttpSample> {
    let mut poll = MioPoll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut clients = Vec::with_capacity(connections);
    for i in 0..connections {
        // Blocking connects, one at a time: a listen queue shorter than
        // `connections` (smol's is the OS default) must not drop any.
        let stream = std::net::TcpStream::connect(address)?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        let mut stream = TcpStream::from_std(stream);
        poll.registry().register(
            &mut stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        clients.push(Client {
            stream,
            sent: Instant::now(),
            written: 0,
            answer: Vec::with_capacity(512),
        });
    }
    let start = Instant::now();
    let measure_from = start + warm_up;
    let end = measure_from + measured;
    let mut latencies = Vec::new();
    let mut buf = vec![0; 16 * 1024];
    let mut now = Instant::now();
    // Read once the measured time has begun.
    let mut cpu_before = None;
    while now < end {
        if cpu_before.is_none() && now >= measure_from {
            cpu_before = Some(cpu_times());
        }
        match poll.poll(&mut events, Some(end - now)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            let client = &mut clients[event.token().0];
            loop {
                if client.written < REQUEST.len() {
                    if client.written == 0 {
                        client.sent = Instant::now();
                    }
                    match client.stream.write(&REQUEST[client.written..]) {
                        Ok(n) => client.written += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                    continue;
                }
                match client.stream.read(&mut buf) {
                    Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                    Ok(n) => client.answer.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
                if let Some(length) = answer_length(&client.answer) {
                    let answered = Instant::now();
                    if client.sent >= measure_from && answered <= end {
                        latencies.push(answered - client.sent);
                    }
                    client.answer.drain(..length);
                    client.written = 0;
                }
            }
        }
        now = Instant::now();
    }
    let server_cpu = server_cpu(cpu_before.flatten(), cpu_times(), latencies.len());
    Ok(HttpSample {
        requests_per_second: latencies.len() as f64 / measured.as_secs_f64(),
        latencies,
        server_cpu,
    })
}

/// The latency at quantile `q` (0.5 for the median) of `sorted`.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[at]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_complete_with_its_whole_body() {
        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc";
        assert_eq!(answer_length(answer), Some(answer.len()));
        assert_eq!(answer_length(&answer[..answer.len() - 1]), None);
        assert_eq!(answer_length(b"HTTP/1.1 200 OK\r\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn cpu_times_count_this_threads_work() {
        let before = cpu_times().expect("Linux tells a process its CPU times");
        // Burn 100 ms of CPU on this thread, ten clock ticks, by the
        // thread's own CPU clock: a wall clock would count the time a busy
        // machine gives to others.
        use rustix::time::{ClockId, clock_gettime};
        let cpu_now = || {
            let t = clock_gettime(ClockId::ThreadCPUTime);
            Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
        };
        let start = cpu_now();
        let mut x = 0u64;
        while cpu_now() - start < Duration::from_millis(100) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let after = cpu_times().expect("Linux tells a process its CPU times");
        let total = |(user, system): (Duration, Duration)| user + system;
        let thread = total(after[1]) - total(before[1]);
        assert!(
            thread >= Duration::from_millis(80),
            "the thread's CPU time grew by {thread:?} over 100 ms of work"
        );
        // The process's time holds the thread's, to within the OS's
        // rounding of each reading to its tick.
        let process = total(after[0]) - total(before[0]);
        assert!(
            process + Duration::from_millis(20) >= thread,
            "the process's CPU time grew by {process:?}, its thread's by {thread:?}"
        );
        // Nothing else ran on the server's behalf: no CPU per request.
        let cpu = server_cpu(Some(before), Some(after), 1000).expect("both readings");
        assert!(cpu.user + cpu.system < Duration::from_micros(50));
    }

    #[test]
    fn quantiles_pick_the_rank_above() {
        let sorted: Vec<Duration> = (1..=1000).map(Duration::from_micros).collect();
        assert_eq!(quantile(&sorted, 0.5), Duration::from_micros(500));
        assert_eq!(quantile(&sorted, 0.99), Duration::from_micros(990));
        assert_eq!(quantile(&sorted, 0.999), Duration::from_micros(999));
    }
}

/// How the HTTP workload is sized.
#[derive(Clone, Copy)]
pub struct HttpSizes {
    /// The connection counts, one table each.
    pub connections: [usize; 2],
    pub warm_up: Duration,
    pub measured: Duration,
}

impl HttpSizes {
    pub const FULL: HttpSizes = HttpSizes {
        connections: [50, 1_000],
        warm_up: Duration::from_millis(500),
        measured: Duration::from_secs(2),
    };
    pub const SMOKE: HttpSizes = HttpSizes {
        connections: [4, 50],
        warm_up: Duration::from_millis(50),
        measured: Duration::from_millis(200),
    };
}

/// One connection count's results, per runtime.
pub struct HttpResult {
    pub connections: usize,
    pub runs: Vec<HttpRun>,
}

/// One runtime's results at one connection count.
pub struct HttpRun {
    pub runtime: &'static str,
    pub threads: usize,
    /// The median over the rounds.
    pub requests_per_second: f64,
    /// Every round's latencies together, sorted.
    pub latencies: Vec<Duration>,
    /// The server's CPU time per request, user and system each the
    /// median over the rounds; `None` where the OS does not tell it.
    pub server_cpu: Option<CpuPerRequest>,
}

type HttpEntry = (
    &'static str,
    usize,
    fn(usize, Duration, Duration) -> HttpSample,
);

/// Runs the HTTP workload on the runtime, tokio multi-thread and smol, at
/// each connection count, `rounds` times in a rotating order.
pub fn run_all(sizes: HttpSizes, rounds: usize) -> Vec<HttpResult> {
    use crate::runtimes::Rt;
    let entries: [HttpEntry; 3] = [
        (Runtime::NAME, Runtime::THREADS, run::<Runtime>),
        (
            TokioMultiThread::NAME,
            TokioMultiThread::THREADS,
            run::<TokioMultiThread>,
        ),
        (Smol::NAME, Smol::THREADS, run::<Smol>),
    ];
    // BENCH_HTTP_RUNTIME=name runs that runtime alone, for profiling;
    // BENCH_HTTP_RUNTIME='a;b' runs those side by side.
    let alone = std::env::var("BENCH_HTTP_RUNTIME").ok();
    let entries: Vec<HttpEntry> = entries
        .into_iter()
        .filter(|entry| {
            alone
                .as_deref()
                .is_none_or(|names| names.split(';').any(|name| name == entry.0))
        })
        .collect();
    // BENCH_HTTP_CONNECTIONS=n runs that connection count alone.
    let only_count: Option<usize> = std::env::var("BENCH_HTTP_CONNECTIONS")
        .ok()
        .and_then(|n| n.parse().ok());
    let mut results = Vec::new();
    for connections in sizes.connections {
        if only_count.is_some_and(|n| n != connections) {
            continue;
        }
        eprint!("http, {connections} connections: ");
        let mut samples: Vec<Vec<HttpSample>> = entries.iter().map(|_| Vec::new()).collect();
        for round in 0..rounds {
            for k in 0..entries.len() {
                let i = (k + round) % entries.len();
                samples[i].push((entries[i].2)(connections, sizes.warm_up, sizes.measured));
            }
            eprint!(".");
        }
        eprintln!();
        let runs = entries
            .iter()
            .zip(samples)
            .map(|(&(runtime, threads, _), samples)| {
                let mut rates: Vec<f64> = samples.iter().map(|s| s.requests_per_second).collect();
                rates.sort_by(f64::total_cmp);
                let cpu: Option<Vec<CpuPerRequest>> =
                    samples.iter().map(|s| s.server_cpu).collect();
                let server_cpu = cpu.map(|cpu| {
                    let median = |part: fn(&CpuPerRequest) -> Duration| {
                        let mut parts: Vec<Duration> = cpu.iter().map(part).collect();
                        parts.sort();
                        parts[parts.len() / 2]
                    };
                    CpuPerRequest {
                        user: median(|c| c.user),
                        system: median(|c| c.system),
                    }
                });
                let mut latencies: Vec<Duration> =
                    samples.into_iter().flat_map(|s| s.latencies).collect();
                latencies.sort();
                HttpRun {
                    runtime,
                    threads,
                    requests_per_second: rates[rates.len() / 2],
                    latencies,
                    server_cpu,
                }
            })
            .collect();
        results.push(HttpResult { connections, runs });
    }
    results
}
