//! Idle threads: threads that wait on a condition variable for work, counted
//! so that each notification goes to a thread no earlier one woke.
//!
//! The workers park this way, and so do the threads of the blocking pool.

use std::time::Duration;

use crate::sync::{Condvar, MutexGuard};

// ANCHOR: idle
/// How many threads wait on one condition variable, and how many of them
/// were notified and have not woken up yet.
///
/// Counting the notified ones apart is what keeps a second piece of work
/// from "waking" a thread that an earlier notification already woke, while
/// another thread sleeps on. It lives inside the state the condition
/// variable's mutex guards, and every method is called with that mutex held.
#[derive(Debug, Default)]
pub(crate) struct Idle {
    /// Threads waiting and not notified.
    waiting: usize,
    /// Threads notified that have not woken up yet.
    notified: usize,
}

/// How a [`Idle::wait`] ended.
pub(crate) struct Woken {
    /// A notification picked this thread (or one that was meant for a
    /// thread that has since woken up for another reason: the counts only
    /// say how many, not which).
    pub(crate) notified: bool,
    /// The timeout passed.
    pub(crate) timed_out: bool,
}

impl Idle {
    /// Counts the calling thread as idle and waits on `condvar`, whose mutex
    /// `guard` holds, until it is notified or `timeout` passes (`None`:
    /// no timeout). Spurious wake-ups return too: callers look for work
    /// again either way.
    pub(crate) fn wait<S: AsMut<Idle>>(
        condvar: &Condvar,
        guard: &mut MutexGuard<'_, S>,
        timeout: Option<Duration>,
    ) -> Woken {
        guard.as_mut().waiting += 1;
        let timed_out = match timeout {
            Some(timeout) => condvar.wait_for(guard, timeout).timed_out(),
            None => {
                condvar.wait(guard);
                false
            }
        };
        // Woken by a notification, by the timeout or spuriously: either
        // way this thread is no longer counted as idle.
        let idle = guard.as_mut();
        let notified = idle.notified > 0;
        if notified {
            idle.notified -= 1;
        } else {
            idle.waiting -= 1;
        }
        Woken {
            notified,
            timed_out,
        }
    }

    /// Wakes one waiting thread that no notification has picked yet.
    /// Returns `false` if there is none.
    pub(crate) fn notify_one(&mut self, condvar: &Condvar) -> bool {
        if self.waiting == 0 {
            return false;
        }
        self.waiting -= 1;
        self.notified += 1;
        condvar.notify_one();
        true
    }
}
// ANCHOR_END: idle

/// Model tests, run by loom under every interleaving (see `task/state.rs`).
#[cfg(all(test, loom))]
mod model {
    use super::*;
    use crate::sync::{Condvar, Mutex};
    use ::loom::sync::Arc;
    use ::loom::thread;

    /// Threads waiting for work, and the count of work to do, under one lock.
    #[derive(Default)]
    struct Pool {
        idle: Idle,
        work: usize,
        /// Threads started because no idle thread could take a unit.
        started: usize,
        shut_down: bool,
    }

    impl AsMut<Idle> for Pool {
        fn as_mut(&mut self) -> &mut Idle {
            &mut self.idle
        }
    }

    /// A pool thread: takes one unit of work, waiting for it as an idle
    /// thread, or leaves at shutdown.
    fn take_one(shared: &(Mutex<Pool>, Condvar)) {
        let mut pool = shared.0.lock();
        loop {
            if pool.work > 0 {
                pool.work -= 1;
                return;
            }
            if pool.shut_down {
                return;
            }
            Idle::wait(&shared.1, &mut pool, None);
        }
    }

    /// The park protocol of the workers and the blocking pool. An idle
    /// thread waits; two units of work come, each handed to an idle thread
    /// that no earlier notification picked, or else to a thread started
    /// for it. Every unit is taken: were the second notification counted
    /// for the thread the first one picked, the second unit would find
    /// nobody.
    #[test]
    fn loom_every_unit_of_work_finds_a_thread() {
        ::loom::model(|| {
            let shared = Arc::new((Mutex::new(Pool::default()), Condvar::new()));
            let idle_thread = {
                let shared = shared.clone();
                thread::spawn(move || take_one(&shared))
            };
            for _ in 0..2 {
                let mut pool = shared.0.lock();
                pool.work += 1;
                if !pool.idle.notify_one(&shared.1) {
                    pool.started += 1;
                }
            }
            // Shutdown: a thread that finds no work leaves. Then the
            // threads started for the units run (here, one after the
            // other): a thread that is already running, and had not parked
            // yet, may have taken their unit.
            let started = {
                let mut pool = shared.0.lock();
                pool.shut_down = true;
                shared.1.notify_all();
                pool.started
            };
            for _ in 0..started {
                take_one(&shared);
            }
            idle_thread.join().unwrap();
            assert_eq!(shared.0.lock().work, 0, "a unit of work was left behind");
        });
    }
}
