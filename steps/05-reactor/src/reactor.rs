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
use std::task::Waker;
use std::time::Duration;

use mio::{Events, Interest, Poll, Registry, Token};
use parking_lot::Mutex;
use slab::Slab;

use crate::trace::{self, Event};

// ANCHOR: wake_token
/// The token of the reactor's own `mio::Waker`. No registration gets it:
/// registration tokens keep their slab index below `MAX_SOURCES`.
const WAKE_TOKEN: Token = Token(usize::MAX);
// ANCHOR_END: wake_token

// ANCHOR: token
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
    // ANCHOR: exercise-05a-token a token is a slab index and a generation, packed in one usize
    Token((generation << INDEX_BITS) | index)
    // ANCHOR_END: exercise-05a-token
}

fn slab_index(token: Token) -> usize {
    // ANCHOR: exercise-05a-slab-index the slab index part of a token
    token.0 & (MAX_SOURCES - 1)
    // ANCHOR_END: exercise-05a-slab-index
}
// ANCHOR_END: token

// ANCHOR: reactor
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
}

struct Sources {
    slab: Slab<Arc<ScheduledIo>>,
    /// Bumped on every registration, and part of its token.
    next_generation: usize,
}
// ANCHOR_END: reactor

/// Whether the reactor prints each event it dispatches (see [`set_trace`]).
static TRACE: AtomicBool = AtomicBool::new(false);

/// Makes the reactor print every OS event it sees and how many tasks it
/// wakes for it, to standard output. For learning and debugging; off by
/// default.
pub fn set_trace(enabled: bool) {
    TRACE.store(enabled, Ordering::Relaxed);
}

impl Reactor {
    // ANCHOR: new
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
        })
    }
    // ANCHOR_END: new

    // ANCHOR: register
    /// Registers `source` for readable and writable events.
    ///
    /// Both at once, edge-triggered, for the source's whole life: the OS
    /// then reports each *change* of readiness, and the readiness is kept
    /// here until a task sees `WouldBlock`.
    pub(crate) fn register(
        &self,
        source: &mut impl mio::event::Source,
    ) -> io::Result<Arc<ScheduledIo>> {
        // ANCHOR: exercise-05a-register a ScheduledIo in a slab slot under a fresh token, and the source registered with mio for both directions
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
        self.registry
            .register(source, token, Interest::READABLE | Interest::WRITABLE)?;
        entry.insert(io.clone());
        Ok(io)
        // ANCHOR_END: exercise-05a-register
    }

    /// Removes `source` from the OS queue and forgets its slot.
    pub(crate) fn deregister(
        &self,
        source: &mut impl mio::event::Source,
        io: &ScheduledIo,
    ) -> io::Result<()> {
        // ANCHOR: exercise-05a-deregister deregister from mio, then free the slot
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
        // ANCHOR_END: exercise-05a-deregister
    }
    // ANCHOR_END: register

    // ANCHOR: poll
    /// Waits for OS events, at most `timeout` (`None`: until one comes),
    /// and wakes the tasks waiting for them.
    ///
    /// Only one thread at a time calls this: the executor's timekeeper.
    pub(crate) fn poll(&self, timeout: Option<Duration>) {
        self.poll_locked(&mut self.poll.lock(), timeout);
    }

    /// Dispatches the events that are ready now, without waiting, unless
    /// another worker is in the OS poll already (it dispatches them).
    pub(crate) fn poll_now(&self) {
        if let Some(mut guard) = self.poll.try_lock() {
            self.poll_locked(&mut guard, Some(Duration::ZERO));
        }
    }

    fn poll_locked(&self, guard: &mut (Poll, Events), timeout: Option<Duration>) {
        // ANCHOR: exercise-05a-poll-locked wait in mio's poll (an interrupted wait is a short wait), then hand each event to its ScheduledIo and wake its wakers outside the locks
        let (poll, events) = guard;
        match poll.poll(events, timeout) {
            Ok(()) => {}
            // A signal interrupted the wait: not an error, the caller's
            // loop simply waits again (lesson #10).
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return,
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
            wakers.into_iter().for_each(Waker::wake);
        }
        // Wakes are sent only to a parked timekeeper. If a busy worker's
        // glance (`poll_now`) read this one, the timekeeper may be about to
        // wait in the OS poll: pass the wake on, or that wait would not end
        // (not even for shutdown, which wakes it the same way).
        if wake_seen && timeout == Some(Duration::ZERO) {
            self.wake();
        }
        // ANCHOR_END: exercise-05a-poll-locked
    }
    // ANCHOR_END: poll

    // ANCHOR: lookup
    /// The registration an event's token names: the same slot *and* the
    /// same generation, or none.
    fn lookup(&self, token: Token) -> Option<Arc<ScheduledIo>> {
        // ANCHOR: exercise-05a-lookup the ScheduledIo of a token, only if its generation still matches
        let sources = self.sources.lock();
        sources
            .slab
            .get(slab_index(token))
            .filter(|io| io.token() == token)
            .cloned()
        // ANCHOR_END: exercise-05a-lookup
    }
    // ANCHOR_END: lookup

    // ANCHOR: wake
    /// Makes a worker waiting in [`poll`](Reactor::poll) return.
    pub(crate) fn wake(&self) {
        // ANCHOR: exercise-05a-wake interrupt the poll through the mio::Waker
        if let Err(error) = self.waker.wake() {
            panic!("failed to interrupt the reactor's OS poll: {error}");
        }
        // ANCHOR_END: exercise-05a-wake
    }
    // ANCHOR_END: wake

    // ANCHOR: clear_wakers
    /// Forgets every registration's wakers, which hold tasks: called at
    /// shutdown, so that no task stays alive through them.
    pub(crate) fn clear_wakers(&self) {
        let sources: Vec<Arc<ScheduledIo>> = self
            .sources
            .lock()
            .slab
            .iter()
            .map(|(_, io)| io.clone())
            .collect();
        for io in sources {
            io.clear_wakers();
        }
    }
    // ANCHOR_END: clear_wakers
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
