//! What the reactor keeps for one registered source: its readiness, and
//! the wakers of the tasks waiting for it.

use std::task::{Context, Poll, Waker};

use mio::Token;
use slab::Slab;

use crate::sync::{AtomicUsize, Mutex, Ordering};

const READABLE: usize = 0b0_0001;
const WRITABLE: usize = 0b0_0010;
const READ_CLOSED: usize = 0b0_0100;
const WRITE_CLOSED: usize = 0b0_1000;
const ERROR: usize = 0b01_0000;
/// Urgent (out-of-band) data has arrived: `EPOLLPRI`, on Linux. A read
/// stops short at it with more bytes behind, so while this bit is set a
/// short read proves nothing (`clear_drained`). It goes with the other read
/// bits, after a `WouldBlock`.
const PRIORITY: usize = 0b10_0000;
const READINESS_MASK: usize = 0b11_1111;
/// The bits above the readiness count events: the *tick*. It tells a task
/// clearing readiness whether an event has arrived since it looked.
const TICK_SHIFT: u32 = 6;

/// Which way a task waits: to read or to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    /// The readiness bits that let an operation in this direction proceed:
    /// closed and error count too, since the operation will then return at
    /// once, with end of stream or the error.
    fn mask(self) -> usize {
        match self {
            Direction::Read => READABLE | READ_CLOSED | ERROR | PRIORITY,
            Direction::Write => WRITABLE | WRITE_CLOSED | ERROR,
        }
    }
}

/// Readiness as a task observed it: which bits, and at which tick.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadyEvent {
    tick: usize,
    ready: usize,
}

impl ReadyEvent {
    /// Whether the source has said it has nothing in this direction, and
    /// no event has come since: an operation said `WouldBlock`, or
    /// emptied it (`clear_drained`), or the last events were all for the
    /// other direction. Where readiness is edge-triggered, trying again
    /// would only hear `WouldBlock`: the next byte or the next room brings
    /// an event first. A source no event has reached yet (tick 0) has said
    /// nothing, and is tried.
    pub(crate) fn said_nothing(&self) -> bool {
        self.tick != 0 && self.ready == 0
    }

    /// Whether any bit of the direction was set.
    #[cfg(test)]
    pub(crate) fn is_ready(&self) -> bool {
        self.ready != 0
    }
}

/// One registered source.
pub(crate) struct ScheduledIo {
    token: Token,
    /// Readiness bits, and the tick above them, in one atomic word.
    readiness: AtomicUsize,
    /// Tasks waiting to read.
    readers: Mutex<Waiters>,
    /// Tasks waiting to write.
    writers: Mutex<Waiters>,
}

/// The tasks waiting for one direction of a source. Each waiting task has
/// a place of its own, which it gives back when it stops waiting: the list
/// holds only tasks that still wait (lesson #14).
#[derive(Default)]
struct Waiters {
    /// The tasks that polled through `poll_read_with` or `poll_write_with`,
    /// which `AsyncRead` and `AsyncWrite` use and which have nowhere to keep
    /// a key: one waker per task (`will_wake` finds a task's own), usually
    /// one, two for two tasks reading one `&TcpStream`. A poller that stops
    /// polling stays until the next event in this direction, which wakes
    /// and clears them all.
    pollers: Vec<Waker>,
    /// The tasks waiting in `read_with` or `write_with` (`accept`,
    /// `connect`): several may wait at once, say many tasks in `accept` on
    /// one listener. Each waiting future holds its key, and removes its
    /// place when it completes or is dropped. `None`: woken, and not
    /// waiting again yet.
    futures: Slab<Option<Waker>>,
}

/// Which place in the waiters a task waits in.
#[derive(Debug)]
pub(crate) enum Waiter {
    /// A poller, with no place of its own (see `Waiters::pollers`).
    Poller,
    /// A place of the waiting future's own, once it has one.
    Future(Option<usize>),
}

