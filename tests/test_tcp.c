/*
 * TCP: cmio_tcp_listener and cmio_tcp_stream, ports of the scenarios of
 * mio's tests/tcp.rs, tcp_listener.rs and tcp_stream.rs.
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#if !defined(_WIN32)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#endif
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum { LISTENER = 100, CLIENT = 101, SERVER = 102 };

static const char DATA1[] = "Hello world!";
static const char DATA2[] = "Hello mars!";
#define DATA1_LEN (sizeof(DATA1) - 1)
#define DATA2_LEN (sizeof(DATA2) - 1)

/* Binds a listener on `text` (port 0); false when the address family or
 * address is not available on this machine (IPv6). */
static bool bind_listener(cmio_tcp_listener *l, const char *text, cmio_sockaddr *bound)
{
    cmio_sockaddr a = parse_addr(text);
    int rc = cmio_tcp_listener_bind(l, &a);
    if (addr_unavailable(rc, l->fd, text))
        return false;
    ck_assert_int_eq(rc, 0);
    assert_nonblock_cloexec(l->fd);
    ck_assert_int_eq(cmio_tcp_listener_local_addr(l, bound), 0);
    return true;
}

/* Accepts one connection, waiting for the listener's READABLE event (the
 * listener is registered with token LISTENER). */
static void accept_one(cmio_poll *p, cmio_events *ev, cmio_tcp_listener *l, cmio_tcp_stream *out,
                       cmio_sockaddr *peer)
{
    int64_t deadline = now_ms() + WAIT_MS;
    for (int round = 0; round < 1000 && now_ms() < deadline; round++) {
        int rc = cmio_tcp_listener_accept(l, out, peer);
        if (rc == 0) {
            assert_nonblock_cloexec(out->fd);
            return;
        }
        ck_assert_int_eq(rc, -EAGAIN);
        ck_assert(out->fd == CMIO_FD_INVALID);
        wait_for(p, ev, LISTENER, CMIO_EVENT_READABLE, WAIT_MS);
    }
    ck_abort_msg("no connection to accept");
}

/* A listener on `text`, a client connected to it and the accepted server
 * stream, with the connection established (the client saw WRITABLE). The
 * listener is registered as LISTENER, the client as CLIENT (READABLE |
 * WRITABLE), the server as SERVER (READABLE). */
struct conn {
    cmio_poll *p;
    cmio_events *ev;
    cmio_registry *r;
    cmio_tcp_listener l;
    cmio_tcp_stream c, s;
    cmio_sockaddr addr;
};

