//! The set of live tasks: every task that has not completed yet, queued or
//! not.
//!
//! A task waiting for a waker is referenced only by that waker and here;
//! at shutdown this is how the executor finds it and drops its future.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use slab::Slab;

use crate::task::{Runnable, Task};

// ANCHOR: task_shards
/// How many parts the set of live tasks is split into, each with a lock of
/// its own. A thread puts the tasks it spawns in each part in turn, so the
/// spawns and completions of different threads spread over the parts
/// instead of all wanting one lock.
const TASK_SHARDS: usize = 16;

/// The key of a task that was never added: it names no slot.
const NO_KEY: usize = usize::MAX;

/// Every task that has not completed yet, in `TASK_SHARDS` slabs with a
/// lock each, none of them the executor's state lock: spawns and
/// completions on different threads rarely wait for each other, and never
/// for workers parking and waking.
pub(super) struct LiveTasks {
    shards: Box<[Mutex<Slab<Arc<Task>>>]>,
}

thread_local! {
    /// The part of the set of live tasks this thread's next task goes in.
    static NEXT_SHARD: Cell<usize> = const { Cell::new(0) };
}

/// The part of the set of live tasks for a task this thread spawns now.
#[inline]
fn next_shard() -> usize {
    NEXT_SHARD.with(|next| {
        let shard = next.get();
        next.set((shard + 1) % TASK_SHARDS);
        shard
    })
}
// ANCHOR_END: task_shards

impl LiveTasks {
    pub(super) fn new() -> LiveTasks {
        LiveTasks {
            shards: (0..TASK_SHARDS).map(|_| Mutex::new(Slab::new())).collect(),
        }
    }

    /// Adds the task that `make` builds from its key, and returns it. If
    /// shutdown has begun, the task is built with no key and not added:
    /// `Err`.
    ///
    /// `shut_down` is read under the part's lock, and shutdown takes every
    /// part's lock after setting it: a task is either added before
    /// shutdown takes the tasks, and dropped there, or not added at all.
    #[inline]
    pub(super) fn insert<T: Runnable + 'static>(
        &self,
        shut_down: &AtomicBool,
        make: impl FnOnce(usize) -> Arc<T>,
    ) -> Result<Arc<T>, Arc<T>> {
        let shard = next_shard();
        let mut tasks = self.shards[shard].lock();
        if shut_down.load(Ordering::Acquire) {
            drop(tasks);
            return Err(make(NO_KEY));
        }
        let entry = tasks.vacant_entry();
        // The key names both the part (its remainder) and the slot in it.
        let task = make(entry.key() * TASK_SHARDS + shard);
        entry.insert(task.clone());
        Ok(task)
    }

    // ANCHOR: remove
    /// Forgets a task that has completed. A key that names no task (one
    /// never added, or taken at shutdown) changes nothing.
    #[inline]
    pub(super) fn remove(&self, key: usize) {
        if key != NO_KEY {
            self.shards[key % TASK_SHARDS]
                .lock()
                .try_remove(key / TASK_SHARDS);
        }
    }
    // ANCHOR_END: remove

    /// Takes every task out of the set (shutdown).
    pub(super) fn take_all(&self) -> Vec<Arc<Task>> {
        self.shards
            .iter()
            .flat_map(|shard| std::mem::take(&mut *shard.lock()))
            .map(|(_, task)| task)
            .collect()
    }
}
