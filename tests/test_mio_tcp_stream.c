/*
 * mio's tests/tcp_stream.rs, ported: each test that maps onto cmio has a
 * twin named mio_<test> (docs/porting-from-mio.md lists every test of the
 * file and its twin). mio's echo_listener and start_listener threads are a
 * plain blocking listener and its accepted connection, driven from the
 * test's thread: the echo happens where the test then waits for it, and
 * the close where mio's barrier lets the thread drop the connection.
 *
 * SPDX-License-Identifier: MIT
 */
#include "mio_tcp.h"

#if !defined(_WIN32)
#include <netinet/tcp.h>
#endif

enum { ID1 = 0, ID2 = 1 };

/* mio's echo_listener or start_listener: a plain listener on `text` and
 * the connection it accepted from a cmio stream. */
struct peer {
    cmio_fd lfd, conn;
    cmio_sockaddr addr;
};

static bool listen_on(struct peer *k, const char *text)
{
    k->conn = CMIO_FD_INVALID;
    k->lfd = plain_listener(text, &k->addr);
    return k->lfd != CMIO_FD_INVALID;
}

static void peer_accept(struct peer *k)
{
    k->conn = plain_accept(k->lfd);
}

/* The echo server's step: read exactly len bytes and write them back. */
static void echo(struct peer *k, size_t len)
{
    char buf[128];
    ck_assert_uint_le(len, sizeof(buf));
    plain_read_exact(k->conn, buf, len);
    plain_write_all(k->conn, buf, len);
}

/* The echo server's end: the client closed, so its read ends (a reset
 * counts as an end, as in mio's echo_listener). */
static void echo_end(struct peer *k)
{
    char buf[128];
    ssize_t n = 0;
    for (int round = 0; round < 1000; round++) {
        n = sock_recv(k->conn, buf, sizeof(buf));
        if (n <= 0)
            break;
    }
    ck_assert_msg(n == 0 || (n < 0 && (errno == ECONNRESET || errno == ECONNABORTED)), "echo read: %zd (%s)",
                  n, n < 0 ? cmio_strerror(-errno) : "data");
}

static void peer_close(struct peer *k)
{
    if (k->conn != CMIO_FD_INVALID)
        sock_close(k->conn);
    sock_close(k->lfd);
}

/* Deregisters a stream and closes it (mio's drop). */
static void drop_stream(cmio_poll *p, cmio_tcp_stream *s)
{
    ck_assert_int_eq(cmio_registry_deregister(cmio_poll_registry(p), s->fd), 0);
    cmio_tcp_stream_close(s);
}

/* mio's smoke_test_tcp_stream: `s` was made by connecting to k's
 * listener. */
static void smoke(int backend, struct peer *k, cmio_tcp_stream *s)
{
    cmio_poll *p = open_poll(backend);
    cmio_events *ev = open_events(16);
    assert_nonblock_cloexec(s->fd);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), s->fd, ID1, CMIO_WRITABLE | CMIO_READABLE),
                     0);
    if (k->conn == CMIO_FD_INVALID)
        peer_accept(k);
    expect_one(p, ev, ID1, CMIO_EVENT_WRITABLE);

    char buf[16];
    ck_assert_int_eq(cmio_tcp_stream_peek(s, buf, sizeof(buf)), -EAGAIN);
    ck_assert_int_eq(cmio_tcp_stream_read(s, buf, sizeof(buf)), -EAGAIN);

    /* peer_addr after the writable event: connected by then. */
    cmio_sockaddr got;
    ck_assert_int_eq(cmio_tcp_stream_peer_addr(s, &got), 0);
    ck_assert(same_addr(&got, &k->addr));
    ck_assert_int_eq(cmio_tcp_stream_local_addr(s, &got), 0);
    ck_assert(is_loopback(&got));

    ck_assert_int_eq(cmio_tcp_stream_write(s, DATA1, DATA1_LEN), (ssize_t)DATA1_LEN);
    echo(k, DATA1_LEN);
    expect_one(p, ev, ID1, CMIO_EVENT_READABLE);

    ck_assert_int_eq(cmio_tcp_stream_peek(s, buf, sizeof(buf)), (ssize_t)DATA1_LEN);
    ck_assert_mem_eq(buf, DATA1, DATA1_LEN);
    ck_assert_int_eq(cmio_tcp_stream_read(s, buf, sizeof(buf)), (ssize_t)DATA1_LEN);
    ck_assert_mem_eq(buf, DATA1, DATA1_LEN);
    ck_assert_int_eq(cmio_tcp_stream_take_error(s), 0);
    ck_assert_int_eq(cmio_tcp_stream_read(s, buf, sizeof(buf)), -EAGAIN);

    struct iovec out[2] = {{(void *)DATA1, DATA1_LEN}, {(void *)DATA2, DATA2_LEN}};
    ck_assert_int_eq(cmio_tcp_stream_writev(s, out, 2), (ssize_t)(DATA1_LEN + DATA2_LEN));
    echo(k, DATA1_LEN + DATA2_LEN);
    expect_one(p, ev, ID1, CMIO_EVENT_READABLE);

    char buf1[DATA1_LEN], buf2[DATA2_LEN + 1];
    memset(buf1, 1, sizeof(buf1));
    memset(buf2, 2, sizeof(buf2));
    struct iovec in[2] = {{buf1, sizeof(buf1)}, {buf2, sizeof(buf2)}};
    ck_assert_int_eq(cmio_tcp_stream_readv(s, in, 2), (ssize_t)(DATA1_LEN + DATA2_LEN));
    ck_assert_mem_eq(buf1, DATA1, DATA1_LEN);
    ck_assert_mem_eq(buf2, DATA2, DATA2_LEN);
    ck_assert_int_eq(buf2[DATA2_LEN], 2); /* the last byte is left alone */

    /* Closing the connection lets the echo server end. */
    drop_stream(p, s);
    echo_end(k);
    peer_close(k);
    cmio_events_free(ev);
    cmio_poll_free(p);
}

