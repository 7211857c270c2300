/*
 * The version of the running library, and cmio_poll_fd(): a cmio poll
 * nested in a plain poll(2) loop, as GLib, Qt or libuv would nest it
 * (issue 13). Every test runs on every backend; those without a selector
 * descriptor (no CMIO__SEL_POLL_FD: poll(2)) must say -ENOTSUP.
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

START_TEST(test_version_is_the_headers)
{
    ck_assert_uint_eq(cmio_version(), CMIO_VERSION_NUMBER);
    ck_assert_str_eq(cmio_version_string(), CMIO_VERSION_STRING);
    unsigned major, minor, patch;
    ck_assert_int_eq(sscanf(CMIO_VERSION_STRING, "%u.%u.%u", &major, &minor, &patch), 3);
    ck_assert_uint_eq(major, CMIO_VERSION_MAJOR);
    ck_assert_uint_eq(minor, CMIO_VERSION_MINOR);
    ck_assert_uint_eq(patch, CMIO_VERSION_PATCH);
    ck_assert_uint_eq(CMIO_VERSION_NUMBER, (major << 16) | (minor << 8) | patch);
    /* Ordered as the versions are. */
    ck_assert(CMIO_VERSION_AT(0, 2, 0) > CMIO_VERSION_AT(0, 1, 9));
    ck_assert(CMIO_VERSION_AT(1, 0, 0) > CMIO_VERSION_AT(0, 255, 255));
    ck_assert(CMIO_VERSION_NUMBER >= CMIO_VERSION_AT(0, 2, 0));
}
END_TEST

/* poll(2) on one descriptor for reading: 1 readable, 0 not within ms.
 * (Reached only where the backend has a descriptor: not on Windows.) */
static int readable_within(int fd, int ms)
{
    short revents = sock_poll((cmio_fd)fd, POLLIN, ms);
    if (revents)
        ck_assert(revents & POLLIN);
    return revents != 0;
}

/* The poll's descriptor, or -1 on a backend without one (after checking
 * that it says -ENOTSUP there). */
static int poll_fd_or_skip(cmio_poll *p)
{
    int fd = cmio_poll_fd(p);
    if (!(cmio__poll_caps(p) & CMIO__SEL_POLL_FD)) {
        ck_assert_int_eq(fd, -ENOTSUP);
        return -1;
    }
    ck_assert_int_ge(fd, 0);
    return fd;
}

START_TEST(test_poll_fd_by_capability)
{
    ck_assert_int_eq(cmio_poll_fd(NULL), -EINVAL);
    cmio_poll *p = open_poll(_i);
    int fd = poll_fd_or_skip(p);
    if (fd >= 0) {
        /* The poll's own descriptor: open, close-on-exec, the same each time. */
        ck_assert(sock_is_open((cmio_fd)fd));
        ck_assert(!sock_inherited((cmio_fd)fd));
        ck_assert_int_eq(cmio_poll_fd(p), fd);
        /* Nothing registered: nothing to report. */
        ck_assert_int_eq(readable_within(fd, 0), 0);
    }
    cmio_poll_free(p);
}
END_TEST

/* The nesting: an outer poll(2) loop watches cmio_poll_fd, and when it is
 * readable lets cmio look with a timeout of 0. */
START_TEST(test_poll_fd_nests_in_a_poll2_loop)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    int fd = poll_fd_or_skip(p);
    if (fd < 0)
        goto out;
    cmio_fd sv[2];
    stream_pair(sv);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), sv[0], 7, CMIO_READABLE), 0);
    /* A registration that is writable at once would make the descriptor
     * readable: this one is readable only, and nothing was sent. */
    ck_assert_int_eq(readable_within(fd, QUIET_MS), 0);
    int got = 0;
    for (int round = 0; round < 3; round++) {
        put(sv[1], 1);
        ck_assert_int_eq(readable_within(fd, WAIT_MS), 1);
        ck_assert_int_eq(cmio_poll_poll(p, ev, 0), 1);
        const cmio_event *e = cmio_events_get(ev, 0);
        ck_assert_uint_eq(cmio_event_token(e), 7);
        ck_assert(cmio_event_is_readable(e));
        got++;
        ck_assert_uint_eq(drain(sv[0]), 1);
        /* Reported and drained: the outer loop sleeps again. On poll(2)'s
         * emulated edges the drain's -EAGAIN through raw read would need a
         * reregistration, but that backend has no descriptor. */
        ck_assert_int_eq(readable_within(fd, QUIET_MS), 0);
    }
    ck_assert_int_eq(got, 3);
    ck_assert_int_eq(cmio_registry_deregister(cmio_poll_registry(p), sv[0]), 0);
    sock_close(sv[0]);
    sock_close(sv[1]);
