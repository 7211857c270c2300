//! What the two Rust binaries share: the harness of ../bench.c (parameters,
//! errors, output, descriptors, the echo load client, the checks) and the
//! event-path workloads of ../bench.h (io=raw), whose I/O is libc::read,
//! libc::write and libc::accept4 on the raw descriptors, so that only the
//! event loop differs between bench-mio and the hand-written epoll loop
//! bench-epoll-rs. Each binary's crate root defines NAME and BACKEND.
//!
//! SPDX-License-Identifier: MIT

use std::cell::UnsafeCell;
use std::ffi::CStr;
use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use crate::{BACKEND, NAME};

// The sizes of bench.h.
pub const PINGPONG_BUF: usize = 256;
pub const PINGPONG_MAX_ACTIVE: usize = PINGPONG_BUF;
pub const ECHO_BUF: usize = 4096;
pub const ECHO_MAX_CONNS: usize = 4096;
pub const MAX_EVENTS: usize = 1024;

// ---- errors and output ---------------------------------------------------

/// An error already reported on stderr.
pub struct Failed;

pub type Res<T> = Result<T, Failed>;

pub fn strerror(err: i32) -> String {
    // SAFETY: strerror returns a NUL-terminated static or thread-local text.
    unsafe { CStr::from_ptr(libc::strerror(err)) }.to_string_lossy().into_owned()
}

/// Prints "bench-NAME: what: strerror(err)" (err positive or negative).
pub fn fail(what: &str, err: i32) -> Failed {
    eprintln!("bench-{}: {}: {}", NAME, what, strerror(err.abs()));
    Failed
}

pub fn fail_io(what: &str, e: &io::Error) -> Failed {
    fail(what, e.raw_os_error().unwrap_or(libc::EIO))
}

/// errno, read as C reads it.
#[inline]
pub fn errno() -> i32 {
    // SAFETY: the calling thread's errno.
    unsafe { *libc::__errno_location() }
}

/// printf's "%.*f", so that the numbers print exactly as bench.c prints them.
pub fn fmt_f(x: f64, precision: i32) -> String {
    let mut buf = [0 as libc::c_char; 64];
    // SAFETY: the format takes an int and a double; buf is large enough
    // for the values printed here and snprintf truncates anyway.
    let n = unsafe {
        libc::snprintf(
            buf.as_mut_ptr(),
            buf.len(),
            b"%.*f\0".as_ptr() as *const libc::c_char,
            precision as libc::c_int,
            x,
        )
    };
    if n < 0 {
        return format!("{:.*}", precision as usize, x);
    }
    // SAFETY: snprintf NUL-terminated buf.
    unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
}

pub fn usage(msg: &str) -> i32 {
    let n = NAME;
    eprintln!(
        "bench-{n}: {msg}\n\
         usage: bench-{n} pingpong [pairs=N] [active=N] [events=N]\n       \
         bench-{n} churn [fds=N] [rounds=N]\n       \
         bench-{n} wake [wakes=N]\n       \
         bench-{n} echo [conns=N] [round_trips=N] [size=N] [client=PATH]\n       \
         (each also [timeout=SECONDS] [io=own|raw])",
        n = n,
        msg = msg
    );
    2
}

/// What follows backend= on a line: the row kind of an event-path row.
/// The start of both binaries' run(): the workload's parameters (args[2..]),
/// the time limit (SIGALRM), io=own|raw, and SIGPIPE ignored. Err holds the
/// exit status of a usage error.
pub fn start(args: &[String]) -> Result<(Params, bool), i32> {
    if args.len() < 2 {
        return Err(usage("no workload"));
    }
    let mut p = Params {
        args: args[2..].to_vec(),
        bad: false,
    };
    let timeout = p.get("timeout", 300, 1, 86_400);
    // SAFETY: plain system calls; SIGALRM's default action ends the process.
    unsafe {
        libc::alarm(timeout as libc::c_uint);
    }
    let raw = match p.io_raw() {
        Some(raw) => raw,
        None => return Err(usage("io must be own or raw")),
    };
    if p.bad {
        return Err(2);
    }
    // SAFETY: ignoring SIGPIPE (Rust's runtime does so too).
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    Ok((p, raw))
}

