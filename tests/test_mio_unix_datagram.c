/*
 * mio's tests/unix_datagram.rs, ported: one twin per test, named
 * mio_<test> (the table is in docs/porting-from-mio.md). Every polling twin
 * runs on every backend built in; socket files live in a fresh temporary
 * directory per test.
 *
 * SPDX-License-Identifier: MIT
 */
#include "mio_net.h"


static const char DATA1[] = "Hello same host!";
static const char DATA2[] = "Why hello mio!";
#define DATA1_LEN (sizeof(DATA1) - 1)
#define DATA2_LEN (sizeof(DATA2) - 1)
#define DEFAULT_BUF_SIZE 64

enum { TOKEN_1 = 0, TOKEN_2 = 1 };

static void bind_path(cmio_unix_datagram *s, const char *path)
{
    ck_assert_int_eq(cmio_unix_datagram_bind(s, path), 0);
}

/* A std::os::unix::net::UnixDatagram bound to path: a blocking socket made
 * by plain socket calls (neither non-blocking nor close-on-exec). */
static cmio_fd std_dgram(const char *path)
{
    cmio_fd fd = plain_socket(AF_UNIX, SOCK_DGRAM);
    cmio_sockaddr a;
    ck_assert_int_eq(cmio_sockaddr_from_path(&a, path), 0);
    ck_assert_int_eq(bind(fd, &a.u.sa, a.len), 0);
    ck_assert_int_ne(sock_nonblocking(fd), 1);
    return fd;
}

static void std_connect(cmio_fd fd, const char *path)
{
    cmio_sockaddr a;
    ck_assert_int_eq(cmio_sockaddr_from_path(&a, path), 0);
    ck_assert_int_eq(connect(fd, &a.u.sa, a.len), 0);
}

static void deregister_close(cmio_registry *r, cmio_unix_datagram *s)
{
    ck_assert_int_eq(cmio_registry_deregister(r, s->fd), 0);
    cmio_unix_datagram_close(s);
    ck_assert_int_eq(s->fd, -1);
}

/* mio's smoke_test_unconnected. */
static void smoke_unconnected(int backend, cmio_unix_datagram *d1, cmio_unix_datagram *d2)
{
    cmio_poll *p = open_poll(backend);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    assert_nonblock_cloexec(d1->fd);
    assert_nonblock_cloexec(d2->fd);

    cmio_sockaddr a1, a2, from;
    ck_assert_int_eq(cmio_unix_datagram_local_addr(d1, &a1), 0);
    ck_assert_int_eq(cmio_unix_datagram_local_addr(d2, &a2), 0);
    ck_assert_int_eq(a1.u.sa.sa_family, AF_UNIX);
    ck_assert_int_eq(a2.u.sa.sa_family, AF_UNIX);
    /* as_pathname(): both are bound to a path. */
    char path1[sizeof(a1.u.un.sun_path) + 1], path2[sizeof(a2.u.un.sun_path) + 1];
    ck_assert_int_gt(cmio_sockaddr_format(&a1, path1, sizeof(path1)), 0);
    ck_assert_int_gt(cmio_sockaddr_format(&a2, path2, sizeof(path2)), 0);
    ck_assert_int_eq(path1[0], '/');
    ck_assert_int_eq(path2[0], '/');

    ck_assert_int_eq(cmio_registry_register(r, d1->fd, TOKEN_1, CMIO_READABLE | CMIO_WRITABLE), 0);
    ck_assert_int_eq(cmio_registry_register(r, d2->fd, TOKEN_2, CMIO_READABLE | CMIO_WRITABLE), 0);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_WRITABLE}, {TOKEN_2, CMIO_EVENT_WRITABLE});

    char buf[DEFAULT_BUF_SIZE];
    assert_would_block(cmio_unix_datagram_recv_from(d1, buf, sizeof(buf), &from));
    assert_would_block(cmio_unix_datagram_recv_from(d2, buf, sizeof(buf), &from));

    checked_write(cmio_unix_datagram_send_to(d1, DATA1, DATA1_LEN, path2), DATA1_LEN);
    checked_write(cmio_unix_datagram_send_to(d2, DATA2, DATA2_LEN, path1), DATA2_LEN);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_READABLE}, {TOKEN_2, CMIO_EVENT_READABLE});

    expect_read(cmio_unix_datagram_recv_from(d1, buf, sizeof(buf), &from), buf, DATA2, DATA2_LEN);
    assert_addr_text(&from, path2);
    expect_read(cmio_unix_datagram_recv_from(d2, buf, sizeof(buf), &from), buf, DATA1, DATA1_LEN);
    assert_addr_text(&from, path1);

    ck_assert_int_eq(cmio_unix_datagram_take_error(d1), 0);
    ck_assert_int_eq(cmio_unix_datagram_take_error(d2), 0);
    deregister_close(r, d1);
    deregister_close(r, d2);
    cmio_events_free(ev);
    cmio_poll_free(p);
}

