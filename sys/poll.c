/*
 * The poll(2) backend (any POSIX system): level-triggered by the kernel,
 * edge-triggered for the user by emulation, the way mio's poll selector
 * does it.
 *
 * The table. Every registration is an entry of a dense table (fd, token,
 * interest, the armed part of the interest, pending readiness), found by
 * descriptor through a cmio__fdmap. The table starts with room for 64 and
 * doubles when full: the only allocation after set-up. One selector state
 * is shared, under a mutex and a reference count, by the poll, its registry
 * clones and its wakers, so any of them may be released in any order.
 *
 * Edges. A poll reports an entry's readiness and disarms exactly the poll(2)
 * bits that fired, as mio's poll selector does (docs/design.md §4): POLLIN,
 * POLLRDHUP, POLLPRI and POLLOUT each on its own, so a peer's shutdown
 * (POLLRDHUP) is still reported after data that was reported and not
 * drained. A disarmed bit is no longer asked of poll(2), so a descriptor
 * that stays ready is not reported again. It is re-armed when a cmio I/O
 * call on the descriptor returns -EAGAIN (the rearm hook, called by the net
 * layer: the read bits for reads, POLLOUT for writes) or when it is
 * reregistered. Readiness that arrives after the -EAGAIN is never lost:
 * poll(2) reports the level.
 *
 * Hang-ups and errors. poll(2) reports POLLHUP and POLLERR whatever is
 * asked, for as long as they hold, so a reported one would wake every poll.
 * Each is reported once per occurrence, then:
 *  - an error holds the entry out of poll(2) (a negative fd) until it is
 *    taken: take_error, or a failed cmio I/O call on the descriptor (a
 *    socket call returns and clears the pending error first; -EAGAIN says
 *    there is none). Then the entry is polled again, with every bit that was
 *    not reported still armed, and an error found then is a new occurrence.
 *    This is one of the backend's two exceptions to the common contract
 *    (CMIO__SEL_ERROR_HOLDS): other readiness of a descriptor whose error
 *    is not taken waits until it is.
 *  - a hang-up lasts for good, so it holds the entry out of poll(2) until
 *    reregistered; a failing cmio call on the descriptor lets one poll look
 *    again for what the hang-up does not cover (a new error, a bit re-armed).
 *    The other exception (CMIO__SEL_HUP_HOLDS): an error that comes after a
 *    reported hang-up (a reset after the peer's shutdown) is not reported
 *    by itself; the next failing call returns it.
 *
 * Threads. poll(2) runs on a snapshot (struct pollfd per entry, slot 0 the
 * internal wake) that the poll thread builds under the mutex and reads
 * after it; registrations from other threads change the table meanwhile and
 * write the internal wake (an eventfd, or a pipe) when the poll thread is
 * in poll(2), so that it rebuilds its snapshot. A generation per
 * registration tells which snapshot results still belong to their entry:
 * results of a descriptor deregistered (or reregistered) meanwhile are
 * dropped, and its pending readiness goes with its entry.
 *
 * Capacity. Readiness found beyond the events buffer's capacity stays
 * pending in its entry and is delivered by the next poll, which then does
 * not block; delivery resumes where the last one stopped, so no entry
 * starves.
 *
 * Modes. A CMIO_LEVEL registration disarms nothing that fired, so poll(2)
 * reports it at every call for as long as it holds, and keeps no holding
 * rule: a hang-up or error is reported at every poll while it lasts, as
 * epoll and kqueue do in level mode (CMIO__SEL_ERROR_HOLDS and
 * CMIO__SEL_HUP_HOLDS are rules of edge mode). A CMIO_ONESHOT registration
 * is spent by the poll that reports it: the entry is left out of poll(2) (a
 * negative fd, since poll(2) reports POLLHUP and POLLERR whatever is asked)
 * until reregistered; the rearm hook leaves it alone, and has nothing to do
 * for a level registration either.
 *
 * A waker is an eventfd (or pipe) in the table, drained by the poll that
 * reports it and never disarmed.
 *
 * SPDX-License-Identifier: MIT
 */
