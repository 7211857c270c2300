/*
 * Stress: thousands of loopback connections through one poll, cross-thread
 * register/deregister storms with lost and stale accounting, waker storms,
 * and accept when descriptors run out. Every test is bounded in count and
 * time and prints its figures as one "stress: ..." line on stderr.
 *
 * CMIO_STRESS_PERCENT (1 to 100, default 100) scales the counts down for
 * slow builds (valgrind); the figures printed are the counts actually run.
 * Each test is a case of its own: CK_RUN_CASE=tcp_10k, register_storm,
 * waker_storm or accept_emfile runs one.
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if !defined(_WIN32)
#include <fcntl.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

/* ------------------------------------------------------------------------ */
/* Shared pieces                                                            */
/* ------------------------------------------------------------------------ */

/* n scaled by CMIO_STRESS_PERCENT, at least 1. */
static long scaled(long n)
{
    const char *s = getenv("CMIO_STRESS_PERCENT");
    long pct = s && *s ? strtol(s, NULL, 10) : 100;
    if (pct < 1 || pct > 100)
        pct = 100;
    long v = n * pct / 100;
    return v < 1 ? 1 : v;
}

static uint32_t mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

/* A counting semaphore with a bounded wait: POSIX's sem_t, or a Windows
 * semaphore object. */
typedef struct test_sem {
#if defined(_WIN32)
    HANDLE h;
#else
    sem_t s;
#endif
} test_sem;

static void tsem_init(test_sem *s)
{
#if defined(_WIN32)
    s->h = CreateSemaphoreW(NULL, 0, LONG_MAX, NULL);
    ck_assert_ptr_nonnull(s->h);
#else
    ck_assert_int_eq(sem_init(&s->s, 0, 0), 0);
#endif
}

static void tsem_post(test_sem *s)
{
#if defined(_WIN32)
    ReleaseSemaphore(s->h, 1, NULL);
#else
    sem_post(&s->s);
#endif
}

static void tsem_destroy(test_sem *s)
{
#if defined(_WIN32)
    CloseHandle(s->h);
#else
    sem_destroy(&s->s);
#endif
}

/* Wait on s until posted or until now_ms() reaches deadline_ms; false on
 * timeout. */
static bool tsem_wait_until(test_sem *s, int64_t deadline_ms)
{
#if defined(_WIN32)
    int64_t left = deadline_ms - now_ms();
    return WaitForSingleObject(s->h, left > 0 ? (DWORD)left : 0) == WAIT_OBJECT_0;
#else
    /* sem_timedwait takes CLOCK_REALTIME: the same span from now on it. */
    int64_t left = deadline_ms - now_ms();
    if (left < 0)
        left = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(left / 1000);
    ts.tv_nsec += (long)(left % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    for (int i = 0; i < 1000000; i++) {
        if (sem_timedwait(&s->s, &ts) == 0)
            return true;
        if (errno != EINTR)
            return false;
    }
    return false;
#endif
}

#if !defined(_WIN32)
/* The 10,000 connections' client runs in a forked child and sizes itself
 * by RLIMIT_NOFILE; descriptors run out only where there is such a limit.
 * Windows has neither (no fork; sockets are not bounded by a descriptor
 * table), so these two tests are POSIX's; the Windows run has the storms
 * and the timers below. */

/* ------------------------------------------------------------------------ */
/* 10,000 loopback TCP connections at once through one poll                 */
/* ------------------------------------------------------------------------ */

/* The soft descriptor limit raised to the hard one; returns it. */
static long raise_nofile(void)
{
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur != rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    return rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
}


/* Each connection's byte stream is TCP_ROUNDS messages of TCP_MSG bytes,
 * every byte a function of the connection's client port and its offset. The
 * client sends one message, the server echoes it byte for byte, and only
 * when the whole echo is back does the client send the next. Both sides
 * check every byte. No connection closes before all are complete, so all
 * are open at once; then the server shuts down writing on each, the client
 * must see each echo end exactly after its last byte and closes, and the
 * server must then see each stream end. (The server sends the first FIN so
 * that the TIME_WAIT states are its own, on the listener's port, and do not
 * hold the ephemeral ports the next run connects from.) */
enum {
    TCP_WANT = 10000,
    TCP_ROUNDS = 4,
    TCP_MSG = 1000,
    TCP_TOTAL = TCP_ROUNDS * TCP_MSG,
    /* At most this many connections started and not yet answered, well
     * under the listen backlog (SOMAXCONN), so no SYN is ever dropped. */
    TCP_WAVE = 1000, /* or half the kernel's backlog cap, if less */
    TCP_DEADLINE_MS = 60000,
    /* Descriptors kept aside for stdio, the poll, pipes and the test
     * framework. */
    TCP_SPARE_FDS = 64,
};

enum { TOK_LISTENER = 0, TOK_STATUS = 1, TOK_CONN0 = 2 };

static uint32_t port_seed(const cmio_sockaddr *a)
{
    return mix32(0x9e3779b9u ^ ntohs(a->u.in4.sin_port));
}

/* The byte at offset o of the stream of the connection with this seed. */
static inline uint8_t pattern(uint32_t seed, uint32_t o)
{
    return (uint8_t)(mix32(seed + (o >> 2)) >> ((o & 3) * 8));
}

static void fill_pattern(uint8_t *buf, uint32_t seed, uint32_t from, size_t len)
{
    for (size_t j = 0; j < len; j++)
        buf[j] = pattern(seed, from + (uint32_t)j);
}

/* Offset of the first byte of buf that is not the pattern, or len. */
static size_t check_pattern(const uint8_t *buf, uint32_t seed, uint32_t from, size_t len)
{
    for (size_t j = 0; j < len; j++)
        if (buf[j] != pattern(seed, from + (uint32_t)j))
            return j;
    return len;
}

/* The client child reports through its exit status and one status byte. */
enum { CHILD_OK = 'K' };

#define CHILD_FAIL(code, ...)                                                                                \
    do {                                                                                                     \
        fprintf(stderr, "stress client: " __VA_ARGS__);                                                      \
        fputc('\n', stderr);                                                                                 \
        _exit(code);                                                                                         \
    } while (0)

struct client_conn {
    cmio_tcp_stream s;
    uint32_t seed;
    uint32_t sent, echoed;
    bool connected;
};

/* Write this round's message from c->sent on, to -EAGAIN or its end. */
static void client_send(struct client_conn *c)
{
    uint8_t buf[TCP_MSG];
    uint32_t end = (c->echoed / TCP_MSG + 1) * TCP_MSG;
    while (c->sent < end) {
        size_t len = end - c->sent;
        fill_pattern(buf, c->seed, c->sent, len);
        ssize_t n = cmio_tcp_stream_write(&c->s, buf, len);
        if (n == -EAGAIN)
            return;
        if (n <= 0)
            CHILD_FAIL(3, "write: %s", cmio_strerror((int)n));
        c->sent += (uint32_t)n;
    }
}

/* The client side, in a forked child: n connections to addr, in waves,
 * over its own poll on the named backend. Never returns. */
static void run_clients(const char *backend, const cmio_sockaddr *addr, int n, int wave, int status_fd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int64_t deadline = now_ms() + TCP_DEADLINE_MS;
    cmio_poll *p = NULL;
    cmio_events *ev = NULL;
    struct client_conn *conns = calloc((size_t)n, sizeof(*conns));
    if (!conns || cmio_poll_new_with_backend(&p, backend) != 0 || cmio_events_new(&ev, 1024) != 0)
        CHILD_FAIL(2, "set-up failed");
    cmio_registry *r = cmio_poll_registry(p);
    int started = 0, answered = 0, done = 0, closed = 0;
    while (closed < n) {
        if (now_ms() > deadline)
            CHILD_FAIL(4, "timed out: started %d answered %d done %d closed %d", started, answered, done,
                       closed);
        while (started < n && started - answered < wave) {
            struct client_conn *c = &conns[started];
            int rc = cmio_tcp_stream_connect(&c->s, addr);
            if (rc != 0)
                CHILD_FAIL(5, "connect %d: %s", started, cmio_strerror(rc));
            cmio_sockaddr local;
            if (cmio_tcp_stream_local_addr(&c->s, &local) != 0)
                CHILD_FAIL(5, "local_addr");
            c->seed = port_seed(&local);
            rc = cmio_registry_register(r, c->s.fd, (cmio_token)started, CMIO_READABLE | CMIO_WRITABLE);
            if (rc != 0)
                CHILD_FAIL(5, "register %d: %s", started, cmio_strerror(rc));
            started++;
        }
        int got = cmio_poll_poll(p, ev, 100);
        if (got < 0)
            CHILD_FAIL(6, "poll: %s", cmio_strerror(got));
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            const cmio_event *e = cmio_events_get(ev, i);
            cmio_token t = cmio_event_token(e);
            if (t >= (cmio_token)started)
                CHILD_FAIL(7, "event for unknown token %lu", (unsigned long)t);
            struct client_conn *c = &conns[t];
            if (c->s.fd < 0)
                CHILD_FAIL(7, "event for closed connection %lu", (unsigned long)t);
            if (!c->connected) {
                if (!cmio_event_is_writable(e) && !cmio_event_is_error(e))
                    continue;
                int err = cmio_tcp_stream_take_error(&c->s);
                if (err != 0)
                    CHILD_FAIL(8, "connect %lu: %s", (unsigned long)t, cmio_strerror(err));
                c->connected = true;
            }
            /* Read the echo to -EAGAIN, checking every byte. */
            uint8_t buf[4096];
            bool eof = false;
            for (int k = 0; k < 1000; k++) {
                ssize_t m = cmio_tcp_stream_read(&c->s, buf, sizeof(buf));
                if (m == -EAGAIN)
                    break;
                if (m == 0) {
                    /* The server ends each echo once it has echoed every
                     * stream in full (its reading may be ahead of ours on
                     * other connections, so only this one's count is known). */
                    if (c->echoed != TCP_TOTAL)
                        CHILD_FAIL(9, "connection %lu: end of stream after %u bytes", (unsigned long)t,
                                   c->echoed);
                    eof = true;
                    break;
                }
                if (m < 0)
                    CHILD_FAIL(9, "read %lu: %s", (unsigned long)t, cmio_strerror((int)m));
                if (c->echoed + (uint32_t)m > c->sent)
                    CHILD_FAIL(10, "connection %lu: more echoed than sent", (unsigned long)t);
                size_t bad = check_pattern(buf, c->seed, c->echoed, (size_t)m);
                if (bad != (size_t)m)
                    CHILD_FAIL(10, "connection %lu: wrong byte at %u", (unsigned long)t,
                               c->echoed + (uint32_t)bad);
                if (c->echoed == 0)
                    answered++;
                c->echoed += (uint32_t)m;
                if (c->echoed == TCP_TOTAL)
                    done++;
            }
            if (eof) {
                if (cmio_registry_deregister(r, c->s.fd) != 0)
                    CHILD_FAIL(11, "deregister");
                cmio_tcp_stream_close(&c->s);
                closed++;
                continue;
            }
            if (c->sent < TCP_TOTAL && c->echoed == c->sent && c->sent % TCP_MSG == 0)
                client_send(c); /* the next round */
            else if (c->sent % TCP_MSG != 0)
                client_send(c); /* the rest of this round, after -EAGAIN */
        }
    }
    char ok = CHILD_OK;
    if (write(status_fd, &ok, 1) != 1)
        CHILD_FAIL(12, "status write");
    _exit(0);
}

