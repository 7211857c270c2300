/*
 * cmio_loop (mio 0.3's EventLoop): callbacks, run_once, shutdown from a
 * callback, from another thread, before a run; run after a shutdown; the
 * internal wake never reaching the callback; -EINTR; argument errors. Every
 * test runs on every backend (CMIO_BACKEND picks the loop's poll).
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include <errno.h>
#if !defined(_WIN32)
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#endif
#include <stdlib.h>
#include <string.h>

/* What the callback saw. */
struct seen {
    int calls;
    int per_token[8];
    uint32_t flags[8];
    int bad_tokens;         /* tokens the test never registered */
    int shutdown_at;        /* call shutdown from the callback at this call (1-based), 0: never */
    int shutdown_result;
    int drain;              /* read the descriptor of the token through fds[] */
    cmio_fd fds[8];
};

static void record(cmio_loop *loop, const cmio_event *e, void *ctx)
{
    struct seen *s = ctx;
    cmio_token t = cmio_event_token(e);
    s->calls++;
    if (t >= 8 || s->fds[t] == CMIO_FD_INVALID) {
        s->bad_tokens++;
    } else {
        s->per_token[t]++;
        s->flags[t] |= cmio_event_flags(e);
        if (s->drain)
            drain(s->fds[t]);
    }
    if (s->shutdown_at == s->calls)
        s->shutdown_result = cmio_loop_shutdown(loop);
}

static void seen_init(struct seen *s)
{
    memset(s, 0, sizeof(*s));
    for (int k = 0; k < 8; k++)
        s->fds[k] = CMIO_FD_INVALID;
    s->shutdown_result = 1;
}

/* A loop on backend _i (through CMIO_BACKEND, as a user would pick it). */
static cmio_loop *open_loop(int backend_index, size_t capacity, struct seen *s)
{
    const char *name = cmio_backends()[backend_index];
    env_set("CMIO_BACKEND", name);
    cmio_loop *loop = NULL;
    ck_assert_int_eq(cmio_loop_new(&loop, capacity, record, s), 0);
    ck_assert_ptr_nonnull(loop);
    ck_assert_ptr_nonnull(cmio_loop_registry(loop));
    return loop;
}

/* n socketpairs, their first ends registered readable under tokens 1..n. */
static void register_pairs(cmio_loop *loop, struct seen *s, cmio_fd pairs[][2], int n)
{
    for (int k = 0; k < n; k++) {
        stream_pair(pairs[k]);
        s->fds[k + 1] = pairs[k][0];
        ck_assert_int_eq(cmio_registry_register(cmio_loop_registry(loop), pairs[k][0], (cmio_token)(k + 1),
                                                CMIO_READABLE),
                         0);
    }
}

static void close_pairs(cmio_loop *loop, cmio_fd pairs[][2], int n)
{
    for (int k = 0; k < n; k++) {
        ck_assert_int_eq(cmio_registry_deregister(cmio_loop_registry(loop), pairs[k][0]), 0);
        sock_close(pairs[k][0]);
        sock_close(pairs[k][1]);
    }
}

START_TEST(test_callback_gets_every_event_with_its_token)
{
    enum { N = 5 };
    struct seen s;
    seen_init(&s);
    s.drain = 1;
    cmio_loop *loop = open_loop(_i, 16, &s);
    cmio_fd pairs[N][2];
    register_pairs(loop, &s, pairs, N);
    for (int k = 0; k < N; k++)
        put(pairs[k][1], 1 + (size_t)k);
    int handed = 0;
    int64_t deadline = now_ms() + WAIT_MS;
    for (int k = 1; k <= N; k++) {
        while (s.per_token[k] == 0 && now_ms() < deadline) {
            int n = cmio_loop_run_once(loop, 100);
            ck_assert_int_ge(n, 0);
            handed += n;
        }
        ck_assert_msg(s.per_token[k] >= 1, "no event for token %d", k);
        ck_assert(s.flags[k] & CMIO_EVENT_READABLE);
    }
    /* run_once's count is exactly the number of callbacks. */
    ck_assert_int_eq(handed, s.calls);
    ck_assert_int_eq(s.bad_tokens, 0);
    /* Drained by the callback: edge-triggered, nothing more is owed. */
    ck_assert_int_eq(cmio_loop_run_once(loop, QUIET_MS), 0);
    ck_assert_int_eq(handed, s.calls);
    close_pairs(loop, pairs, N);
    cmio_loop_free(loop);
}
END_TEST

