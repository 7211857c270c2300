/*
 * cmio_unix_stream: connecting to a listener, pairs, reads and writes
 * (plain and vectored), shutdown, addresses, and the documented errors
 * (mio's tests/unix_stream.rs, ported).
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { A = 1, B = 2, LISTENER = 3 };

static const char DATA1[] = "Hello same host!"; /* 16 bytes */
static const char DATA2[] = "Why hello mio!";   /* 14 bytes */
#define DATA1_LEN (sizeof(DATA1) - 1)
#define DATA2_LEN (sizeof(DATA2) - 1)

/* A listener at path, a client connected to it and the accepted stream. */
static void connected(const char *path, cmio_unix_listener *l, cmio_unix_stream *c, cmio_unix_stream *s)
{
    ck_assert_int_eq(cmio_unix_listener_bind(l, path), 0);
    ck_assert_int_eq(cmio_unix_stream_connect(c, path), 0);
    assert_nonblock_cloexec(c->fd);
    int64_t deadline = now_ms() + WAIT_MS;
    int err = -EAGAIN;
    /* The connection is queued by connect(2) itself: accept finds it. */
    for (int i = 0; i < 1000 && err == -EAGAIN && now_ms() < deadline; i++)
        err = cmio_unix_listener_accept(l, s, NULL);
    ck_assert_int_eq(err, 0);
    assert_nonblock_cloexec(s->fd);
}

START_TEST(test_connect_then_events_and_io)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    seen_flags sn = {{0}};
    char path[256];
    tmp_path(path, sizeof(path), "connect");
    cmio_unix_listener l;
    ck_assert_int_eq(cmio_unix_listener_bind(&l, path), 0);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, LISTENER, CMIO_READABLE), 0);

    cmio_unix_stream c, s;
    ck_assert_int_eq(cmio_unix_stream_connect(&c, path), 0);
    assert_nonblock_cloexec(c.fd);
    ck_assert_int_eq(cmio_registry_register(r, c.fd, A, CMIO_READABLE | CMIO_WRITABLE), 0);
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_WRITABLE));
    ck_assert_int_eq(cmio_unix_stream_take_error(&c), 0);
    char buf[64];
    ck_assert_int_eq(cmio_unix_stream_read(&c, buf, sizeof(buf)), -EAGAIN);

    ck_assert(wait_seen(p, ev, &sn, LISTENER, CMIO_EVENT_READABLE));
    ck_assert_int_eq(cmio_unix_listener_accept(&l, &s, NULL), 0);
    assert_nonblock_cloexec(s.fd);
    ck_assert_int_eq(cmio_registry_register(r, s.fd, B, CMIO_READABLE), 0);

    ck_assert_int_eq(cmio_unix_stream_write(&c, DATA1, DATA1_LEN), (ssize_t)DATA1_LEN);
    ck_assert(wait_seen(p, ev, &sn, B, CMIO_EVENT_READABLE));
    ck_assert_int_eq(cmio_unix_stream_read(&s, buf, sizeof(buf)), (ssize_t)DATA1_LEN);
    ck_assert_int_eq(memcmp(buf, DATA1, DATA1_LEN), 0);
    ck_assert_int_eq(cmio_unix_stream_read(&s, buf, sizeof(buf)), -EAGAIN);

    ck_assert_int_eq(cmio_unix_stream_write(&s, DATA2, DATA2_LEN), (ssize_t)DATA2_LEN);
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_READABLE));
    ck_assert_int_eq(cmio_unix_stream_read(&c, buf, sizeof(buf)), (ssize_t)DATA2_LEN);
    ck_assert_int_eq(memcmp(buf, DATA2, DATA2_LEN), 0);
    ck_assert_int_eq(cmio_unix_stream_read(&c, buf, sizeof(buf)), -EAGAIN);
    ck_assert_int_eq(cmio_unix_stream_take_error(&c), 0);
    ck_assert_int_eq(cmio_unix_stream_take_error(&s), 0);

    ck_assert_int_eq(cmio_registry_deregister(r, s.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, c.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_unix_stream_close(&s);
    cmio_unix_stream_close(&c);
    cmio_unix_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_peer_close_gives_read_closed_after_the_data)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    seen_flags sn = {{0}};
    char path[256];
    cmio_unix_listener l;
    cmio_unix_stream c, s;
    connected(tmp_path(path, sizeof(path), "close"), &l, &c, &s);
    ck_assert_int_eq(cmio_registry_register(r, c.fd, A, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_unix_stream_write(&s, DATA1, DATA1_LEN), (ssize_t)DATA1_LEN);
    cmio_unix_stream_close(&s);
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_READ_CLOSED));
    char buf[64];
    ck_assert_int_eq(cmio_unix_stream_read(&c, buf, sizeof(buf)), (ssize_t)DATA1_LEN);
    ck_assert_int_eq(memcmp(buf, DATA1, DATA1_LEN), 0);
    ck_assert_int_eq(cmio_unix_stream_read(&c, buf, sizeof(buf)), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, c.fd), 0);
    cmio_unix_stream_close(&c);
    cmio_unix_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_connect_to_missing_path_is_enoent)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    char path[256];
    cmio_unix_stream c = {5};
    ck_assert_int_eq(cmio_unix_stream_connect(&c, tmp_path(path, sizeof(path), "missing")), -ENOENT);
    ck_assert_int_eq(c.fd, -1);
}
END_TEST

