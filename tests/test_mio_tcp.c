/*
 * mio's tests/tcp.rs, ported: each test that maps onto cmio has a twin
 * named mio_<test> (docs/porting-from-mio.md lists every test of the file
 * and its twin). The std::net peers that mio drives from threads are plain
 * blocking sockets driven from the test's thread (see mio_tcp.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "mio_tcp.h"

#if !defined(_WIN32)
#include <arpa/inet.h>
#endif
#include <stdlib.h>

/* The amount mio's read, peek and write tests move. */
#define BIG ((size_t)16 * 1024 * 1024)
/* Their time bound (a sanitizer build moves 16 MiB in well under this). */
#define BIG_MS 60000

/* Deregisters a stream and closes it (mio's drop). */
static void drop_stream(cmio_registry *r, cmio_tcp_stream *s)
{
    ck_assert_int_eq(cmio_registry_deregister(r, s->fd), 0);
    cmio_tcp_stream_close(s);
}

/* mio: the socket types are the size of the system's socket. Here a
 * socket is its descriptor. */
START_TEST(mio_assert_size)
{
    ck_assert_uint_eq(sizeof(cmio_tcp_listener), sizeof(cmio_fd));
    ck_assert_uint_eq(sizeof(cmio_tcp_stream), sizeof(cmio_fd));
}
END_TEST

START_TEST(mio_accept)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(128);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    ck_assert(bind_listener(&l, "127.0.0.1:0", &addr));
    cmio_fd peer = plain_connect(&addr);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, 1, CMIO_READABLE), 0);

    bool hit = false, done = false;
    for (int round = 0; !done && round < 100; round++) {
        poll_some(p, ev);
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            const cmio_event *e = cmio_events_get(ev, i);
            hit = true;
            ck_assert_uint_eq(cmio_event_token(e), 1);
            ck_assert(cmio_event_is_readable(e));
            cmio_tcp_stream s;
            ck_assert_int_eq(cmio_tcp_listener_accept(&l, &s, NULL), 0);
            cmio_tcp_stream_close(&s);
            done = true;
        }
    }
    ck_assert(hit);
    cmio_tcp_stream none;
    ck_assert_int_eq(cmio_tcp_listener_accept(&l, &none, NULL), -EAGAIN);

    sock_close(peer);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_tcp_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* One poll's batch of events for token 1: the first must be writable, the
 * second readable, none after; returns the new count. */
static int connect_batch(cmio_poll *p, cmio_events *ev, int hit)
{
    poll_some(p, ev);
    for (size_t i = 0; i < cmio_events_len(ev); i++) {
        const cmio_event *e = cmio_events_get(ev, i);
        ck_assert_uint_eq(cmio_event_token(e), 1);
        if (hit == 0)
            ck_assert(cmio_event_is_writable(e));
        else if (hit == 1)
            ck_assert(cmio_event_is_readable(e));
        else
            ck_abort_msg("event %d: one too many", hit);
        hit++;
    }
    return hit;
}

START_TEST(mio_connect)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(128);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_sockaddr addr;
    cmio_fd lfd = plain_listener("127.0.0.1:0", &addr);
    ck_assert(lfd != CMIO_FD_INVALID);
    cmio_tcp_stream s;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s, &addr), 0);
    ck_assert_int_eq(cmio_registry_register(r, s.fd, 1, CMIO_READABLE | CMIO_WRITABLE), 0);
    cmio_fd conn = plain_accept(lfd);

    /* Connected: one writable event. */
    int hit = connect_batch(p, ev, 0);
    ck_assert_int_eq(hit, 1);
    /* The peer goes away: one readable event. */
    sock_close(conn);
    hit = connect_batch(p, ev, hit);
    ck_assert_int_eq(hit, 2);

    drop_stream(r, &s);
    sock_close(lfd);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* The peer of mio's read and peek tests writes BIG bytes; here it writes
 * what its socket takes before each poll of the reader. */
static void feed(cmio_fd peer, size_t *sent)
{
    static const char zeros[1024];
    for (int round = 0; *sent < BIG && round < 100000; round++) {
        size_t len = BIG - *sent < sizeof(zeros) ? BIG - *sent : sizeof(zeros);
        ssize_t n = sock_send(peer, zeros, len);
        if (n < 0) {
            ck_assert_msg(errno == EAGAIN, "send: %s", cmio_strerror(-sock_errno()));
            return;
        }
        *sent += (size_t)n;
    }
}