START_TEST(test_capacity_bounds_callbacks_per_iteration)
{
    enum { N = 4 };
    struct seen s;
    seen_init(&s);
    s.drain = 1;
    cmio_loop *loop = open_loop(_i, 1, &s);
    cmio_fd pairs[N][2];
    register_pairs(loop, &s, pairs, N);
    for (int k = 0; k < N; k++)
        put(pairs[k][1], 1);
    int64_t deadline = now_ms() + WAIT_MS;
    int total = 0;
    while (total < N && now_ms() < deadline) {
        int n = cmio_loop_run_once(loop, 100);
        ck_assert_int_ge(n, 0);
        ck_assert_int_le(n, 1); /* the events buffer holds one */
        total += n;
    }
    ck_assert_int_eq(total, N);
    for (int k = 1; k <= N; k++)
        ck_assert_int_eq(s.per_token[k], 1);
    close_pairs(loop, pairs, N);
    cmio_loop_free(loop);
}
END_TEST

START_TEST(test_run_once_timeout_zero)
{
    struct seen s;
    seen_init(&s);
    cmio_loop *loop = open_loop(_i, 8, &s);
    cmio_fd pairs[1][2];
    register_pairs(loop, &s, pairs, 1);
    int64_t t0 = now_ms();
    ck_assert_int_eq(cmio_loop_run_once(loop, 0), 0);
    ck_assert_int_lt(now_ms() - t0, WAIT_MS / 2);
    ck_assert_int_eq(s.calls, 0);
    put(pairs[0][1], 3);
    /* Timeout 0 looks once: the ready socketpair is reported at once. */
    ck_assert_int_eq(cmio_loop_run_once(loop, 0), 1);
    ck_assert_int_eq(s.per_token[1], 1);
    close_pairs(loop, pairs, 1);
    cmio_loop_free(loop);
}
END_TEST

START_TEST(test_run_once_with_timeout)
{
    struct seen s;
    seen_init(&s);
    cmio_loop *loop = open_loop(_i, 8, &s);
    cmio_fd pairs[1][2];
    register_pairs(loop, &s, pairs, 1);
    /* Nothing ready: it waits the whole timeout, never less. */
    int64_t t0 = now_ms();
    ck_assert_int_eq(cmio_loop_run_once(loop, 120), 0);
    ck_assert_int_ge(now_ms() - t0, 120);
    ck_assert_int_eq(s.calls, 0);
    /* Something ready: it returns with it, well before the timeout. */
    put(pairs[0][1], 1);
    t0 = now_ms();
    ck_assert_int_eq(cmio_loop_run_once(loop, 10 * WAIT_MS), 1);
    ck_assert_int_lt(now_ms() - t0, 5 * WAIT_MS);
    ck_assert_int_eq(s.per_token[1], 1);
    close_pairs(loop, pairs, 1);
    cmio_loop_free(loop);
}
END_TEST

/* Shutdown from the first callback of an iteration with two events: the
 * rest of the iteration is still handed over, then run returns. */
START_TEST(test_shutdown_from_callback)
{
    struct seen s;
    seen_init(&s);
    s.shutdown_at = 1;
    cmio_loop *loop = open_loop(_i, 8, &s);
    cmio_fd pairs[2][2];
    register_pairs(loop, &s, pairs, 2);
    put(pairs[0][1], 1);
    put(pairs[1][1], 1);
    ck_assert_int_eq(cmio_loop_run(loop), 0);
    ck_assert_int_eq(s.shutdown_result, 0);
    ck_assert_int_eq(s.calls, 2);
    ck_assert_int_eq(s.per_token[1], 1);
    ck_assert_int_eq(s.per_token[2], 1);
    close_pairs(loop, pairs, 2);
    cmio_loop_free(loop);
}
END_TEST

struct stopper {
    cmio_loop *loop;
    test_tid tid;
    int result;
    int signal_first; /* interrupt the poll with SIGUSR1 before the shutdown */
    test_signal_target target; /* the poll thread, for signal_first */
};

static void *shutdown_when_blocked(void *arg)
{
    struct stopper *st = arg;
    wait_until_blocked_in_poll(st->tid);
    if (st->signal_first) {
        interrupt_thread(st->target);
        if (st->signal_first == 1) {
            st->result = 0; /* run_once must return -EINTR by itself */
            return NULL;
        }
        /* run retries: it blocks again. */
        wait_until_blocked_in_poll(st->tid);
    }
    st->result = cmio_loop_shutdown(st->loop);
    return NULL;
}

