/*
 * graceful_shutdown: a TCP echo server that stops on SIGTERM or SIGINT the
 * polite way. The signals arrive as events (cmio_signals); on the first one
 * the server closes its listener, so that new connections are refused,
 * keeps echoing for the connections in flight, and arms a deadline timer
 * (cmio_timer): when the last connection has closed, or when the deadline
 * comes first (the stragglers are closed), it exits 0.
 *
 *   graceful_shutdown [ADDRESS [GRACE_MS]]   (default 127.0.0.1:9000, 5000)
 *
 * Prints "Listening on ADDRESS", then on the signal "Shutting down: N
 * connections in flight", and at the end "Done" (after "Deadline: closed
 * N" when the deadline came first).
 *
 * SPDX-License-Identifier: MIT
 */
#include <cmio.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SERVER = 0, SIGNALS = 1, DEADLINE = 2, FIRST_CONN = 3, MAX_CONNECTIONS = 1024, BUFFER = 16384 };

struct connection {
    cmio_tcp_stream stream; /* fd -1: the slot is free */
    size_t start, end;      /* read, not yet echoed: buf[start, end) */
    bool want_write;
    char buf[BUFFER];
};

static struct connection conns[MAX_CONNECTIONS];
static int open_conns;

static int fail(const char *what, int err)
{
    fprintf(stderr, "graceful_shutdown: %s: %s\n", what, cmio_strerror(err));
    return 1;
}

static void close_conn(cmio_registry *registry, struct connection *c)
{
    cmio_registry_deregister(registry, c->stream.fd);
    cmio_tcp_stream_close(&c->stream);
    open_conns--;
}

/* Echo until -EAGAIN; returns false when the connection is over. */
static bool serve(cmio_registry *registry, cmio_token token, struct connection *c)
{
    for (;;) {
        while (c->start < c->end) {
            ssize_t n = cmio_tcp_stream_write(&c->stream, c->buf + c->start, c->end - c->start);
            if (n == -EAGAIN)
                goto wait;
            if (n == -EINTR)
                continue;
            if (n < 0)
                return false;
            c->start += (size_t)n;
        }
        c->start = c->end = 0;
        ssize_t n = cmio_tcp_stream_read(&c->stream, c->buf, sizeof(c->buf));
        if (n == -EAGAIN)
            break;
        if (n == -EINTR)
            continue;
        if (n <= 0)
            return false; /* end of stream, or reset */
        c->end = (size_t)n;
    }
wait:;
    bool want_write = c->start < c->end;
    if (want_write != c->want_write) {
        cmio_interest interest = want_write ? CMIO_READABLE | CMIO_WRITABLE : CMIO_READABLE;
        if (cmio_registry_reregister(registry, c->stream.fd, token, interest) < 0)
            return false;
        c->want_write = want_write;
    }
    return true;
}

static int accept_all(cmio_registry *registry, cmio_tcp_listener *server)
{
    for (;;) {
        cmio_tcp_stream s;
        int err = cmio_tcp_listener_accept(server, &s, NULL);
        if (err == -EAGAIN)
            return 0;
        if (err == -EINTR || err == -ECONNABORTED)
            continue;
        if (err < 0)
            return err;
        int slot = -1;
        for (int k = 0; k < MAX_CONNECTIONS && slot < 0; k++)
            if (conns[k].stream.fd < 0)
                slot = k;
        if (slot < 0 || cmio_registry_register(registry, s.fd, (cmio_token)(FIRST_CONN + slot), CMIO_READABLE) < 0) {
            cmio_tcp_stream_close(&s);
            continue;
        }
        conns[slot] = (struct connection){.stream = s};
        open_conns++;
    }
}

