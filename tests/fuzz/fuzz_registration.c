/*
 * libFuzzer target: the registration state machine, checked against the
 * event contract (include/cmio.h, docs/design.md §4).
 *
 * The input is a program of operations over six descriptors ("ours"), each
 * the near end of a pair whose far end ("the peer") the program drives with
 * raw system calls: three AF_UNIX stream socketpairs, one AF_UNIX datagram
 * socketpair, a loopback TCP connection (ours is the connecting side) and a
 * UDP socket on 127.0.0.1 connected to a peer UDP socket, which the program
 * may close (then our sends draw ICMP port-unreachable errors) and bind
 * again. The program runs once on every backend built in (or on the one
 * named by CMIO_FUZZ_BACKEND), each time on fresh descriptors and a fresh
 * poll; at its end the program is followed by a few polls of its own.
 *
 * One operation is a byte, op = low nibble, descriptor = high nibble % 6,
 * and for some operations a second byte of argument:
 *   0 register (arg: interest)               1 reregister (arg: interest)
 *   2 deregister                             3 read through cmio to -EAGAIN
 *   4 write through cmio (arg: size; once or to -EAGAIN)
 *   5 peer writes (arg: size)                6 peer reads everything
 *   7 shut ours down (arg: how)              8 shut the peer down (arg: how)
 *   9 close the peer (arg: TCP with a reset); for UDP, bind it again if closed
 *  10 peer_addr                             11 take_error
 *  12..15 poll with timeout 0 (events capacity 16, 16, 2, 1)
 * An interest argument is R, W or RW (arg % 3) in a mode (arg >> 6): edge
 * (the default), CMIO_LEVEL, CMIO_ONESHOT, or both.
 *
 * The model. Before and after every poll, and after every other operation,
 * the oracle looks at the kernel's level of each of our descriptors with a
 * raw poll(2) of timeout 0 (which neither reads nor re-arms anything). For
 * each descriptor the model keeps which readiness is armed, that is owed to
 * the user once the kernel has it:
 *   R (data or end of stream) and W: armed by a (re)registration asking for
 *     it and by a cmio read (write) that returned -EAGAIN; disarmed by an
 *     event reporting it (readable or read-closed; writable or write-closed);
 *   read-closed (POLLRDHUP, with the readable interest) and hang-up
 *     (POLLHUP, whatever the interest): armed by a (re)registration only,
 *     as these conditions do not go away; disarmed once reported;
 *   error (POLLERR, whatever the interest): armed by a (re)registration and
 *     whenever the oracle sees no pending error (the next one is a new
 *     occurrence); disarmed by an event reporting it.
 * Modes change this: a CMIO_LEVEL registration is never disarmed by an
 * event (what the kernel holds is owed at every poll) and keeps no holding
 * rule (CMIO__SEL_ERROR_HOLDS and CMIO__SEL_HUP_HOLDS are edge-mode rules);
 * a CMIO_ONESHOT registration is spent by the poll that first reports it:
 * nothing is owed, and any event in a later poll before a reregistration
 * is a violation (the re-arm by cmio calls does not apply to it). The poll
 * that spends it may carry more than one record for it (kevent's record
 * holds one direction).
 * The checks:
 *   - every event's token is that of a current registration (tokens are
 *     never reused), so nothing is reported for a descriptor deregistered
 *     or reregistered before the poll started;
 *   - flags agree with the interest and with what the oracle has ever seen
 *     on the descriptor: readable needs the readable interest (or a close or
 *     error), read-closed a read-side shutdown, close or reset, error a
 *     pending error, and so on. Only what was ever seen is required, since
 *     an event may describe readiness from before a state change (§4 "Event
 *     order");
 *   - no lost readiness: readiness armed and held by the kernel (as the
 *     oracle saw it just before the poll) is reported within MISS_LIMIT
 *     polls that returned fewer events than their capacity. On a backend
 *     with CMIO__SEL_ERROR_HOLDS (poll(2), documented in cmio.h) nothing is
 *     owed while an error that was reported is not taken (take_error, or a
 *     cmio read or write that failed, -EAGAIN included), and with
 *     CMIO__SEL_HUP_HOLDS nothing is owed after a reported hang-up until the
 *     descriptor is reregistered (what a look after a failing call reports
 *     is justified by that call);
 *   - no busy loop: an event is justified if it reports armed readiness the
 *     kernel held, or if the pair saw activity since the descriptor's last
 *     event (any operation on it other than peer_addr and take_error, or a
 *     change of level seen by the oracle). Spurious events are allowed,
 *     STREAK_LIMIT unjustified events in a row are not. peer_addr is not a
 *     re-arm here: every pair is connected before the program starts, so its
 *     -ENOTCONN never means "still connecting";
 *   - register / reregister / deregister return 0, -EEXIST and -ENOENT as
 *     documented, and a poll returns at most its capacity.
 * A violation prints the backend, what was violated and the operations run
 * so far, and aborts.
 *
 * SPDX-License-Identifier: MIT
 */