START_TEST(test_shutdown_from_other_thread_while_blocked)
{
    struct seen s;
    seen_init(&s);
    cmio_loop *loop = open_loop(_i, 8, &s);
    cmio_fd pairs[1][2];
    register_pairs(loop, &s, pairs, 1);
    struct stopper st = {.loop = loop, .tid = current_tid(), .result = 1};
    test_thread t;
    thread_start(&t, shutdown_when_blocked, &st);
    int64_t t0 = now_ms();
    ck_assert_int_eq(cmio_loop_run(loop), 0);
    ck_assert_int_lt(now_ms() - t0, 2 * WAIT_MS);
    thread_join(&t);
    ck_assert_int_eq(st.result, 0);
    /* The internal wake was never handed to the callback. */
    ck_assert_int_eq(s.calls, 0);
    ck_assert_int_eq(cmio_loop_run_once(loop, QUIET_MS), 0);
    ck_assert_int_eq(s.calls, 0);
    close_pairs(loop, pairs, 1);
    cmio_loop_free(loop);
}
END_TEST

/* A shutdown from another thread also wakes a run_once blocked without a
 * timeout: it returns 0, and the wake reaches no callback. */
START_TEST(test_internal_wake_never_reaches_callback)
{
    struct seen s;
    seen_init(&s);
    cmio_loop *loop = open_loop(_i, 8, &s);
    cmio_fd pairs[1][2];
    register_pairs(loop, &s, pairs, 1);
    for (int round = 0; round < 3; round++) {
        struct stopper st = {.loop = loop, .tid = current_tid(), .result = 1};
        test_thread t;
        thread_start(&t, shutdown_when_blocked, &st);
        ck_assert_int_eq(cmio_loop_run_once(loop, -1), 0);
        thread_join(&t);
        ck_assert_int_eq(st.result, 0);
    }
    ck_assert_int_eq(s.calls, 0);
    /* User events still come, and only they do. */
    put(pairs[0][1], 1);
    ck_assert_int_eq(cmio_loop_run_once(loop, WAIT_MS), 1);
    ck_assert_int_eq(s.calls, 1);
    ck_assert_int_eq(s.bad_tokens, 0);
    /* The three shutdowns were requests: the next run consumes them at once. */
    ck_assert_int_eq(cmio_loop_run(loop), 0);
    ck_assert_int_eq(s.calls, 1);
    close_pairs(loop, pairs, 1);
    cmio_loop_free(loop);
}
END_TEST

/* A shutdown before run: run returns 0 at once, before any poll (the ready
 * descriptor is not handed over). */
START_TEST(test_shutdown_before_run)
{
    struct seen s;
    seen_init(&s);
    cmio_loop *loop = open_loop(_i, 8, &s);
    cmio_fd pairs[1][2];
    register_pairs(loop, &s, pairs, 1);
    put(pairs[0][1], 1);
    ck_assert_int_eq(cmio_loop_shutdown(loop), 0);
    ck_assert_int_eq(cmio_loop_shutdown(loop), 0); /* coalesce */
    ck_assert_int_eq(cmio_loop_run(loop), 0);
    ck_assert_int_eq(s.calls, 0);
    /* The event is still there for the next iteration. */
    ck_assert_int_eq(cmio_loop_run_once(loop, WAIT_MS), 1);
    ck_assert_int_eq(s.per_token[1], 1);
    close_pairs(loop, pairs, 1);
    cmio_loop_free(loop);
}
END_TEST

/* The run that returned consumed the shutdown: run again runs until the
 * next one. */
START_TEST(test_run_after_shutdown_runs_again)
{
    struct seen s;
    seen_init(&s);
    s.drain = 1;
    cmio_loop *loop = open_loop(_i, 8, &s);
    cmio_fd pairs[1][2];
    register_pairs(loop, &s, pairs, 1);
    ck_assert_int_eq(cmio_loop_shutdown(loop), 0);
    ck_assert_int_eq(cmio_loop_run(loop), 0);
    put(pairs[0][1], 1);
    s.shutdown_at = 1;
    ck_assert_int_eq(cmio_loop_run(loop), 0);
    ck_assert_int_eq(s.calls, 1);
    ck_assert_int_eq(s.shutdown_result, 0);
    /* And a third run, shut down from another thread. */
    struct stopper st = {.loop = loop, .tid = current_tid(), .result = 1};
    test_thread t;
    thread_start(&t, shutdown_when_blocked, &st);
    ck_assert_int_eq(cmio_loop_run(loop), 0);
    thread_join(&t);
    ck_assert_int_eq(st.result, 0);
    ck_assert_int_eq(s.calls, 1);
    close_pairs(loop, pairs, 1);
    cmio_loop_free(loop);
}
END_TEST

/* Whether a signal interrupts backend _i's wait (not on Windows). */
static bool interruptible(int backend_index)
{
    cmio_poll *p = open_poll(backend_index);
    bool yes = !(cmio__poll_caps(p) & CMIO__SEL_NO_EINTR);
    cmio_poll_free(p);
    return yes;
}

