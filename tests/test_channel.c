/*
 * Channel (DESIGN §3c): round trips with the bytes intact, full at exactly
 * the capacity, empty, one event per burst and none while undrained, a new
 * one after -EAGAIN, a poll blocked in another thread, free, arguments.
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include <errno.h>
#if !defined(_WIN32)
#include <pthread.h>
#include <unistd.h>
#endif
#include <stdint.h>
#include <string.h>

/* An odd-sized message, so that slots are not a power of two apart. */
typedef struct msg {
    uint32_t n;
    char text[17];
} msg;

static msg make(uint32_t n)
{
    msg m;
    memset(&m, 0, sizeof(m));
    m.n = n;
    for (size_t k = 0; k < sizeof(m.text); k++)
        m.text[k] = (char)('a' + (n + k) % 26);
    return m;
}

/* Receives one message and checks it is make(n), byte for byte. */
static void expect_msg(cmio_channel *c, uint32_t n)
{
    msg got, want = make(n);
    memset(&got, 0xA5, sizeof(got));
    ck_assert_int_eq(cmio_channel_recv(c, &got), 0);
    ck_assert_msg(memcmp(&got, &want, sizeof(got)) == 0, "message %u came back as %u", n, got.n);
}

/* How many events for token one poll with timeout_ms returns. */
static int events_in_one_poll(cmio_poll *p, cmio_events *ev, cmio_token token, int timeout_ms)
{
    int n = cmio_poll_poll(p, ev, timeout_ms);
    ck_assert_int_ge(n, 0);
    int count = 0;
    for (size_t i = 0; i < cmio_events_len(ev); i++) {
        const cmio_event *e = cmio_events_get(ev, i);
        if (cmio_event_token(e) == token) {
            ck_assert(cmio_event_is_readable(e));
            count++;
        }
    }
    return count;
}

