/*
 * Timers (DESIGN §3c): never early, counted expirations, cancel and free
 * that hold for every poll that starts afterwards, delivery across a full
 * events buffer, and set from another thread while the poll is blocked.
 * Every test runs on every backend and, where the OS has a timerfd, on
 * both mechanisms (the timerfd and the portable poll timeout with a wake).
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#if !defined(_WIN32)
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#endif
#include <stdint.h>

void cmio__timers_use_portable(bool on);

/* _i: the backend (_i % n_backends()) and the mechanism (portable from
 * n_backends() on). */
#define add_timer_test(tc, fn) tcase_add_loop_test((tc), (fn), 0, 2 * n_backends())

static cmio_poll *open_timer_poll(int i)
{
    cmio__timers_use_portable(i >= n_backends());
    cmio_poll *p = open_poll(i % n_backends());
    cmio__timers_use_portable(false);
    return p;
}

static cmio_timer *new_timer(cmio_poll *p, cmio_token token)
{
    cmio_timer *t = NULL;
    ck_assert_int_eq(cmio_timer_new(cmio_poll_registry(p), token, &t), 0);
    ck_assert_ptr_nonnull(t);
    return t;
}

/* Poll (bounded) until an event for token; returns the ns it took, or -1.
 * Asserts that every event seen is token's or in `also`. */
static int64_t wait_token(cmio_poll *p, cmio_events *ev, cmio_token token, int timeout_ms)
{
    int64_t start = now_ns(), deadline = start + (int64_t)timeout_ms * 1000000;
    for (int polls = 0; polls < 1000 && now_ns() < deadline; polls++) {
        int n = cmio_poll_poll(p, ev, 20);
        ck_assert_int_ge(n, 0);
        for (const cmio_event *e = cmio_events_begin(ev); e != cmio_events_end(ev); e++)
            if (cmio_event_token(e) == token) {
                ck_assert(cmio_event_is_readable(e));
                return now_ns() - start;
            }
    }
    return -1;
}

/* Events for token in polls spanning about ms. */
static int events_for(cmio_poll *p, cmio_events *ev, cmio_token token, int ms)
{
    int seen = 0;
    int64_t deadline = now_ns() + (int64_t)ms * 1000000;
    for (int polls = 0; polls < 1000 && now_ns() < deadline; polls++) {
        int64_t left = (deadline - now_ns()) / 1000000;
        int n = cmio_poll_poll(p, ev, left > 0 ? (int)left : 0);
        ck_assert_int_ge(n, 0);
        for (const cmio_event *e = cmio_events_begin(ev); e != cmio_events_end(ev); e++)
            seen += cmio_event_token(e) == token;
    }
    return seen;
}