#include <cmio.h>

#include "selector.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef POLLRDHUP
#define POLLRDHUP 0
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Internal, from the static library: the backend's CMIO__SEL_* bits. */
unsigned cmio__poll_caps(const cmio_poll *poll);

enum { N_STREAM = 3, D_DGRAM = 3, D_TCP = 4, D_UDP = 5, N_DESC = 6 };
enum { T_STREAM, T_DGRAM, T_TCP, T_UDP };
enum { K_R, K_W, K_RDHUP, K_HUP, K_ERR, N_KINDS };
static const char *const kind_name[N_KINDS] = {"readable", "writable", "read-closed", "hang-up", "error"};
static const char *const desc_name[N_DESC] = {"unix0", "unix1", "unix2", "dgram", "tcp", "udp"};

enum {
    OP_REG,
    OP_REREG,
    OP_DEREG,
    OP_READ,
    OP_WRITE,
    OP_PEER_WRITE,
    OP_PEER_READ,
    OP_SHUT,
    OP_PEER_SHUT,
    OP_PEER_CLOSE,
    OP_PEER_ADDR,
    OP_TAKE_ERROR,
    OP_POLL /* 12..15 */
};
static const char *const op_name[12] = {"reg",       "rereg",      "dereg",     "read",
                                        "write",     "peer_write", "peer_read", "shut",
                                        "peer_shut", "peer_close", "peer_addr", "take_error"};
static const size_t poll_capacity[4] = {16, 16, 2, 1};

/* Polls (returning fewer events than their capacity) that may pass before
 * owed readiness is reported: the kernel may be a little late on loopback. */
enum { MISS_LIMIT = 3 };
/* Unjustified events in a row for one descriptor that make a busy loop. */
enum { STREAK_LIMIT = 3 };
enum { MAX_OPS = 512, IO_ROUNDS = 64, TRAILING_POLLS = MISS_LIMIT + 1 };

struct desc {
    int type;
    int fd, peer; /* ours (never closed during a program); the peer's, -1 once closed */
    bool registered;
    cmio_token token;
    cmio_interest interest;
    bool armed[N_KINDS];
    bool owed[N_KINDS]; /* at the start of the current poll */
    int miss[N_KINDS];
    short level;                         /* the oracle's last revents */
    bool seen_rdhup, seen_hup, seen_err; /* ever, by the oracle or an I/O result */
    bool err_held;                       /* an error was reported and not yet taken (CMIO__SEL_ERROR_HOLDS) */
    bool hup_held;                       /* a hang-up was reported (CMIO__SEL_HUP_HOLDS) */
    bool spent;                          /* CMIO_ONESHOT, reported: silent until reregistered */
    unsigned long spent_poll;            /* the poll that spent it */
    bool dirty;                          /* activity since its last event */
    int streak;                          /* unjustified events in a row */
};

struct op {
    uint8_t op, d, arg;
};

struct run {
    const char *backend;
    unsigned caps;
    cmio_poll *poll;
    struct desc d[N_DESC];
    struct sockaddr_in udp_peer_addr, udp_our_addr;
    cmio_token next_token;
    struct op ops[MAX_OPS];
    size_t nops;
    unsigned long polls; /* polls made in this program */
};

static cmio_events *events[4];
static int tcp_listener = -1;
static struct sockaddr_in tcp_listener_addr;
static char io_buf[8192];
static bool trace; /* CMIO_FUZZ_TRACE set: print each operation, level and event */

/* ------------------------------------------------------------------------ */
/* Reporting                                                                */
/* ------------------------------------------------------------------------ */