#include "fd.h"
#include "fdmap.h"
#include "record.h"
#include "selector.h"
#include "waker.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef POLLRDHUP
#define POLLRDHUP 0 /* Linux's; elsewhere a peer's shutdown shows as POLLHUP or EOF */
#endif

enum { FIRST_CAPACITY = 64 };
enum { KIND_FD, KIND_WAKER };

struct entry {
    int fd;
    uint8_t kind;           /* KIND_FD or KIND_WAKER */
    cmio_interest interest; /* as registered */
    short armed;            /* poll(2) bits asked: the interest's less those reported */
    bool hup;               /* a hang-up was reported (it lasts) */
    bool err;               /* an error was reported and not yet taken */
    bool look;              /* a failing call on fd: poll it once despite hup */
    bool gone;              /* POLLNVAL: closed without deregistering */
    bool spent;             /* CMIO_ONESHOT, reported: out of poll(2) until reregistered */
    uint32_t pending;       /* CMIO_EVENT_* bits found and not yet delivered */
    uint32_t gen;           /* new at every register and reregister */
    cmio_token token;
};

struct cmio__sys {
    pthread_mutex_t lock;
    unsigned refs; /* the poll, its clones and its wakers */

    struct entry *entries;
    size_t len, cap;
    cmio__fdmap map;      /* fd -> index in entries */
    size_t npending;      /* entries with pending != 0 */
    size_t cursor;        /* where the next delivery starts */
    uint32_t next_gen;

    /* The poll thread's snapshot: slot 0 is the internal wake, slot i + 1
     * is entries[i] as it was, gen[i] its generation. A growth of the table
     * leaves a bigger pair in spare for the poll thread to take. */
    struct pollfd *snap;
    uint32_t *snap_gen;
    struct pollfd *spare;
    uint32_t *spare_gen;

    bool polling; /* the poll thread has a snapshot out, in or near poll(2) */
    bool woken;   /* the internal wake is written and not yet drained */
    cmio__wake wake; /* the internal wake (sys/waker.h) */

    struct cmio__sys *prev, *next; /* the process's live selectors */
};

/* Every live selector of this backend, for the rearm hook. */
static pthread_rwlock_t live_lock = PTHREAD_RWLOCK_INITIALIZER;
static cmio__sys *live_head;

/* ------------------------------------------------------------------------ */
/* The state and its table                                                  */
/* ------------------------------------------------------------------------ */

/* The poll(2) bits of an interest (mio's: POLLRDHUP with reading). */
static short to_poll(cmio_interest interest)
{
    short ev = 0;
    if (interest & CMIO_READABLE)
        ev |= POLLIN | POLLRDHUP;
    if (interest & CMIO_PRIORITY)
        ev |= POLLPRI;
    if (interest & CMIO_WRITABLE)
        ev |= POLLOUT;
    return ev;
}

/* With the lock held: wake the poll thread if it is in poll(2). */
static void notify(cmio__sys *sys)
{
    if (sys->polling && !sys->woken && cmio__wake_signal(&sys->wake) == 0)
        sys->woken = true;
}

static struct entry *find(cmio__sys *sys, int fd)
{
    uint32_t *i = cmio__fdmap_find(&sys->map, fd);
    return i ? &sys->entries[*i] : NULL;
}

static void set_pending(cmio__sys *sys, struct entry *e, uint32_t flags)
{
    assert(sys->npending <= sys->len);
    if (flags && !e->pending)
        sys->npending++;
    if (!flags && e->pending)
        sys->npending--;
    e->pending = flags;
}

/* Double the table: entries, map and a spare snapshot for the poll thread.
 * On failure nothing changes. */
