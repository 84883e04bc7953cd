//! Scale: how each runtime's cost grows with the count, from 10,000 to
//! 1,000,000 tasks and timers, and up to 10,000 connections: the time per
//! task, per timer and per connection at each count.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::channel::oneshot;
use futures::io::{AsyncReadExt, AsyncWriteExt};

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

/// The most connections this process can hold at once, both ends in it:
/// two descriptors each, and some to spare.
fn connection_limit() -> usize {
    #[cfg(unix)]
    {
        let _ = rlimit::increase_nofile_limit(u64::MAX);
        if let Ok((soft, _)) = rlimit::getrlimit(rlimit::Resource::NOFILE) {
            return (soft.saturating_sub(256) / 2) as usize;
        }
    }
    usize::MAX
}

/// `n` connections to an echo server on the same runtime, each sending
/// 1 KiB and reading it back, then closing. The clients connect in waves
/// of 100, each wave once the last is connected: a listen queue that
/// overflows drops connection attempts that the OS tries again a second
/// later, and that second would be all the figure measured.
async fn connections<R: Net>(n: usize) {
    let (listener, address) = R::bind().await.expect("bind");
    let listener = Arc::new(listener);
    let server = R::spawn({
        let listener = listener.clone();
        async move {
            for _ in 0..n {
                let mut stream = R::accept(&listener).await.expect("accept");
                R::spawn_detached(async move {
                    let mut buf = vec![0; 1024];
                    // Until the client closes, or the runtime shuts down
                    // (the timed body ends when the clients have their
                    // answers, maybe before this task sees the close).
                    while let Ok(read @ 1..) = stream.read(&mut buf).await {
                        if stream.write_all(&buf[..read]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        }
    });
    let mut clients = Vec::with_capacity(n);
    let mut wave = Vec::new();
    for i in 0..n {
        let (connected, is_connected) = oneshot::channel::<()>();
        wave.push(is_connected);
        clients.push(R::spawn(async move {
            let mut stream = R::connect(address).await.expect("connect");
            let _ = connected.send(());
            let message = vec![7u8; 1024];
            let mut reply = vec![0; 1024];
            stream.write_all(&message).await.expect("client write");
            stream.read_exact(&mut reply).await.expect("client read");
        }));
        if wave.len() == 100 || i + 1 == n {
            for is_connected in wave.drain(..) {
                is_connected.await.expect("a client did not connect");
            }
        }
    }
    for client in clients {
        client.await;
    }
    server.await;
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
        |n| time::<R, _>(connections::<R>(n)),
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
                    "scale: {count} connections need more open files than this process may have; left out"
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
