//! Memory: resident bytes per parked task and per idle connection, each
//! runtime measured in a process of its own, so that what one runtime
//! allocated and freed does not count for the next.
//!
//! The parent (the `bench` process) runs this same executable again with
//! the hidden `memory-child` command. For tasks the child does everything;
//! for connections the parent is the client, so that the child's file
//! descriptors are the server's alone.

use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::channel::oneshot;
use futures::io::AsyncReadExt;

use crate::runtimes::{Net, Runtime, Smol, Timers, TokioMultiThread};

/// How many tasks and connections.
#[derive(Clone, Copy)]
pub struct MemorySizes {
    pub tasks: usize,
    pub connections: usize,
}

impl MemorySizes {
    pub const FULL: MemorySizes = MemorySizes {
        tasks: 100_000,
        connections: 10_000,
    };
    pub const SMOKE: MemorySizes = MemorySizes {
        tasks: 1_000,
        connections: 100,
    };
}

/// One runtime's figures, in bytes, if this OS lets the process read them.
pub struct MemoryRun {
    pub runtime: &'static str,
    pub per_task: Option<f64>,
    pub per_connection: Option<f64>,
}

pub struct MemoryResult {
    pub sizes: MemorySizes,
    pub runs: Vec<MemoryRun>,
}

/// Connections made before the client waits for the server to accept them.
const WAVE: usize = 100;

const RUNTIMES: [&str; 3] = ["runtime", "tokio multi-thread", "smol"];

/// This process's resident memory in bytes: the `VmRSS` line of
/// /proc/self/status. `None` where there is no such file (not Linux).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Raises this process's limit on open files as far as it may go: 10,000
/// connections are 10,000 descriptors on each side.
fn raise_file_limit() {
    #[cfg(unix)]
    {
        let _ = rlimit::increase_nofile_limit(u64::MAX);
    }
}

/// Measures every runtime, each in a child process.
pub fn run_all(sizes: MemorySizes) -> MemoryResult {
    raise_file_limit();
    let runs = RUNTIMES
        .iter()
        .map(|&runtime| {
            eprint!("memory, {runtime}: ");
            let per_task = child_tasks(runtime, sizes.tasks).unwrap_or_else(|error| {
                eprintln!("error: measuring tasks on {runtime}: {error}");
                None
            });
            let per_connection =
                child_connections(runtime, sizes.connections).unwrap_or_else(|error| {
                    eprintln!("error: measuring connections on {runtime}: {error}");
                    None
                });
            eprintln!(".");
            MemoryRun {
                runtime,
                per_task,
                per_connection,
            }
        })
        .collect();
    MemoryResult { sizes, runs }
}

fn child(runtime: &str, what: &str, n: usize) -> io::Result<std::process::Child> {
    Command::new(std::env::current_exe()?)
        .args(["memory-child", runtime, what, &n.to_string()])
        .stdout(Stdio::piped())
        .spawn()
}

/// The child's answer: bytes per item, or `-` where it could not measure.
fn parse(line: &str) -> io::Result<Option<f64>> {
    match line.trim() {
        "-" => Ok(None),
        number => number
            .parse()
            .map(Some)
            .map_err(|_| io::Error::other(format!("the child said {number:?}"))),
    }
}

fn child_tasks(runtime: &str, n: usize) -> io::Result<Option<f64>> {
    let output = child(runtime, "tasks", n)?.wait_with_output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "the child failed: {}",
            output.status
        )));
    }
    parse(&String::from_utf8_lossy(&output.stdout))
}

