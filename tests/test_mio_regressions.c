/*
 * mio's tests/regressions.rs, ported: one twin per test
 * (docs/porting-from-mio.md lists them). The polling ones run on every
 * backend.
 *
 * SPDX-License-Identifier: MIT
 */
#include "mio_util.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum { ID1 = 1, WAKE_TOKEN = 10 };

/* A blocking peer (std::net in mio's test): accepts one connection and
 * reads once with a 5 s receive timeout. */
struct blocking_peer {
    int listener;
    ssize_t got;
    int err;
};

static void *accept_and_read(void *arg)
{
    struct blocking_peer *bp = arg;
    bp->got = -2;
    int s = accept4(bp->listener, NULL, NULL, SOCK_CLOEXEC);
    if (s < 0) {
        bp->err = errno;
        return NULL;
    }
    struct timeval tv = {.tv_sec = 5};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[16];
    bp->got = read(s, buf, sizeof(buf));
    bp->err = bp->got < 0 ? errno : 0;
    close(s);
    return NULL;
}

/* issue_776: a connected stream that is read to -EAGAIN and then closed
 * (deregistered first) lets the peer's blocking read return, not time out
 * (the read must succeed). */
START_TEST(mio_issue_776)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(l, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(l, 8), 0);
    cmio_sockaddr addr;
    addr.len = sizeof(addr.u.storage);
    ck_assert_int_eq(getsockname(l, &addr.u.sa, &addr.len), 0);
    struct blocking_peer bp = {.listener = l};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, accept_and_read, &bp), 0);

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
    pthread_join(t, NULL);
    ck_assert_msg(bp.got >= 0, "peer read failed: %s", strerror(bp.err));
    close(l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

struct late_wake {
    cmio_waker *w;
    pid_t poll_tid;
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

    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, wake_when_blocked, &lw), 0);
    int n = cmio_poll_poll(p, ev, 4 * WAIT_MS); /* mio: no timeout */
    pthread_join(t, NULL);
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

/* issue_1403: a datagram from an unbound Unix socket arrives whole, and its
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

static Suite *mio_regressions_suite(void)
{
    Suite *s = suite_create("mio_regressions");
    TCase *tc = tcase_create("regressions.rs");
    tcase_set_timeout(tc, 60);
    add_backend_test(tc, mio_issue_776);
    add_backend_test(tc, mio_issue_1205);
    suite_add_tcase(s, tc);
    TCase *unix_tc = tcase_create("regressions.rs, unix");
    tcase_add_checked_fixture(unix_tc, tmp_open, tmp_close);
    tcase_add_test(unix_tc, mio_issue_1403);
    suite_add_tcase(s, unix_tc);
    return s;
}

int main(void) { return run_suite(mio_regressions_suite()); }