START_TEST(test_one_shot_fires_once_never_early)
{
    cmio_poll *p = open_timer_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_timer *t = new_timer(p, 5);
    uint64_t n = 0;
    ck_assert_int_eq(cmio_timer_read(t, &n), -EAGAIN);
    int64_t t0 = now_ns();
    ck_assert_int_eq(cmio_timer_set(t, 60, 0), 0);
    int64_t took = wait_token(p, ev, 5, WAIT_MS);
    ck_assert_int_ge(took, 0);
    ck_assert_int_ge(now_ns() - t0, 60 * 1000000);
    ck_assert_int_eq(cmio_timer_read(t, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(cmio_timer_read(t, &n), -EAGAIN);
    ck_assert_int_eq(events_for(p, ev, 5, 100), 0);
    cmio_timer_free(t);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* after_ms 0 expires at once: the next poll, even a non-waiting one. */
START_TEST(test_zero_delay_reported_by_next_poll)
{
    cmio_poll *p = open_timer_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_timer *t = new_timer(p, 3);
    ck_assert_int_eq(cmio_timer_set(t, 0, 0), 0);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 0), 1);
    ck_assert_uint_eq(cmio_event_token(cmio_events_get(ev, 0)), 3);
    ck_assert(cmio_event_is_readable(cmio_events_get(ev, 0)));
    ck_assert_int_eq(cmio_poll_poll(p, ev, 0), 0);
    cmio_timer_free(t);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* An interval timer whose event is not read gives no further event, and
 * read counts every expiry that passed; after the read the next expiry
 * gives a new event. */
START_TEST(test_interval_counts_unread_expirations)
{
    cmio_poll *p = open_timer_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_timer *t = new_timer(p, 7);
    int64_t t0 = now_ns();
    ck_assert_int_eq(cmio_timer_set(t, 10, 10), 0);
    ck_assert_int_ge(wait_token(p, ev, 7, WAIT_MS), 0);
    ck_assert_int_eq(events_for(p, ev, 7, 80), 0); /* unread: counted, not reported */
    uint64_t n = 0;
    ck_assert_int_eq(cmio_timer_read(t, &n), 0);
    int64_t elapsed = now_ns() - t0;
    /* Never early: at most one expiry per 10 ms since the set; and every
     * 10 ms up to the last poll (which ended at least 80 ms after the first
     * event) was counted. */
    ck_assert_uint_le(n, (uint64_t)(elapsed / 10000000));
    ck_assert_uint_ge(n, 8);
    ck_assert_int_ge(wait_token(p, ev, 7, WAIT_MS), 0);
    ck_assert_int_eq(cmio_timer_read(t, &n), 0);
    ck_assert_uint_ge(n, 1);
    cmio_timer_free(t);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_cancel_before_and_after_due)
{
    cmio_poll *p = open_timer_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_timer *t = new_timer(p, 1);
    uint64_t n;
    ck_assert_int_eq(cmio_timer_set(t, 20, 5), 0);
    ck_assert_int_eq(cmio_timer_cancel(t), 0);
    ck_assert_int_eq(events_for(p, ev, 1, 80), 0);
    ck_assert_int_eq(cmio_timer_read(t, &n), -EAGAIN);
    /* Due but not yet delivered: cancel holds for the next poll. */
    ck_assert_int_eq(cmio_timer_set(t, 0, 0), 0);
    ck_assert_int_eq(cmio_timer_cancel(t), 0);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 0), 0);
    ck_assert_int_eq(cmio_timer_read(t, &n), -EAGAIN);
    /* Delivered, not read: cancel discards the count. */
    ck_assert_int_eq(cmio_timer_set(t, 0, 0), 0);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 0), 1);
    ck_assert_int_eq(cmio_timer_cancel(t), 0);
    ck_assert_int_eq(cmio_timer_read(t, &n), -EAGAIN);
    ck_assert_int_eq(cmio_timer_cancel(t), 0); /* disarmed: nothing to do */
    cmio_timer_free(t);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* Due timers that did not fit in the buffer wait for the next poll: a
 * cancel, a free or a read meanwhile holds for it. */
