//! Misuse gets a message that names it, never a hang: the cases not already
//! covered next to the features they misuse.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use common::{panic_message, watchdog};
use futures::io::AsyncReadExt;
use runtime::net::{TcpListener, TcpStream};
use runtime::{block_on, spawn, task};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn spawn_blocking_outside_a_runtime_panics_with_a_clear_message() {
    let panic = std::panic::catch_unwind(|| task::spawn_blocking(|| ())).unwrap_err();
    assert!(panic_message(&*panic).contains("outside of a runtime"));
}

#[test]
fn a_socket_made_outside_a_runtime_panics_with_a_clear_message() {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let panic = std::panic::catch_unwind(move || {
        runtime::reactor::Registered::new(mio::net::TcpListener::from_std(std_listener))
    })
    .unwrap_err();
    let message = panic_message(&*panic);
    assert!(message.contains("outside of a runtime"), "{message}");
    assert!(message.contains("TcpListener"), "{message}");
}

#[test]
fn a_join_handle_polled_after_it_returned_panics_with_a_clear_message() {
    let message = block_on(async {
        let mut handle = spawn(async { 1 });
        assert_eq!((&mut handle).await.unwrap(), 1);
        spawn(async move {
            let waker = std::task::Waker::noop();
            let _ = Pin::new(&mut handle).poll(&mut Context::from_waker(waker));
        })
        .await
        .unwrap_err()
        .to_string()
    });
    assert!(
        message.contains("polled again after it returned"),
        "{message}"
    );
}

/// A socket whose runtime has shut down cannot be woken any more: a read
/// that would wait fails with an error saying so, instead of hanging.
#[test]
fn a_socket_outliving_its_runtime_fails_instead_of_hanging() {
    watchdog(LIMIT, "a socket outliving its runtime", || {
        // The server side stays open, so a read has to wait for data.
        let (mut stream, _server_side) = block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            let client = TcpStream::connect(address).await.unwrap();
            let (server_side, _) = listener.accept().await.unwrap();
            (client, server_side)
        });
        let error = block_on(async {
            let mut buf = [0; 8];
            std::future::poll_fn(|cx| match Pin::new(&mut stream.read(&mut buf)).poll(cx) {
                Poll::Ready(result) => Poll::Ready(result),
                Poll::Pending => Poll::Ready(Ok(usize::MAX)),
            })
            .await
        });
        let error = error.expect_err("reading from a socket of a dead runtime must fail");
        assert!(error.to_string().contains("has shut down"), "{error}");
    });
}

/// A blocking job waits, in a `block_on` of its own, on a `Sleep` of its
/// runtime, and the runtime is dropped. Shutdown waits for running jobs,
/// and the sleep's timer is gone with the runtime: before, the job waited
/// for ever, and so did the drop. Now shutdown wakes the timer's waker, and
/// the sleep, polled again, panics with a message that names the misuse.
#[test]
fn a_sleep_polled_after_its_runtime_shut_down_panics_instead_of_hanging() {
    watchdog(
        LIMIT,
        "a blocking job sleeping across its runtime's shutdown",
        || {
            let runtime = runtime::Runtime::new().unwrap();
            let (started, is_started) = std::sync::mpsc::channel();
            // In an `Option`: a handle is itself a future, and `block_on`
            // would otherwise be asked to return one unawaited.
            let job = runtime.block_on(async move {
                Some(task::spawn_blocking(move || {
                    let sleep = runtime::time::sleep(Duration::from_secs(3600));
                    let mut sleep = std::pin::pin!(sleep);
                    futures::executor::block_on(std::future::poll_fn(|cx| {
                        let poll = sleep.as_mut().poll(cx);
                        let _ = started.send(());
                        poll
                    }))
                }))
            });
            let job = job.expect("spawned");
            is_started.recv().unwrap();
            drop(runtime);
            let error = futures::executor::block_on(job).unwrap_err();
            assert!(error.is_panic());
            let message = panic_message(&*error.into_panic());
            assert!(
                message.contains("polled after its runtime shut down"),
                "{message}"
            );
        },
    );
}
