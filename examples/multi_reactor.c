/*
 * multi_reactor: an echo server with one event loop per thread, each over
 * its own listener on one shared port (SO_REUSEPORT), so that the kernel
 * spreads the connections over the threads and no two threads share any
 * state but a counter.
 *
 * Each thread runs a cmio_loop whose callback accepts on its listener and
 * echoes what its connections send. A round trip is one line ('\n') echoed.
 * The main thread waits for SIGTERM or SIGINT (cmio_signals) or for the
 * reactors to reach ROUND_TRIPS in total (a cmio_waker), shuts every loop
 * down from its own thread (cmio_loop_shutdown), joins them and prints, per
 * thread and in total, the connections accepted and the round trips
 * served, then exits 0.
 *
 *   multi_reactor [ADDRESS [THREADS [ROUND_TRIPS]]]
 *       (default 127.0.0.1:9000, 2 threads, 0: until a signal)
 *
 * SPDX-License-Identifier: MIT
 */
#include <cmio.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { LISTENER = 0, MAX_THREADS = 64, MAX_CONNECTIONS = 1024, BUF = 16384 };

struct conn {
    cmio_tcp_stream s;
    size_t off, len; /* bytes of buf still to write back */
    char buf[BUF];
};

struct reactor {
    int index;
    cmio_loop *loop;
    cmio_tcp_listener listener;
    pthread_t thread;
    int result;
    unsigned long connections, round_trips;
    struct conn *conns; /* MAX_CONNECTIONS; token t is conns[t - 1] */
};

static atomic_ulong total_round_trips;
static unsigned long round_trip_limit; /* 0: none */
static cmio_waker *limit_reached;        /* wakes the main thread */

static int fail(const char *what, int err)
{
    fprintf(stderr, "multi_reactor: %s: %s\n", what, cmio_strerror(err));
    return 1;
}

static void close_conn(struct reactor *r, struct conn *c)
{
    cmio_registry_deregister(cmio_loop_registry(r->loop), c->s.fd);
    cmio_tcp_stream_close(&c->s);
}