START_TEST(mio_tcp_stream_ipv4)
{
    struct peer k;
    ck_assert(listen_on(&k, "127.0.0.1:0"));
    cmio_tcp_stream s;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s, &k.addr), 0);
    smoke(_i, &k, &s);
}
END_TEST

START_TEST(mio_tcp_stream_ipv6)
{
    struct peer k;
    if (!listen_on(&k, "[::1]:0"))
        return;
    cmio_tcp_stream s;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s, &k.addr), 0);
    smoke(_i, &k, &s);
}
END_TEST

/* std::net's stream is a blocking, connected socket of plain socket calls;
 * from_fd adopts it and makes it non-blocking and close-on-exec. */
START_TEST(mio_tcp_stream_std)
{
    struct peer k;
    ck_assert(listen_on(&k, "127.0.0.1:0"));
    cmio_fd fd = plain_connect(&k.addr);
    ck_assert_int_ne(sock_nonblocking(fd), 1);
    cmio_tcp_stream s;
    ck_assert_int_eq(cmio_tcp_stream_from_fd(&s, fd), 0);
    ck_assert_int_eq(s.fd, fd);
    smoke(_i, &k, &s);
}
END_TEST

/* The start of mio's option tests: a stream connected to a start_listener
 * (whose accepted connection the test closes at its end), registered
 * WRITABLE as ID1 and seen writable (connected). */
struct opt_conn {
    cmio_poll *p;
    cmio_events *ev;
    struct peer k;
    cmio_tcp_stream s;
};

static void opt_open(struct opt_conn *c, int backend)
{
    c->p = open_poll(backend);
    c->ev = open_events(16);
    ck_assert(listen_on(&c->k, "127.0.0.1:0"));
    ck_assert_int_eq(cmio_tcp_stream_connect(&c->s, &c->k.addr), 0);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(c->p), c->s.fd, ID1, CMIO_WRITABLE), 0);
    expect_one(c->p, c->ev, ID1, CMIO_EVENT_WRITABLE);
}

static void opt_close(struct opt_conn *c)
{
    peer_accept(&c->k); /* mio's barrier: the listener thread accepted and drops it */
    drop_stream(c->p, &c->s);
    peer_close(&c->k);
    cmio_events_free(c->ev);
    cmio_poll_free(c->p);
}

START_TEST(mio_set_get_ttl)
{
    struct opt_conn c;
    opt_open(&c, _i);
    ck_assert_int_eq(cmio_tcp_stream_set_ttl(&c.s, 10), 0);
    uint32_t ttl = 0;
    ck_assert_int_eq(cmio_tcp_stream_ttl(&c.s, &ttl), 0);
    ck_assert_uint_eq(ttl, 10);
    ck_assert_int_eq(cmio_tcp_stream_take_error(&c.s), 0);
    opt_close(&c);
}
END_TEST

