/*
 * libev: each workload written as a libev user writes it — a loop made with
 * ev_loop_new(EVBACKEND_EPOLL), one ev_io watcher per descriptor, ev_async
 * for the wake and ev_break to stop. libev has no I/O of its own, so the
 * callbacks read, write and accept on the descriptors themselves.
 *
 * libev's ev_io is level-triggered (it has no edge mode): pingpong and echo
 * read once per event (bench.h). libev applies watcher changes lazily, in
 * the next ev_run, so pingpong_register runs the loop once without waiting
 * to make the registration happen inside the timed part, as churn does after
 * each phase. After ev_break, libev still invokes the callbacks already
 * pending in that iteration: they do nothing once the run is over.
 *
 * SPDX-License-Identifier: MIT
 */
/* No channel workload: a message queue is not part of the library. */
#define BENCH_NO_CHANNEL
#include "bench.h"

#include <ev.h>

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static struct ev_loop *loop;
static int failed; /* a callback failed (after printing why) and broke the loop */
static const char *backend_name = "?"; /* the loop's, as ev_backend reports it */

static const char *backend(void) { return backend_name; }

static void close_loop(void)
{
    if (loop)
        ev_loop_destroy(loop);
    loop = NULL;
}

static int open_loop(void)
{
    failed = 0;
    errno = 0;
    /* EVFLAG_NOENV: LIBEV_FLAGS must not pick another backend. */
    loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
    if (!loop)
        return bench_fail("ev_loop_new(EVBACKEND_EPOLL)", errno ? errno : ENOSYS);
    if (ev_backend(loop) != EVBACKEND_EPOLL) {
        close_loop();
        return bench_fail("ev_loop_new: not epoll", ENOSYS);
    }
    backend_name = "epoll";
    return 0;
}

/* A callback's failure: remember it and stop the loop. */
static void fail_in_callback(struct ev_loop *l, const char *what, int err)
{
    bench_fail(what, err);
    failed = 1;
    ev_break(l, EVBREAK_ALL);
}

/* ---- pingpong ---------------------------------------------------------- */

static ev_io *pp_watchers; /* one per pair, on fds[i][0] */

static void pingpong_cb(struct ev_loop *l, ev_io *w, int revents)
{
    bench_pingpong *pp = w->data;
    if (pp->done == pp->events || failed)
        return; /* pending when the loop broke */
    if (revents & EV_ERROR) {
        fail_in_callback(l, "ev_io", EBADF);
        return;
    }
    int r = bench_pingpong_step(pp, w->fd);
    if (r < 0)
        failed = 1;
    if (r != 0)
        ev_break(l, EVBREAK_ALL);
}

static void pingpong_close(bench_pingpong *pp);

static int pingpong_open(bench_pingpong *pp)
{
    pp_watchers = calloc(pp->pairs, sizeof(*pp_watchers));
    if (!pp_watchers)
        return bench_fail("calloc", ENOMEM);
    for (size_t i = 0; i < pp->pairs; i++) {
        ev_io_init(&pp_watchers[i], pingpong_cb, pp->fds[i][0], EV_READ);
        pp_watchers[i].data = pp;
    }
    if (open_loop() < 0) {
        pingpong_close(pp);
        return -1;
    }
    return 0;
}

static int pingpong_register(bench_pingpong *pp)
{
    for (size_t i = 0; i < pp->pairs; i++)
        ev_io_start(loop, &pp_watchers[i]);
    ev_run(loop, EVRUN_NOWAIT); /* apply the changes: nothing is ready yet */
    return failed ? -1 : 0;
}

static int pingpong_run(bench_pingpong *pp)
{
    ev_run(loop, 0);
    if (failed)
        return -1;
    return pp->done == pp->events ? 0 : bench_fail("ev_run", EIO);
}