START_TEST(test_connect_without_listener_is_econnrefused)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    char path[256];
    tmp_path(path, sizeof(path), "stale");
    cmio_unix_listener l;
    ck_assert_int_eq(cmio_unix_listener_bind(&l, path), 0);
    cmio_unix_listener_close(&l); /* the socket file stays, nobody listens */
    cmio_unix_stream c = {5};
    ck_assert_int_eq(cmio_unix_stream_connect(&c, path), -ECONNREFUSED);
    ck_assert_int_eq(c.fd, -1);
    /* The same through an abstract name nobody holds, where there are
     * abstract names (cmio_sockaddr_from_abstract: -ENOTSUP elsewhere). */
    cmio_sockaddr a;
    char name[96];
    if (no_abstract_names())
        return;
    abstract_addr(&a, name, sizeof(name));
    c.fd = 5;
    ck_assert_int_eq(cmio_unix_stream_connect_addr(&c, &a), -ECONNREFUSED);
    ck_assert_int_eq(c.fd, -1);
}
END_TEST

/* Defect 1 of issue 9: on Linux an AF_UNIX connect(2) never goes "in
 * progress"; EAGAIN means the listener's backlog is full and the socket is
 * not connecting at all. mio returns WouldBlock: so does cmio, with nothing
 * left open. A listener made with backlog 0 queues one connection. */
START_TEST(test_connect_to_full_backlog_is_eagain)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    char path[256];
    tmp_path(path, sizeof(path), "full");
    cmio_sockaddr addr;
    ck_assert_int_eq(cmio_sockaddr_from_path(&addr, path), 0);
    cmio_fd lfd = std_unix_listen(&addr, 0);
    cmio_unix_listener l;
    ck_assert_int_eq(cmio_unix_listener_from_fd(&l, lfd), 0);

    /* Fill the backlog (bounded: Linux queues backlog + 1). */
    cmio_unix_stream queued[8];
    int nqueued = 0, err = 0;
    cmio_unix_stream extra = {.fd = 99};
    for (; nqueued < 8; nqueued++) {
        err = cmio_unix_stream_connect(&queued[nqueued], path);
        if (err < 0)
            break;
    }
    ck_assert_int_lt(nqueued, 8);
    ck_assert_int_eq(err, -EAGAIN);
    ck_assert_int_eq(queued[nqueued].fd, -1);

    long before = handles_open();
    ck_assert_int_eq(cmio_unix_stream_connect_addr(&extra, &addr), -EAGAIN);
    ck_assert_int_eq(extra.fd, -1);
    ck_assert_int_eq(handles_open(), before); /* nothing left open */

    /* Once the listener accepts, there is room again. */
    cmio_unix_stream s;
    ck_assert_int_eq(cmio_unix_listener_accept(&l, &s, NULL), 0);
    ck_assert_int_eq(cmio_unix_stream_connect(&extra, path), 0);
    cmio_unix_stream_close(&extra);
    cmio_unix_stream_close(&s);
    for (int i = 0; i < nqueued; i++)
        cmio_unix_stream_close(&queued[i]);
    cmio_unix_listener_close(&l);
}
END_TEST

