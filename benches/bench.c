/*
 * The benchmark harness's main: parses the workload and its parameters,
 * makes the descriptors, runs one implementation's measured part and
 * prints its line (see bench.h).
 *
 *   bench-IMPL pingpong [pairs=100] [active=1] [events=100000]
 *   bench-IMPL churn    [fds=1000] [rounds=100]
 *   bench-IMPL wake     [wakes=20000]
 *   bench-IMPL echo     [conns=50] [round_trips=100000] [size=64] [client=PATH]
 *   bench-IMPL channel  [producers=4] [messages=200000] [capacity=1024]
 *   bench-IMPL timers   [timers=10000] [max_ms=100]
 *   bench-IMPL multi_echo [threads=2] [conns=50] [round_trips=100000] [size=64] [client=PATH]
 *   every workload also takes [timeout=SECONDS] (default 300): the process is
 *   killed by SIGALRM past it, and [io=own|raw] (default own): io=raw runs
 *   the event-path variant (bench.h).
 *
 * The measured parts run inside the functions named bench_measured_*, which
 * `scripts/bench.sh instructions` gives to callgrind's --toggle-collect.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noclone))
#endif

bool bench_io_raw;

int bench_fail(const char *what, int err)
{
    fprintf(stderr, "bench-%s: %s: %s\n", bench_this.name, what, strerror(err < 0 ? -err : err));
    return -1;
}

static int usage(const char *msg)
{
    fprintf(stderr,
            "bench-%s: %s\n"
            "usage: bench-%s pingpong [pairs=N] [active=N] [events=N]\n"
            "       bench-%s churn [fds=N] [rounds=N]\n"
            "       bench-%s wake [wakes=N]\n"
            "       bench-%s echo [conns=N] [round_trips=N] [size=N] [client=PATH]\n"
            "       bench-%s timers [timers=N] [max_ms=N]\n"
            "       bench-%s channel [producers=N] [messages=N] [capacity=N]\n"
            "       bench-%s multi_echo [threads=N] [conns=N] [round_trips=N] [size=N] [client=PATH]\n"
            "       bench-%s frames [frames=N] [size=BYTES]\n"
            "       (each also [timeout=SECONDS] [io=own|raw])\n",
            bench_this.name, msg, bench_this.name, bench_this.name, bench_this.name, bench_this.name,
            bench_this.name, bench_this.name, bench_this.name, bench_this.name);
    return 2;
}

/* key=value arguments */
struct params {
    int argc;
    char **argv;
    bool bad;
};

static const char *param_text(struct params *p, const char *key)
{
    size_t k = strlen(key);
    for (int i = 0; i < p->argc; i++)
        if (strncmp(p->argv[i], key, k) == 0 && p->argv[i][k] == '=')
            return p->argv[i] + k + 1;
    return NULL;
}

static size_t param(struct params *p, const char *key, size_t def, size_t min, size_t max)
{
    const char *text = param_text(p, key);
    if (!text)
        return def;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max) {
        fprintf(stderr, "bench-%s: %s must be a whole number in [%zu, %zu]\n", bench_this.name, key,
                min, max);
        p->bad = true;
        return def;
    }
    return (size_t)v;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

static const char *backend(void) { return bench_this.backend ? bench_this.backend() : "-"; }

/* What follows backend= on the line: the row kind, for event-path rows. */
static const char *io_key(void) { return bench_io_raw ? " io=raw" : ""; }

/* Enough descriptors for the largest runs. */
static void raise_fd_limit(size_t need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
        rl.rlim_cur = need;
        if (rl.rlim_max < need)
            rl.rlim_max = need; /* allowed to root only */
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
}

/* ---- pingpong ---------------------------------------------------------- */

NOINLINE int bench_measured_pingpong(bench_pingpong *pp) { return bench_this.pingpong_run(pp); }

