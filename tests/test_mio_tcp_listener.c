/*
 * mio's tests/tcp_listener.rs, ported: each test that maps onto cmio has a
 * twin named mio_<test> (docs/porting-from-mio.md lists every test of the
 * file and its twin). mio's start_connections thread is a plain blocking
 * connect made in the test's thread, closed where mio's barrier lets the
 * thread drop it.
 *
 * SPDX-License-Identifier: MIT
 */
#include "mio_tcp.h"

enum { ID1 = 0, ID2 = 1 };

/* The checks mio makes on every accepted connection: the peer is a
 * loopback address, and the stream's own addresses agree. */
static void accept_checked(cmio_tcp_listener *l, const cmio_sockaddr *address, cmio_tcp_stream *out)
{
    cmio_sockaddr peer, got;
    ck_assert_int_eq(cmio_tcp_listener_accept(l, out, &peer), 0);
    ck_assert(is_loopback(&peer));
    ck_assert_int_eq(cmio_tcp_stream_peer_addr(out, &got), 0);
    ck_assert(same_addr(&got, &peer));
    ck_assert_int_eq(cmio_tcp_stream_local_addr(out, &got), 0);
    ck_assert(same_addr(&got, address));
}

static void assert_would_block_accept(cmio_tcp_listener *l)
{
    cmio_tcp_stream none = {.fd = 7};
    ck_assert_int_eq(cmio_tcp_listener_accept(l, &none, NULL), -EAGAIN);
    ck_assert(none.fd == CMIO_FD_INVALID);
}

/* mio's smoke_test_tcp_listener over a listener made by `make`. */
static void smoke(int backend, cmio_tcp_listener *listener)
{
    cmio_poll *p = open_poll(backend);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_sockaddr address;
    ck_assert_int_eq(cmio_tcp_listener_local_addr(listener, &address), 0);
    assert_nonblock_cloexec(listener->fd);

    ck_assert_int_eq(cmio_registry_register(r, listener->fd, ID1, CMIO_READABLE), 0);
    cmio_fd conn = plain_connect(&address);
    expect_one(p, ev, ID1, CMIO_EVENT_READABLE);

    /* A single connection, non-blocking. */
    cmio_tcp_stream stream;
    accept_checked(listener, &address, &stream);
    char buf[20];
    ck_assert_int_eq(cmio_tcp_stream_read(&stream, buf, sizeof(buf)), -EAGAIN);

    /* No more connections. */
    assert_would_block_accept(listener);
    ck_assert_int_eq(cmio_tcp_listener_take_error(listener), 0);

    sock_close(conn);
    cmio_tcp_stream_close(&stream);
    ck_assert_int_eq(cmio_registry_deregister(r, listener->fd), 0);
    cmio_tcp_listener_close(listener);
    cmio_events_free(ev);
    cmio_poll_free(p);
}

START_TEST(mio_tcp_listener)
{
    cmio_tcp_listener l;
    cmio_sockaddr a;
    ck_assert(bind_listener(&l, "127.0.0.1:0", &a));
    smoke(_i, &l);
}
END_TEST

START_TEST(mio_tcp_listener_ipv6)
{
    cmio_tcp_listener l;
    cmio_sockaddr a;
    if (!bind_listener(&l, "[::1]:0", &a))
        return;
    smoke(_i, &l);
}
END_TEST

/* std::net's listener is a blocking socket of plain socket calls; from_fd
 * adopts it and makes it non-blocking and close-on-exec. */
START_TEST(mio_tcp_listener_std)
{
    cmio_sockaddr a;
    cmio_fd fd = plain_listener("127.0.0.1:0", &a);
    ck_assert(fd != CMIO_FD_INVALID);
    ck_assert_int_ne(sock_nonblocking(fd), 1);
    cmio_tcp_listener l;
    ck_assert_int_eq(cmio_tcp_listener_from_fd(&l, fd), 0);
    ck_assert_int_eq(l.fd, fd);
    smoke(_i, &l);
}
END_TEST

START_TEST(mio_set_get_ttl)
{
    cmio_tcp_listener l;
    cmio_sockaddr a;
    ck_assert(bind_listener(&l, "127.0.0.1:0", &a));
    ck_assert_int_eq(cmio_tcp_listener_set_ttl(&l, 10), 0);
    uint32_t ttl = 0;
    ck_assert_int_eq(cmio_tcp_listener_ttl(&l, &ttl), 0);
    ck_assert_uint_eq(ttl, 10);
    ck_assert_int_eq(cmio_tcp_listener_take_error(&l), 0);
    cmio_tcp_listener_close(&l);
}
END_TEST