START_TEST(test_local_and_peer_addresses)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    char path[256];
    cmio_unix_listener l;
    cmio_unix_stream c, s;
    connected(tmp_path(path, sizeof(path), "addrs"), &l, &c, &s);
    cmio_sockaddr a;
    ck_assert_int_eq(cmio_unix_stream_peer_addr(&c, &a), 0);
    assert_addr_text(&a, path);
    ck_assert_int_eq(cmio_unix_stream_local_addr(&c, &a), 0);
    assert_addr_text(&a, ""); /* a connecting socket is unnamed */
    ck_assert_int_eq(cmio_unix_stream_local_addr(&s, &a), 0);
    assert_addr_text(&a, path);
    ck_assert_int_eq(cmio_unix_stream_peer_addr(&s, &a), 0);
    assert_addr_text(&a, "");
    cmio_unix_stream_close(&s);
    cmio_unix_stream_close(&c);
    cmio_unix_listener_close(&l);

    /* An unconnected socket has no peer. */
    cmio_fd fd = plain_socket(AF_UNIX, SOCK_STREAM);
    cmio_unix_stream u;
    ck_assert_int_eq(cmio_unix_stream_from_fd(&u, fd), 0);
    ck_assert_int_eq(cmio_unix_stream_peer_addr(&u, &a), -ENOTCONN);
    cmio_unix_stream_close(&u);
}
END_TEST

