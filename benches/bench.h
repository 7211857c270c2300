/*
 * The benchmark harness: five workloads, each implemented once per event
 * library (bench_<impl>.c) against the same parameters, buffers and stopping
 * rules. The harness (bench.c) makes the descriptors, times the measured
 * part, checks that the work was done and prints one line:
 *
 *   WORKLOAD IMPL key=value ... work=N value=V unit=U
 *
 * where work counts the units (events, round trips, operations, wakes) the
 * measured part handled, so that an instruction or system call count of the
 * run can be divided by it. docs/benchmarks.md describes each workload.
 *
 * Two kinds of rows. By default each library does its I/O the way its users
 * write it (cmio through its socket types). With the argument io=raw (the
 * line then carries io=raw after backend=) every implementation does its
 * I/O with read(2)/write(2)/accept4(2) on the raw descriptors, so that only
 * the event loop differs: the event-path rows. The implementations whose
 * I/O is raw anyway (the epoll loop, libev, libevent, libuv) run the same
 * code either way.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CMIO_BENCH_H
#define CMIO_BENCH_H

#include <errno.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

/* The poll of a loop, in the loop: each implementation's wrapper of its
 * library's poll call (the EINTR retry and the error report) is inlined
 * into the loop that calls it, as a user's loop calls the poll directly,
 * whatever the compiler's size heuristics would choose. */
#if defined(__GNUC__) || defined(__clang__)
#define BENCH_POLL_INLINE static inline __attribute__((always_inline))
#else
#define BENCH_POLL_INLINE static inline
#endif

/* pingpong: libev's benchmark. `pairs` socketpairs; the read end of each,
 * fds[i][0], is watched for reading; `active` one-byte messages circulate.
 * Each readiness event reads what is there (one read of PINGPONG_BUF bytes,
 * which drains the socket since at most `active` <= PINGPONG_BUF bytes are in
 * flight) and forwards each byte read on its own to fds[j][1], j from the
 * shared PRNG, so that the messages stay apart: two that meet in one socket
 * leave it for two pairs, and about `active` sockets are readable at every
 * poll (bytes forwarded together would merge into one message for good).
 * The run stops after `events` events. */
enum { PINGPONG_BUF = 256, PINGPONG_MAX_ACTIVE = PINGPONG_BUF };

typedef struct bench_pingpong {
    size_t pairs, active, events;
    int (*fds)[2];
    uint64_t rng; /* PRNG state, seeded identically for every implementation */
    size_t done;  /* events handled so far */
    void *impl;   /* the implementation's state */
} bench_pingpong;

/* The pair that receives the next forwarded bytes (xorshift64*, fixed seed:
 * every implementation sees the same sequence). */
static inline size_t bench_pingpong_next(bench_pingpong *pp)
{
    uint64_t x = pp->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    pp->rng = x;
    return (size_t)((x * UINT64_C(0x2545F4914F6CDD1D)) >> 33) % pp->pairs;
}

/* io=raw was given: do the I/O with raw system calls (see above). */
extern bool bench_io_raw;

/* Prints "bench-IMPL: what: strerror(err)" and returns -1; err is a
 * positive or negative errno value. */
int bench_fail(const char *what, int err);

/* Forwards the n bytes read, each to its own next pair (see above), with
 * write(2). Returns 0, or -1 on a failed write (after bench_fail). */
static inline int bench_pingpong_forward(bench_pingpong *pp, const char *buf, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (write(pp->fds[bench_pingpong_next(pp)][1], buf + k, 1) != 1)
            return bench_fail("write", errno);
    return 0;
}

/* One pingpong event on fd (a pair's read end), for the implementations
 * that do plain read(2)/write(2): read what is there and forward it. Returns
 * 1 when that was the last event, 0 to go on (also when there was nothing
 * to read), -1 on failure (after bench_fail). Inline: it is the measured
 * per-event work. */