int main(int argc, char **argv)
{
    /* Unbuffered: each line goes out at once, on every C runtime (the
     * Microsoft one has no line buffering: _IOLBF is full buffering there). */
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *text = argc > 1 ? argv[1] : "127.0.0.1:9000";
    uint64_t grace_ms = argc > 2 ? strtoull(argv[2], NULL, 10) : 5000;
    for (int k = 0; k < MAX_CONNECTIONS; k++)
        conns[k].stream.fd = -1;

    /* First, before any thread exists: the signals become events only if
     * no thread can take them the old way. */
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    int err = pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    if (err != 0)
        return fail("pthread_sigmask", -err);

    cmio_poll *poll;
    cmio_events *events;
    cmio_sockaddr addr;
    cmio_tcp_listener server;
    cmio_signals *signals;
    cmio_timer *deadline;
    if ((err = cmio_poll_new(&poll)) < 0)
        return fail("cmio_poll_new", err);
    cmio_registry *registry = cmio_poll_registry(poll);
    if ((err = cmio_events_new(&events, 256)) < 0)
        return fail("cmio_events_new", err);
    if ((err = cmio_signals_new(registry, SIGNALS, &stop_set, &signals)) < 0)
        return fail("cmio_signals_new", err);
    if ((err = cmio_timer_new(registry, DEADLINE, &deadline)) < 0)
        return fail("cmio_timer_new", err);
    if ((err = cmio_sockaddr_parse(&addr, text)) < 0)
        return fail(text, err);
    if ((err = cmio_tcp_listener_bind(&server, &addr)) < 0)
        return fail("bind", err);
    if ((err = cmio_registry_register(registry, server.fd, SERVER, CMIO_READABLE)) < 0)
        return fail("register", err);
    char shown[CMIO_SOCKADDR_STRLEN];
    if ((err = cmio_tcp_listener_local_addr(&server, &addr)) < 0 ||
        (err = cmio_sockaddr_format(&addr, shown, sizeof(shown))) < 0)
        return fail("local address", err);
    printf("Listening on %s\n", shown);

    bool stopping = false;
    for (;;) {
        err = cmio_poll_poll(poll, events, -1);
        if (err == -EINTR)
            continue;
        if (err < 0)
            return fail("poll", err);
        for (const cmio_event *e = cmio_events_begin(events), *end = cmio_events_end(events); e != end; e++) {
            cmio_token token = cmio_event_token(e);
            if (token == SERVER && !stopping) {
                if ((err = accept_all(registry, &server)) < 0)
                    return fail("accept", err);
            } else if (token == SIGNALS) {
                int signo;
                bool got = false;
                while (cmio_signals_read(signals, &signo) == 0)
                    got = true;
                if (got && !stopping) {
                    /* Stop accepting: the listener goes, new connections are refused. */
                    stopping = true;
                    cmio_registry_deregister(registry, server.fd);
                    cmio_tcp_listener_close(&server);
                    printf("Shutting down: %d connections in flight\n", open_conns);
                    if ((err = cmio_timer_set(deadline, grace_ms, 0)) < 0)
                        return fail("cmio_timer_set", err);
                }
            } else if (token == DEADLINE) {
                uint64_t n;
                if (cmio_timer_read(deadline, &n) == 0) {
                    int closed = 0;
                    for (int k = 0; k < MAX_CONNECTIONS; k++)
                        if (conns[k].stream.fd >= 0) {
                            close_conn(registry, &conns[k]);
                            closed++;
                        }
                    printf("Deadline: closed %d\n", closed);
                }
            } else if (token >= FIRST_CONN && token < FIRST_CONN + MAX_CONNECTIONS) {
                struct connection *c = &conns[token - FIRST_CONN];
                if (c->stream.fd >= 0 && !serve(registry, token, c))
                    close_conn(registry, c);
            }
        }
        if (stopping && open_conns == 0)
            break;
    }
    printf("Done\n");
    cmio_timer_free(deadline);
    cmio_signals_free(signals);
    cmio_events_free(events);
    cmio_poll_free(poll);
    return 0;
}
