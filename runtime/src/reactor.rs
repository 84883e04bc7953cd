//! The reactor: the runtime's connection to the operating system's event
//! queue (epoll, kqueue, ...), through mio.
//!
//! A task that finds a socket not ready registers its waker here; the one
//! worker that waits in [`mio::Poll::poll`] turns each OS event back into
//! wakes. The public part of this module is [`Registered`], a mio source
//! registered with the current runtime, and [`set_trace`].

mod registered;
mod scheduled_io;

pub use registered::Registered;
pub(crate) use scheduled_io::{Direction, ScheduledIo, Waiter};

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::sync::Mutex;
use mio::{Events, Interest, Poll, Registry, Token};
use slab::Slab;

use crate::trace::{self, Event};

/// The token of the reactor's own `mio::Waker`. No registration gets it:
/// registration tokens keep their slab index below `MAX_SOURCES`.
const WAKE_TOKEN: Token = Token(usize::MAX);

/// How many bits of a token hold the slab index; the bits above hold the
/// registration's generation.
const INDEX_BITS: u32 = 24;
/// At most this many sources can be registered at once.
const MAX_SOURCES: usize = 1 << INDEX_BITS;

/// A token names a slab slot *and* the registration that held it. Slots are
/// reused as soon as a source is dropped, but an event for the old source
/// may still be on its way from the OS; its generation no longer matches,
/// so it can never reach the new source (lesson #11).
fn token(index: usize, generation: usize) -> Token {
    Token((generation << INDEX_BITS) | index)
}

fn slab_index(token: Token) -> usize {
    token.0 & (MAX_SOURCES - 1)
}

/// One per runtime.
pub(crate) struct Reactor {
    /// The OS event queue, and the buffer its events are read into. Only
    /// the worker waiting for events holds this lock, so events read by one
    /// `poll` are dispatched before any other `poll` can overwrite them.
    poll: Mutex<(Poll, Events)>,
    /// A handle to register sources without the `poll` lock, which is held
    /// for as long as a worker waits for events.
    registry: Registry,
    /// Interrupts a worker waiting in `poll`.
    waker: mio::Waker,
    /// Every registered source, by slab index.
    sources: Mutex<Sources>,
    /// Set when the runtime shuts down: no worker will poll the OS for
    /// these sources again.
    shut_down: AtomicBool,
}

struct Sources {
    slab: Slab<Arc<ScheduledIo>>,
    /// Bumped on every registration, and part of its token.
    next_generation: usize,
}

/// Whether the reactor prints each event it dispatches (see [`set_trace`]).
static TRACE: AtomicBool = AtomicBool::new(false);

/// Makes the reactor print every OS event it sees and how many tasks it
/// wakes for it, to standard output. For learning and debugging; off by
/// default.
pub fn set_trace(enabled: bool) {
    TRACE.store(enabled, Ordering::Relaxed);
}