START_TEST(mio_get_ttl_without_previous_set)
{
    struct opt_conn c;
    opt_open(&c, _i);
    uint32_t ttl = 0;
    ck_assert_int_eq(cmio_tcp_stream_ttl(&c.s, &ttl), 0);
    ck_assert(ttl >= 1 && ttl <= 255);
    ck_assert_int_eq(cmio_tcp_stream_take_error(&c.s), 0);
    opt_close(&c);
}
END_TEST

START_TEST(mio_set_get_nodelay)
{
    struct opt_conn c;
    opt_open(&c, _i);
    ck_assert_int_eq(cmio_tcp_stream_set_nodelay(&c.s, true), 0);
    bool on = false;
    ck_assert_int_eq(cmio_tcp_stream_nodelay(&c.s, &on), 0);
    ck_assert(on);
    ck_assert_int_eq(cmio_tcp_stream_take_error(&c.s), 0);
    opt_close(&c);
}
END_TEST

START_TEST(mio_get_nodelay_without_previous_set)
{
    struct opt_conn c;
    opt_open(&c, _i);
    bool on = true;
    ck_assert_int_eq(cmio_tcp_stream_nodelay(&c.s, &on), 0);
    ck_assert(!on); /* Nagle's algorithm is on by default */
    ck_assert_int_eq(cmio_tcp_stream_take_error(&c.s), 0);
    opt_close(&c);
}
END_TEST

/* The start of mio's shutdown tests: a stream connected to an echo
 * listener, registered WRITABLE | READABLE as ID1, seen writable. */
static void echo_open(cmio_poll **p, cmio_events **ev, struct peer *k, cmio_tcp_stream *s, int backend)
{
    *p = open_poll(backend);
    *ev = open_events(16);
    ck_assert(listen_on(k, "127.0.0.1:0"));
    ck_assert_int_eq(cmio_tcp_stream_connect(s, &k->addr), 0);
    ck_assert_int_eq(
        cmio_registry_register(cmio_poll_registry(*p), s->fd, ID1, CMIO_WRITABLE | CMIO_READABLE), 0);
    peer_accept(k);
    expect_one(*p, *ev, ID1, CMIO_EVENT_WRITABLE);
}

/* After shutdown(Read), mio reads nothing on the BSDs and macOS and makes
 * no claim on Linux, where what was queued stays readable. Either way the
 * stream ends after `queued`. */
static void read_after_shutdown_read(cmio_tcp_stream *s, const char *queued, size_t len)
{
    char buf[20];
    ssize_t n = cmio_tcp_stream_read(s, buf, sizeof(buf));
    if (n > 0) {
        ck_assert_int_eq(n, (ssize_t)len);
        ck_assert_mem_eq(buf, queued, len);
        n = cmio_tcp_stream_read(s, buf, sizeof(buf));
    }
    ck_assert_int_eq(n, 0);
}

