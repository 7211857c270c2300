/*
 * Windows (issue 14): the Winsock layer without a poll. Addresses, the
 * error table, TCP and UDP over loopback with bounded retry loops (no
 * selector: the iocp backend is tested by the backend suites once it is
 * built), and the calls that answer -ENOTSUP there. Built only for Windows
 * (tests/meson.build).
 *
 * SPDX-License-Identifier: MIT
 */
#include "cmio.h"

#include <check.h>
#include <errno.h>
#include <string.h>
#include <windows.h>

int cmio__wsa_error(int code); /* src/error_win.c */

/* Retry a non-blocking call while it says -EAGAIN: at most 2000 tries of
 * at most a millisecond each. */
#define RETRY(expr)                                                                               \
    ({                                                                                            \
        __typeof__(expr) r_;                                                                      \
        int tries_ = 0;                                                                           \
        while ((r_ = (expr)) == -EAGAIN && ++tries_ < 2000)                                       \
            Sleep(1);                                                                             \
        r_;                                                                                       \
    })

START_TEST(sockaddr_parse_format)
{
    cmio_sockaddr a;
    char buf[CMIO_SOCKADDR_STRLEN];
    ck_assert_int_eq(cmio_sockaddr_parse(&a, "127.0.0.1:8080"), 0);
    ck_assert_int_eq(a.u.sa.sa_family, AF_INET);
    ck_assert_int_eq(ntohs(a.u.in4.sin_port), 8080);
    ck_assert_int_gt(cmio_sockaddr_format(&a, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "127.0.0.1:8080");
    ck_assert_int_eq(cmio_sockaddr_parse(&a, "[::1]:443"), 0);
    ck_assert_int_eq(a.u.sa.sa_family, AF_INET6);
    ck_assert_int_gt(cmio_sockaddr_format(&a, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "[::1]:443");
    ck_assert_int_eq(cmio_sockaddr_parse(&a, "127.0.0.1"), -EINVAL);
    ck_assert_int_eq(cmio_sockaddr_parse(&a, "[::1]:65536"), -EINVAL);
    ck_assert_int_eq(cmio_sockaddr_parse(NULL, "1.2.3.4:5"), -EINVAL);
}
END_TEST

START_TEST(error_table)
{
    ck_assert_int_eq(cmio__wsa_error(WSAEWOULDBLOCK), -EAGAIN);
    ck_assert_int_eq(cmio__wsa_error(WSAECONNRESET), -ECONNRESET);
    ck_assert_int_eq(cmio__wsa_error(WSAECONNREFUSED), -ECONNREFUSED);
    ck_assert_int_eq(cmio__wsa_error(WSAEADDRINUSE), -EADDRINUSE);
    ck_assert_int_eq(cmio__wsa_error(WSAENOTCONN), -ENOTCONN);
    ck_assert_int_eq(cmio__wsa_error(WSAENOTSOCK), -EBADF);
    ck_assert_int_eq(cmio__wsa_error(0), 0);
    ck_assert_int_eq(cmio__wsa_error(123456), -EIO);
    ck_assert_str_eq(cmio_strerror(-ECONNRESET), "Connection reset by peer");
    ck_assert_ptr_nonnull(cmio_strerror(-EINVAL));
}
END_TEST

START_TEST(tcp_loopback)
{
    cmio_sockaddr any, local, peer;
    ck_assert_int_eq(cmio_sockaddr_parse(&any, "127.0.0.1:0"), 0);
    cmio_tcp_listener l;
    ck_assert_int_eq(cmio_tcp_listener_bind(&l, &any), 0);
    ck_assert(l.fd != CMIO_FD_INVALID);
    ck_assert_int_eq(cmio_tcp_listener_local_addr(&l, &local), 0);
    ck_assert_int_ne(ntohs(local.u.in4.sin_port), 0);

    cmio_tcp_stream s, c;
    ck_assert_int_eq(cmio_tcp_listener_accept(&l, &s, NULL), -EAGAIN); /* nobody yet */
    ck_assert_int_eq(cmio_tcp_stream_connect(&c, &local), 0);
    ck_assert_int_eq(RETRY(cmio_tcp_listener_accept(&l, &s, &peer)), 0);
    ck_assert_int_eq(peer.u.sa.sa_family, AF_INET);

    char buf[16];
    ck_assert_int_eq(cmio_tcp_stream_read(&s, buf, sizeof(buf)), -EAGAIN); /* nothing sent */
    ck_assert_int_eq(RETRY(cmio_tcp_stream_write(&c, "hello", 5)), 5);
    ck_assert_int_eq(RETRY(cmio_tcp_stream_read(&s, buf, sizeof(buf))), 5);
    ck_assert(memcmp(buf, "hello", 5) == 0);

    /* The iovec variants (WSASend, WSARecv). */
    struct iovec out[2] = {{"ab", 2}, {"cde", 3}};
    ck_assert_int_eq(RETRY(cmio_tcp_stream_writev(&c, out, 2)), 5);
    char x[2], y[8];
    struct iovec in[2] = {{x, sizeof(x)}, {y, sizeof(y)}};
    ck_assert_int_eq(RETRY(cmio_tcp_stream_readv(&s, in, 2)), 5);
    ck_assert(memcmp(x, "ab", 2) == 0 && memcmp(y, "cde", 3) == 0);

    ck_assert_int_eq(cmio_tcp_stream_peer_addr(&c, &peer), 0);
    ck_assert_int_eq(peer.u.in4.sin_port, local.u.in4.sin_port);
    bool on = false;
    ck_assert_int_eq(cmio_tcp_stream_set_nodelay(&c, true), 0);
    ck_assert_int_eq(cmio_tcp_stream_nodelay(&c, &on), 0);
    ck_assert(on);
    ck_assert_int_eq(cmio_tcp_stream_take_error(&c), 0);

    /* The peer's close is the end of stream. */
    cmio_tcp_stream_close(&c);
    ck_assert(c.fd == CMIO_FD_INVALID);
    ck_assert_int_eq(RETRY(cmio_tcp_stream_read(&s, buf, sizeof(buf))), 0);
    cmio_tcp_stream_close(&s);
    cmio_tcp_listener_close(&l);
    ck_assert_int_eq(cmio_tcp_stream_read(&s, buf, sizeof(buf)), -EBADF);
}
END_TEST

START_TEST(tcp_refused)
{
    /* A port nobody listens on: bind one, learn it, close it. */
    cmio_sockaddr any, local;
    ck_assert_int_eq(cmio_sockaddr_parse(&any, "127.0.0.1:0"), 0);
    cmio_tcp_listener l;
    ck_assert_int_eq(cmio_tcp_listener_bind(&l, &any), 0);
    ck_assert_int_eq(cmio_tcp_listener_local_addr(&l, &local), 0);
    cmio_tcp_listener_close(&l);
    cmio_tcp_stream c;
    ck_assert_int_eq(cmio_tcp_stream_connect(&c, &local), 0); /* in progress */
    int err = 0;
    for (int i = 0; i < 2000 && err == 0; i++) {
        err = cmio_tcp_stream_take_error(&c);
        if (err == 0)
            Sleep(1);
    }
    ck_assert_int_eq(err, -ECONNREFUSED);
    cmio_tcp_stream_close(&c);
}
END_TEST

START_TEST(udp_loopback)
{
    cmio_sockaddr any, a_addr, from;
    ck_assert_int_eq(cmio_sockaddr_parse(&any, "127.0.0.1:0"), 0);
    cmio_udp_socket a, b;
    ck_assert_int_eq(cmio_udp_socket_bind(&a, &any), 0);
    ck_assert_int_eq(cmio_udp_socket_bind(&b, &any), 0);
    ck_assert_int_eq(cmio_udp_socket_local_addr(&a, &a_addr), 0);
    char buf[16];
    ck_assert_int_eq(cmio_udp_socket_recv_from(&a, buf, sizeof(buf), &from), -EAGAIN);
    ck_assert_int_eq(cmio_udp_socket_send_to(&b, "dgram", 5, &a_addr), 5);
    ck_assert_int_eq(RETRY(cmio_udp_socket_recv_from(&a, buf, sizeof(buf), &from)), 5);
    ck_assert(memcmp(buf, "dgram", 5) == 0);
    ck_assert_int_eq(from.u.sa.sa_family, AF_INET);
    /* Multicast options go through to Winsock. */
    ck_assert_int_eq(cmio_udp_socket_set_multicast_loop_v4(&a, true), 0);
    bool loop = false;
    ck_assert_int_eq(cmio_udp_socket_multicast_loop_v4(&a, &loop), 0);
    ck_assert(loop);
    cmio_udp_socket_close(&a);
    cmio_udp_socket_close(&b);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The APIs Windows refuses: every public function of Unix datagrams,       */
/* pipes, descriptor passing and signals (and socket pairs, abstract names)  */
/* answers -ENOTSUP after its argument checks, as include/cmio.h says. One   */
/* check per function, in a table whose names tests/check-windows-refusals.sh */
/* compares with the header's, so that none is left out.                    */
/* ------------------------------------------------------------------------ */

/* What a check gets: a real socket of another kind (UDP on loopback) for a
 * struct to hold, so that the door's -EBADF is passed and the refusal
 * itself is seen; a path and a poll's registry. */
typedef struct refusal_env {
    cmio_fd sock;
    const char *path;
    cmio_registry *registry;
} refusal_env;

static void check_dgram_bind(const refusal_env *e)
{
    cmio_unix_datagram d = {e->sock};
    ck_assert_int_eq(cmio_unix_datagram_bind(NULL, e->path), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_bind(&d, NULL), -EINVAL);
    ck_assert(d.fd == CMIO_FD_INVALID);
    ck_assert_int_eq(cmio_unix_datagram_bind(&d, ""), -EINVAL);
    d.fd = e->sock;
    ck_assert_int_eq(cmio_unix_datagram_bind(&d, e->path), -ENOTSUP);
    ck_assert(d.fd == CMIO_FD_INVALID);
}

static void check_dgram_bind_addr(const refusal_env *e)
{
    cmio_unix_datagram d = {e->sock};
    cmio_sockaddr ip, un;
    ck_assert_int_eq(cmio_sockaddr_parse(&ip, "127.0.0.1:0"), 0);
    ck_assert_int_eq(cmio_sockaddr_from_path(&un, e->path), 0);
    ck_assert_int_eq(cmio_unix_datagram_bind_addr(NULL, &un), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_bind_addr(&d, NULL), -EINVAL);
    ck_assert(d.fd == CMIO_FD_INVALID);
    ck_assert_int_eq(cmio_unix_datagram_bind_addr(&d, &ip), -EINVAL);
    d.fd = e->sock;
    ck_assert_int_eq(cmio_unix_datagram_bind_addr(&d, &un), -ENOTSUP);
    ck_assert(d.fd == CMIO_FD_INVALID);
}

static void check_dgram_unbound(const refusal_env *e)
{
    cmio_unix_datagram d = {e->sock};
    ck_assert_int_eq(cmio_unix_datagram_unbound(NULL), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_unbound(&d), -ENOTSUP);
    ck_assert(d.fd == CMIO_FD_INVALID);
}

static void check_dgram_pair(const refusal_env *e)
{
    cmio_unix_datagram a = {e->sock}, b = {e->sock};
    ck_assert_int_eq(cmio_unix_datagram_pair(NULL, &b), -EINVAL);
    ck_assert(b.fd == CMIO_FD_INVALID);
    ck_assert_int_eq(cmio_unix_datagram_pair(&a, NULL), -EINVAL);
    ck_assert(a.fd == CMIO_FD_INVALID);
    ck_assert_int_eq(cmio_unix_datagram_pair(&a, &a), -EINVAL);
    a.fd = b.fd = e->sock;
    ck_assert_int_eq(cmio_unix_datagram_pair(&a, &b), -ENOTSUP);
    ck_assert(a.fd == CMIO_FD_INVALID && b.fd == CMIO_FD_INVALID);
}

/* The door every call on a datagram socket has: NULL, then a closed one. */
#define DGRAM_DOOR(call_with)                                                                        \
    do {                                                                                             \
        cmio_unix_datagram *none_ = NULL, closed_ = {CMIO_FD_INVALID};                               \
        ck_assert_int_eq(call_with(none_), -EINVAL);                                                 \
        ck_assert_int_eq(call_with(&closed_), -EBADF);                                               \
    } while (0)

static void check_dgram_connect(const refusal_env *e)
{
    cmio_unix_datagram d = {e->sock};
#define CALL(s) cmio_unix_datagram_connect((s), e->path)
    DGRAM_DOOR(CALL);
#undef CALL
    ck_assert_int_eq(cmio_unix_datagram_connect(&d, NULL), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_connect(&d, ""), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_connect(&d, e->path), -ENOTSUP);
}

static void check_dgram_send(const refusal_env *e)
{
    cmio_unix_datagram d = {e->sock};
#define CALL(s) cmio_unix_datagram_send((s), "x", 1)
    DGRAM_DOOR(CALL);
#undef CALL
    ck_assert_int_eq(cmio_unix_datagram_send(&d, NULL, 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_send(&d, "x", 1), -ENOTSUP);
}

static void check_dgram_send_to(const refusal_env *e)
{
    cmio_unix_datagram d = {e->sock};
#define CALL(s) cmio_unix_datagram_send_to((s), "x", 1, e->path)
    DGRAM_DOOR(CALL);
#undef CALL
    ck_assert_int_eq(cmio_unix_datagram_send_to(&d, NULL, 1, e->path), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_send_to(&d, "x", 1, NULL), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_send_to(&d, "x", 1, e->path), -ENOTSUP);
}

static void check_dgram_recv(const refusal_env *e)
{
    cmio_unix_datagram d = {e->sock};
    char buf[8];
#define CALL(s) cmio_unix_datagram_recv((s), buf, sizeof(buf))
    DGRAM_DOOR(CALL);
#undef CALL
    ck_assert_int_eq(cmio_unix_datagram_recv(&d, NULL, 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_recv(&d, buf, sizeof(buf)), -ENOTSUP);
}

static void check_dgram_recv_from(const refusal_env *e)
{
    cmio_unix_datagram d = {e->sock};
    char buf[8];
    cmio_sockaddr from;
#define CALL(s) cmio_unix_datagram_recv_from((s), buf, sizeof(buf), &from)
    DGRAM_DOOR(CALL);
#undef CALL
    ck_assert_int_eq(cmio_unix_datagram_recv_from(&d, NULL, 1, &from), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_recv_from(&d, buf, sizeof(buf), &from), -ENOTSUP);
    ck_assert_int_eq(cmio_unix_datagram_recv_from(&d, buf, sizeof(buf), NULL), -ENOTSUP);
}

static void check_dgram_shutdown(const refusal_env *e)
{
    cmio_unix_datagram d = {e->sock};
#define CALL(s) cmio_unix_datagram_shutdown((s), CMIO_SHUTDOWN_BOTH)
    DGRAM_DOOR(CALL);
#undef CALL
    ck_assert_int_eq(cmio_unix_datagram_shutdown(&d, (cmio_shutdown)99), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_shutdown(&d, CMIO_SHUTDOWN_BOTH), -ENOTSUP);
}

static void check_dgram_local_addr(const refusal_env *e)
{
    cmio_unix_datagram d = {e->sock};
    cmio_sockaddr a;
#define CALL(s) cmio_unix_datagram_local_addr((s), &a)
    DGRAM_DOOR(CALL);
#undef CALL
    ck_assert_int_eq(cmio_unix_datagram_local_addr(&d, NULL), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_local_addr(&d, &a), -ENOTSUP);
}

static void check_dgram_peer_addr(const refusal_env *e)
{
    cmio_unix_datagram d = {e->sock};
    cmio_sockaddr a;
#define CALL(s) cmio_unix_datagram_peer_addr((s), &a)
    DGRAM_DOOR(CALL);
#undef CALL
    ck_assert_int_eq(cmio_unix_datagram_peer_addr(&d, NULL), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_peer_addr(&d, &a), -ENOTSUP);
}

static void check_dgram_take_error(const refusal_env *e)
{
    cmio_unix_datagram d = {e->sock};
    DGRAM_DOOR(cmio_unix_datagram_take_error);
    ck_assert_int_eq(cmio_unix_datagram_take_error(&d), -ENOTSUP);
}

static void check_dgram_from_fd(const refusal_env *e)
{
    cmio_unix_datagram d = {e->sock};
    ck_assert_int_eq(cmio_unix_datagram_from_fd(NULL, e->sock), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_from_fd(&d, CMIO_FD_INVALID), -EBADF);
    ck_assert(d.fd == CMIO_FD_INVALID);
    d.fd = e->sock;
    ck_assert_int_eq(cmio_unix_datagram_from_fd(&d, e->sock), -ENOTSUP);
    ck_assert(d.fd == CMIO_FD_INVALID);
}

/* A socket of its own to close, UDP on loopback. */
static cmio_fd own_socket(void)
{
    cmio_sockaddr any;
    ck_assert_int_eq(cmio_sockaddr_parse(&any, "127.0.0.1:0"), 0);
    cmio_udp_socket u;
    ck_assert_int_eq(cmio_udp_socket_bind(&u, &any), 0);
    return u.fd;
}

/* A socket that close() closed: a later call on it is not a socket's. */
static void assert_closed(cmio_fd fd)
{
    int type = 0, len = sizeof(type);
    ck_assert_int_ne(getsockopt(fd, SOL_SOCKET, SO_TYPE, (char *)&type, &len), 0);
}

static void check_dgram_close(const refusal_env *e)
{
    (void)e;
    cmio_unix_datagram_close(NULL); /* ignored */
    cmio_fd fd = own_socket();
    cmio_unix_datagram d = {fd};
    cmio_unix_datagram_close(&d); /* closing is as elsewhere */
    ck_assert(d.fd == CMIO_FD_INVALID);
    assert_closed(fd);
    cmio_unix_datagram_close(&d); /* idempotent */
    ck_assert(d.fd == CMIO_FD_INVALID);
}

static void check_dgram_send_fds(const refusal_env *e)
{
    cmio_unix_datagram d = {e->sock};
    cmio_fd fds[1] = {e->sock};
#define CALL(s) cmio_unix_datagram_send_fds((s), "x", 1, fds, 1)
    DGRAM_DOOR(CALL);
#undef CALL
    ck_assert_int_eq(cmio_unix_datagram_send_fds(&d, NULL, 1, fds, 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_send_fds(&d, "x", 1, NULL, 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_send_fds(&d, "x", 1, fds, CMIO_UNIX_MAX_FDS + 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_send_fds(&d, "x", 1, fds, 1), -ENOTSUP);
    ck_assert_int_eq(cmio_unix_datagram_send_fds(&d, "", 0, fds, 1), -ENOTSUP); /* 0 bytes may carry them */
}

static void check_dgram_recv_fds(const refusal_env *e)
{
    cmio_unix_datagram d = {e->sock}, closed = {CMIO_FD_INVALID};
    cmio_fd fds[2];
    char buf[8];
    size_t n = 2;
    ck_assert_int_eq(cmio_unix_datagram_recv_fds(NULL, buf, sizeof(buf), fds, &n), -EINVAL);
    ck_assert_uint_eq(n, 0);
    n = 2;
    ck_assert_int_eq(cmio_unix_datagram_recv_fds(&closed, buf, sizeof(buf), fds, &n), -EBADF);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(cmio_unix_datagram_recv_fds(&d, buf, sizeof(buf), fds, NULL), -EINVAL);
    n = 2;
    ck_assert_int_eq(cmio_unix_datagram_recv_fds(&d, NULL, 1, fds, &n), -EINVAL);
    ck_assert_uint_eq(n, 0);
    n = 2;
    ck_assert_int_eq(cmio_unix_datagram_recv_fds(&d, buf, sizeof(buf), NULL, &n), -EINVAL);
    ck_assert_uint_eq(n, 0);
    n = 2;
    ck_assert_int_eq(cmio_unix_datagram_recv_fds(&d, buf, sizeof(buf), fds, &n), -ENOTSUP);
    ck_assert_uint_eq(n, 0);
}

static void check_stream_send_fds(const refusal_env *e)
{
    cmio_unix_stream s = {e->sock}, closed = {CMIO_FD_INVALID};
    cmio_fd fds[1] = {e->sock};
    ck_assert_int_eq(cmio_unix_stream_send_fds(NULL, "x", 1, fds, 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_send_fds(&closed, "x", 1, fds, 1), -EBADF);
    ck_assert_int_eq(cmio_unix_stream_send_fds(&s, NULL, 1, fds, 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_send_fds(&s, "x", 1, NULL, 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_send_fds(&s, "x", 1, fds, CMIO_UNIX_MAX_FDS + 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_send_fds(&s, "", 0, fds, 1), -EINVAL); /* a stream needs a byte */
    ck_assert_int_eq(cmio_unix_stream_send_fds(&s, "x", 1, fds, 1), -ENOTSUP);
}

static void check_stream_recv_fds(const refusal_env *e)
{
    cmio_unix_stream s = {e->sock}, closed = {CMIO_FD_INVALID};
    cmio_fd fds[2];
    char buf[8];
    size_t n = 2;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(NULL, buf, sizeof(buf), fds, &n), -EINVAL);
    ck_assert_uint_eq(n, 0);
    n = 2;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&closed, buf, sizeof(buf), fds, &n), -EBADF);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&s, buf, sizeof(buf), fds, NULL), -EINVAL);
    n = 2;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&s, buf, 0, fds, &n), -EINVAL); /* 0 is the end of stream */
    ck_assert_uint_eq(n, 0);
    n = 2;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&s, NULL, 1, fds, &n), -EINVAL);
    ck_assert_uint_eq(n, 0);
    n = 2;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&s, buf, sizeof(buf), NULL, &n), -EINVAL);
    ck_assert_uint_eq(n, 0);
    n = 2;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&s, buf, sizeof(buf), fds, &n), -ENOTSUP);
    ck_assert_uint_eq(n, 0);
}

