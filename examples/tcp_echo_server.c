/*
 * tcp_echo_server: tcp_server's structure, echoing. Every byte a connection
 * sends comes back to it; when the peer reads slowly the rest waits in a
 * per-connection buffer and the connection asks for WRITABLE until it has
 * drained. Nothing is allocated once the table of connections exists.
 *
 *   tcp_echo_server [ADDRESS]      (default 127.0.0.1:9000; port 0 picks one)
 *
 * Prints "Listening on ADDRESS" first, then nothing per connection.
 *
 * SPDX-License-Identifier: MIT
 */
#include <cmio.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum { SERVER = 0, MAX_CONNECTIONS = 4096, BUFFER = 16384 };

struct connection {
    cmio_tcp_stream stream;
    size_t start, end; /* bytes read but not yet echoed: buf[start, end) */
    bool want_write;   /* registered WRITABLE too */
    char buf[BUFFER];
};

/* Token t lives in slot t - 1. */
static struct connection connections[MAX_CONNECTIONS];

static int fail(const char *what, int err)
{
    fprintf(stderr, "tcp_echo_server: %s: %s\n", what, cmio_strerror(err));
    return 1;
}

/* Write out what is buffered. Returns 0, or a negative errno. */
static int flush(struct connection *c)
{
    while (c->start < c->end) {
        ssize_t n = cmio_tcp_stream_write(&c->stream, c->buf + c->start, c->end - c->start);
        if (n == -EINTR)
            continue;
        if (n < 0)
            return (int)n;
        c->start += (size_t)n;
    }
    c->start = c->end = 0;
    return 0;
}

/* Returns 1 when the connection is done, 0 when it goes on. */
static int handle(cmio_registry *registry, cmio_token token, struct connection *c)
{
    for (;;) {
        int err = flush(c);
        if (err == -EAGAIN)
            break; /* the peer reads slowly: wait for WRITABLE */
        if (err < 0)
            return 1;
        ssize_t n = cmio_tcp_stream_read(&c->stream, c->buf, sizeof(c->buf));
        if (n == -EAGAIN)
            break;
        if (n == -EINTR)
            continue;
        if (n <= 0)
            return 1; /* end of stream or reset */
        c->end = (size_t)n;
    }
    bool want_write = c->start < c->end;
    if (want_write != c->want_write) {
        cmio_interest interest = want_write ? CMIO_READABLE | CMIO_WRITABLE : CMIO_READABLE;
        if (cmio_registry_reregister(registry, c->stream.fd, token, interest) < 0)
            return 1;
        c->want_write = want_write;
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* Unbuffered: each line goes out at once, on every C runtime (the
     * Microsoft one has no line buffering: _IOLBF is full buffering there). */
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *text = argc > 1 ? argv[1] : "127.0.0.1:9000";
    for (int i = 0; i < MAX_CONNECTIONS; i++)
        connections[i].stream.fd = CMIO_FD_INVALID;

    cmio_poll *poll;
    cmio_events *events;
    cmio_sockaddr addr;
    cmio_tcp_listener server;
    int err;
    if ((err = cmio_poll_new(&poll)) < 0)
        return fail("cmio_poll_new", err);
    if ((err = cmio_events_new(&events, 1024)) < 0)
        return fail("cmio_events_new", err);
    if ((err = cmio_sockaddr_parse(&addr, text)) < 0)
        return fail(text, err);
    if ((err = cmio_tcp_listener_bind(&server, &addr)) < 0)
        return fail("bind", err);
    cmio_registry *registry = cmio_poll_registry(poll);
    if ((err = cmio_registry_register(registry, server.fd, SERVER, CMIO_READABLE)) < 0)
        return fail("register", err);
    char shown[CMIO_SOCKADDR_STRLEN];
    if ((err = cmio_tcp_listener_local_addr(&server, &addr)) < 0 ||
        (err = cmio_sockaddr_format(&addr, shown, sizeof(shown))) < 0)
        return fail("local address", err);
    printf("Listening on %s\n", shown);

    int free_hint = 0;
    for (;;) {
        err = cmio_poll_poll(poll, events, -1);
        if (err == -EINTR)
            continue;
        if (err < 0)
            return fail("poll", err);
        for (size_t i = 0; i < cmio_events_len(events); i++) {
            cmio_token token = cmio_event_token(cmio_events_get(events, i));
            if (token == SERVER) {
                for (;;) {
                    cmio_tcp_stream stream;
                    err = cmio_tcp_listener_accept(&server, &stream, NULL);
                    if (err == -EAGAIN)
                        break;
                    if (err == -EINTR || err == -ECONNABORTED)
                        continue;
                    if (err < 0)
                        return fail("accept", err);
                    int slot = -1;
                    for (int k = 0; k < MAX_CONNECTIONS && slot < 0; k++)
                        if (connections[(free_hint + k) % MAX_CONNECTIONS].stream.fd == CMIO_FD_INVALID)
                            slot = (free_hint + k) % MAX_CONNECTIONS;
                    if (slot < 0 || cmio_tcp_stream_set_nodelay(&stream, true) < 0 ||
                        cmio_registry_register(registry, stream.fd, (cmio_token)slot + 1, CMIO_READABLE) < 0) {
                        cmio_tcp_stream_close(&stream);
                        continue;
                    }
                    free_hint = slot + 1;
                    connections[slot].stream = stream;
                    connections[slot].start = connections[slot].end = 0;
                    connections[slot].want_write = false;
                }
            } else if (token <= MAX_CONNECTIONS && connections[token - 1].stream.fd != CMIO_FD_INVALID) {
                struct connection *c = &connections[token - 1];
                if (handle(registry, token, c)) {
                    cmio_registry_deregister(registry, c->stream.fd);
                    cmio_tcp_stream_close(&c->stream);
                }
            }
        }
    }
}