impl Reactor {
    pub(crate) fn new() -> io::Result<Reactor> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(poll.registry(), WAKE_TOKEN)?;
        Ok(Reactor {
            poll: Mutex::new((poll, Events::with_capacity(1024))),
            registry,
            waker,
            sources: Mutex::new(Sources {
                slab: Slab::new(),
                next_generation: 0,
            }),
            shut_down: AtomicBool::new(false),
        })
    }

    /// Registers `source` for readable and writable events.
    ///
    /// Both at once, edge-triggered, for the source's whole life: the OS
    /// then reports each *change* of readiness, and the readiness is kept
    /// here until a task sees `WouldBlock`.
    pub(crate) fn register(
        &self,
        source: &mut impl mio::event::Source,
    ) -> io::Result<Arc<ScheduledIo>> {
        let mut sources = self.sources.lock();
        if sources.slab.len() >= MAX_SOURCES {
            return Err(io::Error::other(
                "too many sources registered with the reactor",
            ));
        }
        let generation = sources.next_generation;
        sources.next_generation = (generation + 1) % (usize::MAX >> INDEX_BITS);
        let entry = sources.slab.vacant_entry();
        let token = token(entry.key(), generation);
        let io = Arc::new(ScheduledIo::new(token));
        // On Linux, urgent data too: see `PRIORITY` in scheduled_io.rs.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let interest = Interest::READABLE | Interest::WRITABLE | Interest::PRIORITY;
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let interest = Interest::READABLE | Interest::WRITABLE;
        self.registry.register(source, token, interest)?;
        entry.insert(io.clone());
        Ok(io)
    }

    /// Removes `source` from the OS queue and forgets its slot.
    pub(crate) fn deregister(
        &self,
        source: &mut impl mio::event::Source,
        io: &ScheduledIo,
    ) -> io::Result<()> {
        let result = self.registry.deregister(source);
        let mut sources = self.sources.lock();
        let index = slab_index(io.token());
        if sources
            .slab
            .get(index)
            .is_some_and(|slot| slot.token() == io.token())
        {
            sources.slab.remove(index);
        }
        result
    }

    /// Waits for OS events, at most `timeout` (`None`: until one comes),
    /// and wakes the tasks waiting for them.
    ///
    /// Only one thread at a time calls this: the executor's timekeeper.
    pub(crate) fn poll(&self, timeout: Option<Duration>) {
        let _ = self.poll_locked(&mut self.poll.lock(), timeout);
    }

    /// Dispatches the events that are ready now, without waiting, unless
    /// another worker is in the OS poll already (it dispatches them).
    ///
    /// Returns whether it read a wake meant for the timekeeper: the caller
    /// must pass it on if a timekeeper is parked, or its wait would not end.
    #[must_use = "a wake read here may be meant for a parked timekeeper"]
    pub(crate) fn poll_now(&self) -> bool {
        match self.poll.try_lock() {
            Some(mut guard) => self.poll_locked(&mut guard, Some(Duration::ZERO)),
            None => false,
        }
    }

    /// Polls, dispatches the events, and returns whether the reactor's own
    /// wake was among them.
    fn poll_locked(&self, guard: &mut (Poll, Events), timeout: Option<Duration>) -> bool {
        let (poll, events) = guard;
        match poll.poll(events, timeout) {
            Ok(()) => {}
            // A signal interrupted the wait: not an error, the caller's
            // loop simply waits again (lesson #10).
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return false,
            Err(error) => panic!("the reactor's OS poll failed: {error}"),
        }
        if !events.is_empty() {
            trace::record(Event::ReactorTurn(events.iter().count()));
        }
        let mut wake_seen = false;
        for event in events.iter() {
            if event.token() == WAKE_TOKEN {
                wake_seen = true; // only there to end the timekeeper's wait
                continue;
            }
            // A source dropped since the OS queued its event: nothing to wake.
            let Some(io) = self.lookup(event.token()) else {
                continue;
            };
            let wakers = io.set_readiness(event);
            if TRACE.load(Ordering::Relaxed) {
                // Before the wakes, so the line comes before what they cause.
                println!(
                    "    reactor: token {:#x}: {}; waking {} task(s)",
                    event.token().0,
                    describe(event),
                    wakers.len()
                );
            }
            for waker in wakers {
                // A waker may be anybody's; one that panics must not take
                // this worker down (lesson #8).
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake()));
            }
        }
        wake_seen
    }

    /// The registration an event's token names: the same slot *and* the
    /// same generation, or none.
    fn lookup(&self, token: Token) -> Option<Arc<ScheduledIo>> {
        let sources = self.sources.lock();
        sources
            .slab
            .get(slab_index(token))
            .filter(|io| io.token() == token)
            .cloned()
    }

    /// Says that no worker will poll the OS again: a task that would now
    /// wait for an event gets an error instead (see `Registered`).
    pub(crate) fn shut_down(&self) {
        self.shut_down.store(true, Ordering::Release);
    }

    /// Whether the runtime has shut down, and with it this reactor.
    pub(crate) fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Acquire)
    }

    /// Makes a worker waiting in [`poll`](Reactor::poll) return.
    pub(crate) fn wake(&self) {
        if let Err(error) = self.waker.wake() {
            panic!("failed to interrupt the reactor's OS poll: {error}");
        }
    }

    /// Wakes, and so forgets, every registration's waiters: called at
    /// shutdown, so that no task stays alive through a stored waker, and a
    /// waiter outside the runtime polls again and gets the "shut down"
    /// error instead of waiting for ever.
    pub(crate) fn wake_all_waiters(&self) {
        let sources: Vec<Arc<ScheduledIo>> = self
            .sources
            .lock()
            .slab
            .iter()
            .map(|(_, io)| io.clone())
            .collect();
        for io in sources {
            for waker in io.take_wakers() {
                // A waker may be anybody's; one that panics must not stop
                // the others (lesson #8).
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake()));
            }
        }
    }
}

/// "readable, writable" and so on, for the trace.
fn describe(event: &mio::event::Event) -> String {
    let mut parts = Vec::new();
    if event.is_readable() {
        parts.push("readable");
    }
    if event.is_writable() {
        parts.push("writable");
    }
    if event.is_read_closed() {
        parts.push("read closed");
    }
    if event.is_write_closed() {
        parts.push("write closed");
    }
    if event.is_error() {
        parts.push("error");
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lesson #11: after a source is dropped and its slot reused, an event
    /// still carrying the old token finds nothing, not the new source.
    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot open sockets")]
    fn a_stale_token_does_not_reach_the_source_that_reused_its_slot() {
        let reactor = Reactor::new().unwrap();
        let mut first = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let first_io = reactor.register(&mut first).unwrap();
        let old_token = first_io.token();
        reactor.deregister(&mut first, &first_io).unwrap();

        let mut second = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let second_io = reactor.register(&mut second).unwrap();
        assert_eq!(
            slab_index(second_io.token()),
            slab_index(old_token),
            "the slot is reused"
        );
        assert_ne!(second_io.token(), old_token);
        assert!(reactor.lookup(old_token).is_none());
        assert!(Arc::ptr_eq(
            &reactor.lookup(second_io.token()).unwrap(),
            &second_io
        ));
    }

    #[test]
    fn the_wake_token_is_never_a_registration_token() {
        for generation in [0, 1, (usize::MAX >> INDEX_BITS) - 1] {
            assert_ne!(token(MAX_SOURCES - 1, generation), WAKE_TOKEN);
        }
    }
}
