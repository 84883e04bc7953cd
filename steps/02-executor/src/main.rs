//! Stage 2 demo: many tasks interleaving on one thread.
//!
//! Run it with `cargo run -p step-02`. Three tasks count, yielding after
//! each step, so their lines interleave; a fourth never finishes and is
//! dropped when `block_on` returns.

// ANCHOR: imports
use std::future::pending;

use runtime::{block_on, spawn, task};
// ANCHOR_END: imports

// ANCHOR: counter
/// Counts to `steps`, letting the other tasks run after each step.
async fn counter(name: &'static str, steps: u32) -> u32 {
    for step in 1..=steps {
        println!("  {name}: step {step} of {steps}");
        task::yield_now().await;
    }
    steps
}
// ANCHOR_END: counter

/// Says so when it is dropped: shows what happens to unfinished tasks.
struct Announce(&'static str);

impl Drop for Announce {
    fn drop(&mut self) {
        println!("  {}: dropped", self.0);
    }
}

fn main() {
    // ANCHOR: main
    let total = block_on(async {
        let handles = vec![
            spawn(counter("task A", 3)),
            spawn(counter("task B", 2)),
            spawn(counter("task C", 4)),
        ];
        // A task that never finishes: it waits forever.
        spawn(async {
            let _announce = Announce("the forever task");
            pending::<()>().await;
        });

        let mut total = 0;
        for handle in handles {
            total += handle.await.expect("a counter task failed");
        }
        println!("main future: all counters joined");
        total
    });
    println!("block_on returned {total}");
    // ANCHOR_END: main

    println!();
    println!("Notice: A, B and C take turns, one step each, because every");
    println!("yield_now puts the task at the back of the ready queue. The");
    println!("forever task was dropped when block_on returned, not leaked.");
}