/* mio's read and peek: a client reads BIG bytes on readable events only
 * (peeking first when `peek`); every event is the client's. */
static void read_big(int backend, bool peek)
{
    cmio_poll *p = open_poll(backend);
    cmio_events *ev = open_events(128);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_sockaddr addr;
    cmio_fd lfd = plain_listener("127.0.0.1:0", &addr);
    ck_assert(lfd != CMIO_FD_INVALID);
    cmio_tcp_stream s;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s, &addr), 0);
    ck_assert_int_eq(cmio_registry_register(r, s.fd, 1, CMIO_READABLE), 0);
    cmio_fd peer = plain_accept(lfd);
    plain_nonblocking(peer);

    size_t sent = 0, amt = 0;
    bool done = false;
    int64_t deadline = now_ms() + BIG_MS;
    for (int round = 0; !done && round < 1000000 && now_ms() < deadline; round++) {
        feed(peer, &sent);
        int n = cmio_poll_poll(p, ev, WAIT_MS);
        ck_assert_msg(n > 0, "no readable event after %zu of %zu bytes", amt, BIG);
        for (size_t i = 0; i < cmio_events_len(ev) && !done; i++) {
            ck_assert_uint_eq(cmio_event_token(cmio_events_get(ev, i)), 1);
            char buf[1024];
            if (peek) {
                ssize_t k = cmio_tcp_stream_peek(&s, buf, sizeof(buf));
                if (k == -EAGAIN)
                    continue;
                ck_assert_msg(k > 0, "peek: %zd", k);
            }
            for (int j = 0; j < 100000; j++) {
                ssize_t k = cmio_tcp_stream_read(&s, buf, sizeof(buf));
                if (k < 0) {
                    ck_assert_int_eq(k, -EAGAIN);
                    break;
                }
                ck_assert_int_gt(k, 0);
                amt += (size_t)k;
                if (amt >= BIG) {
                    done = true;
                    break;
                }
            }
        }
    }
    ck_assert_uint_eq(amt, BIG);
    ck_assert_uint_eq(sent, BIG);

    drop_stream(r, &s);
    sock_close(peer);
    sock_close(lfd);
    cmio_events_free(ev);
    cmio_poll_free(p);
}

START_TEST(mio_read)
{
    read_big(_i, false);
}
END_TEST

START_TEST(mio_peek)
{
    read_big(_i, true);
}
END_TEST

/* The peer of mio's write test reads what has arrived (to -EAGAIN). */
static size_t eat(cmio_fd peer)
{
    char buf[4096];
    size_t got = 0;
    for (int round = 0; round < 100000; round++) {
        ssize_t n = sock_recv(peer, buf, sizeof(buf));
        if (n < 0) {
            ck_assert_msg(errno == EAGAIN, "recv: %s", cmio_strerror(-errno));
            break;
        }
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
    }
    return got;
}

