/*
 * libuv: each workload written with libuv's readiness interface — a
 * uv_loop_t, one uv_poll_t handle per descriptor, uv_async_t for the wake
 * (and, with a uv_mutex_t-protected ring, for the channel) and uv_stop to
 * stop. uv_poll does no I/O of its own, so the callbacks read,
 * write and accept on the descriptors themselves. Handles are closed with
 * uv_close and the loop run to completion before uv_loop_close.
 *
 * uv_poll is level-triggered: pingpong and echo read once per event
 * (bench.h). libuv hands new watchers to epoll in the next uv_run, so
 * pingpong_register runs the loop once without waiting to make the
 * registration happen inside the timed part, as churn does after each phase.
 * After uv_stop, libuv still calls back for the rest of the events epoll
 * returned in that iteration: they do nothing once the run is over.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bench.h"

#include <uv.h>

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static uv_loop_t loop_storage;
static uv_loop_t *loop; /* &loop_storage while open */
static int failed; /* a callback failed (after printing why) and stopped the loop */

static const char *backend(void) { return "epoll"; }

static int open_loop(void)
{
    failed = 0;
    int err = uv_loop_init(&loop_storage);
    if (err < 0)
        return bench_fail("uv_loop_init", err);
    loop = &loop_storage;
    return 0;
}

/* After uv_close on every handle: let the closes finish, then close the loop. */
static void close_loop(void)
{
    if (!loop)
        return;
    uv_run(loop, UV_RUN_DEFAULT);
    int err = uv_loop_close(loop);
    if (err < 0)
        bench_fail("uv_loop_close", err);
    loop = NULL;
}

/* A callback's failure: remember it and stop the loop. */
static void fail_in_callback(const char *what, int err)
{
    bench_fail(what, err);
    failed = 1;
    uv_stop(loop);
}

/* ---- pingpong ---------------------------------------------------------- */

static uv_poll_t *pp_polls; /* one per pair, on fds[i][0] */
static size_t pp_inited;

static void pingpong_cb(uv_poll_t *h, int status, int events)
{
    (void)events;
    bench_pingpong *pp = h->data;
    if (pp->done == pp->events || failed)
        return; /* reported in the iteration that stopped the loop */
    if (status < 0) {
        fail_in_callback("uv_poll", status);
        return;
    }
    int r = bench_pingpong_step(pp, pp->fds[h - pp_polls][0]);
    if (r < 0)
        failed = 1;
    if (r != 0)
        uv_stop(loop);
}

static void pingpong_close(bench_pingpong *pp);

static int pingpong_open(bench_pingpong *pp)
{
    pp_inited = 0;
    pp_polls = calloc(pp->pairs, sizeof(*pp_polls));
    if (!pp_polls)
        return bench_fail("calloc", ENOMEM);
    if (open_loop() < 0) {
        pingpong_close(pp);
        return -1;
    }
    for (; pp_inited < pp->pairs; pp_inited++) {
        int err = uv_poll_init(loop, &pp_polls[pp_inited], pp->fds[pp_inited][0]);
        if (err < 0) {
            pingpong_close(pp);
            return bench_fail("uv_poll_init", err);
        }
        pp_polls[pp_inited].data = pp;
    }
    return 0;
}

static int pingpong_register(bench_pingpong *pp)
{
    for (size_t i = 0; i < pp->pairs; i++) {
        int err = uv_poll_start(&pp_polls[i], UV_READABLE, pingpong_cb);
        if (err < 0)
            return bench_fail("uv_poll_start", err);
    }
    uv_run(loop, UV_RUN_NOWAIT); /* apply the changes: nothing is ready yet */
    return failed ? -1 : 0;
}

static int pingpong_run(bench_pingpong *pp)
{
    uv_run(loop, UV_RUN_DEFAULT);
    if (failed)
        return -1;
    return pp->done == pp->events ? 0 : bench_fail("uv_run", EIO);
}

static void pingpong_close(bench_pingpong *pp)
{
    (void)pp;
    for (size_t i = 0; i < pp_inited; i++)
        uv_close((uv_handle_t *)&pp_polls[i], NULL); /* the harness closes the fds */
    pp_inited = 0;
    close_loop();
    free(pp_polls);
    pp_polls = NULL;
}

/* ---- churn ------------------------------------------------------------- */

static uv_poll_t *churn_polls; /* one per fd */
static size_t churn_inited;

