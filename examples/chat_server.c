/*
 * chat_server: the multi-client chat of the mio 0.3 era. Clients send lines
 * ('\n'-terminated, at most MAX_LINE bytes); each line is sent to every
 * other client as "<id>: <line>", and clients joining and leaving are
 * announced ("* <id> joined", "* <id> left"). Input is read with a
 * cmio_line_reader per client; output is queued in a cmio_frame_writer per
 * client, so each message reaches a client as one frame (a 4-byte
 * big-endian length and the text), whole however TCP splits it. A client
 * whose queue is full (it does not read) is dropped.
 *
 *   chat_server [ADDRESS]      (default 127.0.0.1:9000; port 0 picks one)
 *
 * Prints "Listening on ADDRESS", then "client <id> joined" / "client <id>
 * left" as they happen.
 *
 * SPDX-License-Identifier: MIT
 */
#include <cmio.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum { SERVER = 0, MAX_CLIENTS = 256, MAX_LINE = 1024, QUEUE = 1 << 16 };

struct client {
    cmio_tcp_stream stream;
    cmio_line_reader *in;
    cmio_frame_writer *out;
    bool leaving; /* to be dropped after this round of events */
};

/* Token t (the client's id) lives in slot t - 1. */
static struct client clients[MAX_CLIENTS];

static int fail(const char *what, int err)
{
    fprintf(stderr, "chat_server: %s: %s\n", what, cmio_strerror(err));
    return 1;
}

/* Queue a message for one client and flush what it can take now. */
static void send_to(struct client *c, const char *msg, size_t len)
{
    if (c->leaving)
        return;
    if (cmio_frame_writer_push(c->out, msg, (uint32_t)len) < 0) {
        c->leaving = true; /* it does not read: drop it */
        return;
    }
    ssize_t n = cmio_frame_writer_flush(c->out, c->stream.fd);
    if (n < 0 && n != -EAGAIN && n != -EINTR)
        c->leaving = true;
}

static void broadcast(int from, const char *msg, size_t len)
{
    for (int k = 0; k < MAX_CLIENTS; k++)
        if (k != from && clients[k].stream.fd != CMIO_FD_INVALID)
            send_to(&clients[k], msg, len);
}

/* Read the client's lines until -EAGAIN and pass each on. */
static void handle(int slot)
{
    struct client *c = &clients[slot];
    ssize_t n = cmio_frame_writer_flush(c->out, c->stream.fd); /* it may be writable again */
    if (n < 0 && n != -EAGAIN && n != -EINTR) {
        c->leaving = true;
        return;
    }
    char msg[MAX_LINE + 32];
    while (!c->leaving) {
        n = cmio_line_reader_read(c->in, c->stream.fd);
        const char *line;
        size_t len;
        while (cmio_line_reader_next(c->in, &line, &len) == 0) {
            int head = snprintf(msg, sizeof(msg), "%d: ", slot + 1);
            memcpy(msg + head, line, len);
            broadcast(slot, msg, (size_t)head + len);
        }
        if (n == -EAGAIN)
            return;
        if (n <= 0 && n != -EINTR)
            c->leaving = true; /* end of stream, a line too long, an error */
    }
}

static void drop(cmio_registry *registry, int slot)
{
    struct client *c = &clients[slot];
    cmio_registry_deregister(registry, c->stream.fd);
    cmio_tcp_stream_close(&c->stream);
    cmio_line_reader_free(c->in);
    cmio_frame_writer_free(c->out);
    c->in = NULL;
    c->out = NULL;
    c->leaving = false;
    printf("client %d left\n", slot + 1);
    char msg[64];
    int len = snprintf(msg, sizeof(msg), "* %d left", slot + 1);
    broadcast(slot, msg, (size_t)len);
}

int main(int argc, char **argv)
{
    /* Unbuffered: each line goes out at once, on every C runtime (the
     * Microsoft one has no line buffering: _IOLBF is full buffering there). */
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *text = argc > 1 ? argv[1] : "127.0.0.1:9000";
    for (int i = 0; i < MAX_CLIENTS; i++)
        clients[i].stream.fd = CMIO_FD_INVALID;
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
                    for (int k = 0; k < MAX_CLIENTS && slot < 0; k++)
                        if (clients[k].stream.fd == CMIO_FD_INVALID)
                            slot = k;
                    struct client *c = slot >= 0 ? &clients[slot] : NULL;
                    if (!c || cmio_tcp_stream_set_nodelay(&stream, true) < 0 ||
                        cmio_line_reader_new(&c->in, MAX_LINE) < 0) {
                        cmio_tcp_stream_close(&stream);
                        continue;
                    }
                    if (cmio_frame_writer_new(&c->out, QUEUE) < 0 ||
                        cmio_registry_register(registry, stream.fd, (cmio_token)slot + 1,
                                               CMIO_READABLE | CMIO_WRITABLE) < 0) {
                        cmio_line_reader_free(c->in);
                        cmio_frame_writer_free(c->out);
                        c->in = NULL;
                        c->out = NULL;
                        cmio_tcp_stream_close(&stream);
                        continue;
                    }
                    c->stream = stream;
                    char msg[64];
                    int len = snprintf(msg, sizeof(msg), "* %d joined", slot + 1);
                    broadcast(slot, msg, (size_t)len);
                    printf("client %d joined\n", slot + 1);
                }
            } else if (token <= MAX_CLIENTS && clients[token - 1].stream.fd != CMIO_FD_INVALID) {
                handle((int)token - 1);
            }
        }
        /* Drop the clients that left, announcing each (which may make
         * others leave: repeat until none is left to drop). */
        for (bool again = true; again;) {
            again = false;
            for (int k = 0; k < MAX_CLIENTS; k++)
                if (clients[k].stream.fd != CMIO_FD_INVALID && clients[k].leaving) {
                    drop(registry, k);
                    again = true;
                }
        }
    }
}