static int pingpong(struct params *p)
{
    bench_pingpong pp = {
        .pairs = param(p, "pairs", 100, 1, 100000),
        .active = param(p, "active", 1, 1, PINGPONG_MAX_ACTIVE),
        .events = param(p, "events", 100000, 1, SIZE_MAX / 2),
        .rng = UINT64_C(0x9E3779B97F4A7C15),
    };
    if (p->bad)
        return 2;
    if (pp.active > pp.pairs)
        return usage("active must not exceed pairs");
    raise_fd_limit(2 * pp.pairs + 64);
    pp.fds = calloc(pp.pairs, sizeof(*pp.fds));
    if (!pp.fds)
        {
        bench_fail("calloc", ENOMEM);
        return 1;
    }
    int rc = 1;
    size_t made = 0;
    for (; made < pp.pairs; made++)
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pp.fds[made]) < 0) {
            bench_fail("socketpair", errno);
            goto out;
        }
    if (bench_this.pingpong_open(&pp) < 0)
        goto out;
    uint64_t t0 = now_ns();
    if (bench_this.pingpong_register(&pp) < 0)
        goto close;
    uint64_t setup = now_ns() - t0;

    /* Start `active` messages, then run. */
    for (size_t i = 0; i < pp.active; i++)
        if (write(pp.fds[bench_pingpong_next(&pp)][1], "x", 1) != 1) {
            bench_fail("write", errno);
            goto close;
        }
    t0 = now_ns();
    if (bench_measured_pingpong(&pp) < 0)
        goto close;
    uint64_t run = now_ns() - t0;

    /* The work was done: every byte read was forwarded, so `active` bytes
     * are still in flight. */
    size_t in_flight = 0;
    for (size_t i = 0; i < pp.pairs; i++) {
        int n = 0;
        ioctl(pp.fds[i][0], FIONREAD, &n);
        in_flight += (size_t)n;
    }
    if (pp.done != pp.events || in_flight != pp.active) {
        fprintf(stderr, "bench-%s: pingpong: %zu of %zu events, %zu of %zu bytes in flight\n",
                bench_this.name, pp.done, pp.events, in_flight, pp.active);
        goto close;
    }
    printf("pingpong %s backend=%s%s pairs=%zu active=%zu events=%zu setup_ns_per_fd=%.1f "
           "work=%zu value=%.1f unit=ns/event\n",
           bench_this.name, backend(), io_key(), pp.pairs, pp.active, pp.events,
           (double)setup / (double)pp.pairs, pp.events, (double)run / (double)pp.events);
    rc = 0;
close:
    bench_this.pingpong_close(&pp);
out:
    for (size_t i = 0; i < made; i++) {
        close(pp.fds[i][0]);
        close(pp.fds[i][1]);
    }
    free(pp.fds);
    return rc;
}

/* ---- churn ------------------------------------------------------------- */

NOINLINE int bench_measured_churn(bench_churn *c) { return bench_this.churn_run(c); }

static int churn(struct params *p)
{
    bench_churn c = {
        .fds = param(p, "fds", 1000, 1, 100000),
        .rounds = param(p, "rounds", 100, 1, SIZE_MAX / 3 / 100000),
    };
    if (p->bad)
        return 2;
    raise_fd_limit(2 * c.fds + 64);
    int (*pipes)[2] = calloc(c.fds, sizeof(*pipes));
    c.fd = calloc(c.fds, sizeof(*c.fd));
    int rc = 1;
    size_t made = 0;
    if (!pipes || !c.fd) {
        bench_fail("calloc", ENOMEM);
        goto out;
    }
    for (; made < c.fds; made++) {
        if (pipe2(pipes[made], O_NONBLOCK | O_CLOEXEC) < 0) {
            bench_fail("pipe2", errno);
            goto out;
        }
        c.fd[made] = pipes[made][0];
    }
    if (bench_this.churn_open(&c) < 0)
        goto out;
    uint64_t t0 = now_ns();
    int err = bench_measured_churn(&c);
    uint64_t run = now_ns() - t0;
    bench_this.churn_close(&c);
    if (err < 0)
        goto out;
    size_t ops = 3 * c.fds * c.rounds;
    printf("churn %s backend=%s%s fds=%zu rounds=%zu work=%zu value=%.1f unit=ns/op\n", bench_this.name,
           backend(), io_key(), c.fds, c.rounds, ops, (double)run / (double)ops);
    rc = 0;
out:
    for (size_t i = 0; i < made; i++) {
        close(pipes[i][0]);
        close(pipes[i][1]);
    }
    free(pipes);
    free(c.fd);
    return rc;
}

/* ---- wake -------------------------------------------------------------- */