START_TEST(mio_shutdown_read)
{
    cmio_poll *p;
    cmio_events *ev;
    struct peer k;
    cmio_tcp_stream s;
    echo_open(&p, &ev, &k, &s, _i);

    ck_assert_int_eq(cmio_tcp_stream_write(&s, DATA2, DATA2_LEN), (ssize_t)DATA2_LEN);
    echo(&k, DATA2_LEN);
    expect_one(p, ev, ID1, CMIO_EVENT_READABLE);

    ck_assert_int_eq(cmio_tcp_stream_shutdown(&s, CMIO_SHUTDOWN_READ), 0);
    read_after_shutdown_read(&s, DATA2, DATA2_LEN);

    drop_stream(p, &s);
    echo_end(&k);
    peer_close(&k);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* mio ignores this test as flaky: its echo thread may not have echoed when
 * the test waits. Here the echo is done before the wait. */
START_TEST(mio_shutdown_write)
{
    cmio_poll *p;
    cmio_events *ev;
    struct peer k;
    cmio_tcp_stream s;
    echo_open(&p, &ev, &k, &s, _i);

    ck_assert_int_eq(cmio_tcp_stream_write(&s, DATA1, DATA1_LEN), (ssize_t)DATA1_LEN);
    ck_assert_int_eq(cmio_tcp_stream_shutdown(&s, CMIO_SHUTDOWN_WRITE), 0);
    ck_assert_int_eq(cmio_tcp_stream_write(&s, DATA2, DATA2_LEN), -EPIPE);

    echo(&k, DATA1_LEN);
    expect_one(p, ev, ID1, CMIO_EVENT_READABLE);

    /* Reading still works. */
    char buf[20];
    ck_assert_int_eq(cmio_tcp_stream_read(&s, buf, sizeof(buf)), (ssize_t)DATA1_LEN);
    ck_assert_mem_eq(buf, DATA1, DATA1_LEN);

    drop_stream(p, &s);
    echo_end(&k);
    peer_close(&k);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_shutdown_both)
{
    cmio_poll *p;
    cmio_events *ev;
    struct peer k;
    cmio_tcp_stream s;
    echo_open(&p, &ev, &k, &s, _i);

    ck_assert_int_eq(cmio_tcp_stream_write(&s, DATA1, DATA1_LEN), (ssize_t)DATA1_LEN);
    echo(&k, DATA1_LEN);
    expect_one(p, ev, ID1, CMIO_EVENT_READABLE);

    ck_assert_int_eq(cmio_tcp_stream_shutdown(&s, CMIO_SHUTDOWN_BOTH), 0);
    read_after_shutdown_read(&s, DATA1, DATA1_LEN);
    ck_assert_int_eq(cmio_tcp_stream_write(&s, DATA2, DATA2_LEN), -EPIPE);

    drop_stream(p, &s);
    echo_end(&k);
    peer_close(&k);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* as_raw_fd is s.fd; into_raw_fd takes it; from_raw_fd (from_fd) adopts
 * the same descriptor, not a copy. */
START_TEST(mio_raw_fd)
{
    struct peer k;
    ck_assert(listen_on(&k, "127.0.0.1:0"));
    cmio_tcp_stream s;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s, &k.addr), 0);
    cmio_sockaddr address, got;
    ck_assert_int_eq(cmio_tcp_stream_local_addr(&s, &address), 0);
    cmio_fd raw = s.fd;
    cmio_tcp_stream s2;
    ck_assert_int_eq(cmio_tcp_stream_from_fd(&s2, raw), 0);
    ck_assert_int_eq(s2.fd, raw);
    ck_assert_int_eq(cmio_tcp_stream_local_addr(&s2, &got), 0);
    ck_assert(same_addr(&got, &address));
    cmio_tcp_stream_close(&s2);
    peer_accept(&k);
    peer_close(&k);
}
END_TEST

START_TEST(mio_registering)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    struct peer k;
    ck_assert(listen_on(&k, "127.0.0.1:0"));
    cmio_tcp_stream s;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s, &k.addr), 0);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), s.fd, ID1, CMIO_READABLE), 0);
    peer_accept(&k);
    expect_no_events(p, ev);

    drop_stream(p, &s);
    echo_end(&k);
    peer_close(&k);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_reregistering)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    struct peer k;
    ck_assert(listen_on(&k, "127.0.0.1:0"));
    cmio_tcp_stream s;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s, &k.addr), 0);
    ck_assert_int_eq(cmio_registry_register(r, s.fd, ID1, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_reregister(r, s.fd, ID2, CMIO_WRITABLE), 0);
    peer_accept(&k);
    expect_one(p, ev, ID2, CMIO_EVENT_WRITABLE);
    cmio_sockaddr got;
    ck_assert_int_eq(cmio_tcp_stream_peer_addr(&s, &got), 0);
    ck_assert(same_addr(&got, &k.addr));

    drop_stream(p, &s);
    echo_end(&k);
    peer_close(&k);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_no_events_after_deregister)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    struct peer k;
    ck_assert(listen_on(&k, "127.0.0.1:0"));
    cmio_tcp_stream s;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s, &k.addr), 0);
    ck_assert_int_eq(cmio_registry_register(r, s.fd, ID1, CMIO_WRITABLE | CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, s.fd), 0);
    peer_accept(&k);
    expect_no_events(p, ev);

    /* Connected, and reads and writes work. */
    cmio_sockaddr got;
    ck_assert_int_eq(cmio_tcp_stream_peer_addr(&s, &got), 0);
    ck_assert(same_addr(&got, &k.addr));
    char buf[16];
    ck_assert_int_eq(cmio_tcp_stream_peek(&s, buf, sizeof(buf)), -EAGAIN);
    ck_assert_int_eq(cmio_tcp_stream_read(&s, buf, sizeof(buf)), -EAGAIN);
    ck_assert_int_eq(cmio_tcp_stream_write(&s, DATA1, DATA1_LEN), (ssize_t)DATA1_LEN);
    echo(&k, DATA1_LEN);
    expect_no_events(p, ev);

    cmio_tcp_stream_close(&s);
    echo_end(&k);
    peer_close(&k);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* The start of mio's close-event tests: a stream connected to a
 * start_listener, registered READABLE | WRITABLE as ID1, seen writable. */
