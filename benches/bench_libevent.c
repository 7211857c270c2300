/*
 * libevent: each workload written as a libevent user writes it — an
 * event_base that must run on epoll (event_config_require_features, checked
 * with event_base_get_method), one edge-triggered event per descriptor
 * (EV_READ | EV_PERSIST | EV_ET), event_active from the other thread for the
 * wake (with evthread_use_pthreads, libevent notifies the base through its
 * own eventfd) and event_base_loopbreak to stop. The callbacks read, write
 * and accept on the descriptors themselves.
 *
 * Edge-triggered like bench_epoll.c: pingpong reads once (one read drains),
 * echo reads until EAGAIN. libevent calls epoll_ctl inside event_add and
 * event_del, so only churn runs the loop without waiting after each phase.
 *
 * SPDX-License-Identifier: MIT
 */
/* No channel workload: a message queue is not part of the library. */
#define BENCH_NO_CHANNEL
#include "bench.h"

#include <event2/event.h>
#include <event2/thread.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

static struct event_base *base;
static int failed; /* a callback failed (after printing why) and broke the loop */
static char backend_name[16] = "?"; /* the base's, as event_base_get_method reports it */

static const char *backend(void) { return backend_name; }

static void close_base(void)
{
    if (base)
        event_base_free(base);
    base = NULL;
}

static int open_base(void)
{
    failed = 0;
    struct event_config *cfg = event_config_new();
    if (!cfg)
        return bench_fail("event_config_new", ENOMEM);
    /* Only epoll has both on Linux; select and poll are ruled out anyway. */
    if (event_config_require_features(cfg, EV_FEATURE_ET | EV_FEATURE_O1) < 0 ||
        event_config_avoid_method(cfg, "select") < 0 || event_config_avoid_method(cfg, "poll") < 0) {
        event_config_free(cfg);
        return bench_fail("event_config", EINVAL);
    }
    errno = 0;
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!base)
        return bench_fail("event_base_new_with_config (epoll)", errno ? errno : ENOSYS);
    const char *method = event_base_get_method(base);
    if (strcmp(method, "epoll") != 0) {
        close_base();
        return bench_fail("event_base_get_method: not epoll", ENOSYS);
    }
    snprintf(backend_name, sizeof(backend_name), "%s", method);
    return 0;
}

/* A callback's failure: remember it and stop the loop. */
static void fail_in_callback(const char *what, int err)
{
    bench_fail(what, err);
    failed = 1;
    event_base_loopbreak(base);
}

/* Run until a callback breaks the loop. */
static int dispatch(void)
{
    errno = 0;
    int rc = event_base_dispatch(base);
    if (rc < 0)
        return bench_fail("event_base_dispatch", errno ? errno : EIO);
    if (rc > 0)
        return bench_fail("event_base_dispatch: no events", ENOENT);
    return failed ? -1 : 0;
}

/* ---- pingpong ---------------------------------------------------------- */

static struct event **pp_events; /* one per pair, on fds[i][0] */

static void pingpong_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    bench_pingpong *pp = arg;
    int r = bench_pingpong_step(pp, fd);
    if (r < 0)
        failed = 1;
    if (r != 0)
        event_base_loopbreak(base);
}

static void pingpong_close(bench_pingpong *pp);

static int pingpong_open(bench_pingpong *pp)
{
    pp_events = calloc(pp->pairs, sizeof(*pp_events));
    if (!pp_events)
        return bench_fail("calloc", ENOMEM);
    if (open_base() < 0) {
        pingpong_close(pp);
        return -1;
    }
    for (size_t i = 0; i < pp->pairs; i++) {
        pp_events[i] = event_new(base, pp->fds[i][0], EV_READ | EV_PERSIST | EV_ET, pingpong_cb, pp);
        if (!pp_events[i]) {
            pingpong_close(pp);
            return bench_fail("event_new", ENOMEM);
        }
    }
    return 0;
}

static int pingpong_register(bench_pingpong *pp)
{
    for (size_t i = 0; i < pp->pairs; i++)
        if (event_add(pp_events[i], NULL) < 0)
            return bench_fail("event_add", errno);
    return 0;
}

static int pingpong_run(bench_pingpong *pp)
{
    if (dispatch() < 0)
        return -1;
    return pp->done == pp->events ? 0 : bench_fail("event_base_dispatch", EIO);
}