static int grow(cmio__sys *sys)
{
    size_t cap = sys->cap * 2;
    struct entry *entries = realloc(sys->entries, cap * sizeof(*entries));
    if (!entries)
        return -ENOMEM;
    sys->entries = entries;
    cmio__fdmap map;
    struct pollfd *snap = malloc((cap + 1) * sizeof(*snap));
    uint32_t *gen = malloc(cap * sizeof(*gen));
    if (!snap || !gen || cmio__fdmap_init(&map, cmio__fdmap_slots(cap)) < 0) {
        free(snap);
        free(gen);
        return -ENOMEM;
    }
    for (size_t i = 0; i < sys->len; i++)
        cmio__fdmap_insert(&map, entries[i].fd, (uint32_t)i);
    cmio__fdmap_free(&sys->map);
    sys->map = map;
    free(sys->spare);
    free(sys->spare_gen);
    sys->spare = snap;
    sys->spare_gen = gen;
    sys->cap = cap;
    return 0;
}

static int add(cmio__sys *sys, int fd, uint8_t kind, cmio_token token, cmio_interest interest)
{
    if (find(sys, fd))
        return -EEXIST;
    if (sys->len == sys->cap) {
        int err = grow(sys);
        if (err < 0)
            return err;
    }
    size_t i = sys->len++;
    sys->entries[i] = (struct entry){
        .fd = fd, .kind = kind, .interest = interest, .armed = to_poll(interest), .gen = sys->next_gen++,
        .token = token};
    cmio__fdmap_insert(&sys->map, fd, (uint32_t)i);
    notify(sys);
    return 0;
}

/* Remove an entry: the last one takes its place. */
static void remove_entry(cmio__sys *sys, struct entry *e)
{
    set_pending(sys, e, 0);
    cmio__fdmap_remove(&sys->map, e->fd);
    struct entry *last = &sys->entries[--sys->len];
    if (e != last) {
        *e = *last;
        *cmio__fdmap_find(&sys->map, e->fd) = (uint32_t)(e - sys->entries);
    }
    notify(sys);
}

static void destroy(cmio__sys *sys)
{
    cmio__wake_close(&sys->wake);
    cmio__fdmap_free(&sys->map);
    free(sys->entries);
    free(sys->snap);
    free(sys->snap_gen);
    free(sys->spare);
    free(sys->spare_gen);
    pthread_mutex_destroy(&sys->lock);
    free(sys);
}

static int pl_open(cmio__sys **out)
{
    cmio__sys *sys = calloc(1, sizeof(*sys));
    if (!sys)
        return -ENOMEM;
    sys->cap = FIRST_CAPACITY;
    sys->refs = 1;
    sys->entries = malloc(sys->cap * sizeof(*sys->entries));
    sys->snap = malloc((sys->cap + 1) * sizeof(*sys->snap));
    sys->snap_gen = malloc(sys->cap * sizeof(*sys->snap_gen));
    int err = -ENOMEM;
    if (!sys->entries || !sys->snap || !sys->snap_gen ||
        cmio__fdmap_init(&sys->map, cmio__fdmap_slots(sys->cap)) < 0)
        goto fail;
    err = cmio__wake_open(&sys->wake);
    if (err < 0)
        goto fail;
    err = -pthread_mutex_init(&sys->lock, NULL);
    if (err < 0) {
        cmio__wake_close(&sys->wake);
        goto fail;
    }
    pthread_rwlock_wrlock(&live_lock);
    sys->next = live_head;
    if (live_head)
        live_head->prev = sys;
    live_head = sys;
    atomic_fetch_add_explicit(&cmio__rearm_users, 1, memory_order_relaxed);
    pthread_rwlock_unlock(&live_lock);
    *out = sys;
    return 0;
fail:
    cmio__fdmap_free(&sys->map);
    free(sys->entries);
    free(sys->snap);
    free(sys->snap_gen);
    free(sys);
    return err;
}

static int pl_clone(cmio__sys *sys, cmio__sys **out)
{
    pthread_mutex_lock(&sys->lock);
    sys->refs++;
    pthread_mutex_unlock(&sys->lock);
    *out = sys;
    return 0;
}