struct server_conn {
    cmio_tcp_stream s;
    uint32_t seed;
    uint32_t rx, tx;
    bool complete;
};

/* Echo what was received and not yet sent back, to -EAGAIN. */
static void server_echo(struct server_conn *c)
{
    uint8_t buf[4096];
    while (c->tx < c->rx) {
        size_t len = c->rx - c->tx;
        if (len > sizeof(buf))
            len = sizeof(buf);
        fill_pattern(buf, c->seed, c->tx, len);
        ssize_t n = cmio_tcp_stream_write(&c->s, buf, len);
        if (n == -EAGAIN)
            return;
        ck_assert_msg(n > 0, "server write: %s", cmio_strerror((int)n));
        c->tx += (uint32_t)n;
    }
}

/* The kernel's cap on a listen backlog (SOMAXCONN's run-time value). */
static int listen_backlog(void)
{
    int v = 0;
    FILE *f = fopen("/proc/sys/net/core/somaxconn", "r");
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = 0;
        fclose(f);
    }
    return v >= 2 ? v : SOMAXCONN;
}

/* Waits (bounded by ms) for the child to exit, through a pidfd where the
 * kernel has them; kills it at the deadline. Returns its wait status. */
static int reap(pid_t pid, int ms)
{
    int status = 0;
    int64_t deadline = now_ms() + ms;
#ifdef SYS_pidfd_open
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd >= 0) {
        struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
        int rc;
        while ((rc = poll(&pfd, 1, (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 0))) < 0 &&
               errno == EINTR)
            ;
        close(pidfd);
        if (rc == 1 && waitpid(pid, &status, 0) == pid)
            return status;
    }
#endif
    for (int i = 0; i < 100000 && now_ms() <= deadline; i++) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            return status;
        ck_assert_int_eq(w, 0);
        struct timespec pause = {0, 1000000}; /* no pidfd: look again */
        nanosleep(&pause, NULL);
    }
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_abort_msg("the client child did not finish in time (killed)");
    return status;
}

