/*
 * Registration modes (include/cmio.h, CMIO_LEVEL and CMIO_ONESHOT; mio
 * 0.3's PollOpt): level-triggered and oneshot registrations against the
 * default edge-triggered one, on every backend, and the twins of mio 0.3's
 * tests of them (test/test_oneshot.rs, test_tcp_level.rs,
 * test_udp_level.rs; docs/porting-from-mio.md lists them).
 *
 * SPDX-License-Identifier: MIT
 */
#include "mio_util.h"

#include <errno.h>
#if !defined(_WIN32)
#if !defined(_WIN32)
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#endif
#endif
#include <string.h>

/* Polls made to show that a level registration is reported at each one. */
enum { LEVEL_POLLS = 5 };

/* One poll of at most timeout_ms: the union of the flags of the records for
 * token; *records (if not NULL) receives how many there were. */
static uint32_t poll_token(cmio_poll *p, cmio_events *ev, cmio_token token, int timeout_ms, int *records)
{
    int n = cmio_poll_poll(p, ev, timeout_ms);
    ck_assert_int_ge(n, 0);
    uint32_t flags = 0;
    int count = 0;
    for (size_t i = 0; i < cmio_events_len(ev); i++) {
        const cmio_event *e = cmio_events_get(ev, i);
        if (cmio_event_token(e) == token) {
            flags |= cmio_event_flags(e);
            count++;
        }
    }
    if (records)
        *records = count;
    return flags;
}

/* Polls (bounded by WAIT_MS) until a poll reports token: that poll's flags
 * for it, and its records in *records. */
static uint32_t first_report(cmio_poll *p, cmio_events *ev, cmio_token token, int *records)
{
    int64_t deadline = now_ms() + WAIT_MS;
    for (int round = 0; round < 1000; round++) {
        int64_t left = deadline - now_ms();
        if (left < 0)
            break;
        uint32_t flags = poll_token(p, ev, token, (int)left, records);
        if (flags)
            return flags;
    }
    ck_abort_msg("token %lu was never reported", (unsigned long)token);
    return 0;
}

/* Each of LEVEL_POLLS polls (each waiting at most WAIT_MS, so a missing
 * report fails the test rather than ends it early) reports every bit of
 * want for token. */
static void assert_every_poll(cmio_poll *p, cmio_events *ev, cmio_token token, uint32_t want)
{
    for (int k = 0; k < LEVEL_POLLS; k++) {
        uint32_t flags = poll_token(p, ev, token, WAIT_MS, NULL);
        ck_assert_msg((flags & want) == want, "poll %d: token %lu flags %#x, want %#x", k,
                      (unsigned long)token, (unsigned)flags, (unsigned)want);
    }
}

/* Read and discard exactly one byte with a raw sock_recv(2) (no re-arm). */
static void take_one_byte(int fd)
{
    char c;
    ck_assert_int_eq(sock_recv(fd, &c, 1), 1);
}

/* Write through cmio until -EAGAIN (which re-arms writing on the poll(2)
 * backend); returns the bytes written. */
static size_t fill(int fd)
{
    static char buf[65536];
    cmio_unix_stream s = {.fd = fd};
    size_t total = 0;
    for (int i = 0; i < 100000; i++) {
        ssize_t n = cmio_unix_stream_write(&s, buf, sizeof(buf));
        if (n == -EAGAIN)
            return total;
        ck_assert_msg(n > 0, "write: %s", cmio_strerror((int)n));
        total += (size_t)n;
    }
    ck_abort_msg("fill did not end");
    return total;
}

/* Read with raw sock_recv(2) until the socket is empty; returns the bytes. */
static size_t raw_drain(int fd)
{
    static char buf[65536];
    size_t total = 0;
    for (int i = 0; i < 100000; i++) {
        ssize_t n = sock_recv(fd, buf, sizeof(buf));
        if (n <= 0)
            return total;
        total += (size_t)n;
    }
    ck_abort_msg("raw_drain did not end");
    return total;
}

/* ------------------------------------------------------------------------ */
/* Level                                                                    */
/* ------------------------------------------------------------------------ */

/* Unread data is reported at every poll, also after part of it is read
 * with a raw read (no -EAGAIN, nothing re-armed); once drained, no more;
 * new data is reported again. */
