//! Helpers shared by this stage's tests.
#![allow(dead_code)] // each test file uses a different subset

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use parking_lot::Mutex;

/// Runs `body` on its own thread and fails the test with a message naming
/// `what` if it has not finished within `limit`: a hang becomes a failure.
pub fn watchdog<T: Send + 'static>(
    limit: Duration,
    what: &str,
    body: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done, finished) = mpsc::channel();
    let worker = thread::Builder::new()
        .name(format!("watched: {what}"))
        .spawn(move || {
            let _ = done.send(body());
        })
        .expect("failed to spawn the watched thread");
    match finished.recv_timeout(limit) {
        Ok(value) => {
            worker
                .join()
                .expect("the watched thread panicked after finishing");
            value
        }
        // The body panicked: re-raise its panic so the test shows its message.
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the body neither returned nor panicked"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!(
                "watchdog: `{what}` did not finish within {limit:?}: a lost wakeup or a deadlock"
            )
        }
    }
}

/// CPU time (user + system) this whole process has used so far, to a
/// microsecond or better: from `getrusage` on Linux and macOS, from
/// `GetProcessTimes` on Windows.
pub fn process_cpu_time() -> Duration {
    os::process_cpu_time()
}

/// The names of this process's threads whose name starts with `prefix`.
///
/// Linux keeps the first 15 bytes of a thread's name ("runtime-blockin" of
/// "runtime-blocking-3"), macOS 63, Windows all of it: a prefix longer than
/// 15 bytes would find nothing on Linux, so it is refused.
pub fn threads_named(prefix: &str) -> Vec<String> {
    assert!(
        prefix.len() <= 15,
        "Linux keeps 15 bytes of a thread name: {prefix:?} is longer"
    );
    os::thread_names()
        .into_iter()
        .filter(|name| name.starts_with(prefix))
        .collect()
}

/// How many files, sockets and other OS objects this process has open: its
/// file descriptors on Linux and macOS, its handles on Windows.
pub fn open_handles() -> usize {
    os::open_handles()
}

/// How many short connections a test may open one after the other, for
/// `wanted`. A connection that the client closes first keeps the client's
/// port in TIME_WAIT for a while after (30 s on macOS, 120 s on Windows),
/// and there are about 16,000 such ports for all the test processes run in
/// that time. Linux reuses a loopback port in TIME_WAIT at once
/// (`tcp_tw_reuse`), and so does Wine, whose sockets are Linux's; elsewhere
/// a test opens at most 1,000, and says so on standard error, or the tests
/// run after it would find no port left.
pub fn short_connections(wanted: usize) -> usize {
    if cfg!(target_os = "linux") || os::under_wine() || wanted <= 1_000 {
        return wanted;
    }
    eprintln!(
        "1,000 short connections, not {wanted}: this system keeps a closed \
         connection's port for a while, and has about 16,000"
    );
    1_000
}

/// How many connections a test may hold open at once, for `wanted`: each
/// takes two descriptors in one process (the client's end and the
/// server's). Raises the limit on open files to fit them where it is lower
/// (macOS starts at 256, many Linux shells at 1,024), up to the hard limit;
/// where even that is too low, or under Wine (see `os::under_wine`), the
/// test opens fewer, and says so on standard error.
pub fn connections_at_once(wanted: usize) -> usize {
    let needed = wanted as u64 * 2 + 100;
    let limit = rlimit::increase_nofile_limit(needed)
        .unwrap_or_else(|error| panic!("cannot raise the limit on open files: {error}"));
    let mut fits = wanted.min((limit.saturating_sub(100) / 2) as usize);
    if fits < wanted {
        eprintln!("the limit on open files is {limit}: {fits} connections at once, not {wanted}");
    }
    assert!(
        fits >= wanted.min(100),
        "the limit on open files, {limit}, leaves room for {fits} connections: too few to test"
    );
    if os::under_wine() && fits > 200 {
        fits = 200;
        eprintln!(
            "under Wine: 200 connections at once, not {wanted} (its socket layer stalls, \
             then drops connections, with several hundred open at once; tokio's too)"
        );
    }
    fits
}

#[cfg(unix)]
mod os {
    use std::time::Duration;

    pub fn process_cpu_time() -> Duration {
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

    /// From `/proc/self/task` (each thread's `comm`).
    #[cfg(target_os = "linux")]
    pub fn thread_names() -> Vec<String> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir("/proc/self/task").expect("cannot list /proc/self/task") {
            let comm = entry
                .expect("cannot read /proc/self/task")
                .path()
                .join("comm");
            // A thread may exit between the listing and the read: skip it.
            if let Ok(name) = std::fs::read_to_string(comm) {
                names.push(name.trim_end().to_string());
            }
        }
        names
    }

