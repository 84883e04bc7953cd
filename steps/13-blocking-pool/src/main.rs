//! Stage 13 demo: stage 12's (the echo server of stage 6, timed, with how
//! many times the worker threads went to sleep, a spawn storm and a yield
//! storm, panics and abort, deadlines and ticks), then the blocking pool:
//! jobs that block on threads of their own while the tasks run on.
//!
//! `cargo run -p step-13` starts an echo server and a set of clients in
//! this process; the clients send messages, check that every byte comes
//! back, and the demo prints what moved and how long it took, then exits.
//!
//! `cargo run -p step-13 -- serve 127.0.0.1:7000` runs only the server,
//! until you interrupt it (Ctrl-C), so you can talk to it with `nc` or
//! `socat`: `socat - TCP:127.0.0.1:7000`.

use std::collections::HashSet;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::io::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime::time::{interval, sleep, timeout};
use runtime::{JoinHandle, block_on, spawn, task};

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
        [] => {
            demo()?;
            panics_and_abort();
            deadlines_and_ticks()?;
            blocking_pool();
            Ok(())
        }
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
                "usage: step-13 [--trace FILE]   or   step-13 serve ADDRESS   e.g. step-13 serve 127.0.0.1:7000"
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

        let sleeps_before = worker_sleeps();
        let clients: Vec<_> = (0..CLIENTS)
            .map(|id| spawn(client(address, id, MESSAGES, SIZE)))
            .collect();
        let mut total = 0;
        for handle in clients {
            total += handle.await.expect("a client task panicked")?;
        }
        let sleeps = sleeps_before
            .zip(worker_sleeps())
            .map(|(before, after)| after - before);
        io::Result::Ok((total, sleeps))
    })?;
    let (total, sleeps) = total;
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
    if let Some(sleeps) = sleeps {
        let times = if sleeps == 1 { "time" } else { "times" };
        println!("meanwhile the worker threads went to sleep {sleeps} {times}");
    }
    spawn_storm();
    yield_storm();
    println!();
    println!("Notice: {CLIENTS} connections were served at once by a few worker");
    println!("threads; every byte came back to the client that sent it. When");
    println!("block_on returned, the server task, still waiting in accept, was");
    println!("dropped, and the demo exited.");
    Ok(())
}

// ANCHOR: deadlines_and_ticks
/// What this stage makes possible: giving up on a wait, and doing
/// something every period. An accept that nobody answers is given up on
/// after 200 ms; a quick job beats its timeout; an interval ticks every
/// 100 ms, and skips the ticks it missed while its task was busy.
fn deadlines_and_ticks() -> io::Result<()> {
    block_on(async {
        println!();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let started = Instant::now();
        match timeout(Duration::from_millis(200), listener.accept()).await {
            Ok(accepted) => println!("accepted {:?}, but nobody connects", accepted?.1),
            Err(elapsed) => println!(
                "accept with a 200 ms timeout, nobody connecting: {elapsed}, in {} ms",
                started.elapsed().as_millis()
            ),
        }
        // Dropping the timed-out accept gave the listener back.
        let quick = timeout(Duration::from_secs(1), async { 6 * 7 }).await;
        println!("a quick job under a 1 s timeout: {quick:?}");

        let mut ticks = interval(Duration::from_millis(100));
        let first = ticks.tick().await;
        for _ in 0..2 {
            let due = ticks.tick().await;
            println!("tick due at +{} ms", (due - first).as_millis());
        }
        // Busy until +550 ms, without awaiting: the tick due at +300 ms
        // comes late, at once, and those due at +400 and +500 ms are
        // skipped. (Until an instant, not for a while: however late the
        // tick at +200 ms was seen, the ticks printed stay the same.)
        let busy_until = first + Duration::from_millis(550);
        std::thread::sleep(busy_until.saturating_duration_since(Instant::now()));
        for _ in 0..2 {
            let due = ticks.tick().await;
            println!("tick due at +{} ms", (due - first).as_millis());
        }
        println!();
        println!("Notice: the accept that nobody answered was dropped when its deadline");
        println!("passed. The interval kept to its schedule: after the busy spell, the");
        println!("late tick came at once, and the two due meanwhile were skipped, not");
        println!("fired in a burst.");
        io::Result::Ok(())
    })
}
// ANCHOR_END: deadlines_and_ticks