static void check_stream_pair(const refusal_env *e)
{
    cmio_unix_stream a = {e->sock}, b = {e->sock};
    ck_assert_int_eq(cmio_unix_stream_pair(NULL, &b), -EINVAL);
    ck_assert(b.fd == CMIO_FD_INVALID);
    ck_assert_int_eq(cmio_unix_stream_pair(&a, NULL), -EINVAL);
    ck_assert(a.fd == CMIO_FD_INVALID);
    ck_assert_int_eq(cmio_unix_stream_pair(&a, &a), -EINVAL);
    a.fd = b.fd = e->sock;
    ck_assert_int_eq(cmio_unix_stream_pair(&a, &b), -ENOTSUP);
    ck_assert(a.fd == CMIO_FD_INVALID && b.fd == CMIO_FD_INVALID);
}

static void check_from_abstract(const refusal_env *e)
{
    (void)e;
    cmio_sockaddr a;
    ck_assert_int_eq(cmio_sockaddr_from_abstract(NULL, "x", 1), -EINVAL);
    ck_assert_int_eq(cmio_sockaddr_from_abstract(&a, NULL, 1), -EINVAL);
    ck_assert_int_eq(cmio_sockaddr_from_abstract(&a, "x", 1), -ENOTSUP);
}

static void check_pipe_new(const refusal_env *e)
{
    cmio_pipe_sender tx = {e->sock};
    cmio_pipe_receiver rx = {e->sock};
    ck_assert_int_eq(cmio_pipe_new(NULL, &rx), -EINVAL);
    ck_assert(rx.fd == CMIO_FD_INVALID);
    ck_assert_int_eq(cmio_pipe_new(&tx, NULL), -EINVAL);
    ck_assert(tx.fd == CMIO_FD_INVALID);
    ck_assert_int_eq(cmio_pipe_new(&tx, (cmio_pipe_receiver *)(void *)&tx), -EINVAL);
    tx.fd = rx.fd = e->sock;
    ck_assert_int_eq(cmio_pipe_new(&tx, &rx), -ENOTSUP);
    ck_assert(tx.fd == CMIO_FD_INVALID && rx.fd == CMIO_FD_INVALID);
}

