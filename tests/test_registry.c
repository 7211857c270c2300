/*
 * Registry: the edge-triggered contract, registration errors, clones and
 * registration from other threads.
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include <errno.h>
#if !defined(_WIN32)
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#endif
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* A poll, an events buffer and a registered socketpair per test. */
struct fixture {
    cmio_poll *p;
    cmio_events *ev;
    cmio_registry *r;
    cmio_fd sv[2]; /* sv[0] registered, sv[1] the peer */
};

static void setup(struct fixture *f, int backend, cmio_interest interest)
{
    f->p = open_poll(backend);
    f->ev = open_events(16);
    f->r = cmio_poll_registry(f->p);
    ck_assert_ptr_nonnull(f->r);
    stream_pair(f->sv);
    ck_assert_int_eq(cmio_registry_register(f->r, f->sv[0], 1, interest), 0);
}

static void teardown(struct fixture *f)
{
    if (f->sv[0] != CMIO_FD_INVALID)
        sock_close(f->sv[0]);
    if (f->sv[1] != CMIO_FD_INVALID)
        sock_close(f->sv[1]);
    cmio_events_free(f->ev);
    cmio_poll_free(f->p);
}

START_TEST(test_no_event_before_data)
{
    struct fixture f;
    setup(&f, _i, CMIO_READABLE);
    ck_assert_int_eq(count_events(f.p, f.ev, 1, QUIET_MS), 0);
    teardown(&f);
}
END_TEST

START_TEST(test_one_event_per_edge_and_none_after_draining)
{
    struct fixture f;
    setup(&f, _i, CMIO_READABLE);
    put(f.sv[1], 10);
    uint32_t seen = wait_for(f.p, f.ev, 1, CMIO_EVENT_READABLE, WAIT_MS);
    ck_assert(seen & CMIO_EVENT_READABLE);
    ck_assert(!(seen & (CMIO_EVENT_ERROR | CMIO_EVENT_READ_CLOSED | CMIO_EVENT_WRITABLE)));
    /* Unread data is not reported again: no busy loop. */
    ck_assert_int_eq(count_events(f.p, f.ev, 1, QUIET_MS), 0);
    ck_assert_uint_eq(drain(f.sv[0]), 10);
    ck_assert_int_eq(count_events(f.p, f.ev, 1, QUIET_MS), 0);
    teardown(&f);
}
END_TEST