// ANCHOR: worker_sleeps
/// How many times this process's worker threads have gone to sleep so far:
/// the sum of their voluntary context switches, which Linux counts for each
/// thread in `/proc`. (macOS and Windows: see `os` at the end of the file.)
#[cfg(target_os = "linux")]
fn worker_sleeps() -> Option<u64> {
    let mut total = 0;
    for thread in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        // A thread may exit between the listing and this read: skip it.
        let Ok(status) = std::fs::read_to_string(thread.path().join("status")) else {
            continue;
        };
        // Linux keeps 15 bytes of a thread's name: "runtime-worker-".
        if !status.lines().any(|line| line == "Name:\truntime-worker-") {
            continue;
        }
        total += status
            .lines()
            .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|count| count.trim().parse::<u64>().ok())?;
    }
    Some(total)
}
// ANCHOR_END: worker_sleeps

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

// ANCHOR: spawn_storm
/// What this stage speeds up: the cost of a task itself. 10,000 tasks are
/// spawned and awaited, 10 times over: each is made, queued, polled once,
/// and gives its output to its handle.
fn spawn_storm() {
    const TASKS: usize = 10_000;
    const ROUNDS: usize = 10;
    let elapsed = block_on(async {
        let started = Instant::now();
        for _ in 0..ROUNDS {
            let handles: Vec<_> = (0..TASKS).map(|i| spawn(async move { i })).collect();
            for (i, handle) in handles.into_iter().enumerate() {
                assert_eq!(handle.await.expect("a spawned task panicked"), i);
            }
        }
        started.elapsed()
    });
    println!(
        "{ROUNDS} x {TASKS} tasks spawned and awaited: {} ms, {:.0} ns per task",
        elapsed.as_millis(),
        elapsed.as_nanos() as f64 / (ROUNDS * TASKS) as f64
    );
}
// ANCHOR_END: spawn_storm

// ANCHOR: panics_and_abort
/// What this stage makes possible: cancelling tasks, and getting a panic's
/// value back. Three replicas of one request race, the first answer wins,
/// and every handle is aborted: the two replicas still asleep are dropped
/// at once, the one that answered keeps its output. Then a task panics
/// with a value of its own type, which comes back out of its handle.
fn panics_and_abort() {
    /// Counts the futures dropped, finished or not.
    struct CountDrop(Arc<AtomicUsize>);
    impl Drop for CountDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    /// A panic's payload can be any value, not only a message.
    #[derive(Debug)]
    struct DiskFull {
        free_bytes: u64,
    }

    println!();
    println!("Panics and abort:");
    block_on(async {
        let (answers, mut first_answer) = futures::channel::mpsc::unbounded();
        let dropped = Arc::new(AtomicUsize::new(0));
        let delays = [3_600_000, 10, 3_600_000]; // ms: two replicas would take an hour
        let replicas: Vec<JoinHandle<u32>> = (0..delays.len())
            .map(|replica| {
                let (answers, guard) = (answers.clone(), CountDrop(dropped.clone()));
                spawn(async move {
                    let _guard = guard;
                    sleep(Duration::from_millis(delays[replica])).await;
                    let _ = answers.unbounded_send(replica);
                    42
                })
            })
            .collect();
        let winner = first_answer.next().await.expect("a replica answers");
        for replica in &replicas {
            replica.abort();
        }
        println!("replica {winner} answered first; every replica's handle was aborted:");
        for (replica, handle) in replicas.into_iter().enumerate() {
            match handle.await {
                Ok(answer) => println!("  replica {replica}: Ok({answer}), it had finished"),
                Err(error) => println!("  replica {replica}: {error}"),
            }
        }
        println!(
            "futures dropped: {} of 3, the two sleepers without waiting an hour",
            dropped.load(Ordering::SeqCst)
        );

        let failing: JoinHandle<()> =
            spawn(async { std::panic::panic_any(DiskFull { free_bytes: 512 }) });
        let error = failing.await.expect_err("the task panics");
        println!(
            "a task panicked: is_panic() is {}; {error}",
            error.is_panic()
        );
        let payload = error.into_panic().downcast::<DiskFull>();
        let free = payload.expect("the payload is a DiskFull").free_bytes;
        println!(
            "into_panic() gave back the value it panicked with: DiskFull {{ free_bytes: {free} }}"
        );

        let inner: JoinHandle<()> = spawn(async { panic!("the inner task failed") });
        let outer: JoinHandle<()> = spawn(async move {
            if let Err(error) = inner.await
                && error.is_panic()
            {
                std::panic::resume_unwind(error.into_panic());
            }
        });
        let error = outer.await.expect_err("the outer task passes the panic on");
        println!("passed on with resume_unwind, the outer task's handle says: {error}");
    });
    println!();
    println!("Notice: abort() returned at once, and a worker dropped each sleeping");
    println!("replica at its next turn; the replica that had answered kept its");
    println!("output. A panic's payload is a value like any other: it came back out");
    println!("of the handle, and resume_unwind carried it on. (The messages on");
    println!("standard error come from Rust's panic hook: the runtime catches a");
    println!("task's panic, it does not hide it.)");
}
// ANCHOR_END: panics_and_abort