/* mio's smoke_test_connected. */
static void smoke_connected(int backend, cmio_unix_datagram *d1, cmio_unix_datagram *d2)
{
    cmio_poll *p = open_poll(backend);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    assert_nonblock_cloexec(d1->fd);
    assert_nonblock_cloexec(d2->fd);

    cmio_sockaddr local1, peer1, local2, peer2;
    ck_assert_int_eq(cmio_unix_datagram_local_addr(d1, &local1), 0);
    ck_assert_int_eq(cmio_unix_datagram_peer_addr(d1, &peer1), 0);
    ck_assert_int_eq(cmio_unix_datagram_local_addr(d2, &local2), 0);
    ck_assert_int_eq(cmio_unix_datagram_peer_addr(d2, &peer2), 0);
    char l1[256], p1[256], l2[256], p2[256];
    ck_assert_int_gt(cmio_sockaddr_format(&local1, l1, sizeof(l1)), 0);
    ck_assert_int_gt(cmio_sockaddr_format(&peer1, p1, sizeof(p1)), 0);
    ck_assert_int_gt(cmio_sockaddr_format(&local2, l2, sizeof(l2)), 0);
    ck_assert_int_gt(cmio_sockaddr_format(&peer2, p2, sizeof(p2)), 0);
    ck_assert_int_eq(l1[0], '/');
    ck_assert_int_eq(l2[0], '/');
    ck_assert_str_eq(l1, p2);
    ck_assert_str_eq(l2, p1);

    ck_assert_int_eq(cmio_registry_register(r, d1->fd, TOKEN_1, CMIO_READABLE | CMIO_WRITABLE), 0);
    ck_assert_int_eq(cmio_registry_register(r, d2->fd, TOKEN_2, CMIO_READABLE | CMIO_WRITABLE), 0);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_WRITABLE}, {TOKEN_2, CMIO_EVENT_WRITABLE});

    char buf[DEFAULT_BUF_SIZE];
    assert_would_block(cmio_unix_datagram_recv(d1, buf, sizeof(buf)));
    assert_would_block(cmio_unix_datagram_recv(d2, buf, sizeof(buf)));

    checked_write(cmio_unix_datagram_send(d1, DATA1, DATA1_LEN), DATA1_LEN);
    checked_write(cmio_unix_datagram_send(d2, DATA2, DATA2_LEN), DATA2_LEN);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_READABLE}, {TOKEN_2, CMIO_EVENT_READABLE});

    expect_read(cmio_unix_datagram_recv(d1, buf, sizeof(buf)), buf, DATA2, DATA2_LEN);
    expect_read(cmio_unix_datagram_recv(d2, buf, sizeof(buf)), buf, DATA1, DATA1_LEN);

    ck_assert_int_eq(cmio_unix_datagram_take_error(d1), 0);
    ck_assert_int_eq(cmio_unix_datagram_take_error(d2), 0);
    deregister_close(r, d1);
    deregister_close(r, d2);
    cmio_events_free(ev);
    cmio_poll_free(p);
}

START_TEST(mio_unix_datagram_smoke_unconnected)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    char path1[256], path2[256];
    cmio_unix_datagram d1, d2;
    bind_path(&d1, tmp_path(path1, sizeof(path1), "unix_datagram_smoke_unconnected1"));
    bind_path(&d2, tmp_path(path2, sizeof(path2), "unix_datagram_smoke_unconnected2"));
    smoke_unconnected(_i, &d1, &d2);
}
END_TEST

START_TEST(mio_unix_datagram_smoke_connected)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    char path1[256], path2[256];
    cmio_unix_datagram d1, d2;
    bind_path(&d1, tmp_path(path1, sizeof(path1), "unix_datagram_smoke_connected1"));
    bind_path(&d2, tmp_path(path2, sizeof(path2), "unix_datagram_smoke_connected2"));
    ck_assert_int_eq(cmio_unix_datagram_connect(&d1, path2), 0);
    ck_assert_int_eq(cmio_unix_datagram_connect(&d2, path1), 0);
    smoke_connected(_i, &d1, &d2);
}
END_TEST