static inline int bench_pingpong_step(bench_pingpong *pp, int fd)
{
    char buf[PINGPONG_BUF];
    ssize_t got = read(fd, buf, sizeof(buf));
    if (got < 0 && errno == EAGAIN)
        return 0;
    if (got <= 0)
        return bench_fail("read", got < 0 ? errno : EPIPE);
    if (bench_pingpong_forward(pp, buf, (size_t)got) < 0)
        return -1;
    return ++pp->done == pp->events;
}

/* churn: `fds` pipe read ends. Each of `rounds` rounds registers every one
 * for reading, reregisters every one for writing (which a pipe's read end
 * never is, so no event is due) and deregisters every one, running the loop
 * once without waiting after each phase so that lazy libraries apply their
 * changes. 3 * fds * rounds operations. */
typedef struct bench_churn {
    size_t fds, rounds;
    int *fd;
    void *impl;
} bench_churn;

/* wake: a second thread wakes the blocked loop `wakes` times; after each it
 * waits until the loop has seen the wake (bench_wake_ack). */
typedef struct bench_wake {
    size_t wakes;
    size_t done; /* wakes seen by the loop */
    sem_t ack;
    void *impl;
} bench_wake;

/* The loop saw one wake: count it and let the sender go on. */
static inline void bench_wake_ack(bench_wake *w)
{
    w->done++;
    sem_post(&w->ack);
}

/* echo: a TCP echo server on 127.0.0.1 (listen_fd, non-blocking), driven by
 * the shared load client with `conns` connections keeping one `size`-byte
 * message in flight each. Accept until -EAGAIN; per readable connection read
 * ECHO_BUF bytes at a time and write back all that was read (a short write
 * is an error: one small message in flight never fills a socket buffer);
 * edge-triggered implementations read until -EAGAIN, level-triggered ones
 * once per event. The run stops when `conns` connections were accepted and
 * all of them have closed. */
enum { ECHO_BUF = 4096, ECHO_MAX_CONNS = 4096 };

typedef struct bench_echo {
    size_t conns, size, round_trips;
    int listen_fd;
    size_t accepted, closed;
    uint64_t bytes; /* bytes echoed */
    void *impl;
} bench_echo;

/* One read of an echo connection and the write back, for the
 * implementations that do plain read(2)/write(2). Returns ECHO_AGAIN when
 * it echoed bytes (or was interrupted): edge-triggered implementations call
 * it again, level-triggered ones wait for the next event; ECHO_WAIT at
 * -EAGAIN; ECHO_END at the end of the stream or a reset (close it); -1 on a
 * failed write (after bench_fail). */
enum { ECHO_WAIT = 0, ECHO_AGAIN = 1, ECHO_END = 2 };
static inline int bench_echo_step(bench_echo *e, int fd)
{
    char buf[ECHO_BUF];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) {
        if (write(fd, buf, (size_t)n) != n)
            return bench_fail("write", errno);
        e->bytes += (uint64_t)n;
        return ECHO_AGAIN;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return errno == EAGAIN ? ECHO_WAIT : ECHO_AGAIN;
    return ECHO_END;
}

/* timers: `timers` timers, each armed once with a deadline of 1..max_ms ms
 * from the shared PRNG (bench_timers_after), every other one cancelled
 * right after the arming pass; then the implementation calls
 * bench_timers_started and waits until the others have all expired
 * (bench_timers_fired for each). Per timer: one arm, and one cancel or one
 * expiry. The line gives CPU ns per timer, the lateness of the expiries
 * whose deadline came after the arming pass (the others wait for it to
 * end), and the expiries that came before their deadline (early). */
typedef struct bench_timers {
    size_t timers, max_ms;
    uint64_t rng;
    int64_t stamp;  /* the clock, read every 1024 arms */
    int64_t *due;   /* ns, CLOCK_MONOTONIC, per timer */
    int64_t started; /* when the arming pass ended */
    int64_t *late;  /* ns, per expiry due after started */
    size_t timed;   /* entries of late */
    size_t fired;   /* expiries so far */
    size_t early;   /* expiries before their deadline */
    void *impl;
} bench_timers;

