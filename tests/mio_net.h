/*
 * Checks shared by the ports of mio's UDP, Unix socket and pipe tests
 * (tests/test_mio_udp_socket.c, test_mio_unix_*.c): the counterparts of
 * the expect_events, expect_no_events, checked_write and expect_read
 * helpers of mio's tests/util, in cmio's terms.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CMIO_TESTS_MIO_NET_H
#define CMIO_TESTS_MIO_NET_H

#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* An event a test waits for: its token and every CMIO_EVENT_* bit it must carry. */
typedef struct expect_event {
    cmio_token token;
    uint32_t flags;
} expect_event;

/* Polls (bounded by WAIT_MS) until each expected event was matched by an
 * event of a poll made by this call; one event matches one expectation.
 * Other events are accepted and ignored, since events may be spurious. */
static inline void expect_events_at(cmio_poll *p, cmio_events *ev, const expect_event *want, size_t n,
                                    const char *file, int line)
{
    bool found[8] = {false};
    ck_assert_uint_le(n, 8);
    size_t missing = n;
    int64_t deadline = now_ms() + WAIT_MS;
    for (int round = 0; round < 1000 && missing > 0; round++) {
        int64_t left = deadline - now_ms();
        if (left < 0)
            break;
        int got = cmio_poll_poll(p, ev, (int)left);
        ck_assert_msg(got >= 0, "%s:%d: poll: %s", file, line, cmio_strerror(got));
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            const cmio_event *e = cmio_events_get(ev, i);
            for (size_t k = 0; k < n; k++) {
                if (!found[k] && cmio_event_token(e) == want[k].token &&
                    (e->flags & want[k].flags) == want[k].flags) {
                    found[k] = true;
                    missing--;
                    break;
                }
            }
        }
    }
    for (size_t k = 0; k < n; k++)
        ck_assert_msg(found[k], "%s:%d: no event for token %lu with flags 0x%x", file, line,
                      (unsigned long)want[k].token, (unsigned)want[k].flags);
}

/* expect_events(poll, events, {TOKEN, CMIO_EVENT_...}, ...) */
#define expect_events(p, ev, ...)                                                                  \
    expect_events_at((p), (ev), (const expect_event[]){__VA_ARGS__},                              \
                     sizeof((const expect_event[]){__VA_ARGS__}) / sizeof(expect_event), __FILE__, \
                     __LINE__)

/* mio's expect_no_events: one poll of QUIET_MS returns no event at all. */
#define expect_no_events(p, ev)                                                                    \
    do {                                                                                           \
        int got_ = cmio_poll_poll((p), (ev), QUIET_MS);                                            \
        ck_assert_msg(got_ == 0, "expected no events, poll returned %d (first token %lu, flags 0x%x)", \
                      got_, (unsigned long)cmio_event_token(cmio_events_get((ev), 0)),            \
                      got_ > 0 ? (unsigned)cmio_events_get((ev), 0)->flags : 0u);                 \
    } while (0)

/* mio's assert_would_block. */
#define assert_would_block(call) ck_assert_int_eq((call), -EAGAIN)

/* mio's checked_write: the whole buffer of len bytes is written. */
#define checked_write(call, len) ck_assert_int_eq((call), (ssize_t)(len))

/* mio's expect_read: the call returns exactly the bytes of `want` into buf. */
#define expect_read(call, buf, want, want_len)                                                     \
    do {                                                                                           \
        ssize_t n_ = (call);                                                                       \
        ck_assert_int_eq(n_, (ssize_t)(want_len));                                                 \
        ck_assert_int_eq(memcmp((buf), (want), (size_t)(want_len)), 0);                            \
    } while (0)

#endif