out:
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* Readable for as long as events are pending: a poll with room for one
 * event leaves the others, and the descriptor says so. */
START_TEST(test_poll_fd_readable_while_events_pending)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(1);
    int fd = poll_fd_or_skip(p);
    if (fd < 0)
        goto out;
    cmio_fd sv[3][2];
    for (int k = 0; k < 3; k++) {
        stream_pair(sv[k]);
        ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), sv[k][0], (cmio_token)k, CMIO_READABLE), 0);
        put(sv[k][1], 1);
    }
    unsigned seen = 0;
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(readable_within(fd, WAIT_MS), 1);
        ck_assert_int_eq(cmio_poll_poll(p, ev, 0), 1);
        cmio_token t = cmio_event_token(cmio_events_get(ev, 0));
        ck_assert_uint_lt(t, 3);
        seen |= 1u << t;
    }
    ck_assert_uint_eq(seen, 7u);
    ck_assert_int_eq(readable_within(fd, QUIET_MS), 0);
    for (int k = 0; k < 3; k++) {
        sock_close(sv[k][0]);
        sock_close(sv[k][1]);
    }
out:
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* A wake from the waker makes the descriptor readable; the waker's own
 * record is what cmio_poll_poll then reports. */
START_TEST(test_poll_fd_readable_on_wake)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(4);
    cmio_waker *w = NULL;
    int fd = poll_fd_or_skip(p);
    if (fd < 0)
        goto out;
    ck_assert_int_eq(cmio_waker_new(cmio_poll_registry(p), 9, &w), 0);
    ck_assert_int_eq(readable_within(fd, 0), 0);
    ck_assert_int_eq(cmio_waker_wake(w), 0);
    ck_assert_int_eq(readable_within(fd, WAIT_MS), 1);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 0), 1);
    ck_assert_uint_eq(cmio_event_token(cmio_events_get(ev, 0)), 9);
    ck_assert_int_eq(readable_within(fd, QUIET_MS), 0);
out:
    cmio_waker_free(w);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* Timers register an internal descriptor in the selector (a timerfd on
 * Linux, src/timer.c): a due timer makes cmio_poll_fd readable, and
 * cmio_poll_poll takes the internal record out and reports the timer. */
START_TEST(test_poll_fd_readable_when_a_timer_is_due)
{
#ifdef __linux__
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(4);
    cmio_timer *t = NULL;
    int fd = poll_fd_or_skip(p);
    if (fd < 0)
        goto out;
    ck_assert_int_eq(cmio_timer_new(cmio_poll_registry(p), 31, &t), 0);
    /* Before the timer is set: time spent in cmio_timer_set (much under
     * valgrind) counts toward its 20 ms. */
    int64_t start = now_ms();
    ck_assert_int_eq(cmio_timer_set(t, 20, 0), 0);
    ck_assert_int_eq(readable_within(fd, WAIT_MS), 1);
    ck_assert_int_ge(now_ms() - start, 15); /* not before it is due */
    ck_assert_int_eq(cmio_poll_poll(p, ev, 0), 1);
    const cmio_event *e = cmio_events_get(ev, 0);
    ck_assert_uint_eq(cmio_event_token(e), 31);
    ck_assert(cmio_event_is_readable(e));
    uint64_t n = 0;
    ck_assert_int_eq(cmio_timer_read(t, &n), 0);
    ck_assert_uint_eq(n, 1);
    /* Delivered, and a one-shot timer: quiet again. */
    ck_assert_int_eq(readable_within(fd, QUIET_MS), 0);
out:
    cmio_timer_free(t);
    cmio_events_free(ev);
    cmio_poll_free(p);
#endif
}
END_TEST

static Suite *embed_suite(void)
{
    Suite *s = suite_create("embed");
    TCase *tc = tcase_create("embed");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_version_is_the_headers);
    add_backend_test(tc, test_poll_fd_by_capability);
    add_backend_test(tc, test_poll_fd_nests_in_a_poll2_loop);
    add_backend_test(tc, test_poll_fd_readable_while_events_pending);
    add_backend_test(tc, test_poll_fd_readable_on_wake);
    add_backend_test(tc, test_poll_fd_readable_when_a_timer_is_due);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(embed_suite()); }
