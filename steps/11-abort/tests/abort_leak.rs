//! Lesson #9 for `abort` (see the book's appendix "Bugs this book guards
//! against"): an aborted task leaves nothing behind, whatever it was
//! waiting on. Each task here owns a socket, an OS handle, which is closed
//! only when the task's future is dropped; and every task holds its
//! executor, whose own OS handles (the reactor's event queue and its
//! waker) are closed only when the executor itself is freed.
//!
//! This file holds one test, so that no other test's runtime opens or
//! closes files in this process while it counts them (as `tests/leak.rs`).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{open_handles, watchdog};
use futures::io::AsyncReadExt;
use runtime::net::{TcpListener, TcpStream};
use runtime::time::sleep;
use runtime::{block_on, spawn, task};

/// Lesson #9: 200 runtimes, each with 20 tasks that own a socket and wait: on a
/// timer, in `accept`, in a read, forever, or in a loop of yields. All are
/// aborted while the runtime runs: once their handles have resolved, their
/// sockets are closed already, before any shutdown; and after the 200
/// runtimes, no file is left open.
#[test]
fn aborted_tasks_close_what_they_held_at_once_and_leave_nothing_behind() {
    watchdog(
        Duration::from_secs(60),
        "200 runtimes whose tasks are aborted",
        || {
            let round = || {
                block_on(async {
                    let before = open_handles();
                    let started = Arc::new(AtomicUsize::new(0));
                    let mut handles = Vec::new();
                    for kind in 0..20 {
                        let started = started.clone();
                        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                        let address = listener.local_addr().unwrap();
                        handles.push(spawn(async move {
                            started.fetch_add(1, Ordering::SeqCst);
                            match kind % 5 {
                                0 => sleep(Duration::from_secs(3600)).await,
                                1 => drop(listener.accept().await),
                                2 => {
                                    let mut stream = TcpStream::connect(address).await.unwrap();
                                    let _ = stream.read(&mut [0; 16]).await;
                                }
                                3 => std::future::pending().await,
                                _ => loop {
                                    task::yield_now().await;
                                },
                            }
                            drop(listener);
                        }));
                    }
                    while started.load(Ordering::SeqCst) < 20 {
                        task::yield_now().await;
                    }
                    sleep(Duration::from_millis(2)).await; // let them park
                    for handle in &handles {
                        handle.abort();
                    }
                    for handle in handles {
                        assert!(handle.await.unwrap_err().is_cancelled());
                    }
                    // The tasks own 24 sockets (20 listeners, 4 streams):
                    // a leak leaves at least 20 open. mio and the OS may keep
                    // a few handles of their own meanwhile (under Wine, 4
                    // were seen).
                    let left_open = open_handles().saturating_sub(before);
                    assert!(
                        left_open < 10,
                        "20 aborted tasks left {left_open} handles open: their sockets were not closed"
                    );
                })
            };
            round();
            let before = open_handles();
            for _ in 0..200 {
                round();
            }
            let left_open = open_handles().saturating_sub(before);
            // Each executor holds a few: a leak of one executor per round
            // leaves hundreds open.
            assert!(left_open <= 10, "200 runtimes left {left_open} files open");
        },
    );
}