START_TEST(test_cancel_free_read_of_timers_left_over)
{
    cmio_poll *p = open_timer_poll(_i);
    cmio_events *ev = open_events(1);
    cmio_timer *t[4];
    for (int k = 0; k < 4; k++) {
        t[k] = new_timer(p, (cmio_token)(20 + k));
        ck_assert_int_eq(cmio_timer_set(t[k], 0, 0), 0);
    }
    ck_assert_int_eq(cmio_poll_poll(p, ev, 0), 1);
    ck_assert_uint_eq(cmio_event_token(cmio_events_get(ev, 0)), 20);
    /* t[1..3] are due and waiting. */
    ck_assert_int_eq(cmio_timer_cancel(t[1]), 0);
    cmio_timer_free(t[2]);
    uint64_t n = 0;
    ck_assert_int_eq(cmio_timer_read(t[3], &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 0), 0);
    ck_assert_int_eq(cmio_timer_read(t[1], &n), -EAGAIN);
    cmio_timer_free(t[0]);
    cmio_timer_free(t[1]);
    cmio_timer_free(t[3]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* Set again: the new deadline replaces the old (later and earlier), and a
 * fired, unread timer set again is reported again. */
START_TEST(test_set_replaces_deadline)
{
    cmio_poll *p = open_timer_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_timer *t = new_timer(p, 2);
    ck_assert_int_eq(cmio_timer_set(t, 20, 0), 0);
    int64_t t0 = now_ns();
    ck_assert_int_eq(cmio_timer_set(t, 120, 0), 0);
    ck_assert_int_ge(wait_token(p, ev, 2, WAIT_MS), 0);
    ck_assert_int_ge(now_ns() - t0, 120 * 1000000);
    ck_assert_int_eq(cmio_timer_set(t, 0, 0), 0);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 0), 1);
    ck_assert_int_eq(cmio_timer_set(t, 0, 0), 0); /* unread: discarded, re-armed */
    ck_assert_int_eq(cmio_poll_poll(p, ev, 0), 1);
    uint64_t n;
    ck_assert_int_eq(cmio_timer_read(t, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(cmio_timer_set(t, 10000, 0), 0);
    ck_assert_int_eq(cmio_timer_set(t, 10, 0), 0); /* earlier than what the kernel waits for */
    ck_assert_int_ge(wait_token(p, ev, 2, WAIT_MS), 0);
    cmio_timer_free(t);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* More due timers than the buffer holds: each is delivered once, over the
 * following polls, and with the descriptors' events. */
START_TEST(test_full_buffer_delivers_the_rest_later)
{
    enum { N = 7, CAP = 3 };
    cmio_poll *p = open_timer_poll(_i);
    cmio_events *ev = open_events(CAP);
    cmio_timer *t[N];
    for (int k = 0; k < N; k++) {
        t[k] = new_timer(p, (cmio_token)(100 + k));
        ck_assert_int_eq(cmio_timer_set(t[k], 0, 0), 0);
    }
    cmio_fd sv[2];
    stream_pair(sv);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), sv[0], 50, CMIO_WRITABLE), 0);
    int seen[N] = {0}, fd_events = 0, total = 0;
    for (int polls = 0; polls < 20; polls++) {
        int n = cmio_poll_poll(p, ev, 0);
        ck_assert_int_ge(n, 0);
        ck_assert_int_le(n, CAP);
        for (const cmio_event *e = cmio_events_begin(ev); e != cmio_events_end(ev); e++) {
            cmio_token tok = cmio_event_token(e);
            if (tok == 50) {
                fd_events++;
                continue;
            }
            ck_assert(tok >= 100 && tok < 100 + N);
            seen[tok - 100]++;
            total++;
        }
    }
    ck_assert_int_eq(total, N);
    for (int k = 0; k < N; k++)
        ck_assert_int_eq(seen[k], 1);
    ck_assert_int_eq(fd_events, 1);
    for (int k = 0; k < N; k++)
        cmio_timer_free(t[k]);
    sock_close(sv[0]);
    sock_close(sv[1]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* Deadlines expire in order. */
START_TEST(test_expiries_in_deadline_order)
{
    enum { N = 6 };
    static const int after_ms[N] = {50, 10, 40, 20, 60, 30};
    cmio_poll *p = open_timer_poll(_i);
    cmio_events *ev = open_events(1);
    cmio_timer *t[N];
    for (int k = 0; k < N; k++) {
        t[k] = new_timer(p, (cmio_token)after_ms[k]);
        ck_assert_int_eq(cmio_timer_set(t[k], (uint64_t)after_ms[k], 0), 0);
    }
    cmio_token last = 0;
    int got = 0;
    int64_t deadline = now_ms() + WAIT_MS;
    while (got < N && now_ms() < deadline) {
        int n = cmio_poll_poll(p, ev, 100);
        ck_assert_int_ge(n, 0);
        if (n == 0)
            continue;
        cmio_token tok = cmio_event_token(cmio_events_get(ev, 0));
        ck_assert_uint_gt(tok, last);
        last = tok;
        got++;
    }
    ck_assert_int_eq(got, N);
    for (int k = 0; k < N; k++)
        cmio_timer_free(t[k]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

struct setter {
    cmio_timer *t;
    test_tid poll_tid;
    uint64_t after_ms;
    bool cancel_first; /* cancel the armed far_timer deadline, then set */
    int result;
};

static void *set_when_blocked(void *arg)
{
    struct setter *s = arg;
    wait_until_blocked_in_poll(s->poll_tid);
    s->result = s->cancel_first ? cmio_timer_cancel(s->t) : 0;
    if (s->result == 0)
        s->result = cmio_timer_set(s->t, s->after_ms, 0);
    return NULL;
}

/* Set from another thread while the poll thread waits forever: the
 * blocked poll returns the timer's event. */
START_TEST(test_set_from_other_thread_wakes_blocked_poll)
{
    cmio_poll *p = open_timer_poll(_i);
    cmio_events *ev = open_events(4);
    cmio_timer *t = new_timer(p, 11), *far_timer = new_timer(p, 12);
    ck_assert_int_eq(cmio_timer_set(far_timer, 100000, 0), 0);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 0), 0); /* the poll has seen its timers */
    for (int round = 0; round < 2; round++) {
        struct setter s = {.t = t, .poll_tid = current_tid(), .after_ms = 15, .cancel_first = round == 1, .result = 1};
        test_thread th;
        thread_start(&th, set_when_blocked, &s);
        int n = cmio_poll_poll(p, ev, -1);
        thread_join(&th);
        ck_assert_int_eq(s.result, 0);
        ck_assert_int_eq(n, 1);
        ck_assert_uint_eq(cmio_event_token(cmio_events_get(ev, 0)), 11);
        uint64_t count;
        ck_assert_int_eq(cmio_timer_read(t, &count), 0);
        ck_assert_uint_eq(count, 1);
    }
    cmio_timer_free(far_timer);
    cmio_timer_free(t);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

struct first_timer {
    cmio_poll *p;
    cmio_waker *w;
    cmio_timer *t;
    test_tid poll_tid;
    int result;
};

static void *make_first_timer_when_blocked(void *arg)
{
    struct first_timer *f = arg;
    wait_until_blocked_in_poll(f->poll_tid);
    f->result = cmio_timer_new(cmio_poll_registry(f->p), 31, &f->t);
    if (f->result == 0)
        f->result = cmio_timer_set(f->t, 0, 0);
    if (f->result == 0)
        f->result = cmio_waker_wake(f->w);
    return NULL;
}

/* The poll's first timer made by another thread while the poll thread is
 * blocked (documented): the blocked poll sees no internal record, only
 * what woke it; the timer comes with the next poll. */
START_TEST(test_first_timer_from_other_thread)
{
    cmio_poll *p = open_timer_poll(_i);
    cmio_events *ev = open_events(4);
    struct first_timer f = {.p = p, .poll_tid = current_tid(), .result = 1};
    ck_assert_int_eq(cmio_waker_new(cmio_poll_registry(p), 30, &f.w), 0);
    test_thread th;
    thread_start(&th, make_first_timer_when_blocked, &f);
    int n = cmio_poll_poll(p, ev, -1);
    thread_join(&th);
    ck_assert_int_eq(f.result, 0);
    for (int k = 0; k < n; k++)
        ck_assert_uint_eq(cmio_event_token(cmio_events_get(ev, (size_t)k)), 30);
    ck_assert_int_ge(wait_token(p, ev, 31, WAIT_MS), 0);
    cmio_timer_free(f.t);
    cmio_waker_free(f.w);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* A positive timeout with only a far_timer timer armed is waited out in full,
 * and a negative one is not ended by a cancelled deadline. */
START_TEST(test_timeouts_hold_with_timers)
{
    cmio_poll *p = open_timer_poll(_i);
    cmio_events *ev = open_events(4);
    cmio_timer *soon = new_timer(p, 1), *later = new_timer(p, 2);
    ck_assert_int_eq(cmio_timer_set(later, 100000, 0), 0);
    int64_t t0 = now_ns();
    ck_assert_int_eq(cmio_poll_poll(p, ev, 50), 0);
    ck_assert_int_ge(now_ns() - t0, 50 * 1000000);
    /* The kernel timer waits for soon's deadline, cancelled: it fires, finds
     * nothing due and the poll goes on to the next timer. */
    ck_assert_int_eq(cmio_timer_set(soon, 10, 0), 0);
    ck_assert_int_eq(cmio_timer_cancel(soon), 0);
    ck_assert_int_eq(cmio_timer_set(later, 60, 0), 0);
    t0 = now_ns();
    ck_assert_int_eq(cmio_poll_poll(p, ev, -1), 1);
    ck_assert_uint_eq(cmio_event_token(cmio_events_get(ev, 0)), 2);
    ck_assert_int_ge(now_ns() - t0, 50 * 1000000);
    cmio_timer_free(soon);
    cmio_timer_free(later);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* Free holds for the next poll; a timer, and a registry clone's, may
 * outlive the poll; a clone of a freed poll makes no timer. */
START_TEST(test_free_and_lifetimes)
{
    cmio_poll *p = open_timer_poll(_i);
    cmio_events *ev = open_events(4);
    cmio_timer *t = new_timer(p, 4);
    ck_assert_int_eq(cmio_timer_set(t, 0, 0), 0);
    cmio_timer_free(t);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 0), 0);
    cmio_timer_free(NULL);

    cmio_registry *clone = NULL;
    ck_assert_int_eq(cmio_registry_try_clone(cmio_poll_registry(p), &clone), 0);
    cmio_timer *a = NULL;
    ck_assert_int_eq(cmio_timer_new(clone, 8, &a), 0);
    ck_assert_int_eq(cmio_timer_set(a, 5, 5), 0);
    cmio_poll_free(p);
    ck_assert_int_eq(cmio_timer_set(a, 0, 0), 0);
    cmio_timer *b = (cmio_timer *)&b;
    ck_assert_int_eq(cmio_timer_new(clone, 9, &b), -EBADF);
    ck_assert_ptr_null(b);
    cmio_timer_free(a);
    cmio_registry_free(clone);
    cmio_events_free(ev);
}
END_TEST

START_TEST(test_bad_arguments)
{
    cmio_poll *p = open_timer_poll(_i);
    cmio_timer *t = NULL;
    uint64_t n;
    ck_assert_int_eq(cmio_timer_new(NULL, 1, &t), -EINVAL);
    ck_assert_int_eq(cmio_timer_new(cmio_poll_registry(p), 1, NULL), -EINVAL);
    ck_assert_int_eq(cmio_timer_set(NULL, 1, 0), -EINVAL);
    ck_assert_int_eq(cmio_timer_cancel(NULL), -EINVAL);
    ck_assert_int_eq(cmio_timer_read(NULL, &n), -EINVAL);
    t = new_timer(p, 1);
    ck_assert_int_eq(cmio_timer_read(t, NULL), -EINVAL);
    /* Beyond the clock: never due, never an overflow. */
    cmio_events *ev = open_events(2);
    ck_assert_int_eq(cmio_timer_set(t, UINT64_MAX, UINT64_MAX), 0);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 20), 0);
    ck_assert_int_eq(cmio_timer_set(t, 0, UINT64_MAX), 0);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 0), 1);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 20), 0);
    cmio_timer_free(t);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* Timer events come with the descriptors' in one poll, and the internal
 * token never shows. */