static void print_ops(const struct run *r)
{
    fprintf(stderr, "operations (%zu):", r->nops);
    for (size_t i = 0; i < r->nops; i++) {
        const struct op *o = &r->ops[i];
        if (o->op >= OP_POLL)
            fprintf(stderr, " poll(cap %zu)", poll_capacity[o->op - OP_POLL]);
        else
            fprintf(stderr, " %s(%s,%u)", op_name[o->op], desc_name[o->d], o->arg);
    }
    fprintf(stderr, "\n");
}

__attribute__((format(printf, 2, 3))) static void violation(const struct run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz_registration: contract violated on backend %s: ", r->backend);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    print_ops(r);
    abort();
}

static void fatal(const char *what, int err)
{
    fprintf(stderr, "fuzz_registration: %s: %s\n", what, strerror(err < 0 ? -err : err));
    abort();
}

/* ------------------------------------------------------------------------ */
/* Descriptors                                                              */
/* ------------------------------------------------------------------------ */

static void small_buffers(int fd, int opt)
{
    int size = 4096;
    (void)setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

static void open_listener(void)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0)
        fatal("socket", errno);
    tcp_listener_addr =
        (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(tcp_listener_addr);
    if (bind(l, (struct sockaddr *)&tcp_listener_addr, sizeof(tcp_listener_addr)) < 0 || listen(l, 16) < 0 ||
        getsockname(l, (struct sockaddr *)&tcp_listener_addr, &len) < 0)
        fatal("tcp listener", errno);
    tcp_listener = l;
}

/* A connected TCP pair: ours connects (blocking, then made non-blocking),
 * the peer is accepted. Returns false if the system is out of ports. */
static bool tcp_open(struct desc *d)
{
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0)
        fatal("socket", errno);
    small_buffers(c, SO_SNDBUF);
    if (connect(c, (struct sockaddr *)&tcp_listener_addr, sizeof(tcp_listener_addr)) < 0) {
        static unsigned warned;
        if (warned++ < 10)
            fprintf(stderr, "fuzz_registration: tcp connect: %s (this run goes without TCP)\n",
                    strerror(errno));
        close(c);
        return false;
    }
    int s = accept4(tcp_listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (s < 0)
        fatal("accept", errno);
    small_buffers(s, SO_RCVBUF);
    cmio_tcp_stream ours;
    int err = cmio_tcp_stream_from_fd(&ours, c);
    if (err < 0)
        fatal("cmio_tcp_stream_from_fd", err);
    d->fd = c;
    d->peer = s;
    return true;
}

static int udp_bound(struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fatal("socket", errno);
    if (bind(fd, (struct sockaddr *)addr, sizeof(*addr)) < 0) {
        close(fd);
        return -1;
    }
    socklen_t len = sizeof(*addr);
    if (getsockname(fd, (struct sockaddr *)addr, &len) < 0)
        fatal("getsockname", errno);
    return fd;
}

static void udp_open(struct run *r, struct desc *d)
{
    r->udp_peer_addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    r->udp_our_addr = r->udp_peer_addr;
    d->peer = udp_bound(&r->udp_peer_addr);
    cmio_udp_socket ours;
    cmio_sockaddr a = {.len = sizeof(struct sockaddr_in)};
    a.u.in4 = r->udp_our_addr;
    int err = cmio_udp_socket_bind(&ours, &a);
    if (err < 0 || d->peer < 0)
        fatal("udp bind", err);
    a.u.in4 = r->udp_peer_addr;
    if ((err = cmio_udp_socket_connect(&ours, &a)) < 0)
        fatal("udp connect", err);
    socklen_t len = sizeof(r->udp_our_addr);
    if (getsockname(ours.fd, (struct sockaddr *)&r->udp_our_addr, &len) < 0)
        fatal("getsockname", errno);
    d->fd = ours.fd;
}

static void setup(struct run *r)
{
    memset(r->d, 0, sizeof(r->d));
    for (int i = 0; i < N_DESC; i++) {
        r->d[i].fd = r->d[i].peer = -1;
        r->d[i].type = i < N_STREAM ? T_STREAM : i == D_DGRAM ? T_DGRAM : i == D_TCP ? T_TCP : T_UDP;
    }
    for (int i = 0; i < N_STREAM; i++) {
        cmio_unix_stream a, b;
        int err = cmio_unix_stream_pair(&a, &b);
        if (err < 0)
            fatal("cmio_unix_stream_pair", err);
        small_buffers(a.fd, SO_SNDBUF);
        small_buffers(b.fd, SO_SNDBUF);
        r->d[i].fd = a.fd;
        r->d[i].peer = b.fd;
    }
    cmio_unix_datagram a, b;
    int err = cmio_unix_datagram_pair(&a, &b);
    if (err < 0)
        fatal("cmio_unix_datagram_pair", err);
    small_buffers(a.fd, SO_SNDBUF);
    small_buffers(b.fd, SO_SNDBUF);
    r->d[D_DGRAM].fd = a.fd;
    r->d[D_DGRAM].peer = b.fd;
    (void)tcp_open(&r->d[D_TCP]); /* without it, TCP operations are skipped */
    udp_open(r, &r->d[D_UDP]);
}