START_TEST(test_level_readable_reported_until_drained)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_fd sv[2];
    stream_pair(sv);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), sv[0], 1, CMIO_READABLE | CMIO_LEVEL), 0);
    ck_assert_int_eq(count_events(p, ev, 1, QUIET_MS), 0);
    put(sv[1], 10);
    assert_every_poll(p, ev, 1, CMIO_EVENT_READABLE);
    take_one_byte(sv[0]);
    assert_every_poll(p, ev, 1, CMIO_EVENT_READABLE);
    ck_assert_uint_eq(drain(sv[0]), 9);
    ck_assert_int_eq(count_events(p, ev, 1, QUIET_MS), 0);
    put(sv[1], 1);
    assert_every_poll(p, ev, 1, CMIO_EVENT_READABLE);
    sock_close(sv[0]);
    sock_close(sv[1]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* Room to write is reported at every poll, with no write in between. */
START_TEST(test_level_writable_reported_every_poll)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_fd sv[2];
    stream_pair(sv);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), sv[0], 1, CMIO_WRITABLE | CMIO_LEVEL), 0);
    assert_every_poll(p, ev, 1, CMIO_EVENT_WRITABLE);
    /* Full: no longer writable, so no longer reported; room again: again. */
    fill(sv[0]);
    ck_assert_int_eq(count_events(p, ev, 1, QUIET_MS), 0);
    raw_drain(sv[1]);
    assert_every_poll(p, ev, 1, CMIO_EVENT_WRITABLE);
    sock_close(sv[0]);
    sock_close(sv[1]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* The default stays edge-triggered: data not read and room to write are
 * reported once each. */
START_TEST(test_edge_default_reported_once)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_fd sv[2];
    stream_pair(sv);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), sv[0], 1, CMIO_READABLE), 0);
    put(sv[1], 10);
    ck_assert(wait_for(p, ev, 1, CMIO_EVENT_READABLE, WAIT_MS));
    ck_assert_int_eq(count_events(p, ev, 1, QUIET_MS), 0);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), sv[1], 2, CMIO_WRITABLE), 0);
    ck_assert(wait_for(p, ev, 2, CMIO_EVENT_WRITABLE, WAIT_MS));
    ck_assert_int_eq(count_events(p, ev, 2, QUIET_MS), 0);
    sock_close(sv[0]);
    sock_close(sv[1]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* A hang-up is reported at every poll while it lasts, in level mode on
 * every backend (poll(2)'s CMIO__SEL_HUP_HOLDS is a rule of edge mode). */
START_TEST(test_level_hang_up_reported_every_poll)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_fd sv[2];
    stream_pair(sv);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), sv[0], 1, CMIO_READABLE | CMIO_LEVEL), 0);
    sock_close(sv[1]);
    assert_every_poll(p, ev, 1, CMIO_EVENT_READ_CLOSED);
    /* End of stream through cmio (no -EAGAIN): still closed, still reported. */
    ck_assert_uint_eq(drain(sv[0]), 0);
    assert_every_poll(p, ev, 1, CMIO_EVENT_READ_CLOSED);
    ck_assert_int_eq(cmio_registry_deregister(cmio_poll_registry(p), sv[0]), 0);
    sock_close(sv[0]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* A reset connection (a pending error, then the hang-up) is reported at
 * every poll in level mode, on every backend: poll(2)'s
 * CMIO__SEL_ERROR_HOLDS does not hold a level registration out. */
START_TEST(test_level_reset_reported_every_poll)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_fd sv[2];
    tcp_pair(sv);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), sv[0], 1, CMIO_READABLE | CMIO_LEVEL), 0);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    sock_setsockopt(sv[1], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    sock_close(sv[1]);
    uint32_t seen = 0;
    for (int k = 0; k < LEVEL_POLLS; k++) {
        uint32_t flags = poll_token(p, ev, 1, WAIT_MS, NULL);
        ck_assert_msg(flags != 0, "poll %d did not report the reset connection", k);
        seen |= flags;
    }
    ck_assert(seen & (CMIO_EVENT_ERROR | CMIO_EVENT_READ_CLOSED));
    ck_assert_int_eq(cmio_registry_deregister(cmio_poll_registry(p), sv[0]), 0);
    sock_close(sv[0]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Oneshot                                                                  */
/* ------------------------------------------------------------------------ */

/* Reported once, silent while new data arrives, until reregistered, which
 * re-arms it and reports the data already there; then silent again. */
START_TEST(test_oneshot_reported_once_until_reregister)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_fd sv[2];
    stream_pair(sv);
    ck_assert_int_eq(cmio_registry_register(r, sv[0], 1, CMIO_READABLE | CMIO_ONESHOT), 0);
    put(sv[1], 10);
    int records = 0;
    ck_assert(first_report(p, ev, 1, &records) & CMIO_EVENT_READABLE);
    ck_assert_int_eq(records, 1);
    ck_assert_int_eq(count_events(p, ev, 1, QUIET_MS), 0);
    put(sv[1], 10); /* a new edge: still disarmed */
    ck_assert_int_eq(count_events(p, ev, 1, QUIET_MS), 0);
    ck_assert_int_eq(cmio_registry_reregister(r, sv[0], 2, CMIO_READABLE | CMIO_ONESHOT), 0);
    ck_assert(first_report(p, ev, 2, &records) & CMIO_EVENT_READABLE);
    ck_assert_int_eq(records, 1);
    ck_assert_int_eq(count_events(p, ev, 2, QUIET_MS), 0);
    ck_assert_uint_eq(drain(sv[0]), 20);
    sock_close(sv[0]);
    sock_close(sv[1]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

struct rearming {
    cmio_registry *r;
    int fd;
    test_tid poll_tid;
    int result;
};

static void *rereg_when_blocked(void *arg)
{
    struct rearming *ra = arg;
    wait_until_blocked_in_poll(ra->poll_tid);
    ra->result = cmio_registry_reregister(ra->r, ra->fd, 7, CMIO_READABLE | CMIO_ONESHOT);
    return NULL;
}

/* A spent oneshot registration re-armed from another thread while the poll
 * thread is blocked: the blocked poll returns the readiness that was
 * pending. The other thread uses the poll's own registry (thread-safe):
 * libkqueue does not know a clone's dup of the kqueue descriptor. */
START_TEST(test_oneshot_rearmed_while_poll_blocked)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_fd sv[2];
    stream_pair(sv);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), sv[0], 1, CMIO_READABLE | CMIO_ONESHOT),
                     0);
    put(sv[1], 10);
    ck_assert(first_report(p, ev, 1, NULL) & CMIO_EVENT_READABLE);
    ck_assert_int_eq(count_events(p, ev, 1, QUIET_MS), 0);
    struct rearming ra = {.r = cmio_poll_registry(p), .fd = sv[0], .poll_tid = current_tid(), .result = 1};
    test_thread t;
    thread_start(&t, rereg_when_blocked, &ra);
    /* Bounded: a re-arm that does not reach the blocked poll fails here. */
    int64_t start = now_ms();
    int n = cmio_poll_poll(p, ev, WAIT_MS);
    thread_join(&t);
    ck_assert_int_eq(ra.result, 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_lt(now_ms() - start, WAIT_MS);
    ck_assert_uint_eq(cmio_event_token(cmio_events_get(ev, 0)), 7);
    ck_assert(cmio_event_is_readable(cmio_events_get(ev, 0)));
    ck_assert_int_eq(count_events(p, ev, 7, QUIET_MS), 0);
    sock_close(sv[0]);
    sock_close(sv[1]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* LEVEL | ONESHOT: one report, however long the readiness holds, until
 * reregistered; the same again after it. */
START_TEST(test_level_oneshot_reported_once)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_fd sv[2];
    stream_pair(sv);
    cmio_interest mode = CMIO_READABLE | CMIO_LEVEL | CMIO_ONESHOT;
    ck_assert_int_eq(cmio_registry_register(r, sv[0], 1, mode), 0);
    put(sv[1], 10);
    int records = 0;
    ck_assert(first_report(p, ev, 1, &records) & CMIO_EVENT_READABLE);
    ck_assert_int_eq(records, 1);
    ck_assert_int_eq(count_events(p, ev, 1, QUIET_MS), 0);
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(cmio_registry_reregister(r, sv[0], 1, mode), 0);
        ck_assert(first_report(p, ev, 1, &records) & CMIO_EVENT_READABLE);
        ck_assert_int_eq(records, 1);
        ck_assert_int_eq(count_events(p, ev, 1, QUIET_MS), 0);
    }
    sock_close(sv[0]);
    sock_close(sv[1]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* Both directions, ready at once: the one poll that reports the
 * registration carries both (one record, or one per direction where the
 * record holds one: kevent); no later poll reports it, whatever happens. */
START_TEST(test_oneshot_both_directions_ready_together)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_fd sv[2];
    stream_pair(sv);
    put(sv[1], 10);
    cmio_interest both = CMIO_READABLE | CMIO_WRITABLE | CMIO_ONESHOT;
    ck_assert_int_eq(cmio_registry_register(r, sv[0], 1, both), 0);
    int records = 0;
    uint32_t flags = first_report(p, ev, 1, &records);
    ck_assert_uint_eq(flags & (CMIO_EVENT_READABLE | CMIO_EVENT_WRITABLE),
                      CMIO_EVENT_READABLE | CMIO_EVENT_WRITABLE);
    ck_assert_int_le(records, 2);
    ck_assert_int_eq(count_events(p, ev, 1, QUIET_MS), 0);
    put(sv[1], 10);
    fill(sv[0]);
    raw_drain(sv[1]);
    ck_assert_int_eq(count_events(p, ev, 1, QUIET_MS), 0);
    sock_close(sv[0]);
    sock_close(sv[1]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* Both directions, one ready: its report disarms the whole registration
 * (EPOLLONESHOT's rule, kept by every backend), so the other direction
 * becoming ready later is not reported; reregistering re-arms both. */
START_TEST(test_oneshot_both_directions_disarmed_as_a_whole)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_fd sv[2];
    stream_pair(sv);
    cmio_interest both = CMIO_READABLE | CMIO_WRITABLE | CMIO_ONESHOT;
    ck_assert_int_eq(cmio_registry_register(r, sv[0], 1, both), 0);
    uint32_t flags = first_report(p, ev, 1, NULL);
    ck_assert(flags & CMIO_EVENT_WRITABLE);
    ck_assert(!(flags & CMIO_EVENT_READABLE));
    put(sv[1], 10); /* reading becomes ready: not reported */
    ck_assert_int_eq(count_events(p, ev, 1, QUIET_MS), 0);
    ck_assert_int_eq(cmio_registry_reregister(r, sv[0], 2, both), 0);
    ck_assert(first_report(p, ev, 2, NULL) != 0);
    ck_assert_int_eq(count_events(p, ev, 2, QUIET_MS), 0);
    /* Re-armed reading only: the data still there is reported. */
    ck_assert_int_eq(cmio_registry_reregister(r, sv[0], 3, CMIO_READABLE | CMIO_ONESHOT), 0);
    ck_assert(first_report(p, ev, 3, NULL) & CMIO_EVENT_READABLE);
    ck_assert_int_eq(count_events(p, ev, 3, QUIET_MS), 0);
    sock_close(sv[0]);
    sock_close(sv[1]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* cmio I/O calls that return -EAGAIN (and take_error) re-arm an edge
 * registration on the poll(2) backend (src/rearm.h); they never re-arm a
 * oneshot one, on any backend. */
START_TEST(test_oneshot_not_rearmed_by_eagain)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_fd sv[2];
    stream_pair(sv);
    ck_assert_int_eq(cmio_registry_register(r, sv[0], 1, CMIO_READABLE | CMIO_ONESHOT), 0);
    put(sv[1], 10);
    ck_assert(first_report(p, ev, 1, NULL) & CMIO_EVENT_READABLE);
    ck_assert_uint_eq(drain(sv[0]), 10); /* ends with -EAGAIN through cmio */
    put(sv[1], 10);
    ck_assert_int_eq(count_events(p, ev, 1, QUIET_MS), 0);

    ck_assert_int_eq(cmio_registry_register(r, sv[1], 2, CMIO_WRITABLE | CMIO_ONESHOT), 0);
    ck_assert(first_report(p, ev, 2, NULL) & CMIO_EVENT_WRITABLE);
    fill(sv[1]); /* ends with -EAGAIN through cmio */
    raw_drain(sv[0]);
    cmio_unix_stream s = {.fd = sv[1]};
    ck_assert_int_eq(cmio_unix_stream_take_error(&s), 0);
    ck_assert_int_eq(count_events(p, ev, 2, QUIET_MS), 0);
    ck_assert_int_eq(count_events(p, ev, 1, QUIET_MS), 0);
    /* Only reregistering re-arms it. */
    ck_assert_int_eq(cmio_registry_reregister(r, sv[1], 2, CMIO_WRITABLE | CMIO_ONESHOT), 0);
    ck_assert(first_report(p, ev, 2, NULL) & CMIO_EVENT_WRITABLE);
    sock_close(sv[0]);
    sock_close(sv[1]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* A oneshot registration deregistered (armed, or spent) stays silent; the
 * descriptor may be registered again, armed. */
START_TEST(test_oneshot_deregistered_stays_silent)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_fd sv[2];
    stream_pair(sv);
    ck_assert_int_eq(cmio_registry_register(r, sv[0], 1, CMIO_READABLE | CMIO_ONESHOT), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, sv[0]), 0);
    put(sv[1], 10);
    ck_assert_int_eq(count_events(p, ev, 1, QUIET_MS), 0);
    ck_assert_int_eq(cmio_registry_reregister(r, sv[0], 1, CMIO_READABLE | CMIO_ONESHOT), -ENOENT);
    ck_assert_int_eq(count_events(p, ev, 1, QUIET_MS), 0);
    /* Spent, then deregistered. */
    ck_assert_int_eq(cmio_registry_register(r, sv[0], 2, CMIO_READABLE | CMIO_ONESHOT), 0);
    ck_assert(first_report(p, ev, 2, NULL) & CMIO_EVENT_READABLE);
    ck_assert_int_eq(cmio_registry_deregister(r, sv[0]), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, sv[0]), -ENOENT);
    put(sv[1], 10);
    drain(sv[0]);
    put(sv[1], 10);
    ck_assert_int_eq(count_events(p, ev, 2, QUIET_MS), 0);
    sock_close(sv[0]);
    sock_close(sv[1]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Changing modes, and the door                                             */
/* ------------------------------------------------------------------------ */

/* Reregistering changes the mode (kqueue replaces the knote): edge, then
 * level, then edge again, then oneshot, then level. */
START_TEST(test_reregister_changes_mode)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_fd sv[2];
    stream_pair(sv);
    ck_assert_int_eq(cmio_registry_register(r, sv[0], 1, CMIO_READABLE), 0);
    put(sv[1], 10);
    ck_assert(first_report(p, ev, 1, NULL) & CMIO_EVENT_READABLE);
    ck_assert_int_eq(count_events(p, ev, 1, QUIET_MS), 0);
    ck_assert_int_eq(cmio_registry_reregister(r, sv[0], 2, CMIO_READABLE | CMIO_LEVEL), 0);
    assert_every_poll(p, ev, 2, CMIO_EVENT_READABLE);
    ck_assert_int_eq(cmio_registry_reregister(r, sv[0], 3, CMIO_READABLE), 0);
    ck_assert(first_report(p, ev, 3, NULL) & CMIO_EVENT_READABLE);
    ck_assert_int_eq(count_events(p, ev, 3, QUIET_MS), 0);
    ck_assert_int_eq(cmio_registry_reregister(r, sv[0], 4, CMIO_READABLE | CMIO_ONESHOT), 0);
    ck_assert(first_report(p, ev, 4, NULL) & CMIO_EVENT_READABLE);
    ck_assert_int_eq(count_events(p, ev, 4, QUIET_MS), 0);
    ck_assert_int_eq(cmio_registry_reregister(r, sv[0], 5, CMIO_READABLE | CMIO_LEVEL), 0);
    assert_every_poll(p, ev, 5, CMIO_EVENT_READABLE);
    ck_assert_uint_eq(drain(sv[0]), 10);
    ck_assert_int_eq(count_events(p, ev, 5, QUIET_MS), 0);
    sock_close(sv[0]);
    sock_close(sv[1]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* A mode alone asks for no readiness; bits past the modes are unknown. */
START_TEST(test_mode_argument_errors)
{
    cmio_poll *p = open_poll(_i);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_fd sv[2];
    stream_pair(sv);
    static const cmio_interest bad[] = {CMIO_LEVEL,
                                        CMIO_ONESHOT,
                                        CMIO_LEVEL | CMIO_ONESHOT,
                                        0x20,
                                        CMIO_READABLE | 0x20,
                                        CMIO_WRITABLE | CMIO_LEVEL | 0x40,
                                        CMIO_READABLE | CMIO_ONESHOT | 0x80,
                                        0xe0};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        ck_assert_int_eq(cmio_registry_register(r, sv[0], 1, bad[k]), -EINVAL);
        ck_assert_int_eq(cmio_registry_reregister(r, sv[0], 1, bad[k]), -EINVAL);
    }
    ck_assert_int_eq(cmio_registry_register(NULL, sv[0], 1, CMIO_READABLE | CMIO_LEVEL), -EINVAL);
    ck_assert_int_eq(cmio_registry_reregister(NULL, sv[0], 1, CMIO_READABLE | CMIO_ONESHOT), -EINVAL);
    ck_assert_int_eq(cmio_registry_register(r, -1, 1, CMIO_READABLE | CMIO_LEVEL), -EBADF);
    ck_assert_int_eq(cmio_registry_reregister(r, -1, 1, CMIO_READABLE | CMIO_ONESHOT), -EBADF);
    ck_assert_int_eq(cmio_registry_reregister(r, sv[0], 1, CMIO_READABLE | CMIO_ONESHOT), -ENOENT);
    int prio = (cmio__poll_caps(p) & CMIO__SEL_PRIORITY) ? 0 : -ENOTSUP;
    ck_assert_int_eq(cmio_registry_register(r, sv[0], 1, CMIO_PRIORITY | CMIO_LEVEL | CMIO_ONESHOT), prio);
    if (prio == 0)
        ck_assert_int_eq(cmio_registry_deregister(r, sv[0]), 0);
    /* A bad call changed nothing: the descriptor registers once. */
    cmio_interest all = CMIO_READABLE | CMIO_WRITABLE | CMIO_LEVEL | CMIO_ONESHOT;
    ck_assert_int_eq(cmio_registry_register(r, sv[0], 1, all), 0);
    ck_assert_int_eq(cmio_registry_register(r, sv[0], 1, all), -EEXIST);
    ck_assert_int_eq(cmio_registry_reregister(r, sv[0], 1, CMIO_LEVEL), -EINVAL);
    ck_assert_int_eq(cmio_registry_reregister(r, sv[0], 1, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, sv[0]), 0);
    sock_close(sv[0]);
    sock_close(sv[1]);
    cmio_poll_free(p);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* mio 0.3's tests of PollOpt::level() and PollOpt::oneshot()               */
/* ------------------------------------------------------------------------ */

/* Polls (bounded) until a poll reports token, asserting that no poll
 * reports it twice (mio's wait_for in test_oneshot.rs). */
static void wait_once(cmio_poll *p, cmio_events *ev, cmio_token token)
{
    int records = 0;
    first_report(p, ev, token, &records);
    ck_assert_msg(records == 1, "token %lu appeared %d times in one poll", (unsigned long)token, records);
}

/* test_oneshot.rs: test_tcp_edge_oneshot. A listener and the connecting
 * stream level-triggered, the accepted stream oneshot: each byte of "foo"
 * is reported once, read, and the registration re-armed (twice for 'o',
 * as in mio). */
START_TEST(mio_test_tcp_edge_oneshot)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(1024);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    listen_any(&l, &addr);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, 0, CMIO_READABLE | CMIO_LEVEL), 0);
    cmio_tcp_stream s1;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s1, &addr), 0);
    ck_assert_int_eq(cmio_registry_register(r, s1.fd, 1, CMIO_WRITABLE | CMIO_LEVEL), 0);
    wait_once(p, ev, 0);
    cmio_tcp_stream s2;
    ck_assert_int_eq(cmio_tcp_listener_accept(&l, &s2, NULL), 0);
    ck_assert_int_eq(cmio_registry_register(r, s2.fd, 2, CMIO_READABLE | CMIO_ONESHOT), 0);
    wait_once(p, ev, 1);
    ck_assert_int_eq(cmio_tcp_stream_write(&s1, "foo", 3), 3);
    for (const char *byte = "foo"; *byte; byte++) {
        wait_once(p, ev, 2);
        char c = 0;
        ck_assert_int_eq(cmio_tcp_stream_read(&s2, &c, 1), 1);
        ck_assert_int_eq(c, *byte);
        ck_assert_int_eq(cmio_registry_reregister(r, s2.fd, 2, CMIO_READABLE | CMIO_ONESHOT), 0);
        if (*byte == 'o')
            ck_assert_int_eq(cmio_registry_reregister(r, s2.fd, 2, CMIO_READABLE | CMIO_ONESHOT), 0);
    }
    ck_assert_int_eq(cmio_registry_deregister(r, s2.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, s1.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_tcp_stream_close(&s2);
    cmio_tcp_stream_close(&s1);
    cmio_tcp_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* test_tcp_level.rs: test_tcp_listener_level_triggered. A pending
 * connection is reported at every poll (one record each) until accepted;
 * a new one is reported again; a listener gone (deregistered, then closed:
 * mio's drop) reports nothing. */
START_TEST(mio_test_tcp_listener_level_triggered)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(1024);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    listen_any(&l, &addr);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, 0, CMIO_READABLE | CMIO_LEVEL), 0);
    cmio_tcp_stream s1;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s1, &addr), 0);
    ck_assert_int_eq(cmio_registry_register(r, s1.fd, 1, CMIO_READABLE), 0);
    int records = 0;
    ck_assert(first_report(p, ev, 0, &records) & CMIO_EVENT_READABLE);
    ck_assert_int_eq(records, 1);
    ck_assert(poll_token(p, ev, 0, WAIT_MS, &records) & CMIO_EVENT_READABLE);
    ck_assert_int_eq(records, 1);
    cmio_tcp_stream a1;
    ck_assert_int_eq(cmio_tcp_listener_accept(&l, &a1, NULL), 0);
    ck_assert_int_eq(count_events(p, ev, 0, QUIET_MS), 0);
    cmio_tcp_stream s3;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s3, &addr), 0);
    ck_assert_int_eq(cmio_registry_register(r, s3.fd, 2, CMIO_READABLE), 0);
    ck_assert(first_report(p, ev, 0, &records) & CMIO_EVENT_READABLE);
    ck_assert_int_eq(records, 1);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_tcp_listener_close(&l);
    ck_assert_int_eq(count_events(p, ev, 0, QUIET_MS), 0);
    cmio_tcp_stream_close(&a1);
    ck_assert_int_eq(cmio_registry_deregister(r, s3.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, s1.fd), 0);
    cmio_tcp_stream_close(&s3);
    cmio_tcp_stream_close(&s1);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* test_tcp_level.rs: test_tcp_stream_level_triggered. A level stream
 * registered for both directions: writable at every poll, readable too
 * while data waits, writable without readable once it is read; gone
 * (deregistered and closed), nothing. mio's sleeps are waits for the
 * event instead. */
