//! Running cargo and the demo with a deadline, on every system: spawn, wait in short sleeps
//! until the child exits or the deadline passes, then kill it. Output is read on threads so a
//! child that prints a lot never blocks on a full pipe.
//!
//! Only programs that start no processes of their own are run with a deadline that can pass
//! (test binaries, the demo): killing cargo would leave what it runs behind.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How a child process ended.
#[derive(Debug)]
pub struct Outcome {
    /// `Some(true)` exit status 0, `Some(false)` another status, `None` killed at the deadline.
    pub success: Option<bool>,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
    /// How long it ran.
    pub elapsed: Duration,
}

/// Runs `program` with `args` in `dir`; kills it if it runs longer than `limit`. A panic's
/// backtrace is left out (`RUST_BACKTRACE=0`): the message and its line are what the runner
/// shows, and a backtrace would bury them.
pub fn run(program: &str, args: &[&str], dir: &Path, limit: Duration) -> Result<Outcome, String> {
    run_echoing(program, args, dir, limit, |_| {})
}

/// [`run`], calling `echo` with each line of stdout as it comes, so that a long run shows its
/// progress (a test that hangs until its watchdog fires takes a minute).
pub fn run_echoing(
    program: &str,
    args: &[&str],
    dir: &Path,
    limit: Duration,
    echo: impl FnMut(&str) + Send + 'static,
) -> Result<Outcome, String> {
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{program}`: {e}"))?;
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        echo,
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        |_| {},
    );
    let success = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status.success()),
            Ok(None) if started.elapsed() >= limit => {
                // Killing may fail only because it has just exited; `wait` reaps it either way.
                let _ = child.kill();
                child
                    .wait()
                    .map_err(|e| format!("cannot wait for `{program}`: {e}"))?;
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("cannot wait for `{program}`: {e}")),
        }
    };
    // Whatever still holds a pipe open after this is not waited for.
    let join = |output: mpsc::Receiver<String>| {
        output
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_default()
    };
    Ok(Outcome {
        success,
        stdout: join(stdout),
        stderr: join(stderr),
        elapsed: started.elapsed(),
    })
}

/// Reads a pipe to its end on a thread of its own, handing each line to `echo` as it comes;
/// the whole text arrives on the returned channel.
fn read(
    pipe: Option<Box<dyn Read + Send>>,
    mut echo: impl FnMut(&str) + Send + 'static,
) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(pipe) = pipe {
            let mut lines = BufReader::new(pipe);
            let mut line = Vec::new();
            // A read error only cuts the output short; the exit status still tells.
            while let Ok(n) = lines.read_until(b'\n', &mut line) {
                if n == 0 {
                    break;
                }
                echo(String::from_utf8_lossy(&line).trim_end());
                text.append(&mut line);
            }
        }
        let _ = sender.send(String::from_utf8_lossy(&text).into_owned());
    });
    receiver
}

/// The cargo that runs us (`CARGO` is set by `cargo run`), or `cargo` from the PATH.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_that_exits_gives_its_status_and_output() {
        let dir = std::env::temp_dir();
        let quick = run(&cargo(), &["--version"], &dir, Duration::from_secs(60)).unwrap();
        assert_eq!(quick.success, Some(true));
        assert!(quick.stdout.starts_with("cargo "), "{}", quick.stdout);
    }

    #[test]
    fn a_child_that_outlives_its_deadline_is_killed() {
        // This test binary itself, asked to run only the sleeper below: a child that would
        // run for a minute, on any system.
        let exe = std::env::current_exe().unwrap();
        let args = [
            "--ignored",
            "--exact",
            "process::tests::sleeps_for_a_minute",
        ];
        let dir = std::env::temp_dir();
        let outcome = run(
            exe.to_str().unwrap(),
            &args,
            &dir,
            Duration::from_millis(500),
        )
        .unwrap();
        assert!(outcome.success.is_none(), "not killed: {outcome:?}");
        assert!(outcome.elapsed < Duration::from_secs(30), "{outcome:?}");
    }

    /// The child of the test above.
    #[test]
    #[ignore = "only run as the child of a_child_that_outlives_its_deadline_is_killed"]
    fn sleeps_for_a_minute() {
        thread::sleep(Duration::from_secs(60));
    }
}