static void check_pipe_sender_write(const refusal_env *e)
{
    cmio_pipe_sender tx = {e->sock}, closed = {CMIO_FD_INVALID};
    ck_assert_int_eq(cmio_pipe_sender_write(NULL, "x", 1), -EINVAL);
    ck_assert_int_eq(cmio_pipe_sender_write(&closed, "x", 1), -EBADF);
    ck_assert_int_eq(cmio_pipe_sender_write(&tx, NULL, 1), -EINVAL);
    ck_assert_int_eq(cmio_pipe_sender_write(&tx, "x", 1), -ENOTSUP);
}

static void check_pipe_receiver_read(const refusal_env *e)
{
    cmio_pipe_receiver rx = {e->sock}, closed = {CMIO_FD_INVALID};
    char buf[8];
    ck_assert_int_eq(cmio_pipe_receiver_read(NULL, buf, sizeof(buf)), -EINVAL);
    ck_assert_int_eq(cmio_pipe_receiver_read(&closed, buf, sizeof(buf)), -EBADF);
    ck_assert_int_eq(cmio_pipe_receiver_read(&rx, NULL, 1), -EINVAL);
    ck_assert_int_eq(cmio_pipe_receiver_read(&rx, buf, sizeof(buf)), -ENOTSUP);
}