START_TEST(mio_write)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(128);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_sockaddr addr;
    cmio_fd lfd = plain_listener("127.0.0.1:0", &addr);
    ck_assert(lfd != CMIO_FD_INVALID);
    cmio_tcp_stream s;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s, &addr), 0);
    ck_assert_int_eq(cmio_registry_register(r, s.fd, 1, CMIO_WRITABLE), 0);
    cmio_fd peer = plain_accept(lfd);
    plain_nonblocking(peer);

    static const char zeros[1024];
    size_t amt = 0, got = 0;
    bool done = false;
    int64_t deadline = now_ms() + BIG_MS;
    for (int round = 0; !done && round < 1000000 && now_ms() < deadline; round++) {
        int n = cmio_poll_poll(p, ev, WAIT_MS);
        ck_assert_msg(n > 0, "no writable event after %zu of %zu bytes", amt, BIG);
        for (size_t i = 0; i < cmio_events_len(ev) && !done; i++) {
            ck_assert_uint_eq(cmio_event_token(cmio_events_get(ev, i)), 1);
            for (int j = 0; j < 100000; j++) {
                ssize_t k = cmio_tcp_stream_write(&s, zeros, sizeof(zeros));
                if (k < 0) {
                    ck_assert_int_eq(k, -EAGAIN);
                    break;
                }
                ck_assert_int_gt(k, 0);
                amt += (size_t)k;
                if (amt >= BIG) {
                    done = true;
                    break;
                }
            }
        }
        got += eat(peer);
    }
    ck_assert_uint_ge(amt, BIG);
    /* The peer reads all of it. */
    for (int round = 0; got < amt && round < 100000 && now_ms() < deadline; round++) {
        wait_fd(peer, POLLIN);
        got += eat(peer);
    }
    ck_assert_uint_eq(got, amt);

    drop_stream(r, &s);
    sock_close(peer);
    sock_close(lfd);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_connect_then_close)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(128);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    ck_assert(bind_listener(&l, "127.0.0.1:0", &addr));
    cmio_tcp_stream s;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s, &addr), 0);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, 1, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_register(r, s.fd, 2, CMIO_READABLE), 0);

    /* The accepted side is registered and dropped: the client hears of it. */
    bool done = false, accepted = false;
    for (int round = 0; !done && round < 100; round++) {
        poll_some(p, ev);
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            const cmio_event *e = cmio_events_get(ev, i);
            if (cmio_event_token(e) == 1) {
                cmio_tcp_stream a;
                ck_assert_int_eq(cmio_tcp_listener_accept(&l, &a, NULL), 0);
                ck_assert_int_eq(cmio_registry_register(r, a.fd, 3, CMIO_READABLE | CMIO_WRITABLE), 0);
                drop_stream(r, &a);
                accepted = true;
            } else if (cmio_event_token(e) == 2) {
                done = true;
            }
        }
    }
    ck_assert(accepted);
    ck_assert(done);

    drop_stream(r, &s);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_tcp_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_listen_then_close)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(128);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    ck_assert(bind_listener(&l, "127.0.0.1:0", &addr));
    ck_assert_int_eq(cmio_registry_register(r, l.fd, 1, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_tcp_listener_close(&l);

    int n = cmio_poll_poll(p, ev, 100);
    ck_assert_int_ge(n, 0);
    for (size_t i = 0; i < cmio_events_len(ev); i++)
        ck_assert_msg(cmio_event_token(cmio_events_get(ev, i)) != 1, "an event for a closed listener");

    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_bind_twice_bad)
{
    cmio_tcp_listener l1, l2;
    cmio_sockaddr addr;
    ck_assert(bind_listener(&l1, "127.0.0.1:0", &addr));
    ck_assert_int_eq(cmio_tcp_listener_bind(&l2, &addr), -EADDRINUSE);
    ck_assert(l2.fd == CMIO_FD_INVALID);
    cmio_tcp_listener_close(&l1);
}
END_TEST

START_TEST(mio_multiple_writes_immediate_success)
{
    enum { N = 16 };
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_sockaddr addr;
    cmio_fd lfd = plain_listener("127.0.0.1:0", &addr);
    ck_assert(lfd != CMIO_FD_INVALID);
    cmio_tcp_stream s;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s, &addr), 0);
    ck_assert_int_eq(cmio_registry_register(r, s.fd, 1, CMIO_WRITABLE), 0);

    /* Wait for the stream to connect. */
    ck_assert(wait_for(p, ev, 1, CMIO_EVENT_WRITABLE, WAIT_MS) & CMIO_EVENT_WRITABLE);

    /* N writes of 1 KiB all succeed at once (mio's write_all: a short write
     * goes on, -EAGAIN fails). */
    char ones[1024];
    memset(ones, 1, sizeof(ones));
    for (int k = 0; k < N; k++) {
        size_t off = 0;
        for (int round = 0; off < sizeof(ones) && round < 1000; round++) {
            ssize_t n = cmio_tcp_stream_write(&s, ones + off, sizeof(ones) - off);
            ck_assert_msg(n > 0, "write %d: %s", k, cmio_strerror((int)n));
            off += (size_t)n;
        }
        ck_assert_uint_eq(off, sizeof(ones));
    }

    /* The peer reads them: N KiB of ones. */
    cmio_fd conn = plain_accept(lfd);
    size_t amt = 0;
    for (int round = 0; amt < N * sizeof(ones) && round < 100000; round++) {
        char b[1024];
        memset(b, 0, sizeof(b));
        ssize_t n = recv(conn, b, sizeof(b), 0);
        ck_assert_msg(n > 0, "recv: %zd", n);
        for (ssize_t j = 0; j < n; j++)
            ck_assert_int_eq(b[j], 1);
        amt += (size_t)n;
    }
    ck_assert_uint_eq(amt, N * sizeof(ones));

    drop_stream(r, &s);
    sock_close(conn);
    sock_close(lfd);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_connection_reset_by_peer)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    ck_assert(bind_listener(&l, "127.0.0.1:0", &addr));
    cmio_tcp_stream client;
    ck_assert_int_eq(cmio_tcp_stream_connect(&client, &addr), 0);
    set_linger_zero(client.fd);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, 0, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_register(r, client.fd, 1, CMIO_READABLE | CMIO_WRITABLE), 0);

    /* Wait for the listener and accept. */
    cmio_tcp_stream server = {.fd = -1};
    for (int round = 0; server.fd == CMIO_FD_INVALID && round < 100; round++) {
        poll_some(p, ev);
        for (size_t i = 0; i < cmio_events_len(ev) && server.fd == CMIO_FD_INVALID; i++) {
            if (cmio_event_token(cmio_events_get(ev, i)) != 0)
                continue;
            int rc = cmio_tcp_listener_accept(&l, &server, NULL);
            ck_assert_msg(rc == 0 || rc == -EAGAIN, "accept: %s", cmio_strerror(rc));
        }
    }
    ck_assert(server.fd != CMIO_FD_INVALID);

    /* Close the connection (a reset, with linger 0). mio then sleeps a
     * moment; here the reset is seen to arrive before going on. */
    drop_stream(r, &client);
    ck_assert(wait_fd(server.fd, POLLIN) & (POLLIN | POLLERR | POLLHUP));

    /* Registered after the reset, the server still hears of it. */
    ck_assert_int_eq(cmio_registry_register(r, server.fd, 3, CMIO_READABLE), 0);
    bool seen = false;
    for (int round = 0; !seen && round < 100; round++) {
        poll_some(p, ev);
        for (size_t i = 0; i < cmio_events_len(ev) && !seen; i++) {
            const cmio_event *e = cmio_events_get(ev, i);
            if (cmio_event_token(e) != 3)
                continue;
            ck_assert(cmio_event_is_readable(e));
            char buf[16];
            ssize_t n = cmio_tcp_stream_read(&server, buf, sizeof(buf));
            ck_assert_msg(n <= 0, "expected empty buffer but read %zd bytes", n);
            seen = true;
        }
    }
    ck_assert(seen);

    drop_stream(r, &server);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_tcp_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* mio connects to a port it hopes is free; here the port is bound and
 * not listening, so it is certainly refused. */