START_TEST(mio_test_tcp_stream_level_triggered)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(1024);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    listen_any(&l, &addr);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, 0, CMIO_READABLE), 0);
    cmio_tcp_stream s1;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s1, &addr), 0);
    ck_assert_int_eq(cmio_registry_register(r, s1.fd, 1, CMIO_READABLE | CMIO_WRITABLE | CMIO_LEVEL), 0);
    expect_event both[] = {{0, CMIO_EVENT_READABLE}, {1, CMIO_EVENT_WRITABLE}};
    expect_events(p, ev, both, 2);
    cmio_tcp_stream s1_tx;
    ck_assert_int_eq(cmio_tcp_listener_accept(&l, &s1_tx, NULL), 0);
    assert_every_poll(p, ev, 1, CMIO_EVENT_WRITABLE);
    ck_assert_int_eq(cmio_registry_register(r, s1_tx.fd, 123, CMIO_READABLE), 0);
    static const char hello[] = "hello world!";
    ck_assert_int_eq(cmio_tcp_stream_write(&s1_tx, hello, sizeof(hello) - 1), (ssize_t)(sizeof(hello) - 1));
    ck_assert(wait_for(p, ev, 1, CMIO_EVENT_READABLE, WAIT_MS));
    assert_every_poll(p, ev, 1, CMIO_EVENT_READABLE | CMIO_EVENT_WRITABLE);
    char buf[64];
    size_t got = 0;
    for (int k = 0; k < 100; k++) {
        ssize_t n = cmio_tcp_stream_read(&s1, buf + got, sizeof(buf) - got);
        if (n <= 0) {
            ck_assert_int_eq(n, -EAGAIN);
            break;
        }
        got += (size_t)n;
    }
    ck_assert_uint_eq(got, sizeof(hello) - 1);
    ck_assert_int_eq(memcmp(buf, hello, got), 0);
    for (int k = 0; k < LEVEL_POLLS; k++) {
        uint32_t flags = poll_token(p, ev, 1, WAIT_MS, NULL);
        ck_assert(flags & CMIO_EVENT_WRITABLE);
        ck_assert(!(flags & CMIO_EVENT_READABLE));
    }
    ck_assert_int_eq(cmio_registry_deregister(r, s1.fd), 0);
    cmio_tcp_stream_close(&s1);
    ck_assert_int_eq(count_events(p, ev, 1, QUIET_MS), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, s1_tx.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_tcp_stream_close(&s1_tx);
    cmio_tcp_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* test_udp_level.rs: test_udp_level_triggered. Two level UDP sockets for
 * both directions: writable at every poll; the receiver readable and
 * writable while a datagram waits, writable only once it is received. */
START_TEST(mio_test_udp_level_triggered)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(1024);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_sockaddr any = parse_addr("127.0.0.1:0"), rx_addr;
    cmio_udp_socket tx, rx;
    ck_assert_int_eq(cmio_udp_socket_bind(&tx, &any), 0);
    ck_assert_int_eq(cmio_udp_socket_bind(&rx, &any), 0);
    ck_assert_int_eq(cmio_udp_socket_local_addr(&rx, &rx_addr), 0);
    cmio_interest both = CMIO_READABLE | CMIO_WRITABLE | CMIO_LEVEL;
    ck_assert_int_eq(cmio_registry_register(r, tx.fd, 0, both), 0);
    ck_assert_int_eq(cmio_registry_register(r, rx.fd, 1, both), 0);
    expect_event writable[] = {{0, CMIO_EVENT_WRITABLE}, {1, CMIO_EVENT_WRITABLE}};
    for (int k = 0; k < 2; k++)
        expect_events(p, ev, writable, 2);
    static const char hello[] = "hello world!";
    ck_assert_int_eq(cmio_udp_socket_send_to(&tx, hello, sizeof(hello) - 1, &rx_addr),
                     (ssize_t)(sizeof(hello) - 1));
    ck_assert(wait_for(p, ev, 1, CMIO_EVENT_READABLE, WAIT_MS));
    for (int k = 0; k < 2; k++)
        assert_every_poll(p, ev, 1, CMIO_EVENT_READABLE | CMIO_EVENT_WRITABLE);
    char buf[200];
    for (int k = 0; k < 100 && cmio_udp_socket_recv_from(&rx, buf, sizeof(buf), NULL) >= 0; k++)
        ;
    for (int k = 0; k < 2; k++) {
        uint32_t flags = poll_token(p, ev, 1, WAIT_MS, NULL);
        ck_assert(flags & CMIO_EVENT_WRITABLE);
        ck_assert(!(flags & CMIO_EVENT_READABLE));
    }
    ck_assert_int_eq(cmio_udp_socket_send_to(&tx, hello, sizeof(hello) - 1, &rx_addr),
                     (ssize_t)(sizeof(hello) - 1));
    ck_assert(wait_for(p, ev, 1, CMIO_EVENT_READABLE | CMIO_EVENT_WRITABLE, WAIT_MS));
    ck_assert_int_eq(cmio_registry_deregister(r, rx.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, tx.fd), 0);
    cmio_udp_socket_close(&rx);
    cmio_udp_socket_close(&tx);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

static Suite *modes_suite(void)
{
    Suite *s = suite_create("modes");
    TCase *tc = tcase_create("modes");
    tcase_set_timeout(tc, 60);
    add_backend_test(tc, test_level_readable_reported_until_drained);
    add_backend_test(tc, test_level_writable_reported_every_poll);
    add_backend_test(tc, test_edge_default_reported_once);
    add_backend_test(tc, test_level_hang_up_reported_every_poll);
    add_backend_test(tc, test_level_reset_reported_every_poll);
    add_backend_test(tc, test_oneshot_reported_once_until_reregister);
    add_backend_test(tc, test_oneshot_rearmed_while_poll_blocked);
    add_backend_test(tc, test_level_oneshot_reported_once);
    add_backend_test(tc, test_oneshot_both_directions_ready_together);
    add_backend_test(tc, test_oneshot_both_directions_disarmed_as_a_whole);
    add_backend_test(tc, test_oneshot_not_rearmed_by_eagain);
    add_backend_test(tc, test_oneshot_deregistered_stays_silent);
    add_backend_test(tc, test_reregister_changes_mode);
    add_backend_test(tc, test_mode_argument_errors);
    add_backend_test(tc, mio_test_tcp_edge_oneshot);
    add_backend_test(tc, mio_test_tcp_listener_level_triggered);
    add_backend_test(tc, mio_test_tcp_stream_level_triggered);
    add_backend_test(tc, mio_test_udp_level_triggered);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(modes_suite());
}
