/*
 * cmio_tcp_socket (mio 0.7's TcpSocket) and the options it shares with
 * streams and UDP sockets: every option set and read back, SO_REUSEPORT
 * listeners sharing a port, bind/listen/connect round trips on 127.0.0.1
 * and ::1, consumption, argument errors, -EBADF. The mio_* tests are the
 * twins of mio 0.7/0.8's tests/tcp_socket.rs (docs/porting-from-mio.md).
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include <errno.h>
#include <limits.h>
#if !defined(_WIN32)
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#endif
#include <stdio.h>
#include <string.h>

static cmio_tcp_socket new_v4(void)
{
    cmio_tcp_socket s = {.fd = -2};
    ck_assert_int_eq(cmio_tcp_socket_new_v4(&s), 0);
    ck_assert(s.fd != CMIO_FD_INVALID);
    assert_nonblock_cloexec(s.fd);
    return s;
}

/* mio: bind 127.0.0.1:0 and listen(128) after setting an option. */
static void bind_and_listen(cmio_tcp_socket *s)
{
    cmio_sockaddr addr = parse_addr("127.0.0.1:0");
    ck_assert_int_eq(cmio_tcp_socket_bind(s, &addr), 0);
    cmio_tcp_listener l = {.fd = -2};
    ck_assert_int_eq(cmio_tcp_socket_listen(s, 128, &l), 0);
    ck_assert(s->fd == CMIO_FD_INVALID);
    ck_assert(l.fd != CMIO_FD_INVALID);
    cmio_tcp_listener_close(&l);
}

/* An option the OS lacks answers -ENOTSUP (SO_REUSEPORT on Windows; a
 * keepalive part on a Windows or Wine without its TCP option): reported as
 * a skip of what depends on it. */
static bool lacking(int rc, const char *what)
{
    if (rc != -ENOTSUP)
        return false;
    fprintf(stderr, "%s: -ENOTSUP on this system: that part skipped\n", what);
    return true;
}

/* After set_keepalive(asked) answered -ENOTSUP: nothing was changed
 * (keepalive is still `was_on`), and a part that was asked reads 0, as the
 * params getter reads a part the OS lacks. A -ENOTSUP from a system that
 * has every option (Linux: idle 7200 by default) fails here. */
static void assert_keepalive_lacking(const cmio_keepalive *asked, bool was_on, bool now_on, const cmio_keepalive *got)
{
    ck_assert(now_on == was_on);
    bool zero = (asked->idle_s && got->idle_s == 0) || (asked->interval_s && got->interval_s == 0) ||
                (asked->count && got->count == 0);
    ck_assert_msg(zero, "-ENOTSUP, but every part asked reads a value");
}

START_TEST(mio_set_reuseaddr)
{
    cmio_tcp_socket s = new_v4();
    bool on = false;
    ck_assert_int_eq(cmio_tcp_socket_set_reuseaddr(&s, true), 0);
    ck_assert_int_eq(cmio_tcp_socket_reuseaddr(&s, &on), 0);
    ck_assert(on);
    ck_assert_int_eq(cmio_tcp_socket_set_reuseaddr(&s, false), 0);
    ck_assert_int_eq(cmio_tcp_socket_reuseaddr(&s, &on), 0);
    ck_assert(!on);
    bind_and_listen(&s);
}
END_TEST