START_TEST(test_abstract_name_connect)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    seen_flags sn = {{0}};
    cmio_sockaddr addr;
    char name[96], text[100];
    if (no_abstract_names()) {
        /* No abstract namespace (Windows), as the header documents. */
        cmio_events_free(ev);
        cmio_poll_free(p);
        return;
    }
    abstract_addr(&addr, name, sizeof(name));
    snprintf(text, sizeof(text), "@%s", name);
    cmio_unix_listener l;
    ck_assert_int_eq(cmio_unix_listener_bind_addr(&l, &addr), 0);
    cmio_unix_stream c, s;
    ck_assert_int_eq(cmio_unix_stream_connect_addr(&c, &addr), 0);
    assert_nonblock_cloexec(c.fd);
    ck_assert_int_eq(cmio_registry_register(r, c.fd, A, CMIO_READABLE | CMIO_WRITABLE), 0);
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_WRITABLE));
    ck_assert_int_eq(cmio_unix_stream_take_error(&c), 0);
    cmio_sockaddr peer;
    ck_assert_int_eq(cmio_unix_stream_peer_addr(&c, &peer), 0);
    assert_addr_text(&peer, text);
    ck_assert_int_eq(cmio_unix_listener_accept(&l, &s, NULL), 0);
    ck_assert_int_eq(cmio_unix_stream_write(&s, DATA1, DATA1_LEN), (ssize_t)DATA1_LEN);
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_READABLE));
    char buf[64];
    ck_assert_int_eq(cmio_unix_stream_read(&c, buf, sizeof(buf)), (ssize_t)DATA1_LEN);
    ck_assert_int_eq(cmio_registry_deregister(r, c.fd), 0);
    cmio_unix_stream_close(&s);
    cmio_unix_stream_close(&c);
    cmio_unix_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_pair_read_write)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    seen_flags sn = {{0}};
    cmio_unix_stream a, b;
    int err = cmio_unix_stream_pair(&a, &b);
    if (unix_pair_refused(err, &a, &b)) {
        cmio_events_free(ev);
        cmio_poll_free(p);
        return;
    }
    ck_assert_int_eq(err, 0);
    assert_nonblock_cloexec(a.fd);
    assert_nonblock_cloexec(b.fd);
    ck_assert_int_eq(cmio_registry_register(r, a.fd, A, CMIO_READABLE | CMIO_WRITABLE), 0);
    ck_assert_int_eq(cmio_registry_register(r, b.fd, B, CMIO_READABLE | CMIO_WRITABLE), 0);
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_WRITABLE));
    ck_assert(wait_seen(p, ev, &sn, B, CMIO_EVENT_WRITABLE));

    char buf[64];
    ck_assert_int_eq(cmio_unix_stream_read(&a, buf, sizeof(buf)), -EAGAIN);
    ck_assert_int_eq(cmio_unix_stream_write(&a, DATA1, DATA1_LEN), (ssize_t)DATA1_LEN);
    ck_assert(wait_seen(p, ev, &sn, B, CMIO_EVENT_READABLE));
    ck_assert_int_eq(cmio_unix_stream_read(&b, buf, sizeof(buf)), (ssize_t)DATA1_LEN);
    ck_assert_int_eq(memcmp(buf, DATA1, DATA1_LEN), 0);
    ck_assert_int_eq(cmio_unix_stream_read(&b, buf, sizeof(buf)), -EAGAIN);

    ck_assert_int_eq(cmio_unix_stream_write(&b, DATA2, DATA2_LEN), (ssize_t)DATA2_LEN);
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_READABLE));
    ck_assert_int_eq(cmio_unix_stream_read(&a, buf, sizeof(buf)), (ssize_t)DATA2_LEN);
    ck_assert_int_eq(memcmp(buf, DATA2, DATA2_LEN), 0);
    ck_assert_int_eq(cmio_unix_stream_read(&a, buf, sizeof(buf)), -EAGAIN);

    cmio_sockaddr addr;
    ck_assert_int_eq(cmio_unix_stream_local_addr(&a, &addr), 0);
    assert_addr_text(&addr, "");
    ck_assert_int_eq(cmio_unix_stream_peer_addr(&a, &addr), 0);
    assert_addr_text(&addr, "");

    ck_assert_int_eq(cmio_registry_deregister(r, a.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, b.fd), 0);
    cmio_unix_stream_close(&a);
    cmio_unix_stream_close(&b);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_readv_writev)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_unix_stream a, b;
    ck_assert(unix_stream_pair_or_skip(&a, &b));
    struct iovec out[2] = {{(void *)DATA1, DATA1_LEN}, {(void *)DATA2, DATA2_LEN}};
    ck_assert_int_eq(cmio_unix_stream_writev(&a, out, 2), (ssize_t)(DATA1_LEN + DATA2_LEN));
    ck_assert_int_eq(cmio_unix_stream_writev(&a, out, 0), 0);

    char buf1[DATA1_LEN], buf2[DATA2_LEN + 1];
    memset(buf1, 1, sizeof(buf1));
    memset(buf2, 2, sizeof(buf2));
    struct iovec in[2] = {{buf1, sizeof(buf1)}, {buf2, sizeof(buf2)}};
    ck_assert_int_eq(cmio_unix_stream_readv(&b, in, 2), (ssize_t)(DATA1_LEN + DATA2_LEN));
    ck_assert_int_eq(memcmp(buf1, DATA1, DATA1_LEN), 0);
    ck_assert_int_eq(memcmp(buf2, DATA2, DATA2_LEN), 0);
    ck_assert_int_eq(buf2[DATA2_LEN], 2); /* the last byte is untouched */
    ck_assert_int_eq(cmio_unix_stream_readv(&b, in, 2), -EAGAIN);
    cmio_unix_stream_close(&a);
    cmio_unix_stream_close(&b);
}
END_TEST

/* The byte at offset k of the large transfer is k % 251: the bytes from
 * offset k on are pattern + k % 251. */
static unsigned char pattern[65536 + 251];

static const unsigned char *pattern_at(size_t offset)
{
    if (pattern[250] == 0)
        for (size_t i = 0; i < sizeof(pattern); i++)
            pattern[i] = (unsigned char)(i % 251);
    return pattern + offset % 251;
}

