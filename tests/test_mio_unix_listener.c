/*
 * mio's tests/unix_listener.rs, ported: one twin per test, named
 * mio_<test> (the table is in docs/porting-from-mio.md). Every polling twin
 * runs on every backend built in; socket files live in a fresh temporary
 * directory per test.
 *
 * mio's open_connections thread connects a std stream, waits on a barrier
 * and drops it. Here the connection is made at the same point of the
 * sequence by the test itself: connect(2) to a listener with room in its
 * backlog completes at once, so the listener sees the same events.
 *
 * SPDX-License-Identifier: MIT
 */
#include "mio_net.h"

#include <stddef.h>

#define DEFAULT_BUF_SIZE 64

enum { TOKEN_1 = 0 };

/* A std::os::unix::net::UnixStream connected to path: a blocking socket made
 * by plain socket calls (helpers.c). */
static cmio_fd std_connect(const char *path)
{
    cmio_sockaddr a;
    ck_assert_int_eq(cmio_sockaddr_from_path(&a, path), 0);
    return std_unix_connect(&a);
}

static void deregister_close(cmio_registry *r, cmio_unix_listener *l)
{
    ck_assert_int_eq(cmio_registry_deregister(r, l->fd), 0);
    cmio_unix_listener_close(l);
    ck_assert_int_eq(l->fd, -1);
}

/* mio's smoke_test, over a listener already bound to path. */
static void smoke(int backend, cmio_unix_listener *l, const char *path)
{
    cmio_poll *p = open_poll(backend);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    assert_nonblock_cloexec(l->fd);

    ck_assert_int_eq(cmio_registry_register(r, l->fd, TOKEN_1, CMIO_WRITABLE | CMIO_READABLE), 0);
    expect_no_events(p, ev);

    cmio_fd conn = std_connect(path);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_READABLE});

    cmio_unix_stream s;
    ck_assert_int_eq(cmio_unix_listener_accept(l, &s, NULL), 0);
    assert_nonblock_cloexec(s.fd);
    char buf[DEFAULT_BUF_SIZE];
    assert_would_block(cmio_unix_stream_read(&s, buf, sizeof(buf)));

    cmio_unix_stream s2 = {-1};
    assert_would_block(cmio_unix_listener_accept(l, &s2, NULL));
    ck_assert_int_eq(s2.fd, -1);
    ck_assert_int_eq(cmio_unix_listener_take_error(l), 0);

    sock_close(conn);
    cmio_unix_stream_close(&s);
    deregister_close(r, l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}

START_TEST(mio_unix_listener_smoke)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    char path[256];
    cmio_unix_listener l;
    ck_assert_int_eq(cmio_unix_listener_bind(&l, tmp_path(path, sizeof(path), "unix_listener_smoke")), 0);
    smoke(_i, &l, path);
}
END_TEST

START_TEST(mio_unix_listener_from_std)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    char path[256];
    tmp_path(path, sizeof(path), "unix_listener_from_std");
    /* A std listener: blocking, made by plain socket calls; from_fd makes it
     * non-blocking and close-on-exec itself. */
    cmio_sockaddr a;
    ck_assert_int_eq(cmio_sockaddr_from_path(&a, path), 0);
    cmio_fd fd = std_unix_listen(&a, 128);
    ck_assert_int_ne(sock_nonblocking(fd), 1);
    cmio_unix_listener l;
    ck_assert_int_eq(cmio_unix_listener_from_fd(&l, fd), 0);
    smoke(_i, &l, path);
}
END_TEST