NOINLINE int bench_measured_wake(bench_wake *w) { return bench_this.wake_run(w); }

/* The other thread: wake, wait until the loop saw it, again. */
NOINLINE void *bench_measured_wake_sender(void *arg)
{
    bench_wake *w = arg;
    for (size_t i = 0; i < w->wakes; i++) {
        if (bench_this.wake_send(w) < 0)
            exit(1); /* the loop would wait forever */
        while (sem_wait(&w->ack) < 0 && errno == EINTR) {
        }
    }
    return NULL;
}

static int wake(struct params *p)
{
    bench_wake w = {.wakes = param(p, "wakes", 20000, 1, SIZE_MAX / 2)};
    if (p->bad)
        return 2;
    if (sem_init(&w.ack, 0, 0) < 0)
        {
        bench_fail("sem_init", errno);
        return 1;
    }
    int rc = 1;
    if (bench_this.wake_open(&w) < 0)
        goto out;
    pthread_t sender;
    uint64_t t0 = now_ns();
    int err = pthread_create(&sender, NULL, bench_measured_wake_sender, &w);
    if (err) {
        bench_fail("pthread_create", err);
        bench_this.wake_close(&w);
        goto out;
    }
    err = bench_measured_wake(&w);
    if (err < 0)
        exit(1); /* the sender may be blocked on the semaphore */
    pthread_join(sender, NULL);
    uint64_t run = now_ns() - t0;
    bench_this.wake_close(&w);
    printf("wake %s backend=%s%s wakes=%zu work=%zu value=%.1f unit=ns/wake\n", bench_this.name,
           backend(), io_key(), w.wakes, w.wakes, (double)run / (double)w.wakes);
    rc = 0;
out:
    sem_destroy(&w.ack);
    return rc;
}

/* ---- timers ------------------------------------------------------------ */

NOINLINE int bench_measured_timers(bench_timers *t) { return bench_this.timers->run(t); }

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int timers(struct params *p)
{
    bench_timers t = {
        .timers = param(p, "timers", 10000, 2, 10000000),
        .max_ms = param(p, "max_ms", 100, 1, 3600000),
        .rng = UINT64_C(0x9E3779B97F4A7C15),
    };
    if (p->bad)
        return 2;
    size_t expiring = t.timers - t.timers / 2;
    t.due = calloc(t.timers, sizeof(*t.due));
    t.late = calloc(expiring, sizeof(*t.late));
    int rc = 1;
    if (!t.due || !t.late) {
        bench_fail("calloc", ENOMEM);
        goto out;
    }
    if (bench_this.timers->open(&t) < 0)
        goto out;
    uint64_t c0 = cpu_ns();
    int err = bench_measured_timers(&t);
    uint64_t cpu = cpu_ns() - c0;
    bench_this.timers->close(&t);
    if (err < 0)
        goto out;
    if (t.fired != expiring) {
        fprintf(stderr, "bench-%s: timers: %zu of %zu expired\n", bench_this.name, t.fired, expiring);
        goto out;
    }
    size_t m = t.timed;
    qsort(t.late, m, sizeof(*t.late), cmp_i64);
    printf("timers %s backend=%s%s timers=%zu max_ms=%zu work=%zu value=%.1f unit=cpu-ns/timer "
           "late_p50_us=%.1f late_p99_us=%.1f late_max_us=%.1f timed=%zu early=%zu\n",
           bench_this.name, backend(), io_key(), t.timers, t.max_ms, t.timers, (double)cpu / (double)t.timers,
           m ? (double)t.late[m / 2] / 1e3 : 0.0, m ? (double)t.late[m - 1 - m / 100] / 1e3 : 0.0,
           m ? (double)t.late[m - 1] / 1e3 : 0.0, m, t.early);
    rc = 0;
out:
    free(t.due);
    free(t.late);
    return rc;
}

/* ---- echo -------------------------------------------------------------- */

NOINLINE int bench_measured_echo(bench_echo *e) { return bench_this.echo_run(e); }

/* The load client (default: bench-echo-client beside this binary). */
static const char *client_path(struct params *p, const char *argv0, char *buf, size_t size)
{
    const char *path = param_text(p, "client");
    if (path)
        return path;
    const char *slash = strrchr(argv0, '/');
    int dir = slash ? (int)(slash - argv0 + 1) : 0;
    snprintf(buf, size, "%.*sbench-echo-client", dir, argv0);
    return buf;
}

