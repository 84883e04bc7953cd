//! `Runtime` and `Builder`: a runtime you create, keep, and drop yourself.

use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::JoinHandle;
use crate::block_on::run_until_complete;
use crate::executor::Executor;

// ANCHOR: runtime
/// A runtime: worker threads that run tasks, a reactor for I/O, timers,
/// and a pool of threads for blocking work.
///
/// Dropping it stops its threads and drops every task that has not
/// finished (waiting for `spawn_blocking` jobs that are already running).
///
/// ```
/// let runtime = runtime::Runtime::builder().worker_threads(2).build()?;
/// let handle = runtime.spawn(async { 1 + 1 });
/// assert_eq!(runtime.block_on(handle).unwrap(), 2);
/// # std::io::Result::Ok(())
/// ```
pub struct Runtime {
    executor: Arc<Executor>,
}

impl Runtime {
    /// A runtime with one worker thread per available core.
    pub fn new() -> io::Result<Runtime> {
        Runtime::builder().build()
    }

    /// A [`Builder`] to configure a runtime.
    pub fn builder() -> Builder {
        Builder {
            worker_threads: None,
            thread_keep_alive: crate::blocking::DEFAULT_KEEP_ALIVE,
        }
    }

    /// Runs `future` to completion on the current thread, while the
    /// runtime's workers run the tasks it spawns. Several threads may call
    /// it on one runtime at the same time.
    ///
    /// # Panics
    ///
    /// If called from inside a task or another `block_on`.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _context = self.executor.enter();
        run_until_complete(future)
    }

    /// Spawns a task on this runtime, from any thread, inside the runtime
    /// or not. See [`spawn`](crate::spawn).
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.executor.spawn(future)
    }
}

/// Stops the workers and drops every unfinished task.
///
/// # Panics
///
/// If dropped inside one of its own tasks (a worker cannot wait for
/// itself to stop).
impl Drop for Runtime {
    fn drop(&mut self) {
        self.executor.shutdown();
    }
}
// ANCHOR_END: runtime

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

// ANCHOR: builder
/// Configures and builds a [`Runtime`].
#[derive(Debug, Clone)]
pub struct Builder {
    worker_threads: Option<usize>,
    thread_keep_alive: Duration,
}

impl Builder {
    /// How many worker threads run tasks. The default is the number of
    /// cores available to the process.
    ///
    /// # Panics
    ///
    /// If `n` is zero.
    pub fn worker_threads(mut self, n: usize) -> Builder {
        assert!(n > 0, "a runtime needs at least one worker thread");
        self.worker_threads = Some(n);
        self
    }

    /// How long a [`spawn_blocking`](crate::task::spawn_blocking) thread
    /// waits for another job before it exits. The default is 10 seconds.
    pub fn thread_keep_alive(mut self, duration: Duration) -> Builder {
        self.thread_keep_alive = duration;
        self
    }

    /// Starts the runtime. Fails if the operating system refuses the
    /// threads or the event queue it needs.
    pub fn build(self) -> io::Result<Runtime> {
        let worker_threads = match self.worker_threads {
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        Ok(Runtime {
            executor: Executor::new(worker_threads, self.thread_keep_alive)?,
        })
    }
}
// ANCHOR_END: builder
