//! Stage 1 demo: a hand-written future, completed from another thread.
//!
//! Run it with `cargo run -p step-01`. Watch the order of the lines: the
//! future is polled once, says `Pending`, and the main thread sleeps until
//! the other thread sends the value and calls the waker.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use runtime::block_on;

// ANCHOR: channel
/// What the sending thread and the receiving future share.
struct Slot {
    value: Option<String>,
    /// The waker of the latest poll: the one to call when the value arrives.
    waker: Option<Waker>,
}

/// A future that resolves to the value another thread sends.
struct Receiver {
    slot: Arc<Mutex<Slot>>,
    polls: u32,
    started: Instant,
}

impl Future for Receiver {
    type Output = String;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<String> {
        self.polls += 1;
        let ms = self.started.elapsed().as_millis();
        let mut slot = self.slot.lock().unwrap();
        match slot.value.take() {
            Some(value) => {
                println!(
                    "{ms:>4} ms  poll #{}: the value is there: Ready",
                    self.polls
                );
                Poll::Ready(value)
            }
            None => {
                println!(
                    "{ms:>4} ms  poll #{}: no value yet: store the waker, Pending",
                    self.polls
                );
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Sends `value` from the current thread and wakes the receiving future.
fn send(slot: &Mutex<Slot>, value: String, started: Instant) {
    let waker = {
        let mut slot = slot.lock().unwrap();
        slot.value = Some(value);
        slot.waker.take()
    };
    let ms = started.elapsed().as_millis();
    println!("{ms:>4} ms  sender thread: value stored, calling wake()");
    if let Some(waker) = waker {
        waker.wake();
    }
}
// ANCHOR_END: channel

fn main() {
    let started = Instant::now();
    let slot = Arc::new(Mutex::new(Slot {
        value: None,
        waker: None,
    }));

    let sender = {
        let slot = slot.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(300));
            send(&slot, "hello from another thread".to_string(), started);
        })
    };

    // ANCHOR: main
    let receiver = Receiver {
        slot,
        polls: 0,
        started,
    };
    println!("   0 ms  main thread: block_on(receiver)");
    let value = block_on(receiver);
    let ms = started.elapsed().as_millis();
    println!("{ms:>4} ms  main thread: block_on returned {value:?}");
    // ANCHOR_END: main

    sender.join().expect("the sender thread panicked");
    println!();
    println!("Notice: two polls, not thousands. Between them the main thread was");
    println!("parked, using no CPU, until the sender's wake() unparked it.");
}
