/*
 * The kqueue backend (FreeBSD, NetBSD, OpenBSD, DragonFly, macOS):
 * edge-triggered by the kernel with EV_CLEAR, as mio's.
 *
 * A descriptor's interest becomes one knote per direction (EVFILT_READ,
 * EVFILT_WRITE), each carrying the token in udata; every change is sent
 * with EV_RECEIPT so that each one reports its own error. A registry clone
 * holds a close-on-exec dup of the kqueue descriptor, as mio's does.
 *
 * kqueue lets EV_ADD of a knote that exists pass as a modification, and has
 * no way to ask whether a knote exists without changing it; the header wants
 * -EEXIST for a second register and -ENOENT for reregistering what is not
 * registered. So the registrations are also kept in a table in user space
 * (fd, token, interest), shared by the poll and its clones under a mutex;
 * it starts with room for 64 and doubles when full. The kernel drops the
 * knotes of a descriptor closed without deregistering (the user's error);
 * when the table says a number is registered, a probe that rewrites the
 * knote with its own values asks the kernel whether it still exists.
 *
 * Modes. CMIO_LEVEL leaves EV_CLEAR out; CMIO_ONESHOT adds EV_DISPATCH,
 * which disables a knote once it is reported, and a reregistration
 * re-enables it (EV_ENABLE with its EV_ADD, which also looks at the
 * descriptor again, so readiness that holds is reported). kqueue keeps the
 * EV_CLEAR and EV_DISPATCH a knote was added with, so a reregistration that
 * changes the mode deletes and adds the knote. EV_DISPATCH works per filter,
 * where a oneshot registration is disarmed as a whole on every backend
 * (EPOLLONESHOT's rule, include/cmio.h): when one filter of a oneshot
 * registration with both directions fires, the poll that reports it
 * disables the other filter before it returns (disarm_rest), so no later
 * poll reports the registration; both filters may fire in that one poll.
 * The table counts these registrations, so that a poll without any pays
 * one atomic load. A poll whose kevent(2) overlaps a (re)registration
 * cannot tell whether an event is the old arming's or the new one's: it
 * leaves the new arming alone (one more event may come, as with epoll).
 *
 * A waker is an EVFILT_USER knote (ident: the waker's address) triggered
 * with NOTE_TRIGGER through a dup of the kqueue descriptor, so that it
 * outlives the poll; where the kernel has no EVFILT_USER it is a pipe whose
 * read end is registered with EV_CLEAR.
 *
 * SPDX-License-Identifier: MIT
 */
#include "fd.h"
#include "fdmap.h"
#include "record.h"
#include "selector.h"
#include "waker.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>
#include <unistd.h>

#ifdef __NetBSD__
#include <sys/param.h>
#if __NetBSD_Version__ < 1000000000 /* udata became a pointer in NetBSD 10 */
#define UDATA(token) ((intptr_t)(token))
#endif
#endif
#ifndef UDATA
#define UDATA(token) ((void *)(token))
#endif

enum { FIRST_CAPACITY = 64 };

struct reg {
    int fd;
    cmio_interest interest;
    cmio_token token;
    uint64_t armed_seq;    /* the table's seq at the last (re)registration */
    uint64_t disarmed_seq; /* the poll that last disarmed the rest (oneshot, both directions) */
};

/* The registrations, shared by a poll and its clones. */
struct table {
    pthread_mutex_t lock;
    unsigned refs;
    struct reg *regs;
    size_t len, cap;
    cmio__fdmap map; /* fd -> index in regs */
    sigset_t sigs;   /* signals with an EVFILT_SIGNAL knote (cmio_signals) */

    /* Oneshot registrations with both directions (disarm_rest), and the
     * number of the last poll that had to look for them. */
    atomic_uint oneshot2;
    uint64_t seq;
};

struct cmio__sys {
    int kq;
    struct table *t;
};

/* ------------------------------------------------------------------------ */
/* Changes                                                                  */
/* ------------------------------------------------------------------------ */

static struct kevent change(int fd, short filter, unsigned short flags, cmio_token token)
{
    struct kevent ev;
    EV_SET(&ev, (uintptr_t)fd, filter, flags | EV_RECEIPT, 0, 0, UDATA(token));
    return ev;
}

/* Apply n changes (at most 4). Each reports its own error through
 * EV_RECEIPT; ENOENT of a delete and EPIPE of an add are not errors (a
 * pipe's write end whose reader is gone is registered with EV_EOF set, as
 * mio finds). Returns 0 or the first error. */