START_TEST(mio_get_ttl_without_previous_set)
{
    cmio_tcp_listener l;
    cmio_sockaddr a;
    ck_assert(bind_listener(&l, "127.0.0.1:0", &a));
    uint32_t ttl = 0;
    ck_assert_int_eq(cmio_tcp_listener_ttl(&l, &ttl), 0);
    ck_assert(ttl >= 1 && ttl <= 255);
    ck_assert_int_eq(cmio_tcp_listener_take_error(&l), 0);
    cmio_tcp_listener_close(&l);
}
END_TEST

/* as_raw_fd is l.fd; into_raw_fd takes it; from_raw_fd (from_fd) adopts
 * the same descriptor, not a copy. */
START_TEST(mio_raw_fd)
{
    cmio_tcp_listener l;
    cmio_sockaddr address, got;
    ck_assert(bind_listener(&l, "127.0.0.1:0", &address));
    cmio_fd raw = l.fd;
    cmio_tcp_listener l2;
    ck_assert_int_eq(cmio_tcp_listener_from_fd(&l2, raw), 0);
    ck_assert_int_eq(l2.fd, raw);
    ck_assert_int_eq(cmio_tcp_listener_local_addr(&l2, &got), 0);
    ck_assert(same_addr(&got, &address));
    cmio_tcp_listener_close(&l2);
}
END_TEST

START_TEST(mio_registering)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_tcp_listener l;
    cmio_sockaddr a;
    ck_assert(bind_listener(&l, "127.0.0.1:0", &a));
    ck_assert_int_eq(cmio_registry_register(r, l.fd, ID1, CMIO_READABLE), 0);
    expect_no_events(p, ev);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_tcp_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_reregister)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_tcp_listener l;
    cmio_sockaddr address;
    ck_assert(bind_listener(&l, "127.0.0.1:0", &address));
    ck_assert_int_eq(cmio_registry_register(r, l.fd, ID1, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_reregister(r, l.fd, ID2, CMIO_READABLE), 0);

    cmio_fd conn = plain_connect(&address);
    expect_one(p, ev, ID2, CMIO_EVENT_READABLE);

    cmio_tcp_stream stream;
    accept_checked(&l, &address, &stream);
    assert_would_block_accept(&l);
    ck_assert_int_eq(cmio_tcp_listener_take_error(&l), 0);

    sock_close(conn);
    cmio_tcp_stream_close(&stream);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_tcp_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_no_events_after_deregister)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_tcp_listener l;
    cmio_sockaddr address;
    ck_assert(bind_listener(&l, "127.0.0.1:0", &address));
    ck_assert_int_eq(cmio_registry_register(r, l.fd, ID1, CMIO_READABLE), 0);

    cmio_fd conn = plain_connect(&address);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    expect_no_events(p, ev);

    /* The connection can still be accepted. */
    cmio_tcp_stream stream;
    accept_checked(&l, &address, &stream);
    assert_would_block_accept(&l);
    ck_assert_int_eq(cmio_tcp_listener_take_error(&l), 0);

    sock_close(conn);
    cmio_tcp_stream_close(&stream);
    cmio_tcp_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* A second connection after an accept and its -EAGAIN gives a new event
 * (the -EAGAIN re-arms the listener where edges are emulated). */
START_TEST(mio_tcp_listener_two_streams)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_tcp_listener l;
    cmio_sockaddr address;
    ck_assert(bind_listener(&l, "127.0.0.1:0", &address));

    int conn1 = plain_connect(&address);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, ID1, CMIO_READABLE), 0);
    expect_one(p, ev, ID1, CMIO_EVENT_READABLE);
    cmio_tcp_stream stream;
    accept_checked(&l, &address, &stream);
    cmio_tcp_stream_close(&stream);
    assert_would_block_accept(&l);

    int conn2 = plain_connect(&address);
    expect_one(p, ev, ID1, CMIO_EVENT_READABLE);
    accept_checked(&l, &address, &stream);
    cmio_tcp_stream_close(&stream);

    expect_no_events(p, ev);

    sock_close(conn1);
    sock_close(conn2);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_tcp_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mio_tcp_listener");
    TCase *tc = tcase_create("tcp_listener.rs");
    tcase_set_timeout(tc, 60);
    add_backend_test(tc, mio_tcp_listener);
    add_backend_test(tc, mio_tcp_listener_ipv6);
    add_backend_test(tc, mio_tcp_listener_std);
    tcase_add_test(tc, mio_set_get_ttl);
    tcase_add_test(tc, mio_get_ttl_without_previous_set);
    tcase_add_test(tc, mio_raw_fd);
    add_backend_test(tc, mio_registering);
    add_backend_test(tc, mio_reregister);
    add_backend_test(tc, mio_no_events_after_deregister);
    add_backend_test(tc, mio_tcp_listener_two_streams);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
