/*
 * Stress: a channel storm. PRODUCERS threads each send STORM_COUNT numbered
 * messages into one small channel (retrying on -EAGAIN, bounded), while the
 * poll thread receives on the channel's events only, draining to -EAGAIN
 * each time. Every message must arrive exactly once and in its producer's
 * order, and no wake may be lost: a poll that times out while a message
 * sits in the channel is a lost wake. And a hand-off that aims one sender
 * at the receiver's last look, round after round. Bounded in count and
 * time; each prints one "stress: ..." line on stderr. Part of the stress suite (and of the
 * ThreadSanitizer build's run).
 *
 * CMIO_STRESS_PERCENT (1 to 100, default 100) scales the count down.
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include <errno.h>
#if !defined(_WIN32)
#include <sched.h>
#endif
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PRODUCERS = 8, STORM_COUNT = 50000, CAPACITY = 64, TOKEN = 21 };
/* The whole storm, and one message's retries, end by this deadline. */
#define STORM_MS 120000

/* Lets another thread run (sched_yield; SwitchToThread on Windows). */
static void yield_cpu(void)
{
#if defined(_WIN32)
    SwitchToThread();
#else
    sched_yield();
#endif
}

typedef struct storm_msg {
    uint32_t producer;
    uint32_t check; /* producer ^ low bits of seq: torn copies show */
    uint64_t seq;
} storm_msg;

struct producer {
    cmio_channel *c;
    uint32_t id;
    long count;
    int64_t deadline;
    long full;   /* -EAGAIN retries */
    long errors; /* other failures, or a message given up on */
    test_thread thread;
};

/* n scaled by CMIO_STRESS_PERCENT, at least 1. */
static long scaled(long n)
{
    const char *s = getenv("CMIO_STRESS_PERCENT");
    long pct = s && *s ? strtol(s, NULL, 10) : 100;
    if (pct < 1 || pct > 100)
        pct = 100;
    long v = n * pct / 100;
    return v < 1 ? 1 : v;
}

static void *produce(void *arg)
{
    struct producer *pr = arg;
    for (long i = 0; i < pr->count; i++) {
        storm_msg m = {.producer = pr->id, .check = pr->id ^ (uint32_t)i, .seq = (uint64_t)i};
        int rc;
        for (long tries = 1; (rc = cmio_channel_send(pr->c, &m)) == -EAGAIN; tries++) {
            pr->full++;
            if (tries % 1024 == 0 && now_ms() > pr->deadline)
                break;
            yield_cpu();
        }
        if (rc != 0) {
            pr->errors++;
            return NULL;
        }
    }
    return NULL;
}

struct tally {
    uint64_t next[PRODUCERS];
    long received, disorder;
};

/* Take one message into the tally; false at -EAGAIN. */
static bool take(cmio_channel *c, struct tally *t)
{
    storm_msg m;
    int rc = cmio_channel_recv(c, &m);
    if (rc == -EAGAIN)
        return false;
    ck_assert_int_eq(rc, 0);
    if (m.producer >= PRODUCERS || m.check != (m.producer ^ (uint32_t)m.seq) || m.seq != t->next[m.producer])
        t->disorder++;
    else
        t->next[m.producer]++;
    t->received++;
    return true;
}