// ANCHOR: blocking_pool
/// What this stage makes possible: work that blocks, beside tasks that
/// keep running. Eight jobs each wait in a plain, blocking `recv`; while
/// they do, 1,000 tasks are spawned, run by the workers and awaited; then
/// the jobs are let go. Then a job panics, and the pool runs the next one.
fn blocking_pool() {
    const JOBS: usize = 8;
    const TASKS: usize = 1_000;
    println!();
    let started = Instant::now();
    block_on(async {
        let (gates, jobs): (Vec<_>, Vec<_>) = (0..JOBS)
            .map(|_| {
                let (open, gate) = std::sync::mpsc::channel::<()>();
                let job = task::spawn_blocking(move || {
                    // Blocks this thread, as a file read or a lock would.
                    gate.recv().expect("the demo opens every gate");
                    std::thread::current().id()
                });
                (open, job)
            })
            .collect();
        // The jobs block their threads, not the workers: tasks still run.
        for i in 0..TASKS {
            assert_eq!(spawn(async move { i }).await.expect("a task panicked"), i);
        }
        let mut threads = HashSet::new();
        for (open, job) in gates.into_iter().zip(jobs) {
            open.send(()).expect("the job waits for it");
            threads.insert(job.await.expect("a blocking job panicked"));
        }
        println!(
            "{JOBS} blocking jobs waited on {} threads of the pool; meanwhile {TASKS} tasks ran",
            threads.len()
        );

        let error = task::spawn_blocking(|| -> u32 { panic!("disk on fire") })
            .await
            .expect_err("the job panicked");
        println!(
            "a job that panicked: is_panic() is {}: {error}",
            error.is_panic()
        );
        let next = task::spawn_blocking(|| 6 * 7)
            .await
            .expect("a blocking job panicked");
        println!("the pool goes on: the next job returned {next}");
    });
    println!(
        "all of it, shutdown included, in {} ms",
        started.elapsed().as_millis()
    );
    println!("(the panic message on standard error is that job's: spawn_blocking caught it)");
}
// ANCHOR_END: blocking_pool

/// `worker_sleeps` where Linux's `/proc` is not: each system counts the
/// times a thread gave up its CPU in its own place.
#[cfg(not(target_os = "linux"))]
fn worker_sleeps() -> Option<u64> {
    os::worker_sleeps()
}

/// macOS counts context switches for the whole process only (`getrusage`
/// adds them up over its threads): the count includes the few of the main
/// thread, which waits in `block_on`, an upper bound for the workers'.
#[cfg(all(unix, not(target_os = "linux")))]
mod os {
    pub fn worker_sleeps() -> Option<u64> {
        // SAFETY: an all-zero `rusage` is valid (integers and timevals).
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `usage` is a valid place for the call to write to.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
            return None;
        }
        Some((usage.ru_nvcsw + usage.ru_nivcsw) as u64)
    }
}