static void pingpong_close(bench_pingpong *pp)
{
    for (size_t i = 0; pp_events && i < pp->pairs; i++)
        if (pp_events[i])
            event_free(pp_events[i]);
    free(pp_events);
    pp_events = NULL;
    close_base();
}

/* ---- churn ------------------------------------------------------------- */

static struct event **churn_events; /* one per fd */

static void churn_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    /* A pipe's read end with nothing written is neither readable nor
     * writable: no event is due. */
    fail_in_callback("churn: unexpected event", EPROTO);
}

/* Once without waiting, even with no event added (the deregister phase). */
static int run_nowait(void)
{
    errno = 0;
    if (event_base_loop(base, EVLOOP_NONBLOCK | EVLOOP_NO_EXIT_ON_EMPTY) < 0)
        return bench_fail("event_base_loop", errno ? errno : EIO);
    return failed ? -1 : 0;
}

static void churn_close(bench_churn *c);

static int churn_open(bench_churn *c)
{
    churn_events = calloc(c->fds, sizeof(*churn_events));
    if (!churn_events)
        return bench_fail("calloc", ENOMEM);
    if (open_base() < 0) {
        churn_close(c);
        return -1;
    }
    for (size_t i = 0; i < c->fds; i++) {
        churn_events[i] = event_new(base, c->fd[i], EV_READ | EV_PERSIST | EV_ET, churn_cb, NULL);
        if (!churn_events[i]) {
            churn_close(c);
            return bench_fail("event_new", ENOMEM);
        }
    }
    return 0;
}

/* Point a (not pending) event at its fd for `what`, edge-triggered. */
static int churn_assign(struct event *ev, int fd, short what)
{
    return event_assign(ev, base, fd, what | EV_PERSIST | EV_ET, churn_cb, NULL);
}

static int churn_run(bench_churn *c)
{
    for (size_t r = 0; r < c->rounds; r++) {
        /* Register: back to reading (the previous round left it writing). */
        for (size_t i = 0; i < c->fds; i++)
            if (churn_assign(churn_events[i], c->fd[i], EV_READ) < 0 || event_add(churn_events[i], NULL) < 0)
                return bench_fail("event_assign/event_add", errno);
        if (run_nowait() < 0)
            return -1;
        for (size_t i = 0; i < c->fds; i++)
            if (event_del(churn_events[i]) < 0 || churn_assign(churn_events[i], c->fd[i], EV_WRITE) < 0 ||
                event_add(churn_events[i], NULL) < 0)
                return bench_fail("event_del/event_assign/event_add", errno);
        if (run_nowait() < 0)
            return -1;
        for (size_t i = 0; i < c->fds; i++)
            if (event_del(churn_events[i]) < 0)
                return bench_fail("event_del", errno);
        if (run_nowait() < 0)
            return -1;
    }
    return 0;
}

static void churn_close(bench_churn *c)
{
    for (size_t i = 0; churn_events && i < c->fds; i++)
        if (churn_events[i])
            event_free(churn_events[i]);
    free(churn_events);
    churn_events = NULL;
    close_base();
}

/* ---- wake -------------------------------------------------------------- */

static struct event *wake_event; /* never added: only made active */

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    bench_wake *w = arg;
    bench_wake_ack(w);
    if (w->done == w->wakes)
        event_base_loopbreak(base);
}

static int wake_open(bench_wake *w)
{
    /* Before the base: it then gets locks and a way to be notified. */
    if (evthread_use_pthreads() < 0)
        return bench_fail("evthread_use_pthreads", ENOSYS);
    if (open_base() < 0)
        return -1;
    wake_event = event_new(base, -1, 0, wake_cb, w);
    if (!wake_event) {
        close_base();
        return bench_fail("event_new", ENOMEM);
    }
    return 0;
}

static int wake_send(bench_wake *w)
{
    (void)w;
    event_active(wake_event, EV_READ, 0); /* locks the base and notifies it */
    return 0;
}

static int wake_run(bench_wake *w)
{
    /* No event is added, so the loop must not exit for lack of them. */
    errno = 0;
    if (event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY) < 0)
        return bench_fail("event_base_loop", errno ? errno : EIO);
    return w->done == w->wakes ? 0 : bench_fail("event_base_loop", EIO);
}