/* Closing with SO_LINGER 0 resets the TCP connection: no TIME_WAIT left
 * behind by the thousands of connections a run makes. */
static void close_abortive(int fd, bool tcp)
{
    if (fd < 0)
        return;
    if (tcp) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    close(fd);
}

/* ------------------------------------------------------------------------ */
/* The oracle                                                               */
/* ------------------------------------------------------------------------ */

static void sample(struct run *r)
{
    struct pollfd p[N_DESC];
    for (int i = 0; i < N_DESC; i++)
        p[i] = (struct pollfd){.fd = r->d[i].fd, .events = POLLIN | POLLOUT | POLLRDHUP | POLLPRI};
    if (poll(p, N_DESC, 0) < 0)
        fatal("oracle poll", errno);
    for (int i = 0; i < N_DESC; i++) {
        struct desc *d = &r->d[i];
        if (d->fd < 0)
            continue;
        short lv = p[i].revents;
        if (lv != d->level)
            d->dirty = true;
        d->level = lv;
        if (lv & POLLRDHUP)
            d->seen_rdhup = true;
        if (lv & POLLHUP)
            d->seen_hup = true;
        if (lv & POLLERR)
            d->seen_err = true;
        else
            d->armed[K_ERR] = true; /* the next error is a new occurrence */
    }
}

static bool level_has(const struct run *r, const struct desc *d, int k)
{
    switch (k) {
    case K_R:
        /* Data: a read-side shutdown also sets POLLIN, but a datagram
         * socket then still reads -EAGAIN, so that level is no edge after
         * the -EAGAIN; it is owed as read-closed instead. */
        return (d->interest & CMIO_READABLE) && (d->level & POLLIN) && !(d->level & (POLLRDHUP | POLLHUP));
    case K_W:
        return (d->interest & CMIO_WRITABLE) && (d->level & POLLOUT);
    case K_RDHUP:
        return (d->interest & CMIO_READABLE) && (d->level & POLLRDHUP);
    case K_HUP:
        /* Per direction on kqueue (EV_EOF per filter): left to K_RDHUP. */
        return (r->caps & CMIO__SEL_HUP_WHOLE) && (d->level & POLLHUP);
    default:
        return (d->level & POLLERR) != 0;
    }
}

/* ------------------------------------------------------------------------ */
/* Our ends through cmio; the peer's with raw system calls                  */
/* ------------------------------------------------------------------------ */

static ssize_t our_read(struct desc *d)
{
    switch (d->type) {
    case T_STREAM: {
        cmio_unix_stream s = {.fd = d->fd};
        return cmio_unix_stream_read(&s, io_buf, sizeof(io_buf));
    }
    case T_DGRAM: {
        cmio_unix_datagram s = {.fd = d->fd};
        return cmio_unix_datagram_recv(&s, io_buf, sizeof(io_buf));
    }
    case T_TCP: {
        cmio_tcp_stream s = {.fd = d->fd};
        return cmio_tcp_stream_read(&s, io_buf, sizeof(io_buf));
    }
    default: {
        cmio_udp_socket s = {.fd = d->fd};
        return cmio_udp_socket_recv(&s, io_buf, sizeof(io_buf));
    }
    }
}

static ssize_t our_write(struct desc *d, size_t len)
{
    switch (d->type) {
    case T_STREAM: {
        cmio_unix_stream s = {.fd = d->fd};
        return cmio_unix_stream_write(&s, io_buf, len);
    }
    case T_DGRAM: {
        cmio_unix_datagram s = {.fd = d->fd};
        return cmio_unix_datagram_send(&s, io_buf, len);
    }
    case T_TCP: {
        cmio_tcp_stream s = {.fd = d->fd};
        return cmio_tcp_stream_write(&s, io_buf, len);
    }
    default: {
        cmio_udp_socket s = {.fd = d->fd};
        return cmio_udp_socket_send(&s, io_buf, len);
    }
    }
}

