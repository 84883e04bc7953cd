//! The workloads, after tokio's own runtime benchmarks, and the harness
//! that runs every runtime in turn and keeps the median.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::channel::oneshot;
use futures::io::{AsyncReadExt, AsyncWriteExt};

use crate::mio_floor;
use crate::runtimes::{
    Net, Rt, Runtime, Smol, Step02, Step03, Step04, Step05, Step06, Step07, Step08, Step09, Step10,
    Timers, TokioCurrentThread, TokioMultiThread,
};

/// How big each workload is.
#[derive(Clone, Copy)]
pub struct Sizes {
    pub spawn_many: usize,
    pub yield_tasks: usize,
    pub yields: usize,
    pub ping_pongs: usize,
    pub chain: usize,
    pub timers: usize,
    pub echo_connections: usize,
    pub echo_round_trips: usize,
    pub stream_bytes: usize,
    /// Times each scheduler workload runs per sample, in one runtime.
    pub repeats: u32,
    /// Times `stream` runs per sample: a run takes a few milliseconds, and
    /// where the OS puts two busy threads moves it by a quarter.
    pub stream_repeats: u32,
}

impl Sizes {
    /// The sizes of the design brief (tokio's benchmarks).
    pub const FULL: Sizes = Sizes {
        spawn_many: 10_000,
        yield_tasks: 200,
        yields: 1_000,
        ping_pongs: 1_000,
        chain: 1_000,
        timers: 100_000,
        echo_connections: 50,
        echo_round_trips: 200,
        stream_bytes: 64 << 20,
        repeats: 10,
        stream_repeats: 5,
    };
    /// Tiny sizes for CI: does everything run, and end?
    pub const SMOKE: Sizes = Sizes {
        spawn_many: 100,
        yield_tasks: 4,
        yields: 10,
        ping_pongs: 10,
        chain: 10,
        timers: 100,
        echo_connections: 4,
        echo_round_trips: 4,
        stream_bytes: 1 << 20,
        repeats: 1,
        stream_repeats: 1,
    };
}

/// One workload's results: per runtime, the median time and all samples.
pub struct WorkloadResult {
    pub workload: &'static str,
    pub description: String,
    /// Whether it measures the scheduler (these make the geometric mean).
    pub scheduler: bool,
    pub runs: Vec<RuntimeResult>,
}

pub struct RuntimeResult {
    pub runtime: &'static str,
    pub threads: usize,
    pub median: Duration,
    pub samples: Vec<Duration>,
    /// Every latency the workload recorded (echo: each round trip), over
    /// all samples, sorted; empty for the others.
    pub latencies: Vec<Duration>,
}

/// One sample: the time one run of a workload took, and the latencies it
/// recorded, if it records any.
pub struct Sample {
    pub time: Duration,
    pub latencies: Vec<Duration>,
}

/// What a workload's future gives: nothing, or the latencies it recorded.
pub trait Latencies {
    fn into_latencies(self) -> Vec<Duration>;
}

impl Latencies for () {
    fn into_latencies(self) -> Vec<Duration> {
        Vec::new()
    }
}

impl Latencies for Vec<Duration> {
    fn into_latencies(self) -> Vec<Duration> {
        self
    }
}

// ANCHOR: yield_now
/// The yield future every runtime uses, so that none gets a faster one:
/// wake, return `Pending` once.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
// ANCHOR_END: yield_now

// ANCHOR: measure
/// Runs the workload `body` makes once to warm up, then `repeats` times
/// timed, all as one spawned task of one runtime; gives the mean time of
/// a timed run. A user's runtime is built once and runs for a long time,
/// so runtime start-up and shutdown are left out, and so is the first
/// run (threads not parked yet, caches cold).
fn measure<R: Rt, F, W>(repeats: u32, body: F) -> Sample
where
    F: Fn() -> W + Send + 'static,
    W: Future<Output: Latencies> + Send + 'static,
{
    R::run(async move {
        body().await;
        let mut latencies = Vec::new();
        let start = Instant::now();
        for _ in 0..repeats {
            latencies.extend(body().await.into_latencies());
        }
        Sample {
            time: start.elapsed() / repeats,
            latencies,
        }
    })
}
// ANCHOR_END: measure

/// A floor's sample, the way `measure` takes a runtime's: one run to warm
/// up, then the mean of `repeats` runs.
fn floor_mean(repeats: u32, run: impl Fn() -> Duration) -> Duration {
    run();
    (0..repeats).map(|_| run()).sum::<Duration>() / repeats
}