START_TEST(test_tcp_10k_connections)
{
    const char *backend = cmio_backends()[_i];
    long limit = raise_nofile();
    long n = scaled(TCP_WANT);
    if (n > limit - TCP_SPARE_FDS)
        n = limit - TCP_SPARE_FDS;
    ck_assert_int_gt(n, 0);
    int wave = listen_backlog() / 2;
    if (wave > TCP_WAVE)
        wave = TCP_WAVE;

    cmio_tcp_listener l;
    cmio_sockaddr any = parse_addr("127.0.0.1:0"), addr;
    ck_assert_int_eq(cmio_tcp_listener_bind(&l, &any), 0);
    ck_assert_int_eq(cmio_tcp_listener_local_addr(&l, &addr), 0);
    int status[2];
    ck_assert_int_eq(pipe2(status, O_CLOEXEC | O_NONBLOCK), 0);

    int64_t t0 = now_ms();
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(status[0]);
        cmio_tcp_listener_close(&l);
        run_clients(backend, &addr, (int)n, wave, status[1]);
    }
    close(status[1]);

    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(1024);
    cmio_registry *r = cmio_poll_registry(p);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, TOK_LISTENER, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_register(r, status[0], TOK_STATUS, CMIO_READABLE), 0);
    struct server_conn *conns = calloc((size_t)n, sizeof(*conns));
    ck_assert_ptr_nonnull(conns);

    long accepted = 0, complete = 0, closed = 0, open_now = 0, peak = 0, polls = 0, events = 0;
    bool shut = false;
    unsigned long long bytes = 0;
    int child_said = -1; /* the status byte, or 0 at end of file */
    int64_t deadline = now_ms() + TCP_DEADLINE_MS;
    while (closed < n || child_said < 0) {
        ck_assert_msg(now_ms() < deadline, "server timed out: accepted %ld closed %ld", accepted, closed);
        int got = cmio_poll_poll(p, ev, 1000);
        ck_assert_int_ge(got, 0);
        polls++;
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            const cmio_event *e = cmio_events_get(ev, i);
            cmio_token t = cmio_event_token(e);
            events++;
            if (t == TOK_LISTENER) {
                for (;;) {
                    cmio_sockaddr peer;
                    cmio_tcp_stream s;
                    int rc = cmio_tcp_listener_accept(&l, &s, &peer);
                    if (rc == -EAGAIN)
                        break;
                    ck_assert_msg(rc == 0, "accept: %s", cmio_strerror(rc));
                    ck_assert_msg(accepted < n, "more connections than the client made");
                    conns[accepted] = (struct server_conn){.s = s, .seed = port_seed(&peer)};
                    ck_assert_int_eq(cmio_registry_register(r, s.fd, (cmio_token)(TOK_CONN0 + accepted),
                                                            CMIO_READABLE | CMIO_WRITABLE),
                                     0);
                    accepted++;
                    if (++open_now > peak)
                        peak = open_now;
                }
                continue;
            }
            if (t == TOK_STATUS) {
                char b;
                ssize_t m = read(status[0], &b, 1);
                if (m == 1)
                    child_said = (unsigned char)b;
                else if (m == 0 && child_said < 0)
                    child_said = 0; /* closed without a word: it died */
                else if (m < 0)
                    ck_assert_int_eq(errno, EAGAIN);
                /* (End of file after its status byte: it exited, as it should.) */
                if (child_said == 0)
                    ck_abort_msg("the client child died: wait status %d", reap(pid, WAIT_MS));
                continue;
            }
            ck_assert_msg(t >= TOK_CONN0 && t < (cmio_token)(TOK_CONN0 + accepted), "unknown token");
            struct server_conn *c = &conns[t - TOK_CONN0];
            ck_assert_int_ge(c->s.fd, 0);
            uint8_t buf[4096];
            bool eof = false;
            for (int k = 0; k < 1000; k++) {
                ssize_t m = cmio_tcp_stream_read(&c->s, buf, sizeof(buf));
                if (m == -EAGAIN)
                    break;
                ck_assert_msg(m >= 0, "server read: %s", cmio_strerror((int)m));
                if (m == 0) {
                    eof = true;
                    break;
                }
                ck_assert_msg(c->rx + (uint32_t)m <= TCP_TOTAL, "more bytes than a stream has");
                size_t bad = check_pattern(buf, c->seed, c->rx, (size_t)m);
                ck_assert_msg(bad == (size_t)m, "connection %lu: wrong byte at %u",
                              (unsigned long)(t - TOK_CONN0), c->rx + (uint32_t)bad);
                c->rx += (uint32_t)m;
                bytes += (unsigned long long)m;
            }
            server_echo(c);
            if (!c->complete && c->tx == TCP_TOTAL) {
                c->complete = true;
                complete++;
            }
            if (eof) {
                ck_assert_msg(shut && c->rx == TCP_TOTAL && c->tx == TCP_TOTAL,
                              "stream ended early: received %u echoed %u", c->rx, c->tx);
                ck_assert_int_eq(cmio_registry_deregister(r, c->s.fd), 0);
                cmio_tcp_stream_close(&c->s);
                open_now--;
                closed++;
            }
        }
        if (complete == n && !shut) {
            /* All complete, all open at once: end every echo. */
            ck_assert_int_eq(open_now, n);
            for (long k = 0; k < n; k++)
                ck_assert_int_eq(cmio_tcp_stream_shutdown(&conns[k].s, CMIO_SHUTDOWN_WRITE), 0);
            shut = true;
        }
    }
    int st = reap(pid, WAIT_MS);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "client child status %d", st);
    ck_assert_int_eq(child_said, CHILD_OK);
    ck_assert_int_eq(accepted, n);
    ck_assert_int_eq(peak, n);
    ck_assert_int_eq(bytes, (unsigned long long)n * TCP_TOTAL);
    fprintf(stderr,
            "stress: tcp_10k backend=%s connections=%ld open_at_once=%ld wave=%d messages=%ld bytes=%llu "
            "(each way, every byte checked both ways) polls=%ld events=%ld ms=%lld\n",
            backend, n, peak, wave, n * TCP_ROUNDS, bytes, polls, events, (long long)(now_ms() - t0));

    free(conns);
    ck_assert_int_eq(cmio_registry_deregister(r, status[0]), 0);
    close(status[0]);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_tcp_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

#endif

/* ------------------------------------------------------------------------ */
/* Register/deregister storm: lost and stale events                          */
/* ------------------------------------------------------------------------ */

/* REG_THREADS threads, each with its own registry clone, register ready
 * descriptors (a socketpair end holding unread data, registered READABLE,
 * and its writable peer, registered WRITABLE) under a token never used
 * before, REG_BATCH at a time; the poll thread, blocked in cmio_poll_poll,
 * reports them; once all of a batch were reported the worker deregisters
 * them and takes the next batch.
 *
 * Lost: a registration whose token the poll never reported within WAIT_MS
 * (it was ready all that time and the poll thread kept polling).
 * Stale: an event for a token reported by a poll that started after the
 * token's deregister returned. One sequence counter orders the two: a
 * worker takes a number after its deregister returns, the poll thread
 * before each cmio_poll_poll; after the storm, every token's latest
 * reporting poll must have started before its deregister's number. (A
 * deregister that returns just before a poll starts may take the later
 * number; that poll then goes unchecked, never falsely blamed.) */
enum {
    REG_THREADS = 4,
    REG_CYCLES = 100000,
    REG_PAIRS = 8,
    REG_BATCH = 2 * REG_PAIRS,
    TOK_STOP = 1,
};

#define REG_TOKEN(w, c) ((((cmio_token)(w) + 1) << 32) | (cmio_token)(c))

struct reg_storm;

struct reg_worker {
    struct reg_storm *st;
    int idx;
    long cycles;
    cmio_registry *r;
    cmio_fd fds[REG_BATCH];
    cmio_interest interest[REG_BATCH];
    test_sem progress;               /* posted by the poll thread when reported grows */
    atomic_long reported;            /* tokens of this worker reported at least once */
    atomic_uint_fast64_t *dereg_seq; /* per cycle: number taken after deregister */
    uint64_t *last_poll;             /* per cycle, poll thread only: start of the latest poll reporting it */
    uint8_t *seen;                   /* per cycle, poll thread only */
    long done, lost, errors;
};

