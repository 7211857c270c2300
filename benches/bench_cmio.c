/*
 * cmio: each workload written as a cmio user writes it — cmio_poll,
 * cmio_registry, cmio_events, cmio_waker, cmio_channel, and cmio's socket
 * types for the I/O. Honours CMIO_BACKEND (cmio_poll_new).
 *
 * With io=raw (bench.h), the event-path variant: the same loop over raw
 * descriptors registered directly, with read(2)/write(2)/accept4(2) as the
 * epoll loop does them (bench_pingpong_step, bench_echo_step), so that only
 * the event loop differs from bench_epoll.c. On the poll(2) backend a raw
 * descriptor is re-armed by reregistering it after its -EAGAIN, as cmio
 * documents; churn, wake and channel have no I/O and run the same code
 * either way.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bench.h"

#include <cmio.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { MAX_EVENTS = 1024 };

static cmio_poll *poll_;
static cmio_events *events;
static cmio_registry *registry;

/* The backend cmio_poll_new() chose (CMIO_BACKEND or the OS's default),
 * noted when the loop is made; a static string of the library's. */
static const char *backend_name = "?";

static const char *backend(void) { return backend_name; }

static int open_poll(void)
{
    int err = cmio_poll_new(&poll_);
    if (err == 0)
        err = cmio_events_new(&events, MAX_EVENTS);
    if (err < 0)
        return bench_fail("cmio_poll_new", err);
    registry = cmio_poll_registry(poll_);
    backend_name = cmio_poll_backend(poll_);
    return 0;
}

static void close_poll(void)
{
    cmio_events_free(events);
    cmio_poll_free(poll_);
    events = NULL;
    poll_ = NULL;
}

BENCH_POLL_INLINE int poll_events(int timeout_ms)
{
    for (;;) {
        int n = cmio_poll_poll(poll_, events, timeout_ms);
        if (n != -EINTR)
            return n < 0 ? bench_fail("cmio_poll_poll", n) : n;
    }
}

/* ---- pingpong ---------------------------------------------------------- */

static cmio_unix_stream (*pairs)[2];
/* On the poll(2) backend an interest is re-armed by -EAGAIN (its emulation
 * of edges), so there the one read that drains a pair is followed by the
 * read that says so; epoll reports new data whether or not it was seen. */
static bool read_to_eagain;

static int pingpong_open(bench_pingpong *pp)
{
    pairs = calloc(pp->pairs, sizeof(*pairs));
    if (!pairs)
        return bench_fail("calloc", ENOMEM);
    for (size_t i = 0; i < pp->pairs; i++) {
        /* The harness owns the descriptors; the value structs only wrap them. */
        pairs[i][0] = (cmio_unix_stream){pp->fds[i][0]};
        pairs[i][1] = (cmio_unix_stream){pp->fds[i][1]};
    }
    if (open_poll() < 0)
        return -1;
    read_to_eagain = strcmp(backend_name, "poll") == 0;
    return 0;
}

static int pingpong_register(bench_pingpong *pp)
{
    for (size_t i = 0; i < pp->pairs; i++) {
        int err = cmio_registry_register(registry, pairs[i][0].fd, i, CMIO_READABLE);
        if (err < 0)
            return bench_fail("cmio_registry_register", err);
    }
    return 0;
}

/* io=raw on the poll(2) backend: bench_pingpong_step with, before the
 * write (which may go to this very pair), the read that says -EAGAIN and the
 * reregistration that re-arms the raw descriptor. */
static int pingpong_step_rearm(bench_pingpong *pp, size_t pair)
{
    char buf[PINGPONG_BUF], rest[1];
    int fd = pp->fds[pair][0];
    ssize_t got = read(fd, buf, sizeof(buf));
    if (got < 0 && errno != EAGAIN)
        return bench_fail("read", errno);
    if (got == 0)
        return bench_fail("read", EPIPE);
    if (got > 0 && (read(fd, rest, sizeof(rest)) >= 0 || errno != EAGAIN))
        return bench_fail("read", EIO);
    int err = cmio_registry_reregister(registry, fd, pair, CMIO_READABLE);
    if (err < 0)
        return bench_fail("cmio_registry_reregister", err);
    if (got < 0)
        return 0;
    if (bench_pingpong_forward(pp, buf, (size_t)got) < 0)
        return -1;
    return ++pp->done == pp->events;
}

