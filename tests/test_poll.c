/*
 * Poll: creation, backends, timeouts, signals, capacity.
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_backends_lists_each_built_in_backend)
{
    const char *const *names = cmio_backends();
    ck_assert_ptr_nonnull(names);
    ck_assert_int_ge(n_backends(), 1);
    /* The OS's native backend first, poll(2) last. */
#if defined(CMIO_HAVE_EPOLL)
    ck_assert_str_eq(names[0], "epoll");
#elif defined(CMIO_HAVE_KQUEUE)
    ck_assert_str_eq(names[0], "kqueue");
#elif defined(CMIO_HAVE_IOCP)
    ck_assert_str_eq(names[0], "iocp");
#endif
#ifdef CMIO_HAVE_POLL
    ck_assert_str_eq(names[n_backends() - 1], "poll");
#endif
    for (int i = 0; names[i]; i++) {
        cmio_poll *p = open_poll(i);
        cmio_poll_free(p);
    }
}
END_TEST

START_TEST(test_poll_new_uses_default_backend)
{
    env_unset("CMIO_BACKEND");
    cmio_poll *p = NULL;
    ck_assert_int_eq(cmio_poll_new(&p), 0);
    ck_assert_str_eq(cmio_poll_backend(p), cmio_backends()[0]);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_poll_new_honours_cmio_backend_env)
{
    const char *name = cmio_backends()[_i];
    cmio_poll *p = NULL;
    env_set("CMIO_BACKEND", name);
    ck_assert_int_eq(cmio_poll_new(&p), 0);
    ck_assert_str_eq(cmio_poll_backend(p), name);
    cmio_poll_free(p);

    env_set("CMIO_BACKEND", "no-such-backend");
    p = (cmio_poll *)&p;
    ck_assert_int_eq(cmio_poll_new(&p), -ENOTSUP);
    ck_assert_ptr_null(p);
    env_unset("CMIO_BACKEND");
}
END_TEST

START_TEST(test_poll_new_rejects_bad_arguments)
{
    cmio_poll *p = NULL;
    ck_assert_int_eq(cmio_poll_new(NULL), -EINVAL);
    ck_assert_int_eq(cmio_poll_new_with_backend(NULL, "epoll"), -EINVAL);
    ck_assert_int_eq(cmio_poll_new_with_backend(&p, NULL), -EINVAL);
    ck_assert_int_eq(cmio_poll_new_with_backend(&p, "select"), -ENOTSUP);
    ck_assert_int_eq(cmio_poll_new_with_backend(&p, ""), -ENOTSUP);
    ck_assert_ptr_null(p);
    ck_assert_ptr_null(cmio_poll_backend(NULL));
    ck_assert_ptr_null(cmio_poll_registry(NULL));
    cmio_poll_free(NULL);
}
END_TEST

START_TEST(test_poll_rejects_null_arguments)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(4);
    ck_assert_int_eq(cmio_poll_poll(NULL, ev, 0), -EINVAL);
    ck_assert_int_eq(cmio_poll_poll(p, NULL, 0), -EINVAL);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_poll_zero_timeout_returns_at_once_with_nothing)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(4);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 0), 0);
    ck_assert_uint_eq(cmio_events_len(ev), 0);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_poll_timeout_is_a_lower_bound)
{
    static const int timeouts[] = {1, 10, 60};
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(4);
    for (size_t k = 0; k < sizeof(timeouts) / sizeof(timeouts[0]); k++) {
        int64_t a = now_ns();
        ck_assert_int_eq(cmio_poll_poll(p, ev, timeouts[k]), 0);
        int64_t ns = now_ns() - a;
        ck_assert_msg(ns >= (int64_t)timeouts[k] * 1000000, "timeout %d ms returned after %lld ns",
                      timeouts[k], (long long)ns);
    }
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

struct interrupter {
    test_signal_target target;
    test_tid tid;
};

static void *interrupt_poll(void *arg)
{
    struct interrupter *in = arg;
    wait_until_blocked_in_poll(in->tid);
    interrupt_thread(in->target);
    return NULL;
}

START_TEST(test_poll_interrupted_by_signal_returns_eintr)
{
    cmio_poll *p = open_poll(_i);
    if (cmio__poll_caps(p) & CMIO__SEL_NO_EINTR) {
        /* No signal interrupts this backend's wait (Windows). */
        cmio_poll_free(p);
        return;
    }
    cmio_events *ev = open_events(4);
    struct interrupter in = {.target = interrupter_install(), .tid = current_tid()};
    test_thread t;
    thread_start(&t, interrupt_poll, &in);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 2 * WAIT_MS), -EINTR);
    ck_assert_uint_eq(cmio_events_len(ev), 0);
    thread_join(&t);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_events_new_rejects_bad_arguments)
{
    cmio_events *ev = NULL;
    ck_assert_int_eq(cmio_events_new(NULL, 4), -EINVAL);
    ck_assert_int_eq(cmio_events_new(&ev, 0), -EINVAL);
    ck_assert_int_eq(cmio_events_new(&ev, (size_t)-1), -EINVAL);
    ck_assert_ptr_null(ev);
    cmio_events_free(NULL);
    cmio_events_clear(NULL);
    ck_assert_uint_eq(cmio_events_len(NULL), 0);
    ck_assert_uint_eq(cmio_events_capacity(NULL), 0);
    ck_assert_ptr_null(cmio_events_get(NULL, 0));
    ck_assert_ptr_null(cmio_events_begin(NULL));
    ck_assert_ptr_null(cmio_events_end(NULL));
    /* The per-event accessors take an event (documented): the NULL-safe
     * door is cmio_events_get, which gives NULL out of range. */
}
END_TEST