struct reg_storm {
    cmio_poll *p;
    struct reg_worker w[REG_THREADS];
    atomic_uint_fast64_t clock;
    atomic_bool stop;
    test_sem started; /* posted by the poll thread once poll_tid is set */
    test_tid poll_tid;
    long polls, events, unknown;
};

static void *reg_work(void *arg)
{
    struct reg_worker *w = arg;
    struct reg_storm *st = w->st;
    for (long base = 0; base < w->cycles; base += REG_BATCH) {
        long k = w->cycles - base < REG_BATCH ? w->cycles - base : REG_BATCH;
        for (long j = 0; j < k; j++)
            w->errors +=
                cmio_registry_register(w->r, w->fds[j], REG_TOKEN(w->idx, base + j), w->interest[j]) != 0;
        int64_t deadline = now_ms() + WAIT_MS;
        bool complete = true;
        while (atomic_load(&w->reported) < base + k) {
            if (!tsem_wait_until(&w->progress, deadline)) {
                complete = atomic_load(&w->reported) >= base + k;
                break;
            }
        }
        for (long j = 0; j < k; j++) {
            w->errors += cmio_registry_deregister(w->r, w->fds[j]) != 0;
            atomic_store(&w->dereg_seq[base + j], atomic_fetch_add(&st->clock, 1) + 1);
        }
        w->done = base + k;
        if (!complete) {
            w->lost = base + k - atomic_load(&w->reported);
            break; /* one lost batch fails the test: stop here, bounded */
        }
    }
    return NULL;
}

static void *reg_poll(void *arg)
{
    struct reg_storm *st = arg;
    cmio_events *ev = NULL;
    if (cmio_events_new(&ev, 64) != 0)
        st->unknown++;
    st->poll_tid = current_tid();
    tsem_post(&st->started);
    if (!ev)
        return NULL;
    while (!atomic_load(&st->stop)) {
        uint64_t start = atomic_fetch_add(&st->clock, 1) + 1;
        int n = cmio_poll_poll(st->p, ev, -1);
        if (n < 0) {
            st->unknown++;
            break;
        }
        st->polls++;
        bool grew[REG_THREADS] = {false};
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            cmio_token t = cmio_event_token(cmio_events_get(ev, i));
            if (t == TOK_STOP)
                continue;
            st->events++;
            cmio_token wi = (t >> 32) - 1, c = t & 0xffffffffu;
            if ((t >> 32) == 0 || wi >= REG_THREADS || c >= (cmio_token)st->w[wi].cycles) {
                st->unknown++;
                continue;
            }
            struct reg_worker *w = &st->w[wi];
            w->last_poll[c] = start;
            if (!w->seen[c]) {
                w->seen[c] = 1;
                atomic_fetch_add(&w->reported, 1);
                grew[wi] = true;
            }
        }
        for (int k = 0; k < REG_THREADS; k++)
            if (grew[k])
                tsem_post(&st->w[k].progress);
    }
    cmio_events_free(ev);
    return NULL;
}

START_TEST(test_register_deregister_storm)
{
    static struct reg_storm st; /* large: off the stack */
    memset(&st, 0, sizeof(st));
    atomic_init(&st.clock, 0);
    atomic_init(&st.stop, false);
    st.p = open_poll(_i);
    const char *backend = cmio_backends()[_i];
    long cycles = scaled(REG_CYCLES);
    cmio_fd pairs[REG_THREADS][REG_PAIRS][2];
    for (int k = 0; k < REG_THREADS; k++) {
        struct reg_worker *w = &st.w[k];
        w->st = &st;
        w->idx = k;
        w->cycles = cycles;
        ck_assert_int_eq(cmio_registry_try_clone(cmio_poll_registry(st.p), &w->r), 0);
        tsem_init(&w->progress);
        atomic_init(&w->reported, 0);
        w->dereg_seq = calloc((size_t)cycles, sizeof(*w->dereg_seq));
        w->last_poll = calloc((size_t)cycles, sizeof(*w->last_poll));
        w->seen = calloc((size_t)cycles, 1);
        ck_assert(w->dereg_seq && w->last_poll && w->seen);
        for (int j = 0; j < REG_PAIRS; j++) {
            stream_pair(pairs[k][j]);
            put(pairs[k][j][1], 1); /* [0] has unread data; [1] is writable */
            w->fds[2 * j] = pairs[k][j][0];
            w->interest[2 * j] = CMIO_READABLE;
            w->fds[2 * j + 1] = pairs[k][j][1];
            w->interest[2 * j + 1] = CMIO_WRITABLE;
        }
    }
    cmio_waker *stop = NULL;
    ck_assert_int_eq(cmio_waker_new(cmio_poll_registry(st.p), TOK_STOP, &stop), 0);

    int64_t t0 = now_ms();
    test_thread poller, workers[REG_THREADS];
    tsem_init(&st.started);
    thread_start(&poller, reg_poll, &st);
    /* The storm starts against a poll thread blocked in the selector. */
    ck_assert(tsem_wait_until(&st.started, now_ms() + WAIT_MS));
    ck_assert_int_eq(st.unknown, 0);
    wait_until_blocked_in_poll(st.poll_tid);
    for (int k = 0; k < REG_THREADS; k++)
        thread_start(&workers[k], reg_work, &st.w[k]);
    for (int k = 0; k < REG_THREADS; k++)
        thread_join(&workers[k]);
    atomic_store(&st.stop, true);
    ck_assert_int_eq(cmio_waker_wake(stop), 0);
    thread_join(&poller);
    int64_t ms = now_ms() - t0;

    long done = 0, lost = 0, stale = 0, errors = 0;
    for (int k = 0; k < REG_THREADS; k++) {
        struct reg_worker *w = &st.w[k];
        done += w->done;
        lost += w->lost;
        errors += w->errors;
        for (long c = 0; c < w->cycles; c++) {
            uint64_t d = atomic_load(&w->dereg_seq[c]);
            if (w->last_poll[c] && d && w->last_poll[c] > d)
                stale++;
        }
    }
    fprintf(stderr,
            "stress: register_storm backend=%s threads=%d cycles_per_thread=%ld batch=%d "
            "registrations=%ld lost=%ld stale=%ld errors=%ld unknown=%ld polls=%ld events=%ld ms=%lld\n",
            backend, REG_THREADS, cycles, REG_BATCH, done, lost, stale, errors, st.unknown, st.polls,
            st.events, (long long)ms);
    ck_assert_int_eq(errors, 0);
    ck_assert_int_eq(st.unknown, 0);
    ck_assert_int_eq(lost, 0);
    ck_assert_int_eq(stale, 0);
    ck_assert_int_eq(done, (long)REG_THREADS * cycles);

    cmio_waker_free(stop);
    tsem_destroy(&st.started);
    for (int k = 0; k < REG_THREADS; k++) {
        struct reg_worker *w = &st.w[k];
        cmio_registry_free(w->r);
        tsem_destroy(&w->progress);
        free(w->dereg_seq);
        free(w->last_poll);
        free(w->seen);
        for (int j = 0; j < REG_PAIRS; j++) {
            sock_close(pairs[k][j][0]);
            sock_close(pairs[k][j][1]);
        }
    }
    cmio_poll_free(st.p);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Waker storm                                                               */
/* ------------------------------------------------------------------------ */

/* WAKE_THREADS threads wake two wakers of one poll (thread t wakes waker
 * t % 2) WAKE_COUNT times each while the poll thread counts the events of
 * each waker. At its end each thread takes a number from the sequence
 * counter, publishes it, wakes its waker once more and waits until the poll
 * thread answers: it does so on an event for that waker from a poll that
 * returned after the number was taken (so the event may carry that wake).
 * An unanswered final wake (WAIT_MS) is a lost wake; as each thread's final
 * wake is its last, an answer covers every earlier wake of the thread. */
enum { WAKE_THREADS = 8, WAKE_COUNT = 200000, WAKERS = 2, TOK_WAKER0 = 11 };

struct wake_storm;

struct wake_thread {
    struct wake_storm *st;
    int idx;
    long count;
    cmio_waker *w;
    atomic_uint_fast64_t final_seq; /* 0 until the final wake is announced */
    bool answered;                  /* poll thread only */
    test_sem answer;
    long errors;
    bool lost;
};

struct wake_storm {
    cmio_poll *p;
    cmio_waker *wakers[WAKERS];
    struct wake_thread t[WAKE_THREADS];
    atomic_uint_fast64_t clock;
    atomic_bool stop;
    test_sem started; /* posted by the poll thread once poll_tid is set */
    test_tid poll_tid;
    long polls, unknown, per_waker[WAKERS];
};

static void *wake_work(void *arg)
{
    struct wake_thread *t = arg;
    struct wake_storm *st = t->st;
    for (long i = 0; i < t->count; i++)
        t->errors += cmio_waker_wake(t->w) != 0;
    atomic_store(&t->final_seq, atomic_fetch_add(&st->clock, 1) + 1);
    t->errors += cmio_waker_wake(t->w) != 0;
    t->lost = !tsem_wait_until(&t->answer, now_ms() + WAIT_MS);
    return NULL;
}

static void *wake_poll(void *arg)
{
    struct wake_storm *st = arg;
    cmio_events *ev = NULL;
    if (cmio_events_new(&ev, 8) != 0)
        st->unknown++;
    st->poll_tid = current_tid();
    tsem_post(&st->started);
    if (!ev)
        return NULL;
    while (!atomic_load(&st->stop)) {
        int n = cmio_poll_poll(st->p, ev, -1);
        uint64_t end = atomic_fetch_add(&st->clock, 1) + 1;
        if (n < 0) {
            st->unknown++;
            break;
        }
        st->polls++;
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            cmio_token tok = cmio_event_token(cmio_events_get(ev, i));
            if (tok < TOK_WAKER0 || tok >= TOK_WAKER0 + WAKERS) {
                st->unknown++;
                continue;
            }
            int wi = (int)(tok - TOK_WAKER0);
            st->per_waker[wi]++;
            for (int k = wi; k < WAKE_THREADS; k += WAKERS) {
                struct wake_thread *t = &st->t[k];
                uint64_t f = atomic_load(&t->final_seq);
                if (!t->answered && f != 0 && f < end) {
                    t->answered = true;
                    tsem_post(&t->answer);
                }
            }
        }
    }
    cmio_events_free(ev);
    return NULL;
}

