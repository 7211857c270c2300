/*
 * cmio_unix_listener: binding to paths and abstract names, accepting with
 * events on both sides, and the documented errors (mio's
 * tests/unix_listener.rs, ported).
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { LISTENER = 1, CLIENT = 2, SERVER = 3 };

START_TEST(test_bind_accept_with_events_on_both_sides)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    seen_flags sn = {{0}};
    char path[256];
    tmp_path(path, sizeof(path), "listener");

    cmio_unix_listener l;
    ck_assert_int_eq(cmio_unix_listener_bind(&l, path), 0);
    assert_nonblock_cloexec(l.fd);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, LISTENER, CMIO_READABLE), 0);

    cmio_unix_stream c;
    ck_assert_int_eq(cmio_unix_stream_connect(&c, path), 0);
    assert_nonblock_cloexec(c.fd);
    ck_assert_int_eq(cmio_registry_register(r, c.fd, CLIENT, CMIO_READABLE | CMIO_WRITABLE), 0);

    ck_assert(wait_seen(p, ev, &sn, LISTENER, CMIO_EVENT_READABLE));
    cmio_unix_stream s;
    cmio_sockaddr peer;
    ck_assert_int_eq(cmio_unix_listener_accept(&l, &s, &peer), 0);
    assert_nonblock_cloexec(s.fd);
    assert_addr_text(&peer, ""); /* the client is unnamed */
    cmio_unix_stream none = {42};
    ck_assert_int_eq(cmio_unix_listener_accept(&l, &none, NULL), -EAGAIN);
    ck_assert_int_eq(none.fd, -1);

    ck_assert(wait_seen(p, ev, &sn, CLIENT, CMIO_EVENT_WRITABLE));
    ck_assert_int_eq(cmio_unix_stream_take_error(&c), 0);
    ck_assert_int_eq(cmio_unix_listener_take_error(&l), 0);

    /* The accepted stream talks to the client both ways. */
    ck_assert_int_eq(cmio_registry_register(r, s.fd, SERVER, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_unix_stream_write(&c, "ping", 4), 4);
    ck_assert(wait_seen(p, ev, &sn, SERVER, CMIO_EVENT_READABLE));
    char buf[16];
    ck_assert_int_eq(cmio_unix_stream_read(&s, buf, sizeof(buf)), 4);
    ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
    ck_assert_int_eq(cmio_unix_stream_write(&s, "pong", 4), 4);
    ck_assert(wait_seen(p, ev, &sn, CLIENT, CMIO_EVENT_READABLE));
    ck_assert_int_eq(cmio_unix_stream_read(&c, buf, sizeof(buf)), 4);
    ck_assert_int_eq(memcmp(buf, "pong", 4), 0);

    ck_assert_int_eq(cmio_registry_deregister(r, s.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, c.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_unix_stream_close(&s);
    cmio_unix_stream_close(&c);
    cmio_unix_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_accept_every_queued_connection_then_new_event)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    char path[256];
    cmio_unix_listener l;
    ck_assert_int_eq(cmio_unix_listener_bind(&l, tmp_path(path, sizeof(path), "multi")), 0);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, LISTENER, CMIO_READABLE), 0);

    enum { N = 4 };
    cmio_unix_stream c[N + 1], s[N + 1];
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(cmio_unix_stream_connect(&c[i], path), 0);
    ck_assert(wait_for(p, ev, LISTENER, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    int accepted = 0;
    for (int round = 0; round < 2 * N; round++) {
        cmio_unix_stream t;
        int err = cmio_unix_listener_accept(&l, &t, NULL);
        if (err == -EAGAIN)
            break;
        ck_assert_int_eq(err, 0);
        assert_nonblock_cloexec(t.fd);
        s[accepted++] = t;
    }
    ck_assert_int_eq(accepted, N);
    /* Drained: nothing more until the next connection, which is reported. */
    ck_assert_int_eq(count_events(p, ev, LISTENER, QUIET_MS), 0);
    ck_assert_int_eq(cmio_unix_stream_connect(&c[N], path), 0);
    ck_assert(wait_for(p, ev, LISTENER, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    ck_assert_int_eq(cmio_unix_listener_accept(&l, &s[N], NULL), 0);

    for (int i = 0; i <= N; i++) {
        cmio_unix_stream_close(&c[i]);
        cmio_unix_stream_close(&s[i]);
    }
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_unix_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_deregistered_listener_gets_no_events)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    char path[256];
    cmio_unix_listener l;
    ck_assert_int_eq(cmio_unix_listener_bind(&l, tmp_path(path, sizeof(path), "dereg")), 0);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, LISTENER, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_unix_stream c;
    ck_assert_int_eq(cmio_unix_stream_connect(&c, path), 0);
    ck_assert_int_eq(count_events(p, ev, LISTENER, QUIET_MS), 0);
    cmio_unix_stream_close(&c);
    cmio_unix_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_accept_with_nothing_pending_is_eagain)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    char path[256];
    cmio_unix_listener l;
    ck_assert_int_eq(cmio_unix_listener_bind(&l, tmp_path(path, sizeof(path), "empty")), 0);
    cmio_unix_stream s = {7};
    cmio_sockaddr peer;
    ck_assert_int_eq(cmio_unix_listener_accept(&l, &s, &peer), -EAGAIN);
    ck_assert_int_eq(s.fd, -1);
    ck_assert_int_eq(cmio_unix_listener_accept(&l, &s, NULL), -EAGAIN);
    cmio_unix_listener_close(&l);
}
END_TEST

START_TEST(test_bind_to_existing_path_is_eaddrinuse)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    char path[256];
    tmp_path(path, sizeof(path), "taken");
    cmio_unix_listener l, again = {9};
    ck_assert_int_eq(cmio_unix_listener_bind(&l, path), 0);
    ck_assert_int_eq(cmio_unix_listener_bind(&again, path), -EADDRINUSE);
    ck_assert_int_eq(again.fd, -1);
    /* The socket file outlives the listener. */
    cmio_unix_listener_close(&l);
    ck_assert(path_exists(path));
    ck_assert_int_eq(cmio_unix_listener_bind(&again, path), -EADDRINUSE);
    ck_assert_int_eq(path_unlink(path), 0);
    ck_assert_int_eq(cmio_unix_listener_bind(&again, path), 0);
    cmio_unix_listener_close(&again);
}
END_TEST