pub fn io_key(raw: bool) -> &'static str {
    if raw {
        " io=raw"
    } else {
        ""
    }
}

// ---- key=value arguments -------------------------------------------------

pub struct Params {
    pub args: Vec<String>,
    pub bad: bool,
}

impl Params {
    pub fn text(&self, key: &str) -> Option<&str> {
        self.args.iter().find_map(|a| {
            let rest = a.strip_prefix(key)?;
            rest.strip_prefix('=')
        })
    }

    pub fn get(&mut self, key: &str, def: usize, min: usize, max: usize) -> usize {
        let text = match self.text(key) {
            Some(t) => t,
            None => return def,
        };
        match text.parse::<u64>() {
            Ok(v) if v >= min as u64 && v <= max as u64 => v as usize,
            _ => {
                eprintln!(
                    "bench-{}: {} must be a whole number in [{}, {}]",
                    NAME, key, min, max
                );
                self.bad = true;
                def
            }
        }
    }

    /// io=own|raw: whether io=raw was given (None: neither).
    pub fn io_raw(&self) -> Option<bool> {
        match self.text("io") {
            None | Some("own") => Some(false),
            Some("raw") => Some(true),
            Some(_) => None,
        }
    }
}

// ---- helpers -------------------------------------------------------------

pub fn elapsed_ns(t0: Instant) -> f64 {
    t0.elapsed().as_nanos() as f64
}

/// User plus system CPU time of this process, in nanoseconds.
pub fn cpu_ns() -> u64 {
    // SAFETY: getrusage fills the zeroed struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    (ru.ru_utime.tv_sec as u64 + ru.ru_stime.tv_sec as u64) * 1_000_000_000
        + (ru.ru_utime.tv_usec as u64 + ru.ru_stime.tv_usec as u64) * 1000
}

/// Enough descriptors for the largest runs.
pub fn raise_fd_limit(need: usize) {
    let need = need as libc::rlim_t;
    // SAFETY: plain system calls on a local struct.
    unsafe {
        let mut rl: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) == 0 && rl.rlim_cur < need {
            rl.rlim_cur = if need < rl.rlim_max { need } else { rl.rlim_max };
            libc::setrlimit(libc::RLIMIT_NOFILE, &rl);
        }
    }
}

/// A POSIX semaphore shared by the two threads of wake (bench.c uses one
/// too, so the handshake costs the same system calls).
pub struct Sem(pub UnsafeCell<libc::sem_t>);

// SAFETY: sem_t is made for use from several threads at once.
unsafe impl Sync for Sem {}
unsafe impl Send for Sem {}

impl Sem {
    pub fn get(&self) -> *mut libc::sem_t {
        self.0.get()
    }
}

/// The pipes of churn, closed on drop.
pub struct Pipes(pub Vec<[libc::c_int; 2]>);

impl Drop for Pipes {
    fn drop(&mut self) {
        for p in &self.0 {
            // SAFETY: the pipes are ours alone.
            unsafe {
                libc::close(p[0]);
                libc::close(p[1]);
            }
        }
    }
}

impl Pipes {
    /// `n` non-blocking pipes; None (reported) on failure.
    pub fn new(n: usize) -> Option<Pipes> {
        let mut pipes = Pipes(Vec::with_capacity(n));
        for _ in 0..n {
            let mut fds: [libc::c_int; 2] = [-1; 2];
            // SAFETY: pipe2 fills fds.
            if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } < 0 {
                fail("pipe2", errno());
                return None;
            }
            pipes.0.push(fds);
        }
        Some(pipes)
    }
}

/// The load client (default: bench-echo-client beside this binary).
pub fn client_path(p: &Params, argv0: &str) -> String {
    if let Some(path) = p.text("client") {
        return path.to_string();
    }
    let dir = match argv0.rfind('/') {
        Some(i) => &argv0[..=i],
        None => "",
    };
    format!("{}bench-echo-client", dir)
}

