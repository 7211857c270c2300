/*
 * The floor: each workload as a hand-written, edge-triggered epoll loop with
 * no library between it and the kernel, the way a careful C programmer
 * writes one. Tokens are indices in epoll_event.data, as cmio's are.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bench.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <string.h>
#include <unistd.h>

enum { MAX_EVENTS = 1024 };

static int epfd = -1;
static struct epoll_event events[MAX_EVENTS];

static const char *backend(void) { return "epoll"; }

static int open_epoll(void)
{
    epfd = epoll_create1(EPOLL_CLOEXEC);
    return epfd < 0 ? bench_fail("epoll_create1", errno) : 0;
}

static void close_epoll(void)
{
    if (epfd >= 0)
        close(epfd);
    epfd = -1;
}

static int ctl(int op, int fd, uint32_t what, uint64_t token)
{
    struct epoll_event ev = {.events = what, .data.u64 = token};
    return epoll_ctl(epfd, op, fd, &ev) < 0 ? bench_fail("epoll_ctl", errno) : 0;
}

/* Wait, retrying on a signal. */
BENCH_POLL_INLINE int wait_events(int timeout_ms)
{
    for (;;) {
        int n = epoll_wait(epfd, events, MAX_EVENTS, timeout_ms);
        if (n >= 0 || errno != EINTR)
            return n < 0 ? bench_fail("epoll_wait", errno) : n;
    }
}

/* ---- pingpong ---------------------------------------------------------- */

static int pingpong_open(bench_pingpong *pp)
{
    (void)pp;
    return open_epoll();
}

static int pingpong_register(bench_pingpong *pp)
{
    for (size_t i = 0; i < pp->pairs; i++)
        if (ctl(EPOLL_CTL_ADD, pp->fds[i][0], EPOLLIN | EPOLLRDHUP | EPOLLET, i) < 0)
            return -1;
    return 0;
}

static int pingpong_run(bench_pingpong *pp)
{
    for (;;) {
        int n = wait_events(-1);
        if (n < 0)
            return -1;
        for (int i = 0; i < n; i++) {
            int r = bench_pingpong_step(pp, pp->fds[events[i].data.u64][0]);
            if (r != 0)
                return r > 0 ? 0 : -1;
        }
    }
}

static void pingpong_close(bench_pingpong *pp)
{
    (void)pp;
    close_epoll();
}

/* ---- churn ------------------------------------------------------------- */

static int churn_open(bench_churn *c)
{
    (void)c;
    return open_epoll();
}

static int churn_run(bench_churn *c)
{
    const int *fd = c->fd;
    size_t n = c->fds;
    for (size_t r = 0; r < c->rounds; r++) {
        for (size_t i = 0; i < n; i++)
            if (ctl(EPOLL_CTL_ADD, fd[i], EPOLLIN | EPOLLRDHUP | EPOLLET, i) < 0)
                return -1;
        if (wait_events(0) < 0)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (ctl(EPOLL_CTL_MOD, fd[i], EPOLLOUT | EPOLLET, i) < 0)
                return -1;
        if (wait_events(0) < 0)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (ctl(EPOLL_CTL_DEL, fd[i], 0, 0) < 0)
                return -1;
        if (wait_events(0) < 0)
            return -1;
    }
    return 0;
}

static void churn_close(bench_churn *c)
{
    (void)c;
    close_epoll();
}

/* ---- wake -------------------------------------------------------------- */

static int wake_fd = -1;

static int wake_open(bench_wake *w)
{
    (void)w;
    if (open_epoll() < 0)
        return -1;
    wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd < 0)
        return bench_fail("eventfd", errno);
    return ctl(EPOLL_CTL_ADD, wake_fd, EPOLLIN | EPOLLET, 0);
}

static int wake_send(bench_wake *w)
{
    (void)w;
    uint64_t one = 1;
    return write(wake_fd, &one, sizeof(one)) == sizeof(one) ? 0 : bench_fail("write", errno);
}

static int wake_run(bench_wake *w)
{
    while (w->done < w->wakes) {
        int n = wait_events(-1);
        if (n < 0)
            return -1;
        for (int i = 0; i < n; i++)
            bench_wake_ack(w);
    }
    return 0;
}

static void wake_close(bench_wake *w)
{
    (void)w;
    if (wake_fd >= 0)
        close(wake_fd);
    wake_fd = -1;
    close_epoll();
}