START_TEST(test_waker_storm)
{
    static struct wake_storm st;
    memset(&st, 0, sizeof(st));
    atomic_init(&st.clock, 0);
    atomic_init(&st.stop, false);
    st.p = open_poll(_i);
    const char *backend = cmio_backends()[_i];
    long count = scaled(WAKE_COUNT);
    for (int k = 0; k < WAKERS; k++)
        ck_assert_int_eq(cmio_waker_new(cmio_poll_registry(st.p), TOK_WAKER0 + (cmio_token)k, &st.wakers[k]),
                         0);
    for (int k = 0; k < WAKE_THREADS; k++) {
        st.t[k].st = &st;
        st.t[k].idx = k;
        st.t[k].count = count;
        st.t[k].w = st.wakers[k % WAKERS];
        atomic_init(&st.t[k].final_seq, 0);
        tsem_init(&st.t[k].answer);
    }
    int64_t t0 = now_ms();
    test_thread poller, threads[WAKE_THREADS];
    tsem_init(&st.started);
    thread_start(&poller, wake_poll, &st);
    ck_assert(tsem_wait_until(&st.started, now_ms() + WAIT_MS));
    ck_assert_int_eq(st.unknown, 0);
    wait_until_blocked_in_poll(st.poll_tid);
    for (int k = 0; k < WAKE_THREADS; k++)
        thread_start(&threads[k], wake_work, &st.t[k]);
    for (int k = 0; k < WAKE_THREADS; k++)
        thread_join(&threads[k]);
    atomic_store(&st.stop, true);
    ck_assert_int_eq(cmio_waker_wake(st.wakers[0]), 0);
    thread_join(&poller);
    int64_t ms = now_ms() - t0;

    long errors = 0, lost = 0;
    for (int k = 0; k < WAKE_THREADS; k++) {
        errors += st.t[k].errors;
        lost += st.t[k].lost;
    }
    /* The stopping wake may still be owed: one look takes it. Then no wake
     * is owed, so a quiet poll sees nothing (wakes coalesce; no backend
     * repeats a consumed wake). */
    cmio_events *ev = open_events(8);
    ck_assert_int_ge(cmio_poll_poll(st.p, ev, 0), 0);
    int after = 0;
    int64_t quiet_end = now_ms() + QUIET_MS;
    for (int round = 0; round < 1000 && now_ms() < quiet_end; round++) {
        int n = cmio_poll_poll(st.p, ev, (int)(quiet_end - now_ms()) + 1);
        ck_assert_int_ge(n, 0);
        after += n;
    }
    fprintf(stderr,
            "stress: waker_storm backend=%s threads=%d wakes_per_thread=%ld wakes=%ld "
            "events_waker0=%ld events_waker1=%ld polls=%ld lost_final_wakes=%ld errors=%ld "
            "unknown=%ld events_after=%d ms=%lld\n",
            backend, WAKE_THREADS, count, (long)WAKE_THREADS * (count + 1), st.per_waker[0], st.per_waker[1],
            st.polls, lost, errors, st.unknown, after, (long long)ms);
    ck_assert_int_eq(errors, 0);
    ck_assert_int_eq(st.unknown, 0);
    ck_assert_int_eq(lost, 0);
    for (int k = 0; k < WAKERS; k++) {
        ck_assert_int_ge(st.per_waker[k], 1);
        ck_assert_int_le(st.per_waker[k], (WAKE_THREADS / WAKERS) * (count + 1) + 1);
    }
    ck_assert_int_eq(after, 0);

    cmio_events_free(ev);
    tsem_destroy(&st.started);
    for (int k = 0; k < WAKE_THREADS; k++)
        tsem_destroy(&st.t[k].answer);
    for (int k = 0; k < WAKERS; k++)
        cmio_waker_free(st.wakers[k]);
    cmio_poll_free(st.p);
}
END_TEST

#if !defined(_WIN32)
/* ------------------------------------------------------------------------ */
/* accept when descriptors run out                                          */
/* ------------------------------------------------------------------------ */

/* Connections queue on a listener; the process runs out of descriptors
 * (RLIMIT_NOFILE lowered, the rest filled); accept must fail with -EMFILE
 * at once, every time, without the poll reporting the listener in a loop.
 * Then descriptors are freed: accept, called again without waiting for an
 * event (none is owed: the listener's edge was consumed), takes every
 * queued connection, each the right one, to -EAGAIN; after that a new
 * connection is reported with an event and accepted. Last the spare
 * descriptor recipe (docs/guide.md): at -EMFILE, close the spare, accept
 * and close, reopen the spare; the peer sees a clean end of stream. */
