//! The recorder behind `--trace FILE`: what every thread of the runtime
//! does, over time, written as a Chrome trace-event file that Perfetto
//! (<https://ui.perfetto.dev>) and `chrome://tracing` open.
//!
//! This file is the same in every stage from the workers stage on; a stage
//! calls [`record`] where the events it has happen, and a stage whose
//! workers share one ready queue locks it with [`lock`], which records the
//! waits for it. Recording is off until
//! [`start`]: then each call costs one relaxed atomic load and returns.
//! Once on, each thread appends to a buffer of its own, with no lock; the
//! buffer goes to one shared list when the thread exits, and [`write`]
//! takes that list.

// A stage uses the events it has: stage 4 has no reactor to record.
#![allow(dead_code)]

use std::cell::RefCell;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use serde_json::{Value, json};

/// Where a woken task was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Queue {
    /// The ready queue all workers share.
    Shared,
    /// The waking worker's own queue.
    Local,
    /// The queue for tasks woken from outside the workers.
    Injector,
}

/// How a thread parks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Park {
    /// An idle worker, until a task is queued.
    Idle,
    /// The timekeeper, until a task, a new earliest deadline, or that
    /// deadline.
    Timekeeper,
    /// The timekeeper in the OS poll: until an I/O event too.
    Reactor,
}

/// One thing a thread did. Small and `Copy`: recording one is a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    /// A task (its [`task_id`]) was spawned into a queue.
    Spawn(usize, Queue),
    /// A task's poll begins.
    PollStart(usize),
    /// A task's poll ends.
    PollEnd(usize),
    /// This thread woke a task into a queue.
    Wake(usize, Queue),
    /// This thread parks.
    Park(Park),
    /// This thread's park ended.
    Unpark,
    /// An idle worker starts looking for work before it parks.
    SpinStart,
    /// Its search ended, with work found (`true`) or not.
    SpinEnd(bool),
    /// A worker took tasks from another's queue: from which worker, how
    /// many.
    Steal(usize, usize),
    /// A look at the OS's events returned some: how many.
    ReactorTurn(usize),
    /// Timers were due and their tasks woken: how many.
    TimersFired(usize),
    /// A blocking-pool job starts.
    BlockingStart,
    /// A blocking-pool job ends.
    BlockingEnd,
    /// This thread waits for a lock that another thread holds.
    LockWaitStart,
    /// It has the lock.
    LockWaitEnd,
}

/// Whether events are recorded.
static ENABLED: AtomicBool = AtomicBool::new(false);
/// The instant every timestamp counts from: when recording started.
static ORIGIN: OnceLock<Instant> = OnceLock::new();
/// The buffers of the threads that have exited (or flushed).
static COLLECTED: Mutex<Vec<Buffer>> = Mutex::new(Vec::new());
/// The next thread number.
static NEXT_THREAD: AtomicUsize = AtomicUsize::new(1);

/// The most events one thread keeps: a runaway recording stops growing at
/// 32 MiB a thread, and says how many it dropped.
const MAX_EVENTS: usize = 1 << 20;

/// One thread's events, with its name.
struct Buffer {
    thread: usize,
    name: String,
    events: Vec<(u64, Event)>,
    dropped: usize,
}

/// A thread's buffer, handed to the shared list when the thread exits.
struct Local(Option<Buffer>);

impl Drop for Local {
    fn drop(&mut self) {
        if let Some(buffer) = self.0.take() {
            collect(buffer);
        }
    }
}

/// Adds a thread's events to the shared list.
fn collect(buffer: Buffer) {
    COLLECTED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(buffer);
}

thread_local! {
    /// This thread's events, from its first one.
    static BUFFER: RefCell<Local> = const { RefCell::new(Local(None)) };
}

// ANCHOR: record
/// Records `event` on this thread, if recording is on.
#[inline]
pub(crate) fn record(event: Event) {
    if ENABLED.load(Ordering::Relaxed) {
        record_now(event);
    }
}
// ANCHOR_END: record