START_TEST(test_bind_in_missing_directory_is_enoent)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    char path[256];
    cmio_unix_listener l = {5};
    ck_assert_int_eq(cmio_unix_listener_bind(&l, tmp_path(path, sizeof(path), "no/such/dir")), -ENOENT);
    ck_assert_int_eq(l.fd, -1);
}
END_TEST

START_TEST(test_local_addr_round_trip)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    char path[256];
    tmp_path(path, sizeof(path), "local");
    cmio_unix_listener l;
    ck_assert_int_eq(cmio_unix_listener_bind(&l, path), 0);
    cmio_sockaddr a;
    ck_assert_int_eq(cmio_unix_listener_local_addr(&l, &a), 0);
    assert_addr_text(&a, path);
    /* The address read back binds nothing new: it is taken. */
    cmio_unix_listener again;
    ck_assert_int_eq(cmio_unix_listener_bind_addr(&again, &a), -EADDRINUSE);
    cmio_unix_listener_close(&l);
}
END_TEST

START_TEST(test_abstract_name_bind_connect_accept)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_sockaddr addr;
    char name[96], text[100];
    if (no_abstract_names()) {
        /* No abstract namespace (Windows), as the header documents. */
        cmio_events_free(ev);
        cmio_poll_free(p);
        return;
    }
    abstract_addr(&addr, name, sizeof(name));
    snprintf(text, sizeof(text), "@%s", name);

    cmio_unix_listener l;
    ck_assert_int_eq(cmio_unix_listener_bind_addr(&l, &addr), 0);
    assert_nonblock_cloexec(l.fd);
    cmio_sockaddr local;
    ck_assert_int_eq(cmio_unix_listener_local_addr(&l, &local), 0);
    assert_addr_text(&local, text);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, LISTENER, CMIO_READABLE), 0);

    cmio_unix_stream c, s;
    ck_assert_int_eq(cmio_unix_stream_connect_addr(&c, &addr), 0);
    ck_assert(wait_for(p, ev, LISTENER, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    ck_assert_int_eq(cmio_unix_listener_accept(&l, &s, NULL), 0);
    assert_nonblock_cloexec(s.fd);
    cmio_sockaddr peer;
    ck_assert_int_eq(cmio_unix_stream_peer_addr(&c, &peer), 0);
    assert_addr_text(&peer, text);
    /* The name is taken while the listener lives. */
    cmio_unix_listener again = {3};
    ck_assert_int_eq(cmio_unix_listener_bind_addr(&again, &addr), -EADDRINUSE);
    ck_assert_int_eq(again.fd, -1);

    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_unix_stream_close(&c);
    cmio_unix_stream_close(&s);
    cmio_unix_listener_close(&l);
    /* Abstract names vanish with their socket. */
    ck_assert_int_eq(cmio_unix_listener_bind_addr(&again, &addr), 0);
    cmio_unix_listener_close(&again);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_from_fd_adopts_blocking_listener)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    char path[256];
    tmp_path(path, sizeof(path), "adopted");
    cmio_sockaddr a;
    ck_assert_int_eq(cmio_sockaddr_from_path(&a, path), 0);
    cmio_fd fd = std_unix_listen(&a, 8);

    cmio_unix_listener l;
    ck_assert_int_eq(cmio_unix_listener_from_fd(&l, fd), 0);
    ck_assert_int_eq(l.fd, fd);
    assert_nonblock_cloexec(l.fd);
    cmio_unix_stream s;
    ck_assert_int_eq(cmio_unix_listener_accept(&l, &s, NULL), -EAGAIN);
    cmio_unix_stream c;
    ck_assert_int_eq(cmio_unix_stream_connect(&c, path), 0);
    ck_assert_int_eq(cmio_unix_listener_accept(&l, &s, NULL), 0);
    cmio_unix_stream_close(&s);
    cmio_unix_stream_close(&c);
    cmio_unix_listener_close(&l);
}
END_TEST