static void check_pipe_sender_from_fd(const refusal_env *e)
{
    cmio_pipe_sender tx = {e->sock};
    ck_assert_int_eq(cmio_pipe_sender_from_fd(NULL, e->sock), -EINVAL);
    ck_assert_int_eq(cmio_pipe_sender_from_fd(&tx, CMIO_FD_INVALID), -EBADF);
    ck_assert(tx.fd == CMIO_FD_INVALID);
    tx.fd = e->sock;
    ck_assert_int_eq(cmio_pipe_sender_from_fd(&tx, e->sock), -ENOTSUP);
    ck_assert(tx.fd == CMIO_FD_INVALID);
}

static void check_pipe_receiver_from_fd(const refusal_env *e)
{
    cmio_pipe_receiver rx = {e->sock};
    ck_assert_int_eq(cmio_pipe_receiver_from_fd(NULL, e->sock), -EINVAL);
    ck_assert_int_eq(cmio_pipe_receiver_from_fd(&rx, CMIO_FD_INVALID), -EBADF);
    ck_assert(rx.fd == CMIO_FD_INVALID);
    rx.fd = e->sock;
    ck_assert_int_eq(cmio_pipe_receiver_from_fd(&rx, e->sock), -ENOTSUP);
    ck_assert(rx.fd == CMIO_FD_INVALID);
}