static void close_open(cmio_poll **p, cmio_events **ev, struct peer *k, cmio_tcp_stream *s, int backend)
{
    *p = open_poll(backend);
    *ev = open_events(16);
    ck_assert(listen_on(k, "127.0.0.1:0"));
    ck_assert_int_eq(cmio_tcp_stream_connect(s, &k->addr), 0);
    ck_assert_int_eq(
        cmio_registry_register(cmio_poll_registry(*p), s->fd, ID1, CMIO_READABLE | CMIO_WRITABLE), 0);
    peer_accept(k);
    expect_one(*p, *ev, ID1, CMIO_EVENT_WRITABLE);
}

static void close_end(cmio_poll *p, cmio_events *ev, struct peer *k, cmio_tcp_stream *s)
{
    drop_stream(p, s);
    peer_close(k);
    cmio_events_free(ev);
    cmio_poll_free(p);
}

START_TEST(mio_tcp_shutdown_client_read_close_event)
{
    cmio_poll *p;
    cmio_events *ev;
    struct peer k;
    cmio_tcp_stream s;
    close_open(&p, &ev, &k, &s, _i);
    ck_assert_int_eq(cmio_tcp_stream_shutdown(&s, CMIO_SHUTDOWN_READ), 0);
    if (cmio__poll_caps(p) & CMIO__SEL_LOCAL_SHUTDOWN_SILENT) {
        /* Not an event here (AFD): the read says it. */
        expect_no_events(p, ev);
        char c;
        ck_assert_int_eq(cmio_tcp_stream_read(&s, &c, 1), 0);
    } else {
        expect_one(p, ev, ID1, CMIO_EVENT_READ_CLOSED);
    }
    close_end(p, ev, &k, &s);
}
END_TEST

/* mio runs this one only on the BSDs and macOS: elsewhere (Linux, Android,
 * illumos, ...) shutting down only the writing side brings no
 * write-closed event (the kernel reports a hang-up when both sides are
 * shut), so the twin is added only there. */
START_TEST(mio_tcp_shutdown_client_write_close_event)
{
    cmio_poll *p;
    cmio_events *ev;
    struct peer k;
    cmio_tcp_stream s;
    close_open(&p, &ev, &k, &s, _i);
    ck_assert_int_eq(cmio_tcp_stream_shutdown(&s, CMIO_SHUTDOWN_WRITE), 0);
    expect_one(p, ev, ID1, CMIO_EVENT_WRITE_CLOSED);
    close_end(p, ev, &k, &s);
}
END_TEST

START_TEST(mio_tcp_shutdown_server_write_close_event)
{
    cmio_poll *p;
    cmio_events *ev;
    struct peer k;
    cmio_tcp_stream s;
    close_open(&p, &ev, &k, &s, _i);
    ck_assert_int_eq(shutdown(k.conn, SHUT_WR), 0);
    expect_one(p, ev, ID1, CMIO_EVENT_READ_CLOSED);
    close_end(p, ev, &k, &s);
}
END_TEST

START_TEST(mio_tcp_reset_close_event)
{
    cmio_poll *p;
    cmio_events *ev;
    struct peer k;
    cmio_tcp_stream s;
    close_open(&p, &ev, &k, &s, _i);
    ck_assert_int_eq(cmio_tcp_stream_write(&s, DATA1, DATA1_LEN), (ssize_t)DATA1_LEN);
    char c;
    ck_assert_int_eq(cmio_tcp_stream_read(&s, &c, 1), -EAGAIN);

    /* The server goes away with DATA1 unread: a reset. */
    wait_fd(k.conn, POLLIN);
    sock_close(k.conn);
    k.conn = CMIO_FD_INVALID;
    expect_one(p, ev, ID1, CMIO_EVENT_READ_CLOSED);

    /* The events quiesce. */
    int n = 1;
    for (int round = 0; n > 0 && round < 50; round++) {
        n = cmio_poll_poll(p, ev, 100);
        ck_assert_int_ge(n, 0);
    }
    ck_assert_msg(n == 0, "the events never quiesce");
    close_end(p, ev, &k, &s);
}
END_TEST