static int echo(struct params *p, const char *argv0)
{
    bench_echo e = {
        .conns = param(p, "conns", 50, 1, ECHO_MAX_CONNS),
        .round_trips = param(p, "round_trips", 100000, 1, SIZE_MAX / 2),
        .size = param(p, "size", 64, 1, ECHO_BUF),
        .listen_fd = -1,
    };
    if (p->bad)
        return 2;
    raise_fd_limit(2 * e.conns + 64);
    char buf[PATH_MAX];
    const char *client = client_path(p, argv0, buf, sizeof(buf));

    e.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sin);
    int one = 1;
    if (e.listen_fd < 0 || setsockopt(e.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(e.listen_fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(e.listen_fd, 1024) < 0 ||
        getsockname(e.listen_fd, (struct sockaddr *)&sin, &len) < 0) {
        bench_fail("listen on 127.0.0.1", errno);
        if (e.listen_fd >= 0)
            close(e.listen_fd);
        return 1;
    }
    if (bench_this.echo_open(&e) < 0) {
        close(e.listen_fd);
        return 1;
    }

    /* The client: ADDRESS CONNECTIONS ROUND_TRIPS SECONDS SIZE; its one line
     * comes back through a pipe. */
    char addr[32], conns[24], trips[24], size[24];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)ntohs(sin.sin_port));
    snprintf(conns, sizeof(conns), "%zu", e.conns);
    snprintf(trips, sizeof(trips), "%zu", e.round_trips);
    snprintf(size, sizeof(size), "%zu", e.size);
    int out[2];
    if (pipe2(out, O_CLOEXEC) < 0) {
        bench_this.echo_close(&e);
        close(e.listen_fd);
        bench_fail("pipe2", errno);
        return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        execl(client, client, addr, conns, trips, "3600", size, (char *)NULL);
        fprintf(stderr, "bench-%s: %s: %s\n", bench_this.name, client, strerror(errno));
        _exit(127);
    }
    close(out[1]);
    int rc = 1;
    if (pid < 0) {
        bench_fail("fork", errno);
        goto out;
    }

    uint64_t c0 = cpu_ns();
    int err = bench_measured_echo(&e);
    uint64_t cpu = cpu_ns() - c0;
    if (err < 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        goto out;
    }
    char line[256] = "";
    ssize_t n = read(out[0], line, sizeof(line) - 1);
    line[n > 0 ? n : 0] = '\0';
    int status;
    waitpid(pid, &status, 0);
    unsigned long client_trips = 0;
    double client_rate = 0;
    const char *t = strstr(line, "round_trips=");
    const char *r = strstr(line, "round_trips_per_second=");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !t || !r) {
        fprintf(stderr, "bench-%s: echo: the client failed (%s)\n", bench_this.name, line);
        goto out;
    }
    client_trips = strtoul(t + strlen("round_trips="), NULL, 10);
    client_rate = strtod(r + strlen("round_trips_per_second="), NULL);
    /* The client stops at its total with a message in flight on the other
     * connections, which the server echoed too. */
    uint64_t least = (uint64_t)e.round_trips * e.size;
    if (client_trips != e.round_trips || e.bytes < least || e.bytes > least + e.conns * e.size) {
        fprintf(stderr, "bench-%s: echo: %lu of %zu round trips, %llu bytes echoed\n",
                bench_this.name, client_trips, e.round_trips, (unsigned long long)e.bytes);
        goto out;
    }
    printf("echo %s backend=%s%s conns=%zu size=%zu round_trips=%zu cpu_ns_per_round_trip=%.1f "
           "work=%zu value=%.0f unit=round_trips/s\n",
           bench_this.name, backend(), io_key(), e.conns, e.size, e.round_trips,
           (double)cpu / (double)e.round_trips, e.round_trips, client_rate);
    rc = 0;
out:
    bench_this.echo_close(&e);
    close(e.listen_fd);
    close(out[0]);
    return rc;
}

/* ---- channel ----------------------------------------------------------- */

NOINLINE int bench_measured_channel(bench_channel *ch) { return bench_this.channel_run(ch); }

