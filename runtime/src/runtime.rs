//! `Runtime` and `Builder`: a runtime you create, keep, and drop yourself;
//! and `block_on`, which makes one for the length of a call.

use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::JoinHandle;
use crate::block_on::run_until_complete;
use crate::executor::{self, Executor, ThreadKind};

// ANCHOR: block_on
/// Runs `future` to completion on the current thread and returns its output.
///
/// It starts a [`Runtime`] with one worker thread per core for the spawned
/// tasks, and drops it when the future completes: the workers stop, and
/// every task that has not finished is dropped. To keep a runtime across
/// calls, or to choose the number of workers, build a `Runtime` and call
/// its [`block_on`](Runtime::block_on).
///
/// # Panics
///
/// If called from inside a task or another `block_on`: blocking there would
/// stop a thread that other tasks are waiting for. Use `.await` instead, or
/// [`spawn_blocking`](crate::task::spawn_blocking). Also if the operating
/// system refuses the threads or the event queue a runtime needs.
///
/// # Examples
///
/// ```
/// let answer = runtime::block_on(async { runtime::spawn(async { 6 * 7 }).await });
/// assert_eq!(answer.unwrap(), 42);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    executor::assert_can_block();
    let runtime = Runtime::new()
        .unwrap_or_else(|error| panic!("block_on could not start a runtime: {error}"));
    runtime.block_on(future)
}
// ANCHOR_END: block_on

// ANCHOR: runtime
/// A runtime: worker threads that run tasks, a reactor for I/O, timers,
/// and a pool of threads for blocking work.
///
/// Dropping it stops its threads and drops every task that has not
/// finished (waiting for `spawn_blocking` jobs that are already running).
///
/// # Examples
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
    /// A runtime with one worker thread per available core. Fails if the
    /// operating system refuses the threads or the event queue it needs.
    ///
    /// # Examples
    ///
    /// ```
    /// let runtime = runtime::Runtime::new()?;
    /// assert_eq!(runtime.block_on(async { 1 + 1 }), 2);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn new() -> io::Result<Runtime> {
        Runtime::builder().build()
    }

    /// A [`Builder`] to configure a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let runtime = runtime::Runtime::builder().worker_threads(1).build()?;
    /// # std::io::Result::Ok(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// let runtime = runtime::Runtime::new()?;
    /// let first = runtime.block_on(async { runtime::spawn(async { 1 }).await });
    /// let second = runtime.block_on(async { 2 }); // the same workers, still running
    /// assert_eq!((first.unwrap(), second), (1, 2));
    /// # std::io::Result::Ok(())
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        executor::assert_can_block();
        let _context = executor::enter(&self.executor, ThreadKind::BlockOn);
        run_until_complete(future)
    }

    /// Spawns a task on this runtime, from any thread, inside the runtime
    /// or not. See [`spawn`](crate::spawn).
    ///
    /// # Examples
    ///
    /// ```
    /// let runtime = runtime::Runtime::new()?;
    /// // From a plain thread, outside any block_on:
    /// let handle = std::thread::scope(|s| s.spawn(|| runtime.spawn(async { 7 })).join().unwrap());
    /// assert_eq!(runtime.block_on(handle).unwrap(), 7);
    /// # std::io::Result::Ok(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// let runtime = runtime::Runtime::builder().worker_threads(2).build()?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn worker_threads(mut self, n: usize) -> Builder {
        assert!(n > 0, "a runtime needs at least one worker thread");
        self.worker_threads = Some(n);
        self
    }

    /// How long a [`spawn_blocking`](crate::task::spawn_blocking) thread
    /// waits for another job before it exits. The default is 10 seconds.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let runtime = runtime::Runtime::builder()
    ///     .thread_keep_alive(Duration::from_millis(100))
    ///     .build()?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn thread_keep_alive(mut self, duration: Duration) -> Builder {
        self.thread_keep_alive = duration;
        self
    }

    /// Starts the runtime. Fails if the operating system refuses the
    /// threads or the event queue it needs.
    ///
    /// # Examples
    ///
    /// ```
    /// let runtime = runtime::Runtime::builder().build()?;
    /// assert_eq!(runtime.block_on(async { "built" }), "built");
    /// # std::io::Result::Ok(())
    /// ```
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
