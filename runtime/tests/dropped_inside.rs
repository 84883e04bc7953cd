//! A `Runtime` dropped inside one of its own tasks: the task panics with a
//! message that names the misuse, and the runtime still stops. Its workers
//! exit and its unfinished tasks are dropped (lesson #9, see the book's
//! appendix "Bugs this book guards against"), though nobody waits for them.
//!
//! This file holds one test, so that no other test's runtime has worker
//! threads alive in this process while it counts them.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{threads_named, watchdog};
use runtime::Runtime;

/// Waits up to 2 s for `done`: the workers exit on their own, a moment
/// after the panic, and nobody joins them.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{what} did not happen"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_runtime_dropped_inside_its_own_task_still_stops_its_workers_and_drops_its_tasks() {
    watchdog(
        Duration::from_secs(60),
        "runtimes dropped inside their own tasks",
        || {
            for round in 0..50 {
                struct SetOnDrop(Arc<AtomicBool>);
                impl Drop for SetOnDrop {
                    fn drop(&mut self) {
                        self.0.store(true, Ordering::SeqCst);
                    }
                }
                let dropped = Arc::new(AtomicBool::new(false));
                let runtime = Runtime::builder().worker_threads(2).build().unwrap();
                let guard = SetOnDrop(dropped.clone());
                runtime.spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                });
                let (sender, receiver) = std::sync::mpsc::channel::<Runtime>();
                let receiver = parking_lot::Mutex::new(receiver);
                let handle = runtime.spawn(async move {
                    let runtime = receiver.lock().recv().unwrap();
                    drop(runtime);
                });
                sender.send(runtime).unwrap();
                // Not `runtime::block_on`: its own workers would be counted.
                let error = futures::executor::block_on(handle)
                    .expect_err("dropping the runtime inside its task did not panic")
                    .to_string();
                assert!(
                    error.contains("dropped inside one of its own tasks"),
                    "{error}"
                );
                wait_until(&format!("round {round}: the pending task's drop"), || {
                    dropped.load(Ordering::SeqCst)
                });
                wait_until(&format!("round {round}: the workers' exit"), || {
                    threads_named("runtime-worker").is_empty()
                });
            }
        },
    );
}
