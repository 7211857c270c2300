/*
 * tcp_server: a port of mio's examples/tcp_server.rs.
 *
 * Accepts connections until the listener would block, registers each one
 * READABLE|WRITABLE under its own token, greets it with "Hello world!\n" once
 * it is writable (then asks only for READABLE), and prints what it receives
 * until the peer closes. Events for unknown tokens are ignored.
 *
 *   tcp_server [ADDRESS]      (default 127.0.0.1:9000; port 0 picks one)
 *
 * Try it with `nc 127.0.0.1 9000`.
 *
 * SPDX-License-Identifier: MIT
 */
#include <cmio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SERVER = 0, MAX_CONNECTIONS = 1024 };

static const char DATA[] = "Hello world!\n";

/* Connections tracked by token: token t lives in slot t - 1. */
static cmio_tcp_stream connections[MAX_CONNECTIONS];

static int fail(const char *what, int err)
{
    fprintf(stderr, "tcp_server: %s: %s\n", what, cmio_strerror(err));
    return 1;
}

/* A free slot's token, or SERVER when the table is full. */
static cmio_token next_token(void)
{
    for (int i = 0; i < MAX_CONNECTIONS; i++)
        if (connections[i].fd == CMIO_FD_INVALID)
            return (cmio_token)i + 1;
    return SERVER;
}

/* Returns 1 when the connection is done, 0 when it goes on, or a negative
 * errno on a fatal error. */
static int handle_connection_event(cmio_registry *registry, cmio_tcp_stream *connection,
                                   const cmio_event *event)
{
    if (cmio_event_is_writable(event)) {
        ssize_t n;
        do
            n = cmio_tcp_stream_write(connection, DATA, sizeof(DATA) - 1);
        while (n == -EINTR); /* interrupted: try again */
        if (n >= 0 && (size_t)n < sizeof(DATA) - 1)
            return -EIO; /* a short write: like io::ErrorKind::WriteZero */
        if (n >= 0) {
            /* Written: from now on only readable events matter. */
            int err = cmio_registry_reregister(registry, connection->fd, cmio_event_token(event),
                                               CMIO_READABLE);
            if (err < 0)
                return err;
        } else if (n != -EAGAIN) {
            return (int)n; /* would block is the OS saying "not yet"; others are fatal */
        }
    }

    if (cmio_event_is_readable(event)) {
        int closed = 0;
        char buf[4096];
        for (;;) {
            ssize_t n = cmio_tcp_stream_read(connection, buf, sizeof(buf));
            if (n == 0) {
                closed = 1; /* the peer is done writing, so are we */
                break;
            }
            if (n > 0) {
                while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                    n--;
                printf("Received data: %.*s\n", (int)n, buf);
                continue;
            }
            if (n == -EAGAIN)
                break;
            if (n == -EINTR)
                continue;
            if (n == -ECONNRESET) {
                closed = 1;
                break;
            }
            return (int)n;
        }
        if (closed) {
            printf("Connection closed\n");
            return 1;
        }
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
        connections[i].fd = CMIO_FD_INVALID;

    cmio_poll *poll;
    cmio_events *events;
    cmio_sockaddr addr;
    cmio_tcp_listener server;
    int err;
    if ((err = cmio_poll_new(&poll)) < 0)
        return fail("cmio_poll_new", err);
    if ((err = cmio_events_new(&events, 128)) < 0)
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
    printf("You can connect to the server using `nc`:\n");
    printf(" $ nc %.*s %s\n", (int)(strrchr(shown, ':') - shown), shown, strrchr(shown, ':') + 1);
    printf("You'll see our welcome message and anything you type will be printed here.\n");

    for (;;) {
        err = cmio_poll_poll(poll, events, -1);
        if (err == -EINTR)
            continue;
        if (err < 0)
            return fail("poll", err);

        for (size_t i = 0; i < cmio_events_len(events); i++) {
            const cmio_event *event = cmio_events_get(events, i);
            cmio_token token = cmio_event_token(event);
            if (token == SERVER) {
                for (;;) { /* accept until the queue is empty */
                    cmio_tcp_stream connection;
                    cmio_sockaddr peer;
                    err = cmio_tcp_listener_accept(&server, &connection, &peer);
                    if (err == -EAGAIN)
                        break;
                    if (err < 0)
                        return fail("accept", err);
                    cmio_sockaddr_format(&peer, shown, sizeof(shown));
                    printf("Accepted connection from: %s\n", shown);
                    cmio_token t = next_token();
                    if (t == SERVER) { /* table full: turn it away */
                        cmio_tcp_stream_close(&connection);
                        continue;
                    }
                    err = cmio_registry_register(registry, connection.fd, t, CMIO_READABLE | CMIO_WRITABLE);
                    if (err < 0)
                        return fail("register", err);
                    connections[t - 1] = connection;
                }
            } else if (token <= MAX_CONNECTIONS && connections[token - 1].fd != CMIO_FD_INVALID) {
                cmio_tcp_stream *connection = &connections[token - 1];
                int done = handle_connection_event(registry, connection, event);
                if (done < 0)
                    return fail("connection", done);
                if (done) {
                    cmio_registry_deregister(registry, connection->fd);
                    cmio_tcp_stream_close(connection);
                }
            }
            /* else: a sporadic event for a token we no longer have; ignore it */
        }
    }
}