/// Windows counts each thread's context switches, and lists them with the
/// system's processes and threads (`NtQuerySystemInformation`); a worker's
/// name is its thread description.
#[cfg(windows)]
mod os {
    use windows_sys::Wdk::System::SystemInformation::{
        NtQuerySystemInformation, SystemProcessInformation,
    };
    use windows_sys::Win32::Foundation::{CloseHandle, LocalFree, STATUS_INFO_LENGTH_MISMATCH};
    use windows_sys::Win32::System::Threading::{
        GetCurrentProcessId, GetThreadDescription, OpenThread, THREAD_QUERY_LIMITED_INFORMATION,
    };
    use windows_sys::Win32::System::WindowsProgramming::{
        SYSTEM_PROCESS_INFORMATION, SYSTEM_THREAD_INFORMATION,
    };

    pub fn worker_sleeps() -> Option<u64> {
        // u64s, for the alignment of the records the call writes.
        let mut buffer = vec![0u64; 1 << 17];
        loop {
            let mut needed = 0;
            // SAFETY: the buffer is valid for writes of the length given.
            let status = unsafe {
                NtQuerySystemInformation(
                    SystemProcessInformation,
                    buffer.as_mut_ptr().cast(),
                    (buffer.len() * 8) as u32,
                    &mut needed,
                )
            };
            match status {
                STATUS_INFO_LENGTH_MISMATCH => buffer.resize(buffer.len() * 2, 0),
                status if status < 0 => return None,
                _ => break,
            }
        }
        // SAFETY: no preconditions.
        let us = unsafe { GetCurrentProcessId() } as usize;
        let mut record = buffer.as_ptr().cast::<u8>();
        loop {
            // SAFETY: the call wrote a chain of records, each a process
            // followed by its threads; `record` points at one of them.
            let process = unsafe { &*record.cast::<SYSTEM_PROCESS_INFORMATION>() };
            if process.UniqueProcessId as usize == us {
                // SAFETY: the process's threads follow its record.
                let threads = unsafe {
                    std::slice::from_raw_parts(
                        record
                            .add(size_of::<SYSTEM_PROCESS_INFORMATION>())
                            .cast::<SYSTEM_THREAD_INFORMATION>(),
                        process.NumberOfThreads as usize,
                    )
                };
                let workers = threads.iter().filter(|thread| {
                    thread_name(thread.ClientId.UniqueThread as u32)
                        .is_some_and(|name| name.starts_with("runtime-worker"))
                });
                // `Reserved3` is the thread's count of context switches,
                // a field whose name winternl.h leaves out.
                return Some(workers.map(|thread| u64::from(thread.Reserved3)).sum());
            }
            if process.NextEntryOffset == 0 {
                return None;
            }
            // SAFETY: the next record of the chain, within the buffer.
            record = unsafe { record.add(process.NextEntryOffset as usize) };
        }
    }

    /// The description of thread `id`, which Rust's `thread::Builder::name`
    /// sets; `None` if it has exited meanwhile.
    fn thread_name(id: u32) -> Option<String> {
        // SAFETY: no pointer is passed; a null handle is checked.
        let thread = unsafe { OpenThread(THREAD_QUERY_LIMITED_INFORMATION, 0, id) };
        if thread.is_null() {
            return None;
        }
        let mut wide = std::ptr::null_mut();
        // SAFETY: an open thread handle, and a place for the string's address.
        let result = unsafe { GetThreadDescription(thread, &mut wide) };
        let name = (result >= 0 && !wide.is_null()).then(|| {
            // SAFETY: the description is a string that ends with a zero.
            let len = (0..).take_while(|&i| unsafe { *wide.add(i) } != 0).count();
            // SAFETY: `len` characters before that zero.
            String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(wide, len) })
        });
        // SAFETY: the string was allocated for us with LocalAlloc; the handle
        // is ours; each is freed once.
        unsafe {
            LocalFree(wide.cast());
            CloseHandle(thread);
        }
        name
    }
}