START_TEST(test_channel_round_trip_keeps_bytes)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_channel *c = NULL;
    ck_assert_int_eq(cmio_channel_new(cmio_poll_registry(p), 42, 4, sizeof(msg), &c), 0);
    ck_assert_ptr_nonnull(c);
    for (uint32_t k = 1; k <= 3; k++) {
        msg m = make(k);
        ck_assert_int_eq(cmio_channel_send(c, &m), 0);
    }
    ck_assert_int_eq(events_in_one_poll(p, ev, 42, WAIT_MS), 1);
    for (uint32_t k = 1; k <= 3; k++)
        expect_msg(c, k);
    msg m;
    ck_assert_int_eq(cmio_channel_recv(c, &m), -EAGAIN);
    cmio_channel_free(c);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_channel_full_at_capacity_and_empty)
{
    /* 5 is not a power of two; 1 is the smallest channel. */
    static const size_t caps[] = {5, 1, 8};
    cmio_poll *p = open_poll(_i);
    for (size_t ci = 0; ci < sizeof(caps) / sizeof(caps[0]); ci++) {
        size_t cap = caps[ci];
        cmio_channel *c = NULL;
        ck_assert_int_eq(cmio_channel_new(cmio_poll_registry(p), 1, cap, sizeof(msg), &c), 0);
        msg m = make(0);
        ck_assert_int_eq(cmio_channel_recv(c, &m), -EAGAIN);
        uint32_t sent = 0, taken = 0;
        for (size_t k = 0; k < cap; k++) {
            m = make(sent++);
            ck_assert_int_eq(cmio_channel_send(c, &m), 0);
        }
        m = make(999);
        ck_assert_int_eq(cmio_channel_send(c, &m), -EAGAIN);
        ck_assert_int_eq(cmio_channel_send(c, &m), -EAGAIN);
        /* One out makes room for exactly one. */
        expect_msg(c, taken++);
        m = make(sent++);
        ck_assert_int_eq(cmio_channel_send(c, &m), 0);
        m = make(999);
        ck_assert_int_eq(cmio_channel_send(c, &m), -EAGAIN);
        /* Many laps around the ring, at every fill level: order and bytes
         * hold, full and empty stay exact. */
        for (int round = 0; round < 200; round++) {
            size_t out = 1 + (size_t)round % cap;
            for (size_t k = 0; k < out; k++)
                expect_msg(c, taken++);
            for (size_t k = 0; k < out; k++) {
                m = make(sent++);
                ck_assert_int_eq(cmio_channel_send(c, &m), 0);
            }
            m = make(999);
            ck_assert_int_eq(cmio_channel_send(c, &m), -EAGAIN);
        }
        while (taken < sent)
            expect_msg(c, taken++);
        ck_assert_int_eq(cmio_channel_recv(c, &m), -EAGAIN);
        ck_assert_int_eq(cmio_channel_recv(c, &m), -EAGAIN);
        cmio_channel_free(c);
    }
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_channel_one_event_per_burst)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_channel *c = NULL;
    ck_assert_int_eq(cmio_channel_new(cmio_poll_registry(p), 7, 16, sizeof(msg), &c), 0);
    /* Empty: no event. */
    ck_assert_int_eq(count_events(p, ev, 7, QUIET_MS), 0);
    uint32_t sent = 0, taken = 0;
    for (int k = 0; k < 5; k++) {
        msg m = make(sent++);
        ck_assert_int_eq(cmio_channel_send(c, &m), 0);
    }
    /* A burst: one event. */
    ck_assert_int_eq(events_in_one_poll(p, ev, 7, WAIT_MS), 1);
    /* Undrained: none again, also with more messages. */
    ck_assert_int_eq(events_in_one_poll(p, ev, 7, 0), 0);
    for (int k = 0; k < 3; k++) {
        msg m = make(sent++);
        ck_assert_int_eq(cmio_channel_send(c, &m), 0);
    }
    ck_assert_int_eq(events_in_one_poll(p, ev, 7, 0), 0);
    ck_assert_int_eq(count_events(p, ev, 7, QUIET_MS), 0);
    /* Partly drained is still undrained. */
    expect_msg(c, taken++);
    {
        msg m = make(sent++);
        ck_assert_int_eq(cmio_channel_send(c, &m), 0);
    }
    ck_assert_int_eq(count_events(p, ev, 7, QUIET_MS), 0);
    /* Drained to -EAGAIN: no event for that, one for the next message. */
    while (taken < sent)
        expect_msg(c, taken++);
    msg m;
    ck_assert_int_eq(cmio_channel_recv(c, &m), -EAGAIN);
    ck_assert_int_eq(count_events(p, ev, 7, QUIET_MS), 0);
    for (int k = 0; k < 4; k++) {
        m = make(sent++);
        ck_assert_int_eq(cmio_channel_send(c, &m), 0);
    }
    ck_assert_int_eq(events_in_one_poll(p, ev, 7, WAIT_MS), 1);
    ck_assert_int_eq(count_events(p, ev, 7, QUIET_MS), 0);
    while (taken < sent)
        expect_msg(c, taken++);
    ck_assert_int_eq(cmio_channel_recv(c, &m), -EAGAIN);
    /* A second -EAGAIN changes nothing; a message still wakes. */
    ck_assert_int_eq(cmio_channel_recv(c, &m), -EAGAIN);
    m = make(sent++);
    ck_assert_int_eq(cmio_channel_send(c, &m), 0);
    ck_assert_int_eq(events_in_one_poll(p, ev, 7, WAIT_MS), 1);
    expect_msg(c, taken++);
    ck_assert_int_eq(cmio_channel_recv(c, &m), -EAGAIN);
    ck_assert_int_eq(count_events(p, ev, 7, QUIET_MS), 0);
    cmio_channel_free(c);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_channel_events_keep_their_tokens)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_channel *a = NULL, *b = NULL;
    cmio_registry *clone = NULL;
    ck_assert_int_eq(cmio_registry_try_clone(cmio_poll_registry(p), &clone), 0);
    ck_assert_int_eq(cmio_channel_new(cmio_poll_registry(p), 3, 2, sizeof(msg), &a), 0);
    ck_assert_int_eq(cmio_channel_new(clone, 4, 2, sizeof(msg), &b), 0);
    msg m = make(1);
    ck_assert_int_eq(cmio_channel_send(b, &m), 0);
    ck_assert(wait_for(p, ev, 4, CMIO_EVENT_READABLE, WAIT_MS));
    ck_assert_int_eq(count_events(p, ev, 3, QUIET_MS), 0);
    ck_assert_int_eq(cmio_channel_recv(a, &m), -EAGAIN);
    expect_msg(b, 1);
    m = make(2);
    ck_assert_int_eq(cmio_channel_send(a, &m), 0);
    ck_assert(wait_for(p, ev, 3, CMIO_EVENT_READABLE, WAIT_MS));
    expect_msg(a, 2);
    cmio_channel_free(a);
    cmio_channel_free(b);
    cmio_registry_free(clone);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