static void churn_cb(uv_poll_t *h, int status, int events)
{
    (void)h;
    (void)status;
    (void)events;
    /* A pipe's read end with nothing written is neither readable nor
     * writable: no event is due. */
    fail_in_callback("churn: unexpected event", EPROTO);
}

static void churn_close(bench_churn *c);

static int churn_open(bench_churn *c)
{
    churn_inited = 0;
    churn_polls = calloc(c->fds, sizeof(*churn_polls));
    if (!churn_polls)
        return bench_fail("calloc", ENOMEM);
    if (open_loop() < 0) {
        churn_close(c);
        return -1;
    }
    for (; churn_inited < c->fds; churn_inited++) {
        int err = uv_poll_init(loop, &churn_polls[churn_inited], c->fd[churn_inited]);
        if (err < 0) {
            churn_close(c);
            return bench_fail("uv_poll_init", err);
        }
    }
    return 0;
}

static int churn_run(bench_churn *c)
{
    int err = 0;
    for (size_t r = 0; r < c->rounds; r++) {
        for (size_t i = 0; i < c->fds && err == 0; i++)
            err = uv_poll_start(&churn_polls[i], UV_READABLE, churn_cb);
        if (err < 0)
            return bench_fail("uv_poll_start", err);
        uv_run(loop, UV_RUN_NOWAIT);
        for (size_t i = 0; i < c->fds && err == 0; i++)
            err = uv_poll_start(&churn_polls[i], UV_WRITABLE, churn_cb);
        if (err < 0)
            return bench_fail("uv_poll_start", err);
        uv_run(loop, UV_RUN_NOWAIT);
        for (size_t i = 0; i < c->fds && err == 0; i++)
            err = uv_poll_stop(&churn_polls[i]);
        if (err < 0)
            return bench_fail("uv_poll_stop", err);
        uv_run(loop, UV_RUN_NOWAIT);
        if (failed)
            return -1;
    }
    return 0;
}

static void churn_close(bench_churn *c)
{
    (void)c;
    for (size_t i = 0; i < churn_inited; i++)
        uv_close((uv_handle_t *)&churn_polls[i], NULL);
    churn_inited = 0;
    close_loop();
    free(churn_polls);
    churn_polls = NULL;
}

/* ---- wake -------------------------------------------------------------- */

static uv_async_t wake_async;
static int wake_inited;

static void wake_cb(uv_async_t *a)
{
    bench_wake *w = a->data;
    bench_wake_ack(w);
    if (w->done == w->wakes)
        uv_stop(loop);
}

static int wake_open(bench_wake *w)
{
    wake_inited = 0;
    if (open_loop() < 0)
        return -1;
    int err = uv_async_init(loop, &wake_async, wake_cb);
    if (err < 0) {
        close_loop();
        return bench_fail("uv_async_init", err);
    }
    wake_async.data = w;
    wake_inited = 1;
    return 0;
}

static int wake_send(bench_wake *w)
{
    (void)w;
    int err = uv_async_send(&wake_async); /* thread-safe */
    return err < 0 ? bench_fail("uv_async_send", err) : 0;
}

static int wake_run(bench_wake *w)
{
    uv_run(loop, UV_RUN_DEFAULT);
    return w->done == w->wakes ? 0 : bench_fail("uv_run", EIO);
}

static void wake_close(bench_wake *w)
{
    (void)w;
    if (wake_inited)
        uv_close((uv_handle_t *)&wake_async, NULL);
    wake_inited = 0;
    close_loop();
}

/* ---- echo -------------------------------------------------------------- */

struct conn {
    int fd; /* -1 once closed */
    uv_poll_t poll;
};

static bench_echo *echo;
static uv_poll_t listen_poll;
static int listen_inited;
static struct conn *conns;

/* Read once (level-triggered), write back; closes the connection at its end. */
static void serve_cb(uv_poll_t *h, int status, int events)
{
    (void)events;
    struct conn *c = h->data;
    /* A socket error (EPOLLERR, as after a reset) comes as a status instead
     * of readiness: the connection's end, like a read's ECONNRESET. */
    if (status == 0) {
        int r = bench_echo_step(echo, c->fd);
        if (r < 0) {
            failed = 1;
            uv_stop(loop);
        }
        if (r != ECHO_END)
            return; /* level-triggered: it comes back if there is more */
    }
    uv_close((uv_handle_t *)h, NULL); /* end of stream, or reset: stops polling first */
    close(c->fd);
    c->fd = -1;
    if (++echo->closed == echo->conns)
        uv_stop(loop);
}