struct producer {
    bench_channel *ch;
    uint64_t id;
    size_t count;
    size_t full; /* sends that found the channel full */
    pthread_t thread;
};

/* A producer thread: its messages in order, yielding while it is full. */
NOINLINE void *bench_measured_channel_producer(void *arg)
{
    struct producer *p = arg;
    for (size_t i = 0; i < p->count; i++) {
        bench_msg m = {.producer = p->id, .seq = i};
        int r;
        while ((r = bench_this.channel_send(p->ch, &m)) == 1) {
            p->full++;
            sched_yield();
        }
        if (r < 0)
            exit(1); /* the loop would wait forever */
    }
    return NULL;
}

static int channel(struct params *p)
{
    bench_channel ch = {
        .producers = param(p, "producers", 4, 1, BENCH_CHANNEL_MAX_PRODUCERS),
        .messages = param(p, "messages", 200000, 1, SIZE_MAX / 2),
        .capacity = param(p, "capacity", 1024, 1, 1u << 24),
    };
    if (p->bad)
        return 2;
    if (ch.messages < ch.producers)
        return usage("messages must be at least producers");
    struct producer prod[BENCH_CHANNEL_MAX_PRODUCERS];
    if (bench_this.channel_open(&ch) < 0) {
        bench_this.channel_close(&ch);
        return 1;
    }
    size_t started = 0;
    uint64_t t0 = now_ns();
    for (; started < ch.producers; started++) {
        struct producer *q = &prod[started];
        *q = (struct producer){
            .ch = &ch,
            .id = started,
            .count = ch.messages / ch.producers + (started < ch.messages % ch.producers),
        };
        int err = pthread_create(&q->thread, NULL, bench_measured_channel_producer, q);
        if (err) {
            bench_fail("pthread_create", err);
            exit(1); /* the started producers may wait on a full channel */
        }
    }
    if (bench_measured_channel(&ch) < 0)
        exit(1); /* the producers may wait on a full channel */
    size_t full = 0;
    for (size_t k = 0; k < started; k++) {
        pthread_join(prod[k].thread, NULL);
        full += prod[k].full;
    }
    uint64_t run = now_ns() - t0;
    bench_this.channel_close(&ch);

    /* The work was done: every message once, each producer's in order. */
    bool all = ch.done == ch.messages && ch.bad == 0;
    for (size_t k = 0; k < ch.producers; k++)
        all = all && ch.next[k] == prod[k].count;
    if (!all) {
        fprintf(stderr, "bench-%s: channel: %zu of %zu messages taken, %zu out of order\n", bench_this.name,
                ch.done, ch.messages, ch.bad);
        return 1;
    }
    printf("channel %s backend=%s%s producers=%zu messages=%zu capacity=%zu events=%zu "
           "messages_per_event=%.1f full_retries=%zu work=%zu value=%.1f unit=ns/message\n",
           bench_this.name, backend(), io_key(), ch.producers, ch.messages, ch.capacity, ch.events,
           ch.events ? (double)ch.messages / (double)ch.events : 0.0, full, ch.messages,
           (double)run / (double)ch.messages);
    return 0;
}

/* ---- multi_echo (issue 12) --------------------------------------------- */

NOINLINE int bench_measured_multi_echo(bench_multi_echo *m) { return bench_this.multi_echo->run(m, 0); }

struct reactor_arg {
    bench_multi_echo *m;
    size_t k;
    int rc;
};

NOINLINE void *bench_measured_multi_echo_reactor(void *arg)
{
    struct reactor_arg *a = arg;
    a->rc = bench_this.multi_echo->run(a->m, a->k);
    return NULL;
}

/* `threads` listeners with SO_REUSEPORT on one port of 127.0.0.1; returns
 * the port, or 0 (after bench_fail, with what was opened closed). */
static unsigned reuseport_listeners(bench_multi_echo *m)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    for (size_t k = 0; k < m->threads; k++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        socklen_t len = sizeof(sin);
        int one = 1;
        m->listen_fds[k] = fd;
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
            bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 1024) < 0 ||
            getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
            bench_fail("SO_REUSEPORT listener on 127.0.0.1", errno);
            for (size_t j = 0; j <= k; j++)
                if (m->listen_fds[j] >= 0)
                    close(m->listen_fds[j]);
            return 0;
        }
    }
    return ntohs(sin.sin_port);
}