/* ---- echo -------------------------------------------------------------- */

static int *conn_fd; /* token t >= 1 is conn_fd[t - 1] */

static int echo_open(bench_echo *e)
{
    conn_fd = calloc(e->conns, sizeof(*conn_fd));
    if (!conn_fd)
        return bench_fail("calloc", ENOMEM);
    if (open_epoll() < 0)
        return -1;
    return ctl(EPOLL_CTL_ADD, e->listen_fd, EPOLLIN | EPOLLET, 0);
}

static int accept_all(bench_echo *e)
{
    for (;;) {
        int fd = accept4(e->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : bench_fail("accept4", errno);
        if (e->accepted == e->conns) {
            close(fd);
            return bench_fail("accept4", EMFILE);
        }
        conn_fd[e->accepted++] = fd;
        if (ctl(EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLRDHUP | EPOLLET, e->accepted) < 0)
            return -1;
    }
}

/* Echo until -EAGAIN; closes the connection at its end. */
static int serve(bench_echo *e, size_t slot)
{
    int r;
    while ((r = bench_echo_step(e, conn_fd[slot])) == ECHO_AGAIN) {
    }
    if (r == ECHO_END) {
        close(conn_fd[slot]); /* end of stream, or reset */
        conn_fd[slot] = -1;
        e->closed++;
    }
    return r < 0 ? -1 : 0;
}

static int echo_run(bench_echo *e)
{
    while (e->closed < e->conns) {
        int n = wait_events(-1);
        if (n < 0)
            return -1;
        for (int i = 0; i < n; i++) {
            size_t token = (size_t)events[i].data.u64;
            int err = token == 0 ? accept_all(e) : conn_fd[token - 1] >= 0 ? serve(e, token - 1) : 0;
            if (err < 0)
                return -1;
        }
    }
    return 0;
}

static void echo_close(bench_echo *e)
{
    for (size_t i = 0; conn_fd && i < e->accepted; i++)
        if (conn_fd[i] >= 0)
            close(conn_fd[i]);
    free(conn_fd);
    conn_fd = NULL;
    close_epoll();
}

/* ---- channel ----------------------------------------------------------- */

/* A ring of messages under a mutex, woken through an eventfd registered
 * edge-triggered: a sender writes it only when the receiver found the ring
 * empty (`waiting`, under the lock) and this is the first message since,
 * so a burst costs one write, as cmio's channel promises. The receiver
 * takes up to BATCH messages per lock and handles them outside it. */
enum { BATCH = 64 };

static struct {
    pthread_mutex_t lock;
    bench_msg *buf;
    size_t cap, head, len;
    bool waiting;
    int efd;
} ring = {.lock = PTHREAD_MUTEX_INITIALIZER, .efd = -1};

static int channel_open(bench_channel *ch)
{
    ring.buf = malloc(ch->capacity * sizeof(*ring.buf));
    if (!ring.buf)
        return bench_fail("malloc", ENOMEM);
    ring.cap = ch->capacity;
    ring.head = ring.len = 0;
    ring.waiting = true;
    if (open_epoll() < 0)
        return -1;
    ring.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ring.efd < 0)
        return bench_fail("eventfd", errno);
    return ctl(EPOLL_CTL_ADD, ring.efd, EPOLLIN | EPOLLET, 0);
}

static int channel_send(bench_channel *ch, const bench_msg *m)
{
    (void)ch;
    pthread_mutex_lock(&ring.lock);
    if (ring.len == ring.cap) {
        pthread_mutex_unlock(&ring.lock);
        return 1;
    }
    size_t at = ring.head + ring.len;
    ring.buf[at < ring.cap ? at : at - ring.cap] = *m;
    ring.len++;
    bool wake = ring.waiting;
    ring.waiting = false;
    pthread_mutex_unlock(&ring.lock);
    uint64_t one = 1;
    if (wake && write(ring.efd, &one, sizeof(one)) != sizeof(one))
        return bench_fail("write", errno);
    return 0;
}