    /// From `proc_pidinfo`: the list of the process's threads, then each
    /// one's name.
    #[cfg(target_os = "macos")]
    pub fn thread_names() -> Vec<String> {
        /// `PROC_PIDLISTTHREADS` of `<sys/proc_info.h>`: the threads' ids.
        const PROC_PIDLISTTHREADS: libc::c_int = 6;
        // SAFETY: `getpid` has no preconditions.
        let pid = unsafe { libc::getpid() };
        let mut ids = vec![0u64; 4096];
        // SAFETY: the buffer is valid for writes of its whole size in bytes.
        let bytes = unsafe {
            libc::proc_pidinfo(
                pid,
                PROC_PIDLISTTHREADS,
                0,
                ids.as_mut_ptr().cast(),
                (ids.len() * 8) as libc::c_int,
            )
        };
        assert!(
            bytes > 0,
            "proc_pidinfo: {}",
            std::io::Error::last_os_error()
        );
        ids.truncate(bytes as usize / 8);
        let mut names = Vec::new();
        for id in ids {
            // SAFETY: an all-zero `proc_threadinfo` is valid (integers).
            let mut info: libc::proc_threadinfo = unsafe { std::mem::zeroed() };
            let size = std::mem::size_of::<libc::proc_threadinfo>() as libc::c_int;
            // SAFETY: `info` is valid for writes of `size` bytes.
            let got = unsafe {
                libc::proc_pidinfo(
                    pid,
                    libc::PROC_PIDTHREADINFO,
                    id,
                    (&raw mut info).cast(),
                    size,
                )
            };
            // A thread may exit between the listing and this call: skip it.
            if got == size {
                // SAFETY: the kernel ends the name with a zero byte.
                let name = unsafe { std::ffi::CStr::from_ptr(info.pth_name.as_ptr()) };
                names.push(name.to_string_lossy().into_owned());
            }
        }
        names
    }

    /// From `/proc/self/fd`.
    #[cfg(target_os = "linux")]
    pub fn open_handles() -> usize {
        std::fs::read_dir("/proc/self/fd")
            .expect("cannot list /proc/self/fd")
            .count()
    }

    /// From `proc_pidinfo`: the list of the process's descriptors.
    #[cfg(target_os = "macos")]
    pub fn open_handles() -> usize {
        // SAFETY: `getpid` has no preconditions.
        let pid = unsafe { libc::getpid() };
        let mut fds = vec![
            libc::proc_fdinfo {
                proc_fd: 0,
                proc_fdtype: 0
            };
            1 << 16
        ];
        let size = std::mem::size_of::<libc::proc_fdinfo>();
        // SAFETY: the buffer is valid for writes of its whole size in bytes.
        let bytes = unsafe {
            libc::proc_pidinfo(
                pid,
                libc::PROC_PIDLISTFDS,
                0,
                fds.as_mut_ptr().cast(),
                (fds.len() * size) as libc::c_int,
            )
        };
        assert!(
            bytes > 0,
            "proc_pidinfo: {}",
            std::io::Error::last_os_error()
        );
        bytes as usize / size
    }

    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    pub fn thread_names() -> Vec<String> {
        panic!("these tests list thread names on Linux, macOS and Windows only")
    }

    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    pub fn open_handles() -> usize {
        std::fs::read_dir("/dev/fd")
            .expect("cannot list /dev/fd")
            .count()
    }

    pub fn under_wine() -> bool {
        false
    }
}

#[cfg(windows)]
mod os {
    use std::time::Duration;

    use windows_sys::Wdk::System::SystemInformation::NtQuerySystemInformation;
    use windows_sys::Win32::Foundation::{
        CloseHandle, FILETIME, INVALID_HANDLE_VALUE, LocalFree, STATUS_INFO_LENGTH_MISMATCH,
    };
    use windows_sys::Win32::System::Diagnostics::ToolHelp::{
        CreateToolhelp32Snapshot, TH32CS_SNAPTHREAD, THREADENTRY32, Thread32First, Thread32Next,
    };
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
    use windows_sys::Win32::System::Threading::{
        GetCurrentProcess, GetCurrentProcessId, GetProcessHandleCount, GetProcessTimes,
        GetThreadDescription, OpenThread, THREAD_QUERY_LIMITED_INFORMATION,
    };

    pub fn process_cpu_time() -> Duration {
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

    /// From a Toolhelp snapshot of the system's threads, and each of ours's
    /// description, which is where Rust's `thread::Builder::name` puts it.
    pub fn thread_names() -> Vec<String> {
        let mut names = Vec::new();
        // SAFETY: no pointer is passed; the handle is checked, and closed below.
        let snapshot = unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0) };
        assert_ne!(
            snapshot,
            INVALID_HANDLE_VALUE,
            "CreateToolhelp32Snapshot: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: an all-zero `THREADENTRY32` is valid (integers).
        let mut entry: THREADENTRY32 = unsafe { std::mem::zeroed() };
        entry.dwSize = std::mem::size_of::<THREADENTRY32>() as u32;
        // SAFETY: a valid snapshot, and an entry with its size set.
        let mut more = unsafe { Thread32First(snapshot, &mut entry) } != 0;
        // SAFETY: no preconditions.
        let us = unsafe { GetCurrentProcessId() };
        while more {
            if entry.th32OwnerProcessID == us
                && let Some(name) = thread_name(entry.th32ThreadID)
            {
                names.push(name);
            }
            // SAFETY: as for `Thread32First`.
            more = unsafe { Thread32Next(snapshot, &mut entry) } != 0;
        }
        // SAFETY: the snapshot is ours, closed once.
        unsafe { CloseHandle(snapshot) };
        names
    }