START_TEST(mio_connect_error)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_fd holder = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert(holder != CMIO_FD_INVALID);
    cmio_sockaddr addr = parse_addr("127.0.0.1:0");
    ck_assert_int_eq(bind(holder, &addr.u.sa, addr.len), 0);
    socklen_t len = addr.len;
    ck_assert_int_eq(getsockname(holder, &addr.u.sa, &len), 0);

    cmio_tcp_stream s;
    int rc = cmio_tcp_stream_connect(&s, &addr);
    if (rc == -ECONNREFUSED) {
        /* Refused synchronously: not a bug, as mio says. */
        ck_assert(s.fd == CMIO_FD_INVALID);
    } else {
        ck_assert_int_eq(rc, 0);
        ck_assert_int_eq(cmio_registry_register(r, s.fd, 0, CMIO_WRITABLE), 0);
        bool seen = false;
        for (int round = 0; !seen && round < 100; round++) {
            poll_some(p, ev);
            for (size_t i = 0; i < cmio_events_len(ev) && !seen; i++) {
                const cmio_event *e = cmio_events_get(ev, i);
                if (cmio_event_token(e) != 0)
                    continue;
                ck_assert(cmio_event_is_writable(e) || cmio_event_is_error(e));
                ck_assert(cmio_event_is_write_closed(e));
                seen = true;
            }
        }
        ck_assert(seen);
        ck_assert_int_eq(cmio_tcp_stream_take_error(&s), -ECONNREFUSED);
        drop_stream(r, &s);
    }
    sock_close(holder);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* Polls until token 0 is writable (mio's wait_writable in write_error). */
static void wait_writable(cmio_poll *p, cmio_events *ev)
{
    for (int round = 0; round < 100; round++) {
        poll_some(p, ev);
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            const cmio_event *e = cmio_events_get(ev, i);
            if (cmio_event_token(e) == 0 && cmio_event_is_writable(e))
                return;
        }
    }
    ck_abort_msg("never writable");
}