static void wake_close(bench_wake *w)
{
    (void)w;
    if (wake_event)
        event_free(wake_event);
    wake_event = NULL;
    close_base();
    /* The last libevent call of the process (backend() reads a copy): frees
     * what evthread_use_pthreads set up. */
    libevent_global_shutdown();
}

/* ---- echo -------------------------------------------------------------- */

struct conn {
    int fd; /* -1 once closed */
    struct event *ev;
};

static bench_echo *echo;
static struct event *listen_event;
static struct conn *conns;

/* Echo until EAGAIN; closes the connection at its end. */
static void serve_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct conn *c = arg;
    int r;
    while ((r = bench_echo_step(echo, fd)) == ECHO_AGAIN) {
    }
    if (r < 0) {
        failed = 1;
        event_base_loopbreak(base);
    }
    if (r != ECHO_END)
        return;
    event_free(c->ev); /* end of stream, or reset: deletes it first */
    c->ev = NULL;
    close(c->fd);
    c->fd = -1;
    if (++echo->closed == echo->conns)
        event_base_loopbreak(base);
}

static void accept_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    bench_echo *e = arg;
    for (;;) {
        int s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (s < 0) {
            if (errno != EAGAIN && errno != EINTR)
                fail_in_callback("accept4", errno);
            return;
        }
        if (e->accepted == e->conns) {
            close(s);
            fail_in_callback("accept4", EMFILE);
            return;
        }
        struct conn *c = &conns[e->accepted++];
        c->fd = s;
        c->ev = event_new(base, s, EV_READ | EV_PERSIST | EV_ET, serve_cb, c);
        if (!c->ev) {
            fail_in_callback("event_new", ENOMEM);
            return;
        }
        if (event_add(c->ev, NULL) < 0) {
            fail_in_callback("event_add", errno);
            return;
        }
    }
}

static void echo_close(bench_echo *e);

static int echo_open(bench_echo *e)
{
    echo = e;
    conns = calloc(e->conns, sizeof(*conns));
    if (!conns)
        return bench_fail("calloc", ENOMEM);
    if (open_base() < 0) {
        echo_close(e);
        return -1;
    }
    listen_event = event_new(base, e->listen_fd, EV_READ | EV_PERSIST | EV_ET, accept_cb, e);
    if (!listen_event) {
        echo_close(e);
        return bench_fail("event_new", ENOMEM);
    }
    if (event_add(listen_event, NULL) < 0) {
        int err = errno;
        echo_close(e);
        return bench_fail("event_add", err);
    }
    return 0;
}

static int echo_run(bench_echo *e)
{
    if (dispatch() < 0)
        return -1;
    return e->closed == e->conns ? 0 : bench_fail("event_base_dispatch", EIO);
}

static void echo_close(bench_echo *e)
{
    for (size_t i = 0; conns && i < e->accepted; i++) {
        if (conns[i].ev)
            event_free(conns[i].ev);
        if (conns[i].fd >= 0)
            close(conns[i].fd);
    }
    free(conns);
    conns = NULL;
    if (listen_event)
        event_free(listen_event);
    listen_event = NULL;
    close_base();
    echo = NULL;
}

/* ---- multi_echo (issue 12) --------------------------------------------- */
/*
 * One event_base per reactor thread, as memcached's workers do it: no
 * evthread locking (each base is touched by its own thread only), and a
 * notification descriptor per base (an eventfd with an edge-triggered
 * event) through which the reactor that closes the run's last connection
 * makes the others break their loops.
 */
struct me_conn {
    int fd; /* -1 once closed */
    struct event *ev;
    struct me_reactor *r;
};

struct me_reactor {
    bench_multi_echo *m;
    size_t k;
    struct event_base *base;
    struct event *listen_ev, *notify_ev;
    int notify_fd;
    struct me_conn *conns;
    int failed;
};

static struct me_reactor *me;

static void me_stop_all(bench_multi_echo *m, size_t k)
{
    uint64_t one = 1;
    for (size_t j = 0; j < m->threads; j++)
        if (j != k && write(me[j].notify_fd, &one, sizeof(one)) != sizeof(one))
            bench_fail("write", errno);
    event_base_loopbreak(me[k].base);
}

static void me_fail(struct me_reactor *r, const char *what, int err)
{
    bench_fail(what, err);
    r->failed = 1;
    bench_multi_echo_abort(r->m);
    me_stop_all(r->m, r->k);
}