static void pingpong_close(bench_pingpong *pp)
{
    for (size_t i = 0; loop && pp_watchers && i < pp->pairs; i++)
        ev_io_stop(loop, &pp_watchers[i]);
    free(pp_watchers);
    pp_watchers = NULL;
    close_loop();
}

/* ---- churn ------------------------------------------------------------- */

static ev_io *churn_watchers; /* one per fd */

static void churn_cb(struct ev_loop *l, ev_io *w, int revents)
{
    (void)w;
    (void)revents;
    /* A pipe's read end with nothing written is neither readable nor
     * writable: no event is due. */
    fail_in_callback(l, "churn: unexpected event", EPROTO);
}

static void churn_close(bench_churn *c);

static int churn_open(bench_churn *c)
{
    churn_watchers = calloc(c->fds, sizeof(*churn_watchers));
    if (!churn_watchers)
        return bench_fail("calloc", ENOMEM);
    for (size_t i = 0; i < c->fds; i++)
        ev_io_init(&churn_watchers[i], churn_cb, c->fd[i], EV_READ);
    if (open_loop() < 0) {
        churn_close(c);
        return -1;
    }
    return 0;
}

static int churn_run(bench_churn *c)
{
    for (size_t r = 0; r < c->rounds && !failed; r++) {
        for (size_t i = 0; i < c->fds; i++) {
            ev_io_set(&churn_watchers[i], c->fd[i], EV_READ);
            ev_io_start(loop, &churn_watchers[i]);
        }
        ev_run(loop, EVRUN_NOWAIT);
        for (size_t i = 0; i < c->fds; i++) {
            ev_io_stop(loop, &churn_watchers[i]);
            ev_io_set(&churn_watchers[i], c->fd[i], EV_WRITE);
            ev_io_start(loop, &churn_watchers[i]);
        }
        ev_run(loop, EVRUN_NOWAIT);
        for (size_t i = 0; i < c->fds; i++)
            ev_io_stop(loop, &churn_watchers[i]);
        ev_run(loop, EVRUN_NOWAIT);
    }
    return failed ? -1 : 0;
}

static void churn_close(bench_churn *c)
{
    for (size_t i = 0; loop && churn_watchers && i < c->fds; i++)
        ev_io_stop(loop, &churn_watchers[i]);
    free(churn_watchers);
    churn_watchers = NULL;
    close_loop();
}

/* ---- wake -------------------------------------------------------------- */

static ev_async wake_watcher;

static void wake_cb(struct ev_loop *l, ev_async *a, int revents)
{
    (void)revents;
    bench_wake *w = a->data;
    bench_wake_ack(w);
    if (w->done == w->wakes)
        ev_break(l, EVBREAK_ALL);
}

static int wake_open(bench_wake *w)
{
    if (open_loop() < 0)
        return -1;
    ev_async_init(&wake_watcher, wake_cb);
    wake_watcher.data = w;
    ev_async_start(loop, &wake_watcher);
    return 0;
}

static int wake_send(bench_wake *w)
{
    (void)w;
    ev_async_send(loop, &wake_watcher); /* thread-safe; cannot fail */
    return 0;
}

static int wake_run(bench_wake *w)
{
    ev_run(loop, 0);
    return w->done == w->wakes ? 0 : bench_fail("ev_run", EIO);
}

static void wake_close(bench_wake *w)
{
    (void)w;
    if (loop)
        ev_async_stop(loop, &wake_watcher);
    close_loop();
}

/* ---- echo -------------------------------------------------------------- */

static ev_io listen_watcher;
static ev_io *conn_watchers; /* conn_watchers[i].fd is -1 once closed */

/* Read once (level-triggered), write back; closes the connection at its end. */
static void serve_cb(struct ev_loop *l, ev_io *w, int revents)
{
    bench_echo *e = w->data;
    if (revents & EV_ERROR) {
        fail_in_callback(l, "ev_io", EBADF);
        return;
    }
    int r = bench_echo_step(e, w->fd);
    if (r < 0) {
        failed = 1;
        ev_break(l, EVBREAK_ALL);
    }
    if (r != ECHO_END)
        return; /* level-triggered: it comes back if there is more */
    ev_io_stop(l, w); /* end of stream, or reset */
    close(w->fd);
    ev_io_set(w, -1, EV_READ);
    if (++e->closed == e->conns)
        ev_break(l, EVBREAK_ALL);
}

