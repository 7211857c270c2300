/*
 * Signals as events: delivery once, sets, coalescing, threads, free,
 * re-arming, argument errors and leaks. Every test runs on every backend
 * and on each mechanism built in: the OS's own (signalfd, EVFILT_SIGNAL)
 * and the helper thread, forced with cmio__signals_use_fallback().
 *
 * SIGUSR1 and SIGUSR2 form the set; SIGHUP is blocked too and stays out of
 * it; SIGTERM is left unblocked. main() blocks them before the runner forks
 * any test, and each test blocks them again (CK_FORK=no).
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include "../src/internal.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { TOK = 42 };

/* The loop index: backend (_i / 2) and mechanism (_i % 2: 1 forces the
 * helper thread). */
#define add_signals_test(tc, fn) tcase_add_loop_test((tc), (fn), 0, 2 * n_backends())

static int block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGHUP);
    return pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static sigset_t user_set(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    return set;
}

/* A poll on backend i / 2, signals blocked. */
static cmio_poll *setup(int i)
{
    ck_assert_int_eq(block_signals(), 0);
    cmio__signals_use_fallback(i % 2 == 1);
    return open_poll(i / 2);
}

static cmio_signals *open_signals(cmio_poll *p, int i)
{
    sigset_t set = user_set();
    cmio_signals *s = NULL;
    ck_assert_int_eq(cmio_signals_new(cmio_poll_registry(p), TOK, &set, &s), 0);
    ck_assert_ptr_nonnull(s);
    if (i % 2 == 1)
        ck_assert_int_eq(cmio__signals_mechanism(s), CMIO__SIGNALS_THREAD);
    return s;
}

/* Read until -EAGAIN, counting each signal; returns how many were read. */
static int read_all(cmio_signals *s, int counts[NSIG])
{
    int n = 0, sig = 0, rc;
    for (int k = 0; k < 64 && (rc = cmio_signals_read(s, &sig)) == 0; k++, n++) {
        ck_assert_int_gt(sig, 0);
        ck_assert_int_lt(sig, NSIG);
        counts[sig]++;
    }
    ck_assert_int_eq(rc, -EAGAIN);
    return n;
}