/* Drop a reference; the last one leaves the live list and frees. */
static void pl_close(cmio__sys *sys)
{
    pthread_rwlock_wrlock(&live_lock);
    pthread_mutex_lock(&sys->lock);
    bool last = --sys->refs == 0;
    pthread_mutex_unlock(&sys->lock);
    if (last) {
        if (sys->prev)
            sys->prev->next = sys->next;
        else
            live_head = sys->next;
        if (sys->next)
            sys->next->prev = sys->prev;
        atomic_fetch_sub_explicit(&cmio__rearm_users, 1, memory_order_relaxed);
    }
    pthread_rwlock_unlock(&live_lock);
    if (last)
        destroy(sys);
}

/* ------------------------------------------------------------------------ */
/* Registration                                                             */
/* ------------------------------------------------------------------------ */


static int pl_reg(cmio__sys *sys, cmio_fd fd, cmio_token token, cmio_interest interest)
{
    int err = cmio__fd_open(fd);
    if (err < 0)
        return err;
    pthread_mutex_lock(&sys->lock);
    err = add(sys, fd, KIND_FD, token, interest);
    pthread_mutex_unlock(&sys->lock);
    return err;
}

static int pl_rereg(cmio__sys *sys, cmio_fd fd, cmio_token token, cmio_interest interest)
{
    int err = cmio__fd_open(fd);
    if (err < 0)
        return err;
    pthread_mutex_lock(&sys->lock);
    struct entry *e = find(sys, fd);
    if (!e || e->kind != KIND_FD) {
        err = -ENOENT;
    } else {
        /* Readiness that holds under the new interest is found again. */
        set_pending(sys, e, 0);
        e->token = token;
        e->interest = interest;
        e->armed = to_poll(interest);
        e->hup = e->err = e->look = e->gone = e->spent = false;
        e->gen = sys->next_gen++;
        notify(sys);
    }
    pthread_mutex_unlock(&sys->lock);
    return err;
}

static int pl_dereg(cmio__sys *sys, cmio_fd fd)
{
    int err = cmio__fd_open(fd);
    pthread_mutex_lock(&sys->lock);
    struct entry *e = find(sys, fd);
    if (e && e->kind == KIND_FD)
        remove_entry(sys, e); /* also when fd was closed first: forget it */
    else if (err == 0)
        err = -ENOENT;
    pthread_mutex_unlock(&sys->lock);
    return err;
}

/* -EAGAIN in a direction re-arms its bits; any failing call (and
 * take_error, CMIO__ERROR_TAKEN) means a reported error is taken, and lets
 * a hung-up entry be looked at once more. The descriptor number may also be
 * a new descriptor that reuses a closed one's (gone): poll it again. A
 * level registration has nothing disarmed or held; a oneshot one is
 * re-armed by reregistering only: for both, only `gone` is cleared. */
static void pl_rearm(cmio_fd fd, cmio_interest direction)
{
    cmio_interest bits = direction & CMIO_READABLE   ? CMIO_READABLE | CMIO_PRIORITY
                         : direction & CMIO_WRITABLE ? CMIO_WRITABLE
                                                     : 0;
    pthread_rwlock_rdlock(&live_lock);
    for (cmio__sys *sys = live_head; sys; sys = sys->next) {
        pthread_mutex_lock(&sys->lock);
        struct entry *e = find(sys, fd);
        if (e && e->kind == KIND_FD && (e->interest & (CMIO_LEVEL | CMIO_ONESHOT))) {
            if (e->gone) {
                e->gone = false;
                notify(sys);
            }
        } else if (e && e->kind == KIND_FD) {
            short armed = e->armed | to_poll(e->interest & bits);
            if (armed != e->armed || e->err || e->gone || (e->hup && !e->look)) {
                e->armed = armed;
                e->err = e->gone = false;
                e->look = e->hup;
                notify(sys);
            }
        }
        pthread_mutex_unlock(&sys->lock);
    }
    pthread_rwlock_unlock(&live_lock);
}