START_TEST(test_close_is_idempotent)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    char path[256];
    cmio_unix_listener l;
    ck_assert_int_eq(cmio_unix_listener_bind(&l, tmp_path(path, sizeof(path), "close")), 0);
    cmio_fd fd = l.fd;
    cmio_unix_listener_close(&l);
    ck_assert_int_eq(l.fd, -1);
    ck_assert(!sock_is_open(fd));
    cmio_unix_listener_close(&l);
    ck_assert_int_eq(l.fd, -1);
    cmio_unix_listener_close(NULL);
    cmio_unix_stream s;
    ck_assert_int_eq(cmio_unix_listener_accept(&l, &s, NULL), -EBADF);
}
END_TEST

START_TEST(test_invalid_arguments)
{
    cmio_unix_listener l = {4}, closed = {-1};
    cmio_unix_stream s;
    cmio_sockaddr a;
    ck_assert_int_eq(cmio_unix_listener_bind(NULL, "/tmp/x"), -EINVAL);
    ck_assert_int_eq(cmio_unix_listener_bind(&l, NULL), -EINVAL);
    ck_assert_int_eq(l.fd, -1);
    ck_assert_int_eq(cmio_unix_listener_bind(&l, ""), -EINVAL);

    char long_path[300];
    memset(long_path, 'x', sizeof(long_path) - 1);
    long_path[0] = '/';
    long_path[sizeof(long_path) - 1] = '\0';
    l.fd = 4;
    ck_assert_int_eq(cmio_unix_listener_bind(&l, long_path), -ENAMETOOLONG);
    ck_assert_int_eq(l.fd, -1);

    ck_assert_int_eq(cmio_sockaddr_parse(&a, "127.0.0.1:0"), 0);
    l.fd = 4;
    ck_assert_int_eq(cmio_unix_listener_bind_addr(&l, &a), -EINVAL);
    ck_assert_int_eq(l.fd, -1);
    ck_assert_int_eq(cmio_unix_listener_bind_addr(&l, NULL), -EINVAL);
    ck_assert_int_eq(cmio_unix_listener_bind_addr(NULL, &a), -EINVAL);

    s.fd = 77; /* a failed accept leaves out->fd at -1, as TCP's does */
    ck_assert_int_eq(cmio_unix_listener_accept(NULL, &s, NULL), -EINVAL);
    ck_assert_int_eq(s.fd, -1);
    s.fd = 77;
    ck_assert_int_eq(cmio_unix_listener_accept(&closed, &s, NULL), -EBADF);
    ck_assert_int_eq(s.fd, -1);
    ck_assert_int_eq(cmio_unix_listener_local_addr(NULL, &a), -EINVAL);
    ck_assert_int_eq(cmio_unix_listener_local_addr(&closed, &a), -EBADF);
    ck_assert_int_eq(cmio_unix_listener_take_error(NULL), -EINVAL);
    ck_assert_int_eq(cmio_unix_listener_take_error(&closed), -EBADF);
    ck_assert_int_eq(cmio_unix_listener_from_fd(NULL, 0), -EINVAL);
    l.fd = 4;
    ck_assert_int_eq(cmio_unix_listener_from_fd(&l, -1), -EBADF);
    ck_assert_int_eq(l.fd, -1);

    /* The calls below need a listener. */
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    char path[256];
    cmio_unix_listener ok;
    ck_assert_int_eq(cmio_unix_listener_bind(&ok, tmp_path(path, sizeof(path), "args")), 0);
    ck_assert_int_eq(cmio_unix_listener_accept(&ok, NULL, NULL), -EINVAL);
    ck_assert_int_eq(cmio_unix_listener_local_addr(&ok, NULL), -EINVAL);
    cmio_unix_listener_close(&ok);
}
END_TEST

