//! Stage 4 demo: CPU-heavy tasks spread over the worker threads.
//!
//! Run it with `cargo run -p step-04`. Eight tasks each do the same amount
//! of arithmetic. First they run one after another in a single task, then
//! as eight tasks at once; each line says which worker thread ran it.
//!
//! `cargo run -p step-04 -- --short-tasks --trace FILE` runs tasks that
//! yield every few microseconds instead, so that the workers meet at the
//! ready queue's lock: the trace shows their waits for it (chapter 4's
//! figure).

use std::io;
use std::time::{Duration, Instant};

use runtime::{block_on, spawn};

// ANCHOR: work
/// Some work that keeps a core busy for a while: the sum of the number of
/// steps the Collatz sequence takes to reach 1, over a range of starts.
fn busy_work(seed: u64) -> u64 {
    let mut total = 0;
    for start in seed * 100_000 + 1..=(seed + 1) * 100_000 {
        let mut n = start;
        while n != 1 {
            n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
            total += 1;
        }
    }
    total
}
// ANCHOR_END: work

fn thread_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .to_string()
}

fn main() -> io::Result<()> {
    // `--trace FILE` records what every thread does (see chapter 4).
    let (trace, args) = runtime::trace::start_if_asked(std::env::args().skip(1).collect())?;
    if args.iter().any(|arg| arg == "--short-tasks") {
        short_tasks();
        return runtime::trace::write_if_asked(trace);
    }
    const TASKS: u64 = 8;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("{workers} worker threads (one per available core)");

    // ANCHOR: main
    let (one_thread, spread) = block_on(async {
        // All the work in one task: one thread does it all.
        let started = Instant::now();
        let sequential = spawn(async { (0..TASKS).map(busy_work).sum::<u64>() });
        let sequential_total = sequential.await.expect("the task panicked");
        let one_thread = started.elapsed();

        // The same work as eight tasks: the workers share it.
        let started = Instant::now();
        let handles: Vec<_> = (0..TASKS)
            .map(|seed| spawn(async move { (seed, busy_work(seed), thread_name()) }))
            .collect();
        let mut spread_total = 0;
        for handle in handles {
            let (seed, total, thread) = handle.await.expect("a task panicked");
            println!("  task {seed} ran on {thread}");
            spread_total += total;
        }
        assert_eq!(spread_total, sequential_total);
        (one_thread, started.elapsed())
    });
    // ANCHOR_END: main

    println!();
    println!("one task on one thread: {:>5} ms", one_thread.as_millis());
    println!(
        "{TASKS} tasks on {workers} workers:  {:>5} ms",
        spread.as_millis()
    );
    println!("speed-up: {:.2}x", ratio(one_thread, spread));
    println!();
    println!("Notice: the eight tasks ran on different worker threads at the");
    println!("same time. On a machine with {workers} idle cores the speed-up is close");
    println!("to {workers}x; when other programs keep the cores busy, it is less.");
    runtime::trace::write_if_asked(trace)
}

/// Many tasks that each run a few microseconds at a time and yield: every
/// turn a worker pushes a task back on the ready queue and pops the next,
/// so the workers meet at its lock, and wait there for each other.
fn short_tasks() {
    const TASKS: u64 = 100;
    const TURNS: u64 = 200;
    let total = block_on(async {
        let handles: Vec<_> = (0..TASKS)
            .map(|task| {
                spawn(async move {
                    let mut steps = 0;
                    for turn in 0..TURNS {
                        steps += collatz_steps(task * TURNS + turn + 1);
                        runtime::task::yield_now().await;
                    }
                    steps
                })
            })
            .collect();
        let mut total = 0;
        for handle in handles {
            total += handle.await.expect("a task panicked");
        }
        total
    });
    println!(
        "{TASKS} tasks took {} short turns, {total} Collatz steps in all",
        TASKS * TURNS
    );
}

/// The number of steps the Collatz sequence takes from `start` to 1.
fn collatz_steps(start: u64) -> u64 {
    let (mut n, mut steps) = (start, 0);
    while n != 1 {
        n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
        steps += 1;
    }
    steps
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(f64::EPSILON)
}