    /// The description of thread `id`; `None` if it has exited meanwhile.
    fn thread_name(id: u32) -> Option<String> {
        // SAFETY: no pointer is passed; a null handle is checked.
        let thread = unsafe { OpenThread(THREAD_QUERY_LIMITED_INFORMATION, 0, id) };
        if thread.is_null() {
            return None;
        }
        let mut wide = std::ptr::null_mut();
        // SAFETY: an open thread handle, and a place for the string's address.
        let result = unsafe { GetThreadDescription(thread, &mut wide) };
        let name = (result >= 0 && !wide.is_null()).then(|| {
            // SAFETY: the description is a string that ends with a zero.
            let len = (0..).take_while(|&i| unsafe { *wide.add(i) } != 0).count();
            // SAFETY: `len` characters before that zero.
            String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(wide, len) })
        });
        // SAFETY: the string was allocated for us with LocalAlloc; the handle
        // is ours; each is freed once.
        unsafe {
            LocalFree(wide.cast());
            CloseHandle(thread);
        }
        name
    }

    /// `GetProcessHandleCount`: every kernel handle, sockets included. Wine
    /// answers 0 there, which no Windows process is, so then this counts
    /// the process's entries in the system's table of handles instead.
    pub fn open_handles() -> usize {
        let mut count = 0;
        // SAFETY: the pseudo-handle of this process, and a valid place.
        let ok = unsafe { GetProcessHandleCount(GetCurrentProcess(), &mut count) };
        assert_ne!(
            ok,
            0,
            "GetProcessHandleCount: {}",
            std::io::Error::last_os_error()
        );
        match count {
            0 => handles_in_system_table(),
            count => count as usize,
        }
    }

    /// This process's entries in the table `NtQuerySystemInformation`
    /// gives for `SystemExtendedHandleInformation`.
    fn handles_in_system_table() -> usize {
        /// `SystemExtendedHandleInformation`, which winternl.h leaves out.
        const EXTENDED_HANDLE_INFORMATION: i32 = 64;
        /// One entry (`SYSTEM_HANDLE_TABLE_ENTRY_INFO_EX`).
        #[repr(C)]
        struct Entry {
            object: usize,
            process_id: usize,
            handle: usize,
            access: u32,
            back_trace: u16,
            object_type: u16,
            attributes: u32,
            reserved: u32,
        }
        // usizes, for the alignment of the table.
        let mut buffer = vec![0usize; 1 << 16];
        loop {
            let mut needed = 0;
            let bytes = std::mem::size_of_val(buffer.as_slice());
            // SAFETY: the buffer is valid for writes of the length given.
            let status = unsafe {
                NtQuerySystemInformation(
                    EXTENDED_HANDLE_INFORMATION,
                    buffer.as_mut_ptr().cast(),
                    bytes as u32,
                    &mut needed,
                )
            };
            match status {
                STATUS_INFO_LENGTH_MISMATCH => buffer.resize(buffer.len() * 2, 0),
                status if status < 0 => panic!("NtQuerySystemInformation: {status:#x}"),
                _ => break,
            }
        }
        // The table: the number of entries, a reserved word, the entries.
        let room = (buffer.len() - 2) * size_of::<usize>() / size_of::<Entry>();
        let entries = buffer[0].min(room);
        // SAFETY: the call wrote `entries` entries after the two words.
        let table =
            unsafe { std::slice::from_raw_parts(buffer[2..].as_ptr().cast::<Entry>(), entries) };
        let us = std::process::id() as usize;
        table.iter().filter(|entry| entry.process_id == us).count()
    }

    /// Whether this Windows program runs under Wine, whose ntdll exports
    /// `wine_get_version`. ci/test runs some tests there.
    pub fn under_wine() -> bool {
        // SAFETY: zero-terminated names; a null module is checked.
        unsafe {
            let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr().cast());
            !ntdll.is_null() && GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()).is_some()
        }
    }
}

/// A small, fast, deterministic random number generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Spins for about `n` iterations: a gap of random length between events,
/// shorter than any sleep, so that races land at every point of a poll.
pub fn spin(n: u64) {
    for i in 0..n {
        std::hint::black_box(i);
    }
}

/// A one-value channel written the way a leaf future should be: the waker
/// of the latest poll is the one that gets woken.
pub fn oneshot<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(Shared {
        value: None,
        waker: None,
    }));
    (Sender(shared.clone()), Receiver(shared))
}

struct Shared<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

pub struct Sender<T>(Arc<Mutex<Shared<T>>>);
pub struct Receiver<T>(Arc<Mutex<Shared<T>>>);

impl<T> Sender<T> {
    pub fn send(self, value: T) {
        let waker = {
            let mut shared = self.0.lock();
            shared.value = Some(value);
            shared.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut shared = self.0.lock();
        match shared.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                shared.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// The message a panic carried: its payload as a string (`panic!` with a
/// literal gives a `&str`, with arguments a `String`), or "" for a payload
/// of another type.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}
