//! bench-mio: the benchmark harness (../bench.c) and its four workloads
//! (../bench.h) written against Rust's mio 0.8, the way a mio user writes
//! them: `Poll`, `Registry`, `Events`, `Waker`, mio's socket types and their
//! `Read`/`Write` impls. mio runs edge-triggered on epoll here.
//!
//! Same command line, parameters, descriptors, algorithms, checks and output
//! lines as the C binaries (`bench-IMPL WORKLOAD key=value...`), so that the
//! runs compare one for one. The measured parts are the `#[no_mangle]`
//! functions named `bench_measured_*`, which `scripts/bench.sh instructions`
//! gives to callgrind's --toggle-collect as it does for the C binaries.
//!
//! With io=raw, the event-path variant (see ../bench.h): the descriptors
//! are raw, registered through `SourceFd`, and the I/O is libc::read and
//! libc::write (common.rs, shared with the hand-written epoll loop
//! bench-epoll-rs), so that only the event loop differs. churn and wake do
//! no I/O and run the same code either way.
//!
//! SPDX-License-Identifier: MIT

use std::cell::UnsafeCell;
use std::io::{self, Read, Write};
use std::os::unix::io::{AsRawFd, FromRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream, UnixStream};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

mod common;
use common::*;

const NAME: &str = "mio";
const BACKEND: &str = "epoll";