enum { EMFILE_QUEUED = 8, EMFILE_TRIES = 100, EMFILE_FILLERS = 256, TOK_EMFILE0 = 10 };

/* Poll until every one of n descriptors registered under tokens base ..
 * base + n - 1 was reported with `flag` (bounded). Returns the flags seen
 * meanwhile for TOK_LISTENER, whose events are not to be lost either. */
static uint32_t wait_all(cmio_poll *p, cmio_events *ev, cmio_token base, int n, uint32_t flag)
{
    uint32_t listener = 0;
    bool seen[64] = {false};
    int left = n;
    ck_assert_int_le(n, 64);
    int64_t deadline = now_ms() + WAIT_MS;
    for (int round = 0; round < 10000 && left > 0; round++) {
        int64_t ms = deadline - now_ms();
        ck_assert_msg(ms > 0, "%d of %d descriptors never reported", left, n);
        ck_assert_int_ge(cmio_poll_poll(p, ev, (int)ms), 0);
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            const cmio_event *e = cmio_events_get(ev, i);
            cmio_token t = cmio_event_token(e);
            if (t == TOK_LISTENER)
                listener |= cmio_event_flags(e);
            if (t >= base && t < base + (cmio_token)n && (cmio_event_flags(e) & flag) && !seen[t - base]) {
                seen[t - base] = true;
                left--;
            }
        }
    }
    ck_assert_int_eq(left, 0);
    return listener;
}

/* Takes every free descriptor below a soft limit set just above the lowest
 * free one; returns how many it took (into fillers). */
static int exhaust_fds(int *fillers, const struct rlimit *saved)
{
    int lowest = fcntl(0, F_DUPFD_CLOEXEC, 0);
    ck_assert_int_ge(lowest, 0);
    close(lowest);
    struct rlimit low = *saved;
    low.rlim_cur = (rlim_t)lowest + 16;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    int n = 0;
    for (; n < EMFILE_FILLERS; n++) {
        fillers[n] = fcntl(0, F_DUPFD_CLOEXEC, 0);
        if (fillers[n] < 0) {
            ck_assert_int_eq(errno, EMFILE);
            return n;
        }
    }
    ck_abort_msg("the descriptor limit was not reached");
    return n;
}

static void release_fds(const int *fillers, int n, const struct rlimit *saved)
{
    for (int k = 0; k < n; k++)
        close(fillers[k]);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, saved), 0);
}

/* Connections queue on a listener; the process runs out of descriptors
 * (RLIMIT_NOFILE lowered, every free one below it taken); accept must fail
 * with -EMFILE at once, every time, and the poll must not report the
 * listener in a loop meanwhile (a connection arriving then is reported by
 * epoll, not by the poll(2) backend, whose listener stays disarmed until
 * an accept says -EAGAIN). Then the descriptors are freed: accept,
 * called again without waiting for an event (none is owed: the listener's
 * edge was consumed by the first event), takes every queued connection,
 * each once, to -EAGAIN; after that a new connection is reported with an
 * event and accepted. Last, the spare-descriptor recipe of docs/guide.md,
 * twice, with descriptors exhausted throughout: at -EMFILE close the spare,
 * accept (closing each connection) until -EAGAIN, reopen the spare; the
 * peers see a clean end of stream, and the listener reports the next
 * connection. */