START_TEST(test_channel_storm)
{
    const char *backend = cmio_backends()[_i];
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_channel *c = NULL;
    ck_assert_int_eq(cmio_channel_new(cmio_poll_registry(p), TOKEN, CAPACITY, sizeof(storm_msg), &c), 0);
    long count = scaled(STORM_COUNT), total = PRODUCERS * count;
    int64_t t0 = now_ms(), deadline = t0 + STORM_MS;
    static struct producer pr[PRODUCERS];
    for (uint32_t k = 0; k < PRODUCERS; k++) {
        pr[k] = (struct producer){.c = c, .id = k, .count = count, .deadline = deadline};
        thread_start(&pr[k].thread, produce, &pr[k]);
    }

    struct tally t;
    memset(&t, 0, sizeof(t));
    long polls = 0, events = 0, lost = 0, unknown = 0, empty_events = 0;
    while (t.received < total && now_ms() < deadline) {
        int n = cmio_poll_poll(p, ev, WAIT_MS);
        ck_assert_int_ge(n, 0);
        polls++;
        if (n == 0) {
            /* No event for WAIT_MS: a message waiting now was not woken for. */
            if (take(c, &t)) {
                lost++;
                while (take(c, &t))
                    ;
            }
            continue;
        }
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            if (cmio_event_token(cmio_events_get(ev, i)) != TOKEN) {
                unknown++;
                continue;
            }
            events++;
            long before = t.received;
            while (take(c, &t))
                ;
            empty_events += t.received == before;
        }
    }
    for (int k = 0; k < PRODUCERS; k++)
        thread_join(&pr[k].thread);
    int64_t ms = now_ms() - t0;

    /* Every message was taken: a wake may still be owed for the last ones
     * (taken on an earlier event's drain); one look takes it, then nothing
     * more comes and the channel is empty. */
    ck_assert_int_ge(cmio_poll_poll(p, ev, 0), 0);
    int after = count_events(p, ev, TOKEN, QUIET_MS);
    storm_msg m;
    int last = cmio_channel_recv(c, &m);

    long full = 0, errors = 0;
    for (int k = 0; k < PRODUCERS; k++) {
        full += pr[k].full;
        errors += pr[k].errors;
    }
    fprintf(stderr,
            "stress: channel_storm backend=%s producers=%d messages_per_producer=%ld capacity=%d "
            "received=%ld events=%ld messages_per_event=%.1f empty_events=%ld polls=%ld full_retries=%ld "
            "lost_wakes=%ld disorder=%ld errors=%ld unknown=%ld events_after=%d ms=%lld\n",
            backend, PRODUCERS, count, CAPACITY, t.received, events,
            events ? (double)t.received / (double)events : 0.0, empty_events, polls, full, lost, t.disorder,
            errors, unknown, after, (long long)ms);
    ck_assert_int_eq(errors, 0);
    ck_assert_int_eq(unknown, 0);
    ck_assert_int_eq(lost, 0);
    ck_assert_int_eq(t.disorder, 0);
    ck_assert_int_eq(t.received, total);
    for (int k = 0; k < PRODUCERS; k++)
        ck_assert_uint_eq(t.next[k], (uint64_t)count);
    ck_assert_int_ge(events, 1);
    ck_assert_int_le(events, total);
    ck_assert_int_eq(after, 0);
    ck_assert_int_eq(last, -EAGAIN);

    cmio_channel_free(c);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* The race of the receiver's last look, made frequent: one producer sends
 * message i + 1 the moment the receiver has taken message i (it spins on
 * `taken`), so that the send lands while the receiver is about to find the
 * channel empty and arm, again and again. A wake lost there has no later
 * send to hide it: the poll times out with the message still waiting. */
enum { HANDOFF_ROUNDS = 100000 };

struct handoff {
    cmio_channel *c;
    long rounds;
    atomic_long taken; /* messages the receiver has taken */
    int64_t deadline;
    long errors;
};

static void *hand_off(void *arg)
{
    struct handoff *h = arg;
    for (long i = 0; i < h->rounds; i++) {
        for (long spins = 1; atomic_load(&h->taken) < i; spins++)
            if (spins % 4096 == 0 && now_ms() > h->deadline) {
                h->errors++;
                return NULL;
            }
        uint64_t v = (uint64_t)i;
        if (cmio_channel_send(h->c, &v) != 0) {
            h->errors++;
            return NULL;
        }
    }
    return NULL;
}

START_TEST(test_channel_handoff_race)
{
    const char *backend = cmio_backends()[_i];
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    static struct handoff h;
    memset(&h, 0, sizeof(h));
    h.rounds = scaled(HANDOFF_ROUNDS);
    int64_t t0 = now_ms();
    h.deadline = t0 + STORM_MS;
    atomic_init(&h.taken, 0);
    ck_assert_int_eq(cmio_channel_new(cmio_poll_registry(p), TOKEN, 4, sizeof(uint64_t), &h.c), 0);
    test_thread t;
    thread_start(&t, hand_off, &h);
    long got = 0, lost = 0, disorder = 0, events = 0;
    while (got < h.rounds && now_ms() < h.deadline && h.errors == 0) {
        /* Generous: an owed event comes within microseconds. */
        int n = cmio_poll_poll(p, ev, 1000);
        ck_assert_int_ge(n, 0);
        events += n;
        uint64_t v;
        int rc;
        while ((rc = cmio_channel_recv(h.c, &v)) == 0) {
            if (n == 0)
                lost++; /* it was there, and no event said so */
            disorder += v != (uint64_t)got;
            got++;
            atomic_store(&h.taken, got);
        }
        ck_assert_int_eq(rc, -EAGAIN);
    }
    thread_join(&t);
    fprintf(stderr,
            "stress: channel_handoff backend=%s rounds=%ld received=%ld events=%ld lost_wakes=%ld disorder=%ld "
            "errors=%ld ms=%lld\n",
            backend, h.rounds, got, events, lost, disorder, h.errors, (long long)(now_ms() - t0));
    ck_assert_int_eq(h.errors, 0);
    ck_assert_int_eq(lost, 0);
    ck_assert_int_eq(disorder, 0);
    ck_assert_int_eq(got, h.rounds);
    cmio_channel_free(h.c);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* One case per test, so that one can be run alone (CK_RUN_CASE=...). */
static void add_case(Suite *s, const char *name, const TTest *test)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 240);
    add_backend_test(tc, test);
    suite_add_tcase(s, tc);
}

static Suite *suite(void)
{
    Suite *s = suite_create("stress");
    add_case(s, "channel_storm", test_channel_storm);
    add_case(s, "channel_handoff", test_channel_handoff_race);
    return s;
}

int main(void) { return run_suite(suite()); }