static void our_shutdown(struct desc *d, cmio_shutdown how)
{
    switch (d->type) {
    case T_STREAM: {
        cmio_unix_stream s = {.fd = d->fd};
        (void)cmio_unix_stream_shutdown(&s, how);
        break;
    }
    case T_DGRAM: {
        cmio_unix_datagram s = {.fd = d->fd};
        (void)cmio_unix_datagram_shutdown(&s, how);
        break;
    }
    case T_TCP: {
        cmio_tcp_stream s = {.fd = d->fd};
        (void)cmio_tcp_stream_shutdown(&s, how);
        break;
    }
    default: /* cmio has no UDP shutdown: the raw call */
        (void)shutdown(d->fd, how == CMIO_SHUTDOWN_READ    ? SHUT_RD
                              : how == CMIO_SHUTDOWN_WRITE ? SHUT_WR
                                                           : SHUT_RDWR);
        break;
    }
}

static int our_peer_addr(struct desc *d)
{
    cmio_sockaddr a;
    switch (d->type) {
    case T_STREAM: {
        cmio_unix_stream s = {.fd = d->fd};
        return cmio_unix_stream_peer_addr(&s, &a);
    }
    case T_DGRAM: {
        cmio_unix_datagram s = {.fd = d->fd};
        return cmio_unix_datagram_peer_addr(&s, &a);
    }
    case T_TCP: {
        cmio_tcp_stream s = {.fd = d->fd};
        return cmio_tcp_stream_peer_addr(&s, &a);
    }
    default: {
        cmio_udp_socket s = {.fd = d->fd};
        return cmio_udp_socket_peer_addr(&s, &a);
    }
    }
}

static int our_take_error(struct desc *d)
{
    switch (d->type) {
    case T_STREAM: {
        cmio_unix_stream s = {.fd = d->fd};
        return cmio_unix_stream_take_error(&s);
    }
    case T_DGRAM: {
        cmio_unix_datagram s = {.fd = d->fd};
        return cmio_unix_datagram_take_error(&s);
    }
    case T_TCP: {
        cmio_tcp_stream s = {.fd = d->fd};
        return cmio_tcp_stream_take_error(&s);
    }
    default: {
        cmio_udp_socket s = {.fd = d->fd};
        return cmio_udp_socket_take_error(&s);
    }
    }
}

static size_t io_size(uint8_t arg)
{
    return 1 + (size_t)(arg >> 1) * 64;
}

static void do_read(struct desc *d)
{
    int errors = 0;
    for (int i = 0; i < IO_ROUNDS; i++) {
        ssize_t n = our_read(d);
        if (n > 0 || (n == 0 && (d->type == T_DGRAM || d->type == T_UDP)))
            continue; /* data, or an empty datagram */
        if (n == 0) {
            d->seen_rdhup = true; /* end of stream */
            break;
        }
        d->err_held = false; /* a failed call takes the pending error, if any */
        if (n == -EAGAIN) {
            d->armed[K_R] = true;
            break;
        }
        d->seen_err = true; /* a pending error, returned and cleared */
        if (++errors > 3)
            break;
    }
}

static void do_write(struct desc *d, uint8_t arg)
{
    int rounds = arg & 1 ? IO_ROUNDS : 1, errors = 0;
    size_t len = io_size(arg);
    for (int i = 0; i < rounds; i++) {
        ssize_t n = our_write(d, len);
        if (n >= 0)
            continue;
        d->err_held = false;
        if (n == -EAGAIN) {
            d->armed[K_W] = true;
            break;
        }
        d->seen_err = true;
        if (++errors > 3)
            break;
    }
}