START_TEST(test_timers_beside_descriptors)
{
    cmio_poll *p = open_timer_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_fd sv[2];
    stream_pair(sv);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), sv[0], 1, CMIO_READABLE), 0);
    cmio_timer *t = new_timer(p, 2);
    ck_assert_int_eq(cmio_timer_set(t, 0, 0), 0);
    put(sv[1], 1);
    uint32_t want = 3, got = 0;
    int64_t deadline = now_ms() + WAIT_MS;
    while (got != want && now_ms() < deadline) {
        int n = cmio_poll_poll(p, ev, 20);
        ck_assert_int_ge(n, 0);
        for (const cmio_event *e = cmio_events_begin(ev); e != cmio_events_end(ev); e++) {
            cmio_token tok = cmio_event_token(e);
            ck_assert(tok == 1 || tok == 2);
            got |= 1u << (tok - 1);
        }
    }
    ck_assert_uint_eq(got, want);
    /* A timer that fires while the poll waits for a descriptor. */
    ck_assert_int_eq(cmio_timer_set(t, 20, 0), 0);
    ck_assert_int_ge(wait_token(p, ev, 2, WAIT_MS), 0);
    cmio_timer_free(t);
    sock_close(sv[0]);
    sock_close(sv[1]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

static Suite *timer_suite(void)
{
    Suite *s = suite_create("timer");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    add_timer_test(tc, test_one_shot_fires_once_never_early);
    add_timer_test(tc, test_zero_delay_reported_by_next_poll);
    add_timer_test(tc, test_interval_counts_unread_expirations);
    add_timer_test(tc, test_cancel_before_and_after_due);
    add_timer_test(tc, test_cancel_free_read_of_timers_left_over);
    add_timer_test(tc, test_set_replaces_deadline);
    add_timer_test(tc, test_full_buffer_delivers_the_rest_later);
    add_timer_test(tc, test_expiries_in_deadline_order);
    add_timer_test(tc, test_set_from_other_thread_wakes_blocked_poll);
    add_timer_test(tc, test_first_timer_from_other_thread);
    add_timer_test(tc, test_timeouts_hold_with_timers);
    add_timer_test(tc, test_free_and_lifetimes);
    add_timer_test(tc, test_bad_arguments);
    add_timer_test(tc, test_timers_beside_descriptors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(timer_suite()); }