static int pingpong_run_raw(bench_pingpong *pp)
{
    cmio_events *ev = events;
    for (;;) {
        if (poll_events(-1) < 0)
            return -1;
        for (const cmio_event *e = cmio_events_begin(ev), *end = cmio_events_end(ev); e != end; e++) {
            int r = bench_pingpong_step(pp, pp->fds[cmio_event_token(e)][0]);
            if (r != 0)
                return r > 0 ? 0 : -1;
        }
    }
}

static int pingpong_run_raw_rearm(bench_pingpong *pp)
{
    cmio_events *ev = events;
    for (;;) {
        if (poll_events(-1) < 0)
            return -1;
        for (const cmio_event *e = cmio_events_begin(ev), *end = cmio_events_end(ev); e != end; e++) {
            int r = pingpong_step_rearm(pp, cmio_event_token(e));
            if (r != 0)
                return r > 0 ? 0 : -1;
        }
    }
}

static int pingpong_run(bench_pingpong *pp)
{
    if (bench_io_raw)
        return read_to_eagain ? pingpong_run_raw_rearm(pp) : pingpong_run_raw(pp);
    char buf[PINGPONG_BUF];
    cmio_events *ev = events;
    for (;;) {
        if (poll_events(-1) < 0)
            return -1;
        for (const cmio_event *e = cmio_events_begin(ev), *end = cmio_events_end(ev); e != end; e++) {
            size_t pair = cmio_event_token(e);
            ssize_t got = cmio_unix_stream_read(&pairs[pair][0], buf, sizeof(buf));
            if (got == -EAGAIN)
                continue;
            if (got <= 0)
                return bench_fail("read", got < 0 ? (int)got : EPIPE);
            if (read_to_eagain && cmio_unix_stream_read(&pairs[pair][0], buf, sizeof(buf)) != -EAGAIN)
                return bench_fail("read", EIO);
            for (ssize_t k = 0; k < got; k++) {
                ssize_t put = cmio_unix_stream_write(&pairs[bench_pingpong_next(pp)][1], buf + k, 1);
                if (put != 1)
                    return bench_fail("write", put < 0 ? (int)put : EIO);
            }
            if (++pp->done == pp->events)
                return 0;
        }
    }
}

static void pingpong_close(bench_pingpong *pp)
{
    (void)pp;
    free(pairs);
    pairs = NULL;
    close_poll();
}

/* ---- churn ------------------------------------------------------------- */

static int churn_open(bench_churn *c)
{
    (void)c;
    return open_poll();
}

static int churn_run(bench_churn *c)
{
    cmio_registry *reg = registry;
    const int *fd = c->fd;
    size_t n = c->fds;
    int err = 0;
    for (size_t r = 0; r < c->rounds; r++) {
        for (size_t i = 0; i < n && err == 0; i++)
            err = cmio_registry_register(reg, fd[i], i, CMIO_READABLE);
        if (err < 0 || poll_events(0) < 0)
            return err < 0 ? bench_fail("cmio_registry_register", err) : -1;
        for (size_t i = 0; i < n && err == 0; i++)
            err = cmio_registry_reregister(reg, fd[i], i, CMIO_WRITABLE);
        if (err < 0 || poll_events(0) < 0)
            return err < 0 ? bench_fail("cmio_registry_reregister", err) : -1;
        for (size_t i = 0; i < n && err == 0; i++)
            err = cmio_registry_deregister(reg, fd[i]);
        if (err < 0 || poll_events(0) < 0)
            return err < 0 ? bench_fail("cmio_registry_deregister", err) : -1;
    }
    return 0;
}

static void churn_close(bench_churn *c)
{
    (void)c;
    close_poll();
}

/* ---- wake -------------------------------------------------------------- */

static cmio_waker *waker;

static int wake_open(bench_wake *w)
{
    (void)w;
    if (open_poll() < 0)
        return -1;
    int err = cmio_waker_new(registry, 0, &waker);
    return err < 0 ? bench_fail("cmio_waker_new", err) : 0;
}

static int wake_send(bench_wake *w)
{
    (void)w;
    int err = cmio_waker_wake(waker);
    return err < 0 ? bench_fail("cmio_waker_wake", err) : 0;
}

static int wake_run(bench_wake *w)
{
    while (w->done < w->wakes) {
        if (poll_events(-1) < 0)
            return -1;
        for (const cmio_event *e = cmio_events_begin(events), *end = cmio_events_end(events); e != end; e++)
            bench_wake_ack(w);
    }
    return 0;
}