/// strtoul/strtod on the text after `key` (0 if there is no number).
pub fn number_after(line: &str, key: &str) -> Option<f64> {
    let at = line.find(key)? + key.len();
    let rest = &line[at..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
        .unwrap_or(rest.len());
    Some(rest[..end].parse::<f64>().unwrap_or(0.0))
}

// ---- event path: pingpong ------------------------------------------------

/// bench_pingpong_next: xorshift64* from bench.h's fixed seed, so that every
/// implementation picks the same sequence of pairs.
pub struct Prng(u64);

impl Prng {
    pub fn new() -> Prng {
        Prng(0x9E37_79B9_7F4A_7C15)
    }

    /// The next pair, reduced `% pairs`.
    #[inline]
    pub fn next(&mut self, pairs: usize) -> usize {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % pairs
    }
}

/// pingpong's parameters (pairs, active, events), checked as bench.c does,
/// and the descriptor limit raised for them; Err holds the exit status.
pub fn pingpong_params(p: &mut Params) -> Result<(usize, usize, usize), i32> {
    let pairs = p.get("pairs", 100, 1, 100_000);
    let active = p.get("active", 1, 1, PINGPONG_MAX_ACTIVE);
    let events = p.get("events", 100_000, 1, usize::MAX / 2);
    if p.bad {
        return Err(2);
    }
    if active > pairs {
        return Err(usage("active must not exceed pairs"));
    }
    raise_fd_limit(2 * pairs + 64);
    Ok((pairs, active, events))
}

/// A non-blocking, close-on-exec AF_UNIX stream socketpair; None (reported)
/// on failure.
pub fn socketpair_nonblocking() -> Option<[libc::c_int; 2]> {
    let mut fds: [libc::c_int; 2] = [-1; 2];
    let flags = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: socketpair fills fds.
    if unsafe { libc::socketpair(libc::AF_UNIX, flags, 0, fds.as_mut_ptr()) } < 0 {
        fail("socketpair", errno());
        return None;
    }
    Some(fds)
}

/// pingpong over raw socketpairs (bench_pingpong), closed on drop.
pub struct RawPingpong {
    pub pairs: usize,
    pub active: usize,
    pub events: usize,
    /// [read end, write end] of each socketpair; the read ends are watched.
    pub fds: Vec<[libc::c_int; 2]>,
    rng: Prng,
    pub done: usize,
}

impl Drop for RawPingpong {
    fn drop(&mut self) {
        for p in &self.fds {
            // SAFETY: the pairs are ours alone.
            unsafe {
                libc::close(p[0]);
                libc::close(p[1]);
            }
        }
    }
}

impl RawPingpong {
    #[inline]
    fn next(&mut self) -> usize {
        self.rng.next(self.pairs)
    }

    /// bench_pingpong_step: one event on pair `pair`'s read end: read what is
    /// there (one read drains it, into the caller's buffer, made once per
    /// run as C's is never zeroed) and forward each byte. Ok(true) after the
    /// last event.
    #[inline]
    pub fn step(&mut self, pair: usize, buf: &mut [u8; PINGPONG_BUF]) -> Res<bool> {
        // SAFETY: reads into the caller's buffer.
        let got = unsafe { libc::read(self.fds[pair][0], buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
        if got <= 0 {
            if got < 0 && errno() == libc::EAGAIN {
                return Ok(false);
            }
            return Err(fail("read", if got < 0 { errno() } else { libc::EPIPE }));
        }
        // Each byte on its own to its own next pair (bench_pingpong_forward).
        for k in 0..got as usize {
            let to = self.next();
            // SAFETY: writes one byte of that buffer.
            if unsafe { libc::write(self.fds[to][1], buf[k..].as_ptr() as *const libc::c_void, 1) } != 1 {
                return Err(fail("write", errno()));
            }
        }
        self.done += 1;
        Ok(self.done == self.events)
    }
}

/// The churn workload of both binaries: `open` makes the loop, `run`
/// registers, reregisters and deregisters the read ends of `fds` pipes for
/// `rounds` (the measured part); the loop is dropped before the line.
pub fn raw_churn<L>(
    p: &mut Params,
    raw: bool,
    open: impl FnOnce() -> Res<L>,
    run: impl FnOnce(&mut L, &[libc::c_int], usize) -> Res<()>,
) -> i32 {
    let nfds = p.get("fds", 1000, 1, 100_000);
    let rounds = p.get("rounds", 100, 1, usize::MAX / 3 / 100_000);
    if p.bad {
        return 2;
    }
    raise_fd_limit(2 * nfds + 64);
    let pipes = match Pipes::new(nfds) {
        Some(p) => p,
        None => return 1,
    };
    let fd: Vec<libc::c_int> = pipes.0.iter().map(|p| p[0]).collect();
    let mut lp = match open() {
        Ok(l) => l,
        Err(Failed) => return 1,
    };
    let t0 = Instant::now();
    let res = run(&mut lp, &fd, rounds);
    let run_ns = elapsed_ns(t0);
    drop(lp);
    if res.is_err() {
        return 1;
    }
    let ops = 3 * nfds * rounds;
    println!(
        "churn {} backend={}{} fds={} rounds={} work={} value={} unit=ns/op",
        NAME,
        BACKEND,
        io_key(raw),
        nfds,
        rounds,
        ops,
        fmt_f(run_ns / ops as f64, 1)
    );
    0
}

/// The pingpong workload over raw descriptors: `open` makes the loop,
/// `register` watches every read end (timed as the set-up), `run` handles
/// events until `done == events` (the measured part).
pub fn raw_pingpong<L>(
    p: &mut Params,
    raw: bool,
    open: impl FnOnce() -> Res<L>,
    register: impl FnOnce(&mut L, &RawPingpong) -> Res<()>,
    run: impl FnOnce(&mut L, &mut RawPingpong) -> Res<()>,
) -> i32 {
    let (pairs, active, events) = match pingpong_params(p) {
        Ok(x) => x,
        Err(status) => return status,
    };
    let mut pp = RawPingpong {
        pairs,
        active,
        events,
        fds: Vec::with_capacity(pairs),
        rng: Prng::new(),
        done: 0,
    };
    for _ in 0..pairs {
        match socketpair_nonblocking() {
            Some(fds) => pp.fds.push(fds),
            None => return 1,
        }
    }
    let mut lp = match open() {
        Ok(l) => l,
        Err(Failed) => return 1,
    };
    let t0 = Instant::now();
    if register(&mut lp, &pp).is_err() {
        return 1;
    }
    let setup = elapsed_ns(t0);

    // Start `active` messages, then run.
    for _ in 0..pp.active {
        let to = pp.next();
        // SAFETY: writes one byte from a static.
        if unsafe { libc::write(pp.fds[to][1], b"x".as_ptr() as *const libc::c_void, 1) } != 1 {
            fail("write", errno());
            return 1;
        }
    }
    let t0 = Instant::now();
    if run(&mut lp, &mut pp).is_err() {
        return 1;
    }
    let run = elapsed_ns(t0);
    drop(lp);

    // The work was done: every byte read was forwarded, so `active` bytes
    // are still in flight.
    let mut in_flight = 0usize;
    for fds in &pp.fds {
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD stores an int.
        unsafe { libc::ioctl(fds[0], libc::FIONREAD, &mut n) };
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
        "pingpong {} backend={}{} pairs={} active={} events={} setup_ns_per_fd={} work={} value={} unit=ns/event",
        NAME,
        BACKEND,
        io_key(raw),
        pp.pairs,
        pp.active,
        pp.events,
        fmt_f(setup / pp.pairs as f64, 1),
        pp.events,
        fmt_f(run / pp.events as f64, 1)
    );
    0
}

// ---- event path: echo ----------------------------------------------------

/// The echo server's state over raw descriptors (bench_echo), closed on drop.
pub struct RawEcho {
    pub conns: usize,
    pub listen_fd: libc::c_int,
    /// Token t >= 1 is conn[t - 1]; -1 once closed.
    pub conn: Vec<libc::c_int>,
    pub accepted: usize,
    pub closed: usize,
    pub bytes: u64,
}

impl Drop for RawEcho {
    fn drop(&mut self) {
        for &fd in self.conn.iter().filter(|&&fd| fd >= 0) {
            // SAFETY: the connections are ours alone.
            unsafe { libc::close(fd) };
        }
        if self.listen_fd >= 0 {
            // SAFETY: ours too.
            unsafe { libc::close(self.listen_fd) };
        }
    }
}

impl RawEcho {
    /// One accept4: Ok(Some((fd, token))) for a new connection, Ok(None) at
    /// EAGAIN (or a signal).
    #[inline]
    pub fn accept(&mut self) -> Res<Option<(libc::c_int, usize)>> {
        let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: no address is asked for.
        let fd = unsafe { libc::accept4(self.listen_fd, std::ptr::null_mut(), std::ptr::null_mut(), flags) };
        if fd < 0 {
            let err = errno();
            return if err == libc::EAGAIN || err == libc::EINTR {
                Ok(None)
            } else {
                Err(fail("accept4", err))
            };
        }
        if self.accepted == self.conns {
            // SAFETY: the new descriptor is ours.
            unsafe { libc::close(fd) };
            return Err(fail("accept4", libc::EMFILE));
        }
        self.conn.push(fd);
        self.accepted += 1;
        Ok(Some((fd, self.accepted)))
    }

    /// bench_echo_step until EAGAIN on conn[slot]: read ECHO_BUF bytes at a
    /// time and write back all that was read; closes the connection at its
    /// end (or a reset).
    #[inline]
    pub fn serve(&mut self, slot: usize, buf: &mut [u8; ECHO_BUF]) -> Res<()> {
        let fd = self.conn[slot];
        loop {
            // SAFETY: reads into the caller's buffer.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
            if n > 0 {
                // SAFETY: writes from it.
                if unsafe { libc::write(fd, buf.as_ptr() as *const libc::c_void, n as usize) } != n {
                    return Err(fail("write", errno()));
                }
                self.bytes += n as u64;
                continue;
            }
            if n < 0 {
                let err = errno();
                if err == libc::EAGAIN {
                    return Ok(());
                }
                if err == libc::EINTR {
                    continue;
                }
            }
            break;
        }
        // SAFETY: end of stream, or reset: close it.
        unsafe { libc::close(fd) };
        self.conn[slot] = -1;
        self.closed += 1;
        Ok(())
    }
}

/// The echo workload over raw descriptors: a listening socket on 127.0.0.1
/// made as bench.c makes it, `open` makes the loop and watches it, `run`
/// serves until every connection has closed (the measured part); the shared
/// load client drives it and the results are checked as bench.c does.
pub fn raw_echo<L>(
    p: &mut Params,
    argv0: &str,
    raw: bool,
    open: impl FnOnce(libc::c_int) -> Res<L>,
    run: impl FnOnce(&mut L, &mut RawEcho) -> Res<()>,
) -> i32 {
    let conns = p.get("conns", 50, 1, ECHO_MAX_CONNS);
    let round_trips = p.get("round_trips", 100_000, 1, usize::MAX / 2);
    let size = p.get("size", 64, 1, ECHO_BUF);
    if p.bad {
        return 2;
    }
    raise_fd_limit(2 * conns + 64);
    let client = client_path(p, argv0);

    let mut e = RawEcho {
        conns,
        listen_fd: -1,
        conn: Vec::with_capacity(conns),
        accepted: 0,
        closed: 0,
        bytes: 0,
    };
    let port;
    // SAFETY: plain system calls on local structs.
    unsafe {
        e.listen_fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0);
        let mut sin: libc::sockaddr_in = std::mem::zeroed();
        sin.sin_family = libc::AF_INET as libc::sa_family_t;
        sin.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let one: libc::c_int = 1;
        let sa = &mut sin as *mut libc::sockaddr_in as *mut libc::sockaddr;
        if e.listen_fd < 0
            || libc::setsockopt(
                e.listen_fd,
                libc::SOL_SOCKET,
                libc::SO_REUSEADDR,
                &one as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            ) < 0
            || libc::bind(e.listen_fd, sa, len) < 0
            || libc::listen(e.listen_fd, 1024) < 0
            || libc::getsockname(e.listen_fd, sa, &mut len) < 0
        {
            fail("listen on 127.0.0.1", errno());
            return 1;
        }
        port = u16::from_be(sin.sin_port);
    }
    let mut lp = match open(e.listen_fd) {
        Ok(l) => l,
        Err(Failed) => return 1,
    };

    let child = match spawn_client(&client, port, conns, round_trips, size) {
        Some(c) => c,
        None => return 1,
    };
    let c0 = cpu_ns();
    let res = run(&mut lp, &mut e);
    let cpu = cpu_ns() - c0;
    drop(lp);
    echo_finish(child, res.is_err(), cpu, e.bytes, conns, size, round_trips, raw)
}

/// The end of an echo run, for both binaries' echo workloads: stop the
/// client if the server failed, else read its line, check its round trips
/// and the bytes echoed, and print the result line. Returns the exit status.
#[allow(clippy::too_many_arguments)]
pub fn echo_finish(
    mut child: Child,
    failed: bool,
    cpu: u64,
    bytes: u64,
    conns: usize,
    size: usize,
    round_trips: usize,
    raw: bool,
) -> i32 {
    if failed {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let _ = child.wait();
        return 1;
    }
    let mut line = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut line);
    }
    let status = child.wait();
    let line = line.trim_end_matches('\n');
    let trips = number_after(line, "round_trips=");
    let rate = number_after(line, "round_trips_per_second=");
    let ok = matches!(&status, Ok(s) if s.success());
    let (client_trips, client_rate) = match (ok, trips, rate) {
        (true, Some(t), Some(r)) => (t as u64, r),
        _ => {
            eprintln!("bench-{}: echo: the client failed ({})", NAME, line);
            return 1;
        }
    };
    // The client stops at its total with a message in flight on the other
    // connections, which the server echoed too.
    let least = round_trips as u64 * size as u64;
    if client_trips != round_trips as u64 || bytes < least || bytes > least + (conns * size) as u64 {
        eprintln!(
            "bench-{}: echo: {} of {} round trips, {} bytes echoed",
            NAME, client_trips, round_trips, bytes
        );
        return 1;
    }
    println!(
        "echo {} backend={}{} conns={} size={} round_trips={} cpu_ns_per_round_trip={} work={} value={} unit=round_trips/s",
        NAME,
        BACKEND,
        io_key(raw),
        conns,
        size,
        round_trips,
        fmt_f(cpu as f64 / round_trips as f64, 1),
        round_trips,
        fmt_f(client_rate, 0)
    );
    0
}

/// The client: ADDRESS CONNECTIONS ROUND_TRIPS SECONDS SIZE; its one line
/// comes back through a pipe. Like execl, a name without a slash is not
/// looked up in PATH.
pub fn spawn_client(client: &str, port: u16, conns: usize, round_trips: usize, size: usize) -> Option<Child> {
    let program = if client.contains('/') {
        client.to_string()
    } else {
        format!("./{}", client)
    };
    match Command::new(&program)
        .arg0(client)
        .arg(format!("127.0.0.1:{}", port))
        .arg(conns.to_string())
        .arg(round_trips.to_string())
        .arg("3600")
        .arg(size.to_string())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => Some(c),
        Err(err) => {
            eprintln!(
                "bench-{}: {}: {}",
                NAME,
                client,
                strerror(err.raw_os_error().unwrap_or(libc::EIO))
            );
            None
        }
    }
}
