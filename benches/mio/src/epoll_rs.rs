//! bench-epoll-rs: mio's own-language floor for the event-path rows. Each
//! workload of ../bench.h as a hand-written, edge-triggered epoll loop over
//! the libc crate alone (libc::epoll_create1, epoll_ctl, epoll_wait), the
//! way ../bench_epoll.c writes it in C, its event buffer static as there
//! (in the Epoll struct behind a `&mut`, LLVM held the buffer's pointer and
//! length and the epoll descriptor in registers through every event loop
//! and spilled the workload's state instead: a floor mio's loop beat).
//! Tokens are indices in epoll_event.u64, the I/O is libc::read/libc::write/libc::accept4 on the
//! raw descriptors (common.rs, the same code as bench-mio's io=raw), the
//! waker an eventfd. Same command line, checks and output lines as the other
//! binaries; io=raw is accepted (and shown) but changes nothing, the I/O
//! being raw anyway. The measured parts are the `#[no_mangle]` functions
//! named `bench_measured_*`.
//!
//! SPDX-License-Identifier: MIT

use std::cell::UnsafeCell;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::Instant;

mod common;
use common::*;

const NAME: &str = "epoll-rs";
const BACKEND: &str = "epoll";

/// An epoll instance. Its event buffer is static, as bench_epoll.c's is.
pub struct Epoll {
    fd: libc::c_int,
}

static mut EVENTS: [libc::epoll_event; MAX_EVENTS] = [libc::epoll_event { events: 0, u64: 0 }; MAX_EVENTS];

/// The records the last wait wrote.
#[inline]
fn events(n: usize) -> &'static [libc::epoll_event] {
    // SAFETY: one thread waits; n <= MAX_EVENTS records were written.
    unsafe { std::slice::from_raw_parts(std::ptr::addr_of!(EVENTS) as *const libc::epoll_event, n) }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: ours alone.
        unsafe { libc::close(self.fd) };
    }
}

impl Epoll {
    fn new() -> Res<Epoll> {
        // SAFETY: a plain system call.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(fail("epoll_create1", errno()));
        }
        Ok(Epoll { fd })
    }

    #[inline]
    fn ctl(&self, op: libc::c_int, fd: libc::c_int, what: libc::c_int, token: u64) -> Res<()> {
        let mut ev = libc::epoll_event {
            events: what as u32,
            u64: token,
        };
        // SAFETY: ev is a valid epoll_event.
        if unsafe { libc::epoll_ctl(self.fd, op, fd, &mut ev) } < 0 {
            return Err(fail("epoll_ctl", errno()));
        }
        Ok(())
    }

    /// Wait, retrying on a signal; the number of events. The failure path
    /// is out of line (`wait_failed`), as C's is, so that the loop around
    /// it keeps its registers.
    #[inline]
    fn wait(&mut self, timeout_ms: libc::c_int) -> Res<usize> {
        loop {
            // SAFETY: the buffer holds MAX_EVENTS events.
            let n = unsafe { libc::epoll_wait(self.fd, std::ptr::addr_of_mut!(EVENTS) as *mut libc::epoll_event, MAX_EVENTS as libc::c_int, timeout_ms) };
            if n >= 0 {
                return Ok(n as usize);
            }
            wait_failed()?;
        }
    }
}

/// epoll_wait failed: Ok to retry (EINTR), else the failure.
#[cold]
#[inline(never)]
fn wait_failed() -> Res<()> {
    if errno() == libc::EINTR {
        Ok(())
    } else {
        Err(fail("epoll_wait", errno()))
    }
}

const READ_ET: libc::c_int = libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET;

// ---- pingpong ------------------------------------------------------------

#[no_mangle]
#[inline(never)]
pub fn bench_measured_pingpong(pp: &mut RawPingpong, ep: &mut Epoll) -> Res<()> {
    let mut buf = [0u8; PINGPONG_BUF];
    loop {
        let n = ep.wait(-1)?;
        for ev in events(n) {
            if pp.step(ev.u64 as usize, &mut buf)? {
                return Ok(());
            }
        }
    }
}

fn pingpong(p: &mut Params, raw: bool) -> i32 {
    raw_pingpong(
        p,
        raw,
        Epoll::new,
        |ep, pp| {
            for (i, fds) in pp.fds.iter().enumerate() {
                ep.ctl(libc::EPOLL_CTL_ADD, fds[0], READ_ET, i as u64)?;
            }
            Ok(())
        },
        |ep, pp| bench_measured_pingpong(pp, ep),
    )
}

// ---- churn ---------------------------------------------------------------

#[no_mangle]
#[inline(never)]
pub fn bench_measured_churn(fds: &[libc::c_int], rounds: usize, ep: &mut Epoll) -> Res<()> {
    for _ in 0..rounds {
        for (i, &fd) in fds.iter().enumerate() {
            ep.ctl(libc::EPOLL_CTL_ADD, fd, READ_ET, i as u64)?;
        }
        ep.wait(0)?;
        for (i, &fd) in fds.iter().enumerate() {
            ep.ctl(libc::EPOLL_CTL_MOD, fd, libc::EPOLLOUT | libc::EPOLLET, i as u64)?;
        }
        ep.wait(0)?;
        for &fd in fds {
            ep.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0)?;
        }
        ep.wait(0)?;
    }
    Ok(())
}

fn churn(p: &mut Params, raw: bool) -> i32 {
    raw_churn(p, raw, Epoll::new, |ep, fd, rounds| bench_measured_churn(fd, rounds, ep))
}

// ---- wake ----------------------------------------------------------------

pub struct WakeShared {
    wakes: usize,
    ack: Sem,
    /// The eventfd the sender writes to.
    wake_fd: libc::c_int,
}