/// Whether events are being recorded: for an event whose numbers cost
/// something to gather, so that they are gathered only then.
#[inline]
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Locks `mutex`. While recording, a wait for another thread to let go
/// of it is recorded as a lock wait; otherwise this costs one relaxed load
/// more than `mutex.lock()`.
#[inline]
pub(crate) fn lock<T>(mutex: &parking_lot::Mutex<T>) -> parking_lot::MutexGuard<'_, T> {
    if !enabled() {
        return mutex.lock();
    }
    if let Some(guard) = mutex.try_lock() {
        return guard;
    }
    record_now(Event::LockWaitStart);
    let guard = mutex.lock();
    record_now(Event::LockWaitEnd);
    guard
}

/// A task's number in the trace: its address, which no other live task
/// shares. Reading it costs nothing, unlike a call through `dyn`.
#[inline]
pub(crate) fn task_id<T: ?Sized>(task: &std::sync::Arc<T>) -> usize {
    std::sync::Arc::as_ptr(task).cast::<()>().addr()
}

/// The recording itself, out of line so that [`record`] stays a load and a
/// branch where it is inlined.
#[cold]
#[inline(never)]
fn record_now(event: Event) {
    let Some(origin) = ORIGIN.get() else { return };
    let at = Instant::now().saturating_duration_since(*origin).as_nanos() as u64;
    // A thread that records while its thread-locals are being torn down
    // loses the event; it is not worth a panic.
    let _ = BUFFER.try_with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        let buffer = buffer.0.get_or_insert_with(|| Buffer {
            thread: NEXT_THREAD.fetch_add(1, Ordering::Relaxed),
            name: track_name(),
            events: Vec::with_capacity(4096),
            dropped: 0,
        });
        if buffer.events.len() < MAX_EVENTS {
            buffer.events.push((at, event));
        } else {
            buffer.dropped += 1;
        }
    });
}

/// The name of this thread's track: "worker 0" for `runtime-worker-0`.
fn track_name() -> String {
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("thread");
    name.strip_prefix("runtime-")
        .unwrap_or(name)
        .replace('-', " ")
}

/// Starts recording, from now.
pub fn start() {
    let _ = ORIGIN.set(Instant::now());
    ENABLED.store(true, Ordering::Relaxed);
}

/// `--trace FILE` among the program's arguments: starts recording and
/// returns FILE, and the arguments without those two.
pub fn start_if_asked(args: Vec<String>) -> io::Result<(Option<PathBuf>, Vec<String>)> {
    let Some(at) = args.iter().position(|arg| arg == "--trace") else {
        return Ok((None, args));
    };
    let mut rest = args;
    let Some(file) = rest.get(at + 1).cloned() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--trace needs a file name: --trace FILE",
        ));
    };
    rest.drain(at..at + 2);
    start();
    Ok((Some(PathBuf::from(file)), rest))
}

/// Writes the trace to FILE if `--trace FILE` asked for one, and says so
/// on standard error (standard output stays the demo's own).
pub fn write_if_asked(file: Option<PathBuf>) -> io::Result<()> {
    if let Some(file) = file {
        write(&file)?;
        eprintln!(
            "trace written to {}; open it in https://ui.perfetto.dev",
            file.display()
        );
    }
    Ok(())
}

/// Stops recording and writes what every thread recorded, as a Chrome
/// trace-event file, to `path`. Call it once the runtime has shut down:
/// a thread's events are collected when it exits (this thread's, here).
pub fn write(path: &Path) -> io::Result<()> {
    ENABLED.store(false, Ordering::Relaxed);
    if let Some(buffer) = BUFFER.with(|buffer| buffer.borrow_mut().0.take()) {
        collect(buffer);
    }
    let mut buffers = std::mem::take(
        &mut *COLLECTED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
    );
    buffers.sort_by_key(|buffer| buffer.thread);
    let file = std::fs::File::create(path).map_err(|error| {
        io::Error::new(
            error.kind(),
            format!("cannot create {}: {error}", path.display()),
        )
    })?;
    let json = chrome_trace(&buffers);
    serde_json::to_writer(io::BufWriter::new(file), &json).map_err(io::Error::other)
}