static void wake_close(bench_wake *w)
{
    (void)w;
    cmio_waker_free(waker);
    waker = NULL;
    close_poll();
}

/* ---- echo -------------------------------------------------------------- */

static cmio_tcp_listener listener;
static cmio_tcp_stream *conns; /* token t >= 1 is conns[t - 1] */

static int echo_open(bench_echo *e)
{
    conns = calloc(e->conns, sizeof(*conns));
    if (!conns)
        return bench_fail("calloc", ENOMEM);
    for (size_t i = 0; i < e->conns; i++)
        conns[i].fd = -1;
    listener = (cmio_tcp_listener){e->listen_fd}; /* the harness owns it */
    if (open_poll() < 0)
        return -1;
    read_to_eagain = strcmp(backend_name, "poll") == 0;
    int err = cmio_registry_register(registry, listener.fd, 0, CMIO_READABLE);
    return err < 0 ? bench_fail("cmio_registry_register", err) : 0;
}

static int accept_all(bench_echo *e)
{
    for (;;) {
        cmio_tcp_stream s;
        int err = cmio_tcp_listener_accept(&listener, &s, NULL);
        if (err < 0)
            return err == -EAGAIN || err == -EINTR ? 0 : bench_fail("accept", err);
        if (e->accepted == e->conns) {
            cmio_tcp_stream_close(&s);
            return bench_fail("accept", EMFILE);
        }
        conns[e->accepted++] = s;
        err = cmio_registry_register(registry, s.fd, e->accepted, CMIO_READABLE);
        if (err < 0)
            return bench_fail("cmio_registry_register", err);
    }
}

static int serve(bench_echo *e, cmio_tcp_stream *s)
{
    char buf[ECHO_BUF];
    for (;;) {
        ssize_t n = cmio_tcp_stream_read(s, buf, sizeof(buf));
        if (n > 0) {
            ssize_t put = cmio_tcp_stream_write(s, buf, (size_t)n);
            if (put != n)
                return bench_fail("write", put < 0 ? (int)put : EIO);
            e->bytes += (uint64_t)n;
            continue;
        }
        if (n == -EAGAIN)
            return 0;
        if (n == -EINTR)
            continue;
        cmio_tcp_stream_close(s); /* end of stream, or reset */
        e->closed++;
        return 0;
    }
}

/* io=raw: accept4(2) until -EAGAIN, as the epoll loop does; rearm: the
 * poll(2) backend's re-arm of a raw descriptor (read_to_eagain), a constant
 * where it is inlined. */
BENCH_POLL_INLINE int accept_all_raw(bench_echo *e, bool rearm)
{
    for (;;) {
        int fd = accept4(e->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR)
                return bench_fail("accept4", errno);
            if (errno == EINTR || !rearm)
                return 0;
            int err = cmio_registry_reregister(registry, e->listen_fd, 0, CMIO_READABLE);
            return err < 0 ? bench_fail("cmio_registry_reregister", err) : 0;
        }
        if (e->accepted == e->conns) {
            close(fd);
            return bench_fail("accept4", EMFILE);
        }
        conns[e->accepted++].fd = fd;
        int err = cmio_registry_register(registry, fd, e->accepted, CMIO_READABLE);
        if (err < 0)
            return bench_fail("cmio_registry_register", err);
    }
}

/* io=raw: echo until -EAGAIN with read(2)/write(2); closes the connection
 * at its end. rearm as for accept_all_raw. */
BENCH_POLL_INLINE int serve_raw(bench_echo *e, size_t slot, bool rearm)
{
    int fd = conns[slot].fd, r;
    while ((r = bench_echo_step(e, fd)) == ECHO_AGAIN) {
    }
    if (r == ECHO_END) {
        close(fd); /* end of stream, or reset */
        conns[slot].fd = -1;
        e->closed++;
    } else if (r == ECHO_WAIT && rearm) {
        int err = cmio_registry_reregister(registry, fd, slot + 1, CMIO_READABLE);
        if (err < 0)
            return bench_fail("cmio_registry_reregister", err);
    }
    return r < 0 ? -1 : 0;
}