/* ------------------------------------------------------------------------ */
/* Polling                                                                  */
/* ------------------------------------------------------------------------ */

/* mio's poll selector's reading of the bits: POLLRDHUP alone is a read
 * side closed (it may come without POLLIN, which was disarmed). */
static uint32_t to_flags(short e)
{
    uint32_t f = 0;
    if (e & (POLLIN | POLLPRI))
        f |= CMIO_EVENT_READABLE;
    if (e & POLLOUT)
        f |= CMIO_EVENT_WRITABLE;
    if (e & POLLERR)
        f |= CMIO_EVENT_ERROR;
    if (e & (POLLHUP | POLLRDHUP))
        f |= CMIO_EVENT_READ_CLOSED;
    if ((e & POLLHUP) || ((e & POLLOUT) && (e & POLLERR)) || e == POLLERR)
        f |= CMIO_EVENT_WRITE_CLOSED;
    if (e & POLLPRI)
        f |= CMIO_EVENT_PRIORITY;
    return f;
}

/* Build the snapshot of the table (lock held). Returns its length. */
static nfds_t snapshot(cmio__sys *sys)
{
    if (sys->spare) {
        free(sys->snap);
        free(sys->snap_gen);
        sys->snap = sys->spare;
        sys->snap_gen = sys->spare_gen;
        sys->spare = NULL;
        sys->spare_gen = NULL;
    }
    sys->snap[0] = (struct pollfd){.fd = sys->wake.rd, .events = POLLIN};
    for (size_t i = 0; i < sys->len; i++) {
        const struct entry *e = &sys->entries[i];
        bool out = e->gone || e->spent || e->err || (e->hup && !e->look);
        sys->snap[i + 1] = (struct pollfd){.fd = out ? -1 : e->fd, .events = e->armed};
        sys->snap_gen[i] = e->gen;
    }
    return (nfds_t)sys->len + 1;
}

/* Take what poll(2) found for one entry (lock held). */
static void take(cmio__sys *sys, struct entry *e, short revents)
{
    if (e->kind == KIND_WAKER) {
        if (revents & POLLIN) {
            cmio__wake_drain(&(cmio__wake){.rd = e->fd, .wr = -1});
            set_pending(sys, e, e->pending | CMIO_EVENT_READABLE);
        }
        return;
    }
    e->look = false;
    if (revents & POLLNVAL) {
        /* Closed without deregistering (the user's error): left out until
         * the number is used again through cmio or reregistered. */
        e->gone = true;
        return;
    }
    if (e->interest & CMIO_LEVEL) {
        /* Level: nothing is disarmed or held; what holds is found again. */
    } else {
        /* Disarm exactly what fired; a hang-up already reported is not new. */
        e->armed &= (short)~(revents & (POLLIN | POLLRDHUP | POLLPRI | POLLOUT));
        if (e->hup)
            revents &= (short)~POLLHUP;
        if (revents & POLLHUP)
            e->hup = true;
        if (revents & POLLERR)
            e->err = true;
    }
    if (revents) {
        set_pending(sys, e, e->pending | to_flags(revents));
        e->spent = (e->interest & CMIO_ONESHOT) != 0;
    }
}

/* Move pending readiness into events, at most its capacity (lock held). */
static int deliver(cmio__sys *sys, cmio_events *events)
{
    size_t n = 0, len = sys->len;
    if (sys->npending == 0 || len == 0)
        return 0;
    size_t start = sys->cursor < len ? sys->cursor : 0;
    for (size_t k = 0; k < len && n < events->capacity; k++) {
        size_t i = (start + k) % len;
        struct entry *e = &sys->entries[i];
        if (!e->pending)
            continue;
        /* In this OS's record (sys/record.h); one that needs two records
         * (kevent) and finds room for one waits, first of the next poll. */
        if (n + cmio__records(e->pending) > events->capacity) {
            sys->cursor = i;
            break;
        }
        n += cmio__record_put(&events->items[n], e->token, e->pending);
        set_pending(sys, e, 0);
        sys->cursor = i + 1;
    }
    assert(n <= events->capacity);
    events->len = n;
    return (int)n;
}

