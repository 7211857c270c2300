/*
 * mio's tests/waker.rs, ported: one twin per test that maps onto cmio
 * (docs/porting-from-mio.md lists them all). Each runs on every backend.
 *
 * SPDX-License-Identifier: MIT
 */
#include "mio_util.h"

#if !defined(_WIN32)
#include <pthread.h>
#endif

enum { TOKEN = 10, TOKEN2 = 11 };

/* mio's expect_waker_event: one poll returns events, each the waker's and
 * readable. mio polls 100 ms; WAIT_MS bounds it here (a poll returns as
 * soon as the event is there). */
static void expect_waker_event(cmio_poll *p, cmio_events *ev, cmio_token token)
{
    int n = cmio_poll_poll(p, ev, WAIT_MS);
    ck_assert_int_gt(n, 0);
    for (size_t i = 0; i < cmio_events_len(ev); i++) {
        ck_assert_uint_eq(cmio_event_token(cmio_events_get(ev, i)), token);
        ck_assert(cmio_event_is_readable(cmio_events_get(ev, i)));
    }
}

/* waker: a wake gives the waker's event. */
START_TEST(mio_waker)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(10);
    cmio_waker *w = NULL;
    ck_assert_int_eq(cmio_waker_new(cmio_poll_registry(p), TOKEN, &w), 0);
    ck_assert_int_eq(cmio_waker_wake(w), 0);
    expect_waker_event(p, ev, TOKEN);
    cmio_waker_free(w);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* waker_multiple_wakeups_same_thread: three wakes give the waker's event. */
START_TEST(mio_waker_multiple_wakeups_same_thread)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(10);
    cmio_waker *w = NULL;
    ck_assert_int_eq(cmio_waker_new(cmio_poll_registry(p), TOKEN, &w), 0);
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(cmio_waker_wake(w), 0);
    expect_waker_event(p, ev, TOKEN);
    cmio_waker_free(w);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

struct waking {
    cmio_waker *w;
    test_barrier *barrier; /* or NULL: wake at once */
    int result;
};

static void *wake_thread(void *arg)
{
    struct waking *wk = arg;
    if (wk->barrier)
        barrier_wait(wk->barrier);
    wk->result = cmio_waker_wake(wk->w);
    return NULL;
}

/* waker_wakeup_different_thread: a wake from another thread gives one
 * event, and nothing follows. */
START_TEST(mio_waker_wakeup_different_thread)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(10);
    struct waking wk = {.result = 1};
    ck_assert_int_eq(cmio_waker_new(cmio_poll_registry(p), TOKEN, &wk.w), 0);
    test_thread t;
    thread_start(&t, wake_thread, &wk);
    expect_waker_event(p, ev, TOKEN);
    expect_no_events(p, ev);
    thread_join(&t);
    ck_assert_int_eq(wk.result, 0);
    cmio_waker_free(wk.w);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* waker_multiple_wakeups_different_thread: a wake from one thread, then
 * (after that event was received) a wake from a second thread: two events,
 * then nothing. */
START_TEST(mio_waker_multiple_wakeups_different_thread)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(10);
    cmio_waker *w = NULL;
    ck_assert_int_eq(cmio_waker_new(cmio_poll_registry(p), TOKEN, &w), 0);
    test_barrier barrier;
    barrier_init(&barrier, 2);
    struct waking first = {.w = w, .result = 1}, second = {.w = w, .barrier = &barrier, .result = 1};
    test_thread t1, t2;
    thread_start(&t1, wake_thread, &first);
    thread_start(&t2, wake_thread, &second);

    expect_waker_event(p, ev, TOKEN); /* from thread 1 */
    barrier_wait(&barrier);
    expect_waker_event(p, ev, TOKEN); /* from thread 2 */
    expect_no_events(p, ev);

    thread_join(&t1);
    thread_join(&t2);
    ck_assert_int_eq(first.result, 0);
    ck_assert_int_eq(second.result, 0);
    barrier_destroy(&barrier);
    cmio_waker_free(w);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* Wakes w1 and w2 in turn and checks that each gives exactly its own
 * event. */
static void expect_two_wakers(cmio_poll *p, cmio_events *ev, cmio_waker *w1, cmio_waker *w2)
{
    ck_assert_int_eq(cmio_waker_wake(w1), 0);
    expect_waker_event(p, ev, TOKEN);
    expect_no_events(p, ev);
    ck_assert_int_eq(cmio_waker_wake(w2), 0);
    expect_waker_event(p, ev, TOKEN2);
    expect_no_events(p, ev);
    ck_assert_int_eq(cmio_waker_wake(w1), 0);
    ck_assert_int_eq(cmio_waker_wake(w2), 0);
    expect_events(p, ev, (expect_event[]){{TOKEN, CMIO_EVENT_READABLE}, {TOKEN2, CMIO_EVENT_READABLE}}, 2);
}

/* using_multiple_wakers_panics: mio allows one waker per poll and panics
 * on a second; cmio documents that several wakers per poll work, each with
 * its own token. The twin checks that. */
START_TEST(mio_using_multiple_wakers_panics)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(10);
    cmio_waker *w1 = NULL, *w2 = NULL;
    ck_assert_int_eq(cmio_waker_new(cmio_poll_registry(p), TOKEN, &w1), 0);
    ck_assert_int_eq(cmio_waker_new(cmio_poll_registry(p), TOKEN2, &w2), 0);
    expect_two_wakers(p, ev, w1, w2);
    cmio_waker_free(w1);
    cmio_waker_free(w2);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* using_multiple_wakers_panics_different_cloned_registries: as above, the
 * two wakers made through two clones of the registry. */
START_TEST(mio_using_multiple_wakers_panics_different_cloned_registries)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(10);
    cmio_registry *r1 = NULL, *r2 = NULL;
    ck_assert_int_eq(cmio_registry_try_clone(cmio_poll_registry(p), &r1), 0);
    ck_assert_int_eq(cmio_registry_try_clone(cmio_poll_registry(p), &r2), 0);
    cmio_waker *w1 = NULL, *w2 = NULL;
    ck_assert_int_eq(cmio_waker_new(r1, TOKEN, &w1), 0);
    ck_assert_int_eq(cmio_waker_new(r2, TOKEN2, &w2), 0);
    expect_two_wakers(p, ev, w1, w2);
    cmio_waker_free(w1);
    cmio_waker_free(w2);
    cmio_registry_free(r1);
    cmio_registry_free(r2);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

static Suite *mio_waker_suite(void)
{
    Suite *s = suite_create("mio_waker");
    TCase *tc = tcase_create("waker.rs");
    tcase_set_timeout(tc, 60);
    add_backend_test(tc, mio_waker);
    add_backend_test(tc, mio_waker_multiple_wakeups_same_thread);
    add_backend_test(tc, mio_waker_wakeup_different_thread);
    add_backend_test(tc, mio_waker_multiple_wakeups_different_thread);
    add_backend_test(tc, mio_using_multiple_wakers_panics);
    add_backend_test(tc, mio_using_multiple_wakers_panics_different_cloned_registries);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(mio_waker_suite()); }
