/*
 * Zero allocations after set-up: malloc, calloc and realloc are interposed
 * and counted while registering, reregistering, deregistering, polling and
 * waking.
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

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

/* The registration modes (CMIO_LEVEL, CMIO_ONESHOT) allocate nothing
 * either: registering and reregistering across modes, polls that report
 * level and oneshot registrations (kqueue's disarming of a oneshot
 * registration's other direction included), and cmio reads whose -EAGAIN
 * goes through the re-arm seam. */
START_TEST(test_modes_allocate_nothing)
{
    enum { N = 16 };
    static const cmio_interest modes[] = {
        CMIO_READABLE | CMIO_LEVEL,
        CMIO_READABLE | CMIO_WRITABLE | CMIO_ONESHOT,
        CMIO_READABLE | CMIO_WRITABLE | CMIO_LEVEL | CMIO_ONESHOT,
        CMIO_READABLE | CMIO_ONESHOT,
        CMIO_READABLE,
    };
    enum { N_MODES = sizeof(modes) / sizeof(modes[0]) };
    cmio_poll *p = open_poll(_i);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_events *ev = open_events(8);
    int pairs[N][2];
    for (int k = 0; k < N; k++)
        stream_pair(pairs[k]);
    char byte = 'x', sink[8];

    start_counting();
    long results = 0;
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < N; k++)
            results |= cmio_registry_register(r, pairs[k][0], (cmio_token)k, modes[k % N_MODES]);
        for (int k = 0; k < N; k++)
            results |= write(pairs[k][1], &byte, 1) != 1;
        for (int k = 0; k < 8; k++)
            results |= cmio_poll_poll(p, ev, 0) < 0;
        for (int k = 0; k < N; k++)
            results |= cmio_registry_reregister(r, pairs[k][0], (cmio_token)k, modes[(k + 1) % N_MODES]);
        for (int k = 0; k < 8; k++)
            results |= cmio_poll_poll(p, ev, 0) < 0;
        for (int k = 0; k < N; k++) {
            cmio_unix_stream s = {.fd = pairs[k][0]};
            results |= cmio_unix_stream_read(&s, sink, sizeof(sink)) != 1;
            results |= cmio_unix_stream_read(&s, sink, sizeof(sink)) != -EAGAIN;
        }
        for (int k = 0; k < 4; k++)
            results |= cmio_poll_poll(p, ev, 0) < 0;
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
    add_backend_test(tc, test_modes_allocate_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(alloc_suite()); }
