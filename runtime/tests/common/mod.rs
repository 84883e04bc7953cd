//! Helpers shared by this stage's tests.
#![allow(dead_code)] // each test file uses a different subset

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use parking_lot::Mutex;

/// Runs `body` on its own thread and fails the test with a message naming
/// `what` if it has not finished within `limit`: a hang becomes a failure.
///
/// `WATCHDOG_SCALE` in the environment multiplies every limit: ci/test sets
/// it for ThreadSanitizer's build, which runs several times slower.
pub fn watchdog<T: Send + 'static>(
    limit: Duration,
    what: &str,
    body: impl FnOnce() -> T + Send + 'static,
) -> T {
    let scale: u32 = std::env::var("WATCHDOG_SCALE")
        .ok()
        .and_then(|scale| scale.parse().ok())
        .unwrap_or(1);
    let limit = limit * scale;
    let (done, finished) = mpsc::channel();
    let worker = thread::Builder::new()
        .name(format!("watched: {what}"))
        .spawn(move || {
            let _ = done.send(body());
        })
        .expect("failed to spawn the watched thread");
    match finished.recv_timeout(limit) {
        Ok(value) => {
            worker
                .join()
                .expect("the watched thread panicked after finishing");
            value
        }
        // The body panicked: re-raise its panic so the test shows its message.
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the body neither returned nor panicked"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!(
                "watchdog: `{what}` did not finish within {limit:?}: a lost wakeup or a deadlock"
            )
        }
    }
}

/// CPU time (user + system) this whole process has used so far, from
/// `/proc/self/stat`. Its resolution is one clock tick (10 ms on Linux).
pub fn process_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("cannot read /proc/self/stat");
    cpu_time_in(&stat)
}

/// `process_cpu_time` through a file opened once: for a test that leaves
/// no file descriptor free while it measures.
#[allow(dead_code)]
pub struct CpuClock(std::fs::File);

#[allow(dead_code)]
impl CpuClock {
    pub fn open() -> CpuClock {
        CpuClock(std::fs::File::open("/proc/self/stat").expect("cannot open /proc/self/stat"))
    }

    pub fn read(&mut self) -> Duration {
        use std::io::{Read, Seek};
        let mut stat = String::new();
        self.0.rewind().expect("cannot rewind /proc/self/stat");
        self.0
            .read_to_string(&mut stat)
            .expect("cannot read /proc/self/stat");
        cpu_time_in(&stat)
    }
}

fn cpu_time_in(stat: &str) -> Duration {
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after_name = &stat[stat.rfind(')').expect("malformed /proc/self/stat") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// A small, fast, deterministic random number generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Spins for about `n` iterations: a gap of random length between events,
/// shorter than any sleep, so that races land at every point of a poll.
pub fn spin(n: u64) {
    for i in 0..n {
        std::hint::black_box(i);
    }
}

/// A one-value channel written the way a leaf future should be: the waker
/// of the latest poll is the one that gets woken.
pub fn oneshot<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(Shared {
        value: None,
        waker: None,
    }));
    (Sender(shared.clone()), Receiver(shared))
}

struct Shared<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

pub struct Sender<T>(Arc<Mutex<Shared<T>>>);
pub struct Receiver<T>(Arc<Mutex<Shared<T>>>);

impl<T> Sender<T> {
    pub fn send(self, value: T) {
        let waker = {
            let mut shared = self.0.lock();
            shared.value = Some(value);
            shared.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut shared = self.0.lock();
        match shared.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                shared.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// The names of this process's threads whose name starts with `prefix`,
/// from `/proc/self/task` (Linux). Linux keeps 15 bytes of a name.
pub fn threads_named(prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir("/proc/self/task").expect("cannot list /proc/self/task") {
        let comm = entry
            .expect("cannot read /proc/self/task")
            .path()
            .join("comm");
        // A thread may exit between the listing and the read: skip it.
        if let Ok(name) = std::fs::read_to_string(comm)
            && name.starts_with(prefix)
        {
            names.push(name.trim().to_string());
        }
    }
    names
}

/// A waker that panics when woken: the tests that check that a waker from
/// anywhere (another executor, a hand-made one) cannot take a runtime
/// thread down (lesson #8).
pub fn panicking_waker() -> Waker {
    struct PanicOnWake;
    impl std::task::Wake for PanicOnWake {
        fn wake(self: Arc<Self>) {
            panic!("this waker panics");
        }
    }
    Waker::from(Arc::new(PanicOnWake))
}