struct sending {
    cmio_channel *c;
    test_tid poll_tid;
    int result;
};

static void *send_when_blocked(void *arg)
{
    struct sending *s = arg;
    wait_until_blocked_in_poll(s->poll_tid);
    msg m = make(77);
    s->result = cmio_channel_send(s->c, &m);
    return NULL;
}

START_TEST(test_channel_send_wakes_blocked_poll)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(4);
    struct sending s = {.poll_tid = current_tid(), .result = 1};
    ck_assert_int_eq(cmio_channel_new(cmio_poll_registry(p), 9, 4, sizeof(msg), &s.c), 0);
    /* Twice: the second time after the receiver drained to -EAGAIN. */
    for (int round = 0; round < 2; round++) {
        s.result = 1;
        test_thread t;
        thread_start(&t, send_when_blocked, &s);
        int n = cmio_poll_poll(p, ev, 4 * WAIT_MS);
        thread_join(&t);
        ck_assert_int_eq(s.result, 0);
        ck_assert_int_eq(n, 1);
        ck_assert_uint_eq(cmio_event_token(cmio_events_get(ev, 0)), 9);
        ck_assert(cmio_event_is_readable(cmio_events_get(ev, 0)));
        expect_msg(s.c, 77);
        msg m;
        ck_assert_int_eq(cmio_channel_recv(s.c, &m), -EAGAIN);
    }
    cmio_channel_free(s.c);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_channel_free_then_no_event)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    fd_set before, after;
    fds_open(&before);
    cmio_channel *c = NULL, *other = NULL;
    ck_assert_int_eq(cmio_channel_new(cmio_poll_registry(p), 5, 4, sizeof(msg), &other), 0);
    /* Freed with its wake written and not yet polled. */
    ck_assert_int_eq(cmio_channel_new(cmio_poll_registry(p), 6, 4, sizeof(msg), &c), 0);
    msg m = make(1);
    ck_assert_int_eq(cmio_channel_send(c, &m), 0);
    ck_assert_int_eq(cmio_channel_send(c, &m), 0);
    cmio_channel_free(c);
    ck_assert_int_eq(count_events(p, ev, 6, QUIET_MS), 0);
    /* Freed undrained after its event was reported. */
    ck_assert_int_eq(cmio_channel_new(cmio_poll_registry(p), 6, 4, sizeof(msg), &c), 0);
    ck_assert_int_eq(cmio_channel_send(c, &m), 0);
    ck_assert_int_eq(events_in_one_poll(p, ev, 6, WAIT_MS), 1);
    ck_assert_int_eq(cmio_channel_send(c, &m), 0);
    cmio_channel_free(c);
    ck_assert_int_eq(count_events(p, ev, 6, QUIET_MS), 0);
    /* The other channel still works; freeing both leaves no descriptor. */
    ck_assert_int_eq(cmio_channel_send(other, &m), 0);
    ck_assert(wait_for(p, ev, 5, CMIO_EVENT_READABLE, WAIT_MS));
    cmio_channel_free(other);
    ck_assert_int_eq(count_events(p, ev, 5, QUIET_MS), 0);
    fds_open(&after);
    for (int fd = 0; fd < FD_SETSIZE; fd++)
        ck_assert_msg(FD_ISSET(fd, &after) == FD_ISSET(fd, &before), "descriptor %d leaked or lost", fd);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_channel_outlives_its_registry_clone)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(4);
    cmio_registry *clone = NULL;
    ck_assert_int_eq(cmio_registry_try_clone(cmio_poll_registry(p), &clone), 0);
    cmio_channel *c = NULL;
    ck_assert_int_eq(cmio_channel_new(clone, 8, 4, sizeof(msg), &c), 0);
    cmio_registry_free(clone);
    msg m = make(3);
    ck_assert_int_eq(cmio_channel_send(c, &m), 0);
    ck_assert(wait_for(p, ev, 8, CMIO_EVENT_READABLE, WAIT_MS));
    expect_msg(c, 3);
    cmio_channel_free(c);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_channel_rejects_bad_arguments)
{
    cmio_poll *p = open_poll(_i);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_channel *c = (cmio_channel *)&c; /* must be reset to NULL */
    ck_assert_int_eq(cmio_channel_new(NULL, 1, 4, 8, &c), -EINVAL);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(cmio_channel_new(r, 1, 4, 8, NULL), -EINVAL);
    c = (cmio_channel *)&c;
    ck_assert_int_eq(cmio_channel_new(r, 1, 0, 8, &c), -EINVAL);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(cmio_channel_new(r, 1, 4, 0, &c), -EINVAL);
    ck_assert_int_eq(cmio_channel_new(r, 1, SIZE_MAX, 1, &c), -EINVAL);
    ck_assert_int_eq(cmio_channel_new(r, 1, 1, SIZE_MAX, &c), -EINVAL);
    ck_assert_int_eq(cmio_channel_new(r, 1, SIZE_MAX / 8, 8, &c), -EINVAL);
    ck_assert_int_eq(cmio_channel_new(r, 1, (SIZE_MAX >> 4) + 1, 1, &c), -EINVAL);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(cmio_channel_new(r, 1, 2, 8, &c), 0);
    uint64_t v = 1;
    ck_assert_int_eq(cmio_channel_send(NULL, &v), -EINVAL);
    ck_assert_int_eq(cmio_channel_send(c, NULL), -EINVAL);
    ck_assert_int_eq(cmio_channel_recv(NULL, &v), -EINVAL);
    ck_assert_int_eq(cmio_channel_recv(c, NULL), -EINVAL);
    /* Nothing was sent or taken by the rejected calls. */
    ck_assert_int_eq(cmio_channel_recv(c, &v), -EAGAIN);
    cmio_channel_free(c);
    cmio_channel_free(NULL);
    cmio_poll_free(p);
}
END_TEST

static Suite *channel_suite(void)
{
    Suite *s = suite_create("channel");
    TCase *tc = tcase_create("channel");
    tcase_set_timeout(tc, 60);
    add_backend_test(tc, test_channel_round_trip_keeps_bytes);
    add_backend_test(tc, test_channel_full_at_capacity_and_empty);
    add_backend_test(tc, test_channel_one_event_per_burst);
    add_backend_test(tc, test_channel_events_keep_their_tokens);
    add_backend_test(tc, test_channel_send_wakes_blocked_poll);
    add_backend_test(tc, test_channel_free_then_no_event);
    add_backend_test(tc, test_channel_outlives_its_registry_clone);
    add_backend_test(tc, test_channel_rejects_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(channel_suite()); }