START_TEST(mio_write_error)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_sockaddr addr;
    cmio_fd lfd = plain_listener("127.0.0.1:0", &addr);
    ck_assert(lfd != CMIO_FD_INVALID);
    cmio_tcp_stream s;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s, &addr), 0);
    ck_assert_int_eq(cmio_registry_register(r, s.fd, 0, CMIO_READABLE | CMIO_WRITABLE), 0);
    cmio_fd conn = plain_accept(lfd);
    wait_writable(p, ev);
    sigpipe_deadly(); /* a SIGPIPE would end the test */

    /* The peer goes away; writing ends in an error (never a 0, never
     * SIGPIPE). */
    sock_close(conn);
    static const char buf[1024];
    ssize_t n = 0;
    for (int round = 0; round < 100000; round++) {
        n = cmio_tcp_stream_write(&s, buf, sizeof(buf));
        ck_assert_msg(n != 0, "unexpected end");
        if (n == -EAGAIN)
            wait_writable(p, ev);
        else if (n < 0)
            break;
    }
    ck_assert_msg(n == -EPIPE || n == -ECONNRESET, "write: %s", cmio_strerror((int)n));

    drop_stream(r, &s);
    sock_close(lfd);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* mio's wait! macro: poll (1 s at a time, 5 s in all) until token 0 shows
 * `ready`; every event seen must be read-closed when `read_closed`, else
 * neither read- nor write-closed. */
static void wait_ready(cmio_poll *p, uint32_t ready, bool read_closed)
{
    cmio_events *ev = open_events(16);
    bool found = false;
    int64_t deadline = now_ms() + WAIT_MS;
    for (int round = 0; !found && round < 100; round++) {
        ck_assert_msg(now_ms() <= deadline, "not ready");
        ck_assert_int_ge(cmio_poll_poll(p, ev, 1000), 0);
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            const cmio_event *e = cmio_events_get(ev, i);
            if (read_closed)
                ck_assert(cmio_event_is_read_closed(e));
            else
                ck_assert(!cmio_event_is_read_closed(e) && !cmio_event_is_write_closed(e));
            if (cmio_event_token(e) == 0 && (cmio_event_flags(e) & ready)) {
                found = true;
                break;
            }
        }
    }
    ck_assert(found);
    cmio_events_free(ev);
}

START_TEST(mio_write_shutdown)
{
    cmio_poll *p = open_poll(_i);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_sockaddr addr;
    cmio_fd lfd = plain_listener("127.0.0.1:0", &addr);
    ck_assert(lfd != CMIO_FD_INVALID);
    cmio_tcp_stream client;
    ck_assert_int_eq(cmio_tcp_stream_connect(&client, &addr), 0);
    ck_assert_int_eq(cmio_registry_register(r, client.fd, 0, CMIO_READABLE | CMIO_WRITABLE), 0);
    cmio_fd conn = plain_accept(lfd);

    wait_ready(p, CMIO_EVENT_WRITABLE, false);

    /* Nothing more happens... */
    cmio_events *ev = open_events(16);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 100), 0);

    /* ...until the peer shuts its writing side: readable and read-closed. */
    ck_assert_int_eq(shutdown(conn, SHUT_WR), 0);
    wait_ready(p, CMIO_EVENT_READABLE, true);

    drop_stream(r, &client);
    sock_close(conn);
    sock_close(lfd);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

enum { LISTEN = 0, CLIENT = 1, SERVER = 2 };