START_TEST(mio_unix_listener_local_addr)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    char path[256];
    cmio_unix_listener l;
    ck_assert_int_eq(cmio_unix_listener_bind(&l, tmp_path(path, sizeof(path), "unix_listener_local_addr")), 0);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, TOKEN_1, CMIO_WRITABLE | CMIO_READABLE), 0);

    cmio_fd conn = std_connect(path);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_READABLE});

    cmio_unix_stream s;
    cmio_sockaddr peer, local;
    ck_assert_int_eq(cmio_unix_listener_accept(&l, &s, &peer), 0);
    ck_assert_int_eq(cmio_unix_stream_local_addr(&s, &local), 0);
    assert_addr_text(&local, path);
    assert_addr_text(&peer, ""); /* the connecting socket has no name */

    sock_close(conn);
    cmio_unix_stream_close(&s);
    deregister_close(r, &l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_unix_listener_register)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    char path[256];
    cmio_unix_listener l;
    ck_assert_int_eq(cmio_unix_listener_bind(&l, tmp_path(path, sizeof(path), "unix_listener_register")), 0);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, TOKEN_1, CMIO_READABLE), 0);
    expect_no_events(p, ev);
    deregister_close(r, &l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_unix_listener_reregister)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    char path[256];
    cmio_unix_listener l;
    ck_assert_int_eq(cmio_unix_listener_bind(&l, tmp_path(path, sizeof(path), "unix_listener_reregister")), 0);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, TOKEN_1, CMIO_WRITABLE), 0);

    cmio_fd conn = std_connect(path);
    expect_no_events(p, ev); /* a pending connection is not write readiness */

    ck_assert_int_eq(cmio_registry_reregister(r, l.fd, TOKEN_1, CMIO_READABLE), 0);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_READABLE});

    sock_close(conn);
    deregister_close(r, &l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_unix_listener_deregister)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    char path[256];
    cmio_unix_listener l;
    ck_assert_int_eq(cmio_unix_listener_bind(&l, tmp_path(path, sizeof(path), "unix_listener_deregister")), 0);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, TOKEN_1, CMIO_READABLE), 0);

    cmio_fd conn = std_connect(path);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    expect_no_events(p, ev);

    sock_close(conn);
    cmio_unix_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

#ifdef __linux__
/* Linux's abstract namespace (mio: Linux and Android only). */
START_TEST(mio_unix_listener_abstract_namespace)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_sockaddr addr, local;
    char name[96], text[100];
    abstract_addr(&addr, name, sizeof(name));
    snprintf(text, sizeof(text), "@%s", name);

    cmio_unix_listener l;
    ck_assert_int_eq(cmio_unix_listener_bind_addr(&l, &addr), 0);
    ck_assert_int_eq(cmio_unix_listener_local_addr(&l, &local), 0);
    ck_assert_uint_eq(local.len, addr.len);
    ck_assert_int_eq(memcmp(local.u.un.sun_path, addr.u.un.sun_path, addr.len - offsetof(struct sockaddr_un, sun_path)), 0);
    assert_addr_text(&local, text);

    ck_assert_int_eq(cmio_registry_register(r, l.fd, TOKEN_1, CMIO_WRITABLE | CMIO_READABLE), 0);
    expect_no_events(p, ev);

    cmio_fd conn = std_unix_connect(&addr);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_READABLE});

    cmio_unix_stream s;
    cmio_sockaddr peer;
    ck_assert_int_eq(cmio_unix_listener_accept(&l, &s, &peer), 0);
    assert_addr_text(&peer, ""); /* unnamed */

    sock_close(conn);
    cmio_unix_stream_close(&s);
    deregister_close(r, &l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST
#endif

static Suite *suite(void)
{
    Suite *s = suite_create("mio_unix_listener");
    TCase *tc = tcase_create("unix_listener");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, tmp_open, tmp_close);
    add_backend_test(tc, mio_unix_listener_smoke);
    add_backend_test(tc, mio_unix_listener_from_std);
    add_backend_test(tc, mio_unix_listener_local_addr);
    add_backend_test(tc, mio_unix_listener_register);
    add_backend_test(tc, mio_unix_listener_reregister);
    add_backend_test(tc, mio_unix_listener_deregister);
#ifdef __linux__
    add_backend_test(tc, mio_unix_listener_abstract_namespace);
#endif
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
