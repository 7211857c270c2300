/*
 * tcp_listenfd_server: a port of mio 0.8's examples/tcp_listenfd_server.rs.
 *
 * The listening socket is not made here but inherited, as systemd socket
 * activation hands it over: descriptor 3 (SD_LISTEN_FDS_START), announced by
 * LISTEN_FDS (the number of descriptors passed, at least 1) and LISTEN_PID
 * (when set, the pid they are meant for: ours). The variables are removed
 * once read, as sd_listen_fds(1) does, so that a child does not take them for
 * its own. Then it serves as tcp_server does: each connection is registered
 * WRITABLE (mio's example asks for nothing else at first), greeted with
 * "Hello world!\n" and then read until the peer closes.
 *
 *   systemd-socket-activate -l 127.0.0.1:9000 ./tcp_listenfd_server
 *
 * SPDX-License-Identifier: MIT
 */
#include <cmio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { SERVER = 0, MAX_CONNECTIONS = 1024, LISTEN_FDS_START = 3 };

static const char DATA[] = "Hello world!\n";

/* Connections tracked by token: token t lives in slot t - 1. */
static cmio_tcp_stream connections[MAX_CONNECTIONS];

static int fail(const char *what, int err)
{
    fprintf(stderr, "tcp_listenfd_server: %s: %s\n", what, cmio_strerror(err));
    return 1;
}

/* A free slot's token, or SERVER when the table is full. */
static cmio_token next_token(void)
{
    for (int i = 0; i < MAX_CONNECTIONS; i++)
        if (connections[i].fd < 0)
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

/* The first descriptor systemd passed, or -1 (with a message) if none was
 * passed to this process. */
static int listen_fd(void)
{
    const char *fds = getenv("LISTEN_FDS");
    const char *pid = getenv("LISTEN_PID");
    if (fds == NULL) {
        fprintf(stderr, "tcp_listenfd_server: LISTEN_FDS environment variable unset\n");
        return -1;
    }
    if (atoi(fds) < 1) {
        fprintf(stderr, "tcp_listenfd_server: LISTEN_FDS=%s: no descriptor passed\n", fds);
        return -1;
    }
    if (pid != NULL && strtol(pid, NULL, 10) != (long)getpid()) {
        fprintf(stderr, "tcp_listenfd_server: LISTEN_PID=%s is not this process\n", pid);
        return -1;
    }
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDNAMES");
    return LISTEN_FDS_START;
}

int main(void)
{
    /* Unbuffered: each line goes out at once, on every C runtime (the
     * Microsoft one has no line buffering: _IOLBF is full buffering there). */
    setvbuf(stdout, NULL, _IONBF, 0);
    for (int i = 0; i < MAX_CONNECTIONS; i++)
        connections[i].fd = -1;

    int fd = listen_fd();
    if (fd < 0)
        return 1;
    cmio_poll *poll;
    cmio_events *events;
    cmio_sockaddr addr;
    cmio_tcp_listener server;
    int err;
    if ((err = cmio_poll_new(&poll)) < 0)
        return fail("cmio_poll_new", err);
    if ((err = cmio_events_new(&events, 128)) < 0)
        return fail("cmio_events_new", err);
    /* Adopted: made non-blocking and close-on-exec (systemd passes it
     * blocking and inheritable). */
    if ((err = cmio_tcp_listener_from_fd(&server, fd)) < 0)
        return fail("descriptor 3", err);
    printf("Using preopened socket FD 3\n");
    cmio_registry *registry = cmio_poll_registry(poll);
    if ((err = cmio_registry_register(registry, server.fd, SERVER, CMIO_READABLE)) < 0)
        return fail("register", err);

    char shown[CMIO_SOCKADDR_STRLEN];
    if (cmio_tcp_listener_local_addr(&server, &addr) < 0 || cmio_sockaddr_format(&addr, shown, sizeof(shown)) < 0)
        strcpy(shown, "<IP>:<PORT>"); /* not an IP socket: say so, as mio's does */
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
                    err = cmio_registry_register(registry, connection.fd, t, CMIO_WRITABLE);
                    if (err < 0)
                        return fail("register", err);
                    connections[t - 1] = connection;
                }
            } else if (token <= MAX_CONNECTIONS && connections[token - 1].fd >= 0) {
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