START_TEST(mio_set_reuseport)
{
    cmio_tcp_socket s = new_v4();
    bool on = true;
    int rc = cmio_tcp_socket_reuseport(&s, &on);
    if (lacking(rc, "SO_REUSEPORT")) {
        ck_assert_int_eq(cmio_tcp_socket_set_reuseport(&s, true), -ENOTSUP); /* the setter says so too */
        bind_and_listen(&s);
        return;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert(!on);
    ck_assert_int_eq(cmio_tcp_socket_set_reuseport(&s, true), 0);
    ck_assert_int_eq(cmio_tcp_socket_reuseport(&s, &on), 0);
    ck_assert(on);
    bind_and_listen(&s);
}
END_TEST

START_TEST(mio_set_keepalive)
{
    cmio_tcp_socket s = new_v4();
    bool on = true;
    ck_assert_int_eq(cmio_tcp_socket_set_keepalive(&s, NULL), 0);
    ck_assert_int_eq(cmio_tcp_socket_keepalive(&s, &on), 0);
    ck_assert(!on);
    cmio_keepalive defaults = {0, 0, 0};
    ck_assert_int_eq(cmio_tcp_socket_set_keepalive(&s, &defaults), 0);
    ck_assert_int_eq(cmio_tcp_socket_keepalive(&s, &on), 0);
    ck_assert(on);
    bind_and_listen(&s);
}
END_TEST

/* mio's set_keepalive_time, set_keepalive_interval, set_keepalive_retries:
 * one part set, read back, the others left at the OS default. */
static void keepalive_part(int part, unsigned value)
{
    cmio_tcp_socket s = new_v4();
    cmio_keepalive before, ka = {0, 0, 0}, after;
    ck_assert_int_eq(cmio_tcp_socket_keepalive_params(&s, &before), 0);
    unsigned *slot = part == 0 ? &ka.idle_s : part == 1 ? &ka.interval_s : &ka.count;
    *slot = value;
    int rc = cmio_tcp_socket_set_keepalive(&s, &ka);
    ck_assert_int_eq(cmio_tcp_socket_keepalive_params(&s, &after), 0);
    if (lacking(rc, "keepalive part")) {
        bool on = true;
        ck_assert_int_eq(cmio_tcp_socket_keepalive(&s, &on), 0);
        assert_keepalive_lacking(&ka, false, on, &after);
        ck_assert(memcmp(&before, &after, sizeof(before)) == 0);
        bind_and_listen(&s);
        return;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(part == 0 ? after.idle_s : before.idle_s, part == 0 ? value : after.idle_s);
    ck_assert_uint_eq(part == 1 ? after.interval_s : before.interval_s, part == 1 ? value : after.interval_s);
    ck_assert_uint_eq(part == 2 ? after.count : before.count, part == 2 ? value : after.count);
    bool on = false;
    ck_assert_int_eq(cmio_tcp_socket_keepalive(&s, &on), 0);
    ck_assert(on);
    bind_and_listen(&s);
}

START_TEST(mio_set_keepalive_time) { keepalive_part(0, 4); }
END_TEST

START_TEST(mio_set_keepalive_interval) { keepalive_part(1, 4); }
END_TEST

START_TEST(mio_set_keepalive_retries) { keepalive_part(2, 16); }
END_TEST

START_TEST(test_keepalive_all_parts)
{
    cmio_tcp_socket s = new_v4();
    cmio_keepalive ka = {.idle_s = 30, .interval_s = 7, .count = 3}, got;
    int rc = cmio_tcp_socket_set_keepalive(&s, &ka);
    ck_assert_int_eq(cmio_tcp_socket_keepalive_params(&s, &got), 0);
    bool on = true;
    if (lacking(rc, "keepalive parts")) {
        ck_assert_int_eq(cmio_tcp_socket_keepalive(&s, &on), 0);
        assert_keepalive_lacking(&ka, false, on, &got);
    } else {
        ck_assert_int_eq(rc, 0);
        ck_assert_uint_eq(got.idle_s, 30);
        ck_assert_uint_eq(got.interval_s, 7);
        ck_assert_uint_eq(got.count, 3);
    }
    /* A part the kernel refuses is its error; one above INT_MAX is ours
     * (before -ENOTSUP is asked), and nothing changes. */
    cmio_keepalive before = got;
    cmio_keepalive huge = {.idle_s = (unsigned)INT_MAX + 1u};
    ck_assert_int_eq(cmio_tcp_socket_set_keepalive(&s, &huge), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_keepalive_params(&s, &got), 0);
    ck_assert_uint_eq(got.idle_s, before.idle_s);
    ck_assert_int_eq(cmio_tcp_socket_set_keepalive(&s, NULL), 0);
    on = true;
    ck_assert_int_eq(cmio_tcp_socket_keepalive(&s, &on), 0);
    ck_assert(!on);
    ck_assert_int_eq(cmio_tcp_socket_close(&s), 0);
}
END_TEST

START_TEST(mio_get_localaddr)
{
    cmio_tcp_socket s = new_v4();
    cmio_sockaddr a;
    char text[CMIO_SOCKADDR_STRLEN];
    ck_assert_int_eq(cmio_tcp_socket_local_addr(&s, &a), 0);
    ck_assert_int_gt(cmio_sockaddr_format(&a, text, sizeof(text)), 0);
    ck_assert_str_eq(text, "0.0.0.0:0");
    cmio_sockaddr want = parse_addr("127.0.0.1:0");
    ck_assert_int_eq(cmio_tcp_socket_bind(&s, &want), 0);
    ck_assert_int_eq(cmio_tcp_socket_local_addr(&s, &a), 0);
    ck_assert_int_eq(a.u.sa.sa_family, AF_INET);
    ck_assert_uint_eq(a.u.in4.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    ck_assert_uint_gt(ntohs(a.u.in4.sin_port), 0);
    cmio_tcp_listener l;
    ck_assert_int_eq(cmio_tcp_socket_listen(&s, 128, &l), 0);
    cmio_sockaddr la;
    ck_assert_int_eq(cmio_tcp_listener_local_addr(&l, &la), 0);
    ck_assert(same_addr(&a, &la));
    cmio_tcp_listener_close(&l);
}
END_TEST

/* listen on a socket never bound binds it first, to the wildcard address
 * and a port the kernel picks (POSIX listen(2) does; on Windows cmio binds,
 * as Winsock's listen refuses an unbound socket); before that local_addr
 * names it the wildcard address, port 0, in either family. */
START_TEST(test_listen_unbound_picks_a_port)
{
    static const char *const families[] = {"0.0.0.0:0", "[::]:0"};
    for (int f = 0; f < 2; f++) {
        cmio_tcp_socket s = {.fd = -2};
        int rc = f == 0 ? cmio_tcp_socket_new_v4(&s) : cmio_tcp_socket_new_v6(&s);
        if (f == 1 && addr_unavailable(rc, s.fd, "IPv6"))
            break;
        ck_assert_int_eq(rc, 0);
        cmio_sockaddr a;
        char text[CMIO_SOCKADDR_STRLEN];
        ck_assert_int_eq(cmio_tcp_socket_local_addr(&s, &a), 0);
        ck_assert_int_gt(cmio_sockaddr_format(&a, text, sizeof(text)), 0);
        ck_assert_str_eq(text, families[f]);
        cmio_tcp_listener l = {.fd = -2};
        ck_assert_int_eq(cmio_tcp_socket_listen(&s, 4, &l), 0);
        ck_assert_int_eq(cmio_tcp_listener_local_addr(&l, &a), 0);
        ck_assert_int_eq(a.u.sa.sa_family, f == 0 ? AF_INET : AF_INET6);
        uint16_t port = ntohs(f == 0 ? a.u.in4.sin_port : a.u.in6.sin6_port);
        ck_assert_uint_gt(port, 0);
        if (f == 0) { /* and it accepts there */
            cmio_sockaddr to = parse_addr("127.0.0.1:0");
            to.u.in4.sin_port = htons(port);
            cmio_fd c = plain_socket(AF_INET, SOCK_STREAM);
            ck_assert_int_eq(connect(c, &to.u.sa, to.len), 0);
            cmio_tcp_stream a2 = {.fd = -2};
            int64_t deadline = now_ms() + WAIT_MS;
            while ((rc = cmio_tcp_listener_accept(&l, &a2, NULL)) == -EAGAIN && now_ms() < deadline)
                sock_poll(l.fd, POLLIN, 100);
            ck_assert_int_eq(rc, 0);
            cmio_tcp_stream_close(&a2);
            sock_close(c);
        }
        cmio_tcp_listener_close(&l);
    }
}
END_TEST

START_TEST(mio_set_linger)
{
    cmio_tcp_socket s = new_v4();
    int secs = 99;
    ck_assert_int_eq(cmio_tcp_socket_linger(&s, &secs), 0);
    ck_assert_int_eq(secs, -1);
    ck_assert_int_eq(cmio_tcp_socket_set_linger(&s, 1), 0);
    ck_assert_int_eq(cmio_tcp_socket_linger(&s, &secs), 0);
    ck_assert_int_eq(secs, 1);
    ck_assert_int_eq(cmio_tcp_socket_set_linger(&s, 0), 0);
    ck_assert_int_eq(cmio_tcp_socket_linger(&s, &secs), 0);
    ck_assert_int_eq(secs, 0);
    ck_assert_int_eq(cmio_tcp_socket_set_linger(&s, -1), 0);
    ck_assert_int_eq(cmio_tcp_socket_linger(&s, &secs), 0);
    ck_assert_int_eq(secs, -1);
    bind_and_listen(&s);
}
END_TEST

/* mio's test_buffer_sizes: at least what was asked (Linux doubles it). */
static void buffer_sizes(bool send_side)
{
    static const size_t sizes[] = {256, 4096, 65512};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        cmio_tcp_socket s = new_v4();
        size_t got = 0;
        if (send_side) {
            ck_assert_int_eq(cmio_tcp_socket_set_send_buffer_size(&s, sizes[k]), 0);
            ck_assert_int_eq(cmio_tcp_socket_send_buffer_size(&s, &got), 0);
        } else {
            ck_assert_int_eq(cmio_tcp_socket_set_recv_buffer_size(&s, sizes[k]), 0);
            ck_assert_int_eq(cmio_tcp_socket_recv_buffer_size(&s, &got), 0);
        }
        ck_assert_msg(got >= sizes[k], "asked %zu, got %zu", sizes[k], got);
        ck_assert_int_eq(cmio_tcp_socket_close(&s), 0);
    }
}

START_TEST(mio_send_buffer_size_roundtrips) { buffer_sizes(true); }
END_TEST

START_TEST(mio_recv_buffer_size_roundtrips) { buffer_sizes(false); }
END_TEST

/* Connect s to l's address, wait (on the backend) until the stream is
 * writable and the listener readable, accept, and echo a message both
 * ways. */
static void round_trip(int backend, cmio_tcp_socket *s, cmio_tcp_listener *l)
{
    cmio_sockaddr addr;
    ck_assert_int_eq(cmio_tcp_listener_local_addr(l, &addr), 0);
    cmio_tcp_stream c = {.fd = -2};
    ck_assert_int_eq(cmio_tcp_socket_connect(s, &addr, &c), 0);
    ck_assert(s->fd == CMIO_FD_INVALID);
    ck_assert(c.fd != CMIO_FD_INVALID);
    assert_nonblock_cloexec(c.fd);

    cmio_poll *p = open_poll(backend);
    cmio_events *ev = open_events(8);
    cmio_registry *r = cmio_poll_registry(p);
    ck_assert_int_eq(cmio_registry_register(r, l->fd, 1, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_register(r, c.fd, 2, CMIO_READABLE | CMIO_WRITABLE), 0);
    seen_flags seen = {{0}};
    ck_assert(wait_seen(p, ev, &seen, 1, CMIO_EVENT_READABLE));
    ck_assert(wait_seen(p, ev, &seen, 2, CMIO_EVENT_WRITABLE));
    cmio_tcp_stream a = {.fd = -2};
    cmio_sockaddr peer, mine;
    ck_assert_int_eq(cmio_tcp_listener_accept(l, &a, &peer), 0);
    ck_assert_int_eq(cmio_tcp_stream_local_addr(&c, &mine), 0);
    ck_assert(same_addr(&peer, &mine));
    ck_assert_int_eq(cmio_registry_register(r, a.fd, 3, CMIO_READABLE), 0);

    ck_assert_int_eq(cmio_tcp_stream_write(&c, "ping", 4), 4);
    ck_assert(wait_seen(p, ev, &seen, 3, CMIO_EVENT_READABLE));
    char buf[8];
    ck_assert_int_eq(cmio_tcp_stream_read(&a, buf, sizeof(buf)), 4);
    ck_assert(memcmp(buf, "ping", 4) == 0);
    ck_assert_int_eq(cmio_tcp_stream_write(&a, "pong", 4), 4);
    ck_assert(wait_seen(p, ev, &seen, 2, CMIO_EVENT_READABLE));
    ck_assert_int_eq(cmio_tcp_stream_read(&c, buf, sizeof(buf)), 4);
    ck_assert(memcmp(buf, "pong", 4) == 0);

    cmio_registry_deregister(r, a.fd);
    cmio_registry_deregister(r, c.fd);
    cmio_registry_deregister(r, l->fd);
    cmio_tcp_stream_close(&a);
    cmio_tcp_stream_close(&c);
    cmio_events_free(ev);
    cmio_poll_free(p);
}

START_TEST(test_round_trip_v4)
{
    cmio_tcp_socket s = new_v4();
    ck_assert_int_eq(cmio_tcp_socket_set_reuseaddr(&s, true), 0);
    cmio_sockaddr addr = parse_addr("127.0.0.1:0");
    ck_assert_int_eq(cmio_tcp_socket_bind(&s, &addr), 0);
    cmio_tcp_listener l = {.fd = -2};
    ck_assert_int_eq(cmio_tcp_socket_listen(&s, 16, &l), 0);
    ck_assert(s.fd == CMIO_FD_INVALID);
    assert_nonblock_cloexec(l.fd);
    cmio_tcp_socket c = new_v4();
    cmio_keepalive idle = {.idle_s = 60}, got;
    int rc = cmio_tcp_socket_set_keepalive(&c, &idle);
    ck_assert_int_eq(cmio_tcp_socket_keepalive_params(&c, &got), 0);
    if (lacking(rc, "keepalive idle time")) {
        bool on = true;
        ck_assert_int_eq(cmio_tcp_socket_keepalive(&c, &on), 0);
        assert_keepalive_lacking(&idle, false, on, &got);
    } else {
        ck_assert_int_eq(rc, 0);
        ck_assert_uint_eq(got.idle_s, 60);
    }
    round_trip(_i, &c, &l);
    cmio_tcp_listener_close(&l);
}
END_TEST

START_TEST(test_round_trip_v6)
{
    cmio_tcp_socket s = {.fd = -2};
    int rc = cmio_tcp_socket_new_v6(&s);
    if (addr_unavailable(rc, s.fd, "IPv6"))
        return;
    ck_assert_int_eq(rc, 0);
    assert_nonblock_cloexec(s.fd);
    cmio_sockaddr addr = parse_addr("[::1]:0");
    rc = cmio_tcp_socket_bind(&s, &addr);
    if (rc == -EADDRNOTAVAIL) {
        cmio_tcp_socket_close(&s);
        ck_assert(addr_unavailable(rc, s.fd, "[::1]"));
        return;
    }
    ck_assert_int_eq(rc, 0);
    cmio_tcp_listener l;
    ck_assert_int_eq(cmio_tcp_socket_listen(&s, 16, &l), 0);
    cmio_sockaddr la;
    ck_assert_int_eq(cmio_tcp_listener_local_addr(&l, &la), 0);
    ck_assert_int_eq(la.u.sa.sa_family, AF_INET6);
    cmio_tcp_socket c;
    ck_assert_int_eq(cmio_tcp_socket_new_v6(&c), 0);
    round_trip(_i, &c, &l);
    cmio_tcp_listener_close(&l);
}
END_TEST

/* A listener on 127.0.0.1 with SO_REUSEPORT, at `addr` (port 0: pick one). */
static cmio_tcp_listener reuseport_listener(cmio_sockaddr *addr)
{
    cmio_tcp_socket s = new_v4();
    ck_assert_int_eq(cmio_tcp_socket_set_reuseport(&s, true), 0);
    ck_assert_int_eq(cmio_tcp_socket_bind(&s, addr), 0);
    ck_assert_int_eq(cmio_tcp_socket_local_addr(&s, addr), 0);
    cmio_tcp_listener l;
    ck_assert_int_eq(cmio_tcp_socket_listen(&s, 128, &l), 0);
    return l;
}

/* Two listeners on one port, both with SO_REUSEPORT: the kernel spreads
 * connections over them and both accept (64 connections: the chance that
 * the hash sends every one to one listener is 2^-63). */
START_TEST(test_reuseport_listeners_share_a_port)
{
    enum { N = 64 };
    cmio_tcp_socket probe = new_v4();
    int rc = cmio_tcp_socket_set_reuseport(&probe, true);
    ck_assert_int_eq(cmio_tcp_socket_close(&probe), 0);
    if (lacking(rc, "SO_REUSEPORT"))
        return;
    ck_assert_int_eq(rc, 0);
    cmio_sockaddr addr = parse_addr("127.0.0.1:0");
    cmio_tcp_listener l[2];
    l[0] = reuseport_listener(&addr);
    l[1] = reuseport_listener(&addr); /* the same port */
    cmio_sockaddr a0, a1;
    ck_assert_int_eq(cmio_tcp_listener_local_addr(&l[0], &a0), 0);
    ck_assert_int_eq(cmio_tcp_listener_local_addr(&l[1], &a1), 0);
    ck_assert(same_addr(&a0, &a1));
    /* Without SO_REUSEPORT a third one is refused. */
    cmio_tcp_socket plain = new_v4();
    ck_assert_int_eq(cmio_tcp_socket_bind(&plain, &addr), -EADDRINUSE);
    ck_assert_int_eq(cmio_tcp_socket_close(&plain), 0);

    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    for (int k = 0; k < 2; k++)
        ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), l[k].fd, (cmio_token)k, CMIO_READABLE), 0);
    int clients[N];
    for (int k = 0; k < N; k++) {
        clients[k] = socket(AF_INET, SOCK_STREAM, 0);
        ck_assert_int_ge(clients[k], 0);
        ck_assert_int_eq(connect(clients[k], &addr.u.sa, addr.len), 0);
    }
    int accepted[2] = {0, 0};
    int64_t deadline = now_ms() + WAIT_MS;
    while (accepted[0] + accepted[1] < N && now_ms() < deadline) {
        int n = cmio_poll_poll(p, ev, 100);
        ck_assert_int_ge(n, 0);
        for (int e = 0; e < n; e++) {
            cmio_token t = cmio_event_token(cmio_events_get(ev, (size_t)e));
            ck_assert_uint_le(t, 1);
            cmio_tcp_stream c;
            while (cmio_tcp_listener_accept(&l[t], &c, NULL) == 0) {
                accepted[t]++;
                cmio_tcp_stream_close(&c);
            }
        }
    }
    ck_assert_int_eq(accepted[0] + accepted[1], N);
    ck_assert_int_gt(accepted[0], 0);
    ck_assert_int_gt(accepted[1], 0);
    for (int k = 0; k < N; k++)
        sock_close(clients[k]);
    for (int k = 0; k < 2; k++) {
        cmio_registry_deregister(cmio_poll_registry(p), l[k].fd);
        cmio_tcp_listener_close(&l[k]);
    }
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* A connect that fails in the system call consumes the socket: it is
 * closed, and no descriptor is left behind. */
START_TEST(test_failed_connect_consumes_and_closes)
{
    fd_set before, after;
    fds_open(&before);
    cmio_tcp_socket s = new_v4();
    /* TCP cannot connect to a broadcast address (-ENETUNREACH, -EACCES). */
    cmio_sockaddr bcast = parse_addr("255.255.255.255:9");
    cmio_tcp_stream c = {.fd = -2};
    int rc = cmio_tcp_socket_connect(&s, &bcast, &c);
    ck_assert_int_lt(rc, 0);
    ck_assert(s.fd == CMIO_FD_INVALID);
    ck_assert(c.fd == CMIO_FD_INVALID);
    fds_open(&after);
    for (cmio_fd fd = 0; fd < FD_SETSIZE; fd++)
        ck_assert_msg(FD_ISSET(fd, &after) == FD_ISSET(fd, &before), "fd %d left open", fd);
}
END_TEST

START_TEST(test_argument_errors)
{
    cmio_tcp_socket s = new_v4();
    cmio_tcp_stream c = {.fd = -2};
    cmio_tcp_listener l = {.fd = -2};
    cmio_sockaddr v6 = parse_addr("[::1]:80"), v4 = parse_addr("127.0.0.1:0");
    bool b;
    int i;
    size_t z;
    cmio_keepalive ka;
    ck_assert_int_eq(cmio_tcp_socket_new_v4(NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_new_v6(NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_set_reuseaddr(NULL, true), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_reuseaddr(&s, NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_reuseport(&s, NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_linger(&s, NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_recv_buffer_size(&s, NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_send_buffer_size(&s, NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_keepalive(&s, NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_keepalive_params(&s, NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_local_addr(&s, NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_set_recv_buffer_size(&s, (size_t)INT_MAX + 1), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_set_send_buffer_size(&s, (size_t)INT_MAX + 1), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_linger(NULL, &i), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_recv_buffer_size(NULL, &z), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_keepalive_params(NULL, &ka), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_keepalive(NULL, &b), -EINVAL);
    /* Addresses: NULL, not IP, the other family; nothing is consumed. */
    cmio_sockaddr un;
    ck_assert_int_eq(cmio_sockaddr_from_path(&un, "some.sock"), 0);
    ck_assert_int_eq(cmio_tcp_socket_bind(&s, NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_bind(&s, &un), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_bind(&s, &v6), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_connect(&s, &v6, &c), -EINVAL);
    ck_assert(c.fd == CMIO_FD_INVALID);
    ck_assert_int_eq(cmio_tcp_socket_connect(&s, NULL, &c), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_connect(&s, &v4, NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_listen(&s, 1, NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_listen(&s, -1, &l), -EINVAL);
    ck_assert(l.fd == CMIO_FD_INVALID);
    ck_assert_int_eq(cmio_tcp_socket_connect(NULL, &v4, &c), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_listen(NULL, 1, &l), -EINVAL);
    ck_assert(s.fd != CMIO_FD_INVALID); /* still the caller's */
    ck_assert_int_eq(cmio_tcp_socket_bind(&s, &v4), 0);
    ck_assert_int_eq(cmio_tcp_socket_close(&s), 0);
    ck_assert_int_eq(cmio_tcp_socket_from_fd(NULL, 0), -EINVAL);
    ck_assert_int_eq(cmio_tcp_socket_from_fd(&s, -1), -EBADF);
    ck_assert(s.fd == CMIO_FD_INVALID);
    ck_assert_int_eq(cmio_tcp_socket_close(NULL), -EINVAL);
}
END_TEST

/* Every call on a closed (or consumed) socket is -EBADF; close is
 * idempotent. */
START_TEST(test_closed_socket_is_ebadf)
{
    cmio_tcp_socket s = new_v4();
    ck_assert_int_eq(cmio_tcp_socket_close(&s), 0);
    ck_assert(s.fd == CMIO_FD_INVALID);
    ck_assert_int_eq(cmio_tcp_socket_close(&s), 0);
    cmio_tcp_stream c;
    cmio_tcp_listener l;
    cmio_sockaddr a = parse_addr("127.0.0.1:0");
    bool b;
    int i;
    size_t z;
    cmio_keepalive ka = {0, 0, 0};
    ck_assert_int_eq(cmio_tcp_socket_set_reuseaddr(&s, true), -EBADF);
    ck_assert_int_eq(cmio_tcp_socket_reuseaddr(&s, &b), -EBADF);
    ck_assert_int_eq(cmio_tcp_socket_set_reuseport(&s, true), -EBADF);
    ck_assert_int_eq(cmio_tcp_socket_reuseport(&s, &b), -EBADF);
    ck_assert_int_eq(cmio_tcp_socket_set_linger(&s, 1), -EBADF);
    ck_assert_int_eq(cmio_tcp_socket_linger(&s, &i), -EBADF);
    ck_assert_int_eq(cmio_tcp_socket_set_recv_buffer_size(&s, 4096), -EBADF);
    ck_assert_int_eq(cmio_tcp_socket_recv_buffer_size(&s, &z), -EBADF);
    ck_assert_int_eq(cmio_tcp_socket_set_send_buffer_size(&s, 4096), -EBADF);
    ck_assert_int_eq(cmio_tcp_socket_send_buffer_size(&s, &z), -EBADF);
    ck_assert_int_eq(cmio_tcp_socket_set_keepalive(&s, &ka), -EBADF);
    ck_assert_int_eq(cmio_tcp_socket_keepalive(&s, &b), -EBADF);
    ck_assert_int_eq(cmio_tcp_socket_keepalive_params(&s, &ka), -EBADF);
    ck_assert_int_eq(cmio_tcp_socket_bind(&s, &a), -EBADF);
    ck_assert_int_eq(cmio_tcp_socket_connect(&s, &a, &c), -EBADF);
    ck_assert(c.fd == CMIO_FD_INVALID);
    ck_assert_int_eq(cmio_tcp_socket_listen(&s, 1, &l), -EBADF);
    ck_assert(l.fd == CMIO_FD_INVALID);
    ck_assert_int_eq(cmio_tcp_socket_local_addr(&s, &a), -EBADF);
    /* A consumed socket is the same. */
    cmio_tcp_socket t = new_v4();
    ck_assert_int_eq(cmio_tcp_socket_listen(&t, 1, &l), 0);
    ck_assert(t.fd == CMIO_FD_INVALID);
    ck_assert_int_eq(cmio_tcp_socket_listen(&t, 1, &l), -EBADF);
    ck_assert_int_eq(cmio_tcp_socket_set_linger(&t, 1), -EBADF);
    ck_assert_int_eq(cmio_tcp_socket_close(&t), 0);
    cmio_tcp_listener_close(&l);
}
END_TEST

/* The shared options on a connected stream. */
START_TEST(test_stream_options)
{
    cmio_fd sv[2];
    tcp_pair(sv);
    cmio_tcp_stream s = {.fd = sv[0]};
    bool on = true;
    ck_assert_int_eq(cmio_tcp_stream_keepalive(&s, &on), 0);
    ck_assert(!on);
    cmio_keepalive ka = {.idle_s = 11, .interval_s = 5, .count = 2}, got;
    int rc = cmio_tcp_stream_set_keepalive(&s, &ka);
    ck_assert_int_eq(cmio_tcp_stream_keepalive(&s, &on), 0);
    ck_assert_int_eq(cmio_tcp_stream_keepalive_params(&s, &got), 0);
    if (lacking(rc, "keepalive parts")) {
        assert_keepalive_lacking(&ka, false, on, &got);
        ck_assert_int_eq(cmio_tcp_stream_set_keepalive(&s, &(cmio_keepalive){0, 0, 0}), 0); /* on, defaults */
        ck_assert_int_eq(cmio_tcp_stream_keepalive(&s, &on), 0);
    } else {
        ck_assert_int_eq(rc, 0);
        ck_assert_uint_eq(got.idle_s, 11);
        ck_assert_uint_eq(got.interval_s, 5);
        ck_assert_uint_eq(got.count, 2);
    }
    ck_assert(on);
    ck_assert_int_eq(cmio_tcp_stream_set_keepalive(&s, NULL), 0);
    ck_assert_int_eq(cmio_tcp_stream_keepalive(&s, &on), 0);
    ck_assert(!on);
    int secs = 0;
    ck_assert_int_eq(cmio_tcp_stream_linger(&s, &secs), 0);
    ck_assert_int_eq(secs, -1);
    ck_assert_int_eq(cmio_tcp_stream_set_linger(&s, 3), 0);
    ck_assert_int_eq(cmio_tcp_stream_linger(&s, &secs), 0);
    ck_assert_int_eq(secs, 3);
    size_t z = 0;
    ck_assert_int_eq(cmio_tcp_stream_set_recv_buffer_size(&s, 8192), 0);
    ck_assert_int_eq(cmio_tcp_stream_recv_buffer_size(&s, &z), 0);
    ck_assert_uint_ge(z, 8192);
    ck_assert_int_eq(cmio_tcp_stream_set_send_buffer_size(&s, 16384), 0);
    ck_assert_int_eq(cmio_tcp_stream_send_buffer_size(&s, &z), 0);
    ck_assert_uint_ge(z, 16384);
    ck_assert_int_eq(cmio_tcp_stream_set_send_buffer_size(&s, (size_t)INT_MAX + 1), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_linger(&s, NULL), -EINVAL);
    ck_assert_int_eq(cmio_tcp_stream_keepalive_params(NULL, &got), -EINVAL);
    cmio_tcp_stream_close(&s);
    ck_assert_int_eq(cmio_tcp_stream_set_linger(&s, 1), -EBADF);
    ck_assert_int_eq(cmio_tcp_stream_keepalive(&s, &on), -EBADF);
    ck_assert_int_eq(cmio_tcp_stream_recv_buffer_size(&s, &z), -EBADF);
    sock_close(sv[1]);
}
END_TEST

/* The shared options on a UDP socket. */
START_TEST(test_udp_options)
{
    cmio_udp_socket u;
    cmio_sockaddr a = parse_addr("127.0.0.1:0");
    ck_assert_int_eq(cmio_udp_socket_bind(&u, &a), 0);
    size_t z = 0;
    ck_assert_int_eq(cmio_udp_socket_set_recv_buffer_size(&u, 4096), 0);
    ck_assert_int_eq(cmio_udp_socket_recv_buffer_size(&u, &z), 0);
    ck_assert_uint_ge(z, 4096);
    ck_assert_int_eq(cmio_udp_socket_set_send_buffer_size(&u, 65512), 0);
    ck_assert_int_eq(cmio_udp_socket_send_buffer_size(&u, &z), 0);
    ck_assert_uint_ge(z, 65512);
    bool on = true;
    int rc = cmio_udp_socket_reuseport(&u, &on);
    if (lacking(rc, "SO_REUSEPORT")) {
        ck_assert_int_eq(cmio_udp_socket_set_reuseport(&u, true), -ENOTSUP);
    } else {
        ck_assert_int_eq(rc, 0);
        ck_assert(!on);
        ck_assert_int_eq(cmio_udp_socket_set_reuseport(&u, true), 0);
        ck_assert_int_eq(cmio_udp_socket_reuseport(&u, &on), 0);
        ck_assert(on);
    }
    ck_assert_int_eq(cmio_udp_socket_set_recv_buffer_size(&u, (size_t)INT_MAX + 1), -EINVAL);
    ck_assert_int_eq(cmio_udp_socket_reuseport(&u, NULL), -EINVAL);
    ck_assert_int_eq(cmio_udp_socket_send_buffer_size(NULL, &z), -EINVAL);
    cmio_udp_socket_close(&u);
    ck_assert_int_eq(cmio_udp_socket_set_reuseport(&u, true), -EBADF);
    ck_assert_int_eq(cmio_udp_socket_recv_buffer_size(&u, &z), -EBADF);
}
END_TEST

static Suite *tcp_socket_suite(void)
{
    Suite *s = suite_create("tcp_socket");
    TCase *mio = tcase_create("mio");
    tcase_add_test(mio, mio_set_reuseaddr);
    tcase_add_test(mio, mio_set_reuseport);
    tcase_add_test(mio, mio_set_keepalive);
    tcase_add_test(mio, mio_set_keepalive_time);
    tcase_add_test(mio, mio_set_keepalive_interval);
    tcase_add_test(mio, mio_set_keepalive_retries);
    tcase_add_test(mio, mio_get_localaddr);
    tcase_add_test(mio, mio_set_linger);
    tcase_add_test(mio, mio_send_buffer_size_roundtrips);
    tcase_add_test(mio, mio_recv_buffer_size_roundtrips);
    suite_add_tcase(s, mio);
    TCase *tc = tcase_create("tcp_socket");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_keepalive_all_parts);
    tcase_add_test(tc, test_listen_unbound_picks_a_port);
    add_backend_test(tc, test_round_trip_v4);
    add_backend_test(tc, test_round_trip_v6);
    add_backend_test(tc, test_reuseport_listeners_share_a_port);
    tcase_add_test(tc, test_failed_connect_consumes_and_closes);
    tcase_add_test(tc, test_argument_errors);
    tcase_add_test(tc, test_closed_socket_is_ebadf);
    tcase_add_test(tc, test_stream_options);
    tcase_add_test(tc, test_udp_options);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(tcp_socket_suite()); }