START_TEST(test_accept_under_emfile)
{
    const char *backend = cmio_backends()[_i];
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_tcp_listener l;
    cmio_sockaddr any = parse_addr("127.0.0.1:0"), addr;
    ck_assert_int_eq(cmio_tcp_listener_bind(&l, &any), 0);
    ck_assert_int_eq(cmio_tcp_listener_local_addr(&l, &addr), 0);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, TOK_LISTENER, CMIO_READABLE), 0);

    /* Queued connections, each sending its id once connected; and two
     * clients connected only later (their descriptors made now). */
    cmio_tcp_stream clients[EMFILE_QUEUED];
    for (int k = 0; k < EMFILE_QUEUED; k++) {
        ck_assert_int_eq(cmio_tcp_stream_connect(&clients[k], &addr), 0);
        ck_assert_int_eq(cmio_registry_register(r, clients[k].fd, TOK_EMFILE0 + (cmio_token)k, CMIO_WRITABLE),
                         0);
    }
    uint32_t listener = wait_all(p, ev, TOK_EMFILE0, EMFILE_QUEUED, CMIO_EVENT_WRITABLE);
    for (int k = 0; k < EMFILE_QUEUED; k++) {
        ck_assert_int_eq(cmio_tcp_stream_take_error(&clients[k]), 0);
        uint8_t id = (uint8_t)(k + 1);
        ck_assert_int_eq(cmio_tcp_stream_write(&clients[k], &id, 1), 1);
        ck_assert_int_eq(cmio_registry_deregister(r, clients[k].fd), 0);
    }
    cmio_tcp_stream late[4];
    for (int k = 0; k < 4; k++) {
        late[k].fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ck_assert_int_ge(late[k].fd, 0);
    }
    /* The listener was reported for the queue (a client is writable once
     * its connection is queued), perhaps more than once as the handshakes
     * completed: take every such event before the limit is reached. */
    if (!(listener & CMIO_EVENT_READABLE))
        listener = wait_for(p, ev, TOK_LISTENER, CMIO_EVENT_READABLE, WAIT_MS);
    ck_assert(listener & CMIO_EVENT_READABLE);
    ck_assert_int_ge(count_events(p, ev, TOK_LISTENER, QUIET_MS), 0);

    /* Out of descriptors: every try fails at once with -EMFILE. */
    struct rlimit saved;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
    int fillers[EMFILE_FILLERS];
    int nfill = exhaust_fds(fillers, &saved);
    int64_t t0 = now_ms();
    int emfile = 0;
    for (int k = 0; k < EMFILE_TRIES; k++) {
        cmio_tcp_stream s;
        int rc = cmio_tcp_listener_accept(&l, &s, NULL);
        ck_assert_msg(rc == -EMFILE, "accept at the limit: %s", cmio_strerror(rc));
        ck_assert_int_eq(s.fd, -1);
        emfile++;
    }
    int64_t emfile_ms = now_ms() - t0;
    ck_assert_int_lt(emfile_ms, WAIT_MS);
    /* Not reported in a loop: the edge was consumed, nothing is new. */
    int repeats = count_events(p, ev, TOK_LISTENER, QUIET_MS);
    ck_assert_int_le(repeats, 1);

    /* A connection that arrives meanwhile is a new edge where the kernel
     * makes edges (epoll); a backend that emulates them keeps the listener
     * disarmed until an accept returns -EAGAIN (docs/design.md §4), so it says
     * nothing. Either way the connection queues and sends its id. */
    ck_assert(connect(late[3].fd, &addr.u.sa, addr.len) == 0 || errno == EINPROGRESS);
    cmio_token late_tok = TOK_EMFILE0 + EMFILE_QUEUED;
    ck_assert_int_eq(cmio_registry_register(r, late[3].fd, late_tok, CMIO_WRITABLE), 0);
    uint32_t lf = wait_all(p, ev, late_tok, 1, CMIO_EVENT_WRITABLE);
    int arrivals = (lf & CMIO_EVENT_READABLE) != 0;
    arrivals += count_events(p, ev, TOK_LISTENER, QUIET_MS);
    if (cmio__poll_caps(p) & CMIO__SEL_EDGE_NATIVE)
        ck_assert_int_ge(arrivals, 1);
    else
        ck_assert_int_eq(arrivals, 0);
    uint8_t late_id = EMFILE_QUEUED + 1;
    ck_assert_int_eq(cmio_tcp_stream_write(&late[3], &late_id, 1), 1);
    ck_assert_int_eq(cmio_registry_deregister(r, late[3].fd), 0);

    /* Descriptors freed: accept (no event to wait for) takes every queued
     * connection, each once, then says -EAGAIN, which re-arms it. */
    release_fds(fillers, nfill, &saved);
    cmio_tcp_stream servers[EMFILE_QUEUED + 1];
    int accepted = 0;
    for (int k = 0; k < EMFILE_QUEUED + 1; k++) {
        int rc = cmio_tcp_listener_accept(&l, &servers[k], NULL);
        ck_assert_msg(rc == 0, "accept %d after freeing: %s", k, cmio_strerror(rc));
        ck_assert_int_eq(cmio_registry_register(r, servers[k].fd, TOK_EMFILE0 + (cmio_token)k, CMIO_READABLE),
                         0);
        accepted++;
    }
    cmio_tcp_stream none;
    ck_assert_int_eq(cmio_tcp_listener_accept(&l, &none, NULL), -EAGAIN);
    wait_all(p, ev, TOK_EMFILE0, EMFILE_QUEUED + 1, CMIO_EVENT_READABLE);
    bool got_id[EMFILE_QUEUED + 2] = {false};
    for (int k = 0; k < accepted; k++) {
        uint8_t b = 0;
        ck_assert_int_eq(cmio_tcp_stream_read(&servers[k], &b, 1), 1);
        ck_assert(b >= 1 && b <= EMFILE_QUEUED + 1);
        ck_assert_msg(!got_id[b], "connection %u accepted twice", b);
        got_id[b] = true;
        ck_assert_int_eq(cmio_registry_deregister(r, servers[k].fd), 0);
    }

    /* A new connection after the -EAGAIN is reported and accepted. */
    ck_assert(connect(late[0].fd, &addr.u.sa, addr.len) == 0 || errno == EINPROGRESS);
    ck_assert(wait_for(p, ev, TOK_LISTENER, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    cmio_tcp_stream fresh;
    ck_assert_int_eq(cmio_tcp_listener_accept(&l, &fresh, NULL), 0);
    ck_assert_int_eq(cmio_tcp_listener_accept(&l, &none, NULL), -EAGAIN);
    /* Queued on the listener, so the client's handshake is complete. */
    uint8_t hello = 0x5a, b = 0;
    ck_assert_int_eq(cmio_tcp_stream_write(&late[0], &hello, 1), 1);
    ck_assert_int_eq(cmio_registry_register(r, fresh.fd, TOK_EMFILE0, CMIO_READABLE), 0);
    ck_assert(wait_for(p, ev, TOK_EMFILE0, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    ck_assert_int_eq(cmio_tcp_stream_read(&fresh, &b, 1), 1);
    ck_assert_uint_eq(b, hello);
    ck_assert_int_eq(cmio_registry_deregister(r, fresh.fd), 0);

    /* The spare-descriptor recipe (docs/guide.md), while descriptors stay
     * exhausted. Linux takes the new descriptor before it looks at the
     * queue, so at the limit accept says -EMFILE whether a connection waits
     * or not; with the spare closed, accept until -EAGAIN (closing each
     * connection), which also re-arms the listener on a backend that
     * emulates edges; then reopen the spare. */
    int spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(spare, 0);
    ck_assert(connect(late[1].fd, &addr.u.sa, addr.len) == 0 || errno == EINPROGRESS);
    ck_assert(wait_for(p, ev, TOK_LISTENER, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    nfill = exhaust_fds(fillers, &saved);
    int shed = 0;
    for (int round = 0; round < 2; round++) {
        cmio_tcp_stream s2;
        int rc = cmio_tcp_listener_accept(&l, &s2, NULL);
        ck_assert_msg(rc == -EMFILE, "accept at the limit: %s", cmio_strerror(rc));
        close(spare);
        for (int k = 0; k < 10 && (rc = cmio_tcp_listener_accept(&l, &s2, NULL)) == 0; k++) {
            cmio_tcp_stream_close(&s2);
            shed++;
        }
        ck_assert_msg(rc == -EAGAIN, "accept with the spare closed: %s", cmio_strerror(rc));
        spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(spare, 0);
        ck_assert_int_eq(shed, round + 1);
        /* Now the queue is empty and at the limit accept still says -EMFILE. */
        ck_assert_int_eq(cmio_tcp_listener_accept(&l, &s2, NULL), -EMFILE);
        if (round == 0) {
            /* Re-armed by that -EAGAIN: the next connection is reported,
             * descriptors still exhausted. */
            ck_assert(connect(late[2].fd, &addr.u.sa, addr.len) == 0 || errno == EINPROGRESS);
            ck_assert(wait_for(p, ev, TOK_LISTENER, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
        }
    }
    release_fds(fillers, nfill, &saved);
    close(spare);
    /* The peers see the end of the stream: not a hang, not a reset. */
    for (int k = 1; k < 3; k++) {
        cmio_token t = TOK_EMFILE0 + (cmio_token)k;
        ck_assert_int_eq(cmio_registry_register(r, late[k].fd, t, CMIO_READABLE), 0);
        ck_assert(wait_for(p, ev, t, CMIO_EVENT_READ_CLOSED, WAIT_MS) & CMIO_EVENT_READ_CLOSED);
        ck_assert_int_eq(cmio_tcp_stream_read(&late[k], &b, 1), 0);
        ck_assert_int_eq(cmio_registry_deregister(r, late[k].fd), 0);
    }

    fprintf(stderr,
            "stress: accept_emfile backend=%s queued=%d emfile_returns=%d emfile_ms=%lld "
            "listener_events_while_emfile=%d arrival_events_while_emfile=%d accepted_after_freeing=%d "
            "new_connection_reported=yes spare_recipe_shed=%d (peers saw end of stream)\n",
            backend, EMFILE_QUEUED, emfile, (long long)emfile_ms, repeats, arrivals, accepted, shed);

    cmio_tcp_stream_close(&fresh);
    for (int k = 0; k < 4; k++)
        cmio_tcp_stream_close(&late[k]);
    for (int k = 0; k < accepted; k++)
        cmio_tcp_stream_close(&servers[k]);
    for (int k = 0; k < EMFILE_QUEUED; k++)
        cmio_tcp_stream_close(&clients[k]);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_tcp_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

#endif

/* ------------------------------------------------------------------------ */
/* 100,000 timers on one poll                                               */
/* ------------------------------------------------------------------------ */

/* Descriptors open (handles on Windows, helpers.c). */
static int count_open_fds(void)
{
    return (int)handles_open();
}

/* Arm 100,000 timers with pseudo-random deadlines of 1..200 ms, cancel every
 * other one, and receive the rest: each exactly once, none early, none
 * cancelled; the poll's timers take one descriptor in all. */
START_TEST(test_100k_timers)
{
    long n = scaled(100000);
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(1024);
    cmio_timer **t = calloc((size_t)n, sizeof(*t));
    int64_t *due = calloc((size_t)n, sizeof(*due));
    unsigned char *seen = calloc((size_t)n, 1);
    ck_assert(t && due && seen);
    int fds_before = count_open_fds();
    for (long k = 0; k < n; k++)
        ck_assert_int_eq(cmio_timer_new(cmio_poll_registry(p), (cmio_token)k, &t[k]), 0);
    ck_assert_int_le(count_open_fds() - fds_before, 1);
    uint32_t x = 12345;
    for (long k = 0; k < n; k++) {
        x = mix32(x + (uint32_t)k);
        uint64_t after = 1 + x % 200;
        due[k] = now_ns() + (int64_t)after * 1000000;
        ck_assert_int_eq(cmio_timer_set(t[k], after, 0), 0);
    }
    for (long k = 1; k < n; k += 2)
        ck_assert_int_eq(cmio_timer_cancel(t[k]), 0);
    long want = (n + 1) / 2, got = 0;
    int64_t deadline = now_ms() + 20000;
    for (int polls = 0; got < want && polls < 100000 && now_ms() < deadline; polls++) {
        int r = cmio_poll_poll(p, ev, 100);
        ck_assert_int_ge(r, 0);
        int64_t now = now_ns();
        for (const cmio_event *e = cmio_events_begin(ev); e != cmio_events_end(ev); e++) {
            cmio_token k = cmio_event_token(e);
            ck_assert_uint_lt(k, (cmio_token)n);
            ck_assert_msg(k % 2 == 0, "cancelled timer %lu reported", (unsigned long)k);
            ck_assert_msg(!seen[k], "timer %lu reported twice", (unsigned long)k);
            ck_assert_msg(now >= due[k], "timer %lu early by %lld ns", (unsigned long)k, (long long)(due[k] - now));
            seen[k] = 1;
            got++;
        }
    }
    ck_assert_int_eq(got, want);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 50), 0);
    for (long k = 0; k < n; k++)
        cmio_timer_free(t[k]);
    free(t);
    free(due);
    free(seen);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* Timers set and cancelled from four threads while the poll thread
 * receives: every event is one of ours and readable; once the threads are
 * done and every timer cancelled, no poll reports any; then each timer,
 * set once more with no delay, is reported exactly once. */
enum { STORM_THREADS = 4, STORM_TIMERS = 64 };

struct timer_storm {
    cmio_timer *t[STORM_THREADS][STORM_TIMERS];
    long ops;
    atomic_int done;
    int thread_index;
};

struct storm_arg {
    struct timer_storm *st;
    int index;
};

static void *timer_storm_work(void *arg)
{
    struct storm_arg *a = arg;
    uint32_t x = 77u + (uint32_t)a->index;
    for (long k = 0; k < a->st->ops; k++) {
        x = mix32(x + (uint32_t)k);
        cmio_timer *t = a->st->t[a->index][x % STORM_TIMERS];
        int rc = (x >> 8) % 3 == 0 ? cmio_timer_cancel(t) : cmio_timer_set(t, (x >> 12) % 3, (x >> 14) % 2);
        if (rc != 0)
            break;
    }
    atomic_fetch_add(&a->st->done, 1);
    return NULL;
}

START_TEST(test_timer_storm)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(64);
    static struct timer_storm st;
    memset(&st, 0, sizeof(st));
    st.ops = scaled(200000);
    atomic_init(&st.done, 0);
    for (int th = 0; th < STORM_THREADS; th++)
        for (int k = 0; k < STORM_TIMERS; k++)
            ck_assert_int_eq(cmio_timer_new(cmio_poll_registry(p), (cmio_token)(th * STORM_TIMERS + k), &st.t[th][k]), 0);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 0), 0);
    test_thread tid[STORM_THREADS];
    struct storm_arg args[STORM_THREADS];
    for (int th = 0; th < STORM_THREADS; th++) {
        args[th] = (struct storm_arg){&st, th};
        thread_start(&tid[th], timer_storm_work, &args[th]);
    }
    long events = 0;
    int64_t deadline = now_ms() + 60000;
    while (atomic_load(&st.done) < STORM_THREADS && now_ms() < deadline) {
        int n = cmio_poll_poll(p, ev, 5);
        ck_assert_int_ge(n, 0);
        for (const cmio_event *e = cmio_events_begin(ev); e != cmio_events_end(ev); e++) {
            cmio_token tok = cmio_event_token(e);
            ck_assert_uint_lt(tok, STORM_THREADS * STORM_TIMERS);
            ck_assert(cmio_event_is_readable(e));
            uint64_t c;
            (void)cmio_timer_read(st.t[tok / STORM_TIMERS][tok % STORM_TIMERS], &c);
            events++;
        }
    }
    for (int th = 0; th < STORM_THREADS; th++)
        thread_join(&tid[th]);
    ck_assert_int_eq(atomic_load(&st.done), STORM_THREADS);
    ck_assert_int_gt(events, 0);
    for (int th = 0; th < STORM_THREADS; th++)
        for (int k = 0; k < STORM_TIMERS; k++)
            ck_assert_int_eq(cmio_timer_cancel(st.t[th][k]), 0);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 30), 0);
    static int seen[STORM_THREADS * STORM_TIMERS];
    memset(seen, 0, sizeof(seen));
    for (int th = 0; th < STORM_THREADS; th++)
        for (int k = 0; k < STORM_TIMERS; k++)
            ck_assert_int_eq(cmio_timer_set(st.t[th][k], 0, 0), 0);
    int total = 0;
    deadline = now_ms() + WAIT_MS;
    while (total < STORM_THREADS * STORM_TIMERS && now_ms() < deadline) {
        int n = cmio_poll_poll(p, ev, 10);
        ck_assert_int_ge(n, 0);
        for (const cmio_event *e = cmio_events_begin(ev); e != cmio_events_end(ev); e++) {
            cmio_token tok = cmio_event_token(e);
            ck_assert_uint_lt(tok, STORM_THREADS * STORM_TIMERS);
            ck_assert_int_eq(seen[tok]++, 0);
            total++;
        }
    }
    ck_assert_int_eq(total, STORM_THREADS * STORM_TIMERS);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 20), 0);
    for (int th = 0; th < STORM_THREADS; th++)
        for (int k = 0; k < STORM_TIMERS; k++)
            cmio_timer_free(st.t[th][k]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* One case per test, so that one can be run alone (CK_RUN_CASE=waker_storm). */
static void add_case(Suite *s, const char *name, const TTest *test)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 120);
    add_backend_test(tc, test);
    suite_add_tcase(s, tc);
}

static Suite *suite(void)
{
    Suite *s = suite_create("stress");
#if !defined(_WIN32)
    add_case(s, "tcp_10k", test_tcp_10k_connections);
#endif
    add_case(s, "register_storm", test_register_deregister_storm);
    add_case(s, "waker_storm", test_waker_storm);
#if !defined(_WIN32)
    add_case(s, "accept_emfile", test_accept_under_emfile);
#endif
    add_case(s, "timers_100k", test_100k_timers);
    add_case(s, "timer_storm", test_timer_storm);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