/// 10,000 tasks that do nothing, spawned from one task.
pub(crate) async fn spawn_many<R: Rt>(n: usize) {
    let (done, all_done) = oneshot::channel();
    let done = Arc::new(parking_lot_free::Once::new(done));
    let remaining = Arc::new(AtomicUsize::new(n));
    for _ in 0..n {
        let (remaining, done) = (remaining.clone(), done.clone());
        R::spawn_detached(async move {
            if remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
                done.send();
            }
        });
    }
    all_done
        .await
        .expect("spawn_many: the last task did not report");
}

/// 200 tasks that each yield 1,000 times.
async fn yield_many<R: Rt>(tasks: usize, yields: usize) {
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            R::spawn(async move {
                for _ in 0..yields {
                    YieldNow(false).await;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await;
    }
}

// ANCHOR: ping_pong
/// 1,000 ping-pongs: each spawns a task that spawns a partner, and the two
/// exchange a message each way over oneshot channels.
async fn ping_pong<R: Rt>(n: usize) {
    let (done, all_done) = oneshot::channel();
    let done = Arc::new(parking_lot_free::Once::new(done));
    let remaining = Arc::new(AtomicUsize::new(n));
    for _ in 0..n {
        let (remaining, done) = (remaining.clone(), done.clone());
        R::spawn_detached(async move {
            let (ping, pinged) = oneshot::channel::<()>();
            let (pong, ponged) = oneshot::channel::<()>();
            R::spawn_detached(async move {
                pinged.await.expect("ping lost");
                pong.send(()).expect("pong lost");
            });
            ping.send(()).expect("ping lost");
            ponged.await.expect("pong lost");
            if remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
                done.send();
            }
        });
    }
    all_done
        .await
        .expect("ping_pong: the last task did not report");
}
// ANCHOR_END: ping_pong

/// 1,000 hops: each task spawns the next; the last one reports.
async fn chained_spawn<R: Rt>(hops: usize) {
    fn hop<R: Rt>(left: usize, done: oneshot::Sender<()>) {
        if left == 0 {
            let _ = done.send(());
        } else {
            R::spawn_detached(async move { hop::<R>(left - 1, done) });
        }
    }
    let (done, all_done) = oneshot::channel();
    hop::<R>(hops, done);
    all_done.await.expect("chained_spawn: the chain broke");
}

/// 100,000 tasks sleeping, with deadlines spread over 10 ms.
pub(crate) async fn timers<R: Timers>(n: usize) {
    let handles: Vec<_> = (0..n)
        .map(|i| R::spawn(R::sleep(Duration::from_micros((i % 10_000) as u64))))
        .collect();
    for handle in handles {
        handle.await;
    }
}

/// 50 connections to an echo server on the same runtime, each sending
/// 1 KiB and reading it back, `round_trips` times.
/// Gives the time of every round trip.
async fn echo<R: Net>(connections: usize, round_trips: usize) -> Vec<Duration> {
    let (listener, address) = R::bind().await.expect("bind");
    let listener = Arc::new(listener);
    let server = R::spawn({
        let listener = listener.clone();
        async move {
            for _ in 0..connections {
                let mut stream = R::accept(&listener).await.expect("accept");
                R::spawn_detached(async move {
                    let mut buf = vec![0; 4096];
                    loop {
                        let n = stream.read(&mut buf).await.expect("server read");
                        if n == 0 {
                            break;
                        }
                        stream.write_all(&buf[..n]).await.expect("server write");
                    }
                });
            }
        }
    });
    let clients: Vec<_> = (0..connections)
        .map(|_| {
            R::spawn(async move {
                let mut stream = R::connect(address).await.expect("connect");
                let message = vec![7u8; 1024];
                let mut reply = vec![0; 1024];
                let mut latencies = Vec::with_capacity(round_trips);
                for _ in 0..round_trips {
                    let sent = Instant::now();
                    stream.write_all(&message).await.expect("client write");
                    stream.read_exact(&mut reply).await.expect("client read");
                    latencies.push(sent.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(connections * round_trips);
    for client in clients {
        latencies.extend(client.await);
    }
    server.await;
    latencies
}

/// One connection streaming `bytes` in 64 KiB writes to a reader.
async fn stream<R: Net>(bytes: usize) {
    let (listener, address) = R::bind().await.expect("bind");
    let reader = R::spawn(async move {
        let mut stream = R::accept(&listener).await.expect("accept");
        let mut buf = vec![0; 64 * 1024];
        let mut total = 0;
        loop {
            let n = stream.read(&mut buf).await.expect("read");
            if n == 0 {
                return total;
            }
            total += n;
        }
    });
    let mut stream = R::connect(address).await.expect("connect");
    let chunk = vec![1u8; 64 * 1024];
    let mut sent = 0;
    while sent < bytes {
        let n = chunk.len().min(bytes - sent);
        stream.write_all(&chunk[..n]).await.expect("write");
        sent += n;
    }
    stream.close().await.expect("close");
    assert_eq!(reader.await, bytes, "stream: bytes went missing");
}

/// A sample-taker: runs one workload on one runtime once.
struct Entry {
    runtime: &'static str,
    threads: usize,
    run: Box<dyn Fn() -> Sample>,
}

fn entry<R: Rt>(run: impl Fn() -> Sample + 'static) -> Entry {
    Entry {
        runtime: R::NAME,
        threads: R::THREADS,
        run: Box::new(run),
    }
}

macro_rules! on {
    ($workload:ident, $sizes:ident, $repeats:expr, [$($rt:ty),*], |$s:ident| $args:tt) => {
        vec![$({
            let $s = $sizes;
            entry::<$rt>(move || measure::<$rt, _, _>($repeats, move || $workload::<$rt> $args))
        }),*]
    };
}

/// The runtimes that run the scheduler workloads: every stage with
/// `spawn`, the runtime, tokio in both flavours, smol.
macro_rules! on_scheduler_runtimes {
    ($workload:ident, $sizes:ident, $repeats:expr, |$s:ident| $args:tt) => {
        on!(
            $workload,
            $sizes,
            $repeats,
            [
                Step02,
                Step03,
                Step04,
                Step05,
                Step06,
                Step07,
                Step08,
                Step09,
                Step10,
                Runtime,
                TokioCurrentThread,
                TokioMultiThread,
                Smol
            ],
            |$s| $args
        )
    };
}

/// The runtimes with timers: from stage 3 on.
macro_rules! on_timer_runtimes {
    ($workload:ident, $sizes:ident, $repeats:expr, |$s:ident| $args:tt) => {
        on!(
            $workload,
            $sizes,
            $repeats,
            [
                Step03,
                Step04,
                Step05,
                Step06,
                Step07,
                Step08,
                Step09,
                Step10,
                Runtime,
                TokioCurrentThread,
                TokioMultiThread,
                Smol
            ],
            |$s| $args
        )
    };
}

/// The runtimes with TCP: from stage 6 on.
macro_rules! on_tcp_runtimes {
    ($workload:ident, $sizes:ident, $repeats:expr, |$s:ident| $args:tt) => {
        on!(
            $workload,
            $sizes,
            $repeats,
            [
                Step06,
                Step07,
                Step08,
                Step09,
                Step10,
                Runtime,
                TokioCurrentThread,
                TokioMultiThread,
                Smol
            ],
            |$s| $args
        )
    };
}

/// Runs every workload (or those named in `only`, if any) on every runtime
/// that can run it, `rounds` times, the runtimes in a different order each
/// round; keeps the medians. Fails, before running anything, if `only`
/// names a workload there is not.
pub fn run_all(
    sizes: Sizes,
    rounds: usize,
    only: &[String],
) -> Result<Vec<WorkloadResult>, String> {
    let s = sizes;
    let plan: Vec<(&'static str, String, bool, Vec<Entry>)> = vec![
        (
            "spawn_many",
            format!("{} empty tasks spawned from one task", s.spawn_many),
            true,
            on_scheduler_runtimes!(spawn_many, s, s.repeats, |s| (s.spawn_many)),
        ),
        (
            "yield_many",
            format!("{} tasks x {} yields", s.yield_tasks, s.yields),
            true,
            on_scheduler_runtimes!(yield_many, s, s.repeats, |s| (s.yield_tasks, s.yields)),
        ),
        (
            "ping_pong",
            format!("{} ping-pongs between pairs of new tasks", s.ping_pongs),
            true,
            on_scheduler_runtimes!(ping_pong, s, s.repeats, |s| (s.ping_pongs)),
        ),
        (
            "chained_spawn",
            format!("a chain of {} tasks, each spawning the next", s.chain),
            true,
            on_scheduler_runtimes!(chained_spawn, s, s.repeats, |s| (s.chain)),
        ),
        (
            "timers",
            format!("{} sleeps, deadlines spread over 10 ms", s.timers),
            false,
            on_timer_runtimes!(timers, s, 1, |s| (s.timers)),
        ),
        (
            "echo",
            format!(
                "{} connections x {} round trips of 1 KiB",
                s.echo_connections, s.echo_round_trips
            ),
            false,
            {
                let mut entries =
                    on_tcp_runtimes!(echo, s, 1, |s| (s.echo_connections, s.echo_round_trips));
                entries.push(Entry {
                    runtime: mio_floor::NAME_ONE_THREAD,
                    threads: 1,
                    run: Box::new(move || {
                        // One run to warm up, as `measure` gives the runtimes.
                        mio_floor::echo_one_thread(s.echo_connections, s.echo_round_trips);
                        let (time, latencies) =
                            mio_floor::echo_one_thread(s.echo_connections, s.echo_round_trips);
                        Sample { time, latencies }
                    }),
                });
                entries.push(Entry {
                    runtime: mio_floor::NAME,
                    threads: 2,
                    run: Box::new(move || {
                        mio_floor::echo(s.echo_connections, s.echo_round_trips);
                        let (time, latencies) =
                            mio_floor::echo(s.echo_connections, s.echo_round_trips);
                        Sample { time, latencies }
                    }),
                });
                entries
            },
        ),
        (
            "stream",
            format!("{} MiB over one connection", s.stream_bytes >> 20),
            false,
            {
                let mut entries =
                    on_tcp_runtimes!(stream, s, s.stream_repeats, |s| (s.stream_bytes));
                entries.push(Entry {
                    runtime: mio_floor::NAME_ONE_THREAD,
                    threads: 1,
                    run: Box::new(move || Sample {
                        time: floor_mean(s.stream_repeats, || {
                            mio_floor::stream_one_thread(s.stream_bytes)
                        }),
                        latencies: Vec::new(),
                    }),
                });
                entries.push(Entry {
                    runtime: mio_floor::NAME,
                    threads: 2,
                    run: Box::new(move || Sample {
                        time: floor_mean(s.stream_repeats, || mio_floor::stream(s.stream_bytes)),
                        latencies: Vec::new(),
                    }),
                });
                entries
            },
        ),
    ];
    if let Some(unknown) = only
        .iter()
        .find(|name| !plan.iter().any(|(workload, ..)| workload == name))
    {
        let names: Vec<&str> = plan.iter().map(|(workload, ..)| *workload).collect();
        return Err(format!(
            "no workload named {unknown:?}; the workloads are {}",
            names.join(", ")
        ));
    }

    // BENCH_RUNTIME=name runs that runtime alone, for profiling;
    // BENCH_RUNTIME='a;b' runs those side by side.
    let alone = std::env::var("BENCH_RUNTIME").ok();
    let mut results = Vec::new();
    // ANCHOR: rotation
    for (workload, description, scheduler, mut entries) in plan {
        if !only.is_empty() && !only.iter().any(|name| name == workload) {
            continue;
        }
        entries.retain(|entry| {
            alone
                .as_deref()
                .is_none_or(|names| names.split(';').any(|name| name == entry.runtime))
        });
        eprint!("{workload}: ");
        let mut samples: Vec<Vec<Sample>> = entries.iter().map(|_| Vec::new()).collect();
        for round in 0..rounds {
            // Rotate the order, so no runtime always runs first (or last)
            // on a machine whose load changes.
            for k in 0..entries.len() {
                let i = (k + round) % entries.len();
                samples[i].push((entries[i].run)());
            }
            eprint!(".");
        }
        eprintln!();
        let runs = entries
            .iter()
            .zip(samples)
            .map(|(entry, samples)| {
                let mut times: Vec<Duration> = samples.iter().map(|s| s.time).collect();
                times.sort();
                let mut latencies: Vec<Duration> =
                    samples.into_iter().flat_map(|s| s.latencies).collect();
                latencies.sort();
                RuntimeResult {
                    runtime: entry.runtime,
                    threads: entry.threads,
                    median: times[times.len() / 2],
                    samples: times,
                    latencies,
                }
            })
            .collect();
        results.push(WorkloadResult {
            workload,
            description,
            scheduler,
            runs,
        });
    }
    // ANCHOR_END: rotation
    Ok(results)
}

/// A oneshot sender that any of many tasks may fire, once.
mod parking_lot_free {
    use std::sync::Mutex;

    use futures::channel::oneshot;

    pub struct Once(Mutex<Option<oneshot::Sender<()>>>);

    impl Once {
        pub fn new(sender: oneshot::Sender<()>) -> Once {
            Once(Mutex::new(Some(sender)))
        }

        pub fn send(&self) {
            if let Some(sender) = self.0.lock().expect("poisoned").take() {
                let _ = sender.send(());
            }
        }
    }
}