fn child_connections(runtime: &str, n: usize) -> io::Result<Option<f64>> {
    let mut child = child(runtime, "connections", n)?;
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let mut next_line = || -> io::Result<String> {
        lines
            .next()
            .unwrap_or_else(|| Err(io::ErrorKind::UnexpectedEof.into()))
    };
    let address: SocketAddr = next_line()?
        .trim()
        .parse()
        .map_err(|_| io::Error::other("the child did not say where it listens"))?;
    let mut clients = Vec::with_capacity(n);
    for i in 0..n {
        clients.push(std::net::TcpStream::connect(address)?);
        // In waves, each waiting for the child to say it accepted them: a
        // listen queue that overflows drops the next connection attempt,
        // and the OS tries again only a second later. (smol's queue is
        // the OS default, 128 on Linux.)
        if (i + 1) % WAVE == 0 || i + 1 == n {
            next_line()?;
        }
    }
    let answer = parse(&next_line()?)?;
    drop(clients);
    let status = child.wait()?;
    if !status.success() {
        return Err(io::Error::other(format!("the child failed: {status}")));
    }
    Ok(answer)
}

/// The `memory-child RUNTIME tasks|connections N` command: measures, prints
/// bytes per item (or `-`), exits.
pub fn child_main(args: &[String]) -> Result<(), String> {
    let [runtime, what, n] = args else {
        return Err("usage: bench memory-child RUNTIME tasks|connections N".into());
    };
    let n: usize = n.parse().map_err(|_| format!("not a count: {n}"))?;
    raise_file_limit();
    let per_item = match (runtime.as_str(), what.as_str()) {
        ("runtime", "tasks") => tasks::<Runtime>(n),
        ("tokio multi-thread", "tasks") => tasks::<TokioMultiThread>(n),
        ("smol", "tasks") => tasks::<Smol>(n),
        ("runtime", "connections") => connections::<Runtime>(n),
        ("tokio multi-thread", "connections") => connections::<TokioMultiThread>(n),
        ("smol", "connections") => connections::<Smol>(n),
        _ => return Err(format!("no runtime {runtime:?} or no measure {what:?}")),
    };
    match per_item {
        Some(bytes) => println!("{bytes:.0}"),
        None => println!("-"),
    }
    Ok(())
}

/// Waits, on `R`'s timers, until `count` reaches `n`.
async fn until<R: Timers>(count: &AtomicUsize, n: usize) {
    while count.load(Ordering::SeqCst) < n {
        R::sleep(Duration::from_millis(1)).await;
    }
}

/// `n` tasks, each parked on a oneshot channel whose sender is kept here:
/// resident bytes after, minus before, over `n`.
fn tasks<R: Timers>(n: usize) -> Option<f64> {
    R::run(async move {
        let mut senders = Vec::with_capacity(n);
        let parked = Arc::new(AtomicUsize::new(0));
        let before = resident_bytes()?;
        for _ in 0..n {
            let (sender, receiver) = oneshot::channel::<()>();
            senders.push(sender);
            let parked = parked.clone();
            R::spawn_detached(async move {
                parked.fetch_add(1, Ordering::SeqCst);
                let _ = receiver.await;
            });
        }
        until::<R>(&parked, n).await;
        let after = resident_bytes()?;
        drop(senders);
        Some(after.saturating_sub(before) as f64 / n as f64)
    })
}

/// Accepts `n` connections from the parent, each served by a task parked
/// in a read: resident bytes after, minus before, over `n`.
fn connections<R: Timers + Net>(n: usize) -> Option<f64> {
    R::run(async move {
        let (listener, address) = R::bind().await.expect("memory: bind");
        let parked = Arc::new(AtomicUsize::new(0));
        let before = resident_bytes();
        // The parent connects once it reads the address.
        println!("{address}");
        let _ = io::stdout().flush();
        for i in 0..n {
            let mut stream = R::accept(&listener).await.expect("memory: accept");
            if (i + 1) % WAVE == 0 || i + 1 == n {
                println!("accepted {}", i + 1);
                let _ = io::stdout().flush();
            }
            let parked = parked.clone();
            R::spawn_detached(async move {
                parked.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 64];
                let _ = stream.read(&mut buf).await;
            });
        }
        until::<R>(&parked, n).await;
        let after = resident_bytes();
        let per_connection = match (before, after) {
            (Some(before), Some(after)) => Some(after.saturating_sub(before) as f64 / n as f64),
            _ => None,
        };
        // The tasks still wait: the runtime drops them as it shuts down.
        per_connection
    })
}
