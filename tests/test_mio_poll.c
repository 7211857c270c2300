/*
 * mio's tests/poll.rs, ported: one twin per test that maps onto cmio
 * (docs/porting-from-mio.md lists them all). Each runs on every backend.
 *
 * SPDX-License-Identifier: MIT
 */
#include "mio_util.h"

#include <errno.h>
#if !defined(_WIN32)
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#endif
#include <string.h>

enum { ID1 = 1, ID2 = 2, ID3 = 3 };

/* run_once_with_nothing: a poll with nothing registered waits its timeout
 * and returns no event. */
START_TEST(mio_run_once_with_nothing)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    int64_t start = now_ms();
    ck_assert_int_eq(cmio_poll_poll(p, ev, 100), 0);
    ck_assert_int_ge(now_ms() - start, 100);
    ck_assert_uint_eq(cmio_events_len(ev), 0);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* add_then_drop: a registered listener goes away (deregistered, then
 * closed: mio's drop) and the poll still works and reports nothing. */
START_TEST(mio_add_then_drop)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    listen_any(&l, &addr);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), l.fd, 1, CMIO_READABLE | CMIO_WRITABLE),
                     0);
    ck_assert_int_eq(cmio_registry_deregister(cmio_poll_registry(p), l.fd), 0);
    cmio_tcp_listener_close(&l);
    ck_assert_int_eq(l.fd, -1);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 100), 0);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* Accept one connection on a blocking-style wait (bounded). */
static void accept_one(cmio_tcp_listener *l, cmio_tcp_stream *out)
{
    wait_level(l->fd, POLLIN);
    ck_assert_int_eq(cmio_tcp_listener_accept(l, out, NULL), 0);
}

/* zero_duration_polls_events: a poll with a zero timeout still looks and
 * returns the readiness that is there. mio sleeps 10 ms to let the three
 * connections complete; here the server accepts all three first. */
START_TEST(mio_zero_duration_polls_events)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    listen_any(&l, &addr);
    cmio_tcp_stream c[3], s[3];
    for (int n = 0; n < 3; n++) {
        ck_assert_int_eq(cmio_tcp_stream_connect(&c[n], &addr), 0);
        ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), c[n].fd, (cmio_token)n, CMIO_WRITABLE),
                         0);
    }
    for (int n = 0; n < 3; n++)
        accept_one(&l, &s[n]);
    for (int n = 0; n < 3; n++)
        wait_level(c[n].fd, POLLOUT);
    int got = cmio_poll_poll(p, ev, 0);
    ck_assert_int_gt(got, 0);
    for (size_t i = 0; i < cmio_events_len(ev); i++) {
        const cmio_event *e = cmio_events_get(ev, i);
        ck_assert_uint_lt(cmio_event_token(e), 3);
        ck_assert(cmio_event_is_writable(e));
    }
    for (int n = 0; n < 3; n++) {
        ck_assert_int_eq(cmio_registry_deregister(cmio_poll_registry(p), c[n].fd), 0);
        cmio_tcp_stream_close(&c[n]);
        cmio_tcp_stream_close(&s[n]);
    }
    cmio_tcp_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* poll_closes_fd: making and freeing a poll (and polling it once) 2000
 * times leaves no descriptor behind. */
START_TEST(mio_poll_closes_fd)
{
    fd_set before, after;
    bool listed = fds_open(&before);
    long count = handles_open();
    for (int k = 0; k < 2000; k++) {
        cmio_poll *p = open_poll(_i);
        cmio_events *ev = open_events(4);
        ck_assert_int_eq(cmio_poll_poll(p, ev, 0), 0);
        cmio_events_free(ev);
        cmio_poll_free(p);
    }
    ck_assert_int_eq(handles_open(), count);
    if (!listed)
        return; /* the count was all (Windows) */
    fds_open(&after);
    for (int fd = 0; fd < FD_SETSIZE; fd++)
        ck_assert_msg(FD_ISSET(fd, &before) == FD_ISSET(fd, &after), "descriptor %d leaked or lost", fd);
}
END_TEST

/* readiness_is_reregistered_after_would_block: after the data is read to
 * -EAGAIN no event is owed, and new data gives a new readable event. */