/// A timestamp in microseconds, Chrome's unit.
fn micros(nanos: u64) -> f64 {
    nanos as f64 / 1000.0
}

/// One trace event of kind `phase` ("X" a slice, "i" an instant, "M" a
/// track's name...) on `thread`'s track at `at`, with `fields` added.
fn trace_event(phase: &str, name: &str, thread: usize, at: u64, fields: Value) -> Value {
    let mut event = json!({"ph": phase, "name": name, "pid": 1, "tid": thread, "ts": micros(at)});
    if let (Some(event), Value::Object(fields)) = (event.as_object_mut(), fields) {
        event.extend(fields);
    }
    event
}

/// The slice an event begins (its kind and name), and the kind of slice
/// an event ends.
fn slice(event: Event) -> (Option<(&'static str, &'static str)>, Option<&'static str>) {
    match event {
        Event::PollStart(..) => (Some(("poll", "poll")), None),
        Event::PollEnd(..) => (None, Some("poll")),
        Event::Park(Park::Idle) => (Some(("park", "parked")), None),
        Event::Park(Park::Timekeeper) => (Some(("park", "timekeeper waits")), None),
        Event::Park(Park::Reactor) => (Some(("park", "timekeeper waits in OS poll")), None),
        Event::Unpark => (None, Some("park")),
        Event::SpinStart => (Some(("spin", "spin")), None),
        Event::SpinEnd(..) => (None, Some("spin")),
        Event::BlockingStart => (Some(("blocking", "blocking job")), None),
        Event::BlockingEnd => (None, Some("blocking")),
        Event::LockWaitStart => (Some(("lock", "lock wait")), None),
        Event::LockWaitEnd => (None, Some("lock")),
        _ => (None, None),
    }
}