START_TEST(mio_tcp_shutdown_client_both_close_event)
{
    cmio_poll *p;
    cmio_events *ev;
    struct peer k;
    cmio_tcp_stream s;
    close_open(&p, &ev, &k, &s, _i);
    ck_assert_int_eq(cmio_tcp_stream_shutdown(&s, CMIO_SHUTDOWN_BOTH), 0);
    if (cmio__poll_caps(p) & CMIO__SEL_LOCAL_SHUTDOWN_SILENT) {
        /* Not an event here (AFD): the calls say it. */
        expect_no_events(p, ev);
        char c = 'x';
        ck_assert_int_eq(cmio_tcp_stream_read(&s, &c, 1), 0);
        ck_assert_int_eq(cmio_tcp_stream_write(&s, &c, 1), -EPIPE);
    } else {
        expect_one(p, ev, ID1, CMIO_EVENT_WRITE_CLOSED);
    }
    close_end(p, ev, &k, &s);
}
END_TEST

START_TEST(mio_hup_event_on_disconnect)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    ck_assert(bind_listener(&l, "127.0.0.1:0", &addr));
    ck_assert_int_eq(cmio_registry_register(r, l.fd, 0, CMIO_READABLE), 0);
    cmio_tcp_stream s;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s, &addr), 0);
    ck_assert_int_eq(cmio_registry_register(r, s.fd, 1, CMIO_READABLE | CMIO_WRITABLE), 0);
    expect_event both[2] = {{0, CMIO_EVENT_READABLE}, {1, CMIO_EVENT_WRITABLE}};
    expect_events(p, ev, both, 2);

    /* The accepted side resets the connection (linger 0, no graceful
     * shutdown). */
    cmio_tcp_stream sock;
    ck_assert_int_eq(cmio_tcp_listener_accept(&l, &sock, NULL), 0);
    set_linger_zero(sock.fd);
    cmio_tcp_stream_close(&sock);
    expect_one(p, ev, 1, CMIO_EVENT_READABLE);

    drop_stream(p, &s);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_tcp_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* mio's test is Linux's and Android's. cmio: where the backend has no
 * priority readiness, registering it is -ENOTSUP. */
START_TEST(mio_priority_event_on_oob_data)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    struct peer k;
    ck_assert(listen_on(&k, "127.0.0.1:0"));
    cmio_tcp_stream client;
    ck_assert_int_eq(cmio_tcp_stream_connect(&client, &k.addr), 0);
    int rc = cmio_registry_register(r, client.fd, 0, CMIO_READABLE | CMIO_PRIORITY);
    if (!(cmio__poll_caps(p) & CMIO__SEL_PRIORITY)) {
        ck_assert_int_eq(rc, -ENOTSUP);
        cmio_tcp_stream_close(&client);
    } else {
        ck_assert_int_eq(rc, 0);
        peer_accept(&k);
        /* Out-of-band data brings a priority event. */
        ck_assert_int_eq(send(k.conn, DATA1, DATA1_LEN, MSG_OOB), (ssize_t)DATA1_LEN);
        expect_one(p, ev, 0, CMIO_EVENT_READABLE | CMIO_EVENT_PRIORITY);
        drop_stream(p, &client);
    }
    peer_close(&k);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* The start of mio's peek tests: stream1 is a blocking std stream made
 * non-blocking and adopted (from_fd), stream2 the blocking accepted side;
 * stream1 is registered READABLE as ID1. */
static void peek_open(cmio_poll **p, cmio_events **ev, struct peer *k, cmio_tcp_stream *s1, int backend)
{
    *p = open_poll(backend);
    *ev = open_events(16);
    ck_assert(listen_on(k, "127.0.0.1:0"));
    cmio_fd fd = plain_connect(&k->addr);
    peer_accept(k);
    plain_nonblocking(fd);
    ck_assert_int_eq(cmio_tcp_stream_from_fd(s1, fd), 0);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(*p), s1->fd, ID1, CMIO_READABLE), 0);
}

