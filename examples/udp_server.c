/*
 * udp_server: a port of mio's examples/udp_server.rs. Echoes every datagram
 * back to its sender.
 *
 *   udp_server [ADDRESS]      (default 127.0.0.1:9000; port 0 picks one)
 *
 * Try it with `nc -u 127.0.0.1 9000`.
 *
 * SPDX-License-Identifier: MIT
 */
#include <cmio.h>

#include <errno.h>
#include <stdio.h>

enum { UDP_SOCKET = 0 };

static int fail(const char *what, int err)
{
    fprintf(stderr, "udp_server: %s: %s\n", what, cmio_strerror(err));
    return 1;
}

int main(int argc, char **argv)
{
    /* Unbuffered: each line goes out at once, on every C runtime (the
     * Microsoft one has no line buffering: _IOLBF is full buffering there). */
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *text = argc > 1 ? argv[1] : "127.0.0.1:9000";
    cmio_poll *poll;
    cmio_events *events;
    cmio_sockaddr addr;
    cmio_udp_socket socket;
    int err;
    if ((err = cmio_poll_new(&poll)) < 0)
        return fail("cmio_poll_new", err);
    /* Only one socket is registered: a capacity of 1 will do. */
    if ((err = cmio_events_new(&events, 1)) < 0)
        return fail("cmio_events_new", err);
    if ((err = cmio_sockaddr_parse(&addr, text)) < 0)
        return fail(text, err);
    if ((err = cmio_udp_socket_bind(&socket, &addr)) < 0)
        return fail("bind", err);
    if ((err = cmio_registry_register(cmio_poll_registry(poll), socket.fd, UDP_SOCKET, CMIO_READABLE)) < 0)
        return fail("register", err);

    char shown[CMIO_SOCKADDR_STRLEN];
    if ((err = cmio_udp_socket_local_addr(&socket, &addr)) < 0 ||
        (err = cmio_sockaddr_format(&addr, shown, sizeof(shown))) < 0)
        return fail("local address", err);
    printf("Listening on %s\n", shown);
    printf("You can connect to the server using `nc -u`; anything you type will be echoed back to you.\n");

    /* Room for the largest UDP datagram. */
    static char buf[1 << 16];
    for (;;) {
        err = cmio_poll_poll(poll, events, -1);
        if (err == -EINTR)
            continue;
        if (err < 0)
            return fail("poll", err);
        for (size_t i = 0; i < cmio_events_len(events); i++) {
            const cmio_event *event = cmio_events_get(events, i);
            if (cmio_event_token(event) != UDP_SOCKET) {
                fprintf(stderr, "udp_server: event for unexpected token %lu\n",
                        (unsigned long)cmio_event_token(event));
                continue;
            }
            for (;;) { /* receive every queued datagram */
                cmio_sockaddr source;
                ssize_t n = cmio_udp_socket_recv_from(&socket, buf, sizeof(buf), &source);
                if (n == -EAGAIN)
                    break;
                if (n < 0)
                    return fail("recv_from", (int)n);
                ssize_t sent = cmio_udp_socket_send_to(&socket, buf, (size_t)n, &source);
                if (sent < 0 && sent != -EAGAIN)
                    return fail("send_to", (int)sent);
            }
        }
    }
}