static int channel_run(bench_channel *ch)
{
    bench_msg batch[BATCH];
    while (ch->done < ch->messages) {
        int n = wait_events(-1);
        if (n < 0)
            return -1;
        for (int i = 0; i < n; i++) {
            ch->events++;
            for (;;) {
                pthread_mutex_lock(&ring.lock);
                size_t k = 0;
                for (; k < BATCH && ring.len > 0; k++) {
                    batch[k] = ring.buf[ring.head];
                    ring.head = ring.head + 1 < ring.cap ? ring.head + 1 : 0;
                    ring.len--;
                }
                if (k == 0)
                    ring.waiting = true;
                pthread_mutex_unlock(&ring.lock);
                if (k == 0)
                    break;
                for (size_t j = 0; j < k; j++)
                    bench_channel_take(ch, &batch[j]);
            }
        }
    }
    return 0;
}

static void channel_close(bench_channel *ch)
{
    (void)ch;
    if (ring.efd >= 0)
        close(ring.efd);
    ring.efd = -1;
    free(ring.buf);
    ring.buf = NULL;
    close_epoll();
}

/* ---- timers ------------------------------------------------------------ */

/* The hand-written equivalent of a timer library: a binary min-heap of
 * deadlines (with each timer's place, for cancelling) over one timerfd
 * armed at the earliest, absolute on CLOCK_MONOTONIC, in epoll. */
static int tfd = -1;
static size_t *heap, *place, heap_len; /* place[i]: timer i's index, or SIZE_MAX */
static int64_t *deadline, armed;

static int timers_open(bench_timers *t)
{
    heap = calloc(t->timers, sizeof(*heap));
    place = calloc(t->timers, sizeof(*place));
    deadline = calloc(t->timers, sizeof(*deadline));
    if (!heap || !place || !deadline)
        return bench_fail("calloc", ENOMEM);
    for (size_t i = 0; i < t->timers; i++)
        place[i] = SIZE_MAX;
    heap_len = 0;
    armed = INT64_MAX;
    if (open_epoll() < 0)
        return -1;
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (tfd < 0)
        return bench_fail("timerfd_create", errno);
    return ctl(EPOLL_CTL_ADD, tfd, EPOLLIN | EPOLLET, 0);
}

static void heap_set(size_t k, size_t id)
{
    heap[k] = id;
    place[id] = k;
}

static void sift_up(size_t k)
{
    size_t id = heap[k];
    for (; k > 0 && deadline[heap[(k - 1) / 2]] > deadline[id]; k = (k - 1) / 2)
        heap_set(k, heap[(k - 1) / 2]);
    heap_set(k, id);
}

static void sift_down(size_t k)
{
    size_t id = heap[k];
    for (;;) {
        size_t c = 2 * k + 1;
        if (c >= heap_len)
            break;
        if (c + 1 < heap_len && deadline[heap[c + 1]] < deadline[heap[c]])
            c++;
        if (deadline[heap[c]] >= deadline[id])
            break;
        heap_set(k, heap[c]);
        k = c;
    }
    heap_set(k, id);
}

static void heap_remove(size_t id)
{
    size_t k = place[id];
    place[id] = SIZE_MAX;
    size_t last = heap[--heap_len];
    if (last == id)
        return;
    heap_set(k, last);
    sift_up(k);
    sift_down(place[last]);
}

/* Arm the timerfd for the earliest deadline if it changed. */
static int timerfd_rearm(void)
{
    int64_t when = heap_len ? deadline[heap[0]] : INT64_MAX;
    if (when == armed)
        return 0;
    armed = when;
    struct itimerspec its = {{0, 0}, {0, 0}};
    if (when != INT64_MAX) {
        its.it_value.tv_sec = when / 1000000000;
        its.it_value.tv_nsec = when % 1000000000;
    }
    return timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0 ? bench_fail("timerfd_settime", errno) : 0;
}

static int timers_run(bench_timers *t)
{
    size_t n = t->timers;
    for (size_t i = 0; i < n; i++) {
        deadline[i] = bench_now_ns() + (int64_t)bench_timers_after(t, i) * 1000000;
        heap_set(heap_len++, i);
        sift_up(heap_len - 1);
        if (heap[0] == i && deadline[i] < armed && timerfd_rearm() < 0)
            return -1;
    }
    for (size_t i = 1; i < n; i += 2)
        heap_remove(i); /* the timerfd may fire for a cancelled one: see below */
    bench_timers_started(t);
    for (;;) {
        int got = wait_events(-1);
        if (got < 0)
            return -1;
        uint64_t ticks;
        (void)!read(tfd, &ticks, sizeof(ticks));
        armed = INT64_MAX;
        int64_t now = bench_now_ns();
        while (heap_len && deadline[heap[0]] <= now) {
            size_t id = heap[0];
            heap_remove(id);
            if (bench_timers_fired(t, id))
                return 0;
        }
        if (timerfd_rearm() < 0)
            return -1;
    }
}

