/*
 * Zero allocations after set-up: malloc, calloc and realloc are interposed
 * and counted while registering, reregistering, deregistering, polling and
 * waking, and while signals are polled for and read (cmio_signals, on each
 * mechanism).
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include "../src/internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* glibc's own allocator entry points, to forward to. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);

static atomic_int counting;
static atomic_long allocations;

void *malloc(size_t size)
{
    if (atomic_load_explicit(&counting, memory_order_relaxed))
        atomic_fetch_add(&allocations, 1);
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    if (atomic_load_explicit(&counting, memory_order_relaxed))
        atomic_fetch_add(&allocations, 1);
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    if (atomic_load_explicit(&counting, memory_order_relaxed))
        atomic_fetch_add(&allocations, 1);
    return __libc_realloc(p, size);
}

static void start_counting(void)
{
    atomic_store(&allocations, 0);
    atomic_store(&counting, 1);
}

static long stop_counting(void)
{
    atomic_store(&counting, 0);
    return atomic_load(&allocations);
}

START_TEST(test_interposition_counts)
{
    /* volatile: the compiler may not elide an allocation it can see. */
    void *volatile p, *volatile q;
    start_counting();
    p = malloc(16);
    q = calloc(2, 8);
    p = realloc(p, 64);
    long n = stop_counting();
    free(p);
    free(q);
    ck_assert_int_eq(n, 3);
}
END_TEST

START_TEST(test_steady_state_allocates_nothing)
{
    enum { N = 32 };
    cmio_poll *p = open_poll(_i);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_events *ev = open_events(8);
    cmio_waker *w = NULL;
    ck_assert_int_eq(cmio_waker_new(r, 1000, &w), 0);
    int pairs[N][2];
    for (int k = 0; k < N; k++)
        stream_pair(pairs[k]);
    char byte = 'x', sink[8];

    start_counting();
    long results = 0;
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < N; k++)
            results |= cmio_registry_register(r, pairs[k][0], (cmio_token)k, CMIO_READABLE);
        for (int k = 0; k < N; k++)
            results |= cmio_registry_reregister(r, pairs[k][0], (cmio_token)k, CMIO_READABLE | CMIO_WRITABLE);
        for (int k = 0; k < N; k++)
            results |= write(pairs[k][1], &byte, 1) != 1;
        results |= cmio_waker_wake(w);
        for (int k = 0; k < 8; k++)
            results |= cmio_poll_poll(p, ev, 0) < 0;
        for (int k = 0; k < N; k++)
            results |= read(pairs[k][0], sink, sizeof(sink)) != 1;
        for (int k = 0; k < N; k++)
            results |= cmio_registry_deregister(r, pairs[k][0]);
    }
    long n = stop_counting();
    ck_assert_int_eq(results, 0);
    ck_assert_int_eq(n, 0);

    for (int k = 0; k < N; k++) {
        close(pairs[k][0]);
        close(pairs[k][1]);
    }
    cmio_waker_free(w);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* Signals: after cmio_signals_new, a signal's trip (kill, poll, read to
 * -EAGAIN) allocates nothing, on every backend and mechanism (_i % 2: the
 * helper thread, which never allocates either). */
START_TEST(test_signals_allocate_nothing)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
    cmio__signals_use_fallback(_i % 2 == 1);
    cmio_poll *p = open_poll(_i / 2);
    cmio_events *ev = open_events(8);
    cmio_signals *s = NULL;
    ck_assert_int_eq(cmio_signals_new(cmio_poll_registry(p), 7, &set, &s), 0);

    start_counting();
    long results = 0;
    int got = 0;
    for (int round = 0; round < 20; round++) {
        results |= kill(getpid(), SIGUSR1);
        bool seen = false;
        for (int k = 0; k < 100 && !seen; k++) {
            results |= cmio_poll_poll(p, ev, WAIT_MS) < 0;
            for (size_t e = 0; e < cmio_events_len(ev); e++)
                seen |= cmio_event_token(cmio_events_get(ev, e)) == 7;
        }
        int sig;
        while (cmio_signals_read(s, &sig) == 0)
            got += sig == SIGUSR1;
    }
    long n = stop_counting();
    ck_assert_int_eq(results, 0);
    ck_assert_int_eq(got, 20);
    ck_assert_int_eq(n, 0);
    cmio_signals_free(s);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* Timers: set, cancel, read and the polls that deliver them allocate
 * nothing after cmio_timer_new. */