START_TEST(test_large_transfer_edge_triggered)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_unix_stream a, b;
    ck_assert(unix_stream_pair_or_skip(&a, &b));
    ck_assert_int_eq(cmio_registry_register(r, a.fd, A, CMIO_WRITABLE), 0);
    ck_assert_int_eq(cmio_registry_register(r, b.fd, B, CMIO_READABLE), 0);

    enum { TOTAL = 2 << 20 };
    static unsigned char in[65536];
    size_t sent = 0, got = 0;
    bool can_write = false, can_read = false;
    int64_t deadline = now_ms() + 6 * WAIT_MS;
    for (int round = 0; got < TOTAL && round < 100000; round++) {
        ck_assert_msg(now_ms() < deadline, "stalled: sent %zu, received %zu", sent, got);
        /* Write only after a writable event, and until -EAGAIN. */
        for (int i = 0; can_write && sent < TOTAL && i < 100000; i++) {
            size_t chunk = TOTAL - sent < sizeof(in) ? TOTAL - sent : sizeof(in);
            ssize_t n = cmio_unix_stream_write(&a, pattern_at(sent), chunk);
            if (n == -EAGAIN) {
                can_write = false;
                break;
            }
            ck_assert_int_gt(n, 0);
            sent += (size_t)n;
        }
        /* Read only after a readable event, and until -EAGAIN. */
        for (int i = 0; can_read && i < 100000; i++) {
            ssize_t n = cmio_unix_stream_read(&b, in, sizeof(in));
            if (n == -EAGAIN) {
                can_read = false;
                break;
            }
            ck_assert_int_gt(n, 0);
            ck_assert_msg(memcmp(in, pattern_at(got), (size_t)n) == 0, "bytes from %zu differ", got);
            got += (size_t)n;
        }
        if (got == TOTAL)
            break;
        int n = cmio_poll_poll(p, ev, WAIT_MS);
        ck_assert_msg(n > 0, "no event while sent %zu, received %zu", sent, got);
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            const cmio_event *e = cmio_events_get(ev, i);
            if (cmio_event_token(e) == A && cmio_event_is_writable(e))
                can_write = true;
            if (cmio_event_token(e) == B && cmio_event_is_readable(e))
                can_read = true;
        }
    }
    ck_assert_uint_eq(sent, TOTAL);
    ck_assert_uint_eq(got, TOTAL);
    ck_assert_int_eq(cmio_registry_deregister(r, a.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, b.fd), 0);
    cmio_unix_stream_close(&a);
    cmio_unix_stream_close(&b);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_shutdown_write_peer_reads_data_then_end)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    sigpipe_deadly();
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    seen_flags sn = {{0}};
    cmio_unix_stream a, b;
    ck_assert(unix_stream_pair_or_skip(&a, &b));
    ck_assert_int_eq(cmio_registry_register(r, b.fd, B, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_unix_stream_write(&a, DATA1, DATA1_LEN), (ssize_t)DATA1_LEN);
    ck_assert_int_eq(cmio_unix_stream_write(&a, DATA2, DATA2_LEN), (ssize_t)DATA2_LEN);
    ck_assert_int_eq(cmio_unix_stream_shutdown(&a, CMIO_SHUTDOWN_WRITE), 0);
    ck_assert(wait_seen(p, ev, &sn, B, CMIO_EVENT_READ_CLOSED));

    /* Every byte written before the shutdown arrives, then end of stream. */
    char buf[64];
    size_t got = 0;
    for (int i = 0; i < 10; i++) {
        ssize_t n = cmio_unix_stream_read(&b, buf + got, 5);
        ck_assert_int_ge(n, 0);
        if (n == 0)
            break;
        got += (size_t)n;
    }
    ck_assert_uint_eq(got, DATA1_LEN + DATA2_LEN);
    ck_assert_int_eq(memcmp(buf, DATA1, DATA1_LEN), 0);
    ck_assert_int_eq(memcmp(buf + DATA1_LEN, DATA2, DATA2_LEN), 0);
    ck_assert_int_eq(cmio_unix_stream_read(&b, buf, sizeof(buf)), 0);

    /* The shut side cannot write (no SIGPIPE); the other direction works. */
    ck_assert_int_eq(cmio_unix_stream_write(&a, DATA1, DATA1_LEN), -EPIPE);
    ck_assert_int_eq(cmio_unix_stream_write(&b, DATA2, DATA2_LEN), (ssize_t)DATA2_LEN);
    ck_assert_int_eq(cmio_unix_stream_read(&a, buf, sizeof(buf)), (ssize_t)DATA2_LEN);

    ck_assert_int_eq(cmio_registry_deregister(r, b.fd), 0);
    cmio_unix_stream_close(&a);
    cmio_unix_stream_close(&b);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_shutdown_read_reports_read_closed)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    seen_flags sn = {{0}};
    cmio_unix_stream a, b;
    ck_assert(unix_stream_pair_or_skip(&a, &b));
    ck_assert_int_eq(cmio_registry_register(r, a.fd, A, CMIO_READABLE | CMIO_WRITABLE), 0);
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_WRITABLE));
    ck_assert_int_eq(cmio_unix_stream_shutdown(&a, CMIO_SHUTDOWN_READ), 0);
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_READ_CLOSED));
    char buf[16];
    ck_assert_int_eq(cmio_unix_stream_read(&a, buf, sizeof(buf)), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, a.fd), 0);
    cmio_unix_stream_close(&a);
    cmio_unix_stream_close(&b);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_shutdown_both_reports_write_closed)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    sigpipe_deadly();
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    seen_flags sn = {{0}};
    cmio_unix_stream a, b;
    ck_assert(unix_stream_pair_or_skip(&a, &b));
    ck_assert_int_eq(cmio_registry_register(r, a.fd, A, CMIO_READABLE | CMIO_WRITABLE), 0);
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_WRITABLE));
    ck_assert_int_eq(cmio_unix_stream_shutdown(&a, CMIO_SHUTDOWN_BOTH), 0);
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_WRITE_CLOSED));
    ck_assert_int_eq(cmio_unix_stream_write(&a, DATA1, DATA1_LEN), -EPIPE);
    ck_assert_int_eq(cmio_registry_deregister(r, a.fd), 0);
    cmio_unix_stream_close(&a);
    cmio_unix_stream_close(&b);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* An error that comes after a reported hang-up: the peer shuts both
 * directions down (our write is unread there), then closes, which resets
 * the stream (ECONNRESET pending here). epoll reports the error as a new
 * occurrence; the poll(2) backend (CMIO__SEL_HUP_HOLDS) leaves a hung-up
 * descriptor out of poll(2), so the error waits for the next failing call,
 * which returns it. */