START_TEST(test_events_capacity_is_exact_and_clear_empties)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(3);
    ck_assert_uint_eq(cmio_events_capacity(ev), 3);
    ck_assert_uint_eq(cmio_events_len(ev), 0);
    ck_assert_ptr_null(cmio_events_get(ev, 0));

    cmio_fd sv[2];
    stream_pair(sv);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), sv[0], 7, CMIO_WRITABLE), 0);
    ck_assert_int_eq(cmio_poll_poll(p, ev, WAIT_MS), 1);
    ck_assert_uint_eq(cmio_events_len(ev), 1);
    const cmio_event *e = cmio_events_get(ev, 0);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(cmio_event_token(e), 7);
    ck_assert(cmio_event_is_writable(e));
    ck_assert_ptr_null(cmio_events_get(ev, 1));
    cmio_events_clear(ev);
    ck_assert_uint_eq(cmio_events_len(ev), 0);
    ck_assert_ptr_null(cmio_events_get(ev, 0));
    ck_assert_uint_eq(cmio_events_capacity(ev), 3);
    sock_close(sv[0]);
    sock_close(sv[1]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* begin/end walk exactly the events cmio_events_get() gives, in order;
 * an empty or cleared buffer is an empty range. */
START_TEST(test_events_begin_end_walk_what_get_gives)
{
    enum { N = 5 };
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    ck_assert_ptr_eq(cmio_events_begin(ev), cmio_events_end(ev));
    cmio_fd pairs[N][2];
    for (int k = 0; k < N; k++) {
        stream_pair(pairs[k]);
        ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), pairs[k][0], (cmio_token)(10 + k), CMIO_WRITABLE), 0);
    }
    unsigned seen = 0;
    int64_t deadline = now_ms() + WAIT_MS;
    for (int polls = 0; seen != (1u << N) - 1 && polls < 100 && now_ms() < deadline; polls++) {
        int n = cmio_poll_poll(p, ev, WAIT_MS);
        ck_assert_int_ge(n, 0);
        ck_assert_int_eq(cmio_events_end(ev) - cmio_events_begin(ev), n);
        size_t i = 0;
        for (const cmio_event *e = cmio_events_begin(ev), *end = cmio_events_end(ev); e != end; e++, i++) {
            ck_assert_ptr_eq(e, cmio_events_get(ev, i));
            cmio_token t = cmio_event_token(e);
            ck_assert(t >= 10 && t < 10 + N);
            ck_assert(cmio_event_is_writable(e));
            seen |= 1u << (t - 10);
        }
        ck_assert_uint_eq(i, cmio_events_len(ev));
    }
    ck_assert_uint_eq(seen, (1u << N) - 1);
    cmio_events_clear(ev);
    ck_assert_ptr_eq(cmio_events_begin(ev), cmio_events_end(ev));
    for (int k = 0; k < N; k++) {
        sock_close(pairs[k][0]);
        sock_close(pairs[k][1]);
    }
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_readiness_beyond_capacity_is_delivered_later)
{
    enum { N = 10, CAP = 4 };
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(CAP);
    cmio_fd pairs[N][2];
    int seen[N] = {0};
    for (int k = 0; k < N; k++) {
        stream_pair(pairs[k]);
        put(pairs[k][1], 1);
        ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), pairs[k][0], (cmio_token)k, CMIO_READABLE), 0);
    }
    int total = 0, polls = 0;
    int64_t deadline = now_ms() + WAIT_MS;
    while (total < N && polls < 100 && now_ms() < deadline) {
        int n = cmio_poll_poll(p, ev, WAIT_MS);
        polls++;
        ck_assert_int_ge(n, 0);
        ck_assert_int_le(n, CAP);
        ck_assert_uint_eq(cmio_events_len(ev), (size_t)n);
        for (int i = 0; i < n; i++) {
            const cmio_event *e = cmio_events_get(ev, (size_t)i);
            ck_assert_uint_lt(cmio_event_token(e), N);
            ck_assert(cmio_event_is_readable(e));
            seen[cmio_event_token(e)]++;
            total++;
        }
    }
    ck_assert_int_eq(total, N);
    ck_assert_int_ge(polls, (N + CAP - 1) / CAP);
    for (int k = 0; k < N; k++)
        ck_assert_int_eq(seen[k], 1);
    ck_assert_int_eq(cmio_poll_poll(p, ev, QUIET_MS), 0);
    for (int k = 0; k < N; k++) {
        sock_close(pairs[k][0]);
        sock_close(pairs[k][1]);
    }
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_ready_descriptors_take_turns_when_capacity_is_short)
{
    /* One event per poll, two descriptors ready again and again: the one
     * reported first must not take every turn. */
    cmio_poll *p = open_poll(_i);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_events *ev = open_events(1);
    cmio_fd pairs[2][2];
    int seen[2] = {0};
    for (int k = 0; k < 2; k++) {
        stream_pair(pairs[k]);
        put(pairs[k][1], 1);
        ck_assert_int_eq(cmio_registry_register(r, pairs[k][0], (cmio_token)k, CMIO_READABLE), 0);
    }
    for (int round = 0; round < 6; round++) {
        ck_assert_int_eq(cmio_poll_poll(p, ev, WAIT_MS), 1);
        cmio_token t = cmio_event_token(cmio_events_get(ev, 0));
        ck_assert_uint_lt(t, 2);
        seen[t]++;
        /* Drain it (re-arming it where edges are emulated) and make it
         * ready again at once. */
        ck_assert_uint_eq(drain(pairs[t][0]), 1);
        put(pairs[t][1], 1);
    }
    ck_assert_int_eq(seen[0], 3);
    ck_assert_int_eq(seen[1], 3);
    for (int k = 0; k < 2; k++) {
        sock_close(pairs[k][0]);
        sock_close(pairs[k][1]);
    }
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_strerror_describes_negative_and_positive_errno)
{
    ck_assert_str_eq(cmio_strerror(-EINVAL), strerror(EINVAL));
    ck_assert_str_eq(cmio_strerror(EAGAIN), strerror(EAGAIN));
    ck_assert_ptr_nonnull(cmio_strerror(-123456));
    ck_assert_ptr_nonnull(cmio_strerror(0));
    /* Defect 6 of issue 9: INT_MIN has no positive counterpart (negating
     * it is undefined; the sanitizer build catches it). */
    ck_assert_str_eq(cmio_strerror(INT_MIN), "Unknown error");
    ck_assert_str_eq(cmio_strerror(INT_MAX), "Unknown error");
}
END_TEST

static Suite *poll_suite(void)
{
    Suite *s = suite_create("poll");
    TCase *tc = tcase_create("poll");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_backends_lists_each_built_in_backend);
    tcase_add_test(tc, test_poll_new_uses_default_backend);
    add_backend_test(tc, test_poll_new_honours_cmio_backend_env);
    tcase_add_test(tc, test_poll_new_rejects_bad_arguments);
    add_backend_test(tc, test_poll_rejects_null_arguments);
    add_backend_test(tc, test_poll_zero_timeout_returns_at_once_with_nothing);
    add_backend_test(tc, test_poll_timeout_is_a_lower_bound);
    add_backend_test(tc, test_poll_interrupted_by_signal_returns_eintr);
    tcase_add_test(tc, test_events_new_rejects_bad_arguments);
    add_backend_test(tc, test_events_capacity_is_exact_and_clear_empties);
    add_backend_test(tc, test_events_begin_end_walk_what_get_gives);
    add_backend_test(tc, test_readiness_beyond_capacity_is_delivered_later);
    add_backend_test(tc, test_ready_descriptors_take_turns_when_capacity_is_short);
    tcase_add_test(tc, test_strerror_describes_negative_and_positive_errno);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(poll_suite()); }