static inline int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The delay of timer i in ms, from the PRNG; notes its deadline (against a
 * clock read every 1024 timers, so no later than the true one). */
static inline uint64_t bench_timers_after(bench_timers *t, size_t i)
{
    if ((i & 1023) == 0)
        t->stamp = bench_now_ns();
    uint64_t x = t->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t->rng = x;
    uint64_t ms = 1 + ((x * UINT64_C(0x2545F4914F6CDD1D)) >> 33) % t->max_ms;
    t->due[i] = t->stamp + (int64_t)ms * 1000000;
    return ms;
}

/* The arming and cancelling passes are over; the waiting begins. */
static inline void bench_timers_started(bench_timers *t) { t->started = bench_now_ns(); }

/* Timer i expired: note its lateness. Returns 1 after the last expiry. */
static inline int bench_timers_fired(bench_timers *t, size_t i)
{
    int64_t late = bench_now_ns() - t->due[i];
    if (late < 0)
        t->early++;
    if (t->due[i] >= t->started)
        t->late[t->timed++] = late;
    return ++t->fired == t->timers - t->timers / 2;
}

/* An implementation's timers (NULL where it has none). */
typedef struct bench_timer_ops {
    int (*open)(bench_timers *t); /* make the loop and t->timers disarmed timers */
    int (*run)(bench_timers *t);  /* arm all, cancel the odd ones, until the rest expired: measured */
    void (*close)(bench_timers *t);
} bench_timer_ops;

/* channel: `producers` threads send `messages` numbered 16-byte messages in
 * all (producer k the k-th share) into one channel of `capacity` messages
 * that wakes the loop; a producer that finds it full yields (sched_yield)
 * and tries again, counting a full retry. The loop, on the channel's event,
 * receives until the channel is empty and hands each message to
 * bench_channel_take, which checks that each producer's messages arrive
 * once and in order. The run stops when all were taken. */
enum { BENCH_CHANNEL_MAX_PRODUCERS = 64 };

typedef struct bench_msg {
    uint64_t producer, seq;
} bench_msg;

typedef struct bench_channel {
    size_t producers, messages, capacity;
    size_t done;   /* messages taken by the loop */
    size_t bad;    /* taken out of order (or from no producer) */
    size_t events; /* the channel's events the loop handled */
    uint64_t next[BENCH_CHANNEL_MAX_PRODUCERS]; /* each producer's next seq */
    void *impl;
} bench_channel;

/* The loop took message m: check it against its producer's order. Inline:
 * it is the measured per-message work. */
static inline void bench_channel_take(bench_channel *ch, const bench_msg *m)
{
    if (m->producer < ch->producers && m->seq == ch->next[m->producer])
        ch->next[m->producer]++;
    else
        ch->bad++;
    ch->done++;
}

/* multi_echo (issue 12): the echo server of `threads` reactors, each a
 * thread with its own loop over its own listener, listen_fds[k], all bound
 * to one port of 127.0.0.1 with SO_REUSEPORT (the kernel spreads the
 * connections), driven by the shared load client as echo is. Each reactor
 * serves its connections as echo does (bench_echo_step with the reactor's
 * own bench_echo, whose listen_fd is its listener), counting into
 * accepted[k], bytes[k]; the run stops when `conns` connections have closed
 * in all: the reactor that closes the last one wakes the others (the
 * implementation's cross-thread wake), and each returns when `closed`
 * reaches conns. Reactor 0 runs in the harness's thread, the others in
 * threads it starts. */
enum { MULTI_ECHO_MAX_THREADS = 16 };

