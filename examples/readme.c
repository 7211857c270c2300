/*
 * readme: the example of mio's README, in C (shown in cmio's README).
 *
 * A listener and a client on 127.0.0.1:13265 share one poll; the server
 * accepts (and drops) the connection, and the program ends at the client's
 * first event. Every return value is checked.
 *
 * SPDX-License-Identifier: MIT
 */
#include <cmio.h>

#include <errno.h>
#include <stdio.h>

/* Some tokens to tell which event is for which socket. */
enum { SERVER, CLIENT };

static int check(const char *what, int err)
{
    if (err < 0) {
        fprintf(stderr, "readme: %s: %s\n", what, cmio_strerror(err));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *text = argc > 1 ? argv[1] : "127.0.0.1:13265";
    cmio_poll *poll;
    cmio_events *events;
    cmio_sockaddr addr;
    if (check("poll", cmio_poll_new(&poll)) || check("events", cmio_events_new(&events, 128)) ||
        check(text, cmio_sockaddr_parse(&addr, text)))
        return 1;

    /* Set up the server socket and start listening for connections. */
    cmio_tcp_listener server;
    if (check("bind", cmio_tcp_listener_bind(&server, &addr)) ||
        check("register", cmio_registry_register(cmio_poll_registry(poll), server.fd, SERVER, CMIO_READABLE)))
        return 1;
    /* Port 0 asked for any port: connect to the one picked. */
    if (check("local_addr", cmio_tcp_listener_local_addr(&server, &addr)))
        return 1;

    /* Set up the client socket and register it for both readiness kinds. */
    cmio_tcp_stream client;
    if (check("connect", cmio_tcp_stream_connect(&client, &addr)) ||
        check("register", cmio_registry_register(cmio_poll_registry(poll), client.fd, CLIENT,
                                                 CMIO_READABLE | CMIO_WRITABLE)))
        return 1;

    for (;;) {
        int n = cmio_poll_poll(poll, events, -1);
        if (n == -EINTR)
            continue;
        if (check("poll", n))
            return 1;
        for (size_t i = 0; i < cmio_events_len(events); i++) {
            const cmio_event *event = cmio_events_get(events, i);
            switch (cmio_event_token(event)) {
            case SERVER: {
                /* Accept the connection, then drop it: closed at once. */
                cmio_tcp_stream conn;
                int err = cmio_tcp_listener_accept(&server, &conn, NULL);
                if (err == 0)
                    cmio_tcp_stream_close(&conn);
                else if (err != -EAGAIN && check("accept", err))
                    return 1;
                break;
            }
            case CLIENT:
                if (cmio_event_is_writable(event))
                    printf("client: writable (we can likely write)\n");
                if (cmio_event_is_readable(event))
                    printf("client: readable (we can likely read)\n");
                /* Done with the example: clean up and leave. */
                cmio_registry_deregister(cmio_poll_registry(poll), client.fd);
                cmio_registry_deregister(cmio_poll_registry(poll), server.fd);
                cmio_tcp_stream_close(&client);
                cmio_tcp_listener_close(&server);
                cmio_events_free(events);
                cmio_poll_free(poll);
                return 0;
            default:
                break; /* sporadic events can happen: ignore them */
            }
        }
    }
}