START_TEST(mio_local_addr_ready)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(1024);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_tcp_listener server;
    cmio_sockaddr addr;
    ck_assert(bind_listener(&server, "127.0.0.1:0", &addr));
    ck_assert_int_eq(cmio_registry_register(r, server.fd, LISTEN, CMIO_READABLE), 0);
    cmio_tcp_stream sock;
    ck_assert_int_eq(cmio_tcp_stream_connect(&sock, &addr), 0);
    ck_assert_int_eq(cmio_registry_register(r, sock.fd, CLIENT, CMIO_READABLE), 0);

    cmio_tcp_stream accepted = {.fd = -1};
    bool shutdown_ = false, wrote = false;
    cmio_sockaddr a;
    for (int round = 0; !shutdown_ && round < 100; round++) {
        poll_some(p, ev);
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            switch (cmio_event_token(cmio_events_get(ev, i))) {
            case LISTEN:
                ck_assert_int_eq(cmio_tcp_listener_accept(&server, &accepted, NULL), 0);
                ck_assert_int_eq(cmio_registry_register(r, accepted.fd, SERVER, CMIO_WRITABLE), 0);
                break;
            case SERVER:
                ck_assert(accepted.fd != CMIO_FD_INVALID);
                ck_assert_int_eq(cmio_tcp_stream_peer_addr(&accepted, &a), 0);
                ck_assert_int_eq(cmio_tcp_stream_local_addr(&accepted, &a), 0);
                ck_assert_int_eq(cmio_tcp_stream_write(&accepted, "\1\2\3", 3), 3);
                drop_stream(r, &accepted);
                wrote = true;
                break;
            case CLIENT:
                ck_assert_int_eq(cmio_tcp_stream_peer_addr(&sock, &a), 0);
                ck_assert_int_eq(cmio_tcp_stream_local_addr(&sock, &a), 0);
                shutdown_ = true;
                break;
            default:
                ck_abort_msg("unexpected token");
            }
        }
    }
    ck_assert(wrote);
    ck_assert(shutdown_);

    drop_stream(r, &sock);
    ck_assert_int_eq(cmio_registry_deregister(r, server.fd), 0);
    cmio_tcp_listener_close(&server);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* mio's write_then_drop and write_then_deregister: the accepted side writes
 * 4 bytes and is dropped (deregistered and closed) or only deregistered;
 * the client reads them. Each poll brings exactly one event. */
static void write_then(int backend, bool drop)
{
    cmio_poll *p = open_poll(backend);
    cmio_events *ev = open_events(1024);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_tcp_listener a;
    cmio_sockaddr addr;
    ck_assert(bind_listener(&a, "127.0.0.1:0", &addr));
    cmio_tcp_stream s;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s, &addr), 0);
    ck_assert_int_eq(cmio_registry_register(r, a.fd, 1, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_register(r, s.fd, 3, CMIO_READABLE), 0);

    ck_assert_int_eq(poll_some(p, ev), 1);
    ck_assert_uint_eq(cmio_event_token(cmio_events_get(ev, 0)), 1);

    cmio_tcp_stream s2;
    ck_assert_int_eq(cmio_tcp_listener_accept(&a, &s2, NULL), 0);
    ck_assert_int_eq(cmio_registry_register(r, s2.fd, 2, CMIO_WRITABLE), 0);
    ck_assert_int_eq(poll_some(p, ev), 1);
    ck_assert_uint_eq(cmio_event_token(cmio_events_get(ev, 0)), 2);

    ck_assert_int_eq(cmio_tcp_stream_write(&s2, "\1\2\3\4", 4), 4);
    if (drop)
        drop_stream(r, &s2);
    else
        ck_assert_int_eq(cmio_registry_deregister(r, s2.fd), 0);

    ck_assert_int_eq(cmio_registry_reregister(r, s.fd, 3, CMIO_READABLE), 0);
    ck_assert_int_eq(poll_some(p, ev), 1);
    ck_assert_uint_eq(cmio_event_token(cmio_events_get(ev, 0)), 3);

    char buf[10];
    ck_assert_int_eq(cmio_tcp_stream_read(&s, buf, sizeof(buf)), 4);
    ck_assert_mem_eq(buf, "\1\2\3\4", 4);

    cmio_tcp_stream_close(&s2);
    drop_stream(r, &s);
    ck_assert_int_eq(cmio_registry_deregister(r, a.fd), 0);
    cmio_tcp_listener_close(&a);
    cmio_events_free(ev);
    cmio_poll_free(p);
}