static int pl_select(cmio__sys *sys, cmio_events *events, int timeout_ms)
{
    int result = 0;
    events->len = 0; /* the selector's to set, on every return */
    pthread_mutex_lock(&sys->lock);
    for (;;) {
        nfds_t nfds = snapshot(sys);
        /* Pending readiness is delivered now: only look for more. */
        int wait_ms = sys->npending ? 0 : timeout_ms;
        sys->polling = true;
        pthread_mutex_unlock(&sys->lock);

        int n = poll(sys->snap, nfds, wait_ms);
        int err = n < 0 ? -errno : 0;

        pthread_mutex_lock(&sys->lock);
        sys->polling = false;
        if (err < 0) {
            result = err;
            break;
        }
        if (sys->snap[0].revents) {
            cmio__wake_drain(&sys->wake);
            sys->woken = false;
        }
        for (nfds_t k = 1; k < nfds && n > 0; k++) {
            short revents = sys->snap[k].revents;
            if (!revents)
                continue;
            n--;
            size_t i = k - 1;
            /* Results of an entry deregistered or reregistered meanwhile
             * are stale: its new state is polled next time. */
            if (i < sys->len && sys->entries[i].gen == sys->snap_gen[i])
                take(sys, &sys->entries[i], revents);
        }
        result = deliver(sys, events);
        /* Woken only to pick up registrations: wait on if told to wait
         * forever; a finite wait is resumed by the core. */
        if (result > 0 || timeout_ms >= 0)
            break;
    }
    pthread_mutex_unlock(&sys->lock);
    return result;
}

/* ------------------------------------------------------------------------ */
/* Wakers                                                                   */
/* ------------------------------------------------------------------------ */

/* A waker: its wake mechanism's read end in the table, and a reference on
 * the state, so that it may outlive the poll. */
struct cmio__waker_sys {
    cmio__wake wake;
    cmio__sys *owner;
};

static int pl_waker_open(cmio__sys *sys, cmio_token token, cmio__waker_sys **out)
{
    cmio__waker_sys *w = malloc(sizeof(*w));
    if (!w)
        return -ENOMEM;
    int err = cmio__wake_open(&w->wake);
    if (err < 0) {
        free(w);
        return err;
    }
    pthread_mutex_lock(&sys->lock);
    err = add(sys, w->wake.rd, KIND_WAKER, token, CMIO_READABLE);
    if (err == 0)
        sys->refs++;
    pthread_mutex_unlock(&sys->lock);
    if (err < 0) {
        cmio__wake_close(&w->wake);
        free(w);
        return err;
    }
    w->owner = sys;
    *out = w;
    return 0;
}

static int pl_waker_wake(cmio__waker_sys *w) { return cmio__wake_signal(&w->wake); }

static void pl_waker_close(cmio__waker_sys *w)
{
    cmio__sys *sys = w->owner;
    pthread_mutex_lock(&sys->lock);
    struct entry *e = find(sys, w->wake.rd);
    if (e && e->kind == KIND_WAKER)
        remove_entry(sys, e);
    pthread_mutex_unlock(&sys->lock);
    cmio__wake_close(&w->wake);
    free(w);
    pl_close(sys);
}

const cmio__selector cmio__selector_poll = {
    .name = "poll",
    .caps = CMIO__SEL_PRIORITY | CMIO__SEL_HUP_WHOLE | CMIO__SEL_ERROR_HOLDS | CMIO__SEL_HUP_HOLDS,
    .record_size = 0,
    .open = pl_open,
    .clone = pl_clone,
    .close = pl_close,
    .reg = pl_reg,
    .rereg = pl_rereg,
    .dereg = pl_dereg,
    .select = pl_select,
    .waker_open = pl_waker_open,
    .waker_wake = pl_waker_wake,
    .waker_close = pl_waker_close,
    .rearm = pl_rearm,
};