static void peer_write(struct run *r, struct desc *d, uint8_t arg)
{
    if (d->peer < 0)
        return;
    if (d->type == T_UDP)
        (void)sendto(d->peer, io_buf, io_size(arg), MSG_DONTWAIT | MSG_NOSIGNAL,
                     (struct sockaddr *)&r->udp_our_addr, sizeof(r->udp_our_addr));
    else
        (void)send(d->peer, io_buf, io_size(arg), MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void peer_read(struct desc *d)
{
    for (int i = 0; d->peer >= 0 && i < IO_ROUNDS; i++)
        if (recv(d->peer, io_buf, sizeof(io_buf), MSG_DONTWAIT) < 0 && errno == EAGAIN)
            break;
}

static void peer_close(struct run *r, struct desc *d, uint8_t arg)
{
    if (d->peer >= 0) {
        close_abortive(d->peer, d->type == T_TCP && (arg & 1));
        d->peer = -1;
    } else if (d->type == T_UDP) {
        /* The same port again (nothing else binds loopback ports here; if
         * something did, the peer just stays closed). */
        struct sockaddr_in a = r->udp_peer_addr;
        d->peer = udp_bound(&a);
    }
}

/* ------------------------------------------------------------------------ */
/* Registration and polling                                                 */
/* ------------------------------------------------------------------------ */

static cmio_interest interest_of(uint8_t arg)
{
    static const cmio_interest i[3] = {CMIO_READABLE, CMIO_WRITABLE, CMIO_READABLE | CMIO_WRITABLE};
    static const cmio_interest mode[4] = {0, CMIO_LEVEL, CMIO_ONESHOT, CMIO_LEVEL | CMIO_ONESHOT};
    return (cmio_interest)(i[arg % 3] | mode[arg >> 6]);
}

static void arm_all(struct desc *d)
{
    for (int k = 0; k < N_KINDS; k++) {
        d->armed[k] = true;
        d->miss[k] = 0;
    }
    d->dirty = true;
    d->streak = 0;
    d->err_held = false;
    d->hup_held = false;
    d->spent = false;
}

static void do_register(struct run *r, struct desc *d, uint8_t arg, bool rereg)
{
    cmio_registry *reg = cmio_poll_registry(r->poll);
    cmio_token token = r->next_token++;
    cmio_interest interest = interest_of(arg);
    int rc = rereg ? cmio_registry_reregister(reg, d->fd, token, interest)
                   : cmio_registry_register(reg, d->fd, token, interest);
    int want = rereg ? (d->registered ? 0 : -ENOENT) : (d->registered ? -EEXIST : 0);
    if (rc != want)
        violation(r, "%s of %s returned %d, expected %d", rereg ? "reregister" : "register",
                  desc_name[d - r->d], rc, want);
    if (rc == 0) {
        d->registered = true;
        d->token = token;
        d->interest = interest;
        arm_all(d);
    }
}

static void do_deregister(struct run *r, struct desc *d)
{
    int rc = cmio_registry_deregister(cmio_poll_registry(r->poll), d->fd);
    int want = d->registered ? 0 : -ENOENT;
    if (rc != want)
        violation(r, "deregister of %s returned %d, expected %d", desc_name[d - r->d], rc, want);
    d->registered = false;
}

static struct desc *by_token(struct run *r, cmio_token token)
{
    for (int i = 0; i < N_DESC; i++)
        if (r->d[i].registered && r->d[i].token == token)
            return &r->d[i];
    return NULL;
}

/* The flags of an event agree with the interest and with what was ever seen
 * of the descriptor. */
static void check_flags(const struct run *r, const struct desc *d, const cmio_event *e)
{
    const char *name = desc_name[d - r->d];
    bool closed = d->seen_rdhup || d->seen_hup || d->seen_err;
    if (cmio_event_is_readable(e) && !(d->interest & CMIO_READABLE) && !closed)
        violation(r, "%s reported readable without the readable interest, closing or error", name);
    if (cmio_event_is_writable(e) && !(d->interest & CMIO_WRITABLE) && !d->seen_hup && !d->seen_err)
        violation(r, "%s reported writable without the writable interest, hang-up or error", name);
    if (cmio_event_is_read_closed(e) && !d->seen_rdhup && !d->seen_hup)
        violation(r, "%s reported read-closed before any shutdown, close or reset", name);
    if (cmio_event_is_write_closed(e) && !d->seen_hup && !d->seen_err)
        violation(r, "%s reported write-closed without hang-up or error", name);
    if (cmio_event_is_error(e) && !d->seen_err)
        violation(r, "%s reported an error that never was", name);
    if (cmio_event_is_priority(e) && !(d->interest & CMIO_PRIORITY))
        violation(r, "%s reported priority without the priority interest", name);
}

static void do_poll(struct run *r, int which)
{
    cmio_events *ev = events[which];
    size_t cap = poll_capacity[which];
    sample(r);
    for (int i = 0; i < N_DESC; i++) {
        struct desc *d = &r->d[i];
        for (int k = 0; k < N_KINDS; k++)
            d->owed[k] =
                d->registered && !d->spent && !d->err_held && !d->hup_held && d->armed[k] && level_has(r, d, k);
    }
    int n = cmio_poll_poll(r->poll, ev, 0);
    r->polls++;
    if (n < 0 || (size_t)n > cap || cmio_events_len(ev) != (size_t)n)
        violation(r, "poll returned %d (capacity %zu, len %zu)", n, cap, cmio_events_len(ev));
    sample(r);
    if (trace) {
        fprintf(stderr, "  poll(cap %zu): %d event(s)", cap, n);
        for (int j = 0; j < n; j++) {
            const cmio_event *e = cmio_events_get(ev, (size_t)j);
            fprintf(stderr, " [token %lu flags %#x]", (unsigned long)cmio_event_token(e), cmio_event_flags(e));
        }
        fprintf(stderr, "\n");
        for (int i = 0; i < N_DESC; i++) {
            const struct desc *d = &r->d[i];
            if (!d->registered)
                continue;
            fprintf(stderr, "    %s token %lu level %#x armed", desc_name[i], (unsigned long)d->token,
                    (unsigned)d->level);
            for (int k = 0; k < N_KINDS; k++)
                if (d->armed[k])
                    fprintf(stderr, " %s%s", kind_name[k], d->owed[k] ? "(owed)" : "");
            fprintf(stderr, "\n");
        }
    }

    bool got[N_DESC][N_KINDS];
    memset(got, 0, sizeof(got));
    for (int j = 0; j < n; j++) {
        const cmio_event *e = cmio_events_get(ev, (size_t)j);
        struct desc *d = by_token(r, cmio_event_token(e));
        if (!d)
            violation(r, "event for token %lu, which no current registration holds (flags %#x)",
                      (unsigned long)cmio_event_token(e), cmio_event_flags(e));
        check_flags(r, d, e);
        if (d->spent && d->spent_poll != r->polls)
            violation(r, "oneshot %s reported again before it was reregistered (flags %#x)", desc_name[d - r->d],
                      cmio_event_flags(e));
        if ((d->interest & CMIO_ONESHOT) && !d->spent) {
            d->spent = true;
            d->spent_poll = r->polls;
        }
        bool level = (d->interest & CMIO_LEVEL) != 0;
        bool rd = cmio_event_is_readable(e) || cmio_event_is_read_closed(e);
        bool wr = cmio_event_is_writable(e) || cmio_event_is_write_closed(e);
        bool rep[N_KINDS] = {
            [K_R] = rd,
            [K_W] = wr,
            [K_RDHUP] = cmio_event_is_read_closed(e),
            [K_HUP] = cmio_event_is_read_closed(e) && cmio_event_is_write_closed(e),
            [K_ERR] = cmio_event_is_error(e),
        };
        int i = (int)(d - r->d);
        bool justified = d->dirty;
        for (int k = 0; k < N_KINDS; k++) {
            if (!rep[k])
                continue;
            if (d->owed[k] && !got[i][k])
                justified = true;
            got[i][k] = true;
            if (!level)
                d->armed[k] = false;
        }
        if (cmio_event_is_error(e) && (r->caps & CMIO__SEL_ERROR_HOLDS) && !level)
            d->err_held = true;
        /* A hang-up (it lasts: the oracle still sees it after the poll). */
        if ((r->caps & CMIO__SEL_HUP_HOLDS) && !level && cmio_event_is_read_closed(e) &&
            cmio_event_is_write_closed(e) && (d->level & POLLHUP))
            d->hup_held = true;
        d->dirty = false;
        if (justified) {
            d->streak = 0;
        } else if (++d->streak >= STREAK_LIMIT) {
            violation(r, "busy loop: %s reported %d times in a row with nothing new (flags %#x)",
                      desc_name[i], d->streak, cmio_event_flags(e));
        }
    }

    for (int i = 0; i < N_DESC; i++) {
        struct desc *d = &r->d[i];
        for (int k = 0; k < N_KINDS; k++) {
            if (!d->owed[k] || got[i][k]) {
                d->miss[k] = 0;
            } else if ((size_t)n < cap && ++d->miss[k] >= MISS_LIMIT) {
                violation(r, "lost readiness: %s owed to %s (level %#x) not reported in %d polls",
                          kind_name[k], desc_name[i], (unsigned)d->level, d->miss[k]);
            }
        }
    }
}

/* ------------------------------------------------------------------------ */
/* One program on one backend                                               */
/* ------------------------------------------------------------------------ */

static void run_program(struct run *r, const uint8_t *data, size_t size)
{
    int err = cmio_poll_new_with_backend(&r->poll, r->backend);
    if (err < 0)
        fatal("cmio_poll_new_with_backend", err);
    r->caps = cmio__poll_caps(r->poll);
    setup(r);
    r->next_token = 1;
    r->nops = 0;
    r->polls = 0;
    sample(r);
    for (int i = 0; i < N_DESC; i++)
        r->d[i].dirty = false;

    size_t pos = 0;
    while (pos < size && r->nops < MAX_OPS) {
        uint8_t b = data[pos++];
        struct op o = {.op = (uint8_t)(b & 15), .d = (uint8_t)((b >> 4) % N_DESC)};
        bool takes_arg = o.op == OP_REG || o.op == OP_REREG || o.op == OP_WRITE || o.op == OP_PEER_WRITE ||
                         o.op == OP_SHUT || o.op == OP_PEER_SHUT || o.op == OP_PEER_CLOSE;
        if (takes_arg)
            o.arg = pos < size ? data[pos++] : 0;
        if (o.op >= OP_POLL)
            o.d = 0;
        r->ops[r->nops++] = o;
        if (trace && o.op < OP_POLL)
            fprintf(stderr, "  %s(%s,%u)\n", op_name[o.op], desc_name[o.d], o.arg);
        struct desc *d = &r->d[o.d];
        if (o.op < OP_POLL && d->fd < 0)
            continue; /* no TCP this time */
        if (o.op != OP_PEER_ADDR && o.op != OP_TAKE_ERROR && o.op < OP_POLL)
            d->dirty = true;
        switch (o.op) {
        case OP_REG:
            do_register(r, d, o.arg, false);
            break;
        case OP_REREG:
            do_register(r, d, o.arg, true);
            break;
        case OP_DEREG:
            do_deregister(r, d);
            break;
        case OP_READ:
            do_read(d);
            break;
        case OP_WRITE:
            do_write(d, o.arg);
            break;
        case OP_PEER_WRITE:
            peer_write(r, d, o.arg);
            break;
        case OP_PEER_READ:
            peer_read(d);
            break;
        case OP_SHUT:
            our_shutdown(d, (cmio_shutdown)(o.arg % 3));
            break;
        case OP_PEER_SHUT:
            if (d->peer >= 0)
                (void)shutdown(d->peer, o.arg % 3 == 0 ? SHUT_RD : o.arg % 3 == 1 ? SHUT_WR : SHUT_RDWR);
            break;
        case OP_PEER_CLOSE:
            peer_close(r, d, o.arg);
            break;
        case OP_PEER_ADDR:
            (void)our_peer_addr(d);
            break;
        case OP_TAKE_ERROR:
            if (our_take_error(d) < 0)
                d->seen_err = true;
            d->err_held = false;
            break;
        default:
            do_poll(r, o.op - OP_POLL);
            break;
        }
        if (o.op < OP_POLL)
            sample(r);
    }
    for (int i = 0; i < TRAILING_POLLS; i++)
        do_poll(r, 0);

    for (int i = 0; i < N_DESC; i++) {
        struct desc *d = &r->d[i];
        if (d->registered)
            do_deregister(r, d);
        close_abortive(d->fd, d->type == T_TCP);
        close_abortive(d->peer, d->type == T_TCP);
    }
    cmio_poll_free(r->poll);
    r->poll = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (int i = 0; i < 4; i++) {
        int err = cmio_events_new(&events[i], poll_capacity[i]);
        if (err < 0)
            fatal("cmio_events_new", err);
    }
    memset(io_buf, 'x', sizeof(io_buf));
    const char *t = getenv("CMIO_FUZZ_TRACE");
    trace = t && *t;
    open_listener();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct run r;
    const char *only = getenv("CMIO_FUZZ_BACKEND");
    for (const char *const *b = cmio_backends(); *b; b++) {
        if (only && *only && strcmp(only, *b) != 0)
            continue;
        r.backend = *b;
        if (trace)
            fprintf(stderr, "backend %s\n", *b);
        run_program(&r, data, size);
    }
    return 0;
}
