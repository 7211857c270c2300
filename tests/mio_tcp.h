/*
 * Helpers shared by the ports of mio's tests/tcp.rs, tcp_listener.rs and
 * tcp_stream.rs (tests/test_mio_tcp*.c): mio's tests/util/mod.rs in C
 * (expect_event, set_linger_zero; expect_events and expect_no_events come
 * from mio_util.h) and the plain,
 * blocking sockets that stand for the std::net peers of mio's tests.
 *
 * mio runs those peers in threads; the ports run them in the test's own
 * thread, in the order the scenario needs, so they are single-threaded.
 * A blocking call on a plain socket is bounded by SO_RCVTIMEO/SO_SNDTIMEO.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CMIO_TESTS_MIO_TCP_H
#define CMIO_TESTS_MIO_TCP_H

#include "helpers.h"
#include "mio_util.h"

#include <errno.h>
#if !defined(_WIN32)
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#endif
#include <stdio.h>
#include <string.h>

static const char DATA1[] = "Hello world!";
static const char DATA2[] = "Hello mars!";
#define DATA1_LEN (sizeof(DATA1) - 1)
#define DATA2_LEN (sizeof(DATA2) - 1)

/* One expected event. */
static inline void expect_one(cmio_poll *p, cmio_events *ev, cmio_token token, uint32_t flags)
{
    expect_event want = {token, flags};
    expect_events(p, ev, &want, 1);
}

/* Polls (within WAIT_MS) until a poll returns events; returns how many
 * (mio's `while events.is_empty() { poll.poll(&mut events, None) }`). */
static inline int poll_some(cmio_poll *p, cmio_events *ev)
{
    int64_t deadline = now_ms() + WAIT_MS;
    for (int round = 0; round < 1000; round++) {
        int64_t wait = deadline - now_ms();
        if (wait < 0)
            break;
        int n = cmio_poll_poll(p, ev, (int)wait);
        ck_assert_int_ge(n, 0);
        if (n > 0)
            return n;
    }
    ck_abort_msg("no event within %d ms", WAIT_MS);
    return 0;
}

/* Bounds every blocking call on a plain socket. */
static inline void plain_timeouts(cmio_fd fd)
{
    struct timeval tv = {.tv_sec = WAIT_MS / 1000, .tv_usec = (WAIT_MS % 1000) * 1000};
    sock_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sock_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A blocking listener made by plain socket calls (std::net::TcpListener::bind),
 * bound to `text`; its address goes to *bound. Returns -1 when the address
 * family or address is not available here (IPv6), reported as a skip. */
static inline cmio_fd plain_listener(const char *text, cmio_sockaddr *bound)
{
    cmio_sockaddr a = parse_addr(text);
    cmio_fd fd = socket(a.u.sa.sa_family, SOCK_STREAM, 0);
    if (fd == CMIO_FD_INVALID && addr_unavailable(-sock_errno(), CMIO_FD_INVALID, text))
        return -1;
    ck_assert(fd != CMIO_FD_INVALID);
    int on = 1;
    sock_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(fd, &a.u.sa, a.len) != 0) {
        int err = -sock_errno();
        sock_close(fd);
        if (addr_unavailable(err, CMIO_FD_INVALID, text))
            return -1;
        ck_abort_msg("bind %s: %s", text, cmio_strerror(err));
    }
    ck_assert_int_eq(listen(fd, 16), 0);
    plain_timeouts(fd);
    *bound = a;
    socklen_t len = sizeof(bound->u);
    ck_assert_int_eq(getsockname(fd, &bound->u.sa, &len), 0);
    bound->len = len;
    return fd;
}

/* A blocking accept on a plain listener (bounded by its timeouts); the
 * connection is blocking too. */
static inline cmio_fd plain_accept(cmio_fd lfd)
{
    cmio_fd fd = accept(lfd, NULL, NULL);
    ck_assert_msg(fd != CMIO_FD_INVALID, "accept: %s", cmio_strerror(-sock_errno()));
    plain_timeouts(fd);
    return fd;
}

/* A blocking connection made by plain socket calls (std::net::TcpStream::connect). */
static inline cmio_fd plain_connect(const cmio_sockaddr *a)
{
    cmio_fd fd = socket(a->u.sa.sa_family, SOCK_STREAM, 0);
    ck_assert(fd != CMIO_FD_INVALID);
    plain_timeouts(fd);
    ck_assert_msg(connect(fd, &a->u.sa, a->len) == 0, "connect: %s", cmio_strerror(-sock_errno()));
    return fd;
}

/* Makes a plain socket non-blocking. */
static inline void plain_nonblocking(cmio_fd fd)
{
    sock_set_nonblocking(fd);
}

/* Blocking read or write of exactly len bytes on a plain socket. */
static inline void plain_read_exact(cmio_fd fd, void *buf, size_t len)
{
    size_t got = 0;
    for (int round = 0; got < len && round < 100000; round++) {
        ssize_t n = recv(fd, (char *)buf + got, len - got, 0);
        ck_assert_msg(n > 0, "recv: %zd (%s)", n, n < 0 ? cmio_strerror(-sock_errno()) : "end of stream");
        got += (size_t)n;
    }
    ck_assert_uint_eq(got, len);
}

static inline void plain_write_all(cmio_fd fd, const void *buf, size_t len)
{
    size_t put_ = 0;
    for (int round = 0; put_ < len && round < 100000; round++) {
        ssize_t n = sock_send(fd, (const char *)buf + put_, len - put_);
        ck_assert_msg(n > 0, "send: %s", cmio_strerror(-sock_errno()));
        put_ += (size_t)n;
    }
    ck_assert_uint_eq(put_, len);
}

/* Waits (bounded) with a raw poll(2), outside cmio, until a plain or cmio
 * socket shows one of `events`: the handshake that stands for mio's sleeps
 * ("wait a moment" for data or a reset to arrive). Returns revents. */
static inline short wait_fd(cmio_fd fd, short events)
{
    short revents = sock_poll(fd, events, WAIT_MS);
    ck_assert_msg(revents != 0, "descriptor %lld never became ready (0x%x)", (long long)fd, (unsigned)events);
    return revents;
}

/* mio's set_linger_zero: closing the socket resets the connection. */
static inline void set_linger_zero(cmio_fd fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    sock_setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/* cmio_tcp_listener_bind on `text`, checked; false when the family or
 * address is not available here (IPv6). */
static inline bool bind_listener(cmio_tcp_listener *l, const char *text, cmio_sockaddr *bound)
{
    cmio_sockaddr a = parse_addr(text);
    int rc = cmio_tcp_listener_bind(l, &a);
    if (addr_unavailable(rc, l->fd, text))
        return false;
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(cmio_tcp_listener_local_addr(l, bound), 0);
    return true;
}

/* Whether an address is a loopback address (IPv4 or IPv6). */
static inline bool is_loopback(const cmio_sockaddr *a)
{
    if (a->u.sa.sa_family == AF_INET)
        return ntohl(a->u.in4.sin_addr.s_addr) >> 24 == 127;
    if (a->u.sa.sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&a->u.in6.sin6_addr);
    return false;
}

#endif