/* Poll and read (bounded by WAIT_MS) until `want` signals were read. */
static void collect(cmio_poll *p, cmio_events *ev, cmio_signals *s, int counts[NSIG], int want)
{
    int got = 0;
    int64_t deadline = now_ms() + WAIT_MS;
    while (got < want && now_ms() < deadline) {
        ck_assert(wait_for(p, ev, TOK, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
        got += read_all(s, counts);
    }
    ck_assert_int_eq(got, want);
}

static bool pending(int sig)
{
    sigset_t set;
    ck_assert_int_eq(sigpending(&set), 0);
    return sigismember(&set, sig) == 1;
}

/* Bounded: until fd is readable (the helper wrote its byte). */
static void wait_readable(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    ck_assert_int_eq(poll(&pfd, 1, WAIT_MS), 1);
}

START_TEST(test_kill_reported_and_read_once)
{
    cmio_poll *p = setup(_i);
    cmio_events *ev = open_events(4);
    cmio_signals *s = open_signals(p, _i);
    int sig = 0;
    ck_assert_int_eq(cmio_signals_read(s, &sig), -EAGAIN);
    ck_assert_int_eq(count_events(p, ev, TOK, QUIET_MS), 0);

    ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
    ck_assert_uint_eq(wait_for(p, ev, TOK, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE,
                      CMIO_EVENT_READABLE);
    ck_assert_int_eq(cmio_signals_read(s, &sig), 0);
    ck_assert_int_eq(sig, SIGUSR1);
    ck_assert_int_eq(cmio_signals_read(s, &sig), -EAGAIN);
    ck_assert(!pending(SIGUSR1));
    /* Returned once, and no event is owed any more. */
    ck_assert_int_eq(count_events(p, ev, TOK, QUIET_MS), 0);
    ck_assert_int_eq(cmio_signals_read(s, &sig), -EAGAIN);
    cmio_signals_free(s);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_pthread_kill_self_read_once)
{
    cmio_poll *p = setup(_i);
    cmio_events *ev = open_events(4);
    cmio_signals *s = open_signals(p, _i);
    ck_assert_int_eq(pthread_kill(pthread_self(), SIGUSR2), 0);
    if (cmio__signals_caps(s) & CMIO__SIGNALS_SEES_THREAD)
        ck_assert(wait_for(p, ev, TOK, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    else /* the helper thread cannot see a signal sent to this one */
        ck_assert_int_eq(count_events(p, ev, TOK, QUIET_MS), 0);
    int sig = 0;
    ck_assert_int_eq(cmio_signals_read(s, &sig), 0);
    ck_assert_int_eq(sig, SIGUSR2);
    ck_assert_int_eq(cmio_signals_read(s, &sig), -EAGAIN);
    ck_assert(!pending(SIGUSR2));
    ck_assert_int_eq(count_events(p, ev, TOK, QUIET_MS), 0);
    cmio_signals_free(s);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_two_signals_each_once)
{
    cmio_poll *p = setup(_i);
    cmio_events *ev = open_events(4);
    cmio_signals *s = open_signals(p, _i);
    ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
    ck_assert_int_eq(kill(getpid(), SIGUSR2), 0);
    int counts[NSIG] = {0};
    collect(p, ev, s, counts, 2);
    ck_assert_int_eq(counts[SIGUSR1], 1);
    ck_assert_int_eq(counts[SIGUSR2], 1);
    int sig;
    ck_assert_int_eq(cmio_signals_read(s, &sig), -EAGAIN);
    ck_assert_int_eq(count_events(p, ev, TOK, QUIET_MS), 0);
    cmio_signals_free(s);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* Standard signals coalesce while pending: what the header promises. */
START_TEST(test_same_signal_twice_coalesces)
{
    cmio_poll *p = setup(_i);
    cmio_events *ev = open_events(4);
    cmio_signals *s = open_signals(p, _i);
    ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
    ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
    ck_assert(wait_for(p, ev, TOK, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    int counts[NSIG] = {0};
    int n = read_all(s, counts);
    if (cmio__signals_caps(s) & CMIO__SIGNALS_PENDING_UNTIL_READ) {
        ck_assert_int_eq(n, 1);
    } else {
        /* The helper may have taken the first before the second came. */
        int64_t deadline = now_ms() + QUIET_MS;
        while (n < 2 && now_ms() < deadline) {
            if (count_events(p, ev, TOK, QUIET_MS) > 0)
                n += read_all(s, counts);
        }
        ck_assert_int_ge(n, 1);
        ck_assert_int_le(n, 2);
    }
    ck_assert_int_eq(counts[SIGUSR1], n);
    ck_assert(!pending(SIGUSR1));
    ck_assert_int_eq(count_events(p, ev, TOK, QUIET_MS), 0);
    cmio_signals_free(s);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_signal_outside_set_not_reported)
{
    cmio_poll *p = setup(_i);
    cmio_events *ev = open_events(4);
    cmio_signals *s = open_signals(p, _i);
    ck_assert_int_eq(kill(getpid(), SIGHUP), 0);
    ck_assert_int_eq(count_events(p, ev, TOK, QUIET_MS), 0);
    int sig = 0;
    ck_assert_int_eq(cmio_signals_read(s, &sig), -EAGAIN);
    ck_assert(pending(SIGHUP));
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    const struct timespec zero = {0, 0};
    ck_assert_int_eq(sigtimedwait(&hup, NULL, &zero), SIGHUP);
    ck_assert(!pending(SIGHUP));
    /* And the set still works. */
    ck_assert_int_eq(kill(getpid(), SIGUSR2), 0);
    ck_assert(wait_for(p, ev, TOK, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    ck_assert_int_eq(cmio_signals_read(s, &sig), 0);
    ck_assert_int_eq(sig, SIGUSR2);
    cmio_signals_free(s);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* A signal pending before the set exists: every mechanism's read takes it;
 * those that can also report it by an event. */
START_TEST(test_signal_pending_before_new)
{
    cmio_poll *p = setup(_i);
    cmio_events *ev = open_events(4);
    ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
    cmio_signals *s = open_signals(p, _i);
    if (cmio__signals_caps(s) & CMIO__SIGNALS_SEES_PENDING)
        ck_assert(wait_for(p, ev, TOK, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    int sig = 0;
    ck_assert_int_eq(cmio_signals_read(s, &sig), 0);
    ck_assert_int_eq(sig, SIGUSR1);
    ck_assert_int_eq(cmio_signals_read(s, &sig), -EAGAIN);
    cmio_signals_free(s);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

struct sender {
    pid_t poll_tid;
    int result;
};

static void *kill_when_blocked(void *arg)
{
    struct sender *sd = arg;
    wait_until_blocked_in_poll(sd->poll_tid);
    sd->result = kill(getpid(), SIGUSR2);
    return NULL;
}

START_TEST(test_signal_wakes_blocked_poll)
{
    cmio_poll *p = setup(_i);
    cmio_events *ev = open_events(4);
    cmio_signals *s = open_signals(p, _i);
    struct sender sd = {.poll_tid = current_tid(), .result = 1};
    pthread_t t; /* inherits the blocked mask */
    ck_assert_int_eq(pthread_create(&t, NULL, kill_when_blocked, &sd), 0);
    int n = cmio_poll_poll(p, ev, 4 * WAIT_MS);
    pthread_join(t, NULL);
    ck_assert_int_eq(sd.result, 0);
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(cmio_event_token(cmio_events_get(ev, 0)), TOK);
    ck_assert(cmio_event_is_readable(cmio_events_get(ev, 0)));
    int sig = 0;
    ck_assert_int_eq(cmio_signals_read(s, &sig), 0);
    ck_assert_int_eq(sig, SIGUSR2);
    ck_assert_int_eq(cmio_signals_read(s, &sig), -EAGAIN);
    cmio_signals_free(s);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_free_then_poll_reports_nothing)
{
    cmio_poll *p = setup(_i);
    cmio_events *ev = open_events(4);
    cmio_signals *s = open_signals(p, _i);
    ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
    /* The readiness is there before free: the kqueue knote fires in kill(),
     * a signalfd is readable at once, the helper's pipe once it wrote. */
    int fd = cmio__signals_fd(s);
    if (fd >= 0)
        wait_readable(fd);
    cmio_signals_free(s);
    ck_assert_int_eq(count_events(p, ev, TOK, QUIET_MS), 0);
    /* Nothing reads the set any more: the signal stays pending (or, with the
     * helper, was taken by it). */
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* After a read's -EAGAIN, a new signal gives a new event, on every backend;
 * on a backend that emulates edges, that -EAGAIN is what re-arms it: a
 * signal that comes before it gives no event. */
START_TEST(test_eagain_rearms)
{
    cmio_poll *p = setup(_i);
    cmio_events *ev = open_events(4);
    cmio_signals *s = open_signals(p, _i);
    bool emulated = !(cmio__poll_caps(p) & CMIO__SEL_EDGE_NATIVE);
    int sig = 0;
    for (int round = 0; round < 3; round++) {
        ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
        ck_assert(wait_for(p, ev, TOK, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
        ck_assert_int_eq(cmio_signals_read(s, &sig), 0);
        ck_assert_int_eq(sig, SIGUSR1);
        if (emulated) {
            /* Disarmed until -EAGAIN: this one is held back. */
            ck_assert_int_eq(kill(getpid(), SIGUSR2), 0);
            ck_assert_int_eq(count_events(p, ev, TOK, QUIET_MS), 0);
            ck_assert_int_eq(cmio_signals_read(s, &sig), 0);
            ck_assert_int_eq(sig, SIGUSR2);
        }
        ck_assert_int_eq(cmio_signals_read(s, &sig), -EAGAIN);
    }
    cmio_signals_free(s);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_argument_errors)
{
    cmio_poll *p = setup(_i);
    cmio_registry *r = cmio_poll_registry(p);
    sigset_t set = user_set();
    cmio_signals *s = (cmio_signals *)&set; /* must be reset to NULL */
    ck_assert_int_eq(cmio_signals_new(NULL, TOK, &set, &s), -EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(cmio_signals_new(r, TOK, NULL, &s), -EINVAL);
    ck_assert_int_eq(cmio_signals_new(r, TOK, &set, NULL), -EINVAL);

    sigset_t bad;
    sigemptyset(&bad);
    ck_assert_int_eq(cmio_signals_new(r, TOK, &bad, &s), -EINVAL);
    ck_assert_ptr_null(s);
    int uncatchable[] = {SIGKILL, SIGSTOP};
    for (int k = 0; k < 2; k++) {
        bad = user_set();
        sigaddset(&bad, uncatchable[k]);
        ck_assert_int_eq(cmio_signals_new(r, TOK, &bad, &s), -EINVAL);
        ck_assert_ptr_null(s);
    }
    /* A signal of the set that is not blocked in this thread. */
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    ck_assert_int_eq(pthread_sigmask(SIG_UNBLOCK, &term, NULL), 0);
    bad = user_set();
    sigaddset(&bad, SIGTERM);
    ck_assert_int_eq(cmio_signals_new(r, TOK, &bad, &s), -EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(cmio_signals_new(r, TOK, &term, &s), -EINVAL);
    ck_assert_ptr_null(s);

    s = open_signals(p, _i);
    int sig;
    ck_assert_int_eq(cmio_signals_read(NULL, &sig), -EINVAL);
    ck_assert_int_eq(cmio_signals_read(s, NULL), -EINVAL);
    cmio_signals_free(s);
    cmio_signals_free(NULL);
    cmio_poll_free(p);
}
END_TEST

/* Two sets with a signal in common on one poll: refused where the kernel
 * keeps one knote per signal (kqueue); elsewhere whichever reads first. */
START_TEST(test_overlapping_sets)
{
    cmio_poll *p = setup(_i);
    cmio_signals *a = open_signals(p, _i);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR1);
    cmio_signals *b = NULL;
    int rc = cmio_signals_new(cmio_poll_registry(p), TOK + 1, &one, &b);
    if (cmio__signals_mechanism(a) == CMIO__SIGNALS_KQUEUE) {
        ck_assert_int_eq(rc, -EEXIST);
        ck_assert_ptr_null(b);
        /* Once a is gone, the signal is free again. */
        cmio_signals_free(a);
        a = NULL;
        ck_assert_int_eq(cmio_signals_new(cmio_poll_registry(p), TOK + 1, &one, &b), 0);
    } else {
        ck_assert_int_eq(rc, 0);
    }
    cmio_signals_free(b);
    cmio_signals_free(a);
    cmio_poll_free(p);
}
END_TEST

/* The set holds its own reference on the selector: the registry clone it
 * was made with may go first, and the poll too. */
START_TEST(test_outlives_clone_and_poll)
{
    cmio_poll *p = setup(_i);
    cmio_events *ev = open_events(4);
    cmio_registry *clone = NULL;
    ck_assert_int_eq(cmio_registry_try_clone(cmio_poll_registry(p), &clone), 0);
    sigset_t set = user_set();
    cmio_signals *s = NULL;
    ck_assert_int_eq(cmio_signals_new(clone, TOK, &set, &s), 0);
    cmio_registry_free(clone);
    ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
    ck_assert(wait_for(p, ev, TOK, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    cmio_poll_free(p);
    int sig = 0;
    ck_assert_int_eq(cmio_signals_read(s, &sig), 0);
    ck_assert_int_eq(sig, SIGUSR1);
    cmio_signals_free(s);
    cmio_events_free(ev);
}
END_TEST

static int count_dir(const char *path)
{
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* The threads of the process once it equals want, or after WAIT_MS: a
 * joined thread's task leaves /proc a moment after pthread_join returns
 * (the kernel reaps it after it cleared its tid), with nothing to wait on. */
static int tasks_settle(int want)
{
    int n = count_dir("/proc/self/task");
    for (int64_t deadline = now_ms() + WAIT_MS; n != want && now_ms() < deadline;) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        n = count_dir("/proc/self/task");
    }
    return n;
}

START_TEST(test_no_descriptor_or_thread_leak)
{
    cmio_poll *p = setup(_i);
    cmio_events *ev = open_events(4);
    /* One set first: a sanitizer's runtime may start a thread of its own
     * at the process's first pthread_create. */
    int before = count_dir("/proc/self/task");
    cmio_signals_free(open_signals(p, _i));
    /* The helper's task leaves; a sanitizer's may stay. */
    int threads = tasks_settle(before), fds = count_dir("/proc/self/fd");
    for (int k = 0; k < 20; k++) {
        cmio_signals *s = open_signals(p, _i);
        if (cmio__signals_mechanism(s) == CMIO__SIGNALS_THREAD)
            ck_assert_int_eq(count_dir("/proc/self/task"), threads + 1);
        ck_assert_int_gt(count_dir("/proc/self/fd"), fds);
        if (k % 2 == 0) { /* freed with a signal in flight, or idle */
            ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
            ck_assert(wait_for(p, ev, TOK, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
        }
        cmio_signals_free(s);
        /* The helper was joined: its task goes. */
        ck_assert_int_eq(tasks_settle(threads), threads);
        ck_assert_int_eq(count_dir("/proc/self/fd"), fds);
    }
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

static Suite *signals_suite(void)
{
    Suite *s = suite_create("signals");
    TCase *tc = tcase_create("signals");
    tcase_set_timeout(tc, 60);
    add_signals_test(tc, test_kill_reported_and_read_once);
    add_signals_test(tc, test_pthread_kill_self_read_once);
    add_signals_test(tc, test_two_signals_each_once);
    add_signals_test(tc, test_same_signal_twice_coalesces);
    add_signals_test(tc, test_signal_outside_set_not_reported);
    add_signals_test(tc, test_signal_pending_before_new);
    add_signals_test(tc, test_signal_wakes_blocked_poll);
    add_signals_test(tc, test_free_then_poll_reports_nothing);
    add_signals_test(tc, test_eagain_rearms);
    add_signals_test(tc, test_argument_errors);
    add_signals_test(tc, test_overlapping_sets);
    add_signals_test(tc, test_outlives_clone_and_poll);
    add_signals_test(tc, test_no_descriptor_or_thread_leak);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* Before the runner forks or starts anything: every test's process,
     * and every thread it makes, has the signals blocked. */
    if (block_signals() != 0)
        return 1;
    return run_suite(signals_suite());
}