static int multi_echo(struct params *p, const char *argv0)
{
    static bench_multi_echo m;
    m = (bench_multi_echo){
        .threads = param(p, "threads", 2, 1, MULTI_ECHO_MAX_THREADS),
        .conns = param(p, "conns", 50, 1, ECHO_MAX_CONNS),
        .round_trips = param(p, "round_trips", 100000, 1, SIZE_MAX / 2),
        .size = param(p, "size", 64, 1, ECHO_BUF),
    };
    if (p->bad)
        return 2;
    raise_fd_limit(2 * m.conns + 64 * m.threads);
    char buf[PATH_MAX];
    const char *client = client_path(p, argv0, buf, sizeof(buf));
    unsigned port = reuseport_listeners(&m);
    if (port == 0)
        return 1;
    for (size_t k = 0; k < m.threads; k++)
        m.per[k] = (bench_echo){.conns = m.conns, .size = m.size, .listen_fd = m.listen_fds[k]};
    int rc = 1;
    if (bench_this.multi_echo->open(&m) < 0)
        goto listeners;

    char addr[32], conns[24], trips[24], size[24];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
    snprintf(conns, sizeof(conns), "%zu", m.conns);
    snprintf(trips, sizeof(trips), "%zu", m.round_trips);
    snprintf(size, sizeof(size), "%zu", m.size);
    int out[2];
    if (pipe2(out, O_CLOEXEC) < 0) {
        bench_fail("pipe2", errno);
        goto close;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        execl(client, client, addr, conns, trips, "3600", size, (char *)NULL);
        fprintf(stderr, "bench-%s: %s: %s\n", bench_this.name, client, strerror(errno));
        _exit(127);
    }
    close(out[1]);
    if (pid < 0) {
        bench_fail("fork", errno);
        goto pipe;
    }

    static struct reactor_arg args[MULTI_ECHO_MAX_THREADS];
    pthread_t threads[MULTI_ECHO_MAX_THREADS];
    uint64_t c0 = cpu_ns();
    for (size_t k = 1; k < m.threads; k++) {
        args[k] = (struct reactor_arg){&m, k, 0};
        int err = pthread_create(&threads[k], NULL, bench_measured_multi_echo_reactor, &args[k]);
        if (err) {
            bench_fail("pthread_create", err);
            exit(1); /* the reactors started would wait forever */
        }
    }
    int err = bench_measured_multi_echo(&m);
    for (size_t k = 1; k < m.threads; k++) {
        pthread_join(threads[k], NULL);
        err |= args[k].rc;
    }
    uint64_t cpu = cpu_ns() - c0;
    if (err < 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        goto pipe;
    }
    char line[256] = "";
    ssize_t n = read(out[0], line, sizeof(line) - 1);
    line[n > 0 ? n : 0] = '\0';
    int status;
    waitpid(pid, &status, 0);
    const char *t = strstr(line, "round_trips=");
    const char *r = strstr(line, "round_trips_per_second=");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !t || !r) {
        fprintf(stderr, "bench-%s: multi_echo: the client failed (%s)\n", bench_this.name, line);
        goto pipe;
    }
    unsigned long client_trips = strtoul(t + strlen("round_trips="), NULL, 10);
    double client_rate = strtod(r + strlen("round_trips_per_second="), NULL);
    /* The work was done: every connection accepted and closed by some
     * reactor, every round trip echoed (and at most one message more per
     * connection, as in echo). */
    uint64_t bytes = 0;
    size_t accepted = 0, closed = 0, busy = 0;
    for (size_t k = 0; k < m.threads; k++) {
        bytes += m.per[k].bytes;
        accepted += m.per[k].accepted;
        closed += m.per[k].closed;
        busy += m.per[k].accepted > 0;
    }
    uint64_t least = (uint64_t)m.round_trips * m.size;
    if (client_trips != m.round_trips || accepted != m.conns || closed != m.conns || bytes < least ||
        bytes > least + m.conns * m.size) {
        fprintf(stderr, "bench-%s: multi_echo: %lu of %zu round trips, %zu/%zu accepted/closed of %zu, %llu bytes\n",
                bench_this.name, client_trips, m.round_trips, accepted, closed, m.conns, (unsigned long long)bytes);
        goto pipe;
    }
    printf("multi_echo %s backend=%s%s threads=%zu conns=%zu size=%zu round_trips=%zu busy_threads=%zu "
           "cpu_ns_per_round_trip=%.1f work=%zu value=%.0f unit=round_trips/s\n",
           bench_this.name, backend(), io_key(), m.threads, m.conns, m.size, m.round_trips, busy,
           (double)cpu / (double)m.round_trips, m.round_trips, client_rate);
    rc = 0;