START_TEST(test_new_event_after_new_data)
{
    struct fixture f;
    setup(&f, _i, CMIO_READABLE);
    for (int round = 0; round < 3; round++) {
        put(f.sv[1], 5);
        ck_assert(wait_for(f.p, f.ev, 1, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
        ck_assert_uint_eq(drain(f.sv[0]), 5);
    }
    teardown(&f);
}
END_TEST

START_TEST(test_writable_reported_once_while_it_stays_writable)
{
    struct fixture f;
    setup(&f, _i, CMIO_WRITABLE);
    ck_assert(wait_for(f.p, f.ev, 1, CMIO_EVENT_WRITABLE, WAIT_MS) & CMIO_EVENT_WRITABLE);
    ck_assert_int_eq(count_events(f.p, f.ev, 1, QUIET_MS), 0);
    teardown(&f);
}
END_TEST

START_TEST(test_reregister_replaces_token_and_interest)
{
    struct fixture f;
    setup(&f, _i, CMIO_READABLE);
    ck_assert_int_eq(cmio_registry_reregister(f.r, f.sv[0], 2, CMIO_WRITABLE), 0);
    uint32_t seen = wait_for(f.p, f.ev, 2, CMIO_EVENT_WRITABLE, WAIT_MS);
    ck_assert(seen & CMIO_EVENT_WRITABLE);
    /* Readable is no longer asked for, and token 1 is gone. */
    put(f.sv[1], 3);
    int ones = 0, twos = 0;
    int64_t deadline = now_ms() + QUIET_MS;
    while (now_ms() < deadline) {
        ck_assert_int_ge(cmio_poll_poll(f.p, f.ev, QUIET_MS), 0);
        for (size_t i = 0; i < cmio_events_len(f.ev); i++) {
            const cmio_event *e = cmio_events_get(f.ev, i);
            ones += cmio_event_token(e) == 1;
            twos += cmio_event_token(e) == 2 && cmio_event_is_readable(e);
        }
    }
    ck_assert_int_eq(ones, 0);
    ck_assert_int_eq(twos, 0);
    /* Back to readable under a third token: the pending data is reported. */
    ck_assert_int_eq(cmio_registry_reregister(f.r, f.sv[0], 3, CMIO_READABLE), 0);
    ck_assert(wait_for(f.p, f.ev, 3, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    teardown(&f);
}
END_TEST

START_TEST(test_deregister_stops_events)
{
    struct fixture f;
    setup(&f, _i, CMIO_READABLE | CMIO_WRITABLE);
    ck_assert_int_eq(cmio_registry_deregister(f.r, f.sv[0]), 0);
    put(f.sv[1], 4);
    ck_assert_int_eq(count_events(f.p, f.ev, 1, QUIET_MS), 0);
    teardown(&f);
}
END_TEST

START_TEST(test_register_again_after_deregister)
{
    struct fixture f;
    setup(&f, _i, CMIO_READABLE);
    ck_assert_int_eq(cmio_registry_deregister(f.r, f.sv[0]), 0);
    ck_assert_int_eq(cmio_registry_register(f.r, f.sv[0], 9, CMIO_READABLE), 0);
    put(f.sv[1], 1);
    ck_assert(wait_for(f.p, f.ev, 9, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    teardown(&f);
}
END_TEST

START_TEST(test_capability_bit_says_how_edges_are_made)
{
    cmio_poll *p = open_poll(_i);
    /* The table's bit, not the name, is what tests ask; this checks the
     * table itself: poll(2) is level-triggered and emulates edges. */
    bool emulated = strcmp(cmio_poll_backend(p), "poll") == 0 || strcmp(cmio_poll_backend(p), "iocp") == 0;
    ck_assert_int_eq(!(cmio__poll_caps(p) & CMIO__SEL_EDGE_NATIVE), emulated);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_writable_again_after_write_returns_eagain)
{
    struct fixture f;
    setup(&f, _i, CMIO_WRITABLE);
    ck_assert(wait_for(f.p, f.ev, 1, CMIO_EVENT_WRITABLE, WAIT_MS) & CMIO_EVENT_WRITABLE);
    /* Fill the socket through cmio until -EAGAIN, then let the peer make
     * room: a new writable event is owed. */
    cmio_unix_stream s = {.fd = f.sv[0]};
    static char block[4096];
    ssize_t n = 0;
    for (int k = 0; k < 100000 && (n = cmio_unix_stream_write(&s, block, sizeof(block))) > 0; k++)
        ;
    ck_assert_int_eq(n, -EAGAIN);
    ck_assert_int_eq(count_events(f.p, f.ev, 1, QUIET_MS), 0);
    ck_assert_uint_gt(drain(f.sv[1]), 0);
    ck_assert(wait_for(f.p, f.ev, 1, CMIO_EVENT_WRITABLE, WAIT_MS) & CMIO_EVENT_WRITABLE);
    teardown(&f);
}
END_TEST

START_TEST(test_raw_eagain_is_rearmed_by_reregister)
{
    struct fixture f;
    setup(&f, _i, CMIO_READABLE);
    /* Only for emulated edges: a kernel that is edge-triggered reports the
     * new data whatever call read the old. */
    if (cmio__poll_caps(f.p) & CMIO__SEL_EDGE_NATIVE) {
        teardown(&f);
        return;
    }
    put(f.sv[1], 3);
    ck_assert(wait_for(f.p, f.ev, 1, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    /* Drained by a raw sock_recv(2): cmio does not see the -EAGAIN ... */
    char buf[16];
    ck_assert_int_eq(sock_recv(f.sv[0], buf, sizeof(buf)), 3);
    ck_assert_int_eq(sock_recv(f.sv[0], buf, sizeof(buf)), -1);
    ck_assert_int_eq(errno, EAGAIN);
    put(f.sv[1], 2);
    ck_assert_int_eq(count_events(f.p, f.ev, 1, QUIET_MS), 0);
    /* ... so the descriptor is re-armed by reregistering it. */
    ck_assert_int_eq(cmio_registry_reregister(f.r, f.sv[0], 1, CMIO_READABLE), 0);
    ck_assert(wait_for(f.p, f.ev, 1, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    teardown(&f);
}
END_TEST

START_TEST(test_stale_readiness_of_deregistered_descriptor_is_dropped)
{
    cmio_poll *p = open_poll(_i);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_events *ev = open_events(1);
    cmio_fd a[2], b[2];
    stream_pair(a);
    stream_pair(b);
    put(a[1], 1);
    put(b[1], 1);
    ck_assert_int_eq(cmio_registry_register(r, a[0], 1, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_register(r, b[0], 2, CMIO_READABLE), 0);
    /* Both are ready; one event fits. */
    ck_assert_int_eq(cmio_poll_poll(p, ev, WAIT_MS), 1);
    cmio_token first = cmio_event_token(cmio_events_get(ev, 0));
    ck_assert(first == 1 || first == 2);
    cmio_fd *other = first == 1 ? b : a;
    /* The other one goes, and a quiet descriptor takes its number. */
    cmio_fd number = other[0];
    ck_assert_int_eq(cmio_registry_deregister(r, other[0]), 0);
    sock_close(other[0]);
    sock_close(other[1]);
    stream_pair(other);
    ck_assert_int_eq(other[0], number);
    ck_assert_int_eq(cmio_registry_register(r, other[0], 3, CMIO_READABLE), 0);
    int64_t deadline = now_ms() + QUIET_MS;
    while (now_ms() < deadline) {
        ck_assert_int_ge(cmio_poll_poll(p, ev, QUIET_MS), 0);
        for (size_t i = 0; i < cmio_events_len(ev); i++)
            ck_abort_msg("stale event with token %lu",
                         (unsigned long)cmio_event_token(cmio_events_get(ev, i)));
    }
    sock_close(a[0]);
    sock_close(a[1]);
    sock_close(b[0]);
    sock_close(b[1]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_many_registrations_each_reported_once)
{
    /* Past the poll(2) backend's first table of 64: it grows. */
    enum { N = 150, CAP = 64 };
    cmio_poll *p = open_poll(_i);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_events *ev = open_events(CAP);
    static cmio_fd pairs[N][2];
    int seen[N] = {0}, total = 0;
    for (int k = 0; k < N; k++) {
        stream_pair(pairs[k]);
        ck_assert_int_eq(cmio_registry_register(r, pairs[k][0], (cmio_token)k, CMIO_READABLE), 0);
    }
    for (int k = 0; k < N; k += 2) /* half of them go again */
        ck_assert_int_eq(cmio_registry_deregister(r, pairs[k][0]), 0);
    for (int k = 0; k < N; k += 2)
        ck_assert_int_eq(cmio_registry_register(r, pairs[k][0], (cmio_token)k, CMIO_READABLE), 0);
    for (int k = 0; k < N; k++)
        put(pairs[k][1], 1);
    int64_t deadline = now_ms() + WAIT_MS;
    for (int round = 0; round < 1000 && total < N && now_ms() < deadline; round++) {
        ck_assert_int_ge(cmio_poll_poll(p, ev, WAIT_MS), 0);
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            cmio_token t = cmio_event_token(cmio_events_get(ev, i));
            ck_assert_uint_lt(t, N);
            total += seen[t]++ == 0;
        }
    }
    ck_assert_int_eq(total, N);
    ck_assert_int_eq(cmio_poll_poll(p, ev, QUIET_MS), 0);
    for (int k = 0; k < N; k++) {
        ck_assert_int_eq(seen[k], 1);
        ck_assert_int_eq(cmio_registry_deregister(r, pairs[k][0]), 0);
        sock_close(pairs[k][0]);
        sock_close(pairs[k][1]);
    }
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_deregister_after_close_reports_ebadf_and_forgets)
{
    cmio_poll *p = open_poll(_i);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_events *ev = open_events(4);
    cmio_fd sv[2];
    stream_pair(sv);
    cmio_fd number = sv[0];
    ck_assert_int_eq(cmio_registry_register(r, sv[0], 1, CMIO_READABLE), 0);
    sock_close(sv[0]); /* the user's error: closed while registered */
    ck_assert_int_eq(cmio_registry_deregister(r, number), -EBADF);
    sock_close(sv[1]);
    /* The number is free for a new registration. */
    stream_pair(sv);
    ck_assert_int_eq(sv[0], number);
    ck_assert_int_eq(cmio_registry_register(r, sv[0], 2, CMIO_READABLE), 0);
    put(sv[1], 1);
    ck_assert(wait_for(p, ev, 2, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    sock_close(sv[0]);
    sock_close(sv[1]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_read_closed_when_peer_closes)
{
    struct fixture f;
    setup(&f, _i, CMIO_READABLE);
    put(f.sv[1], 2);
    sock_close(f.sv[1]);
    f.sv[1] = CMIO_FD_INVALID;
    if (cmio__poll_caps(f.p) & CMIO__SEL_FIN_AFTER_DATA) {
        /* The shutdown may come only once the data is read (Wine's AFD):
         * readable first, with the bytes, then read-closed. */
        ck_assert(wait_for(f.p, f.ev, 1, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
        ck_assert_uint_eq(drain(f.sv[0]), 2);
        ck_assert(wait_for(f.p, f.ev, 1, CMIO_EVENT_READ_CLOSED, WAIT_MS) & CMIO_EVENT_READ_CLOSED);
        teardown(&f);
        return;
    }
    uint32_t seen = wait_for(f.p, f.ev, 1, CMIO_EVENT_READ_CLOSED, WAIT_MS);
    ck_assert(seen & CMIO_EVENT_READ_CLOSED);
    ck_assert(seen & CMIO_EVENT_READABLE);
    /* The bytes sent before the close are still there. */
    ck_assert_uint_eq(drain(f.sv[0]), 2);
    teardown(&f);
}
END_TEST

START_TEST(test_read_closed_when_peer_shuts_down_writing)
{
    struct fixture f;
    setup(&f, _i, CMIO_READABLE);
    ck_assert_int_eq(shutdown(f.sv[1], SHUT_WR), 0);
    uint32_t seen = wait_for(f.p, f.ev, 1, CMIO_EVENT_READ_CLOSED, WAIT_MS);
    ck_assert(seen & CMIO_EVENT_READ_CLOSED);
    ck_assert(!(seen & CMIO_EVENT_WRITE_CLOSED));
    teardown(&f);
}
END_TEST

START_TEST(test_hang_up_reported_whatever_the_interest)
{
    struct fixture f;
    setup(&f, _i, CMIO_WRITABLE);
    ck_assert(wait_for(f.p, f.ev, 1, CMIO_EVENT_WRITABLE, WAIT_MS));
    sock_close(f.sv[1]);
    f.sv[1] = CMIO_FD_INVALID;
    if (cmio__poll_caps(f.p) & CMIO__SEL_FIN_NEEDS_READ) {
        /* A graceful close reaches readable registrations only (AFD's
         * DISCONNECT, asked with readable): nothing for writable alone,
         * and read-closed once readable is asked. */
        ck_assert_int_eq(count_events(f.p, f.ev, 1, QUIET_MS), 0);
        ck_assert_int_eq(cmio_registry_reregister(f.r, f.sv[0], 1, CMIO_READABLE | CMIO_WRITABLE), 0);
        ck_assert(wait_for(f.p, f.ev, 1, CMIO_EVENT_READ_CLOSED, WAIT_MS) & CMIO_EVENT_READ_CLOSED);
        teardown(&f);
        return;
    }
    uint32_t seen = wait_for(f.p, f.ev, 1, CMIO_EVENT_WRITE_CLOSED, WAIT_MS);
    ck_assert(seen & CMIO_EVENT_WRITE_CLOSED);
    /* Read-closed too where the hang-up is one condition (EPOLLHUP,
     * POLLHUP); kqueue reports EV_EOF per registered filter only. */
    if (cmio__poll_caps(f.p) & CMIO__SEL_HUP_WHOLE)
        ck_assert(seen & CMIO_EVENT_READ_CLOSED);
    /* Once per occurrence: the hang-up lasts, its event does not repeat. */
    ck_assert_int_eq(count_events(f.p, f.ev, 1, QUIET_MS), 0);
    teardown(&f);
}
END_TEST

START_TEST(test_error_flag_on_refused_connection)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    /* A loopback port with nothing listening: bound, never listened on. */
    cmio_fd holder;
    cmio_fd c = connect_refused(&holder);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), c, 5, CMIO_WRITABLE), 0);
    uint32_t seen = wait_for(p, ev, 5, CMIO_EVENT_ERROR, WAIT_MS);
    ck_assert(seen & CMIO_EVENT_ERROR);
    ck_assert(seen & CMIO_EVENT_WRITE_CLOSED);
    ck_assert_int_eq(sock_error(c), ECONNREFUSED);
    sock_close(c);
    sock_close(holder);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_error_flag_when_peer_resets)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_fd sv[2];
    tcp_pair(sv);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), sv[0], 6, CMIO_READABLE), 0);
    struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* close sends RST */
    sock_setsockopt(sv[1], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    sock_close(sv[1]);
    if (cmio__poll_caps(p) & CMIO__SEL_RESET_HUP) {
        /* A reset is a hang-up here (AFD's ABORT, mio's reading): both
         * closed flags, no error flag. */
        uint32_t hup = wait_for(p, ev, 6, CMIO_EVENT_READ_CLOSED | CMIO_EVENT_WRITE_CLOSED, WAIT_MS);
        ck_assert(hup & CMIO_EVENT_READ_CLOSED);
        ck_assert(hup & CMIO_EVENT_WRITE_CLOSED);
        ck_assert(!(hup & CMIO_EVENT_ERROR));
        char b;
        cmio_tcp_stream s = {.fd = sv[0]};
        /* -ECONNRESET on Windows; Wine's AFD takes the socket's pending
         * error when it polls, and its recv then sees the end. */
        ssize_t r = cmio_tcp_stream_read(&s, &b, 1);
        ck_assert_msg(r == -ECONNRESET || r == 0, "read after a reset: %zd", r);
        sock_close(sv[0]);
        cmio_events_free(ev);
        cmio_poll_free(p);
        return;
    }
    uint32_t seen = wait_for(p, ev, 6, CMIO_EVENT_ERROR | CMIO_EVENT_READ_CLOSED, WAIT_MS);
    ck_assert(seen & CMIO_EVENT_ERROR);
    ck_assert(seen & CMIO_EVENT_READ_CLOSED);
    /* A hang-up reported whole (epoll, poll(2)) closes writing too; kqueue
     * reports EV_EOF per filter, and only reading was registered (mio's
     * reading of the record). */
    if (cmio__poll_caps(p) & CMIO__SEL_HUP_WHOLE)
        ck_assert(seen & CMIO_EVENT_WRITE_CLOSED);
    else
        ck_assert(!(seen & CMIO_EVENT_WRITE_CLOSED));
    sock_close(sv[0]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_priority_data_reported_where_supported)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_fd sv[2];
    tcp_pair(sv);
    int rc = cmio_registry_register(cmio_poll_registry(p), sv[1], 8, CMIO_PRIORITY);
    if (!(cmio__poll_caps(p) & CMIO__SEL_PRIORITY)) {
        ck_assert_int_eq(rc, -ENOTSUP);
    } else {
        ck_assert_int_eq(rc, 0);
        char b = '!';
        ck_assert_int_eq(send(sv[0], &b, 1, MSG_OOB | MSG_NOSIGNAL), 1);
        uint32_t seen = wait_for(p, ev, 8, CMIO_EVENT_PRIORITY, WAIT_MS);
        ck_assert(seen & CMIO_EVENT_PRIORITY);
    }
    sock_close(sv[0]);
    sock_close(sv[1]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_registration_errors)
{
    struct fixture f;
    setup(&f, _i, CMIO_READABLE);
    ck_assert_int_eq(cmio_registry_register(f.r, f.sv[0], 1, CMIO_READABLE), -EEXIST);
    ck_assert_int_eq(cmio_registry_reregister(f.r, f.sv[1], 1, CMIO_READABLE), -ENOENT);
    ck_assert_int_eq(cmio_registry_deregister(f.r, f.sv[1]), -ENOENT);
    ck_assert_int_eq(cmio_registry_deregister(f.r, f.sv[0]), 0);
    ck_assert_int_eq(cmio_registry_deregister(f.r, f.sv[0]), -ENOENT);

    cmio_fd closed = closed_socket();
    ck_assert_int_eq(cmio_registry_register(f.r, closed, 1, CMIO_READABLE), -EBADF);
    ck_assert_int_eq(cmio_registry_reregister(f.r, closed, 1, CMIO_READABLE), -EBADF);
    ck_assert_int_eq(cmio_registry_deregister(f.r, closed), -EBADF);
    ck_assert_int_eq(cmio_registry_register(f.r, CMIO_FD_INVALID, 1, CMIO_READABLE), -EBADF);
    ck_assert_int_eq(cmio_registry_reregister(f.r, CMIO_FD_INVALID, 1, CMIO_READABLE), -EBADF);
    ck_assert_int_eq(cmio_registry_deregister(f.r, CMIO_FD_INVALID), -EBADF);

    ck_assert_int_eq(cmio_registry_register(f.r, f.sv[1], 1, 0), -EINVAL);
    ck_assert_int_eq(cmio_registry_register(f.r, f.sv[1], 1, 0x80), -EINVAL);
    ck_assert_int_eq(cmio_registry_reregister(f.r, f.sv[1], 1, 0), -EINVAL);
    ck_assert_int_eq(cmio_registry_register(NULL, f.sv[1], 1, CMIO_READABLE), -EINVAL);
    ck_assert_int_eq(cmio_registry_reregister(NULL, f.sv[1], 1, CMIO_READABLE), -EINVAL);
    ck_assert_int_eq(cmio_registry_deregister(NULL, f.sv[1]), -EINVAL);
    teardown(&f);
}
END_TEST

START_TEST(test_clone_shares_registrations)
{
    struct fixture f;
    setup(&f, _i, CMIO_READABLE);
    cmio_registry *clone = NULL;
    ck_assert_int_eq(cmio_registry_try_clone(NULL, &clone), -EINVAL);
    ck_assert_int_eq(cmio_registry_try_clone(f.r, NULL), -EINVAL);
    ck_assert_int_eq(cmio_registry_try_clone(f.r, &clone), 0);
    ck_assert_ptr_nonnull(clone);
    /* Registered through the poll's registry: the clone sees it too. */
    ck_assert_int_eq(cmio_registry_register(clone, f.sv[0], 1, CMIO_READABLE), -EEXIST);
    ck_assert_int_eq(cmio_registry_register(clone, f.sv[1], 2, CMIO_READABLE), 0);
    put(f.sv[0], 1);
    ck_assert(wait_for(f.p, f.ev, 2, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    ck_assert_int_eq(cmio_registry_deregister(f.r, f.sv[1]), 0);
    /* Freeing a clone leaves the poll working; freeing the poll's own
     * registry does nothing. */
    cmio_registry_free(clone);
    cmio_registry_free(f.r);
    cmio_registry_free(NULL);
    put(f.sv[1], 1);
    ck_assert(wait_for(f.p, f.ev, 1, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    teardown(&f);
}
END_TEST

START_TEST(test_descriptors_are_close_on_exec)
{
    fd_set before;
    if (!fds_open(&before))
        return; /* descriptors cannot be listed here (Windows) */
    cmio_poll *p = open_poll(_i);
    cmio_registry *clone = NULL;
    cmio_waker *w = NULL;
    ck_assert_int_eq(cmio_registry_try_clone(cmio_poll_registry(p), &clone), 0);
    ck_assert_int_eq(cmio_waker_new(clone, 1, &w), 0);
    /* The poll's descriptor (epoll, kqueue) or internal wake (poll), the
     * waker's, and the clone's where it is a dup (epoll, kqueue; a poll(2)
     * clone is a reference on shared state). */
    ck_assert_int_ge(assert_new_fds_cloexec(&before), 2);
    cmio_waker_free(w);
    cmio_registry_free(clone);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_clone_outlives_poll)
{
    cmio_poll *p = open_poll(_i);
    cmio_registry *clone = NULL;
    ck_assert_int_eq(cmio_registry_try_clone(cmio_poll_registry(p), &clone), 0);
    /* A registry works after the poll that it was cloned from is gone. */
    cmio_poll_free(p);
    cmio_fd sv[2];
    stream_pair(sv);
    ck_assert_int_eq(cmio_registry_register(clone, sv[0], 1, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_deregister(clone, sv[0]), 0);
    cmio_registry_free(clone);
    sock_close(sv[0]);
    sock_close(sv[1]);
}
END_TEST

struct remote {
    cmio_registry *clone;
    test_tid poll_tid;
    cmio_fd fd;
    int result;
};

static void *register_when_blocked(void *arg)
{
    struct remote *rm = arg;
    wait_until_blocked_in_poll(rm->poll_tid);
    rm->result = cmio_registry_register(rm->clone, rm->fd, 42, CMIO_READABLE);
    return NULL;
}

START_TEST(test_register_from_other_thread_wakes_blocked_poll)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_fd sv[2];
    stream_pair(sv);
    put(sv[1], 1); /* already readable before it is registered */
    struct remote rm = {.poll_tid = current_tid(), .fd = sv[0], .result = 1};
    ck_assert_int_eq(cmio_registry_try_clone(cmio_poll_registry(p), &rm.clone), 0);
    test_thread t;
    thread_start(&t, register_when_blocked, &rm);
    int n = cmio_poll_poll(p, ev, 4 * WAIT_MS);
    thread_join(&t);
    ck_assert_int_eq(rm.result, 0);
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(cmio_event_token(cmio_events_get(ev, 0)), 42);
    ck_assert(cmio_event_is_readable(cmio_events_get(ev, 0)));
    cmio_registry_free(rm.clone);
    sock_close(sv[0]);
    sock_close(sv[1]);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

struct rearmer {
    test_tid poll_tid;
    cmio_fd fd, peer;
    ssize_t result;
};

static void *rearm_when_blocked(void *arg)
{
    struct rearmer *ra = arg;
    wait_until_blocked_in_poll(ra->poll_tid);
    cmio_unix_stream s = {.fd = ra->fd};
    char buf[8];
    ra->result = cmio_unix_stream_read(&s, buf, sizeof(buf)); /* -EAGAIN */
    put(ra->peer, 1);
    return NULL;
}

START_TEST(test_rearm_from_other_thread_wakes_blocked_poll)
{
    struct fixture f;
    setup(&f, _i, CMIO_READABLE);
    /* Reported, then emptied by a raw read: no -EAGAIN seen by cmio. */
    put(f.sv[1], 1);
    ck_assert(wait_for(f.p, f.ev, 1, CMIO_EVENT_READABLE, WAIT_MS) & CMIO_EVENT_READABLE);
    char b;
    ck_assert_int_eq(sock_recv(f.sv[0], &b, 1), 1);
    /* Another thread reads through cmio (-EAGAIN) while this one is
     * blocked, then data arrives: the blocked poll reports it. */
    struct rearmer ra = {.poll_tid = current_tid(), .fd = f.sv[0], .peer = f.sv[1], .result = 1};
    test_thread t;
    thread_start(&t, rearm_when_blocked, &ra);
    uint32_t seen = wait_for(f.p, f.ev, 1, CMIO_EVENT_READABLE, 4 * WAIT_MS);
    thread_join(&t);
    ck_assert_int_eq(ra.result, -EAGAIN);
    ck_assert(seen & CMIO_EVENT_READABLE);
    teardown(&f);
}
END_TEST

struct remover {
    cmio_registry *r;
    test_tid poll_tid;
    cmio_fd fd, peer;
    int result;
};

static void *deregister_when_blocked(void *arg)
{
    struct remover *rm = arg;
    wait_until_blocked_in_poll(rm->poll_tid);
    rm->result = cmio_registry_deregister(rm->r, rm->fd);
    put(rm->peer, 1);
    return NULL;
}

START_TEST(test_deregister_from_other_thread_while_blocked)
{
    struct fixture f;
    setup(&f, _i, CMIO_READABLE);
    struct remover rm = {.r = f.r, .poll_tid = current_tid(), .fd = f.sv[0], .peer = f.sv[1], .result = 1};
    test_thread t;
    thread_start(&t, deregister_when_blocked, &rm);
    int n = count_events(f.p, f.ev, 1, 4 * QUIET_MS);
    thread_join(&t);
    ck_assert_int_eq(rm.result, 0);
    ck_assert_int_eq(n, 0);
    teardown(&f);
}
END_TEST

/* mio's registry_operations_are_thread_safe: threads register, reregister
 * and deregister their own descriptors at once through their own clones. */
enum { WORKERS = 4, WORKER_ROUNDS = 200 };

struct worker {
    cmio_registry *clone;
    cmio_fd sv[2];
    cmio_token token;
    atomic_int *go;
    int failures;
};

static void *churn(void *arg)
{
    struct worker *w = arg;
    while (!atomic_load(w->go))
        ;
    for (int k = 0; k < WORKER_ROUNDS; k++) {
        w->failures += cmio_registry_register(w->clone, w->sv[0], w->token, CMIO_READABLE) != 0;
        w->failures += cmio_registry_reregister(w->clone, w->sv[0], w->token, CMIO_WRITABLE) != 0;
        w->failures += cmio_registry_deregister(w->clone, w->sv[0]) != 0;
    }
    w->failures += cmio_registry_register(w->clone, w->sv[0], w->token, CMIO_READABLE) != 0;
    return NULL;
}

START_TEST(test_registry_operations_are_thread_safe)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(WORKERS);
    atomic_int go = 0;
    struct worker w[WORKERS];
    test_thread t[WORKERS];
    for (int k = 0; k < WORKERS; k++) {
        w[k] = (struct worker){.token = (cmio_token)(100 + k), .go = &go};
        stream_pair(w[k].sv);
        ck_assert_int_eq(cmio_registry_try_clone(cmio_poll_registry(p), &w[k].clone), 0);
        thread_start(&t[k], churn, &w[k]);
    }
    atomic_store(&go, 1);
    for (int k = 0; k < WORKERS; k++)
        thread_join(&t[k]);
    for (int k = 0; k < WORKERS; k++) {
        ck_assert_int_eq(w[k].failures, 0);
        put(w[k].sv[1], 1);
    }
    /* Every final registration holds: one readable event per worker. */
    int seen[WORKERS] = {0}, total = 0;
    int64_t deadline = now_ms() + WAIT_MS;
    while (total < WORKERS && now_ms() < deadline) {
        ck_assert_int_ge(cmio_poll_poll(p, ev, QUIET_MS), 0);
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            const cmio_event *e = cmio_events_get(ev, i);
            ck_assert_uint_ge(cmio_event_token(e), 100);
            ck_assert_uint_lt(cmio_event_token(e), 100 + WORKERS);
            ck_assert(cmio_event_is_readable(e));
            total += seen[cmio_event_token(e) - 100]++ == 0;
        }
    }
    ck_assert_int_eq(total, WORKERS);
    for (int k = 0; k < WORKERS; k++) {
        cmio_registry_free(w[k].clone);
        sock_close(w[k].sv[0]);
        sock_close(w[k].sv[1]);
    }
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

static Suite *registry_suite(void)
{
    Suite *s = suite_create("registry");
    TCase *edge = tcase_create("edge");
    tcase_set_timeout(edge, 30);
    add_backend_test(edge, test_no_event_before_data);
    add_backend_test(edge, test_one_event_per_edge_and_none_after_draining);
    add_backend_test(edge, test_new_event_after_new_data);
    add_backend_test(edge, test_writable_reported_once_while_it_stays_writable);
    add_backend_test(edge, test_reregister_replaces_token_and_interest);
    add_backend_test(edge, test_deregister_stops_events);
    add_backend_test(edge, test_register_again_after_deregister);
    add_backend_test(edge, test_capability_bit_says_how_edges_are_made);
    add_backend_test(edge, test_writable_again_after_write_returns_eagain);
    add_backend_test(edge, test_raw_eagain_is_rearmed_by_reregister);
    add_backend_test(edge, test_stale_readiness_of_deregistered_descriptor_is_dropped);
    add_backend_test(edge, test_many_registrations_each_reported_once);
    add_backend_test(edge, test_deregister_after_close_reports_ebadf_and_forgets);
    suite_add_tcase(s, edge);

    TCase *flags = tcase_create("flags");
    tcase_set_timeout(flags, 30);
    add_backend_test(flags, test_read_closed_when_peer_closes);
    add_backend_test(flags, test_read_closed_when_peer_shuts_down_writing);
    add_backend_test(flags, test_hang_up_reported_whatever_the_interest);
    add_backend_test(flags, test_error_flag_on_refused_connection);
    add_backend_test(flags, test_error_flag_when_peer_resets);
    add_backend_test(flags, test_priority_data_reported_where_supported);
    suite_add_tcase(s, flags);

    TCase *errors = tcase_create("errors");
    add_backend_test(errors, test_registration_errors);
    suite_add_tcase(s, errors);

    TCase *clones = tcase_create("clones");
    tcase_set_timeout(clones, 60);
    add_backend_test(clones, test_clone_shares_registrations);
    add_backend_test(clones, test_descriptors_are_close_on_exec);
    add_backend_test(clones, test_clone_outlives_poll);
    add_backend_test(clones, test_register_from_other_thread_wakes_blocked_poll);
    add_backend_test(clones, test_rearm_from_other_thread_wakes_blocked_poll);
    add_backend_test(clones, test_deregister_from_other_thread_while_blocked);
    add_backend_test(clones, test_registry_operations_are_thread_safe);
    suite_add_tcase(s, clones);
    return s;
}

int main(void)
{
    return run_suite(registry_suite());
}