BENCH_POLL_INLINE int echo_loop_raw(bench_echo *e, bool rearm)
{
    cmio_events *ev = events;
    while (e->closed < e->conns) {
        if (poll_events(-1) < 0)
            return -1;
        for (const cmio_event *x = cmio_events_begin(ev), *end = cmio_events_end(ev); x != end; x++) {
            cmio_token token = cmio_event_token(x);
            int err = token == 0                    ? accept_all_raw(e, rearm)
                      : conns[token - 1].fd >= 0 ? serve_raw(e, token - 1, rearm)
                                                 : 0;
            if (err < 0)
                return -1;
        }
    }
    return 0;
}

static int echo_run_raw(bench_echo *e)
{
    return read_to_eagain ? echo_loop_raw(e, true) : echo_loop_raw(e, false);
}

static int echo_run(bench_echo *e)
{
    if (bench_io_raw)
        return echo_run_raw(e);
    cmio_events *ev = events;
    while (e->closed < e->conns) {
        if (poll_events(-1) < 0)
            return -1;
        for (const cmio_event *x = cmio_events_begin(ev), *end = cmio_events_end(ev); x != end; x++) {
            cmio_token token = cmio_event_token(x);
            int err = token == 0                    ? accept_all(e)
                      : conns[token - 1].fd >= 0 ? serve(e, &conns[token - 1])
                                                 : 0;
            if (err < 0)
                return -1;
        }
    }
    return 0;
}

static void echo_close(bench_echo *e)
{
    for (size_t i = 0; conns && i < e->accepted; i++)
        cmio_tcp_stream_close(&conns[i]);
    free(conns);
    conns = NULL;
    close_poll();
}

/* ---- channel ----------------------------------------------------------- */

static cmio_channel *chan;

static int channel_open(bench_channel *ch)
{
    if (open_poll() < 0)
        return -1;
    int err = cmio_channel_new(registry, 0, ch->capacity, sizeof(bench_msg), &chan);
    return err < 0 ? bench_fail("cmio_channel_new", err) : 0;
}

static int channel_send(bench_channel *ch, const bench_msg *m)
{
    (void)ch;
    int err = cmio_channel_send(chan, m);
    return err == 0 ? 0 : err == -EAGAIN ? 1 : bench_fail("cmio_channel_send", err);
}

static int channel_run(bench_channel *ch)
{
    while (ch->done < ch->messages) {
        if (poll_events(-1) < 0)
            return -1;
        for (const cmio_event *e = cmio_events_begin(events), *end = cmio_events_end(events); e != end; e++) {
            ch->events++;
            bench_msg m;
            int err;
            while ((err = cmio_channel_recv(chan, &m)) == 0)
                bench_channel_take(ch, &m);
            if (err != -EAGAIN)
                return bench_fail("cmio_channel_recv", err);
        }
    }
    return 0;
}

static void channel_close(bench_channel *ch)
{
    (void)ch;
    cmio_channel_free(chan);
    chan = NULL;
    if (poll_)
        close_poll();
}

/* ---- timers ------------------------------------------------------------ */

static cmio_timer **tm;
static size_t tm_made;

static int timers_open(bench_timers *t)
{
    tm = calloc(t->timers, sizeof(*tm));
    if (!tm)
        return bench_fail("calloc", ENOMEM);
    if (open_poll() < 0)
        return -1;
    for (tm_made = 0; tm_made < t->timers; tm_made++) {
        int err = cmio_timer_new(registry, tm_made, &tm[tm_made]);
        if (err < 0)
            return bench_fail("cmio_timer_new", err);
    }
    return 0;
}

static int timers_run(bench_timers *t)
{
    size_t n = t->timers;
    for (size_t i = 0; i < n; i++) {
        int err = cmio_timer_set(tm[i], bench_timers_after(t, i), 0);
        if (err < 0)
            return bench_fail("cmio_timer_set", err);
    }
    for (size_t i = 1; i < n; i += 2) {
        int err = cmio_timer_cancel(tm[i]);
        if (err < 0)
            return bench_fail("cmio_timer_cancel", err);
    }
    bench_timers_started(t);
    cmio_events *ev = events;
    for (;;) {
        if (poll_events(-1) < 0)
            return -1;
        for (const cmio_event *e = cmio_events_begin(ev), *end = cmio_events_end(ev); e != end; e++) {
            size_t i = cmio_event_token(e);
            uint64_t count;
            int err = cmio_timer_read(tm[i], &count);
            if (err < 0)
                return bench_fail("cmio_timer_read", err);
            if (bench_timers_fired(t, i))
                return 0;
        }
    }
}