static Suite *unix_listener_suite(void)
{
    Suite *s = suite_create("unix_listener");
    TCase *events = tcase_create("events");
    tcase_add_checked_fixture(events, tmp_open, tmp_close);
    tcase_set_timeout(events, 30);
    add_backend_test(events, test_bind_accept_with_events_on_both_sides);
    add_backend_test(events, test_accept_every_queued_connection_then_new_event);
    add_backend_test(events, test_deregistered_listener_gets_no_events);
    add_backend_test(events, test_abstract_name_bind_connect_accept);
    suite_add_tcase(s, events);

    TCase *calls = tcase_create("calls");
    tcase_add_checked_fixture(calls, tmp_open, tmp_close);
    tcase_set_timeout(calls, 30);
    tcase_add_test(calls, test_accept_with_nothing_pending_is_eagain);
    tcase_add_test(calls, test_bind_to_existing_path_is_eaddrinuse);
    tcase_add_test(calls, test_bind_in_missing_directory_is_enoent);
    tcase_add_test(calls, test_local_addr_round_trip);
    tcase_add_test(calls, test_from_fd_adopts_blocking_listener);
    tcase_add_test(calls, test_close_is_idempotent);
    tcase_add_test(calls, test_invalid_arguments);
    suite_add_tcase(s, calls);
    return s;
}

int main(void)
{
    return run_suite(unix_listener_suite());
}