typedef struct bench_multi_echo {
    size_t threads, conns, size, round_trips;
    int listen_fds[MULTI_ECHO_MAX_THREADS];
    bench_echo per[MULTI_ECHO_MAX_THREADS]; /* each reactor's counters (accepted, closed, bytes) */
    size_t closed; /* connections closed, all reactors (__atomic builtins only) */
    void *impl;
} bench_multi_echo;

/* A reactor closed a connection: whether it was the last of the run (then
 * it wakes the others). */
static inline bool bench_multi_echo_closed(bench_multi_echo *m)
{
    return __atomic_add_fetch(&m->closed, 1, __ATOMIC_ACQ_REL) == m->conns;
}

/* Whether the run is over (every reactor checks after each poll). */
static inline bool bench_multi_echo_done(bench_multi_echo *m)
{
    return __atomic_load_n(&m->closed, __ATOMIC_ACQUIRE) >= m->conns;
}

/* A reactor failed: end the run for all (the caller then wakes the
 * others, as after the last close). */
static inline void bench_multi_echo_abort(bench_multi_echo *m)
{
    __atomic_store_n(&m->closed, m->conns, __ATOMIC_RELEASE);
}

/* An implementation's multi_echo (NULL where it has none). */
typedef struct bench_multi_echo_ops {
    int (*open)(bench_multi_echo *m);          /* make every reactor's loop, watch its listener */
    int (*run)(bench_multi_echo *m, size_t k); /* reactor k, until bench_multi_echo_done: measured */
    void (*close)(bench_multi_echo *m);
} bench_multi_echo_ops;

/* frames (issue 12): a socketpair, fds[0] the writer's end and fds[1] the
 * reader's. The measured part pushes `frames` frames of `size` bytes (frame
 * i holds the byte i & 0xff) through it with a 4-byte big-endian length
 * prefix, in one thread: queue frames until the writer's queue (QUEUE
 * bytes) is full, write them out, read and decode what came, until every
 * frame was decoded. Each frame decoded is handed to bench_frames_got. */
enum { BENCH_FRAMES_QUEUE = 1 << 16 };

typedef struct bench_frames {
    size_t frames, size;
    int fds[2];
    size_t done;  /* frames decoded */
    uint64_t sum; /* of each frame's length and first byte: checked */
    void *impl;
} bench_frames;

static inline void bench_frames_got(bench_frames *f, const void *frame, uint32_t len)
{
    f->sum += len + (len ? *(const unsigned char *)frame : 0);
    f->done++;
}

/* An implementation's frames (NULL where it has none). */
typedef struct bench_frame_ops {
    int (*open)(bench_frames *f); /* make the reader and writer */
    int (*run)(bench_frames *f);  /* push, flush, read and decode every frame: measured */
    void (*close)(bench_frames *f);
} bench_frame_ops;

/* One implementation. A workload it cannot run is NULL. Every function
 * returns 0 or -1 (after printing why to stderr). */
typedef struct bench_impl {
    const char *name;
    /* The backend it runs on ("epoll", or cmio's CMIO_BACKEND choice). */
    const char *(*backend)(void);

    int (*pingpong_open)(bench_pingpong *pp);     /* make the loop */
    int (*pingpong_register)(bench_pingpong *pp); /* watch every fds[i][0]: timed */
    int (*pingpong_run)(bench_pingpong *pp);      /* until done == events: timed */
    void (*pingpong_close)(bench_pingpong *pp);

    int (*churn_open)(bench_churn *c);
    int (*churn_run)(bench_churn *c);
    void (*churn_close)(bench_churn *c);

    int (*wake_open)(bench_wake *w);
    int (*wake_send)(bench_wake *w); /* from the other thread */
    int (*wake_run)(bench_wake *w);  /* until done == wakes */
    void (*wake_close)(bench_wake *w);

    int (*echo_open)(bench_echo *e); /* make the loop, watch listen_fd */
    int (*echo_run)(bench_echo *e);
    void (*echo_close)(bench_echo *e);

    const bench_timer_ops *timers;

    int (*channel_open)(bench_channel *ch);
    /* From a producer thread: 0 sent, 1 full (not sent), -1 failed. */
    int (*channel_send)(bench_channel *ch, const bench_msg *m);
    int (*channel_run)(bench_channel *ch); /* until done == messages */
    void (*channel_close)(bench_channel *ch);
    const bench_multi_echo_ops *multi_echo; /* issue 12 */
    const bench_frame_ops *frames;
} bench_impl;

