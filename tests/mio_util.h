/*
 * Helpers of the suites ported from mio's tests (tests/test_mio_*.c), after
 * mio's tests/util/mod.rs: expect_events, expect_no_events and a loopback
 * listener on any free port.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CMIO_TESTS_MIO_UTIL_H
#define CMIO_TESTS_MIO_UTIL_H

#include "helpers.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>

/* One event expected by expect_events: its token and the CMIO_EVENT_* bits
 * it must carry (more bits may be set, as mio's Readiness::matches). */
typedef struct expect_event {
    cmio_token token;
    uint32_t flags;
} expect_event;

/* Poll until each expected event has been matched by a distinct event,
 * bounded by WAIT_MS (mio polls three times 500 ms). Other events are
 * accepted: events may be spurious. */
static inline void expect_events(cmio_poll *p, cmio_events *ev, const expect_event *want, size_t n)
{
    bool found[16] = {false};
    size_t left = n;
    ck_assert_uint_le(n, sizeof(found) / sizeof(found[0]));
    int64_t deadline = now_ms() + WAIT_MS;
    for (int round = 0; round < 1000 && left > 0; round++) {
        int64_t wait = deadline - now_ms();
        if (wait < 0)
            break;
        int got = cmio_poll_poll(p, ev, (int)wait);
        ck_assert_msg(got >= 0, "poll: %s", cmio_strerror(got));
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            const cmio_event *e = cmio_events_get(ev, i);
            for (size_t k = 0; k < n; k++) {
                if (!found[k] && cmio_event_token(e) == want[k].token &&
                    (e->flags & want[k].flags) == want[k].flags) {
                    found[k] = true;
                    left--;
                    break;
                }
            }
        }
    }
    for (size_t k = 0; k < n; k++)
        ck_assert_msg(found[k], "expected event not found: token %lu, flags %#x",
                      (unsigned long)want[k].token, (unsigned)want[k].flags);
}

/* mio's expect_no_events: a poll of QUIET_MS returns nothing. */
static inline void expect_no_events(cmio_poll *p, cmio_events *ev)
{
    int got = cmio_poll_poll(p, ev, QUIET_MS);
    ck_assert_msg(got >= 0, "poll: %s", cmio_strerror(got));
    for (size_t i = 0; i < cmio_events_len(ev); i++) {
        const cmio_event *e = cmio_events_get(ev, i);
        fprintf(stderr, "unexpected event: token %lu, flags %#x\n", (unsigned long)cmio_event_token(e),
                (unsigned)e->flags);
    }
    ck_assert_int_eq(got, 0);
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
static inline void wait_level(int fd, short what)
{
    struct pollfd pfd = {.fd = fd, .events = what};
    int64_t deadline = now_ms() + WAIT_MS;
    for (int round = 0; round < 1000; round++) {
        int64_t left = deadline - now_ms();
        ck_assert_msg(left >= 0, "descriptor %d never became ready (%#x)", fd, (unsigned)what);
        int n = poll(&pfd, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        ck_assert_int_ge(n, 0);
        if (n == 1 && (pfd.revents & what))
            return;
    }
    ck_abort_msg("descriptor %d never became ready", fd);
}

#endif