static void check_pipe_sender_close(const refusal_env *e)
{
    (void)e;
    cmio_pipe_sender_close(NULL);
    cmio_fd fd = own_socket();
    cmio_pipe_sender tx = {fd};
    cmio_pipe_sender_close(&tx);
    ck_assert(tx.fd == CMIO_FD_INVALID);
    assert_closed(fd);
    cmio_pipe_sender_close(&tx);
    ck_assert(tx.fd == CMIO_FD_INVALID);
}

static void check_pipe_receiver_close(const refusal_env *e)
{
    (void)e;
    cmio_pipe_receiver_close(NULL);
    cmio_fd fd = own_socket();
    cmio_pipe_receiver rx = {fd};
    cmio_pipe_receiver_close(&rx);
    ck_assert(rx.fd == CMIO_FD_INVALID);
    assert_closed(fd);
    cmio_pipe_receiver_close(&rx);
    ck_assert(rx.fd == CMIO_FD_INVALID);
}

static void check_signals_new(const refusal_env *e)
{
    cmio_sigset set = 1u << 2, empty = 0;
    cmio_signals *sig = (cmio_signals *)1;
    ck_assert_int_eq(cmio_signals_new(NULL, 0, &set, &sig), -EINVAL);
    ck_assert_ptr_null(sig);
    ck_assert_int_eq(cmio_signals_new(e->registry, 0, NULL, &sig), -EINVAL);
    ck_assert_int_eq(cmio_signals_new(e->registry, 0, &set, NULL), -EINVAL);
    sig = (cmio_signals *)1;
    ck_assert_int_eq(cmio_signals_new(e->registry, 0, &empty, &sig), -EINVAL);
    ck_assert_ptr_null(sig);
    sig = (cmio_signals *)1;
    ck_assert_int_eq(cmio_signals_new(e->registry, 0, &set, &sig), -ENOTSUP);
    ck_assert_ptr_null(sig);
}