static void count_lines(struct reactor *r, const char *p, size_t n)
{
    unsigned long lines = 0;
    for (const char *end = p + n; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
        lines++;
    if (lines == 0)
        return;
    r->round_trips += lines;
    unsigned long now = atomic_fetch_add(&total_round_trips, lines) + lines;
    if (round_trip_limit && now >= round_trip_limit && now - lines < round_trip_limit)
        cmio_waker_wake(limit_reached);
}

/* Write back what is pending, then read more, until the socket would block
 * either way (edge-triggered: the next event comes when it changes). */
static void serve(struct reactor *r, struct conn *c)
{
    for (;;) {
        while (c->off < c->len) {
            ssize_t n = cmio_tcp_stream_write(&c->s, c->buf + c->off, c->len - c->off);
            if (n == -EAGAIN)
                return; /* a writable event resumes here */
            if (n < 0) {
                close_conn(r, c);
                return;
            }
            count_lines(r, c->buf + c->off, (size_t)n);
            c->off += (size_t)n;
        }
        c->off = c->len = 0;
        ssize_t n = cmio_tcp_stream_read(&c->s, c->buf, sizeof(c->buf));
        if (n == -EAGAIN)
            return;
        if (n <= 0) { /* end of stream, or an error: done */
            close_conn(r, c);
            return;
        }
        c->len = (size_t)n;
    }
}

static void accept_all(struct reactor *r)
{
    for (;;) {
        cmio_tcp_stream s;
        if (cmio_tcp_listener_accept(&r->listener, &s, NULL) < 0)
            return; /* -EAGAIN: the queue is empty (else: try at the next event) */
        int slot = 0;
        while (slot < MAX_CONNECTIONS && r->conns[slot].s.fd >= 0)
            slot++;
        if (slot == MAX_CONNECTIONS ||
            cmio_registry_register(cmio_loop_registry(r->loop), s.fd, (cmio_token)slot + 1,
                                   CMIO_READABLE | CMIO_WRITABLE) < 0) {
            cmio_tcp_stream_close(&s);
            continue;
        }
        r->conns[slot].s = s;
        r->conns[slot].off = r->conns[slot].len = 0;
        r->connections++;
        serve(r, &r->conns[slot]); /* data may already be there */
    }
}

static void on_event(cmio_loop *loop, const cmio_event *event, void *ctx)
{
    (void)loop;
    struct reactor *r = ctx;
    cmio_token t = cmio_event_token(event);
    if (t == LISTENER)
        accept_all(r);
    else if (t <= MAX_CONNECTIONS && r->conns[t - 1].s.fd >= 0)
        serve(r, &r->conns[t - 1]);
    /* else: an event for a connection closed earlier in this iteration */
}

static void *run_reactor(void *arg)
{
    struct reactor *r = arg;
    r->result = cmio_loop_run(r->loop);
    return NULL;
}

/* A listener with SO_REUSEPORT on addr; addr then holds its address (the
 * port the kernel picked, for the next listeners). */
static int reuseport_listener(cmio_sockaddr *addr, cmio_tcp_listener *out)
{
    cmio_tcp_socket s;
    int err = addr->u.sa.sa_family == AF_INET6 ? cmio_tcp_socket_new_v6(&s) : cmio_tcp_socket_new_v4(&s);
    if (err < 0)
        return err;
    if ((err = cmio_tcp_socket_set_reuseaddr(&s, true)) < 0 || (err = cmio_tcp_socket_set_reuseport(&s, true)) < 0 ||
        (err = cmio_tcp_socket_bind(&s, addr)) < 0 || (err = cmio_tcp_socket_local_addr(&s, addr)) < 0) {
        cmio_tcp_socket_close(&s);
        return err;
    }
    return cmio_tcp_socket_listen(&s, 1024, out); /* consumes s */
}

int main(int argc, char **argv)
{
    /* Unbuffered: each line goes out at once, on every C runtime (the
     * Microsoft one has no line buffering: _IOLBF is full buffering there). */
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *text = argc > 1 ? argv[1] : "127.0.0.1:9000";
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    round_trip_limit = argc > 3 ? strtoul(argv[3], NULL, 10) : 0;
    if (threads < 1 || threads > MAX_THREADS) {
        fprintf(stderr, "multi_reactor: THREADS must be 1 to %d\n", MAX_THREADS);
        return 2;
    }

    /* Signals as events: blocked here, before any thread, so that every
     * thread inherits the mask (cmio_signals' rule). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    cmio_sockaddr addr;
    int err;
    if ((err = cmio_sockaddr_parse(&addr, text)) < 0)
        return fail(text, err);

    static struct reactor reactors[MAX_THREADS];
    for (int k = 0; k < threads; k++) {
        struct reactor *r = &reactors[k];
        r->index = k;
        r->conns = calloc(MAX_CONNECTIONS, sizeof(*r->conns));
        if (!r->conns)
            return fail("calloc", -ENOMEM);
        for (int c = 0; c < MAX_CONNECTIONS; c++)
            r->conns[c].s.fd = -1;
        if ((err = reuseport_listener(&addr, &r->listener)) < 0)
            return fail("listener", err);
        if ((err = cmio_loop_new(&r->loop, 256, on_event, r)) < 0)
            return fail("cmio_loop_new", err);
        if ((err = cmio_registry_register(cmio_loop_registry(r->loop), r->listener.fd, LISTENER, CMIO_READABLE)) <
            0)
            return fail("register", err);
    }

    enum { SIGNALS, LIMIT };
    cmio_poll *poll;
    cmio_events *events;
    cmio_signals *signals;
    if ((err = cmio_poll_new(&poll)) < 0 || (err = cmio_events_new(&events, 4)) < 0)
        return fail("poll", err);
    if ((err = cmio_signals_new(cmio_poll_registry(poll), SIGNALS, &set, &signals)) < 0)
        return fail("cmio_signals_new", err);
    if ((err = cmio_waker_new(cmio_poll_registry(poll), LIMIT, &limit_reached)) < 0)
        return fail("cmio_waker_new", err);

    char shown[CMIO_SOCKADDR_STRLEN];
    cmio_sockaddr_format(&addr, shown, sizeof(shown));
    printf("Listening on %s with %d threads\n", shown, threads);

    for (int k = 0; k < threads; k++)
        if ((err = pthread_create(&reactors[k].thread, NULL, run_reactor, &reactors[k])) != 0)
            return fail("pthread_create", -err);

    const char *why = NULL;
    while (!why) {
        int n = cmio_poll_poll(poll, events, -1);
        if (n == -EINTR)
            continue;
        if (n < 0)
            return fail("poll", n);
        for (int i = 0; i < n; i++) {
            cmio_token t = cmio_event_token(cmio_events_get(events, (size_t)i));
            int signo;
            if (t == SIGNALS && cmio_signals_read(signals, &signo) == 0)
                why = signo == SIGTERM ? "SIGTERM" : "SIGINT";
            else if (t == LIMIT)
                why = "round trips";
        }
    }

    /* From this thread: each loop is woken in its poll and returns. */
    for (int k = 0; k < threads; k++)
        cmio_loop_shutdown(reactors[k].loop);
    unsigned long connections = 0, round_trips = 0;
    int status = 0;
    printf("Stopping (%s)\n", why);
    for (int k = 0; k < threads; k++) {
        struct reactor *r = &reactors[k];
        pthread_join(r->thread, NULL);
        if (r->result < 0)
            status = fail("loop", r->result);
        printf("thread %d: connections=%lu round_trips=%lu\n", k, r->connections, r->round_trips);
        connections += r->connections;
        round_trips += r->round_trips;
        for (int c = 0; c < MAX_CONNECTIONS; c++)
            if (r->conns[c].s.fd >= 0)
                close_conn(r, &r->conns[c]);
        cmio_registry_deregister(cmio_loop_registry(r->loop), r->listener.fd);
        cmio_tcp_listener_close(&r->listener);
        cmio_loop_free(r->loop);
        free(r->conns);
    }
    printf("total: threads=%d connections=%lu round_trips=%lu\n", threads, connections, round_trips);
    cmio_waker_free(limit_reached);
    cmio_signals_free(signals);
    cmio_events_free(events);
    cmio_poll_free(poll);
    return status;
}