pipe:
    close(out[0]);
close:
    bench_this.multi_echo->close(&m);
listeners:
    for (size_t k = 0; k < m.threads; k++)
        close(m.listen_fds[k]);
    return rc;
}

/* ---- frames ------------------------------------------------------------ */

NOINLINE int bench_measured_frames(bench_frames *f) { return bench_this.frames->run(f); }

static int frames(struct params *p)
{
    bench_frames f = {
        .frames = param(p, "frames", 1000000, 1, 1000000000),
        .size = param(p, "size", 16, 0, 1024),
    };
    if (p->bad)
        return 2;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, f.fds) < 0)
        return bench_fail("socketpair", errno), 1;
    int rc = 1;
    if (bench_this.frames->open(&f) < 0)
        goto out;
    uint64_t t0 = now_ns();
    int err = bench_measured_frames(&f);
    uint64_t run = now_ns() - t0;
    bench_this.frames->close(&f);
    if (err < 0)
        goto out;
    uint64_t want = 0;
    for (size_t i = 0; i < f.frames; i++)
        want += f.size + (f.size ? (unsigned char)i : 0);
    if (f.done != f.frames || f.sum != want) {
        fprintf(stderr, "bench-%s: frames: %zu of %zu decoded, checksum %llu, want %llu\n", bench_this.name,
                f.done, f.frames, (unsigned long long)f.sum, (unsigned long long)want);
        goto out;
    }
    printf("frames %s backend=%s%s frames=%zu size=%zu work=%zu value=%.1f unit=frames/s\n", bench_this.name,
           backend(), io_key(), f.frames, f.size, f.frames, (double)f.frames * 1e9 / (double)run);
    rc = 0;
out:
    close(f.fds[0]);
    close(f.fds[1]);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage("no workload");
    struct params p = {argc - 2, argv + 2, false};
    alarm((unsigned)param(&p, "timeout", 300, 1, 86400));
    const char *io = param_text(&p, "io");
    if (io && strcmp(io, "raw") != 0 && strcmp(io, "own") != 0)
        return usage("io must be own or raw");
    bench_io_raw = io && strcmp(io, "raw") == 0;
    if (p.bad)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    const char *w = argv[1];
    bool known = true, have = false;
    if (strcmp(w, "pingpong") == 0)
        have = bench_this.pingpong_run != NULL;
    else if (strcmp(w, "churn") == 0)
        have = bench_this.churn_run != NULL;
    else if (strcmp(w, "wake") == 0)
        have = bench_this.wake_run != NULL;
    else if (strcmp(w, "echo") == 0)
        have = bench_this.echo_run != NULL;
    else if (strcmp(w, "timers") == 0)
        have = bench_this.timers != NULL;

    else if (strcmp(w, "channel") == 0)
        have = bench_this.channel_run != NULL;
    else if (strcmp(w, "multi_echo") == 0)
        have = bench_this.multi_echo != NULL;
    else if (strcmp(w, "frames") == 0)
        have = bench_this.frames != NULL;
    else
        known = false;
    if (!known)
        return usage("unknown workload");
    if (!have) {
        printf("%s %s skipped: not implemented\n", w, bench_this.name);
        return 0;
    }
    int rc = w[0] == 'm'                 ? multi_echo(&p, argv[0])
             : w[0] == 'p'               ? pingpong(&p)
             : strcmp(w, "churn") == 0   ? churn(&p)
             : strcmp(w, "channel") == 0 ? channel(&p)
             : w[0] == 'w'               ? wake(&p)
             : w[0] == 't'               ? timers(&p)
             : w[0] == 'f'               ? frames(&p)
                                         : echo(&p, argv[0]);
    fflush(stdout);
    return rc;
}
