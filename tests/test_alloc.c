/*
 * Zero allocations after set-up: malloc, calloc and realloc are interposed
 * and counted while registering, reregistering, deregistering, polling and
 * waking, and while signals are polled for and read (cmio_signals, on each
 * mechanism), and while frames and lines are read, taken, pushed and
 * flushed.
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include "../src/internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
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

/* Framing: read, next, push and flush allocate nothing after *_new, across
 * partial reads and writes and polls that deliver them. */
START_TEST(test_framing_allocates_nothing_after_new)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    int sv[2];
    stream_pair(sv);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), sv[1], 1, CMIO_READABLE), 0);
    cmio_frame_reader *r;
    cmio_frame_writer *w;
    cmio_line_reader *l;
    ck_assert_int_eq(cmio_frame_reader_new(&r, 256), 0);
    ck_assert_int_eq(cmio_frame_writer_new(&w, 1 << 20), 0);
    ck_assert_int_eq(cmio_line_reader_new(&l, 64), 0);
    static char body[256];
    memset(body, 'x', sizeof(body));

    start_counting();
    long bad = 0, frames = 0;
    const void *f;
    uint32_t len;
    for (int round = 0; round < 20; round++) {
        for (uint32_t k = 0; k < 500; k++)
            bad |= cmio_frame_writer_push(w, body, k % 257) != 0;
        while (!cmio_frame_writer_is_empty(w)) {
            ssize_t n = cmio_frame_writer_flush(w, sv[0]);
            bad |= n < 0 && n != -EAGAIN;
            (void)cmio_poll_poll(p, ev, 0);
            for (;;) {
                while (cmio_frame_reader_next(r, &f, &len) == 0)
                    frames++;
                if (cmio_frame_reader_read(r, sv[1]) <= 0)
                    break;
            }
        }
    }
    for (int round = 0; round < 100; round++) {
        bad |= send(sv[0], "a line\nand a", 12, MSG_NOSIGNAL) != 12;
        bad |= send(sv[0], "nother\n", 7, MSG_NOSIGNAL) != 7;
        const char *line;
        size_t n;
        while (cmio_line_reader_read(l, sv[1]) > 0)
            while (cmio_line_reader_next(l, &line, &n) == 0)
                frames++;
    }
    long allocs = stop_counting();
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(frames, 20 * 500 + 200);
    ck_assert_int_eq(allocs, 0);
    cmio_frame_reader_free(r);
    cmio_frame_writer_free(w);
    cmio_line_reader_free(l);
    close(sv[0]);
    close(sv[1]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

static Suite *alloc_suite(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("alloc");
    tcase_add_test(tc, test_interposition_counts);
    add_backend_test(tc, test_steady_state_allocates_nothing);
    add_backend_test(tc, test_timers_allocate_nothing_after_new);
    add_backend_test(tc, test_framing_allocates_nothing_after_new);
    tcase_add_loop_test(tc, test_signals_allocate_nothing, 0, 2 * n_backends());
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(alloc_suite()); }