static void timers_close(bench_timers *t)
{
    (void)t;
    for (size_t i = 0; i < tm_made; i++)
        cmio_timer_free(tm[i]);
    free(tm);
    tm = NULL;
    tm_made = 0;
    close_poll();
}

static const bench_timer_ops timer_ops = {timers_open, timers_run, timers_close};
#undef BENCH_TIMER_OPS
#define BENCH_TIMER_OPS (&timer_ops)

/* ---- multi_echo (issue 12) --------------------------------------------- */

/* A cmio_loop per reactor thread (mio 0.3's EventLoop), its callback
 * serving the reactor's SO_REUSEPORT listener and connections as echo does;
 * the reactor that closes the run's last connection shuts every loop down
 * (cmio_loop_shutdown: its own from the callback without a system call,
 * the others through their wakers). */
struct me_reactor {
    bench_multi_echo *m;
    size_t k;
    cmio_loop *loop;
    cmio_tcp_listener listener;
    cmio_tcp_stream *conns; /* token t >= 1 is conns[t - 1] */
    bool rearm;             /* io=raw on the poll(2) backend: reregister after -EAGAIN */
    int err;
};

static struct me_reactor *me;

static void me_last_closed(bench_multi_echo *m)
{
    for (size_t j = 0; j < m->threads; j++)
        cmio_loop_shutdown(me[j].loop);
}