/// The trace-event file: one track per thread; polls, parks, spins, lock
/// waits and blocking jobs as slices, the rest as instants with their numbers; an
/// arrow from each wake to the poll it led to.
fn chrome_trace(buffers: &[Buffer]) -> Value {
    use std::collections::HashMap;
    let mut out = Vec::new();
    // Where each task's polls start, for the arrows: (time, thread).
    let mut poll_starts: HashMap<usize, Vec<(u64, usize)>> = HashMap::new();
    for buffer in buffers {
        for &(at, event) in &buffer.events {
            if let Event::PollStart(task) = event {
                let starts = poll_starts.entry(task).or_default();
                starts.push((at, buffer.thread));
            }
        }
    }
    for starts in poll_starts.values_mut() {
        starts.sort_unstable();
    }
    // A later thread with the name of an earlier one (the blocking pool's
    // threads, a second runtime's workers) is told apart by a number:
    // "worker 0", then "worker 0 #2".
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut flow = 0;
    for buffer in buffers {
        let tid = buffer.thread;
        let nth = seen.entry(&buffer.name).or_default();
        *nth += 1;
        let name = match *nth {
            1 => buffer.name.clone(),
            n => format!("{} #{n}", buffer.name),
        };
        let args = json!({"args": {"name": name}});
        out.push(trace_event("M", "thread_name", tid, 0, args));
        let args = json!({"args": {"sort_index": tid}});
        out.push(trace_event("M", "thread_sort_index", tid, 0, args));
        if buffer.dropped > 0 {
            let args = json!({"s": "t", "args": {"dropped": buffer.dropped}});
            out.push(trace_event("i", "events dropped", tid, 0, args));
        }
        // The slices begun and not yet ended: kind, name, start, arguments.
        let mut open: Vec<(&str, &str, u64, Value)> = Vec::new();
        for &(at, event) in &buffer.events {
            let (begins, ends) = slice(event);
            if let Some((kind, name)) = begins {
                let args = match event {
                    Event::PollStart(task) => json!({"task": task}),
                    _ => json!({}),
                };
                open.push((kind, name, at, args));
            }
            // A slice ends only if it is the kind the event ends.
            if let Some(kind) = ends
                && open.last().is_some_and(|open| open.0 == kind)
                && let Some((_, name, begin, mut args)) = open.pop()
            {
                if let Event::SpinEnd(found) = event {
                    args = json!({"found work": found});
                }
                let fields = json!({"dur": micros(at - begin), "args": args});
                out.push(trace_event("X", name, tid, begin, fields));
            }
            let instant = |name: &str, args: Value| {
                trace_event("i", name, tid, at, json!({"s": "t", "args": args}))
            };
            match event {
                Event::Spawn(task, queue) | Event::Wake(task, queue) => {
                    let name = match event {
                        Event::Spawn(..) => "spawn",
                        _ => "wake",
                    };
                    let queue = format!("{queue:?}").to_lowercase();
                    out.push(instant(name, json!({"task": task, "queue": queue})));
                    // An arrow to the task's next poll, wherever it runs.
                    let starts = poll_starts.get(&task).map_or(&[][..], Vec::as_slice);
                    let next = starts.partition_point(|&(start, _)| start < at);
                    if let Some(&(start, thread)) = starts.get(next) {
                        flow += 1;
                        let arrow = json!({"cat": "wake", "id": flow});
                        out.push(trace_event("s", name, tid, at, arrow.clone()));
                        let mut end = trace_event("f", name, thread, start, arrow);
                        end["bp"] = "e".into();
                        out.push(end);
                    }
                }
                Event::Steal(from, count) => {
                    let args = json!({"from": format!("worker {from}"), "tasks": count});
                    out.push(instant("steal", args));
                }
                Event::ReactorTurn(events) => {
                    out.push(instant("reactor turn", json!({"events": events})));
                }
                Event::TimersFired(count) => {
                    out.push(instant("timers fired", json!({"timers": count})));
                }
                _ => {}
            }
        }
    }
    json!({"traceEvents": out, "displayTimeUnit": "ns"})
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file a recording writes is a trace-event file: named tracks,
    /// slices with a duration, instants with their numbers.
    #[test]
    fn writes_a_chrome_trace() {
        let buffers = vec![Buffer {
            thread: 7,
            name: "worker 0".into(),
            events: vec![
                (1_000, Event::Wake(3, Queue::Shared)),
                (2_000, Event::PollStart(3)),
                (5_000, Event::PollEnd(3)),
                (6_000, Event::Park(Park::Idle)),
                (9_000, Event::Unpark),
                (10_000, Event::LockWaitStart),
                (12_000, Event::LockWaitEnd),
            ],
            dropped: 0,
        }];
        let json = chrome_trace(&buffers);
        // Its text parses back as JSON.
        let text = serde_json::to_string(&json).unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap();
        let events = parsed["traceEvents"].as_array().unwrap();
        let named = |name: &str| events.iter().find(|e| e["name"] == name).unwrap().clone();
        assert_eq!(named("thread_name")["args"]["name"], "worker 0");
        let poll = named("poll");
        assert_eq!(
            (poll["ph"].as_str(), poll["tid"].as_u64()),
            (Some("X"), Some(7))
        );
        assert_eq!(
            (poll["ts"].as_f64(), poll["dur"].as_f64()),
            (Some(2.0), Some(3.0))
        );
        assert_eq!(poll["args"]["task"], 3);
        assert_eq!(named("parked")["dur"].as_f64(), Some(3.0));
        assert_eq!(named("lock wait")["dur"].as_f64(), Some(2.0));
        let wake = named("wake");
        assert_eq!(
            (wake["ph"].as_str(), wake["args"]["queue"].as_str()),
            (Some("i"), Some("shared"))
        );
        // The wake's arrow ends at the poll.
        let end = events.iter().find(|e| e["ph"] == "f").unwrap();
        assert_eq!(end["ts"].as_f64(), Some(2.0));
    }
}
