/*
 * mio's tests/events.rs, ported: one twin per test that maps onto cmio
 * (docs/porting-from-mio.md lists them all). It runs on every backend.
 *
 * SPDX-License-Identifier: MIT
 */
#include "mio_util.h"

enum { WAKE_TOKEN = 10 };

/* events_all: an events buffer has exactly its capacity and starts empty;
 * a wake fills it with the waker's readable event; clear empties it. */
START_TEST(mio_events_all)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    ck_assert_uint_eq(cmio_events_capacity(ev), 16);
    ck_assert_uint_eq(cmio_events_len(ev), 0);
    ck_assert_ptr_null(cmio_events_get(ev, 0));

    cmio_waker *w = NULL;
    ck_assert_int_eq(cmio_waker_new(cmio_poll_registry(p), WAKE_TOKEN, &w), 0);
    ck_assert_int_eq(cmio_waker_wake(w), 0);
    int n = cmio_poll_poll(p, ev, WAIT_MS); /* mio: 100 ms */
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq(cmio_events_len(ev), (size_t)n);
    for (size_t i = 0; i < cmio_events_len(ev); i++) {
        const cmio_event *e = cmio_events_get(ev, i);
        ck_assert_uint_eq(cmio_event_token(e), WAKE_TOKEN);
        ck_assert(cmio_event_is_readable(e));
    }

    cmio_events_clear(ev);
    ck_assert_uint_eq(cmio_events_len(ev), 0);
    ck_assert_ptr_null(cmio_events_get(ev, 0));
    ck_assert_uint_eq(cmio_events_capacity(ev), 16);

    cmio_waker_free(w);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

static Suite *mio_events_suite(void)
{
    Suite *s = suite_create("mio_events");
    TCase *tc = tcase_create("events.rs");
    tcase_set_timeout(tc, 60);
    add_backend_test(tc, mio_events_all);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(mio_events_suite()); }