static int me_accept(struct me_reactor *r, bench_echo *e)
{
    for (;;) {
        cmio_tcp_stream s;
        int err;
        if (bench_io_raw) {
            int fd = accept4(r->listener.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            err = fd >= 0 ? 0 : -errno;
            s.fd = fd;
            if (err == -EAGAIN && r->rearm) {
                err = cmio_registry_reregister(cmio_loop_registry(r->loop), r->listener.fd, 0, CMIO_READABLE);
                return err < 0 ? bench_fail("cmio_registry_reregister", err) : 0;
            }
        } else {
            err = cmio_tcp_listener_accept(&r->listener, &s, NULL);
        }
        if (err < 0)
            return err == -EAGAIN || err == -EINTR ? 0 : bench_fail("accept", err);
        if (e->accepted == e->conns) {
            cmio_tcp_stream_close(&s);
            return bench_fail("accept", EMFILE);
        }
        r->conns[e->accepted++] = s;
        err = cmio_registry_register(cmio_loop_registry(r->loop), s.fd, e->accepted, CMIO_READABLE);
        if (err < 0)
            return bench_fail("cmio_registry_register", err);
    }
}

/* Echo until -EAGAIN: 1 at the end of the stream (closed), 0, or -1. */
static int me_serve(struct me_reactor *r, bench_echo *e, size_t slot)
{
    cmio_tcp_stream *s = &r->conns[slot];
    if (bench_io_raw) {
        int rc;
        while ((rc = bench_echo_step(e, s->fd)) == ECHO_AGAIN) {
        }
        if (rc == ECHO_WAIT && r->rearm) {
            int err = cmio_registry_reregister(cmio_loop_registry(r->loop), s->fd, slot + 1, CMIO_READABLE);
            return err < 0 ? bench_fail("cmio_registry_reregister", err) : 0;
        }
        if (rc != ECHO_END)
            return rc < 0 ? -1 : 0;
    } else {
        char buf[ECHO_BUF];
        for (;;) {
            ssize_t n = cmio_tcp_stream_read(s, buf, sizeof(buf));
            if (n > 0) {
                ssize_t put = cmio_tcp_stream_write(s, buf, (size_t)n);
                if (put != n)
                    return bench_fail("write", put < 0 ? (int)put : EIO);
                e->bytes += (uint64_t)n;
                continue;
            }
            if (n == -EAGAIN)
                return 0;
            if (n != -EINTR)
                break; /* end of stream, or reset */
        }
    }
    cmio_tcp_stream_close(s);
    e->closed++;
    return 1;
}

static void me_ready(cmio_loop *loop, const cmio_event *event, void *ctx)
{
    struct me_reactor *r = ctx;
    bench_echo *e = &r->m->per[r->k];
    cmio_token t = cmio_event_token(event);
    int rc = t == 0 ? me_accept(r, e) : r->conns[t - 1].fd >= 0 ? me_serve(r, e, t - 1) : 0;
    (void)loop;
    if (rc < 0) {
        r->err = -1;
        bench_multi_echo_abort(r->m);
        me_last_closed(r->m);
    } else if (rc == 1 && bench_multi_echo_closed(r->m)) {
        me_last_closed(r->m);
    }
}

static int multi_echo_open(bench_multi_echo *m)
{
    me = calloc(m->threads, sizeof(*me));
    if (!me)
        return bench_fail("calloc", ENOMEM);
    const char *chosen = getenv("CMIO_BACKEND"); /* cmio_loop_new's poll: cmio_poll_new's choice */
    backend_name = chosen && *chosen ? chosen : cmio_backends()[0];
    for (size_t k = 0; k < m->threads; k++) {
        struct me_reactor *r = &me[k];
        *r = (struct me_reactor){.m = m, .k = k, .listener = {m->per[k].listen_fd}};
        r->rearm = bench_io_raw && strcmp(backend_name, "poll") == 0;
        r->conns = calloc(m->conns, sizeof(*r->conns));
        if (!r->conns)
            return bench_fail("calloc", ENOMEM);
        int err = cmio_loop_new(&r->loop, MAX_EVENTS, me_ready, r);
        if (err == 0)
            err = cmio_registry_register(cmio_loop_registry(r->loop), r->listener.fd, 0, CMIO_READABLE);
        if (err < 0)
            return bench_fail("cmio_loop_new", err);
    }
    return 0;
}

static int multi_echo_run(bench_multi_echo *m, size_t k)
{
    (void)m;
    struct me_reactor *r = &me[k];
    int err = cmio_loop_run(r->loop);
    if (err < 0)
        return bench_fail("cmio_loop_run", err);
    return r->err;
}

static void multi_echo_close(bench_multi_echo *m)
{
    for (size_t k = 0; me && k < m->threads; k++) {
        struct me_reactor *r = &me[k];
        for (size_t i = 0; r->conns && i < m->per[k].accepted; i++)
            cmio_tcp_stream_close(&r->conns[i]);
        free(r->conns);
        cmio_loop_free(r->loop);
    }
    free(me);
    me = NULL;
}

static const bench_multi_echo_ops multi_echo_ops = {multi_echo_open, multi_echo_run, multi_echo_close};
#undef BENCH_MULTI_ECHO_OPS
#define BENCH_MULTI_ECHO_OPS (&multi_echo_ops)

/* ---- frames: cmio_frame_writer and cmio_frame_reader --------------------- */

struct frames_state {
    cmio_frame_writer *w;
    cmio_frame_reader *r;
};

static int frames_open(bench_frames *f)
{
    static struct frames_state st;
    /* A poll is open, as in a program that uses the framing: on the poll(2)
     * backend each -EAGAIN then takes the re-arm path (design.md §5). The
     * descriptors themselves are not registered: the loop does not wait. */
    if (open_poll() < 0)
        return -1;
    int err;
    if ((err = cmio_frame_writer_new(&st.w, BENCH_FRAMES_QUEUE)) < 0 ||
        (err = cmio_frame_reader_new(&st.r, (uint32_t)(f->size ? f->size : 1))) < 0)
        return bench_fail("framing", err);
    f->impl = &st;
    return 0;
}

static int frames_run(bench_frames *f)
{
    struct frames_state *st = f->impl;
    unsigned char body[1024] = {0};
    size_t pushed = 0;
    while (f->done < f->frames) {
        while (pushed < f->frames) {
            memset(body, (unsigned char)pushed, f->size ? 1 : 0);
            if (cmio_frame_writer_push(st->w, body, (uint32_t)f->size) < 0)
                break;
            pushed++;
        }
        ssize_t n = cmio_frame_writer_flush(st->w, f->fds[0]);
        if (n < 0 && n != -EAGAIN)
            return bench_fail("flush", (int)n);
        for (;;) {
            n = cmio_frame_reader_read(st->r, f->fds[1]);
            const void *frame;
            uint32_t len;
            while (cmio_frame_reader_next(st->r, &frame, &len) == 0)
                bench_frames_got(f, frame, len);
            if (n == -EAGAIN)
                break;
            if (n <= 0)
                return bench_fail("read", n ? (int)n : EPIPE);
        }
    }
    return 0;
}

static void frames_close(bench_frames *f)
{
    struct frames_state *st = f->impl;
    cmio_frame_writer_free(st->w);
    cmio_frame_reader_free(st->r);
    close_poll();
}

static const bench_frame_ops frame_ops = {frames_open, frames_run, frames_close};
#undef BENCH_FRAME_OPS
#define BENCH_FRAME_OPS (&frame_ops)

BENCH_IMPL("cmio");