static int apply(int kq, struct kevent *ch, int n)
{
    struct kevent res[4];
    int got;
    do
        got = kevent(kq, ch, n, res, n, NULL);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return -errno;
    for (int i = 0; i < got; i++) {
        int err = (res[i].flags & EV_ERROR) ? (int)res[i].data : 0;
        /* Results come in the order of the changes. */
        bool deleting = (ch[i].flags & EV_DELETE) != 0;
        if (err == 0 || (deleting && err == ENOENT) || (!deleting && err == EPIPE))
            continue;
        return -err;
    }
    return 0;
}

/* A knote's mode: EV_CLEAR (edge) unless CMIO_LEVEL, EV_DISPATCH for
 * CMIO_ONESHOT. */
static unsigned short mode_flags(cmio_interest interest)
{
    return (unsigned short)(((interest & CMIO_LEVEL) ? 0 : EV_CLEAR) | ((interest & CMIO_ONESHOT) ? EV_DISPATCH : 0));
}

#define MODES (CMIO_LEVEL | CMIO_ONESHOT)

/* A oneshot registration whose two filters disarm each other (disarm_rest). */
static bool oneshot2(cmio_interest interest)
{
    return (interest & CMIO_ONESHOT) && (interest & CMIO_READABLE) && (interest & CMIO_WRITABLE);
}

/* The changes that take `from` to `to` for fd (at most 4): per filter an
 * add, which with EV_ENABLE also re-arms a knote EV_DISPATCH disabled; a
 * delete; or, when the mode changes, a delete and an add, since kqueue
 * keeps the mode flags a knote was first added with. A level knote is
 * replaced so at every reregistration: libkqueue (on Linux) refuses to
 * modify a socket's knote without EV_CLEAR, and on a BSD kernel a new
 * knote is as good as the old one re-enabled. */
static int changes(struct kevent *ch, int fd, cmio_interest from, cmio_interest to, cmio_token token)
{
    static const struct {
        cmio_interest bit;
        short filter;
    } filters[2] = {{CMIO_READABLE, EVFILT_READ}, {CMIO_WRITABLE, EVFILT_WRITE}};
    unsigned short add = (unsigned short)(EV_ADD | EV_ENABLE | mode_flags(to));
    bool remode = ((from ^ to) & MODES) != 0 || (to & CMIO_LEVEL);
    int n = 0;
    for (int k = 0; k < 2; k++) {
        if ((from & filters[k].bit) && (!(to & filters[k].bit) || remode))
            ch[n++] = change(fd, filters[k].filter, EV_DELETE, 0);
        if (to & filters[k].bit)
            ch[n++] = change(fd, filters[k].filter, add, token);
    }
    return n;
}

/* ------------------------------------------------------------------------ */
/* The table                                                                */
/* ------------------------------------------------------------------------ */

static struct reg *find(struct table *t, int fd)
{
    uint32_t *i = cmio__fdmap_find(&t->map, fd);
    return i ? &t->regs[*i] : NULL;
}

static int grow(struct table *t)
{
    size_t cap = t->cap * 2;
    struct reg *regs = realloc(t->regs, cap * sizeof(*regs));
    if (!regs)
        return -ENOMEM;
    t->regs = regs;
    cmio__fdmap map;
    if (cmio__fdmap_init(&map, cmio__fdmap_slots(cap)) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < t->len; i++)
        cmio__fdmap_insert(&map, regs[i].fd, (uint32_t)i);
    cmio__fdmap_free(&t->map);
    t->map = map;
    t->cap = cap;
    return 0;
}

/* Count a registration in or out of oneshot2 (lock held). */
static void count_oneshot2(struct table *t, cmio_interest from, cmio_interest to)
{
    if (oneshot2(to) && !oneshot2(from))
        atomic_fetch_add_explicit(&t->oneshot2, 1, memory_order_release);
    else if (oneshot2(from) && !oneshot2(to))
        atomic_fetch_sub_explicit(&t->oneshot2, 1, memory_order_relaxed);
}

static void forget(struct table *t, struct reg *r)
{
    count_oneshot2(t, r->interest, 0);
    cmio__fdmap_remove(&t->map, r->fd);
    struct reg *last = &t->regs[--t->len];
    if (r != last) {
        *r = *last;
        *cmio__fdmap_find(&t->map, r->fd) = (uint32_t)(r - t->regs);
    }
}