/// The other thread: wake, wait until the loop saw it, again.
#[no_mangle]
#[inline(never)]
pub fn bench_measured_wake_sender(w: &WakeShared) {
    let one: u64 = 1;
    for _ in 0..w.wakes {
        // SAFETY: writes the eight bytes of `one`.
        if unsafe { libc::write(w.wake_fd, &one as *const u64 as *const libc::c_void, 8) } != 8 {
            fail("write", errno());
            std::process::exit(1); // the loop would wait forever
        }
        // SAFETY: the semaphore was initialised before this thread started.
        while unsafe { libc::sem_wait(w.ack.get()) } < 0 && errno() == libc::EINTR {}
    }
}

#[no_mangle]
#[inline(never)]
pub fn bench_measured_wake(w: &WakeShared, done: &mut usize, ep: &mut Epoll) -> Res<()> {
    while *done < w.wakes {
        let n = ep.wait(-1)?;
        for _ in 0..n {
            // bench_wake_ack: count it and let the sender go on.
            *done += 1;
            // SAFETY: initialised semaphore.
            unsafe { libc::sem_post(w.ack.get()) };
        }
    }
    Ok(())
}

fn wake(p: &mut Params, raw: bool) -> i32 {
    let wakes = p.get("wakes", 20_000, 1, usize::MAX / 2);
    if p.bad {
        return 2;
    }
    let mut ep = match Epoll::new() {
        Ok(ep) => ep,
        Err(Failed) => return 1,
    };
    // SAFETY: a plain system call.
    let wake_fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if wake_fd < 0 {
        fail("eventfd", errno());
        return 1;
    }
    let shared = Arc::new(WakeShared {
        wakes,
        // SAFETY: an all-zero sem_t is only storage; sem_init sets it up.
        ack: Sem(UnsafeCell::new(unsafe { std::mem::zeroed() })),
        wake_fd,
    });
    let close_fd = || {
        // SAFETY: ours alone, and the sender has finished.
        unsafe { libc::close(wake_fd) };
    };
    if ep.ctl(libc::EPOLL_CTL_ADD, wake_fd, libc::EPOLLIN | libc::EPOLLET, 0).is_err() {
        close_fd();
        return 1;
    }
    // SAFETY: the semaphore stays in place inside the Arc.
    if unsafe { libc::sem_init(shared.ack.get(), 0, 0) } < 0 {
        fail("sem_init", errno());
        close_fd();
        return 1;
    }
    let mut done = 0usize;
    let t0 = Instant::now();
    let theirs = Arc::clone(&shared);
    let sender = match std::thread::Builder::new().spawn(move || bench_measured_wake_sender(&theirs)) {
        Ok(h) => h,
        Err(e) => {
            fail_io("pthread_create", &e);
            // SAFETY: no other thread uses it.
            unsafe { libc::sem_destroy(shared.ack.get()) };
            close_fd();
            return 1;
        }
    };
    if bench_measured_wake(&shared, &mut done, &mut ep).is_err() {
        std::process::exit(1); // the sender may be blocked on the semaphore
    }
    let _ = sender.join();
    let run = elapsed_ns(t0);
    drop(ep);
    close_fd();
    println!(
        "wake {} backend={}{} wakes={} work={} value={} unit=ns/wake",
        NAME,
        BACKEND,
        io_key(raw),
        wakes,
        wakes,
        fmt_f(run / wakes as f64, 1)
    );
    // SAFETY: the sender has finished.
    unsafe { libc::sem_destroy(shared.ack.get()) };
    0
}

// ---- echo ----------------------------------------------------------------

#[no_mangle]
#[inline(never)]
pub fn bench_measured_echo(e: &mut RawEcho, ep: &mut Epoll) -> Res<()> {
    let mut buf = [0u8; ECHO_BUF];
    while e.closed < e.conns {
        let n = ep.wait(-1)?;
        for ev in events(n) {
            let token = ev.u64 as usize;
            if token == 0 {
                while let Some((fd, t)) = e.accept()? {
                    ep.ctl(libc::EPOLL_CTL_ADD, fd, READ_ET, t as u64)?;
                }
            } else if e.conn[token - 1] >= 0 {
                e.serve(token - 1, &mut buf)?;
            }
        }
    }
    Ok(())
}

fn echo(p: &mut Params, argv0: &str, raw: bool) -> i32 {
    raw_echo(
        p,
        argv0,
        raw,
        |listen_fd| {
            let ep = Epoll::new()?;
            ep.ctl(libc::EPOLL_CTL_ADD, listen_fd, libc::EPOLLIN | libc::EPOLLET, 0)?;
            Ok(ep)
        },
        |ep, e| bench_measured_echo(e, ep),
    )
}

// ---- main ----------------------------------------------------------------

fn run(args: &[String]) -> i32 {
    // The multi-reactor echo (issue 12) has no Rust port yet: skipped, as
    // the C peers without it are.
    if args.len() > 1 && args[1] == "multi_echo" {
        println!("multi_echo {} skipped: not implemented", NAME);
        return 0;
    }
    let (mut p, raw) = match start(args) {
        Ok(x) => x,
        Err(status) => return status,
    };
    match args[1].as_str() {
        "pingpong" => pingpong(&mut p, raw),
        "churn" => churn(&mut p, raw),
        "wake" => wake(&mut p, raw),
        "echo" => echo(&mut p, &args[0], raw),
        // mio has no timers: the row is skipped, as the C peers' are.
        "timers" => {
            println!("timers {} skipped: not implemented", NAME);
            0
        }
        // No framing in mio (issue 12): skipped likewise.
        "frames" => {
            println!("frames {} skipped: not implemented", NAME);
            0
        }
        _ => usage("unknown workload"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let rc = run(&args);
    let _ = io::stdout().flush();
    std::process::exit(rc);
}