/// Poll, retrying on a signal.
#[inline]
fn poll_events(poll: &mut Poll, events: &mut Events, timeout: Option<Duration>) -> Res<()> {
    loop {
        match poll.poll(events, timeout) {
            Ok(()) => return Ok(()),
            Err(ref e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(fail_io("poll", &e)),
        }
    }
}

fn new_poll() -> Res<(Poll, Events)> {
    match Poll::new() {
        Ok(poll) => Ok((poll, Events::with_capacity(MAX_EVENTS))),
        Err(e) => Err(fail_io("Poll::new", &e)),
    }
}

// ---- pingpong ------------------------------------------------------------

pub struct Pingpong {
    pairs: usize,
    active: usize,
    events: usize,
    /// (read end, write end) of each socketpair.
    ends: Vec<(UnixStream, UnixStream)>,
    rng: Prng,
    done: usize,
}

impl Pingpong {
    #[inline]
    fn next(&mut self) -> usize {
        self.rng.next(self.pairs)
    }
}

#[no_mangle]
#[inline(never)]
pub fn bench_measured_pingpong(pp: &mut Pingpong, poll: &mut Poll, events: &mut Events) -> Res<()> {
    let mut buf = [0u8; PINGPONG_BUF];
    loop {
        poll_events(poll, events, None)?;
        for event in events.iter() {
            let pair = event.token().0;
            // One read drains the socket: at most `active` bytes are queued.
            let got = match (&pp.ends[pair].0).read(&mut buf) {
                Ok(0) => return Err(fail("read", libc::EPIPE)),
                Ok(n) => n,
                Err(ref e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(fail_io("read", &e)),
            };
            // Each byte on its own to its own next pair (bench_pingpong_forward).
            for k in 0..got {
                let to = pp.next();
                match (&pp.ends[to].1).write(&buf[k..k + 1]) {
                    Ok(1) => {}
                    Ok(_) => return Err(fail("write", libc::EIO)),
                    Err(e) => return Err(fail_io("write", &e)),
                }
            }
            pp.done += 1;
            if pp.done == pp.events {
                return Ok(());
            }
        }
    }
}

fn pingpong(p: &mut Params) -> i32 {
    let (pairs, active, events) = match pingpong_params(p) {
        Ok(x) => x,
        Err(status) => return status,
    };
    let mut pp = Pingpong {
        pairs,
        active,
        events,
        ends: Vec::with_capacity(pairs),
        rng: Prng::new(),
        done: 0,
    };
    for _ in 0..pairs {
        let fds = match socketpair_nonblocking() {
            Some(fds) => fds,
            None => return 1,
        };
        // SAFETY: both descriptors are new and owned by nothing else.
        let (r, w) = unsafe {
            (
                std::os::unix::net::UnixStream::from_raw_fd(fds[0]),
                std::os::unix::net::UnixStream::from_raw_fd(fds[1]),
            )
        };
        pp.ends.push((UnixStream::from_std(r), UnixStream::from_std(w)));
    }
    let (mut poll, mut evs) = match new_poll() {
        Ok(x) => x,
        Err(Failed) => return 1,
    };

    // Setup: watch every read end.
    let t0 = Instant::now();
    for (i, ends) in pp.ends.iter_mut().enumerate() {
        if let Err(e) = poll.registry().register(&mut ends.0, Token(i), Interest::READABLE) {
            fail_io("register", &e);
            return 1;
        }
    }
    let setup = elapsed_ns(t0);

    // Start `active` messages, then run.
    for _ in 0..pp.active {
        let to = pp.next();
        match (&pp.ends[to].1).write(b"x") {
            Ok(1) => {}
            Ok(_) => {
                fail("write", libc::EIO);
                return 1;
            }
            Err(e) => {
                fail_io("write", &e);
                return 1;
            }
        }
    }
    let t0 = Instant::now();
    if bench_measured_pingpong(&mut pp, &mut poll, &mut evs).is_err() {
        return 1;
    }
    let run = elapsed_ns(t0);

    // The work was done: every byte read was forwarded, so `active` bytes
    // are still in flight.
    let mut in_flight = 0usize;
    for ends in &pp.ends {
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD stores an int.
        unsafe { libc::ioctl(ends.0.as_raw_fd(), libc::FIONREAD, &mut n) };
        in_flight += n as usize;
    }
    if pp.done != pp.events || in_flight != pp.active {
        eprintln!(
            "bench-{}: pingpong: {} of {} events, {} of {} bytes in flight",
            NAME, pp.done, pp.events, in_flight, pp.active
        );
        return 1;
    }
    println!(
        "pingpong {} backend={} pairs={} active={} events={} setup_ns_per_fd={} work={} value={} unit=ns/event",
        NAME,
        BACKEND,
        pp.pairs,
        pp.active,
        pp.events,
        fmt_f(setup / pp.pairs as f64, 1),
        pp.events,
        fmt_f(run / pp.events as f64, 1)
    );
    0
}

// ---- churn ---------------------------------------------------------------

#[no_mangle]
#[inline(never)]
pub fn bench_measured_churn(fds: &[RawFd], rounds: usize, poll: &mut Poll, events: &mut Events) -> Res<()> {
    let zero = Some(Duration::from_millis(0));
    for _ in 0..rounds {
        for (i, fd) in fds.iter().enumerate() {
            if let Err(e) = poll.registry().register(&mut SourceFd(fd), Token(i), Interest::READABLE) {
                return Err(fail_io("register", &e));
            }
        }
        poll_events(poll, events, zero)?;
        for (i, fd) in fds.iter().enumerate() {
            if let Err(e) = poll.registry().reregister(&mut SourceFd(fd), Token(i), Interest::WRITABLE) {
                return Err(fail_io("reregister", &e));
            }
        }
        poll_events(poll, events, zero)?;
        for fd in fds {
            if let Err(e) = poll.registry().deregister(&mut SourceFd(fd)) {
                return Err(fail_io("deregister", &e));
            }
        }
        poll_events(poll, events, zero)?;
    }
    Ok(())
}

fn churn(p: &mut Params, raw: bool) -> i32 {
    raw_churn(p, raw, new_poll, |(poll, evs), fd, rounds| bench_measured_churn(fd, rounds, poll, evs))
}

// ---- wake ----------------------------------------------------------------

pub struct WakeShared {
    wakes: usize,
    ack: Sem,
    waker: Waker,
}

/// The other thread: wake, wait until the loop saw it, again.
#[no_mangle]
#[inline(never)]
pub fn bench_measured_wake_sender(w: &WakeShared) {
    for _ in 0..w.wakes {
        if let Err(e) = w.waker.wake() {
            fail_io("wake", &e);
            std::process::exit(1); // the loop would wait forever
        }
        // SAFETY: the semaphore was initialised before this thread started.
        while unsafe { libc::sem_wait(w.ack.get()) } < 0 && errno() == libc::EINTR {}
    }
}

#[no_mangle]
#[inline(never)]
pub fn bench_measured_wake(w: &WakeShared, done: &mut usize, poll: &mut Poll, events: &mut Events) -> Res<()> {
    while *done < w.wakes {
        poll_events(poll, events, None)?;
        for _ in events.iter() {
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
    let (mut poll, mut evs) = match new_poll() {
        Ok(x) => x,
        Err(Failed) => return 1,
    };
    let waker = match Waker::new(poll.registry(), Token(0)) {
        Ok(w) => w,
        Err(e) => {
            fail_io("Waker::new", &e);
            return 1;
        }
    };
    let shared = Arc::new(WakeShared {
        wakes,
        // SAFETY: an all-zero sem_t is only storage; sem_init sets it up.
        ack: Sem(UnsafeCell::new(unsafe { std::mem::zeroed() })),
        waker,
    });
    // SAFETY: the semaphore stays in place inside the Arc.
    if unsafe { libc::sem_init(shared.ack.get(), 0, 0) } < 0 {
        fail("sem_init", errno());
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
            return 1;
        }
    };
    if bench_measured_wake(&shared, &mut done, &mut poll, &mut evs).is_err() {
        std::process::exit(1); // the sender may be blocked on the semaphore
    }
    let _ = sender.join();
    let run = elapsed_ns(t0);
    drop(evs);
    drop(poll);
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

pub struct Echo {
    conns: usize,
    listener: TcpListener,
    /// Token t >= 1 is conn[t - 1]; None once closed.
    conn: Vec<Option<TcpStream>>,
    accepted: usize,
    closed: usize,
    bytes: u64,
}

fn accept_all(e: &mut Echo, registry: &mio::Registry) -> Res<()> {
    loop {
        match e.listener.accept() {
            Ok((mut s, _)) => {
                if e.accepted == e.conns {
                    drop(s);
                    return Err(fail("accept", libc::EMFILE));
                }
                e.accepted += 1;
                if let Err(err) = registry.register(&mut s, Token(e.accepted), Interest::READABLE) {
                    return Err(fail_io("register", &err));
                }
                e.conn.push(Some(s));
            }
            Err(ref err)
                if err.kind() == io::ErrorKind::WouldBlock || err.kind() == io::ErrorKind::Interrupted =>
            {
                return Ok(())
            }
            Err(err) => return Err(fail_io("accept", &err)),
        }
    }
}

/// Echo until WouldBlock; closes the connection at its end.
fn serve(e: &mut Echo, slot: usize, buf: &mut [u8; ECHO_BUF]) -> Res<()> {
    {
        let s = match &e.conn[slot] {
            Some(s) => s,
            None => return Ok(()),
        };
        let mut s: &TcpStream = s;
        loop {
            match s.read(buf) {
                Ok(0) => break,
                Ok(n) => {
                    match s.write(&buf[..n]) {
                        Ok(put) if put == n => {}
                        Ok(_) => return Err(fail("write", libc::EIO)),
                        Err(err) => return Err(fail_io("write", &err)),
                    }
                    e.bytes += n as u64;
                }
                Err(ref err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(ref err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break, // reset
            }
        }
    }
    e.conn[slot] = None; // end of stream, or reset: close
    e.closed += 1;
    Ok(())
}

#[no_mangle]
#[inline(never)]
pub fn bench_measured_echo(e: &mut Echo, poll: &mut Poll, events: &mut Events) -> Res<()> {
    let mut buf = [0u8; ECHO_BUF];
    while e.closed < e.conns {
        poll_events(poll, events, None)?;
        for event in events.iter() {
            let token = event.token().0;
            if token == 0 {
                accept_all(e, poll.registry())?;
            } else if e.conn[token - 1].is_some() {
                serve(e, token - 1, &mut buf)?;
            }
        }
    }
    Ok(())
}

fn echo(p: &mut Params, argv0: &str) -> i32 {
    let conns = p.get("conns", 50, 1, ECHO_MAX_CONNS);
    let round_trips = p.get("round_trips", 100_000, 1, usize::MAX / 2);
    let size = p.get("size", 64, 1, ECHO_BUF);
    if p.bad {
        return 2;
    }
    raise_fd_limit(2 * conns + 64);
    let client = client_path(p, argv0);

    // mio's bind: non-blocking, SO_REUSEADDR, backlog 1024, as bench.c does.
    let listener = match TcpListener::bind("127.0.0.1:0".parse().unwrap()) {
        Ok(l) => l,
        Err(e) => {
            fail_io("listen on 127.0.0.1", &e);
            return 1;
        }
    };
    let port = match listener.local_addr() {
        Ok(a) => a.port(),
        Err(e) => {
            fail_io("listen on 127.0.0.1", &e);
            return 1;
        }
    };
    let (mut poll, mut evs) = match new_poll() {
        Ok(x) => x,
        Err(Failed) => return 1,
    };
    let mut e = Echo {
        conns,
        listener,
        conn: Vec::with_capacity(conns),
        accepted: 0,
        closed: 0,
        bytes: 0,
    };
    if let Err(err) = poll.registry().register(&mut e.listener, Token(0), Interest::READABLE) {
        fail_io("register", &err);
        return 1;
    }

    let child = match spawn_client(&client, port, conns, round_trips, size) {
        Some(c) => c,
        None => return 1,
    };
    let c0 = cpu_ns();
    let res = bench_measured_echo(&mut e, &mut poll, &mut evs);
    let cpu = cpu_ns() - c0;
    echo_finish(child, res.is_err(), cpu, e.bytes, conns, size, round_trips, false)
}

// ---- event path (io=raw) -------------------------------------------------

#[no_mangle]
#[inline(never)]
pub fn bench_measured_pingpong_raw(pp: &mut RawPingpong, poll: &mut Poll, events: &mut Events) -> Res<()> {
    let mut buf = [0u8; PINGPONG_BUF];
    loop {
        poll_events(poll, events, None)?;
        for event in events.iter() {
            if pp.step(event.token().0, &mut buf)? {
                return Ok(());
            }
        }
    }
}

fn pingpong_raw(p: &mut Params) -> i32 {
    raw_pingpong(
        p,
        true,
        new_poll,
        |(poll, _), pp| {
            for (i, fds) in pp.fds.iter().enumerate() {
                if let Err(e) = poll.registry().register(&mut SourceFd(&fds[0]), Token(i), Interest::READABLE) {
                    return Err(fail_io("register", &e));
                }
            }
            Ok(())
        },
        |(poll, events), pp| bench_measured_pingpong_raw(pp, poll, events),
    )
}

fn accept_all_raw(e: &mut RawEcho, registry: &mio::Registry) -> Res<()> {
    while let Some((fd, token)) = e.accept()? {
        if let Err(err) = registry.register(&mut SourceFd(&fd), Token(token), Interest::READABLE) {
            return Err(fail_io("register", &err));
        }
    }
    Ok(())
}

#[no_mangle]
#[inline(never)]
pub fn bench_measured_echo_raw(e: &mut RawEcho, poll: &mut Poll, events: &mut Events) -> Res<()> {
    let mut buf = [0u8; ECHO_BUF];
    while e.closed < e.conns {
        poll_events(poll, events, None)?;
        for event in events.iter() {
            let token = event.token().0;
            if token == 0 {
                accept_all_raw(e, poll.registry())?;
            } else if e.conn[token - 1] >= 0 {
                e.serve(token - 1, &mut buf)?;
            }
        }
    }
    Ok(())
}

fn echo_raw(p: &mut Params, argv0: &str) -> i32 {
    raw_echo(
        p,
        argv0,
        true,
        |listen_fd| {
            let (poll, events) = new_poll()?;
            match poll.registry().register(&mut SourceFd(&listen_fd), Token(0), Interest::READABLE) {
                Ok(()) => Ok((poll, events)),
                Err(e) => Err(fail_io("register", &e)),
            }
        },
        |(poll, events), e| bench_measured_echo_raw(e, poll, events),
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
        "pingpong" if raw => pingpong_raw(&mut p),
        "pingpong" => pingpong(&mut p),
        "churn" => churn(&mut p, raw),
        "wake" => wake(&mut p, raw),
        "echo" if raw => echo_raw(&mut p, &args[0]),
        "echo" => echo(&mut p, &args[0]),
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
