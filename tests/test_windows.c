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

START_TEST(not_supported)
{
    cmio_pipe_sender tx;
    cmio_pipe_receiver rx;
    ck_assert_int_eq(cmio_pipe_new(&tx, &rx), -ENOTSUP);
    ck_assert(tx.fd == CMIO_FD_INVALID && rx.fd == CMIO_FD_INVALID);
    cmio_unix_stream p, q;
    ck_assert_int_eq(cmio_unix_stream_pair(&p, &q), -ENOTSUP);
    cmio_unix_datagram d;
    ck_assert_int_eq(cmio_unix_datagram_unbound(&d), -ENOTSUP);
    cmio_sigset set = 0;
    cmio_signals *sig = (cmio_signals *)1;
    ck_assert_int_eq(cmio_signals_new(NULL, 0, &set, &sig), -EINVAL);
    ck_assert_ptr_null(sig);
    cmio_sockaddr a;
    ck_assert_int_eq(cmio_sockaddr_from_abstract(&a, "x", 1), -ENOTSUP);
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
    tcase_add_test(tc, not_supported);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