START_TEST(mio_write_then_drop)
{
    write_then(_i, true);
}
END_TEST

START_TEST(mio_write_then_deregister)
{
    write_then(_i, false);
}
END_TEST

enum { ID1 = 1, ID2 = 2, ID3 = 3 };

START_TEST(mio_tcp_no_events_after_deregister)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_tcp_listener listener;
    cmio_sockaddr addr;
    ck_assert(bind_listener(&listener, "127.0.0.1:0", &addr));
    cmio_tcp_stream stream;
    ck_assert_int_eq(cmio_tcp_stream_connect(&stream, &addr), 0);
    ck_assert_int_eq(cmio_registry_register(r, listener.fd, ID1, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_register(r, stream.fd, ID3, CMIO_READABLE), 0);
    expect_one(p, ev, ID1, CMIO_EVENT_READABLE);

    cmio_tcp_stream stream2;
    cmio_sockaddr peer, got;
    ck_assert_int_eq(cmio_tcp_listener_accept(&listener, &stream2, &peer), 0);
    ck_assert(is_loopback(&peer));
    ck_assert_int_eq(cmio_tcp_stream_peer_addr(&stream2, &got), 0);
    ck_assert(same_addr(&got, &peer));
    ck_assert_int_eq(cmio_tcp_stream_local_addr(&stream2, &got), 0);
    ck_assert(same_addr(&got, &addr));

    ck_assert_int_eq(cmio_registry_register(r, stream2.fd, ID2, CMIO_WRITABLE), 0);
    expect_one(p, ev, ID2, CMIO_EVENT_WRITABLE);

    ck_assert_int_eq(cmio_tcp_stream_write(&stream2, "\1\2\3\4", 4), 4);
    expect_one(p, ev, ID3, CMIO_EVENT_READABLE);

    ck_assert_int_eq(cmio_registry_deregister(r, listener.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, stream.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, stream2.fd), 0);
    expect_no_events(p, ev);

    char buf[10];
    ck_assert_int_eq(cmio_tcp_stream_read(&stream, buf, sizeof(buf)), 4);
    ck_assert_mem_eq(buf, "\1\2\3\4", 4);

    ck_assert_int_eq(cmio_tcp_stream_write(&stream2, "\1\2\3\4", 4), 4);
    expect_no_events(p, ev);

    /* mio sleeps 200 ms for the bytes to arrive; here they are seen to. */
    wait_fd(stream.fd, POLLIN);
    ck_assert_int_eq(cmio_tcp_stream_read(&stream, buf, sizeof(buf)), 4);
    ck_assert_mem_eq(buf, "\1\2\3\4", 4);
    expect_no_events(p, ev);

    cmio_tcp_stream_close(&stream);
    cmio_tcp_stream_close(&stream2);
    cmio_tcp_listener_close(&listener);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mio_tcp");
    TCase *tc = tcase_create("tcp.rs");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, mio_assert_size);
    add_backend_test(tc, mio_accept);
    add_backend_test(tc, mio_connect);
    add_backend_test(tc, mio_read);
    add_backend_test(tc, mio_peek);
    add_backend_test(tc, mio_write);
    add_backend_test(tc, mio_connect_then_close);
    add_backend_test(tc, mio_listen_then_close);
    tcase_add_test(tc, mio_bind_twice_bad);
    add_backend_test(tc, mio_multiple_writes_immediate_success);
    add_backend_test(tc, mio_connection_reset_by_peer);
    add_backend_test(tc, mio_connect_error);
    add_backend_test(tc, mio_write_error);
    add_backend_test(tc, mio_write_shutdown);
    add_backend_test(tc, mio_local_addr_ready);
    add_backend_test(tc, mio_write_then_drop);
    add_backend_test(tc, mio_write_then_deregister);
    add_backend_test(tc, mio_tcp_no_events_after_deregister);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