START_TEST(test_run_retries_eintr)
{
    if (!interruptible(_i))
        return; /* no -EINTR to retry (CMIO__SEL_NO_EINTR) */
    struct seen s;
    seen_init(&s);
    cmio_loop *loop = open_loop(_i, 8, &s);
    struct stopper st = {
        .loop = loop, .tid = current_tid(), .result = 1, .signal_first = 2, .target = interrupter_install()};
    test_thread t;
    thread_start(&t, shutdown_when_blocked, &st);
    ck_assert_int_eq(cmio_loop_run(loop), 0);
    thread_join(&t);
    ck_assert_int_eq(st.result, 0);
    ck_assert_int_eq(s.calls, 0);
    cmio_loop_free(loop);
}
END_TEST

START_TEST(test_run_once_passes_eintr_on)
{
    if (!interruptible(_i))
        return; /* no -EINTR to pass on (CMIO__SEL_NO_EINTR) */
    struct seen s;
    seen_init(&s);
    cmio_loop *loop = open_loop(_i, 8, &s);
    struct stopper st = {
        .loop = loop, .tid = current_tid(), .result = 1, .signal_first = 1, .target = interrupter_install()};
    test_thread t;
    thread_start(&t, shutdown_when_blocked, &st);
    /* Nothing else wakes it: a run_once that retried would never return. */
    ck_assert_int_eq(cmio_loop_run_once(loop, -1), -EINTR);
    thread_join(&t);
    ck_assert_int_eq(s.calls, 0);
    cmio_loop_free(loop);
}
END_TEST

START_TEST(test_argument_errors)
{
    struct seen s;
    seen_init(&s);
    cmio_loop *loop = (cmio_loop *)&s;
    ck_assert_int_eq(cmio_loop_new(NULL, 8, record, &s), -EINVAL);
    ck_assert_int_eq(cmio_loop_new(&loop, 0, record, &s), -EINVAL);
    ck_assert_ptr_null(loop);
    loop = (cmio_loop *)&s;
    ck_assert_int_eq(cmio_loop_new(&loop, 8, NULL, &s), -EINVAL);
    ck_assert_ptr_null(loop);
    ck_assert_int_eq(cmio_loop_run(NULL), -EINVAL);
    ck_assert_int_eq(cmio_loop_run_once(NULL, 0), -EINVAL);
    ck_assert_int_eq(cmio_loop_shutdown(NULL), -EINVAL);
    ck_assert_ptr_null(cmio_loop_registry(NULL));
    cmio_loop_free(NULL);
    /* ctx may be NULL, and a backend that is not built in is refused. */
    env_set("CMIO_BACKEND", "no-such-backend");
    ck_assert_int_eq(cmio_loop_new(&loop, 8, record, NULL), -ENOTSUP);
    ck_assert_ptr_null(loop);
    loop = open_loop(_i, 8, NULL);
    cmio_loop_free(loop);
}
END_TEST

/* The loop's poll, waker and buffer are closed by free: no descriptor is
 * left open. */
START_TEST(test_free_closes_everything)
{
    fd_set before, after;
    bool listed = fds_open(&before);
    long count = handles_open();
    struct seen s;
    seen_init(&s);
    cmio_loop *loop = open_loop(_i, 8, &s);
    ck_assert_int_gt(handles_open(), count);
    if (listed)
        ck_assert_int_ge(assert_new_fds_cloexec(&before), 1);
    cmio_loop_free(loop);
    ck_assert_int_eq(handles_open(), count);
    if (!listed)
        return; /* the count was all (Windows) */
    fds_open(&after);
    for (int fd = 0; fd < FD_SETSIZE; fd++)
        ck_assert_msg(FD_ISSET(fd, &after) == FD_ISSET(fd, &before), "fd %d left behind", fd);
}
END_TEST

static Suite *loop_suite(void)
{
    Suite *s = suite_create("loop");
    TCase *tc = tcase_create("loop");
    tcase_set_timeout(tc, 60);
    add_backend_test(tc, test_callback_gets_every_event_with_its_token);
    add_backend_test(tc, test_capacity_bounds_callbacks_per_iteration);
    add_backend_test(tc, test_run_once_timeout_zero);
    add_backend_test(tc, test_run_once_with_timeout);
    add_backend_test(tc, test_shutdown_from_callback);
    add_backend_test(tc, test_shutdown_from_other_thread_while_blocked);
    add_backend_test(tc, test_internal_wake_never_reaches_callback);
    add_backend_test(tc, test_shutdown_before_run);
    add_backend_test(tc, test_run_after_shutdown_runs_again);
    add_backend_test(tc, test_run_retries_eintr);
    add_backend_test(tc, test_run_once_passes_eintr_on);
    add_backend_test(tc, test_argument_errors);
    add_backend_test(tc, test_free_closes_everything);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(loop_suite()); }