static void timers_close(bench_timers *t)
{
    (void)t;
    if (tfd >= 0)
        close(tfd);
    tfd = -1;
    close_epoll();
    free(heap);
    free(place);
    free(deadline);
    heap = place = NULL;
    deadline = NULL;
}

static const bench_timer_ops timer_ops = {timers_open, timers_run, timers_close};
#undef BENCH_TIMER_OPS
#define BENCH_TIMER_OPS (&timer_ops)

/* ---- multi_echo (issue 12) --------------------------------------------- */

/* One epoll loop per thread, the way a C programmer writes SO_REUSEPORT
 * scaling by hand: each reactor its own epoll descriptor, events array and
 * connection table, and an eventfd through which the reactor that closes
 * the run's last connection wakes the others. */
enum { ME_WAKE = UINT64_MAX };

struct me_reactor {
    int epfd, wakefd;
    int *conn_fd; /* token t >= 1 is conn_fd[t - 1] */
    struct epoll_event events[MAX_EVENTS];
};

static struct me_reactor *me;

static int me_ctl(struct me_reactor *r, int op, int fd, uint32_t what, uint64_t token)
{
    struct epoll_event ev = {.events = what, .data.u64 = token};
    return epoll_ctl(r->epfd, op, fd, &ev) < 0 ? bench_fail("epoll_ctl", errno) : 0;
}

static int multi_echo_open(bench_multi_echo *m)
{
    me = calloc(m->threads, sizeof(*me));
    if (!me)
        return bench_fail("calloc", ENOMEM);
    for (size_t k = 0; k < m->threads; k++)
        me[k].epfd = me[k].wakefd = -1;
    for (size_t k = 0; k < m->threads; k++) {
        struct me_reactor *r = &me[k];
        r->conn_fd = calloc(m->conns, sizeof(*r->conn_fd));
        r->epfd = epoll_create1(EPOLL_CLOEXEC);
        r->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (!r->conn_fd || r->epfd < 0 || r->wakefd < 0)
            return bench_fail("reactor", r->conn_fd ? errno : ENOMEM);
        if (me_ctl(r, EPOLL_CTL_ADD, m->per[k].listen_fd, EPOLLIN | EPOLLET, 0) < 0 ||
            me_ctl(r, EPOLL_CTL_ADD, r->wakefd, EPOLLIN | EPOLLET, ME_WAKE) < 0)
            return -1;
    }
    return 0;
}