/* Each bench_<impl>.c defines it, as BENCH_IMPL(name) over static functions
 * named after the fields (pingpong_open, ..., channel_close, backend). One
 * that does not implement the channel workload defines BENCH_NO_CHANNEL
 * before it includes this header: those fields are then NULL. A file with
 * timers #undefs BENCH_TIMER_OPS and defines it as the address of its ops
 * first. */
#ifdef BENCH_NO_CHANNEL
#define BENCH_CHANNEL_FN(f) NULL
#else
#define BENCH_CHANNEL_FN(f) f
#endif

extern const bench_impl bench_this;

#ifndef BENCH_TIMER_OPS
#define BENCH_TIMER_OPS NULL
#endif
/* Likewise a file with multi_echo defines BENCH_MULTI_ECHO_OPS. */
#ifndef BENCH_MULTI_ECHO_OPS
#define BENCH_MULTI_ECHO_OPS NULL
#endif
/* The same for frames: a file with them defines BENCH_FRAME_OPS. */
#ifndef BENCH_FRAME_OPS
#define BENCH_FRAME_OPS NULL
#endif

#define BENCH_IMPL(impl_name)                                                                      \
    const bench_impl bench_this = {                                                                \
        .name = (impl_name),                                                                       \
        .backend = backend,                                                                        \
        .pingpong_open = pingpong_open,                                                            \
        .pingpong_register = pingpong_register,                                                    \
        .pingpong_run = pingpong_run,                                                              \
        .pingpong_close = pingpong_close,                                                          \
        .churn_open = churn_open,                                                                  \
        .churn_run = churn_run,                                                                    \
        .churn_close = churn_close,                                                                \
        .wake_open = wake_open,                                                                    \
        .wake_send = wake_send,                                                                    \
        .wake_run = wake_run,                                                                      \
        .wake_close = wake_close,                                                                  \
        .echo_open = echo_open,                                                                    \
        .echo_run = echo_run,                                                                      \
        .echo_close = echo_close,                                                                  \
        .timers = BENCH_TIMER_OPS,                                                                 \
        .channel_open = BENCH_CHANNEL_FN(channel_open),                                                              \
        .channel_send = BENCH_CHANNEL_FN(channel_send),                                                              \
        .channel_run = BENCH_CHANNEL_FN(channel_run),                                                                \
        .channel_close = BENCH_CHANNEL_FN(channel_close),                                                            \
        .multi_echo = BENCH_MULTI_ECHO_OPS,                                                        \
        .frames = BENCH_FRAME_OPS,                                                                 \
    }

/* The measured parts, one per workload (bench.c): never inlined, so that
 * callgrind can count exactly what runs inside them. */
int bench_measured_pingpong(bench_pingpong *pp);
int bench_measured_churn(bench_churn *c);
int bench_measured_wake(bench_wake *w);
void *bench_measured_wake_sender(void *w);
int bench_measured_echo(bench_echo *e);
int bench_measured_timers(bench_timers *t);
int bench_measured_frames(bench_frames *f);
int bench_measured_multi_echo(bench_multi_echo *m); /* reactor 0 */
void *bench_measured_multi_echo_reactor(void *arg); /* the others, one thread each */

int bench_measured_channel(bench_channel *ch);
void *bench_measured_channel_producer(void *producer);

#endif /* CMIO_BENCH_H */