static void check_signals_read(const refusal_env *e)
{
    (void)e;
    int signo = 0;
    /* No set can exist, so there is none to read: -EINVAL, as for NULL. */
    ck_assert_int_eq(cmio_signals_read(NULL, &signo), -EINVAL);
    ck_assert_int_eq(cmio_signals_read(NULL, NULL), -EINVAL);
}

static void check_signals_free(const refusal_env *e)
{
    (void)e;
    cmio_signals_free(NULL); /* accepted, as everywhere */
}

/* One row per public function of the refused APIs; the names are what
 * tests/check-windows-refusals.sh reads. */
#define REFUSAL(fn, check) {#fn, check}
static const struct refusal {
    const char *name;
    void (*check)(const refusal_env *e);
} refusals[] = {
    REFUSAL(cmio_unix_datagram_bind, check_dgram_bind),
    REFUSAL(cmio_unix_datagram_bind_addr, check_dgram_bind_addr),
    REFUSAL(cmio_unix_datagram_unbound, check_dgram_unbound),
    REFUSAL(cmio_unix_datagram_pair, check_dgram_pair),
    REFUSAL(cmio_unix_datagram_connect, check_dgram_connect),
    REFUSAL(cmio_unix_datagram_send, check_dgram_send),
    REFUSAL(cmio_unix_datagram_send_to, check_dgram_send_to),
    REFUSAL(cmio_unix_datagram_recv, check_dgram_recv),
    REFUSAL(cmio_unix_datagram_recv_from, check_dgram_recv_from),
    REFUSAL(cmio_unix_datagram_shutdown, check_dgram_shutdown),
    REFUSAL(cmio_unix_datagram_local_addr, check_dgram_local_addr),
    REFUSAL(cmio_unix_datagram_peer_addr, check_dgram_peer_addr),
    REFUSAL(cmio_unix_datagram_take_error, check_dgram_take_error),
    REFUSAL(cmio_unix_datagram_from_fd, check_dgram_from_fd),
    REFUSAL(cmio_unix_datagram_close, check_dgram_close),
    REFUSAL(cmio_unix_datagram_send_fds, check_dgram_send_fds),
    REFUSAL(cmio_unix_datagram_recv_fds, check_dgram_recv_fds),
    REFUSAL(cmio_unix_stream_send_fds, check_stream_send_fds),
    REFUSAL(cmio_unix_stream_recv_fds, check_stream_recv_fds),
    REFUSAL(cmio_unix_stream_pair, check_stream_pair),
    REFUSAL(cmio_sockaddr_from_abstract, check_from_abstract),
    REFUSAL(cmio_pipe_new, check_pipe_new),
    REFUSAL(cmio_pipe_sender_write, check_pipe_sender_write),
    REFUSAL(cmio_pipe_receiver_read, check_pipe_receiver_read),
    REFUSAL(cmio_pipe_sender_from_fd, check_pipe_sender_from_fd),
    REFUSAL(cmio_pipe_receiver_from_fd, check_pipe_receiver_from_fd),
    REFUSAL(cmio_pipe_sender_close, check_pipe_sender_close),
    REFUSAL(cmio_pipe_receiver_close, check_pipe_receiver_close),
    REFUSAL(cmio_signals_new, check_signals_new),
    REFUSAL(cmio_signals_read, check_signals_read),
    REFUSAL(cmio_signals_free, check_signals_free),
};
#define N_REFUSALS ((int)(sizeof(refusals) / sizeof(refusals[0])))