static void accept_cb(uv_poll_t *h, int status, int events)
{
    (void)h;
    (void)events;
    bench_echo *e = echo;
    if (status < 0) {
        fail_in_callback("uv_poll", status);
        return;
    }
    for (;;) {
        int fd = accept4(e->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR)
                fail_in_callback("accept4", errno);
            return;
        }
        if (e->accepted == e->conns) {
            close(fd);
            fail_in_callback("accept4", EMFILE);
            return;
        }
        struct conn *c = &conns[e->accepted];
        int err = uv_poll_init(loop, &c->poll, fd);
        if (err < 0) {
            close(fd);
            fail_in_callback("uv_poll_init", err);
            return;
        }
        e->accepted++;
        c->fd = fd;
        c->poll.data = c;
        err = uv_poll_start(&c->poll, UV_READABLE, serve_cb);
        if (err < 0) {
            fail_in_callback("uv_poll_start", err);
            return;
        }
    }
}

static void echo_close(bench_echo *e);

static int echo_open(bench_echo *e)
{
    echo = e;
    listen_inited = 0;
    conns = calloc(e->conns, sizeof(*conns));
    if (!conns)
        return bench_fail("calloc", ENOMEM);
    if (open_loop() < 0) {
        echo_close(e);
        return -1;
    }
    int err = uv_poll_init(loop, &listen_poll, e->listen_fd); /* the harness owns it */
    if (err < 0) {
        echo_close(e);
        return bench_fail("uv_poll_init", err);
    }
    listen_inited = 1;
    err = uv_poll_start(&listen_poll, UV_READABLE, accept_cb);
    if (err < 0) {
        echo_close(e);
        return bench_fail("uv_poll_start", err);
    }
    return 0;
}

static int echo_run(bench_echo *e)
{
    uv_run(loop, UV_RUN_DEFAULT);
    if (failed)
        return -1;
    return e->closed == e->conns ? 0 : bench_fail("uv_run", EIO);
}

static void echo_close(bench_echo *e)
{
    for (size_t i = 0; conns && i < e->accepted; i++)
        if (conns[i].fd >= 0) {
            uv_close((uv_handle_t *)&conns[i].poll, NULL);
            close(conns[i].fd);
            conns[i].fd = -1;
        }
    if (listen_inited)
        uv_close((uv_handle_t *)&listen_poll, NULL);
    listen_inited = 0;
    close_loop(); /* before freeing the handles it still holds */
    free(conns);
    conns = NULL;
    echo = NULL;
}

/* ---- channel ----------------------------------------------------------- */

/* libuv's way: a ring under a uv_mutex_t and a uv_async_t; every send
 * calls uv_async_send, which coalesces by itself (a write only when the
 * handle is not already pending). The callback takes up to BATCH messages
 * per lock and handles them outside it, until the ring is empty. */
enum { BATCH = 64 };

static struct {
    uv_mutex_t lock;
    bench_msg *buf;
    size_t cap, head, len;
    uv_async_t async;
    int lock_inited, async_inited;
} ring;

static void channel_cb(uv_async_t *a)
{
    bench_channel *ch = a->data;
    bench_msg batch[BATCH];
    ch->events++;
    for (;;) {
        uv_mutex_lock(&ring.lock);
        size_t k = 0;
        for (; k < BATCH && ring.len > 0; k++) {
            batch[k] = ring.buf[ring.head];
            ring.head = ring.head + 1 < ring.cap ? ring.head + 1 : 0;
            ring.len--;
        }
        uv_mutex_unlock(&ring.lock);
        if (k == 0)
            break;
        for (size_t j = 0; j < k; j++)
            bench_channel_take(ch, &batch[j]);
    }
    if (ch->done == ch->messages)
        uv_stop(loop);
}

static int channel_open(bench_channel *ch)
{
    ring.buf = malloc(ch->capacity * sizeof(*ring.buf));
    if (!ring.buf)
        return bench_fail("malloc", ENOMEM);
    ring.cap = ch->capacity;
    ring.head = ring.len = 0;
    int err = uv_mutex_init(&ring.lock);
    if (err < 0)
        return bench_fail("uv_mutex_init", err);
    ring.lock_inited = 1;
    if (open_loop() < 0)
        return -1;
    err = uv_async_init(loop, &ring.async, channel_cb);
    if (err < 0)
        return bench_fail("uv_async_init", err);
    ring.async.data = ch;
    ring.async_inited = 1;
    return 0;
}

