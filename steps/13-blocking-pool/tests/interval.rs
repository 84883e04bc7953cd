//! `time::interval`: the first tick at once, then one a period on a fixed
//! schedule that does not drift, missed ticks skipped rather than fired in
//! a burst, and a zero period refused. Timing bounds are generous: the
//! machine that runs the tests is shared and noisy.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::{panic_message, watchdog};
use runtime::block_on;
use runtime::time::{interval, timeout};

const LIMIT: Duration = Duration::from_secs(30);

/// On an idle machine: ticks at 0 and 20 ms, 70 ms of blocking, then the
/// tick due at 40 ms at once, and the next at 100 ms. The assertions hold
/// however late a loaded machine runs the task: every tick is on the
/// schedule, and none after the busy time is already past.
#[test]
fn interval_ticks_on_its_schedule_and_skips_missed_ticks() {
    watchdog(LIMIT, "interval", || {
        block_on(async {
            let period = Duration::from_millis(20);
            let mut ticks = interval(period);
            let start = Instant::now();
            let first = ticks.tick().await;
            assert!(
                start.elapsed() < Duration::from_secs(1),
                "the first tick is at once"
            );
            let on_schedule =
                |tick: Instant| (tick - first).as_nanos().is_multiple_of(period.as_nanos());
            let second = ticks.tick().await;
            assert!(
                second > first && on_schedule(second),
                "{:?}",
                second - first
            );
            assert!(Instant::now() >= second, "a tick came early");
            // Busy for three and a half periods: ticks fall due meanwhile.
            thread::sleep(period * 7 / 2);
            let busy_end = Instant::now();
            // The one due during the busy time comes at once...
            let late = ticks.tick().await;
            assert!(late < busy_end && on_schedule(late), "{:?}", late - first);
            // ...and the others are skipped, not fired in a burst.
            let next = ticks.tick().await;
            assert!(
                next >= busy_end,
                "a missed tick fired late, {:?} after the first",
                next - first
            );
            assert!(on_schedule(next), "{:?}: off the schedule", next - first);
        });
    });
}

/// 30 ticks 10 ms apart: each is due on the schedule set by the first (a
/// whole number of periods after it, whatever the lateness of the ticks
/// before: no drift), none comes before it is due, and the 30 take at
/// least 29 periods (and less than 5 s more: a sanity bound only).
#[test]
fn interval_ticks_keep_their_period_without_drift() {
    watchdog(LIMIT, "30 ticks", || {
        block_on(async {
            let period = Duration::from_millis(10);
            let mut ticks = interval(period);
            assert_eq!(ticks.period(), period);
            let first = ticks.tick().await;
            let mut previous = first;
            for _ in 1..30 {
                let due = ticks.tick().await;
                assert!(Instant::now() >= due, "a tick came before it was due");
                let offset = due - first;
                assert!(
                    offset.as_nanos().is_multiple_of(period.as_nanos()),
                    "{offset:?} after the first tick: the schedule drifted"
                );
                assert!(due > previous, "two ticks due at the same time");
                previous = due;
            }
            let took = first.elapsed();
            assert!(took >= period * 29, "30 ticks in {took:?}: too early");
            assert!(
                took < period * 29 + Duration::from_secs(5),
                "30 ticks in {took:?}"
            );
            assert_eq!(ticks.period(), period);
        });
    });
}

/// `interval(Duration::ZERO)` panics, saying the period must be greater
/// than zero, rather than tick in a busy loop.
#[test]
fn a_zero_interval_is_refused_with_a_clear_message() {
    let panic = std::panic::catch_unwind(|| interval(Duration::ZERO)).unwrap_err();
    assert!(panic_message(&*panic).contains("greater than zero"));
}

/// `Duration::MAX`, how "no time limit" is often written, is past what an
/// `Instant` can hold: a timeout of it never fires, and an interval of it
/// ticks once, at once, then never; neither panics on the overflow.
#[test]
fn durations_too_long_for_the_clock_mean_never() {
    watchdog(LIMIT, "Duration::MAX", || {
        block_on(async {
            assert_eq!(timeout(Duration::MAX, async { 5 }).await, Ok(5));
            let mut ticks = interval(Duration::MAX);
            ticks.tick().await;
            let second = timeout(Duration::from_millis(20), ticks.tick()).await;
            assert!(second.is_err(), "an interval of Duration::MAX ticked twice");
        });
    });
}