static void accept_cb(struct ev_loop *l, ev_io *w, int revents)
{
    bench_echo *e = w->data;
    if (revents & EV_ERROR) {
        fail_in_callback(l, "ev_io", EBADF);
        return;
    }
    for (;;) {
        int fd = accept4(e->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR)
                fail_in_callback(l, "accept4", errno);
            return;
        }
        if (e->accepted == e->conns) {
            close(fd);
            fail_in_callback(l, "accept4", EMFILE);
            return;
        }
        ev_io *c = &conn_watchers[e->accepted++];
        ev_io_init(c, serve_cb, fd, EV_READ);
        c->data = e;
        ev_io_start(l, c);
    }
}

static void echo_close(bench_echo *e);

static int echo_open(bench_echo *e)
{
    conn_watchers = calloc(e->conns, sizeof(*conn_watchers));
    if (!conn_watchers)
        return bench_fail("calloc", ENOMEM);
    if (open_loop() < 0) {
        echo_close(e);
        return -1;
    }
    ev_io_init(&listen_watcher, accept_cb, e->listen_fd, EV_READ);
    listen_watcher.data = e;
    ev_io_start(loop, &listen_watcher);
    return 0;
}

static int echo_run(bench_echo *e)
{
    ev_run(loop, 0);
    if (failed)
        return -1;
    return e->closed == e->conns ? 0 : bench_fail("ev_run", EIO);
}

static void echo_close(bench_echo *e)
{
    if (loop)
        ev_io_stop(loop, &listen_watcher);
    for (size_t i = 0; conn_watchers && i < e->accepted; i++)
        if (conn_watchers[i].fd >= 0) {
            ev_io_stop(loop, &conn_watchers[i]);
            close(conn_watchers[i].fd);
        }
    free(conn_watchers);
    conn_watchers = NULL;
    close_loop();
}

/* ---- timers ------------------------------------------------------------ */

/* ev_timer watchers (libev keeps them in a 4-heap); the loop time is
 * brought up to date once before the arming pass, as libev advises for
 * timers started long after the last iteration. */
static ev_timer *tw;
static bench_timers *tw_run;

static void timer_cb(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)revents;
    if (bench_timers_fired(tw_run, (size_t)(w - tw)))
        ev_break(l, EVBREAK_ALL);
}

static int timers_open(bench_timers *t)
{
    tw = calloc(t->timers, sizeof(*tw));
    if (!tw)
        return bench_fail("calloc", ENOMEM);
    for (size_t i = 0; i < t->timers; i++)
        ev_init(&tw[i], timer_cb);
    return open_loop();
}

static int timers_run(bench_timers *t)
{
    tw_run = t;
    ev_now_update(loop);
    for (size_t i = 0; i < t->timers; i++) {
        ev_timer_set(&tw[i], (double)bench_timers_after(t, i) / 1e3, 0.);
        ev_timer_start(loop, &tw[i]);
    }
    for (size_t i = 1; i < t->timers; i += 2)
        ev_timer_stop(loop, &tw[i]);
    bench_timers_started(t);
    ev_run(loop, 0);
    return failed ? -1 : 0;
}

static void timers_close(bench_timers *t)
{
    for (size_t i = 0; tw && loop && i < t->timers; i++)
        ev_timer_stop(loop, &tw[i]);
    close_loop();
    free(tw);
    tw = NULL;
}

static const bench_timer_ops timer_ops = {timers_open, timers_run, timers_close};
#undef BENCH_TIMER_OPS
#define BENCH_TIMER_OPS (&timer_ops)

BENCH_IMPL("libev");