static int channel_send(bench_channel *ch, const bench_msg *m)
{
    (void)ch;
    uv_mutex_lock(&ring.lock);
    if (ring.len == ring.cap) {
        uv_mutex_unlock(&ring.lock);
        return 1;
    }
    size_t at = ring.head + ring.len;
    ring.buf[at < ring.cap ? at : at - ring.cap] = *m;
    ring.len++;
    uv_mutex_unlock(&ring.lock);
    int err = uv_async_send(&ring.async); /* thread-safe */
    return err < 0 ? bench_fail("uv_async_send", err) : 0;
}

static int channel_run(bench_channel *ch)
{
    uv_run(loop, UV_RUN_DEFAULT);
    return ch->done == ch->messages ? 0 : bench_fail("uv_run", EIO);
}

static void channel_close(bench_channel *ch)
{
    (void)ch;
    if (ring.async_inited)
        uv_close((uv_handle_t *)&ring.async, NULL);
    ring.async_inited = 0;
    close_loop();
    if (ring.lock_inited)
        uv_mutex_destroy(&ring.lock);
    ring.lock_inited = 0;
    free(ring.buf);
    ring.buf = NULL;
}

/* ---- timers ------------------------------------------------------------ */

/* uv_timer_t handles (libuv keeps them in a heap, against the loop time in
 * milliseconds), the loop time brought up to date before the arming pass;
 * uv_run returns when the last armed timer has expired. */
static uv_timer_t *uw;
static size_t uw_inited;
static bench_timers *uw_run;

static void utimer_cb(uv_timer_t *h)
{
    if (bench_timers_fired(uw_run, (size_t)(h - uw)))
        uv_stop(loop);
}

static int timers_open(bench_timers *t)
{
    uw = calloc(t->timers, sizeof(*uw));
    if (!uw)
        return bench_fail("calloc", ENOMEM);
    if (open_loop() < 0)
        return -1;
    for (uw_inited = 0; uw_inited < t->timers; uw_inited++) {
        int err = uv_timer_init(loop, &uw[uw_inited]);
        if (err < 0)
            return bench_fail("uv_timer_init", err);
    }
    return 0;
}

static int timers_run(bench_timers *t)
{
    uw_run = t;
    uv_update_time(loop);
    for (size_t i = 0; i < t->timers; i++) {
        int err = uv_timer_start(&uw[i], utimer_cb, bench_timers_after(t, i), 0);
        if (err < 0)
            return bench_fail("uv_timer_start", err);
    }
    for (size_t i = 1; i < t->timers; i += 2)
        uv_timer_stop(&uw[i]);
    bench_timers_started(t);
    uv_run(loop, UV_RUN_DEFAULT);
    return failed ? -1 : 0;
}

static void timers_close(bench_timers *t)
{
    (void)t;
    for (size_t i = 0; i < uw_inited; i++)
        uv_close((uv_handle_t *)&uw[i], NULL);
    close_loop();
    free(uw);
    uw = NULL;
    uw_inited = 0;
}

static const bench_timer_ops timer_ops = {timers_open, timers_run, timers_close};
#undef BENCH_TIMER_OPS
#define BENCH_TIMER_OPS (&timer_ops)

/* ---- multi_echo (issue 12) --------------------------------------------- */
/*
 * One uv_loop_t per reactor thread, each with a uv_poll_t on its own
 * SO_REUSEPORT listener and one per connection (level-triggered: read once
 * per event, as echo), and a uv_async_t, libuv's thread-safe wake: the
 * reactor that closes the run's last connection uv_async_send()s the
 * others, whose callbacks uv_stop their loops.
 */
struct me_conn {
    int fd; /* -1 once closed */
    uv_poll_t poll;
    struct me_reactor *r;
};

struct me_reactor {
    bench_multi_echo *m;
    size_t k;
    uv_loop_t loop;
    uv_poll_t listen_poll;
    uv_async_t stop;
    struct me_conn *conns;
    int inited, failed;
};

static struct me_reactor *me;

static void me_stop_all(bench_multi_echo *m, size_t k)
{
    for (size_t j = 0; j < m->threads; j++)
        if (j != k)
            uv_async_send(&me[j].stop);
    uv_stop(&me[k].loop);
}

static void me_fail(struct me_reactor *r, const char *what, int err)
{
    bench_fail(what, err);
    r->failed = 1;
    bench_multi_echo_abort(r->m);
    me_stop_all(r->m, r->k);
}