/* Whether the kernel still has r's knotes: declare one again with the
 * values it was given, without EV_ADD (ENOENT if it is gone). BSD rewrites
 * udata on any modification, hence the same token; it may re-evaluate the
 * filter and report a ready descriptor once more (a spurious event, on
 * this error path only). */
static bool still_there(int kq, const struct reg *r)
{
#ifdef CMIO_EVENT_RECORD_KEVENT
    unsigned short flags = mode_flags(r->interest);
#else
    /* libkqueue refuses a modification of a socket's knote without
     * EV_CLEAR, and takes no mode flags from one. */
    unsigned short flags = EV_CLEAR;
#endif
    struct kevent ch = change(r->fd, (r->interest & CMIO_READABLE) ? EVFILT_READ : EVFILT_WRITE, flags, r->token);
    struct kevent res;
    int got;
    do
        got = kevent(kq, &ch, 1, &res, 1, NULL);
    while (got < 0 && errno == EINTR);
    return got == 1 && !((res.flags & EV_ERROR) && res.data != 0);
}

/* ------------------------------------------------------------------------ */
/* Selector                                                                 */
/* ------------------------------------------------------------------------ */

static int kq_open(cmio__sys **out)
{
    cmio__sys *sys = calloc(1, sizeof(*sys));
    struct table *t = calloc(1, sizeof(*t));
    int err = -ENOMEM;
    if (!sys || !t)
        goto fail;
    t->cap = FIRST_CAPACITY;
    t->refs = 1;
    sigemptyset(&t->sigs);
    t->regs = malloc(t->cap * sizeof(*t->regs));
    if (!t->regs || cmio__fdmap_init(&t->map, cmio__fdmap_slots(t->cap)) < 0)
        goto fail;
    err = -pthread_mutex_init(&t->lock, NULL);
    if (err < 0)
        goto fail;
    sys->kq = kqueue();
    err = sys->kq < 0 ? -errno : cmio__fd_cloexec(sys->kq);
    if (err < 0) {
        if (sys->kq >= 0)
            close(sys->kq);
        pthread_mutex_destroy(&t->lock);
        goto fail;
    }
    sys->t = t;
    *out = sys;
    return 0;
fail:
    if (t) {
        cmio__fdmap_free(&t->map);
        free(t->regs);
    }
    free(t);
    free(sys);
    return err;
}

static int kq_clone(cmio__sys *sys, cmio__sys **out)
{
    cmio__sys *clone = malloc(sizeof(*clone));
    if (!clone)
        return -ENOMEM;
    clone->kq = fcntl(sys->kq, F_DUPFD_CLOEXEC, 0);
    if (clone->kq < 0) {
        int err = -errno;
        free(clone);
        return err;
    }
    clone->t = sys->t;
    pthread_mutex_lock(&sys->t->lock);
    sys->t->refs++;
    pthread_mutex_unlock(&sys->t->lock);
    *out = clone;
    return 0;
}

static void kq_close(cmio__sys *sys)
{
    struct table *t = sys->t;
    pthread_mutex_lock(&t->lock);
    bool last = --t->refs == 0;
    pthread_mutex_unlock(&t->lock);
    if (last) {
        cmio__fdmap_free(&t->map);
        free(t->regs);
        pthread_mutex_destroy(&t->lock);
        free(t);
    }
    close(sys->kq);
    free(sys);
}


static int kq_reg(cmio__sys *sys, cmio_fd fd, cmio_token token, cmio_interest interest)
{
    int err = cmio__fd_open(fd);
    if (err < 0)
        return err;
    struct table *t = sys->t;
    pthread_mutex_lock(&t->lock);
    struct reg *r = find(t, fd);
    if (r && still_there(sys->kq, r))
        err = -EEXIST;
    else if (r)
        forget(t, r); /* closed without deregistering; the number is reused */
    if (err == 0 && t->len == t->cap)
        err = grow(t);
    if (err == 0) {
        struct kevent ch[4];
        int n = changes(ch, fd, 0, interest, token);
        err = apply(sys->kq, ch, n);
        if (err < 0) { /* leave no half registration behind */
            n = changes(ch, fd, interest, 0, 0);
            apply(sys->kq, ch, n);
        }
    }
    if (err == 0) {
        t->regs[t->len] = (struct reg){.fd = fd, .interest = interest, .token = token, .armed_seq = t->seq};
        cmio__fdmap_insert(&t->map, fd, (uint32_t)t->len++);
        count_oneshot2(t, 0, interest);
    }
    pthread_mutex_unlock(&t->lock);
    return err;
}

