/*
 * Waker: same thread, other threads, coalescing, several wakers, overflow.
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include "../src/internal.h"

#include <errno.h>
#include <unistd.h>
#if !defined(_WIN32)
#include <pthread.h>
#include <unistd.h>
#endif
#include <semaphore.h>
#include <stdio.h>
#include <string.h>

START_TEST(test_wake_gives_event_with_token)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(4);
    cmio_waker *w = NULL;
    ck_assert_int_eq(cmio_waker_new(cmio_poll_registry(p), 77, &w), 0);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(count_events(p, ev, 77, QUIET_MS), 0);
    ck_assert_int_eq(cmio_waker_wake(w), 0);
    ck_assert_int_eq(cmio_poll_poll(p, ev, WAIT_MS), 1);
    ck_assert_uint_eq(cmio_event_token(cmio_events_get(ev, 0)), 77);
    ck_assert(cmio_event_is_readable(cmio_events_get(ev, 0)));
    /* One wake, one event: nothing more afterwards. */
    ck_assert_int_eq(count_events(p, ev, 77, QUIET_MS), 0);
    cmio_waker_free(w);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_wakes_coalesce)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(4);
    cmio_waker *w = NULL;
    ck_assert_int_eq(cmio_waker_new(cmio_poll_registry(p), 5, &w), 0);
    for (int k = 0; k < 10; k++)
        ck_assert_int_eq(cmio_waker_wake(w), 0);
    ck_assert_int_eq(cmio_poll_poll(p, ev, WAIT_MS), 1);
    ck_assert_uint_eq(cmio_event_token(cmio_events_get(ev, 0)), 5);
    ck_assert_int_eq(count_events(p, ev, 5, QUIET_MS), 0);
    /* And it wakes again afterwards. */
    ck_assert_int_eq(cmio_waker_wake(w), 0);
    ck_assert(wait_for(p, ev, 5, CMIO_EVENT_READABLE, WAIT_MS));
    cmio_waker_free(w);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

struct waking {
    cmio_waker *w;
    test_tid poll_tid;
    int result;
};

static void *wake_when_blocked(void *arg)
{
    struct waking *wk = arg;
    wait_until_blocked_in_poll(wk->poll_tid);
    wk->result = cmio_waker_wake(wk->w);
    return NULL;
}

START_TEST(test_wake_from_other_thread_wakes_blocked_poll)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(4);
    struct waking wk = {.poll_tid = current_tid(), .result = 1};
    ck_assert_int_eq(cmio_waker_new(cmio_poll_registry(p), 9, &wk.w), 0);
    test_thread t;
    thread_start(&t, wake_when_blocked, &wk);
    int n = cmio_poll_poll(p, ev, -1);
    thread_join(&t);
    ck_assert_int_eq(wk.result, 0);
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(cmio_event_token(cmio_events_get(ev, 0)), 9);
    cmio_waker_free(wk.w);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* Repeated round trips: the poll thread posts "polling", the other thread
 * wakes, the poll returns the waker's event, and again. */
enum { ROUNDS = 200 };

struct pinger {
    cmio_waker *w;
    sem_t polling;
    int failures;
};

static void *wake_each_round(void *arg)
{
    struct pinger *pg = arg;
    for (int k = 0; k < ROUNDS; k++) {
        while (sem_wait(&pg->polling) != 0)
            ;
        pg->failures += cmio_waker_wake(pg->w) != 0;
    }
    return NULL;
}

