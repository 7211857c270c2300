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

/* expect_events(poll, events, {TOKEN, CMIO_EVENT_...}, ...) */
#define expect_events(p, ev, ...)                                                                            \
    expect_events_at((p), (ev), (const expect_event[]){__VA_ARGS__},                                         \
                     sizeof((const expect_event[]){__VA_ARGS__}) / sizeof(expect_event), __FILE__, __LINE__)

/* mio's expect_no_events: one poll of QUIET_MS returns no event at all. */
#define expect_no_events(p, ev) expect_no_events_at((p), (ev), __FILE__, __LINE__)

/* mio's assert_would_block. */
#define assert_would_block(call) ck_assert_int_eq((call), -EAGAIN)

/* mio's checked_write: the whole buffer of len bytes is written. */
#define checked_write(call, len) ck_assert_int_eq((call), (ssize_t)(len))

/* mio's expect_read: the call returns exactly the bytes of `want` into buf. */
#define expect_read(call, buf, want, want_len)                                                               \
    do {                                                                                                     \
        ssize_t n_ = (call);                                                                                 \
        ck_assert_int_eq(n_, (ssize_t)(want_len));                                                           \
        ck_assert_int_eq(memcmp((buf), (want), (size_t)(want_len)), 0);                                      \
    } while (0)

#endif
