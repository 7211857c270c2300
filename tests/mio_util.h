/*
 * Helpers of the suites ported from mio's tests (tests/test_mio_*.c), after
 * mio's tests/util/mod.rs: expect_events, expect_no_events (in helpers.c),
 * a loopback listener on any free port and a level wait outside cmio.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CMIO_TESTS_MIO_UTIL_H
#define CMIO_TESTS_MIO_UTIL_H

#include "helpers.h"

#include <errno.h>
#if !defined(_WIN32)
#include <poll.h>
#endif
#include <stdbool.h>
#include <stdio.h>

/* expect_events(poll, events, want, n): mio's expect_events over an array
 * of n expect_event; expect_no_events(poll, events): mio's. */
static inline void expect_events(cmio_poll *p, cmio_events *ev, const expect_event *want, size_t n)
{
    expect_events_at(p, ev, want, n, "expect_events", 0);
}

static inline void expect_no_events(cmio_poll *p, cmio_events *ev)
{
    expect_no_events_at(p, ev, "expect_no_events", 0);
}

/* mio's any_local_address: a listener on 127.0.0.1, any free port; *addr
 * receives the address it is bound to. */
static inline void listen_any(cmio_tcp_listener *l, cmio_sockaddr *addr)
{
    cmio_sockaddr any = parse_addr("127.0.0.1:0");
    ck_assert_int_eq(cmio_tcp_listener_bind(l, &any), 0);
    ck_assert_int_eq(cmio_tcp_listener_local_addr(l, addr), 0);
}

/* Block (bounded by WAIT_MS) until fd shows `what` to a level-triggered
 * poll(2) of its own, without touching any cmio registration: a handshake
 * that stands in for mio's sleeps ("let the connection complete"). */
static inline void wait_level(cmio_fd fd, short what)
{
#if defined(_WIN32)
    WSAPOLLFD pfd = {.fd = fd, .events = what}; /* WSAPoll: Winsock's poll(2) */
#define poll WSAPoll
#else
    struct pollfd pfd = {.fd = fd, .events = what};
#endif
    int64_t deadline = now_ms() + WAIT_MS;
    for (int round = 0; round < 1000; round++) {
        int64_t left = deadline - now_ms();
        ck_assert_msg(left >= 0, "descriptor %lld never became ready (%#x)", (long long)fd, (unsigned)what);
        int n = poll(&pfd, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        ck_assert_int_ge(n, 0);
        if (n == 1 && (pfd.revents & what))
            return;
    }
    ck_abort_msg("descriptor %lld never became ready", (long long)fd);
#if defined(_WIN32)
#undef poll
#endif
}

#endif