static bool open_conn(struct conn *k, int backend, const char *text)
{
    k->p = open_poll(backend);
    k->ev = open_events(64);
    k->r = cmio_poll_registry(k->p);
    if (!bind_listener(&k->l, text, &k->addr)) {
        cmio_events_free(k->ev);
        cmio_poll_free(k->p);
        return false;
    }
    ck_assert_int_eq(cmio_registry_register(k->r, k->l.fd, LISTENER, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_tcp_stream_connect(&k->c, &k->addr), 0);
    assert_nonblock_cloexec(k->c.fd);
    ck_assert_int_eq(cmio_registry_register(k->r, k->c.fd, CLIENT, CMIO_READABLE | CMIO_WRITABLE), 0);
    accept_one(k->p, k->ev, &k->l, &k->s, NULL);
    ck_assert_int_eq(cmio_registry_register(k->r, k->s.fd, SERVER, CMIO_READABLE), 0);
    ck_assert(wait_for(k->p, k->ev, CLIENT, CMIO_EVENT_WRITABLE, WAIT_MS) & CMIO_EVENT_WRITABLE);
    ck_assert_int_eq(cmio_tcp_stream_take_error(&k->c), 0);
    return true;
}

static void close_conn(struct conn *k)
{
    if (k->c.fd != CMIO_FD_INVALID)
        ck_assert_int_eq(cmio_registry_deregister(k->r, k->c.fd), 0);
    if (k->s.fd != CMIO_FD_INVALID)
        ck_assert_int_eq(cmio_registry_deregister(k->r, k->s.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(k->r, k->l.fd), 0);
    cmio_tcp_stream_close(&k->c);
    cmio_tcp_stream_close(&k->s);
    cmio_tcp_listener_close(&k->l);
    cmio_events_free(k->ev);
    cmio_poll_free(k->p);
}

/* The server side goes away with a reset (SO_LINGER 0, then close). */
static void reset_by_server(struct conn *k)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    sock_setsockopt(k->s.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    ck_assert_int_eq(cmio_registry_deregister(k->r, k->s.fd), 0);
    cmio_tcp_stream_close(&k->s);
}

/* Reads exactly len bytes from s, waiting for READABLE events of token. */
static void read_exactly(struct conn *k, cmio_tcp_stream *s, cmio_token token, char *buf, size_t len)
{
    size_t got = 0;
    int64_t deadline = now_ms() + WAIT_MS;
    for (int round = 0; got < len && round < 10000 && now_ms() < deadline; round++) {
        ssize_t n = cmio_tcp_stream_read(s, buf + got, len - got);
        if (n == -EAGAIN) {
            wait_for(k->p, k->ev, token, CMIO_EVENT_READABLE, WAIT_MS);
            continue;
        }
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
    }
    ck_assert_uint_eq(got, len);
}

START_TEST(test_connect_and_accept_report_events)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    ck_assert(bind_listener(&l, "127.0.0.1:0", &addr));
    ck_assert_uint_ne(ntohs(addr.u.in4.sin_port), 0);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, LISTENER, CMIO_READABLE), 0);

    cmio_tcp_stream c;
    ck_assert_int_eq(cmio_tcp_stream_connect(&c, &addr), 0);
    assert_nonblock_cloexec(c.fd);
    ck_assert_int_eq(cmio_registry_register(r, c.fd, CLIENT, CMIO_WRITABLE), 0);

    /* Both sides see their event, whatever the order they come in. */
    uint32_t lseen = 0, cseen = 0;
    int64_t deadline = now_ms() + WAIT_MS;
    while ((!(lseen & CMIO_EVENT_READABLE) || !(cseen & CMIO_EVENT_WRITABLE)) && now_ms() < deadline) {
        ck_assert_int_ge(cmio_poll_poll(p, ev, WAIT_MS), 0);
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            const cmio_event *e = cmio_events_get(ev, i);
            if (cmio_event_token(e) == LISTENER)
                lseen |= cmio_event_flags(e);
            else if (cmio_event_token(e) == CLIENT)
                cseen |= cmio_event_flags(e);
        }
    }
    ck_assert(lseen & CMIO_EVENT_READABLE);
    ck_assert(cseen & CMIO_EVENT_WRITABLE);
    ck_assert(!(cseen & CMIO_EVENT_ERROR));

    /* The procedure of cmio_tcp_stream_connect(): take_error, peer_addr. */
    ck_assert_int_eq(cmio_tcp_stream_take_error(&c), 0);
    cmio_sockaddr peer, local;
    ck_assert_int_eq(cmio_tcp_stream_peer_addr(&c, &peer), 0);
    ck_assert(same_addr(&peer, &addr));
    ck_assert_int_eq(cmio_tcp_stream_local_addr(&c, &local), 0);
    ck_assert_int_eq(local.u.sa.sa_family, AF_INET);
    ck_assert_uint_eq(ntohl(local.u.in4.sin_addr.s_addr), INADDR_LOOPBACK);

    cmio_tcp_stream s;
    cmio_sockaddr from;
    ck_assert_int_eq(cmio_tcp_listener_accept(&l, &s, &from), 0);
    assert_nonblock_cloexec(s.fd);
    ck_assert(same_addr(&from, &local));
    cmio_sockaddr s_local, s_peer;
    ck_assert_int_eq(cmio_tcp_stream_local_addr(&s, &s_local), 0);
    ck_assert(same_addr(&s_local, &addr));
    ck_assert_int_eq(cmio_tcp_stream_peer_addr(&s, &s_peer), 0);
    ck_assert(same_addr(&s_peer, &local));
    ck_assert_int_eq(cmio_tcp_listener_take_error(&l), 0);

    /* The queue is empty now. */
    cmio_tcp_stream none = {.fd = 42};
    ck_assert_int_eq(cmio_tcp_listener_accept(&l, &none, NULL), -EAGAIN);
    ck_assert(none.fd == CMIO_FD_INVALID);

    ck_assert_int_eq(cmio_registry_deregister(r, c.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_tcp_stream_close(&c);
    cmio_tcp_stream_close(&s);
    cmio_tcp_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* mio's smoke_test_tcp_stream: write, peek, read, writev, readv. */
static void smoke(int backend, const char *text)
{
    struct conn k;
    if (!open_conn(&k, backend, text))
        return;
    char buf[32];
    ck_assert_int_eq(cmio_tcp_stream_peek(&k.c, buf, sizeof(buf)), -EAGAIN);
    ck_assert_int_eq(cmio_tcp_stream_read(&k.c, buf, sizeof(buf)), -EAGAIN);
    cmio_sockaddr peer;
    ck_assert_int_eq(cmio_tcp_stream_peer_addr(&k.c, &peer), 0);
    ck_assert(same_addr(&peer, &k.addr));

    /* Client to server, server echoes back. */
    ck_assert_int_eq(cmio_tcp_stream_write(&k.c, DATA1, DATA1_LEN), (ssize_t)DATA1_LEN);
    read_exactly(&k, &k.s, SERVER, buf, DATA1_LEN);
    ck_assert_int_eq(memcmp(buf, DATA1, DATA1_LEN), 0);
    ck_assert_int_eq(cmio_tcp_stream_write(&k.s, buf, DATA1_LEN), (ssize_t)DATA1_LEN);
    ck_assert(wait_for(k.p, k.ev, CLIENT, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    memset(buf, 0, sizeof(buf));
    ck_assert_int_eq(cmio_tcp_stream_peek(&k.c, buf, sizeof(buf)), (ssize_t)DATA1_LEN);
    ck_assert_int_eq(memcmp(buf, DATA1, DATA1_LEN), 0);
    memset(buf, 0, sizeof(buf));
    ck_assert_int_eq(cmio_tcp_stream_read(&k.c, buf, sizeof(buf)), (ssize_t)DATA1_LEN);
    ck_assert_int_eq(memcmp(buf, DATA1, DATA1_LEN), 0);
    /* Read until -EAGAIN: only then is the next event owed. */
    ck_assert_int_eq(cmio_tcp_stream_read(&k.c, buf, sizeof(buf)), -EAGAIN);
    ck_assert_int_eq(cmio_tcp_stream_take_error(&k.c), 0);

    struct iovec out[2] = {{(void *)DATA1, DATA1_LEN}, {(void *)DATA2, DATA2_LEN}};
    ck_assert_int_eq(cmio_tcp_stream_writev(&k.c, out, 2), (ssize_t)(DATA1_LEN + DATA2_LEN));
    read_exactly(&k, &k.s, SERVER, buf, DATA1_LEN + DATA2_LEN);
    ck_assert_int_eq(cmio_tcp_stream_write(&k.s, buf, DATA1_LEN + DATA2_LEN),
                     (ssize_t)(DATA1_LEN + DATA2_LEN));
    ck_assert(wait_for(k.p, k.ev, CLIENT, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    char b1[DATA1_LEN], b2[DATA2_LEN + 1];
    memset(b1, 1, sizeof(b1));
    memset(b2, 2, sizeof(b2));
    struct iovec in[2] = {{b1, sizeof(b1)}, {b2, sizeof(b2)}};
    ck_assert_int_eq(cmio_tcp_stream_readv(&k.c, in, 2), (ssize_t)(DATA1_LEN + DATA2_LEN));
    ck_assert_int_eq(memcmp(b1, DATA1, DATA1_LEN), 0);
    ck_assert_int_eq(memcmp(b2, DATA2, DATA2_LEN), 0);
    ck_assert_int_eq(b2[DATA2_LEN], 2); /* the last byte is untouched */
    ck_assert_int_eq(cmio_tcp_stream_readv(&k.c, in, 2), -EAGAIN);
    close_conn(&k);
}

START_TEST(test_stream_ipv4)
{
    smoke(_i, "127.0.0.1:0");
}
END_TEST

START_TEST(test_stream_ipv6)
{
    smoke(_i, "[::1]:0");
}
END_TEST

START_TEST(test_peek_does_not_consume)
{
    struct conn k;
    ck_assert(open_conn(&k, _i, "127.0.0.1:0"));
    ck_assert_int_eq(cmio_tcp_stream_write(&k.c, "hello", 5), 5);
    ck_assert(wait_for(k.p, k.ev, SERVER, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    char a[8] = {0}, b[8] = {0}, c[8] = {0};
    ck_assert_int_eq(cmio_tcp_stream_peek(&k.s, a, sizeof(a)), 5);
    ck_assert_int_eq(cmio_tcp_stream_peek(&k.s, b, 3), 3);
    ck_assert_int_eq(cmio_tcp_stream_read(&k.s, c, sizeof(c)), 5);
    ck_assert_str_eq(a, "hello");
    ck_assert_str_eq(b, "hel");
    ck_assert_str_eq(c, "hello");
    ck_assert_int_eq(cmio_tcp_stream_read(&k.s, c, sizeof(c)), -EAGAIN);
    ck_assert_int_eq(cmio_tcp_stream_peek(&k.s, c, sizeof(c)), -EAGAIN);
    close_conn(&k);
}
END_TEST

START_TEST(test_readv_writev)
{
    struct conn k;
    ck_assert(open_conn(&k, _i, "127.0.0.1:0"));
    struct iovec out[3] = {{(void *)"ab", 2}, {(void *)"", 0}, {(void *)"cdefg", 5}};
    ck_assert_int_eq(cmio_tcp_stream_writev(&k.c, out, 3), 7);
    ck_assert(wait_for(k.p, k.ev, SERVER, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    char x[3] = {0}, y[8];
    memset(y, '#', sizeof(y));
    struct iovec in[2] = {{x, 2}, {y, sizeof(y)}};
    ck_assert_int_eq(cmio_tcp_stream_readv(&k.s, in, 2), 7);
    ck_assert_str_eq(x, "ab");
    ck_assert_int_eq(memcmp(y, "cdefg###", 8), 0);
    ck_assert_int_eq(cmio_tcp_stream_readv(&k.s, in, 2), -EAGAIN);
    ck_assert_int_eq(cmio_tcp_stream_readv(&k.s, in, -1), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_writev(&k.c, out, -1), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_readv(&k.s, in, IOV_MAX + 1), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_writev(&k.c, out, IOV_MAX + 1), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_readv(&k.s, NULL, 1), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_writev(&k.c, NULL, 1), -EINVAL);
    close_conn(&k);
}
END_TEST

static unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 7 + i / 251);
}

/* 4 MiB from client to server, both ends drained edge-triggered in one
 * poll loop: write until -EAGAIN, then wait WRITABLE; read until -EAGAIN,
 * then wait READABLE. */
START_TEST(test_large_transfer_edge_triggered)
{
    enum { TOTAL = 4 << 20, CHUNK = 64 << 10 };
    struct conn k;
    ck_assert(open_conn(&k, _i, "127.0.0.1:0"));
    ck_assert_int_eq(cmio_registry_reregister(k.r, k.c.fd, CLIENT, CMIO_WRITABLE), 0);
    static unsigned char out[CHUNK], in[CHUNK];
    size_t sent = 0, received = 0;
    bool eof = false, shut = false;
    int writable_waits = 0, readable_waits = 0;
    bool client_ready = true, server_ready = true; /* try once before any event */
    int64_t deadline = now_ms() + 30000;
    for (int round = 0; !eof && round < 1000000 && now_ms() < deadline; round++) {
        while (client_ready && sent < TOTAL) {
            size_t n = TOTAL - sent < CHUNK ? TOTAL - sent : CHUNK;
            for (size_t i = 0; i < n; i++)
                out[i] = pattern(sent + i);
            ssize_t w = cmio_tcp_stream_write(&k.c, out, n);
            if (w == -EAGAIN) {
                client_ready = false;
                writable_waits++;
                break;
            }
            ck_assert_int_gt(w, 0);
            sent += (size_t)w;
        }
        if (sent == TOTAL && !shut) {
            ck_assert_int_eq(cmio_tcp_stream_shutdown(&k.c, CMIO_SHUTDOWN_WRITE), 0);
            shut = true;
        }
        while (server_ready) {
            ssize_t r = cmio_tcp_stream_read(&k.s, in, sizeof(in));
            if (r == -EAGAIN) {
                server_ready = false;
                readable_waits++;
                break;
            }
            ck_assert_int_ge(r, 0);
            if (r == 0) {
                eof = true;
                break;
            }
            /* One assertion per chunk: each ck_assert marks a point, a system call. */
            ssize_t bad = -1;
            for (ssize_t i = 0; i < r && bad < 0; i++)
                if (in[i] != pattern(received + (size_t)i))
                    bad = i;
            ck_assert_msg(bad < 0, "byte %zu differs", received + (size_t)bad);
            received += (size_t)r;
        }
        if (eof)
            break;
        ck_assert_int_ge(cmio_poll_poll(k.p, k.ev, WAIT_MS), 0);
        for (size_t i = 0; i < cmio_events_len(k.ev); i++) {
            const cmio_event *e = cmio_events_get(k.ev, i);
            ck_assert(!cmio_event_is_error(e));
            if (cmio_event_token(e) == CLIENT && cmio_event_is_writable(e))
                client_ready = true;
            if (cmio_event_token(e) == SERVER && (cmio_event_is_readable(e) || cmio_event_is_read_closed(e)))
                server_ready = true;
        }
    }
    ck_assert(eof);
    ck_assert_uint_eq(sent, TOTAL);
    ck_assert_uint_eq(received, TOTAL);
    /* The buffers filled up at least once: the edges were really used. */
    ck_assert_int_gt(writable_waits + readable_waits, 0);
    close_conn(&k);
}
END_TEST

START_TEST(test_read_closed_then_end_of_stream)
{
    struct conn k;
    ck_assert(open_conn(&k, _i, "127.0.0.1:0"));
    char data[3000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)pattern(i);
    ck_assert_int_eq(cmio_tcp_stream_write(&k.c, data, sizeof(data)), (ssize_t)sizeof(data));
    ck_assert_int_eq(cmio_tcp_stream_shutdown(&k.c, CMIO_SHUTDOWN_WRITE), 0);
    /* Where the shutdown may come only once the data is read (Wine's AFD,
     * CMIO__SEL_FIN_AFTER_DATA), readable first and read-closed later. */
    bool after = cmio__poll_caps(k.p) & CMIO__SEL_FIN_AFTER_DATA;
    uint32_t first = after ? CMIO_EVENT_READABLE : CMIO_EVENT_READ_CLOSED;
    uint32_t seen = wait_for(k.p, k.ev, SERVER, first, WAIT_MS);
    ck_assert(seen & first);
    ck_assert(!(seen & CMIO_EVENT_WRITE_CLOSED));
    /* Every byte sent before the shutdown is still there, then the end. */
    char buf[4096];
    size_t got = 0;
    ssize_t n = 0;
    for (int i = 0; i < 100; i++) {
        n = cmio_tcp_stream_read(&k.s, buf + got, sizeof(buf) - got);
        if (n == -EAGAIN && after) {
            seen |= wait_for(k.p, k.ev, SERVER, CMIO_EVENT_READABLE, WAIT_MS);
            continue;
        }
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    ck_assert_int_eq(n, 0);
    if (after) {
        /* Owed and still armed: the poll after the data reports it. */
        if (!(seen & CMIO_EVENT_READ_CLOSED))
            seen |= wait_for(k.p, k.ev, SERVER, CMIO_EVENT_READ_CLOSED, WAIT_MS);
        ck_assert(seen & CMIO_EVENT_READ_CLOSED);
    }
    ck_assert_uint_eq(got, sizeof(data));
    ck_assert_int_eq(memcmp(buf, data, sizeof(data)), 0);
    ck_assert_int_eq(cmio_tcp_stream_read(&k.s, buf, sizeof(buf)), 0);
    /* The other direction still works. */
    ck_assert_int_eq(cmio_tcp_stream_write(&k.s, "ok", 2), 2);
    read_exactly(&k, &k.c, CLIENT, buf, 2);
    ck_assert_int_eq(memcmp(buf, "ok", 2), 0);
    close_conn(&k);
}
END_TEST

START_TEST(test_write_after_peer_closed_fails_without_sigpipe)
{
    sigpipe_deadly();
    struct conn k;
    ck_assert(open_conn(&k, _i, "127.0.0.1:0"));
    ck_assert_int_eq(cmio_registry_deregister(k.r, k.s.fd), 0);
    cmio_tcp_stream_close(&k.s);
    ck_assert(wait_for(k.p, k.ev, CLIENT, CMIO_EVENT_READ_CLOSED, WAIT_MS) & CMIO_EVENT_READ_CLOSED);
    ssize_t rc = 0;
    int64_t deadline = now_ms() + WAIT_MS;
    for (int i = 0; i < 1000 && now_ms() < deadline; i++) {
        rc = cmio_tcp_stream_write(&k.c, DATA1, DATA1_LEN);
        if (rc == -EAGAIN) {
            wait_for(k.p, k.ev, CLIENT, 0, QUIET_MS);
            continue;
        }
        if (rc < 0)
            break;
        ck_assert_int_eq(rc, (ssize_t)DATA1_LEN);
    }
    ck_assert_msg(rc == -EPIPE || rc == -ECONNRESET, "write returned %zd", rc);
    /* And again: still an error, still no signal. */
    rc = cmio_tcp_stream_write(&k.c, DATA1, DATA1_LEN);
    ck_assert_msg(rc == -EPIPE || rc == -ECONNRESET, "write returned %zd", rc);
    struct iovec v = {(void *)DATA2, DATA2_LEN};
    rc = cmio_tcp_stream_writev(&k.c, &v, 1);
    ck_assert_msg(rc == -EPIPE || rc == -ECONNRESET, "writev returned %zd", rc);
    close_conn(&k);
}
END_TEST

/* mio's shutdown_write: writing after one's own shutdown is -EPIPE (and no
 * SIGPIPE); reading still works. */
START_TEST(test_shutdown_write_then_write_fails)
{
    sigpipe_deadly();
    struct conn k;
    ck_assert(open_conn(&k, _i, "127.0.0.1:0"));
    ck_assert_int_eq(cmio_tcp_stream_write(&k.c, DATA1, DATA1_LEN), (ssize_t)DATA1_LEN);
    ck_assert_int_eq(cmio_tcp_stream_shutdown(&k.c, CMIO_SHUTDOWN_WRITE), 0);
    ck_assert_int_eq(cmio_tcp_stream_write(&k.c, DATA2, DATA2_LEN), -EPIPE);
    char buf[32];
    read_exactly(&k, &k.s, SERVER, buf, DATA1_LEN);
    ck_assert_int_eq(cmio_tcp_stream_write(&k.s, buf, DATA1_LEN), (ssize_t)DATA1_LEN);
    read_exactly(&k, &k.c, CLIENT, buf, DATA1_LEN);
    ck_assert_int_eq(memcmp(buf, DATA1, DATA1_LEN), 0);
    close_conn(&k);
}
END_TEST

/* mio's shutdown_read and shutdown_both. */
START_TEST(test_shutdown_read_and_both)
{
    sigpipe_deadly();
    struct conn k;
    ck_assert(open_conn(&k, _i, "127.0.0.1:0"));
    char buf[32];
    ck_assert_int_eq(cmio_tcp_stream_shutdown(&k.c, CMIO_SHUTDOWN_READ), 0);
    ck_assert_int_eq(cmio_tcp_stream_read(&k.c, buf, sizeof(buf)), 0);
    ck_assert_int_eq(cmio_tcp_stream_shutdown(&k.s, CMIO_SHUTDOWN_BOTH), 0);
    ck_assert_int_eq(cmio_tcp_stream_read(&k.s, buf, sizeof(buf)), 0);
    ck_assert_int_eq(cmio_tcp_stream_write(&k.s, DATA2, DATA2_LEN), -EPIPE);
    close_conn(&k);
}
END_TEST

/* mio's tcp_reset_close_event: a reset shows as read-closed, and read
 * returns the reset. */
START_TEST(test_reset_is_reported)
{
    struct conn k;
    ck_assert(open_conn(&k, _i, "127.0.0.1:0"));
    reset_by_server(&k);
    uint32_t seen = wait_for(k.p, k.ev, CLIENT, CMIO_EVENT_READ_CLOSED, WAIT_MS);
    ck_assert(seen & CMIO_EVENT_READ_CLOSED);
    char buf[8];
    ssize_t n = cmio_tcp_stream_read(&k.c, buf, sizeof(buf));
    ck_assert_msg(n == -ECONNRESET || n == 0, "read returned %zd", n);
    close_conn(&k);
}
END_TEST

/* A connection whose server side was reported readable with 3 bytes it
 * has not read. */
static void open_undrained(struct conn *k, int backend)
{
    ck_assert(open_conn(k, backend, "127.0.0.1:0"));
    ck_assert_int_eq(cmio_tcp_stream_write(&k->c, "abc", 3), 3);
    ck_assert(wait_for(k->p, k->ev, SERVER, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
}

/* Defect 3 of issue 9: readable data that was reported and not drained does
 * not hide what comes after it. The peer's shutdown (POLLRDHUP on poll(2))
 * is reported as read-closed on its own, as epoll reports it. */
START_TEST(test_read_closed_after_undrained_data)
{
    struct conn k;
    open_undrained(&k, _i);
    /* Not drained: the peer shuts its writing down. */
    ck_assert_int_eq(cmio_tcp_stream_shutdown(&k.c, CMIO_SHUTDOWN_WRITE), 0);
    char buf[8];
    if (cmio__poll_caps(k.p) & CMIO__SEL_FIN_AFTER_DATA) {
        /* The shutdown may come once the data is read (Wine's AFD). */
        ck_assert_int_eq(cmio_tcp_stream_read(&k.s, buf, sizeof(buf)), 3);
        ck_assert(wait_for(k.p, k.ev, SERVER, CMIO_EVENT_READ_CLOSED, WAIT_MS) & CMIO_EVENT_READ_CLOSED);
        ck_assert_int_eq(cmio_tcp_stream_read(&k.s, buf, sizeof(buf)), 0);
        close_conn(&k);
        return;
    }
    ck_assert(wait_for(k.p, k.ev, SERVER, CMIO_EVENT_READ_CLOSED, WAIT_MS) & CMIO_EVENT_READ_CLOSED);
    ck_assert_int_eq(cmio_tcp_stream_read(&k.s, buf, sizeof(buf)), 3);
    ck_assert_int_eq(cmio_tcp_stream_read(&k.s, buf, sizeof(buf)), 0);
    close_conn(&k);
}
END_TEST

/* The same with a local read-side shutdown (mio's tcp_shutdown_client_read
 * and unix_stream_shutdown_read). */
START_TEST(test_shutdown_read_after_undrained_data)
{
    struct conn k;
    open_undrained(&k, _i);
    ck_assert_int_eq(cmio_tcp_stream_shutdown(&k.s, CMIO_SHUTDOWN_READ), 0);
    if (cmio__poll_caps(k.p) & CMIO__SEL_LOCAL_SHUTDOWN_SILENT) {
        /* Not an event here (AFD): the read says it, data or not. */
        ck_assert_int_eq(count_events(k.p, k.ev, SERVER, QUIET_MS), 0);
        char buf[8];
        ck_assert_int_eq(cmio_tcp_stream_read(&k.s, buf, sizeof(buf)), 0);
    } else {
        ck_assert(wait_for(k.p, k.ev, SERVER, CMIO_EVENT_READ_CLOSED, WAIT_MS) & CMIO_EVENT_READ_CLOSED);
    }
    close_conn(&k);
}
END_TEST

/* Defect 4 of issue 9: peer_addr on a connection that was reset answers
 * -ENOTCONN for good; it must not re-arm the stream (on poll(2) that gave
 * the hang-up again at every poll). Only a connect in progress re-arms. */
START_TEST(test_peer_addr_after_reset_does_not_rearm)
{
    struct conn k;
    ck_assert(open_conn(&k, _i, "127.0.0.1:0"));
    reset_by_server(&k);
    ck_assert(wait_for(k.p, k.ev, CLIENT, CMIO_EVENT_READ_CLOSED, WAIT_MS) & CMIO_EVENT_READ_CLOSED);
    cmio_sockaddr peer;
    ck_assert_int_eq(cmio_tcp_stream_peer_addr(&k.c, &peer), -ENOTCONN);
    /* A handler that logs the peer at each event: at most one more event
     * (one queued before the reset), not one per poll. */
    int events = 0;
    for (int round = 0; round < 50; round++) {
        int n = cmio_poll_poll(k.p, k.ev, 1);
        ck_assert_int_ge(n, 0);
        for (size_t i = 0; i < cmio_events_len(k.ev); i++) {
            if (cmio_event_token(cmio_events_get(k.ev, i)) != CLIENT)
                continue;
            events++;
            ck_assert_int_eq(cmio_tcp_stream_peer_addr(&k.c, &peer), -ENOTCONN);
        }
    }
    ck_assert_int_le(events, 1);
    close_conn(&k);
}
END_TEST

START_TEST(test_no_event_without_data)
{
    struct conn k;
    ck_assert(open_conn(&k, _i, "127.0.0.1:0"));
    ck_assert_int_eq(count_events(k.p, k.ev, SERVER, QUIET_MS), 0);
    close_conn(&k);
}
END_TEST

/* A bound, never listening socket: connections to its port are refused. */
static cmio_fd refusing_port(cmio_sockaddr *addr)
{
    cmio_fd holder = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert(holder != CMIO_FD_INVALID);
    *addr = parse_addr("127.0.0.1:0");
    ck_assert_int_eq(bind(holder, &addr->u.sa, addr->len), 0);
    socklen_t len = addr->len;
    ck_assert_int_eq(getsockname(holder, &addr->u.sa, &len), 0);
    return holder;
}

/* take_error takes the error: a second take reads 0 (on Windows, where
 * SO_ERROR keeps a failed connect's code, cmio remembers it taken). Twice
 * over: the second stream (whose handle may have the first one's value)
 * has its own error to take, which a closed socket's memory must not hide. */
START_TEST(test_connect_refused_via_take_error)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_sockaddr addr;
    cmio_fd holder = refusing_port(&addr);
    for (int round = 0; round < 2; round++) {
    cmio_tcp_stream c;
    int rc = cmio_tcp_stream_connect(&c, &addr);
    if (rc == -ECONNREFUSED) {
        ck_assert(c.fd == CMIO_FD_INVALID); /* refused at once: also correct */
    } else {
        ck_assert_int_eq(rc, 0);
        assert_nonblock_cloexec(c.fd);
        ck_assert_int_eq(cmio_registry_register(r, c.fd, CLIENT, CMIO_WRITABLE), 0);
        uint32_t seen = wait_for(p, ev, CLIENT, 0, WAIT_MS);
        ck_assert(seen & (CMIO_EVENT_ERROR | CMIO_EVENT_WRITE_CLOSED | CMIO_EVENT_WRITABLE));
        ck_assert_int_eq(cmio_tcp_stream_take_error(&c), -ECONNREFUSED);
        ck_assert_int_eq(cmio_tcp_stream_take_error(&c), 0);
        cmio_sockaddr peer;
        ck_assert_int_eq(cmio_tcp_stream_peer_addr(&c, &peer), -ENOTCONN);
        ck_assert_int_eq(cmio_registry_deregister(r, c.fd), 0);
        cmio_tcp_stream_close(&c);
    }
    }
    sock_close(holder);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* A failed call through cmio returns (and so takes) the pending error, as
 * the header says: after a refused connect a write fails, not -EAGAIN, and
 * take_error then reads 0 (on Windows, where the write's own code is not
 * SO_ERROR and SO_ERROR stays, cmio counts it taken by the failed call). */
START_TEST(test_failed_write_takes_refused_error)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_sockaddr addr;
    cmio_fd holder = refusing_port(&addr);
    cmio_tcp_stream c;
    int rc = cmio_tcp_stream_connect(&c, &addr);
    if (rc == -ECONNREFUSED) {
        ck_assert(c.fd == CMIO_FD_INVALID); /* refused at once: nothing pending */
    } else {
        ck_assert_int_eq(rc, 0);
        ck_assert_int_eq(cmio_registry_register(r, c.fd, CLIENT, CMIO_WRITABLE), 0);
        uint32_t seen = wait_for(p, ev, CLIENT, 0, WAIT_MS);
        ck_assert(seen & (CMIO_EVENT_ERROR | CMIO_EVENT_WRITE_CLOSED | CMIO_EVENT_WRITABLE));
        ssize_t n = cmio_tcp_stream_write(&c, "x", 1);
        ck_assert_int_lt(n, 0);
        ck_assert_int_ne(n, -EAGAIN);
        ck_assert_int_eq(cmio_tcp_stream_take_error(&c), 0);
        ck_assert_int_eq(cmio_registry_deregister(r, c.fd), 0);
        cmio_tcp_stream_close(&c);
    }
    sock_close(holder);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_accept_empty_queue)
{
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    ck_assert(bind_listener(&l, "127.0.0.1:0", &addr));
    cmio_tcp_stream s = {.fd = 7};
    cmio_sockaddr peer;
    ck_assert_int_eq(cmio_tcp_listener_accept(&l, &s, &peer), -EAGAIN);
    ck_assert(s.fd == CMIO_FD_INVALID);
    ck_assert_int_eq(cmio_tcp_listener_accept(&l, &s, NULL), -EAGAIN);
    cmio_tcp_listener_close(&l);
}
END_TEST

START_TEST(test_bind_busy_address)
{
    cmio_tcp_listener l1, l2 = {.fd = 5};
    cmio_sockaddr addr;
    ck_assert(bind_listener(&l1, "127.0.0.1:0", &addr));
    ck_assert_int_eq(cmio_tcp_listener_bind(&l2, &addr), -EADDRINUSE);
    ck_assert(l2.fd == CMIO_FD_INVALID);
    /* Once the first is closed the address is free again (SO_REUSEADDR). */
    cmio_tcp_listener_close(&l1);
    ck_assert_int_eq(cmio_tcp_listener_bind(&l2, &addr), 0);
    assert_nonblock_cloexec(l2.fd);
    cmio_tcp_listener_close(&l2);
}
END_TEST

START_TEST(test_bind_ipv6_listener)
{
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    if (!bind_listener(&l, "[::1]:0", &addr))
        return;
    ck_assert_int_eq(addr.u.sa.sa_family, AF_INET6);
    ck_assert(IN6_IS_ADDR_LOOPBACK(&addr.u.in6.sin6_addr));
    ck_assert_uint_ne(ntohs(addr.u.in6.sin6_port), 0);
    char text[CMIO_SOCKADDR_STRLEN];
    ck_assert_int_gt(cmio_sockaddr_format(&addr, text, sizeof(text)), 0);
    ck_assert(strncmp(text, "[::1]:", 6) == 0);
    cmio_tcp_listener_close(&l);
}
END_TEST

START_TEST(test_nodelay_and_ttl)
{
    struct conn k;
    ck_assert(open_conn(&k, _i, "127.0.0.1:0"));
    bool on = false;
    ck_assert_int_eq(cmio_tcp_stream_set_nodelay(&k.c, true), 0);
    ck_assert_int_eq(cmio_tcp_stream_nodelay(&k.c, &on), 0);
    ck_assert(on);
    ck_assert_int_eq(cmio_tcp_stream_set_nodelay(&k.c, false), 0);
    ck_assert_int_eq(cmio_tcp_stream_nodelay(&k.c, &on), 0);
    ck_assert(!on);

    uint32_t ttl = 0;
    ck_assert_int_eq(cmio_tcp_stream_set_ttl(&k.c, 10), 0);
    ck_assert_int_eq(cmio_tcp_stream_ttl(&k.c, &ttl), 0);
    ck_assert_uint_eq(ttl, 10);
    ck_assert_int_eq(cmio_tcp_stream_set_ttl(&k.c, 255), 0);
    ck_assert_int_eq(cmio_tcp_stream_ttl(&k.c, &ttl), 0);
    ck_assert_uint_eq(ttl, 255);
    ck_assert_int_eq(cmio_tcp_stream_set_ttl(&k.c, 256), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_ttl(&k.c, &ttl), 0);
    ck_assert_uint_eq(ttl, 255);

    ck_assert_int_eq(cmio_tcp_listener_set_ttl(&k.l, 42), 0);
    ck_assert_int_eq(cmio_tcp_listener_ttl(&k.l, &ttl), 0);
    ck_assert_uint_eq(ttl, 42);
    ck_assert_int_eq(cmio_tcp_listener_set_ttl(&k.l, 256), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_take_error(&k.c), 0);
    ck_assert_int_eq(cmio_tcp_listener_take_error(&k.l), 0);
    close_conn(&k);
}
END_TEST

START_TEST(test_ttl_ipv6)
{
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    if (!bind_listener(&l, "[::1]:0", &addr))
        return;
    uint32_t ttl = 0;
    ck_assert_int_eq(cmio_tcp_listener_set_ttl(&l, 33), 0);
    ck_assert_int_eq(cmio_tcp_listener_ttl(&l, &ttl), 0);
    ck_assert_uint_eq(ttl, 33);
    cmio_tcp_listener_close(&l);
}
END_TEST

/* 500 connections through one poll: every client connects and writes its
 * index, every accepted stream is read, every token accounted for. */
START_TEST(test_many_connections)
{
    enum { N = 500, MSG = 4 };
    need_descriptors(2 * N + 64);

    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(256);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    ck_assert(bind_listener(&l, "127.0.0.1:0", &addr));
    ck_assert_int_eq(cmio_registry_register(r, l.fd, LISTENER, CMIO_READABLE), 0);

    /* Client i has token 1000 + i; the i-th accepted stream 2000 + i. */
    static cmio_tcp_stream clients[N], servers[N];
    static bool wrote[N], heard[N];
    static unsigned char got[N][MSG];
    static size_t got_len[N];
    memset(wrote, 0, sizeof(wrote));
    memset(heard, 0, sizeof(heard));
    memset(got_len, 0, sizeof(got_len));
    int connected = 0, accepted = 0, nwrote = 0, nheard = 0;
    int64_t deadline = now_ms() + 30000;
    for (int round = 0; nheard < N && round < 100000 && now_ms() < deadline; round++) {
        /* Keep at most 64 connections waiting in the backlog. */
        while (connected < N && connected - accepted < 64) {
            ck_assert_int_eq(cmio_tcp_stream_connect(&clients[connected], &addr), 0);
            assert_nonblock_cloexec(clients[connected].fd);
            ck_assert_int_eq(
                cmio_registry_register(r, clients[connected].fd, 1000 + (cmio_token)connected, CMIO_WRITABLE),
                0);
            connected++;
        }
        ck_assert_int_ge(cmio_poll_poll(p, ev, WAIT_MS), 0);
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            const cmio_event *e = cmio_events_get(ev, i);
            cmio_token t = cmio_event_token(e);
            ck_assert(!cmio_event_is_error(e));
            if (t == LISTENER) {
                while (accepted < N) {
                    int rc = cmio_tcp_listener_accept(&l, &servers[accepted], NULL);
                    if (rc == -EAGAIN)
                        break;
                    ck_assert_int_eq(rc, 0);
                    assert_nonblock_cloexec(servers[accepted].fd);
                    ck_assert_int_eq(cmio_registry_register(r, servers[accepted].fd,
                                                            2000 + (cmio_token)accepted, CMIO_READABLE),
                                     0);
                    accepted++;
                }
            } else if (t >= 1000 && t < 1000 + N) {
                size_t c = t - 1000;
                ck_assert(cmio_event_is_writable(e));
                if (wrote[c])
                    continue;
                ck_assert_int_eq(cmio_tcp_stream_take_error(&clients[c]), 0);
                uint32_t idx = htonl((uint32_t)c);
                ck_assert_int_eq(cmio_tcp_stream_write(&clients[c], &idx, MSG), MSG);
                wrote[c] = true;
                nwrote++;
            } else if (t >= 2000 && t < 2000 + N) {
                size_t s = t - 2000;
                for (int k = 0; k < 10; k++) {
                    ssize_t n = cmio_tcp_stream_read(&servers[s], got[s] + got_len[s], MSG - got_len[s]);
                    if (n == -EAGAIN || got_len[s] == MSG)
                        break;
                    ck_assert_int_gt(n, 0);
                    got_len[s] += (size_t)n;
                }
                if (got_len[s] == MSG && !heard[s]) {
                    uint32_t idx;
                    memcpy(&idx, got[s], MSG);
                    idx = ntohl(idx);
                    ck_assert_uint_lt(idx, N);
                    ck_assert(wrote[idx]);
                    heard[s] = true;
                    nheard++;
                }
            } else {
                ck_abort_msg("unexpected token %ju", (uintmax_t)t);
            }
        }
    }
    ck_assert_int_eq(connected, N);
    ck_assert_int_eq(accepted, N);
    ck_assert_int_eq(nwrote, N);
    ck_assert_int_eq(nheard, N);
    /* Each client's index arrived exactly once. */
    static bool seen[N];
    memset(seen, 0, sizeof(seen));
    for (cmio_fd s = 0; s < N; s++) {
        uint32_t idx;
        memcpy(&idx, got[s], MSG);
        idx = ntohl(idx);
        ck_assert(!seen[idx]);
        seen[idx] = true;
    }
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(cmio_registry_deregister(r, clients[i].fd), 0);
        ck_assert_int_eq(cmio_registry_deregister(r, servers[i].fd), 0);
        cmio_tcp_stream_close(&clients[i]);
        cmio_tcp_stream_close(&servers[i]);
    }
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_tcp_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_from_fd_makes_nonblocking)
{
    /* A blocking listening socket, adopted. */
    cmio_fd fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert(fd != CMIO_FD_INVALID);
    cmio_sockaddr addr = parse_addr("127.0.0.1:0");
    ck_assert_int_eq(bind(fd, &addr.u.sa, addr.len), 0);
    ck_assert_int_eq(listen(fd, 8), 0);
    ck_assert_int_ne(sock_nonblocking(fd), 1);
    cmio_tcp_listener l;
    ck_assert_int_eq(cmio_tcp_listener_from_fd(&l, fd), 0);
    ck_assert_int_eq(l.fd, fd);
    assert_nonblock_cloexec(l.fd);
    cmio_tcp_stream s;
    ck_assert_int_eq(cmio_tcp_listener_accept(&l, &s, NULL), -EAGAIN); /* it would have blocked */
    ck_assert_int_eq(cmio_tcp_listener_local_addr(&l, &addr), 0);

    /* A blocking connected socket, adopted. */
    cmio_fd cfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert(cfd != CMIO_FD_INVALID);
    ck_assert_int_eq(connect(cfd, &addr.u.sa, addr.len), 0);
    cmio_tcp_stream c;
    ck_assert_int_eq(cmio_tcp_stream_from_fd(&c, cfd), 0);
    assert_nonblock_cloexec(c.fd);
    char buf[4];
    ck_assert_int_eq(cmio_tcp_stream_read(&c, buf, sizeof(buf)), -EAGAIN);
    cmio_sockaddr local;
    ck_assert_int_eq(cmio_tcp_stream_local_addr(&c, &local), 0);
    ck_assert_int_eq(cmio_tcp_listener_accept(&l, &s, NULL), 0);
    assert_nonblock_cloexec(s.fd);

    cmio_tcp_stream bad = {.fd = 3};
    ck_assert_int_eq(cmio_tcp_stream_from_fd(&bad, -1), -EBADF);
    ck_assert(bad.fd == CMIO_FD_INVALID);
    ck_assert_int_eq(cmio_tcp_stream_from_fd(NULL, cfd), -EINVAL);
    cmio_tcp_listener badl = {.fd = 3};
    ck_assert_int_eq(cmio_tcp_listener_from_fd(&badl, -1), -EBADF);
    ck_assert(badl.fd == CMIO_FD_INVALID);
    ck_assert_int_eq(cmio_tcp_listener_from_fd(NULL, fd), -EINVAL);

    cmio_tcp_stream_close(&c);
    cmio_tcp_stream_close(&s);
    cmio_tcp_listener_close(&l);
}
END_TEST

START_TEST(test_close_is_idempotent)
{
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    ck_assert(bind_listener(&l, "127.0.0.1:0", &addr));
    cmio_tcp_stream c;
    ck_assert_int_eq(cmio_tcp_stream_connect(&c, &addr), 0);
    assert_nonblock_cloexec(c.fd);
    cmio_fd cfd = c.fd;
    cmio_tcp_stream_close(&c);
    ck_assert(c.fd == CMIO_FD_INVALID);
    ck_assert(!sock_is_open(cfd)); /* really closed */
    cmio_tcp_stream_close(&c);
    ck_assert(c.fd == CMIO_FD_INVALID);
    cmio_tcp_stream_close(NULL);
    cmio_tcp_listener_close(&l);
    ck_assert(l.fd == CMIO_FD_INVALID);
    cmio_tcp_listener_close(&l);
    ck_assert(l.fd == CMIO_FD_INVALID);
    cmio_tcp_listener_close(NULL);
    /* A closed socket answers -EBADF. */
    char buf[4];
    ck_assert_int_eq(cmio_tcp_stream_read(&c, buf, sizeof(buf)), -EBADF);
    ck_assert_int_eq(cmio_tcp_listener_take_error(&l), -EBADF);
}
END_TEST

START_TEST(test_invalid_arguments)
{
    cmio_sockaddr ip = parse_addr("127.0.0.1:1"), un, a;
    ck_assert_int_eq(cmio_sockaddr_from_path(&un, "/tmp/cmio-tcp-invalid"), 0);
    cmio_tcp_listener l = {.fd = 9};
    cmio_tcp_stream s = {.fd = 9};
    char buf[4] = {0};
    uint32_t ttl;
    bool on;
    struct iovec v = {buf, sizeof(buf)};

    /* Constructors: NULL, the wrong family; out->fd is -1 after. */
    ck_assert_int_eq(cmio_tcp_listener_bind(NULL, &ip), -EINVAL);
    ck_assert_int_eq(cmio_tcp_listener_bind(&l, NULL), -EINVAL);
    ck_assert(l.fd == CMIO_FD_INVALID);
    l.fd = 9;
    ck_assert_int_eq(cmio_tcp_listener_bind(&l, &un), -EINVAL);
    ck_assert(l.fd == CMIO_FD_INVALID);
    ck_assert_int_eq(cmio_tcp_stream_connect(NULL, &ip), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_connect(&s, NULL), -EINVAL);
    ck_assert(s.fd == CMIO_FD_INVALID);
    s.fd = 9;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s, &un), -EINVAL);
    ck_assert(s.fd == CMIO_FD_INVALID);
    memset(&a, 0, sizeof(a));
    a.u.sa.sa_family = AF_UNSPEC;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s, &a), -EINVAL);
    ck_assert_int_eq(cmio_tcp_listener_accept(NULL, &s, NULL), -EINVAL);
    ck_assert(s.fd == CMIO_FD_INVALID);

    /* NULL socket. */
    ck_assert_int_eq(cmio_tcp_listener_accept(&l, NULL, NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_listener_local_addr(NULL, &a), -EINVAL);
    ck_assert_int_eq(cmio_tcp_listener_set_ttl(NULL, 1), -EINVAL);
    ck_assert_int_eq(cmio_tcp_listener_ttl(NULL, &ttl), -EINVAL);
    ck_assert_int_eq(cmio_tcp_listener_take_error(NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_read(NULL, buf, 1), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_write(NULL, buf, 1), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_readv(NULL, &v, 1), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_writev(NULL, &v, 1), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_peek(NULL, buf, 1), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_shutdown(NULL, CMIO_SHUTDOWN_BOTH), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_set_nodelay(NULL, true), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_nodelay(NULL, &on), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_set_ttl(NULL, 1), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_ttl(NULL, &ttl), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_local_addr(NULL, &a), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_peer_addr(NULL, &a), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_take_error(NULL), -EINVAL);

    /* Closed socket (fd -1). */
    l.fd = -1;
    s.fd = -1;
    cmio_tcp_stream out;
    ck_assert_int_eq(cmio_tcp_listener_accept(&l, &out, NULL), -EBADF);
    ck_assert_int_eq(cmio_tcp_listener_local_addr(&l, &a), -EBADF);
    ck_assert_int_eq(cmio_tcp_listener_set_ttl(&l, 1), -EBADF);
    ck_assert_int_eq(cmio_tcp_listener_ttl(&l, &ttl), -EBADF);
    ck_assert_int_eq(cmio_tcp_listener_take_error(&l), -EBADF);
    ck_assert_int_eq(cmio_tcp_stream_read(&s, buf, 1), -EBADF);
    ck_assert_int_eq(cmio_tcp_stream_write(&s, buf, 1), -EBADF);
    ck_assert_int_eq(cmio_tcp_stream_readv(&s, &v, 1), -EBADF);
    ck_assert_int_eq(cmio_tcp_stream_writev(&s, &v, 1), -EBADF);
    ck_assert_int_eq(cmio_tcp_stream_peek(&s, buf, 1), -EBADF);
    ck_assert_int_eq(cmio_tcp_stream_shutdown(&s, CMIO_SHUTDOWN_BOTH), -EBADF);
    ck_assert_int_eq(cmio_tcp_stream_set_nodelay(&s, true), -EBADF);
    ck_assert_int_eq(cmio_tcp_stream_nodelay(&s, &on), -EBADF);
    ck_assert_int_eq(cmio_tcp_stream_set_ttl(&s, 1), -EBADF);
    ck_assert_int_eq(cmio_tcp_stream_ttl(&s, &ttl), -EBADF);
    ck_assert_int_eq(cmio_tcp_stream_local_addr(&s, &a), -EBADF);
    ck_assert_int_eq(cmio_tcp_stream_peer_addr(&s, &a), -EBADF);
    ck_assert_int_eq(cmio_tcp_stream_take_error(&s), -EBADF);

    /* Open sockets with bad arguments. */
    ck_assert(bind_listener(&l, "127.0.0.1:0", &a));
    ck_assert_int_eq(cmio_tcp_listener_local_addr(&l, NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_listener_ttl(&l, NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_connect(&s, &a), 0);
    assert_nonblock_cloexec(s.fd);
    ck_assert_int_eq(cmio_tcp_stream_shutdown(&s, (cmio_shutdown)3), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_shutdown(&s, (cmio_shutdown)-1), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_read(&s, NULL, 4), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_write(&s, NULL, 4), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_peek(&s, NULL, 4), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_nodelay(&s, NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_ttl(&s, NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_local_addr(&s, NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_peer_addr(&s, NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_listener_accept(&l, NULL, NULL), -EINVAL);
    cmio_tcp_stream_close(&s);
    cmio_tcp_listener_close(&l);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tcp");
    TCase *tc = tcase_create("tcp");
    tcase_set_timeout(tc, 60);
    add_backend_test(tc, test_connect_and_accept_report_events);
    add_backend_test(tc, test_stream_ipv4);
    add_backend_test(tc, test_stream_ipv6);
    add_backend_test(tc, test_peek_does_not_consume);
    add_backend_test(tc, test_readv_writev);
    add_backend_test(tc, test_large_transfer_edge_triggered);
    add_backend_test(tc, test_read_closed_then_end_of_stream);
    add_backend_test(tc, test_write_after_peer_closed_fails_without_sigpipe);
    add_backend_test(tc, test_shutdown_write_then_write_fails);
    add_backend_test(tc, test_shutdown_read_and_both);
    add_backend_test(tc, test_reset_is_reported);
    add_backend_test(tc, test_read_closed_after_undrained_data);
    add_backend_test(tc, test_shutdown_read_after_undrained_data);
    add_backend_test(tc, test_peer_addr_after_reset_does_not_rearm);
    add_backend_test(tc, test_no_event_without_data);
    add_backend_test(tc, test_connect_refused_via_take_error);
    add_backend_test(tc, test_failed_write_takes_refused_error);
    add_backend_test(tc, test_nodelay_and_ttl);
    add_backend_test(tc, test_many_connections);
    tcase_add_test(tc, test_accept_empty_queue);
    tcase_add_test(tc, test_bind_busy_address);
    tcase_add_test(tc, test_bind_ipv6_listener);
    tcase_add_test(tc, test_ttl_ipv6);
    tcase_add_test(tc, test_from_fd_makes_nonblocking);
    tcase_add_test(tc, test_close_is_idempotent);
    tcase_add_test(tc, test_invalid_arguments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