impl ScheduledIo {
    pub(crate) fn new(token: Token) -> ScheduledIo {
        ScheduledIo {
            token,
            readiness: AtomicUsize::new(0),
            readers: Mutex::new(Waiters::default()),
            writers: Mutex::new(Waiters::default()),
        }
    }

    pub(crate) fn token(&self) -> Token {
        self.token
    }

    fn waiters(&self, direction: Direction) -> &Mutex<Waiters> {
        match direction {
            Direction::Read => &self.readers,
            Direction::Write => &self.writers,
        }
    }

    /// Records an OS event; returns the wakers of the tasks it concerns,
    /// for the caller to wake. Called by the reactor only.
    pub(crate) fn set_readiness(&self, event: &mio::event::Event) -> Vec<Waker> {
        let mut bits = 0;
        if event.is_readable() {
            bits |= READABLE;
        }
        if event.is_writable() {
            bits |= WRITABLE;
        }
        if event.is_read_closed() {
            bits |= READ_CLOSED;
        }
        if event.is_write_closed() {
            bits |= WRITE_CLOSED;
        }
        if event.is_error() {
            bits |= ERROR;
        }
        if event.is_priority() {
            bits |= PRIORITY;
        }
        self.add_readiness(bits)
    }

    fn add_readiness(&self, bits: usize) -> Vec<Waker> {
        // Add the bits and advance the tick, in one atomic step.
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                let tick = (current >> TICK_SHIFT).wrapping_add(1);
                Some((tick << TICK_SHIFT) | (current & READINESS_MASK) | bits)
            });

        let mut woken = Vec::new();
        for direction in [Direction::Read, Direction::Write] {
            if bits & direction.mask() != 0 {
                let mut waiters = self.waiters(direction).lock();
                woken.append(&mut waiters.pollers);
                // Each future keeps its place: it gives it back itself.
                woken.extend(
                    waiters
                        .futures
                        .iter_mut()
                        .filter_map(|(_, waker)| waker.take()),
                );
            }
        }
        woken
    }

    /// `Ready` if the source is ready in `direction`; otherwise stores the
    /// task's waker in the `waiter`'s place and returns `Pending`.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        waiter: &mut Waiter,
    ) -> Poll<ReadyEvent> {
        if let Some(event) = self.ready_event(direction) {
            return Poll::Ready(event);
        }
        // The waker this poll replaces, dropped once the lock is let go:
        // dropping a waker runs foreign code.
        let _replaced = {
            let mut waiters = self.waiters(direction).lock();
            let place = match waiter {
                Waiter::Poller => {
                    if !waiters.pollers.iter().any(|w| w.will_wake(cx.waker())) {
                        waiters.pollers.push(cx.waker().clone());
                    }
                    None
                }
                // A key that names nothing is not possible: only the
                // future that holds it removes its place.
                Waiter::Future(Some(key)) => Some(&mut waiters.futures[*key]),
                Waiter::Future(key @ None) => {
                    let entry = waiters.futures.vacant_entry();
                    *key = Some(entry.key());
                    Some(entry.insert(None))
                }
            };
            // The latest poll's waker: the future may have moved to another
            // task since it last waited (lesson #4).
            match place {
                Some(place) if !place.as_ref().is_some_and(|w| w.will_wake(cx.waker())) => {
                    place.replace(cx.waker().clone())
                }
                _ => None,
            }
        };
        // Look again: an event that arrived between the first look and
        // storing the waker found no waker to wake. Without this second
        // look, the task would wait for an edge that has already passed.
        match self.ready_event(direction) {
            Some(event) => Poll::Ready(event),
            None => Poll::Pending,
        }
    }

    fn ready_event(&self, direction: Direction) -> Option<ReadyEvent> {
        let event = self.snapshot(direction);
        (event.ready != 0).then_some(event)
    }

    /// The readiness in `direction` right now, ready or not, with its tick.
    pub(crate) fn snapshot(&self, direction: Direction) -> ReadyEvent {
        let current = self.readiness.load(Ordering::Acquire);
        ReadyEvent {
            tick: current >> TICK_SHIFT,
            ready: current & direction.mask(),
        }
    }

    /// Forgets that the source was ready in `direction`, after an operation
    /// returned `WouldBlock`, and only then (lesson #6): edge-triggered
    /// readiness is reported once, so clearing it early loses it for good.
    ///
    /// If an event came in since `observed` was read, the readiness is
    /// fresh and is kept. Otherwise every bit the task saw in this
    /// direction goes, closed and error included: an operation that would
    /// block says the source is not ready, whatever an earlier event said.
    /// Kept, an error bit would make `poll_ready` answer `Ready` for ever,
    /// and the task would retry an operation that blocks, in a loop that
    /// never returns `Pending` (lesson #13).
    pub(crate) fn clear_readiness(&self, observed: ReadyEvent, direction: Direction) {
        let clear = observed.ready & direction.mask();
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                (current >> TICK_SHIFT == observed.tick).then_some(current & !clear)
            });
    }

    /// Forgets that the source was readable after a read that emptied it
    /// without saying `WouldBlock`: a read of a byte stream that filled
    /// less than its buffer took every byte the socket had. With epoll
    /// (see `SHORT_READ_DRAINS` in registered.rs), the next byte to arrive
    /// is a new event, so nothing is lost, and the next read waits for that
    /// event instead of making a system call only to hear `WouldBlock`: one
    /// call fewer per message for a server that reads a request and
    /// answers it.
    ///
    /// Only plain readability goes. If the task saw the peer close, or an
    /// error, it is kept: no new event will say so again, and the next read
    /// must reach the end of the stream (or the error) without waiting. If
    /// it saw urgent data, the read may have stopped short at it with more
    /// bytes behind, and nothing is cleared. And as in `clear_readiness`,
    /// an event that came in since `observed` keeps it all.
    // ANCHOR: clear_drained
    pub(crate) fn clear_drained(&self, observed: ReadyEvent) {
        if observed.ready & Direction::Read.mask() == READABLE {
            self.clear_readiness(observed, Direction::Read);
        }
    }
    // ANCHOR_END: clear_drained

    /// Gives back a future's place in the waiters of `direction`: the
    /// future completed or was dropped.
    pub(crate) fn remove_waiter(&self, direction: Direction, key: usize) {
        let waker = self.waiters(direction).lock().futures.try_remove(key);
        drop(waker); // outside the lock: dropping a waker runs foreign code
    }

    /// Takes every stored waker out (runtime shutdown). The places stay,
    /// held by their futures, which give them back when they are dropped.
    pub(crate) fn take_wakers(&self) -> Vec<Waker> {
        let mut wakers = Vec::new();
        for direction in [Direction::Read, Direction::Write] {
            let mut waiters = self.waiters(direction).lock();
            wakers.append(&mut waiters.pollers);
            wakers.extend(
                waiters
                    .futures
                    .iter_mut()
                    .filter_map(|(_, waker)| waker.take()),
            );
        }
        wakers
    }

    /// How many places are taken in `direction`'s waiters.
    #[cfg(test)]
    pub(crate) fn waiter_places(&self, direction: Direction) -> usize {
        let waiters = self.waiters(direction).lock();
        waiters.pollers.len() + waiters.futures.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::counting_waker;

    fn poll_as(
        io: &ScheduledIo,
        waker: &Waker,
        direction: Direction,
        waiter: &mut Waiter,
    ) -> Poll<ReadyEvent> {
        io.poll_ready(&mut Context::from_waker(waker), direction, waiter)
    }

    #[test]
    fn readiness_wakes_the_waiting_direction_only() {
        let io = ScheduledIo::new(Token(0));
        let (reads, reader) = counting_waker();
        let (writes, writer) = counting_waker();
        assert!(poll_as(&io, &reader, Direction::Read, &mut Waiter::Poller).is_pending());
        assert!(poll_as(&io, &writer, Direction::Write, &mut Waiter::Poller).is_pending());
        io.add_readiness(READABLE).into_iter().for_each(Waker::wake);
        assert_eq!(reads.0.load(Ordering::SeqCst), 1);
        assert_eq!(
            writes.0.load(Ordering::SeqCst),
            0,
            "a readable event is not a writable one"
        );
        assert!(poll_as(&io, &reader, Direction::Read, &mut Waiter::Poller).is_ready());
    }

    #[test]
    fn every_task_waiting_in_one_direction_is_woken() {
        let io = ScheduledIo::new(Token(0));
        let (first, first_waker) = counting_waker();
        let (second, second_waker) = counting_waker();
        let mut first_waiter = Waiter::Future(None);
        let mut second_waiter = Waiter::Future(None);
        for _ in 0..100 {
            // Polled many times: one place per task.
            let _ = poll_as(&io, &first_waker, Direction::Read, &mut first_waiter);
        }
        let _ = poll_as(&io, &second_waker, Direction::Read, &mut second_waiter);
        let woken = io.add_readiness(READABLE);
        let woken_count = woken.len();
        woken.into_iter().for_each(Waker::wake);
        assert!(
            first.0.load(Ordering::SeqCst) >= 1,
            "the first task was not woken"
        );
        assert!(
            second.0.load(Ordering::SeqCst) >= 1,
            "the second task was not woken"
        );
        assert_eq!(woken_count, 2, "each task waits in one place");
    }

    /// Lesson #4: a future that moved to another task since it last waited
    /// wakes the task that polled it last.
    #[test]
    fn a_waiter_wakes_the_task_that_polled_it_last() {
        let io = ScheduledIo::new(Token(0));
        let (first, first_waker) = counting_waker();
        let (second, second_waker) = counting_waker();
        let mut waiter = Waiter::Future(None);
        let _ = poll_as(&io, &first_waker, Direction::Write, &mut waiter);
        let _ = poll_as(&io, &second_waker, Direction::Write, &mut waiter);
        io.add_readiness(WRITABLE).into_iter().for_each(Waker::wake);
        assert_eq!(first.0.load(Ordering::SeqCst), 0, "a stale waker was woken");
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
    }

    /// Lesson #6: clearing readiness that a task observed must not erase an
    /// event that arrived after it looked.
    #[test]
    fn a_clear_based_on_a_stale_look_keeps_the_newer_event() {
        let io = ScheduledIo::new(Token(0));
        io.add_readiness(READABLE);
        let observed = io.snapshot(Direction::Read);
        // The task tries to read, gets WouldBlock... and meanwhile a new
        // event arrives.
        io.add_readiness(READABLE);
        io.clear_readiness(observed, Direction::Read);
        assert_ne!(
            io.snapshot(Direction::Read).ready & READABLE,
            0,
            "the newer event was lost"
        );

        // With no event in between, the clear takes effect.
        let observed = io.snapshot(Direction::Read);
        io.clear_readiness(observed, Direction::Read);
        assert_eq!(io.snapshot(Direction::Read).ready, 0);
    }

    /// Lesson #13: after an error or a hang-up was reported, an operation
    /// that would block clears those bits too, so the task waits for the
    /// next event instead of retrying for ever.
    #[test]
    fn a_would_block_after_an_error_or_hang_up_waits_for_the_next_event() {
        for bits in [ERROR, READ_CLOSED, READABLE | READ_CLOSED | ERROR] {
            let io = ScheduledIo::new(Token(0));
            io.add_readiness(bits);
            let observed = io.snapshot(Direction::Read);
            assert_ne!(observed.ready, 0, "the event makes the source ready");
            // The task read, got the error (or end of stream), read again and
            // got WouldBlock:
            io.clear_readiness(observed, Direction::Read);
            let (woken, waker) = counting_waker();
            let mut waiter = Waiter::Future(None);
            assert!(
                poll_as(&io, &waker, Direction::Read, &mut waiter).is_pending(),
                "readiness {bits:#b} stayed after WouldBlock: the task would spin"
            );
            // The next event wakes it.
            io.add_readiness(READABLE).into_iter().for_each(Waker::wake);
            assert_eq!(woken.0.load(Ordering::SeqCst), 1);
        }
    }

    /// Lesson #14: a future that stops waiting, because it completed or was
    /// dropped (a timeout around `accept`, say), gives its place back at
    /// once, not at the source's next event.
    #[test]
    fn waiters_that_stop_waiting_leave_no_place_behind() {
        let io = ScheduledIo::new(Token(0));
        let (_, waker) = counting_waker();
        let count = if cfg!(miri) { 100 } else { 100_000 };
        let keys: Vec<usize> = (0..count)
            .map(|_| {
                let mut waiter = Waiter::Future(None);
                assert!(poll_as(&io, &waker, Direction::Read, &mut waiter).is_pending());
                match waiter {
                    Waiter::Future(Some(key)) => key,
                    other => panic!("no place was taken: {other:?}"),
                }
            })
            .collect();
        assert_eq!(io.waiter_places(Direction::Read), count);
        for key in keys {
            io.remove_waiter(Direction::Read, key);
        }
        assert_eq!(io.waiter_places(Direction::Read), 0);
        // And an event now wakes nobody: there is nobody left to wake.
        assert!(io.add_readiness(READABLE).is_empty());
    }

    /// A short read clears plain readability, as `WouldBlock` would, and
    /// then the source has said it has nothing.
    #[test]
    fn a_drained_read_clears_plain_readability() {
        let io = ScheduledIo::new(Token(0));
        io.add_readiness(READABLE);
        let observed = io.snapshot(Direction::Read);
        io.clear_drained(observed);
        let now = io.snapshot(Direction::Read);
        assert!(!now.is_ready(), "a drained socket still counts as readable");
        assert!(now.said_nothing());
    }

    /// Lesson #6: a short read must not erase what it did not read: an
    /// event that came in after the task looked, a hang-up or an error,
    /// which the OS will not report again, or urgent data, at which the
    /// read stopped short.
    #[test]
    fn a_drained_read_keeps_a_newer_event_a_hang_up_and_an_error() {
        let io = ScheduledIo::new(Token(0));
        io.add_readiness(READABLE);
        let observed = io.snapshot(Direction::Read);
        io.add_readiness(READABLE); // more bytes, after the read
        io.clear_drained(observed);
        assert!(
            io.snapshot(Direction::Read).is_ready(),
            "the newer event was lost"
        );
        for bits in [
            READABLE | READ_CLOSED,
            READABLE | ERROR,
            READ_CLOSED,
            READABLE | PRIORITY,
        ] {
            let io = ScheduledIo::new(Token(0));
            io.add_readiness(bits);
            io.clear_drained(io.snapshot(Direction::Read));
            let (_, waker) = counting_waker();
            assert!(
                poll_as(&io, &waker, Direction::Read, &mut Waiter::Poller).is_ready(),
                "readiness {bits:#b} went with a short read: what is behind it would never be read"
            );
        }
    }

    /// A source no event has reached has said nothing yet, and must be
    /// tried (lesson #6, "try first"); one whose events were all for the
    /// other direction has said it has nothing in this one.
    #[test]
    fn a_source_has_said_nothing_only_after_an_event() {
        let io = ScheduledIo::new(Token(0));
        assert!(!io.snapshot(Direction::Read).said_nothing());
        assert!(!io.snapshot(Direction::Write).said_nothing());
        io.add_readiness(WRITABLE);
        assert!(io.snapshot(Direction::Read).said_nothing());
        assert!(!io.snapshot(Direction::Write).said_nothing());
    }
}