START_TEST(mio_unix_datagram_smoke_unconnected_from_std)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    char path1[256], path2[256];
    cmio_fd fd1 = std_dgram(tmp_path(path1, sizeof(path1), "unix_datagram_smoke_unconnected_from_std1"));
    cmio_fd fd2 = std_dgram(tmp_path(path2, sizeof(path2), "unix_datagram_smoke_unconnected_from_std2"));
    /* from_fd makes them non-blocking and close-on-exec itself. */
    cmio_unix_datagram d1, d2;
    ck_assert_int_eq(cmio_unix_datagram_from_fd(&d1, fd1), 0);
    ck_assert_int_eq(cmio_unix_datagram_from_fd(&d2, fd2), 0);
    smoke_unconnected(_i, &d1, &d2);
}
END_TEST

START_TEST(mio_unix_datagram_smoke_connected_from_std)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    char path1[256], path2[256];
    cmio_fd fd1 = std_dgram(tmp_path(path1, sizeof(path1), "unix_datagram_smoke_connected_from_std1"));
    cmio_fd fd2 = std_dgram(tmp_path(path2, sizeof(path2), "unix_datagram_smoke_connected_from_std2"));
    std_connect(fd1, path2);
    std_connect(fd2, path1);
    cmio_unix_datagram d1, d2;
    ck_assert_int_eq(cmio_unix_datagram_from_fd(&d1, fd1), 0);
    ck_assert_int_eq(cmio_unix_datagram_from_fd(&d2, fd2), 0);
    smoke_connected(_i, &d1, &d2);
}
END_TEST

START_TEST(mio_unix_datagram_connect)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    char path1[256], path2[256], own1[256], own2[256];
    cmio_unix_datagram d1, d2;
    bind_path(&d1, tmp_path(path1, sizeof(path1), "unix_datagram_connect1"));
    bind_path(&d2, tmp_path(path2, sizeof(path2), "unix_datagram_connect2"));
    cmio_sockaddr l1, l2;
    ck_assert_int_eq(cmio_unix_datagram_local_addr(&d1, &l1), 0);
    ck_assert_int_eq(cmio_unix_datagram_local_addr(&d2, &l2), 0);
    ck_assert_int_gt(cmio_sockaddr_format(&l1, own1, sizeof(own1)), 0);
    ck_assert_int_gt(cmio_sockaddr_format(&l2, own2, sizeof(own2)), 0);
    ck_assert_str_eq(own1, path1);
    ck_assert_str_eq(own2, path2);
    /* Each connects to its own local path. */
    ck_assert_int_eq(cmio_unix_datagram_connect(&d1, own1), 0);
    ck_assert_int_eq(cmio_unix_datagram_connect(&d2, own2), 0);
    cmio_unix_datagram_close(&d1);
    cmio_unix_datagram_close(&d2);
}
END_TEST