START_TEST(test_error_after_reported_hang_up)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_unix_stream a, peer;
    ck_assert(unix_stream_pair_or_skip(&a, &peer));
    ck_assert_int_eq(cmio_registry_register(r, a.fd, A, CMIO_READABLE | CMIO_WRITABLE), 0);
    ck_assert_int_eq(cmio_unix_stream_write(&a, "x", 1), 1);
    ck_assert_int_eq(cmio_unix_stream_shutdown(&peer, CMIO_SHUTDOWN_BOTH), 0);
    uint32_t want =
        CMIO_EVENT_WRITE_CLOSED | (cmio__poll_caps(p) & CMIO__SEL_HUP_WHOLE ? CMIO_EVENT_READ_CLOSED : 0);
    uint32_t seen = wait_for(p, ev, A, want, WAIT_MS);
    ck_assert((seen & want) == want);
    if (cmio__poll_caps(p) & CMIO__SEL_HUP_WHOLE) /* no error yet: the peer's data is unread */
        ck_assert(!(seen & CMIO_EVENT_ERROR));
    cmio_unix_stream_close(&peer);
    if (!(seen & CMIO_EVENT_ERROR)) { /* else reported with the hang-up (libkqueue) */
        if (cmio__poll_caps(p) & CMIO__SEL_HUP_HOLDS)
            ck_assert_int_eq(count_events(p, ev, A, QUIET_MS), 0);
        else
            ck_assert(wait_for(p, ev, A, CMIO_EVENT_ERROR, WAIT_MS) & CMIO_EVENT_ERROR);
        char buf[8];
        ck_assert_int_eq(cmio_unix_stream_read(&a, buf, sizeof(buf)), -ECONNRESET);
        ck_assert_int_eq(cmio_unix_stream_take_error(&a), 0);
    }
    ck_assert_int_eq(cmio_registry_deregister(r, a.fd), 0);
    cmio_unix_stream_close(&a);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_write_after_peer_closed_is_epipe_without_sigpipe)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    sigpipe_deadly(); /* a SIGPIPE would kill the test */
    cmio_unix_stream a, b;
    ck_assert(unix_stream_pair_or_skip(&a, &b));
    cmio_unix_stream_close(&b);
    ck_assert_int_eq(cmio_unix_stream_write(&a, DATA1, DATA1_LEN), -EPIPE);
    struct iovec iov[2] = {{(void *)DATA1, DATA1_LEN}, {(void *)DATA2, DATA2_LEN}};
    ck_assert_int_eq(cmio_unix_stream_writev(&a, iov, 2), -EPIPE);
    char buf[16];
    ck_assert_int_eq(cmio_unix_stream_read(&a, buf, sizeof(buf)), 0);
    cmio_unix_stream_close(&a);
}
END_TEST