START_TEST(mio_readiness_is_reregistered_after_would_block)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_fd sv[2];
    tcp_pair(sv);
    cmio_tcp_stream client = {.fd = sv[0]}, server = {.fd = sv[1]};
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), client.fd, ID1, CMIO_READABLE), 0);

    ck_assert_int_eq(cmio_tcp_stream_write(&server, "hello", 5), 5);
    expect_events(p, ev, (expect_event[]){{ID1, CMIO_EVENT_READABLE}}, 1);

    char buf[16];
    ck_assert_int_eq(cmio_tcp_stream_read(&client, buf, sizeof(buf)), 5);
    ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
    ck_assert_int_eq(cmio_tcp_stream_read(&client, buf, sizeof(buf)), -EAGAIN);
    expect_no_events(p, ev);

    ck_assert_int_eq(cmio_tcp_stream_write(&server, "again", 5), 5);
    expect_events(p, ev, (expect_event[]){{ID1, CMIO_EVENT_READABLE}}, 1);

    ck_assert_int_eq(cmio_registry_deregister(cmio_poll_registry(p), client.fd), 0);
    cmio_tcp_stream_close(&client);
    cmio_tcp_stream_close(&server);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* A blocking peer (std::net in mio's tests) that accepts one connection and
 * reads from it with a 5 s receive timeout. */
struct blocking_peer {
    cmio_fd listener;
    ssize_t got; /* the read's result */
    int err;     /* its errno when it failed */
};

static void *accept_and_read(void *arg)
{
    struct blocking_peer *bp = arg;
    bp->got = -2;
    cmio_fd s = blocking_accept(bp->listener);
    if (s == CMIO_FD_INVALID) {
        bp->err = errno;
        return NULL;
    }
    sock_recv_timeout(s, 5);
    char buf[16];
    bp->got = sock_recv(s, buf, sizeof(buf));
    bp->err = bp->got < 0 ? errno : 0;
    sock_close(s);
    return NULL;
}

/* drop_cancels_interest_and_shuts_down: once connected (the first event),
 * a read is -EAGAIN; closing the stream (deregistered first) ends the
 * peer's blocking read with end of stream, not its timeout. */
START_TEST(mio_drop_cancels_interest_and_shuts_down)
{
    cmio_sockaddr addr;
    struct blocking_peer bp = {.listener = blocking_listener(&addr)};
    test_thread t;
    thread_start(&t, accept_and_read, &bp);

    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_tcp_stream s;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s, &addr), 0);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), s.fd, 1, CMIO_READABLE | CMIO_WRITABLE),
                     0);
    ck_assert(wait_for(p, ev, 1, 0, WAIT_MS) != 0);

    char buf[1024];
    ck_assert_int_eq(cmio_tcp_stream_read(&s, buf, sizeof(buf)), -EAGAIN);

    ck_assert_int_eq(cmio_registry_deregister(cmio_poll_registry(p), s.fd), 0);
    cmio_tcp_stream_close(&s);
    thread_join(&t);
    ck_assert_msg(bp.got == 0, "peer read %zd (%s)", bp.got, strerror(bp.err));
    sock_close(bp.listener);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* registry_behind_arc: one registry clone used by two threads at once
 * (mio's Arc<Registry>) while this thread polls. */
struct shared_reg {
    cmio_registry *r;
    test_barrier *barrier;
    cmio_tcp_listener *listener;
    cmio_sockaddr addr;
    int result;
};

static void *register_listener(void *arg)
{
    struct shared_reg *sr = arg;
    sr->result = cmio_registry_register(sr->r, sr->listener->fd, 0, CMIO_READABLE);
    barrier_wait(sr->barrier);
    if (sr->result == 0)
        sr->result = cmio_registry_deregister(sr->r, sr->listener->fd);
    cmio_tcp_listener_close(sr->listener);
    return NULL;
}

static void *connect_and_register(void *arg)
{
    struct shared_reg *sr = arg;
    cmio_tcp_stream s;
    sr->result = cmio_tcp_stream_connect(&s, &sr->addr);
    if (sr->result == 0)
        sr->result = cmio_registry_register(sr->r, s.fd, 1, CMIO_READABLE | CMIO_WRITABLE);
    barrier_wait(sr->barrier);
    if (sr->result == 0)
        sr->result = cmio_registry_deregister(sr->r, s.fd);
    cmio_tcp_stream_close(&s);
    return NULL;
}

START_TEST(mio_registry_behind_arc)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(128);
    cmio_registry *r = NULL;
    ck_assert_int_eq(cmio_registry_try_clone(cmio_poll_registry(p), &r), 0);
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    listen_any(&l, &addr);
    test_barrier barrier;
    barrier_init(&barrier, 3);
    struct shared_reg a = {.r = r, .barrier = &barrier, .listener = &l, .result = 1};
    struct shared_reg b = {.r = r, .barrier = &barrier, .addr = addr, .result = 1};
    test_thread t1, t2;
    thread_start(&t1, register_listener, &a);
    thread_start(&t2, connect_and_register, &b);

    /* mio polls 1 s; the registrations may land while it is blocked. */
    int n = cmio_poll_poll(p, ev, WAIT_MS);
    ck_assert_int_ge(n, 1);
    for (size_t i = 0; i < cmio_events_len(ev); i++)
        ck_assert_uint_le(cmio_event_token(cmio_events_get(ev, i)), 1);

    barrier_wait(&barrier);
    thread_join(&t1);
    thread_join(&t2);
    ck_assert_int_eq(a.result, 0);
    ck_assert_int_eq(b.result, 0);
    barrier_destroy(&barrier);
    cmio_registry_free(r);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* mio's registry_ops_flow: register, deregister, register, reregister. */
static int registry_ops_flow(cmio_registry *r, int fd, cmio_token token, cmio_interest first,
                             cmio_interest last)
{
    int rc;
    if ((rc = cmio_registry_register(r, fd, token, first)) != 0)
        return rc;
    if ((rc = cmio_registry_deregister(r, fd)) != 0)
        return rc;
    if ((rc = cmio_registry_register(r, fd, token, first)) != 0)
        return rc;
    return cmio_registry_reregister(r, fd, token, last);
}

struct flow {
    cmio_registry *r; /* shared by the three threads */
    test_barrier *barrier;
    int kind; /* 1: listener, 2: UDP socket, 3: connecting stream */
    cmio_tcp_listener *listener;
    cmio_sockaddr addr;
    int fd; /* the descriptor the thread registered */
    int result;
};

static void *flow_thread(void *arg)
{
    struct flow *f = arg;
    switch (f->kind) {
    case 1:
        f->fd = f->listener->fd;
        f->result = registry_ops_flow(f->r, f->fd, ID1, CMIO_READABLE, CMIO_READABLE);
        break;
    case 2: {
        cmio_udp_socket u;
        cmio_sockaddr any = parse_addr("127.0.0.1:0");
        f->result = cmio_udp_socket_bind(&u, &any);
        f->fd = u.fd;
        if (f->result == 0)
            f->result = registry_ops_flow(f->r, f->fd, ID2, CMIO_WRITABLE, CMIO_WRITABLE | CMIO_READABLE);
        break;
    }
    default: {
        cmio_tcp_stream s;
        f->result = cmio_tcp_stream_connect(&s, &f->addr);
        f->fd = s.fd;
        if (f->result == 0)
            f->result = registry_ops_flow(f->r, f->fd, ID3, CMIO_READABLE, CMIO_READABLE | CMIO_WRITABLE);
        break;
    }
    }
    barrier_wait(f->barrier);
    barrier_wait(f->barrier);
    if (f->result == 0)
        f->result = cmio_registry_deregister(f->r, f->fd);
    if (f->fd >= 0)
        sock_close(f->fd);
    return NULL;
}

/* registry_operations_are_thread_safe: three threads run the whole
 * registration flow through one shared clone; the final registrations all
 * hold. */
START_TEST(mio_registry_operations_are_thread_safe)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = NULL;
    ck_assert_int_eq(cmio_registry_try_clone(cmio_poll_registry(p), &r), 0);
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    listen_any(&l, &addr);
    test_barrier barrier;
    barrier_init(&barrier, 4);
    struct flow f[3];
    test_thread t[3];
    for (int k = 0; k < 3; k++) {
        f[k] = (struct flow){
            .r = r, .barrier = &barrier, .kind = k + 1, .listener = &l, .addr = addr, .fd = -1, .result = 1};
        thread_start(&t[k], flow_thread, &f[k]);
    }
    barrier_wait(&barrier);
    for (int k = 0; k < 3; k++)
        ck_assert_msg(f[k].result == 0, "thread %d: %s", k + 1, cmio_strerror(f[k].result));
    expect_events(
        p, ev,
        (expect_event[]){{ID1, CMIO_EVENT_READABLE}, {ID2, CMIO_EVENT_WRITABLE}, {ID3, CMIO_EVENT_WRITABLE}},
        3);
    barrier_wait(&barrier);
    for (int k = 0; k < 3; k++) {
        thread_join(&t[k]);
        ck_assert_int_eq(f[k].result, 0);
    }
    l.fd = -1; /* closed by its thread */
    barrier_destroy(&barrier);
    cmio_registry_free(r);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* register_during_poll: a registration from another thread while this one
 * is blocked in a 5 s poll is reported by that poll, alone. mio's thread
 * sleeps 200 ms to "get closer" to the blocked poll; here it waits until
 * this thread is in the selector call. */
struct during {
    cmio_registry *r;
    test_barrier *barrier;
    test_tid poll_tid;
    int result;
};

static void *register_udp_during_poll(void *arg)
{
    struct during *d = arg;
    cmio_udp_socket u;
    cmio_sockaddr any = parse_addr("127.0.0.1:0");
    d->result = cmio_udp_socket_bind(&u, &any);
    barrier_wait(d->barrier);
    wait_until_blocked_in_poll(d->poll_tid);
    if (d->result == 0)
        d->result = cmio_registry_register(d->r, u.fd, ID1, CMIO_WRITABLE);
    barrier_wait(d->barrier);
    if (d->result == 0)
        d->result = cmio_registry_deregister(d->r, u.fd);
    cmio_udp_socket_close(&u);
    return NULL;
}

START_TEST(mio_register_during_poll)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    test_barrier barrier;
    barrier_init(&barrier, 2);
    struct during d = {.barrier = &barrier, .poll_tid = current_tid(), .result = 1};
    ck_assert_int_eq(cmio_registry_try_clone(cmio_poll_registry(p), &d.r), 0);
    test_thread t;
    thread_start(&t, register_udp_during_poll, &d);

    barrier_wait(&barrier);
    int n = cmio_poll_poll(p, ev, 5000);
    ck_assert_int_eq(n, 1);
    const cmio_event *e = cmio_events_get(ev, 0);
    ck_assert_uint_eq(cmio_event_token(e), ID1);
    ck_assert(cmio_event_is_writable(e));

    barrier_wait(&barrier);
    thread_join(&t);
    ck_assert_int_eq(d.result, 0);
    barrier_destroy(&barrier);
    cmio_registry_free(d.r);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* reregister_interest_token_usage: reregister replaces token and interest
 * entirely, may keep the token, may change it, may be repeated. */
START_TEST(mio_reregister_interest_token_usage)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_udp_socket u;
    cmio_sockaddr any = parse_addr("127.0.0.1:0");
    ck_assert_int_eq(cmio_udp_socket_bind(&u, &any), 0);
    ck_assert_int_eq(cmio_registry_register(r, u.fd, ID1, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_reregister(r, u.fd, ID1, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_reregister(r, u.fd, ID2, CMIO_WRITABLE), 0);
    expect_events(p, ev, (expect_event[]){{ID2, CMIO_EVENT_WRITABLE}}, 1);
    /* The old token and the old interest are gone. */
    for (size_t i = 0; i < cmio_events_len(ev); i++) {
        ck_assert_uint_eq(cmio_event_token(cmio_events_get(ev, i)), ID2);
        ck_assert(!cmio_event_is_readable(cmio_events_get(ev, i)));
    }
    ck_assert_int_eq(cmio_registry_deregister(r, u.fd), 0);
    cmio_udp_socket_close(&u);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* double_register_different_token: registering a descriptor again, even
 * under another token, is -EEXIST ("already registered"). */
START_TEST(mio_double_register_different_token)
{
    cmio_poll *p = open_poll(_i);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    listen_any(&l, &addr);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, 0, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, 1, CMIO_READABLE), -EEXIST);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_tcp_listener_close(&l);
    cmio_poll_free(p);
}
END_TEST

/* poll_ok_after_cancelling_pending_ops: a reregister after a poll (which
 * on Windows cancels the pending AFD poll) leaves the poll working: the
 * listener is reported under its new token, and a stream registered from
 * another thread is reported too. */
struct late_stream {
    cmio_registry *r;
    test_barrier *barrier;
    cmio_sockaddr addr;
    int result;
};

static void *connect_then_register(void *arg)
{
    struct late_stream *ls = arg;
    cmio_tcp_stream s;
    ls->result = cmio_tcp_stream_connect(&s, &ls->addr);
    barrier_wait(ls->barrier);
    if (ls->result == 0)
        ls->result = cmio_registry_register(ls->r, s.fd, ID3, CMIO_WRITABLE);
    barrier_wait(ls->barrier);
    if (ls->result == 0)
        ls->result = cmio_registry_deregister(ls->r, s.fd);
    cmio_tcp_stream_close(&s);
    return NULL;
}

START_TEST(mio_poll_ok_after_cancelling_pending_ops)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    listen_any(&l, &addr);
    cmio_registry *r = NULL;
    ck_assert_int_eq(cmio_registry_try_clone(cmio_poll_registry(p), &r), 0);
    test_barrier barrier;
    barrier_init(&barrier, 2);

    ck_assert_int_eq(cmio_registry_register(r, l.fd, ID1, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 0), 0);
    ck_assert_int_eq(cmio_registry_reregister(r, l.fd, ID2, CMIO_READABLE), 0);

    struct late_stream ls = {.r = r, .barrier = &barrier, .addr = addr, .result = 1};
    test_thread t;
    thread_start(&t, connect_then_register, &ls);

    expect_events(p, ev, (expect_event[]){{ID2, CMIO_EVENT_READABLE}}, 1);
    cmio_tcp_stream accepted;
    ck_assert_int_eq(cmio_tcp_listener_accept(&l, &accepted, NULL), 0);
    barrier_wait(&barrier);

    expect_events(p, ev, (expect_event[]){{ID3, CMIO_EVENT_WRITABLE}}, 1);

    barrier_wait(&barrier);
    thread_join(&t);
    ck_assert_int_eq(ls.result, 0);
    cmio_tcp_stream_close(&accepted);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_tcp_listener_close(&l);
    barrier_destroy(&barrier);
    cmio_registry_free(r);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* reregister_without_register: -ENOENT ("not registered"). */
START_TEST(mio_reregister_without_register)
{
    cmio_poll *p = open_poll(_i);
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    listen_any(&l, &addr);
    ck_assert_int_eq(cmio_registry_reregister(cmio_poll_registry(p), l.fd, ID1, CMIO_READABLE), -ENOENT);
    cmio_tcp_listener_close(&l);
    cmio_poll_free(p);
}
END_TEST

/* deregister_without_register: -ENOENT ("not registered"). */
START_TEST(mio_deregister_without_register)
{
    cmio_poll *p = open_poll(_i);
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    listen_any(&l, &addr);
    ck_assert_int_eq(cmio_registry_deregister(cmio_poll_registry(p), l.fd), -ENOENT);
    cmio_tcp_listener_close(&l);
    cmio_poll_free(p);
}
END_TEST

static Suite *mio_poll_suite(void)
{
    Suite *s = suite_create("mio_poll");
    TCase *tc = tcase_create("poll.rs");
    tcase_set_timeout(tc, 60);
    add_backend_test(tc, mio_run_once_with_nothing);
    add_backend_test(tc, mio_add_then_drop);
    add_backend_test(tc, mio_zero_duration_polls_events);
    add_backend_test(tc, mio_poll_closes_fd);
    add_backend_test(tc, mio_readiness_is_reregistered_after_would_block);
    add_backend_test(tc, mio_drop_cancels_interest_and_shuts_down);
    add_backend_test(tc, mio_registry_behind_arc);
    add_backend_test(tc, mio_registry_operations_are_thread_safe);
    add_backend_test(tc, mio_register_during_poll);
    add_backend_test(tc, mio_reregister_interest_token_usage);
    add_backend_test(tc, mio_double_register_different_token);
    add_backend_test(tc, mio_poll_ok_after_cancelling_pending_ops);
    add_backend_test(tc, mio_reregister_without_register);
    add_backend_test(tc, mio_deregister_without_register);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(mio_poll_suite()); }