START_TEST(mio_unix_datagram_pair)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_unix_datagram d1, d2;
    ck_assert_int_eq(cmio_unix_datagram_pair(&d1, &d2), 0);
    ck_assert_int_eq(cmio_registry_register(r, d1.fd, TOKEN_1, CMIO_READABLE | CMIO_WRITABLE), 0);
    ck_assert_int_eq(cmio_registry_register(r, d2.fd, TOKEN_2, CMIO_READABLE | CMIO_WRITABLE), 0);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_WRITABLE}, {TOKEN_2, CMIO_EVENT_WRITABLE});

    char buf[DEFAULT_BUF_SIZE];
    assert_would_block(cmio_unix_datagram_recv(&d1, buf, sizeof(buf)));
    assert_would_block(cmio_unix_datagram_recv(&d2, buf, sizeof(buf)));

    checked_write(cmio_unix_datagram_send(&d1, DATA1, DATA1_LEN), DATA1_LEN);
    checked_write(cmio_unix_datagram_send(&d2, DATA2, DATA2_LEN), DATA2_LEN);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_READABLE}, {TOKEN_2, CMIO_EVENT_READABLE});

    expect_read(cmio_unix_datagram_recv(&d1, buf, sizeof(buf)), buf, DATA2, DATA2_LEN);
    expect_read(cmio_unix_datagram_recv(&d2, buf, sizeof(buf)), buf, DATA1, DATA1_LEN);

    ck_assert_int_eq(cmio_unix_datagram_take_error(&d1), 0);
    ck_assert_int_eq(cmio_unix_datagram_take_error(&d2), 0);
    deregister_close(r, &d1);
    deregister_close(r, &d2);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_unix_datagram_shutdown)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    char path1[256], path2[256];
    cmio_unix_datagram d1, d2;
    bind_path(&d1, tmp_path(path1, sizeof(path1), "unix_datagram_shutdown1"));
    bind_path(&d2, tmp_path(path2, sizeof(path2), "unix_datagram_shutdown2"));
    ck_assert_int_eq(cmio_registry_register(r, d1.fd, TOKEN_1, CMIO_WRITABLE | CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_register(r, d2.fd, TOKEN_2, CMIO_WRITABLE | CMIO_READABLE), 0);

    ck_assert_int_eq(cmio_unix_datagram_connect(&d1, path2), 0);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_WRITABLE});

    checked_write(cmio_unix_datagram_send(&d1, DATA1, DATA1_LEN), DATA1_LEN);
    expect_events(p, ev, {TOKEN_2, CMIO_EVENT_READABLE});

    ck_assert_int_eq(cmio_unix_datagram_shutdown(&d1, CMIO_SHUTDOWN_READ), 0);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_READ_CLOSED});

    ck_assert_int_eq(cmio_unix_datagram_shutdown(&d1, CMIO_SHUTDOWN_WRITE), 0);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_WRITE_CLOSED});

    /* BrokenPipe, and no SIGPIPE. */
    ck_assert_int_eq(cmio_unix_datagram_send(&d1, DATA2, DATA2_LEN), -EPIPE);
    ck_assert_int_eq(cmio_unix_datagram_take_error(&d1), 0);

    deregister_close(r, &d1);
    deregister_close(r, &d2);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_unix_datagram_register)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    char path[256];
    cmio_unix_datagram d;
    bind_path(&d, tmp_path(path, sizeof(path), "unix_datagram_register"));
    ck_assert_int_eq(cmio_registry_register(r, d.fd, TOKEN_1, CMIO_READABLE), 0);
    expect_no_events(p, ev);
    deregister_close(r, &d);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_unix_datagram_reregister)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    char path1[256], path2[256];
    cmio_unix_datagram d1, d2;
    bind_path(&d1, tmp_path(path1, sizeof(path1), "unix_datagram_reregister1"));
    ck_assert_int_eq(cmio_registry_register(r, d1.fd, TOKEN_1, CMIO_READABLE), 0);

    bind_path(&d2, tmp_path(path2, sizeof(path2), "unix_datagram_reregister2"));
    ck_assert_int_eq(cmio_unix_datagram_connect(&d2, path1), 0);
    ck_assert_int_eq(cmio_registry_reregister(r, d1.fd, TOKEN_1, CMIO_WRITABLE), 0);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_WRITABLE});

    deregister_close(r, &d1);
    cmio_unix_datagram_close(&d2);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_unix_datagram_deregister)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    char path1[256], path2[256];
    cmio_unix_datagram d1, d2;
    bind_path(&d1, tmp_path(path1, sizeof(path1), "unix_datagram_deregister1"));
    ck_assert_int_eq(cmio_registry_register(r, d1.fd, TOKEN_1, CMIO_WRITABLE), 0);

    bind_path(&d2, tmp_path(path2, sizeof(path2), "unix_datagram_deregister2"));
    ck_assert_int_eq(cmio_unix_datagram_connect(&d2, path1), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, d1.fd), 0);
    expect_no_events(p, ev);

    cmio_unix_datagram_close(&d1);
    cmio_unix_datagram_close(&d2);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mio_unix_datagram");
    TCase *tc = tcase_create("unix_datagram");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, tmp_open, tmp_close);
    add_backend_test(tc, mio_unix_datagram_smoke_unconnected);
    add_backend_test(tc, mio_unix_datagram_smoke_connected);
    add_backend_test(tc, mio_unix_datagram_smoke_unconnected_from_std);
    add_backend_test(tc, mio_unix_datagram_smoke_connected_from_std);
    tcase_add_test(tc, mio_unix_datagram_connect);
    add_backend_test(tc, mio_unix_datagram_pair);
    add_backend_test(tc, mio_unix_datagram_shutdown);
    add_backend_test(tc, mio_unix_datagram_register);
    add_backend_test(tc, mio_unix_datagram_reregister);
    add_backend_test(tc, mio_unix_datagram_deregister);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