START_TEST(mio_peek_ok)
{
    cmio_poll *p;
    cmio_events *ev;
    struct peer k;
    cmio_tcp_stream s1;
    peek_open(&p, &ev, &k, &s1, _i);
    expect_no_events(p, ev);

    ck_assert_int_eq(send(k.conn, "", 1, 0), 1);
    /* Peek until the byte is there (mio spins; here a peek that would
     * block waits for the byte outside cmio first). */
    char buf[2];
    ssize_t n = -EAGAIN;
    for (int round = 0; n == -EAGAIN && round < 100; round++) {
        n = cmio_tcp_stream_peek(&s1, buf, sizeof(buf));
        if (n == -EAGAIN)
            wait_fd(s1.fd, POLLIN);
    }
    ck_assert_int_eq(n, 1);
    /* A successful peek leaves the readiness: the event still comes. */
    expect_one(p, ev, ID1, CMIO_EVENT_READABLE);

    close_end(p, ev, &k, &s1);
}
END_TEST

START_TEST(mio_peek_would_block)
{
    cmio_poll *p;
    cmio_events *ev;
    struct peer k;
    cmio_tcp_stream s1;
    peek_open(&p, &ev, &k, &s1, _i);
    expect_no_events(p, ev);

    ck_assert_int_eq(send(k.conn, "", 1, 0), 1);
    expect_one(p, ev, ID1, CMIO_EVENT_READABLE);
    char buf[1];
    ck_assert_int_eq(cmio_tcp_stream_read(&s1, buf, 1), 1);
    ck_assert_int_eq(cmio_tcp_stream_peek(&s1, buf, 1), -EAGAIN);

    ck_assert_int_eq(send(k.conn, "\0\1\2\3", 4, 0), 4);
    expect_one(p, ev, ID1, CMIO_EVENT_READABLE);

    close_end(p, ev, &k, &s1);
}
END_TEST

START_TEST(mio_read_peek_would_block)
{
    cmio_poll *p;
    cmio_events *ev;
    struct peer k;
    cmio_tcp_stream s1;
    peek_open(&p, &ev, &k, &s1, _i);

    char buf[1];
    ck_assert_int_eq(cmio_tcp_stream_read(&s1, buf, 1), -EAGAIN);
    ck_assert_int_eq(send(k.conn, "", 1, 0), 1);
    expect_one(p, ev, ID1, CMIO_EVENT_READABLE);
    ck_assert_int_eq(cmio_tcp_stream_read(&s1, buf, 1), 1);
    ck_assert_int_eq(cmio_tcp_stream_peek(&s1, buf, 1), -EAGAIN);

    ck_assert_int_eq(send(k.conn, "\1", 1, 0), 1);
    expect_one(p, ev, ID1, CMIO_EVENT_READABLE);

    close_end(p, ev, &k, &s1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mio_tcp_stream");
    TCase *tc = tcase_create("tcp_stream.rs");
    tcase_set_timeout(tc, 60);
    add_backend_test(tc, mio_tcp_stream_ipv4);
    add_backend_test(tc, mio_tcp_stream_ipv6);
    add_backend_test(tc, mio_tcp_stream_std);
    add_backend_test(tc, mio_set_get_ttl);
    add_backend_test(tc, mio_get_ttl_without_previous_set);
    add_backend_test(tc, mio_set_get_nodelay);
    add_backend_test(tc, mio_get_nodelay_without_previous_set);
    add_backend_test(tc, mio_shutdown_read);
    add_backend_test(tc, mio_shutdown_write);
    add_backend_test(tc, mio_shutdown_both);
    tcase_add_test(tc, mio_raw_fd);
    add_backend_test(tc, mio_registering);
    add_backend_test(tc, mio_reregistering);
    add_backend_test(tc, mio_no_events_after_deregister);
    add_backend_test(tc, mio_tcp_shutdown_client_read_close_event);
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__) ||             \
    defined(__DragonFly__)
    add_backend_test(tc, mio_tcp_shutdown_client_write_close_event);
#else
    (void)mio_tcp_shutdown_client_write_close_event;
#endif
    add_backend_test(tc, mio_tcp_shutdown_server_write_close_event);
    add_backend_test(tc, mio_tcp_reset_close_event);
    add_backend_test(tc, mio_tcp_shutdown_client_both_close_event);
    add_backend_test(tc, mio_hup_event_on_disconnect);
    add_backend_test(tc, mio_priority_event_on_oob_data);
    add_backend_test(tc, mio_peek_ok);
    add_backend_test(tc, mio_peek_would_block);
    add_backend_test(tc, mio_read_peek_would_block);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
