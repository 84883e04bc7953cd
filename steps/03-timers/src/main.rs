//! Stage 3 demo: timers firing in deadline order, at almost no CPU cost.
//!
//! Run it with `cargo run -p step-03`. Five tasks sleep for different
//! times, spawned out of order; they wake in deadline order. Then the demo
//! prints how much CPU time the process used while it waited.

use std::time::{Duration, Instant};

use runtime::{block_on, spawn, time};

fn main() {
    let cpu_before = process_cpu_time();
    let started = Instant::now();

    // ANCHOR: main
    block_on(async move {
        let mut handles = Vec::new();
        for ms in [300, 100, 400, 50, 200] {
            handles.push(spawn(async move {
                time::sleep(Duration::from_millis(ms)).await;
                let at = started.elapsed().as_millis();
                println!("  woke at {at:>3} ms: the task that slept {ms} ms");
            }));
        }
        for handle in handles {
            handle.await.expect("a sleeping task failed");
        }
    });
    // ANCHOR_END: main

    let wall = started.elapsed();
    println!();
    match (cpu_before, process_cpu_time()) {
        (Some(before), Some(after)) => println!(
            "Waited {} ms in all, using {} ms of CPU time.",
            wall.as_millis(),
            (after - before).as_millis()
        ),
        _ => println!("Waited {} ms in all.", wall.as_millis()),
    }
    println!("Notice: the tasks woke in deadline order, each on time, and the");
    println!("executor used almost no CPU: it slept until each next deadline.");
}

/// CPU time (user + system) this process has used so far, read from
/// `/proc/self/stat` on Linux; `None` elsewhere. One tick is 10 ms.
fn process_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}
