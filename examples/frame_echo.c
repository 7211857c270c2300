/*
 * frame_echo: a length-prefixed request/response server over TCP. Every
 * frame a connection sends (a 4-byte big-endian length and that many bytes)
 * comes back to it unchanged, however the bytes were split on the way. A
 * frame longer than MAX_FRAME closes that connection (and is logged); the
 * other connections go on.
 *
 *   frame_echo [ADDRESS]      (default 127.0.0.1:9000; port 0 picks one)
 *
 * Prints "Listening on ADDRESS" first, then one line per connection closed
 * for a reason other than its end of stream.
 *
 * SPDX-License-Identifier: MIT
 */
#include <cmio.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum { SERVER = 0, MAX_CONNECTIONS = 1024, MAX_FRAME = 4096, QUEUE = 1 << 16 };

struct connection {
    cmio_tcp_stream stream;
    cmio_frame_reader *in;
    cmio_frame_writer *out;
};

/* Token t lives in slot t - 1. */
static struct connection connections[MAX_CONNECTIONS];

static int fail(const char *what, int err)
{
    fprintf(stderr, "frame_echo: %s: %s\n", what, cmio_strerror(err));
    return 1;
}

/* One event of a connection: flush what waits, then read and answer frames
 * until the reader says -EAGAIN. Returns 0 to go on, or why it ends (1 for
 * the end of stream, a negative errno otherwise). */
static int handle(struct connection *c)
{
    cmio_fd fd = c->stream.fd;
    ssize_t n = cmio_frame_writer_flush(c->out, fd);
    if (n < 0 && n != -EAGAIN && n != -EINTR)
        return (int)n;
    for (;;) {
        n = cmio_frame_reader_read(c->in, fd);
        const void *frame;
        uint32_t len;
        int rc;
        while ((rc = cmio_frame_reader_next(c->in, &frame, &len)) == 0) {
            if (cmio_frame_writer_push(c->out, frame, len) == -ENOBUFS) {
                /* Make room; a peer that sends without reading is dropped. */
                ssize_t f = cmio_frame_writer_flush(c->out, fd);
                if (f < 0 && f != -EAGAIN)
                    return (int)f;
                if (cmio_frame_writer_push(c->out, frame, len) == -ENOBUFS)
                    return -ENOBUFS;
            }
        }
        if (rc == -EMSGSIZE || rc == -EPROTO)
            return rc;
        if (n == -EAGAIN)
            break;
        if (n == 0)
            return 1;
        if (n < 0 && n != -EINTR)
            return (int)n;
    }
    n = cmio_frame_writer_flush(c->out, fd);
    return n < 0 && n != -EAGAIN && n != -EINTR ? (int)n : 0;
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
    cmio_tcp_listener server;
    int err;
    if ((err = cmio_poll_new(&poll)) < 0)
        return fail("cmio_poll_new", err);
    if ((err = cmio_events_new(&events, 256)) < 0)
        return fail("cmio_events_new", err);
    if ((err = cmio_sockaddr_parse(&addr, text)) < 0)
        return fail(text, err);
    if ((err = cmio_tcp_listener_bind(&server, &addr)) < 0)
        return fail("bind", err);
    cmio_registry *registry = cmio_poll_registry(poll);
    if ((err = cmio_registry_register(registry, server.fd, SERVER, CMIO_READABLE)) < 0)
        return fail("register", err);
    for (int i = 0; i < MAX_CONNECTIONS; i++)
        connections[i].stream.fd = CMIO_FD_INVALID;
    char shown[CMIO_SOCKADDR_STRLEN];
    if ((err = cmio_tcp_listener_local_addr(&server, &addr)) < 0 ||
        (err = cmio_sockaddr_format(&addr, shown, sizeof(shown))) < 0)
        return fail("local address", err);
    printf("Listening on %s\n", shown);

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
                        if (connections[k].stream.fd == CMIO_FD_INVALID)
                            slot = k;
                    /* Edge-triggered, so asking for both directions costs
                     * nothing while the writer has nothing to say. */
                    if (slot < 0 || cmio_tcp_stream_set_nodelay(&stream, true) < 0 ||
                        cmio_registry_register(registry, stream.fd, (cmio_token)slot + 1,
                                               CMIO_READABLE | CMIO_WRITABLE) < 0) {
                        cmio_tcp_stream_close(&stream);
                        continue;
                    }
                    /* Each connection's reader and writer: the only
                     * allocations, made here and freed at its close. */
                    struct connection *c = &connections[slot];
                    if ((err = cmio_frame_reader_new(&c->in, MAX_FRAME)) < 0 ||
                        (err = cmio_frame_writer_new(&c->out, QUEUE)) < 0)
                        return fail("framing", err);
                    c->stream = stream;
                }
            } else if (token <= MAX_CONNECTIONS && connections[token - 1].stream.fd != CMIO_FD_INVALID) {
                struct connection *c = &connections[token - 1];
                int why = handle(c);
                if (why != 0) {
                    if (why < 0)
                        printf("connection %lu closed: %s\n", (unsigned long)token, cmio_strerror(why));
                    cmio_registry_deregister(registry, c->stream.fd);
                    cmio_tcp_stream_close(&c->stream);
                    cmio_frame_reader_free(c->in);
                    cmio_frame_writer_free(c->out);
                    c->in = NULL;
                    c->out = NULL;
                }
            }
        }
    }
}