START_TEST(test_timers_allocate_nothing_after_new)
{
    enum { N = 40 };
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_timer *t[N];
    for (int k = 0; k < N; k++)
        ck_assert_int_eq(cmio_timer_new(cmio_poll_registry(p), (cmio_token)k, &t[k]), 0);

    start_counting();
    long results = 0;
    uint64_t n;
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < N; k++)
            results |= cmio_timer_set(t[k], (uint64_t)(k % 3), k % 2 ? 1 : 0);
        for (int k = 0; k < N; k += 4)
            results |= cmio_timer_cancel(t[k]);
        for (int k = 0; k < 20; k++)
            results |= cmio_poll_poll(p, ev, 1) < 0;
        for (int k = 0; k < N; k++)
            (void)cmio_timer_read(t[k], &n);
    }
    long allocs = stop_counting();
    ck_assert_int_eq(results, 0);
    ck_assert_int_eq(allocs, 0);
    for (int k = 0; k < N; k++)
        cmio_timer_free(t[k]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* The event loop (issue 12): iterations of run_once and a run ended by a
 * shutdown from its callback allocate nothing after cmio_loop_new. */
struct loop_echo {
    int fd, peer, calls, stop_at;
};

static void loop_ready(cmio_loop *loop, const cmio_event *e, void *ctx)
{
    struct loop_echo *le = ctx;
    (void)e;
    char buf[64];
    cmio_unix_stream s = {.fd = le->fd}; /* through cmio: re-arms on poll(2) */
    while (cmio_unix_stream_read(&s, buf, sizeof(buf)) > 0)
        ;
    if (++le->calls == le->stop_at)
        cmio_loop_shutdown(loop);
    else if (le->stop_at)
        (void)!write(le->peer, "x", 1);
}

START_TEST(test_loop_allocates_nothing_per_iteration)
{
    ck_assert_int_eq(setenv("CMIO_BACKEND", cmio_backends()[_i], 1), 0);
    struct loop_echo le = {.calls = 0};
    int sv[2];
    stream_pair(sv);
    le.fd = sv[0];
    le.peer = sv[1];
    cmio_loop *loop = NULL;
    ck_assert_int_eq(cmio_loop_new(&loop, 8, loop_ready, &le), 0);
    ck_assert_int_eq(cmio_registry_register(cmio_loop_registry(loop), sv[0], 1, CMIO_READABLE), 0);

    start_counting();
    long results = 0;
    for (int k = 0; k < 100; k++) {
        results |= write(sv[1], "x", 1) != 1;
        results |= cmio_loop_run_once(loop, WAIT_MS) != 1;
        results |= cmio_loop_run_once(loop, 0) != 0;
    }
    /* run: each callback writes the next byte, the 50th shuts down. */
    le.stop_at = le.calls + 50;
    results |= write(sv[1], "x", 1) != 1;
    results |= cmio_loop_run(loop) != 0;
    results |= cmio_loop_shutdown(loop) != 0;
    results |= cmio_loop_run(loop) != 0;
    long allocs = stop_counting();
    ck_assert_int_eq(results, 0);
    ck_assert_int_eq(le.calls, 150);
    ck_assert_int_eq(allocs, 0);
    cmio_registry_deregister(cmio_loop_registry(loop), sv[0]);
    cmio_loop_free(loop);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

static Suite *alloc_suite(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("alloc");
    tcase_add_test(tc, test_interposition_counts);
    add_backend_test(tc, test_steady_state_allocates_nothing);
    add_backend_test(tc, test_timers_allocate_nothing_after_new);
    tcase_add_loop_test(tc, test_signals_allocate_nothing, 0, 2 * n_backends());
    add_backend_test(tc, test_loop_allocates_nothing_per_iteration);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(alloc_suite()); }