START_TEST(refused_on_windows)
{
    const struct refusal *r = &refusals[_i];
    cmio_poll *poll;
    ck_assert_int_eq(cmio_poll_new(&poll), 0);
    refusal_env e = {.sock = own_socket(), .path = "cmio-refusal.sock", .registry = cmio_poll_registry(poll)};
    r->check(&e);
    /* The socket a struct held is still open and a UDP socket: no refusal
     * closed or changed what it was handed. */
    int type = 0, len = sizeof(type);
    ck_assert_msg(getsockopt(e.sock, SOL_SOCKET, SO_TYPE, (char *)&type, &len) == 0 && type == SOCK_DGRAM,
                  "%s closed the socket it was handed", r->name);
    ck_assert_int_eq(closesocket(e.sock), 0);
    cmio_poll_free(poll);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("windows");
    TCase *tc = tcase_create("winsock");
    tcase_add_test(tc, sockaddr_parse_format);
    tcase_add_test(tc, error_table);
    tcase_add_test(tc, tcp_loopback);
    tcase_add_test(tc, tcp_refused);
    tcase_add_test(tc, udp_loopback);
    suite_add_tcase(s, tc);
    TCase *refused = tcase_create("refused");
    tcase_add_loop_test(refused, refused_on_windows, 0, N_REFUSALS);
    suite_add_tcase(s, refused);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
