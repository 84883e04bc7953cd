//! What the reactor keeps for one registered source: its readiness, and
//! the wakers of the tasks waiting for it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use mio::Token;
use parking_lot::Mutex;

// ANCHOR: readiness
const READABLE: usize = 0b0_0001;
const WRITABLE: usize = 0b0_0010;
const READ_CLOSED: usize = 0b0_0100;
const WRITE_CLOSED: usize = 0b0_1000;
const ERROR: usize = 0b1_0000;
const READINESS_MASK: usize = 0b1_1111;
/// The bits above the readiness count events: the *tick*. It tells a task
/// clearing readiness whether an event has arrived since it looked.
const TICK_SHIFT: u32 = 5;

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
            Direction::Read => READABLE | READ_CLOSED | ERROR,
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
// ANCHOR_END: readiness

// ANCHOR: scheduled_io
/// One registered source.
pub(crate) struct ScheduledIo {
    token: Token,
    /// Readiness bits, and the tick above them, in one atomic word.
    readiness: AtomicUsize,
    /// Tasks waiting to read. A list, not one slot: several tasks may wait
    /// on the same source (say, two tasks in `accept` on one listener).
    readers: Mutex<Vec<Waker>>,
    /// Tasks waiting to write.
    writers: Mutex<Vec<Waker>>,
}
// ANCHOR_END: scheduled_io

impl ScheduledIo {
    pub(crate) fn new(token: Token) -> ScheduledIo {
        ScheduledIo {
            token,
            readiness: AtomicUsize::new(0),
            readers: Mutex::new(Vec::new()),
            writers: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn token(&self) -> Token {
        self.token
    }

    fn waiters(&self, direction: Direction) -> &Mutex<Vec<Waker>> {
        match direction {
            Direction::Read => &self.readers,
            Direction::Write => &self.writers,
        }
    }

    // ANCHOR: set_readiness
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
                woken.append(&mut self.waiters(direction).lock());
            }
        }
        woken
    }
    // ANCHOR_END: set_readiness

    // ANCHOR: poll_ready
    // ANCHOR: wait_for_readiness
    /// `Ready` if the source is ready in `direction`; otherwise stores the
    /// task's waker and returns `Pending`.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<ReadyEvent> {
        if let Some(event) = self.ready_event(direction) {
            return Poll::Ready(event);
        }
        {
            let mut waiters = self.waiters(direction).lock();
            if !waiters.iter().any(|waker| waker.will_wake(cx.waker())) {
                waiters.push(cx.waker().clone());
            }
        }
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
    // ANCHOR_END: wait_for_readiness

    // ANCHOR: clear_readiness
    /// Forgets that the source was ready in `direction`, after an operation
    /// returned `WouldBlock`, and only then (lesson #6): edge-triggered
    /// readiness is reported once, so clearing it early loses it for good.
    ///
    /// If an event came in since `observed` was read, the readiness is
    /// fresh and is kept. Closed and error bits are never cleared.
    pub(crate) fn clear_readiness(&self, observed: ReadyEvent, direction: Direction) {
        let clear = observed.ready & direction.mask() & (READABLE | WRITABLE);
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                (current >> TICK_SHIFT == observed.tick).then_some(current & !clear)
            });
    }
    // ANCHOR_END: clear_readiness
    // ANCHOR_END: poll_ready

    // ANCHOR: clear_wakers
    /// Drops every stored waker (runtime shutdown).
    pub(crate) fn clear_wakers(&self) {
        drop(std::mem::take(&mut *self.readers.lock()));
        drop(std::mem::take(&mut *self.writers.lock()));
    }
    // ANCHOR_END: clear_wakers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::counting_waker;

    #[test]
    fn readiness_wakes_the_waiting_direction_only() {
        let io = ScheduledIo::new(Token(0));
        let (reads, reader) = counting_waker();
        let (writes, writer) = counting_waker();
        assert!(
            io.poll_ready(&mut Context::from_waker(&reader), Direction::Read)
                .is_pending()
        );
        assert!(
            io.poll_ready(&mut Context::from_waker(&writer), Direction::Write)
                .is_pending()
        );
        io.add_readiness(READABLE).into_iter().for_each(Waker::wake);
        assert_eq!(reads.0.load(Ordering::SeqCst), 1);
        assert_eq!(
            writes.0.load(Ordering::SeqCst),
            0,
            "a readable event is not a writable one"
        );
        assert!(
            io.poll_ready(&mut Context::from_waker(&reader), Direction::Read)
                .is_ready()
        );
    }

    #[test]
    fn every_task_waiting_in_one_direction_is_woken() {
        let io = ScheduledIo::new(Token(0));
        let (first, first_waker) = counting_waker();
        let (second, second_waker) = counting_waker();
        for _ in 0..100 {
            // Polled many times: stored once per task.
            let _ = io.poll_ready(&mut Context::from_waker(&first_waker), Direction::Read);
        }
        let _ = io.poll_ready(&mut Context::from_waker(&second_waker), Direction::Read);
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
        // `will_wake` is best-effort (under Miri it never matches), so the
        // list holding each task once is an optimisation, checked here only
        // where it holds.
        if !cfg!(miri) {
            assert_eq!(woken_count, 2);
        }
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

    #[test]
    fn closed_and_error_bits_are_never_cleared() {
        let io = ScheduledIo::new(Token(0));
        io.add_readiness(READABLE | READ_CLOSED);
        let observed = io.snapshot(Direction::Read);
        io.clear_readiness(observed, Direction::Read);
        assert_eq!(io.snapshot(Direction::Read).ready, READ_CLOSED);
    }
}
