//! Stage 3 demo: timers firing in deadline order, at almost no CPU cost.
//!
//! Run it with `cargo run -p step-03`. Five tasks sleep for different
//! times, spawned out of order; they wake in deadline order. Then the demo
//! prints how much CPU time the process used while it waited.

use std::time::{Duration, Instant};

use runtime::{block_on, spawn, time};

fn main() {
    let cpu_before = process_cpu_time();
    let started = Instant::now();

    // ANCHOR: main
    block_on(async move {
        let mut handles = Vec::new();
        for ms in [300, 100, 400, 50, 200] {
            handles.push(spawn(async move {
                time::sleep(Duration::from_millis(ms)).await;
                let at = started.elapsed().as_millis();
                println!("  woke at {at:>3} ms: the task that slept {ms} ms");
            }));
        }
        for handle in handles {
            handle.await.expect("a sleeping task failed");
        }
    });
    // ANCHOR_END: main

    let wall = started.elapsed();
    println!();
    println!(
        "Waited {} ms in all, using {} ms of CPU time.",
        wall.as_millis(),
        (process_cpu_time() - cpu_before).as_millis()
    );
    println!("Notice: the tasks woke in deadline order, each on time, and the");
    println!("executor used almost no CPU: it slept until each next deadline.");
}

/// CPU time (user + system) this process has used so far: from
/// `getrusage` on Linux and macOS, from `GetProcessTimes` on Windows.
#[cfg(unix)]
fn process_cpu_time() -> Duration {
    // SAFETY: an all-zero `rusage` is valid (integers and timevals).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid place for the call to write to.
    let result = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(result, 0, "getrusage: {}", std::io::Error::last_os_error());
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

#[cfg(windows)]
fn process_cpu_time() -> Duration {
    use windows_sys::Win32::Foundation::FILETIME;
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, GetProcessTimes};
    let zero = FILETIME {
        dwLowDateTime: 0,
        dwHighDateTime: 0,
    };
    let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
    // SAFETY: the pseudo-handle of this process, and four valid places.
    let ok = unsafe {
        GetProcessTimes(
            GetCurrentProcess(),
            &mut created,
            &mut exited,
            &mut kernel,
            &mut user,
        )
    };
    assert_ne!(
        ok,
        0,
        "GetProcessTimes: {}",
        std::io::Error::last_os_error()
    );
    // In units of 100 ns.
    let ticks = |t: FILETIME| (u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime);
    Duration::from_nanos((ticks(kernel) + ticks(user)) * 100)
}
