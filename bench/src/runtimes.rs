//! Every runtime under test behind one trait, so each workload is written
//! once. Every runtime gets the same number of threads running tasks.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::FutureExt;
use futures::io::{AsyncRead, AsyncWrite};

/// Threads that run tasks, for every multi-threaded runtime.
pub const WORKERS: usize = 2;

/// A runtime under test. Everything is an associated function: tasks call
/// `spawn` from wherever they run.
pub trait Rt: 'static {
    /// The name in the results.
    const NAME: &'static str;
    /// Threads that run tasks.
    const THREADS: usize;

    /// Builds a runtime, runs `body` as a spawned task, returns its output.
    fn run<F, T>(body: F) -> T
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static;

    /// Spawns a task; the future resolves to its output.
    fn spawn<F, T>(future: F) -> impl Future<Output = T> + Send + 'static
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static;

    // ANCHOR: spawn_detached
    /// Spawns a task nobody waits for, the way that is native to the
    /// runtime (dropping a handle detaches in tokio and the book's
    /// runtimes; smol cancels a dropped task and has `detach`).
    fn spawn_detached<F>(future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(Self::spawn(future));
    }
    // ANCHOR_END: spawn_detached
}

/// A runtime with timers.
pub trait Timers: Rt {
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static;
}

/// A runtime with TCP. Streams are seen through the `futures::io` traits.
pub trait Net: Rt {
    type Listener: Send + Sync + 'static;
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    fn bind() -> impl Future<Output = io::Result<(Self::Listener, SocketAddr)>> + Send;
    fn accept(listener: &Self::Listener) -> impl Future<Output = io::Result<Self::Stream>> + Send;
    fn connect(address: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>> + Send;
}

/// Implements `Rt` (and `Timers`, `Net` where asked) for a stage or the
/// runtime: they share the book's API, so one macro covers them all.
macro_rules! book_runtime {
    ($ty:ident, $krate:ident, $name:literal, threads: $threads:expr, run: $run:expr) => {
        pub struct $ty;
        impl Rt for $ty {
            const NAME: &'static str = $name;
            const THREADS: usize = $threads;
            fn run<F, T>(body: F) -> T
            where
                F: Future<Output = T> + Send + 'static,
                T: Send + 'static,
            {
                #[allow(clippy::redundant_closure_call)]
                ($run)(body)
            }
            fn spawn<F, T>(future: F) -> impl Future<Output = T> + Send + 'static
            where
                F: Future<Output = T> + Send + 'static,
                T: Send + 'static,
            {
                $krate::spawn(future).map(|result| result.expect("a benchmark task failed"))
            }
        }
    };
}

macro_rules! book_timers {
    ($ty:ident, $krate:ident) => {
        impl Timers for $ty {
            fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static {
                $krate::time::sleep(duration)
            }
        }
    };
}

macro_rules! book_net {
    ($ty:ident, $krate:ident) => {
        impl Net for $ty {
            type Listener = $krate::net::TcpListener;
            type Stream = $krate::net::TcpStream;
            async fn bind() -> io::Result<(Self::Listener, SocketAddr)> {
                let listener = $krate::net::TcpListener::bind("127.0.0.1:0").await?;
                let address = listener.local_addr()?;
                Ok((listener, address))
            }
            async fn accept(listener: &Self::Listener) -> io::Result<Self::Stream> {
                let (stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                Ok(stream)
            }
            async fn connect(address: SocketAddr) -> io::Result<Self::Stream> {
                let stream = $krate::net::TcpStream::connect(address).await?;
                stream.set_nodelay(true)?;
                Ok(stream)
            }
        }
    };
}

/// Runs `body` as a task of a stage's free `block_on`.
macro_rules! stage_run {
    ($krate:ident) => {
        |body| {
            $krate::block_on(async move {
                $krate::spawn(body)
                    .await
                    .expect("the benchmark body failed")
            })
        }
    };
}

book_runtime!(Step02, step02, "stage 2", threads: 1, run: stage_run!(step02));
book_runtime!(Step03, step03, "stage 3", threads: 1, run: stage_run!(step03));
book_timers!(Step03, step03);
// Stages 4 to 6 start one worker per core: WORKERS on the 2-core machine
// the published figures come from (the report names the machine).
book_runtime!(Step04, step04, "stage 4", threads: WORKERS, run: stage_run!(step04));
book_timers!(Step04, step04);
book_runtime!(Step05, step05, "stage 5", threads: WORKERS, run: stage_run!(step05));
book_timers!(Step05, step05);
book_runtime!(Step06, step06, "stage 6", threads: WORKERS, run: stage_run!(step06));
book_timers!(Step06, step06);
book_net!(Step06, step06);
book_runtime!(Step07, step07, "stage 7", threads: WORKERS, run: stage_run!(step07));
book_timers!(Step07, step07);
book_net!(Step07, step07);
book_runtime!(Step08, step08, "stage 8", threads: WORKERS, run: stage_run!(step08));
book_timers!(Step08, step08);
book_net!(Step08, step08);
book_runtime!(Step09, step09, "stage 9", threads: WORKERS, run: stage_run!(step09));
book_timers!(Step09, step09);
book_net!(Step09, step09);
book_runtime!(Step10, step10, "stage 10", threads: WORKERS, run: stage_run!(step10));
book_timers!(Step10, step10);
book_net!(Step10, step10);
book_runtime!(Runtime, runtime, "runtime", threads: WORKERS, run: |body| {
    let rt = runtime::Runtime::builder()
        .worker_threads(WORKERS)
        .build()
        .expect("failed to build the runtime");
    rt.block_on(rt.spawn(body)).expect("the benchmark body failed")
});
book_timers!(Runtime, runtime);
book_net!(Runtime, runtime);

/// tokio, one thread.
pub struct TokioCurrentThread;
/// tokio, `WORKERS` worker threads.
pub struct TokioMultiThread;

macro_rules! tokio_runtime {
    ($ty:ident, $name:literal, threads: $threads:expr, $builder:expr) => {
        impl Rt for $ty {
            const NAME: &'static str = $name;
            const THREADS: usize = $threads;
            fn run<F, T>(body: F) -> T
            where
                F: Future<Output = T> + Send + 'static,
                T: Send + 'static,
            {
                let rt = $builder
                    .enable_all()
                    .build()
                    .expect("failed to build tokio");
                rt.block_on(rt.spawn(body))
                    .expect("the benchmark body failed")
            }
            fn spawn<F, T>(future: F) -> impl Future<Output = T> + Send + 'static
            where
                F: Future<Output = T> + Send + 'static,
                T: Send + 'static,
            {
                tokio::spawn(future).map(|result| result.expect("a benchmark task failed"))
            }
        }
        impl Timers for $ty {
            fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static {
                tokio::time::sleep(duration)
            }
        }
        impl Net for $ty {
            type Listener = tokio::net::TcpListener;
            type Stream = TokioIo;
            async fn bind() -> io::Result<(Self::Listener, SocketAddr)> {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                let address = listener.local_addr()?;
                Ok((listener, address))
            }
            async fn accept(listener: &Self::Listener) -> io::Result<Self::Stream> {
                let (stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                Ok(TokioIo(stream))
            }
            async fn connect(address: SocketAddr) -> io::Result<Self::Stream> {
                let stream = tokio::net::TcpStream::connect(address).await?;
                stream.set_nodelay(true)?;
                Ok(TokioIo(stream))
            }
        }
    };
}

tokio_runtime!(TokioCurrentThread, "tokio current-thread", threads: 1, tokio::runtime::Builder::new_current_thread());
tokio_runtime!(TokioMultiThread, "tokio multi-thread", threads: WORKERS, {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(WORKERS);
    builder
});

/// A tokio `TcpStream` seen through the `futures::io` traits.
pub struct TokioIo(pub tokio::net::TcpStream);

impl AsyncRead for TokioIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut buf = tokio::io::ReadBuf::new(buf);
        match tokio::io::AsyncRead::poll_read(Pin::new(&mut self.0), cx, &mut buf) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(buf.filled().len())),
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for TokioIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write(Pin::new(&mut self.0), cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_flush(Pin::new(&mut self.0), cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_shutdown(Pin::new(&mut self.0), cx)
    }
}

/// smol: an explicit executor run by `WORKERS` threads.
pub struct Smol;

static SMOL: smol::Executor<'static> = smol::Executor::new();

impl Rt for Smol {
    const NAME: &'static str = "smol";
    const THREADS: usize = WORKERS;
    fn run<F, T>(body: F) -> T
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let (stop, stopped) = smol::channel::bounded::<()>(1);
        let threads: Vec<_> = (0..WORKERS)
            .map(|_| {
                let stopped = stopped.clone();
                std::thread::spawn(move || smol::block_on(SMOL.run(stopped.recv())))
            })
            .collect();
        // The calling thread only waits, as with the other runtimes.
        let output = smol::block_on(SMOL.spawn(body));
        drop(stop);
        for thread in threads {
            let _ = thread.join();
        }
        output
    }
    fn spawn<F, T>(future: F) -> impl Future<Output = T> + Send + 'static
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        SMOL.spawn(future)
    }
    // ANCHOR: smol_detach
    fn spawn_detached<F>(future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        SMOL.spawn(future).detach();
    }
    // ANCHOR_END: smol_detach
}

impl Timers for Smol {
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static {
        smol::Timer::after(duration).map(|_| ())
    }
}

impl Net for Smol {
    type Listener = smol::net::TcpListener;
    type Stream = smol::net::TcpStream;
    async fn bind() -> io::Result<(Self::Listener, SocketAddr)> {
        let listener = smol::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        Ok((listener, address))
    }
    async fn accept(listener: &Self::Listener) -> io::Result<Self::Stream> {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
    async fn connect(address: SocketAddr) -> io::Result<Self::Stream> {
        let stream = smol::net::TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}