START_TEST(test_from_fd_adopts_blocking_sockets)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_fd sv[2];
    std_unix_pair(sv);
    cmio_unix_stream a, b;
    ck_assert_int_eq(cmio_unix_stream_from_fd(&a, sv[0]), 0);
    ck_assert_int_eq(cmio_unix_stream_from_fd(&b, sv[1]), 0);
    ck_assert_int_eq(a.fd, sv[0]);
    assert_nonblock_cloexec(a.fd);
    assert_nonblock_cloexec(b.fd);
    char buf[64];
    ck_assert_int_eq(cmio_unix_stream_read(&a, buf, sizeof(buf)), -EAGAIN);
    ck_assert_int_eq(cmio_unix_stream_write(&b, DATA1, DATA1_LEN), (ssize_t)DATA1_LEN);
    ck_assert_int_eq(cmio_unix_stream_read(&a, buf, sizeof(buf)), (ssize_t)DATA1_LEN);
    cmio_unix_stream_close(&a);
    cmio_unix_stream_close(&b);
}
END_TEST

START_TEST(test_close_is_idempotent)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_unix_stream a, b;
    ck_assert(unix_stream_pair_or_skip(&a, &b));
    cmio_fd fd = a.fd;
    cmio_unix_stream_close(&a);
    ck_assert_int_eq(a.fd, -1);
    ck_assert(!sock_is_open(fd));
    cmio_unix_stream_close(&a);
    ck_assert_int_eq(a.fd, -1);
    cmio_unix_stream_close(NULL);
    char buf[4];
    ck_assert_int_eq(cmio_unix_stream_read(&a, buf, sizeof(buf)), -EBADF);
    cmio_unix_stream_close(&b);
}
END_TEST

START_TEST(test_pair_failure_leaves_both_closed)
{
    fd_limit lim;
    bool enforced = fd_limit_exhaust(&lim);
    cmio_unix_stream a = {3}, b = {4};
    int err = enforced ? cmio_unix_stream_pair(&a, &b) : -EMFILE;
    cmio_unix_stream c = {5};
    int err2 = enforced ? cmio_unix_stream_connect(&c, "/nonexistent/cmio") : -EMFILE;
    fd_limit_restore(&lim);
    if (!enforced)
        a.fd = b.fd = c.fd = CMIO_FD_INVALID; /* no failure to observe here */
    ck_assert_int_eq(err, -EMFILE);
    ck_assert_int_eq(a.fd, -1);
    ck_assert_int_eq(b.fd, -1);
    ck_assert_int_eq(err2, -EMFILE);
    ck_assert_int_eq(c.fd, -1);
}
END_TEST