static int me_accept_all(struct me_reactor *r, bench_echo *e)
{
    for (;;) {
        int fd = accept4(e->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : bench_fail("accept4", errno);
        if (e->accepted == e->conns) {
            close(fd);
            return bench_fail("accept4", EMFILE);
        }
        r->conn_fd[e->accepted++] = fd;
        if (me_ctl(r, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLRDHUP | EPOLLET, e->accepted) < 0)
            return -1;
    }
}

/* The run's last connection closed here: wake the other reactors. */
static int me_wake_others(bench_multi_echo *m, size_t k)
{
    uint64_t one = 1;
    for (size_t j = 0; j < m->threads; j++)
        if (j != k && write(me[j].wakefd, &one, sizeof(one)) != sizeof(one))
            return bench_fail("write", errno);
    return 0;
}

static int me_serve(bench_multi_echo *m, size_t k, size_t slot)
{
    struct me_reactor *r = &me[k];
    bench_echo *e = &m->per[k];
    int rc;
    while ((rc = bench_echo_step(e, r->conn_fd[slot])) == ECHO_AGAIN) {
    }
    if (rc == ECHO_END) {
        close(r->conn_fd[slot]);
        r->conn_fd[slot] = -1;
        e->closed++;
        if (bench_multi_echo_closed(m))
            return me_wake_others(m, k);
    }
    return rc < 0 ? -1 : 0;
}

static int multi_echo_run(bench_multi_echo *m, size_t k)
{
    struct me_reactor *r = &me[k];
    while (!bench_multi_echo_done(m)) {
        int n = epoll_wait(r->epfd, r->events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            bench_fail("epoll_wait", errno);
            bench_multi_echo_abort(m);
            me_wake_others(m, k);
            return -1;
        }
        for (int i = 0; i < n; i++) {
            uint64_t token = r->events[i].data.u64;
            int err = token == 0         ? me_accept_all(r, &m->per[k])
                      : token == ME_WAKE ? 0
                      : r->conn_fd[token - 1] >= 0 ? me_serve(m, k, (size_t)token - 1)
                                                   : 0;
            if (err < 0) {
                bench_multi_echo_abort(m);
                me_wake_others(m, k);
                return -1;
            }
        }
    }
    return 0;
}

static void multi_echo_close(bench_multi_echo *m)
{
    for (size_t k = 0; me && k < m->threads; k++) {
        struct me_reactor *r = &me[k];
        for (size_t i = 0; r->conn_fd && i < m->per[k].accepted; i++)
            if (r->conn_fd[i] >= 0)
                close(r->conn_fd[i]);
        free(r->conn_fd);
        if (r->epfd >= 0)
            close(r->epfd);
        if (r->wakefd >= 0)
            close(r->wakefd);
    }
    free(me);
    me = NULL;
}

static const bench_multi_echo_ops multi_echo_ops = {multi_echo_open, multi_echo_run, multi_echo_close};
#undef BENCH_MULTI_ECHO_OPS
#define BENCH_MULTI_ECHO_OPS (&multi_echo_ops)

/* ---- frames: a hand-written length-prefix writer and reader ------------- */

struct frames_state {
    unsigned char out[BENCH_FRAMES_QUEUE]; /* queued: out[out_at, out_len) */
    size_t out_at, out_len;
    unsigned char in[4096 + 1024 + 4]; /* read, not decoded: in[in_at, in_len) */
    size_t in_at, in_len;
};

static int frames_open(bench_frames *f)
{
    static struct frames_state st;
    f->impl = &st;
    return 0;
}

static int frames_run(bench_frames *f)
{
    struct frames_state *st = f->impl;
    size_t pushed = 0, frame = 4 + f->size;
    while (f->done < f->frames) {
        if (st->out_at == st->out_len)
            st->out_at = st->out_len = 0;
        while (pushed < f->frames && sizeof(st->out) - st->out_len >= frame) {
            unsigned char *p = st->out + st->out_len;
            uint32_t len = (uint32_t)f->size;
            p[0] = (unsigned char)(len >> 24);
            p[1] = (unsigned char)(len >> 16);
            p[2] = (unsigned char)(len >> 8);
            p[3] = (unsigned char)len;
            memset(p + 4, 0, f->size);
            if (f->size)
                p[4] = (unsigned char)pushed;
            st->out_len += frame;
            pushed++;
        }
        while (st->out_at < st->out_len) {
            ssize_t n = send(f->fds[0], st->out + st->out_at, st->out_len - st->out_at, MSG_NOSIGNAL);
            if (n < 0 && errno == EAGAIN)
                break;
            if (n < 0)
                return bench_fail("send", errno);
            st->out_at += (size_t)n;
        }
        for (;;) {
            if (st->in_at > 0) {
                memmove(st->in, st->in + st->in_at, st->in_len - st->in_at);
                st->in_len -= st->in_at;
                st->in_at = 0;
            }
            ssize_t n = read(f->fds[1], st->in + st->in_len, sizeof(st->in) - st->in_len);
            if (n < 0 && errno == EAGAIN)
                break;
            if (n <= 0)
                return bench_fail("read", n ? errno : EPIPE);
            st->in_len += (size_t)n;
            while (st->in_len - st->in_at >= 4) {
                const unsigned char *h = st->in + st->in_at;
                uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
                if (len > f->size)
                    return bench_fail("frame too long", EMSGSIZE);
                if (st->in_len - st->in_at - 4 < len)
                    break;
                bench_frames_got(f, h + 4, len);
                st->in_at += 4 + len;
            }
        }
    }
    return 0;
}

static void frames_close(bench_frames *f) { (void)f; }

static const bench_frame_ops frame_ops = {frames_open, frames_run, frames_close};
#undef BENCH_FRAME_OPS
#define BENCH_FRAME_OPS (&frame_ops)

BENCH_IMPL("epoll");