static void me_stop_cb(uv_async_t *h) { uv_stop(h->loop); }

static void me_serve_cb(uv_poll_t *h, int status, int events)
{
    (void)events;
    struct me_conn *c = h->data;
    struct me_reactor *r = c->r;
    bench_echo *e = &r->m->per[r->k];
    if (status == 0) {
        int rc = bench_echo_step(e, c->fd);
        if (rc < 0) {
            me_fail(r, "echo", EIO);
            return;
        }
        if (rc != ECHO_END)
            return;
    }
    uv_close((uv_handle_t *)h, NULL);
    close(c->fd);
    c->fd = -1;
    e->closed++;
    if (bench_multi_echo_closed(r->m))
        me_stop_all(r->m, r->k);
}

static void me_accept_cb(uv_poll_t *h, int status, int events)
{
    (void)events;
    struct me_reactor *r = h->data;
    bench_echo *e = &r->m->per[r->k];
    if (status < 0) {
        me_fail(r, "uv_poll", status);
        return;
    }
    for (;;) {
        int fd = accept4(e->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR)
                me_fail(r, "accept4", errno);
            return;
        }
        if (e->accepted == e->conns) {
            close(fd);
            me_fail(r, "accept4", EMFILE);
            return;
        }
        struct me_conn *c = &r->conns[e->accepted];
        int err = uv_poll_init(&r->loop, &c->poll, fd);
        if (err < 0) {
            close(fd);
            me_fail(r, "uv_poll_init", err);
            return;
        }
        e->accepted++;
        c->fd = fd;
        c->r = r;
        c->poll.data = c;
        if ((err = uv_poll_start(&c->poll, UV_READABLE, me_serve_cb)) < 0) {
            me_fail(r, "uv_poll_start", err);
            return;
        }
    }
}

static int multi_echo_open(bench_multi_echo *m)
{
    me = calloc(m->threads, sizeof(*me));
    if (!me)
        return bench_fail("calloc", ENOMEM);
    for (size_t k = 0; k < m->threads; k++) {
        struct me_reactor *r = &me[k];
        r->m = m;
        r->k = k;
        r->conns = calloc(m->conns, sizeof(*r->conns));
        if (!r->conns)
            return bench_fail("calloc", ENOMEM);
        int err = uv_loop_init(&r->loop);
        if (err < 0)
            return bench_fail("uv_loop_init", err);
        r->inited = 1;
        if ((err = uv_async_init(&r->loop, &r->stop, me_stop_cb)) < 0)
            return bench_fail("uv_async_init", err);
        r->inited = 2;
        if ((err = uv_poll_init(&r->loop, &r->listen_poll, m->per[k].listen_fd)) < 0)
            return bench_fail("uv_poll_init", err);
        r->inited = 3;
        r->listen_poll.data = r;
        if ((err = uv_poll_start(&r->listen_poll, UV_READABLE, me_accept_cb)) < 0)
            return bench_fail("uv_poll_start", err);
    }
    return 0;
}

static int multi_echo_run(bench_multi_echo *m, size_t k)
{
    struct me_reactor *r = &me[k];
    while (!bench_multi_echo_done(m))
        uv_run(&r->loop, UV_RUN_DEFAULT);
    return r->failed ? -1 : 0;
}

static void multi_echo_close(bench_multi_echo *m)
{
    for (size_t k = 0; me && k < m->threads; k++) {
        struct me_reactor *r = &me[k];
        for (size_t i = 0; r->conns && i < m->per[k].accepted; i++)
            if (r->conns[i].fd >= 0) {
                uv_close((uv_handle_t *)&r->conns[i].poll, NULL);
                close(r->conns[i].fd);
            }
        if (r->inited >= 3)
            uv_close((uv_handle_t *)&r->listen_poll, NULL);
        if (r->inited >= 2)
            uv_close((uv_handle_t *)&r->stop, NULL);
        if (r->inited >= 1) {
            uv_run(&r->loop, UV_RUN_DEFAULT); /* the close callbacks */
            uv_loop_close(&r->loop);
        }
        free(r->conns);
    }
    free(me);
    me = NULL;
}

static const bench_multi_echo_ops multi_echo_ops = {multi_echo_open, multi_echo_run, multi_echo_close};
#undef BENCH_MULTI_ECHO_OPS
#define BENCH_MULTI_ECHO_OPS (&multi_echo_ops)

BENCH_IMPL("libuv");