START_TEST(test_invalid_arguments)
{
    cmio_unix_stream s = {4}, closed = {-1};
    cmio_sockaddr a;
    char buf[8];
    struct iovec iov = {buf, sizeof(buf)};
    ck_assert_int_eq(cmio_unix_stream_connect(NULL, "/tmp/x"), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_connect(&s, NULL), -EINVAL);
    ck_assert_int_eq(s.fd, -1);
    char long_path[300];
    memset(long_path, 'x', sizeof(long_path) - 1);
    long_path[0] = '/';
    long_path[sizeof(long_path) - 1] = '\0';
    s.fd = 4;
    ck_assert_int_eq(cmio_unix_stream_connect(&s, long_path), -ENAMETOOLONG);
    ck_assert_int_eq(s.fd, -1);
    ck_assert_int_eq(cmio_sockaddr_parse(&a, "127.0.0.1:80"), 0);
    s.fd = 4;
    ck_assert_int_eq(cmio_unix_stream_connect_addr(&s, &a), -EINVAL);
    ck_assert_int_eq(s.fd, -1);
    ck_assert_int_eq(cmio_unix_stream_connect_addr(&s, NULL), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_connect_addr(NULL, &a), -EINVAL);

    cmio_unix_stream x = {6}, y = {7};
    ck_assert_int_eq(cmio_unix_stream_pair(NULL, &y), -EINVAL);
    ck_assert_int_eq(y.fd, -1);
    ck_assert_int_eq(cmio_unix_stream_pair(&x, NULL), -EINVAL);
    ck_assert_int_eq(x.fd, -1);
    ck_assert_int_eq(cmio_unix_stream_pair(&x, &x), -EINVAL);

    /* NULL and closed sockets. */
    ck_assert_int_eq(cmio_unix_stream_read(NULL, buf, 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_read(&closed, buf, 1), -EBADF);
    ck_assert_int_eq(cmio_unix_stream_write(NULL, buf, 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_write(&closed, buf, 1), -EBADF);
    ck_assert_int_eq(cmio_unix_stream_readv(&closed, &iov, 1), -EBADF);
    ck_assert_int_eq(cmio_unix_stream_writev(&closed, &iov, 1), -EBADF);
    ck_assert_int_eq(cmio_unix_stream_shutdown(&closed, CMIO_SHUTDOWN_BOTH), -EBADF);
    ck_assert_int_eq(cmio_unix_stream_shutdown(NULL, CMIO_SHUTDOWN_BOTH), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_local_addr(&closed, &a), -EBADF);
    ck_assert_int_eq(cmio_unix_stream_peer_addr(&closed, &a), -EBADF);
    ck_assert_int_eq(cmio_unix_stream_peer_addr(NULL, &a), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_take_error(&closed), -EBADF);
    ck_assert_int_eq(cmio_unix_stream_take_error(NULL), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_from_fd(NULL, 0), -EINVAL);
    s.fd = 4;
    ck_assert_int_eq(cmio_unix_stream_from_fd(&s, -1), -EBADF);
    ck_assert_int_eq(s.fd, -1);

    /* Bad arguments on an open pair. */
    ck_assert_int_eq(cmio_unix_stream_from_fd(&s, closed_socket()), -EBADF); /* no descriptor */
    /* The calls below need a connected stream. */
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    ck_assert(unix_stream_pair_or_skip(&x, &y));
    ck_assert_int_eq(cmio_unix_stream_read(&x, NULL, 4), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_write(&x, NULL, 4), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_readv(&x, &iov, -1), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_readv(&x, &iov, IOV_MAX + 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_writev(&x, &iov, -1), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_writev(&x, NULL, 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_shutdown(&x, (cmio_shutdown)7), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_shutdown(&x, (cmio_shutdown)-1), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_local_addr(&x, NULL), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_peer_addr(&x, NULL), -EINVAL);
    cmio_unix_stream_close(&x);
    cmio_unix_stream_close(&y);
}
END_TEST

static Suite *unix_stream_suite(void)
{
    Suite *s = suite_create("unix_stream");
    TCase *events = tcase_create("events");
    tcase_add_checked_fixture(events, tmp_open, tmp_close);
    tcase_set_timeout(events, 60);
    add_backend_test(events, test_connect_then_events_and_io);
    add_backend_test(events, test_peer_close_gives_read_closed_after_the_data);
    add_backend_test(events, test_abstract_name_connect);
    add_backend_test(events, test_pair_read_write);
    add_backend_test(events, test_large_transfer_edge_triggered);
    add_backend_test(events, test_shutdown_write_peer_reads_data_then_end);
    add_backend_test(events, test_shutdown_read_reports_read_closed);
    add_backend_test(events, test_shutdown_both_reports_write_closed);
    add_backend_test(events, test_error_after_reported_hang_up);
    suite_add_tcase(s, events);

    TCase *calls = tcase_create("calls");
    tcase_add_checked_fixture(calls, tmp_open, tmp_close);
    tcase_set_timeout(calls, 30);
    tcase_add_test(calls, test_connect_to_missing_path_is_enoent);
    tcase_add_test(calls, test_connect_without_listener_is_econnrefused);
    tcase_add_test(calls, test_connect_to_full_backlog_is_eagain);
    tcase_add_test(calls, test_local_and_peer_addresses);
    tcase_add_test(calls, test_readv_writev);
    tcase_add_test(calls, test_write_after_peer_closed_is_epipe_without_sigpipe);
    tcase_add_test(calls, test_from_fd_adopts_blocking_sockets);
    tcase_add_test(calls, test_close_is_idempotent);
    tcase_add_test(calls, test_pair_failure_leaves_both_closed);
    tcase_add_test(calls, test_invalid_arguments);
    suite_add_tcase(s, calls);
    return s;
}

int main(void)
{
    return run_suite(unix_stream_suite());
}