START_TEST(test_repeated_wakes_from_other_thread)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(4);
    struct pinger pg = {.failures = 0};
    ck_assert_int_eq(sem_init(&pg.polling, 0, 0), 0);
    cmio_registry *clone = NULL;
    ck_assert_int_eq(cmio_registry_try_clone(cmio_poll_registry(p), &clone), 0);
    ck_assert_int_eq(cmio_waker_new(clone, 3, &pg.w), 0);
    test_thread t;
    thread_start(&t, wake_each_round, &pg);
    int woken = 0;
    for (int k = 0; k < ROUNDS; k++) {
        ck_assert_int_eq(sem_post(&pg.polling), 0);
        int n = cmio_poll_poll(p, ev, 4 * WAIT_MS);
        ck_assert_int_eq(n, 1);
        ck_assert_uint_eq(cmio_event_token(cmio_events_get(ev, 0)), 3);
        woken++;
    }
    thread_join(&t);
    ck_assert_int_eq(pg.failures, 0);
    ck_assert_int_eq(woken, ROUNDS);
    cmio_waker_free(pg.w);
    cmio_registry_free(clone);
    sem_destroy(&pg.polling);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_several_wakers_on_one_poll)
{
    enum { N = 3 };
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_waker *w[N];
    for (int k = 0; k < N; k++)
        ck_assert_int_eq(cmio_waker_new(cmio_poll_registry(p), (cmio_token)(10 + k), &w[k]), 0);
    ck_assert_int_eq(cmio_waker_wake(w[0]), 0);
    ck_assert_int_eq(cmio_waker_wake(w[2]), 0);
    int seen[N] = {0};
    int64_t deadline = now_ms() + WAIT_MS;
    while (!(seen[0] && seen[2]) && now_ms() < deadline) {
        ck_assert_int_ge(cmio_poll_poll(p, ev, QUIET_MS), 0);
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            cmio_token t = cmio_event_token(cmio_events_get(ev, i));
            ck_assert(t >= 10 && t < 10 + N);
            seen[t - 10]++;
        }
    }
    ck_assert_int_eq(seen[0], 1);
    ck_assert_int_eq(seen[1], 0);
    ck_assert_int_eq(seen[2], 1);
    ck_assert_int_eq(cmio_waker_wake(w[1]), 0);
    ck_assert(wait_for(p, ev, 11, CMIO_EVENT_READABLE, WAIT_MS));
    for (int k = 0; k < N; k++)
        cmio_waker_free(w[k]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* Whether fd is an eventfd (a kqueue waker's is a kqueue descriptor). */
static bool is_eventfd(int fd)
{
#if defined(__linux__)
    char path[64], link[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, link, sizeof(link) - 1);
    if (n < 0)
        return false;
    link[n] = '\0';
    return strcmp(link, "anon_inode:[eventfd]") == 0;
#else
    (void)fd;
    return false; /* only Linux has eventfd */
#endif
}

START_TEST(test_wake_survives_counter_overflow)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(4);
    cmio_waker *w = NULL;
    fd_set before;
    fds_open(&before);
    ck_assert_int_eq(cmio_waker_new(cmio_poll_registry(p), 4, &w), 0);
    /* The waker's descriptor is the one it opened (its state is the
     * backend's own): an eventfd, where the backend uses one. */
    fd_set after;
    fds_open(&after);
    int efd = -1;
    for (int fd = 0; fd < FD_SETSIZE; fd++)
        if (FD_ISSET(fd, &after) && !FD_ISSET(fd, &before) && is_eventfd(fd))
            efd = fd;
#ifdef __linux__
    ck_assert_int_ge(efd, 0); /* every backend's waker is an eventfd here */
#endif
    if (efd >= 0) {
        /* An eventfd: fill its counter to the maximum, 2^64 - 2. */
        uint64_t max = UINT64_MAX - 1;
        ck_assert_int_eq(write(efd, &max, sizeof(max)), (ssize_t)sizeof(max));
        ck_assert(wait_for(p, ev, 4, CMIO_EVENT_READABLE, WAIT_MS));
    }
    ck_assert_int_eq(cmio_waker_wake(w), 0);
    ck_assert(wait_for(p, ev, 4, CMIO_EVENT_READABLE, WAIT_MS));
    ck_assert_int_eq(cmio_waker_wake(w), 0);
    ck_assert(wait_for(p, ev, 4, CMIO_EVENT_READABLE, WAIT_MS));
    cmio_waker_free(w);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_waker_rejects_bad_arguments)
{
    cmio_poll *p = open_poll(_i);
    cmio_waker *w = NULL;
    ck_assert_int_eq(cmio_waker_new(NULL, 1, &w), -EINVAL);
    ck_assert_int_eq(cmio_waker_new(cmio_poll_registry(p), 1, NULL), -EINVAL);
    ck_assert_ptr_null(w);
    ck_assert_int_eq(cmio_waker_wake(NULL), -EINVAL);
    cmio_waker_free(NULL);
    cmio_poll_free(p);
}
END_TEST

static Suite *waker_suite(void)
{
    Suite *s = suite_create("waker");
    TCase *tc = tcase_create("waker");
    tcase_set_timeout(tc, 60);
    add_backend_test(tc, test_wake_gives_event_with_token);
    add_backend_test(tc, test_wakes_coalesce);
    add_backend_test(tc, test_wake_from_other_thread_wakes_blocked_poll);
    add_backend_test(tc, test_repeated_wakes_from_other_thread);
    add_backend_test(tc, test_several_wakers_on_one_poll);
    add_backend_test(tc, test_wake_survives_counter_overflow);
    add_backend_test(tc, test_waker_rejects_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(waker_suite()); }