static void me_notify_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct me_reactor *r = arg;
    event_base_loopbreak(r->base);
}

static void me_serve_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct me_conn *c = arg;
    struct me_reactor *r = c->r;
    bench_echo *e = &r->m->per[r->k];
    int rc;
    while ((rc = bench_echo_step(e, fd)) == ECHO_AGAIN) {
    }
    if (rc < 0) {
        me_fail(r, "echo", EIO);
        return;
    }
    if (rc != ECHO_END)
        return;
    event_free(c->ev);
    c->ev = NULL;
    close(c->fd);
    c->fd = -1;
    e->closed++;
    if (bench_multi_echo_closed(r->m))
        me_stop_all(r->m, r->k);
}

static void me_accept_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct me_reactor *r = arg;
    bench_echo *e = &r->m->per[r->k];
    for (;;) {
        int s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (s < 0) {
            if (errno != EAGAIN && errno != EINTR)
                me_fail(r, "accept4", errno);
            return;
        }
        if (e->accepted == e->conns) {
            close(s);
            me_fail(r, "accept4", EMFILE);
            return;
        }
        struct me_conn *c = &r->conns[e->accepted++];
        c->fd = s;
        c->r = r;
        c->ev = event_new(r->base, s, EV_READ | EV_PERSIST | EV_ET, me_serve_cb, c);
        if (!c->ev || event_add(c->ev, NULL) < 0) {
            me_fail(r, "event_add", c->ev ? errno : ENOMEM);
            return;
        }
    }
}

static int multi_echo_open(bench_multi_echo *m)
{
    me = calloc(m->threads, sizeof(*me));
    if (!me)
        return bench_fail("calloc", ENOMEM);
    for (size_t k = 0; k < m->threads; k++)
        me[k].notify_fd = -1;
    for (size_t k = 0; k < m->threads; k++) {
        struct me_reactor *r = &me[k];
        r->m = m;
        r->k = k;
        r->conns = calloc(m->conns, sizeof(*r->conns));
        if (!r->conns)
            return bench_fail("calloc", ENOMEM);
        if (open_base() < 0)
            return -1;
        r->base = base; /* open_base's; each reactor keeps its own */
        base = NULL;
        r->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (r->notify_fd < 0)
            return bench_fail("eventfd", errno);
        r->listen_ev = event_new(r->base, m->per[k].listen_fd, EV_READ | EV_PERSIST | EV_ET, me_accept_cb, r);
        r->notify_ev = event_new(r->base, r->notify_fd, EV_READ | EV_PERSIST | EV_ET, me_notify_cb, r);
        if (!r->listen_ev || !r->notify_ev)
            return bench_fail("event_new", ENOMEM);
        if (event_add(r->listen_ev, NULL) < 0 || event_add(r->notify_ev, NULL) < 0)
            return bench_fail("event_add", errno);
    }
    return 0;
}

static int multi_echo_run(bench_multi_echo *m, size_t k)
{
    struct me_reactor *r = &me[k];
    while (!bench_multi_echo_done(m)) {
        errno = 0;
        if (event_base_dispatch(r->base) < 0) {
            bench_fail("event_base_dispatch", errno ? errno : EIO);
            bench_multi_echo_abort(m);
            me_stop_all(m, k);
            return -1;
        }
    }
    return r->failed ? -1 : 0;
}

static void multi_echo_close(bench_multi_echo *m)
{
    for (size_t k = 0; me && k < m->threads; k++) {
        struct me_reactor *r = &me[k];
        for (size_t i = 0; r->conns && i < m->per[k].accepted; i++) {
            if (r->conns[i].ev)
                event_free(r->conns[i].ev);
            if (r->conns[i].fd >= 0)
                close(r->conns[i].fd);
        }
        free(r->conns);
        if (r->listen_ev)
            event_free(r->listen_ev);
        if (r->notify_ev)
            event_free(r->notify_ev);
        if (r->notify_fd >= 0)
            close(r->notify_fd);
        if (r->base)
            event_base_free(r->base);
    }
    free(me);
    me = NULL;
}

static const bench_multi_echo_ops multi_echo_ops = {multi_echo_open, multi_echo_run, multi_echo_close};
#undef BENCH_MULTI_ECHO_OPS
#define BENCH_MULTI_ECHO_OPS (&multi_echo_ops)

BENCH_IMPL("libevent");