static int kq_rereg(cmio__sys *sys, cmio_fd fd, cmio_token token, cmio_interest interest)
{
    int err = cmio__fd_open(fd);
    if (err < 0)
        return err;
    struct table *t = sys->t;
    pthread_mutex_lock(&t->lock);
    struct reg *r = find(t, fd);
    if (!r) {
        err = -ENOENT;
    } else {
        struct kevent ch[4];
        int n = changes(ch, fd, r->interest, interest, token);
        err = apply(sys->kq, ch, n);
        if (err == 0) {
            count_oneshot2(t, r->interest, interest);
            r->interest = interest;
            r->token = token;
            r->armed_seq = t->seq;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return err;
}

static int kq_dereg(cmio__sys *sys, cmio_fd fd)
{
    int err = cmio__fd_open(fd);
    struct table *t = sys->t;
    pthread_mutex_lock(&t->lock);
    struct reg *r = find(t, fd);
    if (!r) {
        if (err == 0)
            err = -ENOENT;
    } else {
        if (err == 0) { /* a closed descriptor has no knotes left */
            struct kevent ch[4];
            int n = changes(ch, fd, r->interest, 0, 0);
            err = apply(sys->kq, ch, n);
        }
        forget(t, r);
    }
    pthread_mutex_unlock(&t->lock);
    return err;
}

/* Before a poll's kevent(2): whether oneshot registrations with both
 * directions exist, and if so a new poll number (the caller's 0 if not). */
static uint64_t begin_round(struct table *t)
{
    if (atomic_load_explicit(&t->oneshot2, memory_order_acquire) == 0)
        return 0;
    pthread_mutex_lock(&t->lock);
    uint64_t seq = ++t->seq;
    pthread_mutex_unlock(&t->lock);
    return seq;
}

/* After it: a oneshot registration with both directions that one filter
 * reported is disarmed as a whole, by disabling the other filter (EV_DISPATCH
 * disabled the one that fired) before the poll returns; both may have fired
 * in this poll. A registration (re)made since the poll began (armed_seq not
 * before seq) is left alone: its event may be the old arming's. seq 0: none
 * existed when the poll began, so any there is now was made since. */
static void disarm_rest(cmio__sys *sys, const struct kevent *rec, int n, uint64_t seq)
{
    struct table *t = sys->t;
    if (seq == 0 || n <= 0)
        return;
    pthread_mutex_lock(&t->lock);
    for (int i = 0; i < n; i++) {
        if (rec[i].filter != EVFILT_READ && rec[i].filter != EVFILT_WRITE)
            continue;
        struct reg *r = find(t, (int)rec[i].ident);
        if (!r || !oneshot2(r->interest) || UDATA(r->token) != rec[i].udata || r->armed_seq >= seq ||
            r->disarmed_seq == seq)
            continue;
        r->disarmed_seq = seq;
        struct kevent ch = change(r->fd, rec[i].filter == EVFILT_READ ? EVFILT_WRITE : EVFILT_READ, EV_DISABLE,
                                  r->token);
        (void)apply(sys->kq, &ch, 1); /* ENOENT: the descriptor was closed meanwhile */
    }
    pthread_mutex_unlock(&t->lock);
}

#ifndef CMIO_EVENT_RECORD_KEVENT
/* mio's reading of a kevent (its sys/unix/selector/kqueue.rs), the same as
 * the header's accessors make of a native kevent record. */
static uint32_t to_flags(const struct kevent *ev)
{
    uint32_t f = 0;
    if (ev->filter == EVFILT_READ || ev->filter == EVFILT_SIGNAL)
        f |= CMIO_EVENT_READABLE;
#ifdef EVFILT_USER
    if (ev->filter == EVFILT_USER)
        f |= CMIO_EVENT_READABLE;
#endif
    if (ev->filter == EVFILT_WRITE)
        f |= CMIO_EVENT_WRITABLE;
    if (ev->flags & EV_EOF) {
        if (ev->filter == EVFILT_READ)
            f |= CMIO_EVENT_READ_CLOSED;
        if (ev->filter == EVFILT_WRITE)
            f |= CMIO_EVENT_WRITE_CLOSED;
        if (ev->fflags != 0) /* the socket's error */
            f |= CMIO_EVENT_ERROR;
    }
    if (ev->flags & EV_ERROR)
        f |= CMIO_EVENT_ERROR;
    return f;
}
#endif

#ifdef CMIO_EVENT_RECORD_KEVENT
/* The kernel writes the caller's events buffer: cmio_event is struct kevent
 * on the BSDs and macOS (include/cmio.h), decoded by the header's
 * accessors with mio's rules. */
_Static_assert(sizeof(cmio_event) == sizeof(struct kevent), "cmio_event is a kevent record");

static int kq_select(cmio__sys *sys, cmio_events *events, int timeout_ms)
{
    struct timespec ts = {.tv_sec = timeout_ms / 1000, .tv_nsec = (long)(timeout_ms % 1000) * 1000000};
    uint64_t seq = begin_round(sys->t);
    int n = kevent(sys->kq, NULL, 0, (struct kevent *)events->items, (int)events->capacity,
                   timeout_ms < 0 ? NULL : &ts);
    if (n < 0) {
        events->len = 0;
        return -errno;
    }
    disarm_rest(sys, (struct kevent *)events->items, n, seq);
    events->len = (size_t)n;
    return n;
}
#define KQ_RECORD_SIZE 0
#else
/* libkqueue on Linux, where cmio_event is the epoll record: the kernel's
 * records go to the buffer's scratch and are written as this OS's. */
static int kq_select(cmio__sys *sys, cmio_events *events, int timeout_ms)
{
    struct timespec ts = {.tv_sec = timeout_ms / 1000, .tv_nsec = (long)(timeout_ms % 1000) * 1000000};
    struct kevent *rec = events->scratch;
    uint64_t seq = begin_round(sys->t);
    int n = kevent(sys->kq, NULL, 0, rec, (int)events->capacity, timeout_ms < 0 ? NULL : &ts);
    if (n < 0) {
        events->len = 0;
        return -errno;
    }
    disarm_rest(sys, rec, n, seq);
    for (int i = 0; i < n; i++)
        cmio__record_put(&events->items[i], (cmio_token)rec[i].udata, to_flags(&rec[i]));
    events->len = (size_t)n;
    return n;
}
#define KQ_RECORD_SIZE sizeof(struct kevent)
#endif

/* ------------------------------------------------------------------------ */
/* Wakers                                                                   */
/* ------------------------------------------------------------------------ */

#ifdef EVFILT_USER

/* A waker: an EVFILT_USER knote (ident: the waker's address) triggered
 * through a dup of the kqueue descriptor, so that it outlives the poll. */
struct cmio__waker_sys {
    int kq;
    cmio_token token;
};

static struct kevent user_change(const cmio__waker_sys *w, unsigned short flags, unsigned fflags)
{
    struct kevent ev;
    EV_SET(&ev, (uintptr_t)w, EVFILT_USER, flags, fflags, 0, UDATA(w->token));
    return ev;
}

static int kq_waker_open(cmio__sys *sys, cmio_token token, cmio__waker_sys **out)
{
    cmio__waker_sys *w = malloc(sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->kq = fcntl(sys->kq, F_DUPFD_CLOEXEC, 0);
    w->token = token;
    int err = w->kq < 0 ? -errno : 0;
    if (err == 0) {
        struct kevent ch = user_change(w, EV_ADD | EV_CLEAR | EV_RECEIPT, 0);
        err = apply(w->kq, &ch, 1);
        if (err < 0)
            close(w->kq);
    }
    if (err < 0) {
        free(w);
        return err;
    }
    *out = w;
    return 0;
}

static int kq_waker_wake(cmio__waker_sys *w)
{
    struct kevent ch = user_change(w, 0, NOTE_TRIGGER);
    int rc;
    do
        rc = kevent(w->kq, &ch, 1, NULL, 0, NULL);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? -errno : 0;
}

static void kq_waker_close(cmio__waker_sys *w)
{
    struct kevent ch = user_change(w, EV_DELETE | EV_RECEIPT, 0);
    apply(w->kq, &ch, 1);
    close(w->kq);
    free(w);
}

#else /* OpenBSD, older NetBSD: the pipe wake mechanism (sys/waker.h) */

struct cmio__waker_sys {
    cmio__wake wake;
};

static int kq_waker_open(cmio__sys *sys, cmio_token token, cmio__waker_sys **out)
{
    cmio__waker_sys *w = malloc(sizeof(*w));
    if (!w)
        return -ENOMEM;
    int err = cmio__wake_open(&w->wake);
    if (err == 0) {
        struct kevent ch = change(w->wake.rd, EVFILT_READ, EV_ADD | EV_CLEAR, token);
        err = apply(sys->kq, &ch, 1);
        if (err < 0)
            cmio__wake_close(&w->wake);
    }
    if (err < 0) {
        free(w);
        return err;
    }
    *out = w;
    return 0;
}

static int kq_waker_wake(cmio__waker_sys *w) { return cmio__wake_signal(&w->wake); }

static void kq_waker_close(cmio__waker_sys *w)
{
    /* Closing the read end removes its knote. */
    cmio__wake_close(&w->wake);
    free(w);
}

#endif

/* ------------------------------------------------------------------------ */
/* Signals                                                                  */
/* ------------------------------------------------------------------------ */

/* One EVFILT_SIGNAL knote per signal of the set (ident: the signal), token
 * in udata, EV_CLEAR: each delivery attempt after the last report makes a
 * new event. The knote leaves the signal pending (it is blocked), and
 * src/signals.c takes it with sigtimedwait(). One knote per signal and
 * queue: a second set with a signal of the first would silently take its
 * knote over, hence -EEXIST from the table's record of them. */
#ifndef NSIG
#define NSIG 129
#endif

/* Apply `flags` to the knote of each signal of set below `upto`; returns 0
 * or the first error, with *stopped the signal it stopped at. */
static int signal_changes(int kq, const sigset_t *set, unsigned short flags, cmio_token token, int upto,
                          int *stopped)
{
    for (int sig = 1; sig < upto; sig++) {
        if (sigismember(set, sig) != 1)
            continue;
        struct kevent ch;
        EV_SET(&ch, (uintptr_t)sig, EVFILT_SIGNAL, flags | EV_RECEIPT, 0, 0, UDATA(token));
        int err = apply(kq, &ch, 1);
        if (err < 0) {
            *stopped = sig;
            return err;
        }
    }
    return 0;
}

static int kq_signals_add(cmio__sys *sys, cmio_token token, const sigset_t *set)
{
    struct table *t = sys->t;
    int err = 0, stopped = NSIG;
    pthread_mutex_lock(&t->lock);
    for (int sig = 1; sig < NSIG && err == 0; sig++)
        if (sigismember(set, sig) == 1 && sigismember(&t->sigs, sig) == 1)
            err = -EEXIST;
    if (err == 0)
        err = signal_changes(sys->kq, set, EV_ADD | EV_CLEAR, token, NSIG, &stopped);
    if (err < 0 && stopped < NSIG) { /* leave no knote behind */
        int ignored;
        signal_changes(sys->kq, set, EV_DELETE, 0, stopped, &ignored);
    }
    for (int sig = 1; sig < NSIG && err == 0; sig++)
        if (sigismember(set, sig) == 1)
            sigaddset(&t->sigs, sig);
    pthread_mutex_unlock(&t->lock);
    return err;
}

static void kq_signals_remove(cmio__sys *sys, const sigset_t *set)
{
    struct table *t = sys->t;
    int ignored;
    pthread_mutex_lock(&t->lock);
    signal_changes(sys->kq, set, EV_DELETE, 0, NSIG, &ignored);
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(set, sig) == 1)
            sigdelset(&t->sigs, sig);
    pthread_mutex_unlock(&t->lock);
}

/* kqueue(2): a kqueue descriptor polls readable while events are pending
 * on it (it may itself be watched by poll, select or another kqueue).
 * libkqueue's is not: on Linux the descriptor it returns is not the one its
 * events make readable, so over it cmio_poll_fd says -ENOTSUP. */
static int kq_poll_fd(cmio__sys *sys) { return sys->kq; }

#ifdef CMIO_KQUEUE_EMULATION
#define KQ_POLL_FD_CAP 0u
#else
#define KQ_POLL_FD_CAP CMIO__SEL_POLL_FD
#endif

const cmio__selector cmio__selector_kqueue = {
    .name = "kqueue",
    .caps = CMIO__SEL_EDGE_NATIVE | KQ_POLL_FD_CAP,
    .record_size = KQ_RECORD_SIZE,
    .open = kq_open,
    .clone = kq_clone,
    .close = kq_close,
    .reg = kq_reg,
    .rereg = kq_rereg,
    .dereg = kq_dereg,
    .select = kq_select,
    .waker_open = kq_waker_open,
    .waker_wake = kq_waker_wake,
    .waker_close = kq_waker_close,
    .rearm = NULL,
    .signals_add = kq_signals_add,
    .signals_remove = kq_signals_remove,
    .poll_fd = kq_poll_fd,
};
