/*
 * mio's tests/regressions.rs, ported: one twin per test
 * (docs/porting-from-mio.md lists them). The polling ones run on every
 * backend.
 *
 * SPDX-License-Identifier: MIT
 */
#include "mio_util.h"

#include <errno.h>
#include <string.h>

enum { ID1 = 1, WAKE_TOKEN = 10 };

/* A blocking peer (std::net in mio's test): accepts one connection and
 * reads once with a 5 s receive timeout. */
struct blocking_peer {
    cmio_fd listener;
    ssize_t got;
    int err;
};

static void *accept_and_read(void *arg)
{
    struct blocking_peer *bp = arg;
    bp->got = -2;
    cmio_fd s = blocking_accept(bp->listener);
    if (s == CMIO_FD_INVALID) {
        bp->err = errno;
        return NULL;
    }
    sock_recv_timeout(s, 5);
    char buf[16];
    bp->got = sock_recv(s, buf, sizeof(buf));
    bp->err = bp->got < 0 ? errno : 0;
    sock_close(s);
    return NULL;
}

/* issue_776: a connected stream that is read to -EAGAIN and then closed
 * (deregistered first) lets the peer's blocking read return, not time out
 * (the read must succeed). */
START_TEST(mio_issue_776)
{
    cmio_sockaddr addr;
    cmio_fd l = blocking_listener(&addr);
    struct blocking_peer bp = {.listener = l};
    test_thread t;
    thread_start(&t, accept_and_read, &bp);

    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_tcp_stream s;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s, &addr), 0);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), s.fd, 1, CMIO_READABLE | CMIO_WRITABLE),
                     0);
    ck_assert(wait_for(p, ev, 1, 0, WAIT_MS) != 0); /* connected */

    char buf[1024];
    ck_assert_int_eq(cmio_tcp_stream_read(&s, buf, sizeof(buf)), -EAGAIN);

    ck_assert_int_eq(cmio_registry_deregister(cmio_poll_registry(p), s.fd), 0);
    cmio_tcp_stream_close(&s);
    thread_join(&t);
    ck_assert_msg(bp.got >= 0, "peer read failed: %s", strerror(bp.err));
    sock_close(l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

struct late_wake {
    cmio_waker *w;
    test_tid poll_tid;
    int result;
};

static void *wake_when_blocked(void *arg)
{
    struct late_wake *lw = arg;
    wait_until_blocked_in_poll(lw->poll_tid);
    lw->result = cmio_waker_wake(lw->w);
    return NULL;
}

/* issue_1205: a listener deregistered after a connection arrived is not
 * reported; the blocked poll returns the waker's event alone. mio's thread
 * sleeps 500 ms before waking; here the connection is seen queued (poll(2)
 * of the listener's own) before the deregistration, and the thread wakes
 * once this one is blocked in the poll. */
START_TEST(mio_issue_1205)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    struct late_wake lw = {.poll_tid = current_tid(), .result = 1};
    ck_assert_int_eq(cmio_waker_new(cmio_poll_registry(p), WAKE_TOKEN, &lw.w), 0);

    cmio_tcp_listener l;
    cmio_sockaddr addr;
    listen_any(&l, &addr);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), l.fd, ID1, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 0), 0);

    cmio_tcp_stream s;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s, &addr), 0);
    wait_level(l.fd, POLLIN);
    ck_assert_int_eq(cmio_registry_deregister(cmio_poll_registry(p), l.fd), 0);

    test_thread t;
    thread_start(&t, wake_when_blocked, &lw);
    int n = cmio_poll_poll(p, ev, 4 * WAIT_MS); /* mio: no timeout */
    thread_join(&t);
    ck_assert_int_eq(lw.result, 0);
    ck_assert_int_eq(n, 1);
    const cmio_event *e = cmio_events_get(ev, 0);
    ck_assert(cmio_event_is_readable(e));
    ck_assert_uint_eq(cmio_event_token(e), WAKE_TOKEN);

    cmio_tcp_stream_close(&s);
    cmio_tcp_listener_close(&l);
    cmio_waker_free(lw.w);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

#if !defined(_WIN32)
/* issue_1403 (Unix datagrams, which Windows lacks: there cmio's answer is
 * -ENOTSUP, asserted by tests/test_windows.c): a datagram from an unbound Unix socket arrives whole, and its
 * sender's address is unnamed (no path). */
START_TEST(mio_issue_1403)
{
    char path[256];
    tmp_path(path, sizeof(path), "issue_1403");
    cmio_unix_datagram d1, d2;
    ck_assert_int_eq(cmio_unix_datagram_bind(&d1, path), 0);
    ck_assert_int_eq(cmio_unix_datagram_unbound(&d2), 0);

    char buf[1024];
    memset(buf, 1, sizeof(buf));
    ssize_t n = cmio_unix_datagram_send_to(&d2, buf, sizeof(buf), path);
    ck_assert_int_eq(n, (ssize_t)sizeof(buf));

    cmio_sockaddr from;
    memset(&from, 0x55, sizeof(from));
    ck_assert_int_eq(cmio_unix_datagram_recv_from(&d1, buf, sizeof(buf), &from), n);
    assert_addr_text(&from, ""); /* as_pathname() is None */

    cmio_unix_datagram_close(&d1);
    cmio_unix_datagram_close(&d2);
}
END_TEST
#endif

static Suite *mio_regressions_suite(void)
{
    Suite *s = suite_create("mio_regressions");
    TCase *tc = tcase_create("regressions.rs");
    tcase_set_timeout(tc, 60);
    add_backend_test(tc, mio_issue_776);
    add_backend_test(tc, mio_issue_1205);
    suite_add_tcase(s, tc);
#if !defined(_WIN32)
    TCase *unix_tc = tcase_create("regressions.rs, unix");
    tcase_add_checked_fixture(unix_tc, tmp_open, tmp_close);
    tcase_add_test(unix_tc, mio_issue_1403);
    suite_add_tcase(s, unix_tc);
#endif
    return s;
}

int main(void) { return run_suite(mio_regressions_suite()); }
