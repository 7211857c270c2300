/*
 * The Windows backend ("iocp"): sockets polled with IOCTL_AFD_POLL
 * (sys/afd.h) through one I/O completion port, the way wepoll and mio's
 * src/sys/windows/selector.rs do it; edge triggering emulated the way the
 * poll(2) backend emulates it (sys/poll.c), through the same re-arm seam.
 *
 * State. One selector state (a completion port, one AFD helper handle
 * associated with it, a lock) is shared, under a reference count, by the
 * poll, its registry clones and its wakers, so any of them may be released
 * in any order. Each registered socket has a state of its own (struct
 * sock), allocated at register and found by socket through an open
 * addressing map: the AFD poll's in/out buffer and status block live in it,
 * so it must stay put while a poll is in flight. This is the backend's one
 * allocation after set-up besides the map's growth (mio allocates one per
 * socket too).
 *
 * Polls. At most one AFD poll is in flight per socket. It asks the AFD
 * bits still armed, always with AFD_POLL_LOCAL_CLOSE (the socket closed
 * under us). Its completion comes through the port, carrying the socket's
 * state as its lpOverlapped; the select that dequeues it reports what fired
 * and is still armed, and queues the socket, whose next poll is submitted
 * at the start of the next select, so that a -EAGAIN in between (the rearm
 * hook) widens it before it is made rather than cancelling it. A
 * registration, reregistration or re-arm from any thread submits (or
 * cancels, when the poll in flight asks too little) at once, under the
 * lock: the kernel takes it whether or not another thread is blocked in
 * GetQueuedCompletionStatusEx, so nothing needs to wake that thread.
 *
 * Edges. mio's reading of an interest: readable asks RECEIVE, ACCEPT and
 * DISCONNECT; writable asks SEND; ABORT and CONNECT_FAIL are always asked.
 * A report disarms exactly the bits that fired, so that a socket that stays
 * ready is not reported again; a peer's shutdown (DISCONNECT) is still
 * reported after data that was reported and not drained, and a reset
 * (ABORT) after a reported shutdown. A disarmed bit is re-armed when a cmio
 * I/O call on the socket returns -EAGAIN in its direction (the rearm hook:
 * RECEIVE, ACCEPT and DISCONNECT for reads, SEND for writes) or when it is
 * reregistered. ABORT and CONNECT_FAIL last once they hold, so a reported
 * one is re-armed only by reregistering: a taken error (CMIO__ERROR_TAKEN)
 * re-arms nothing, for the failed connect is still there. Nothing is held
 * back by a reported error or hang-up (no CMIO__SEL_ERROR_HOLDS or
 * _HUP_HOLDS): the other bits stay armed. A hang-up (ABORT) is asked
 * whatever the interest and reads as both directions closed
 * (CMIO__SEL_HUP_WHOLE); a peer's shutdown (DISCONNECT) is read-closed
 * only, and asked only with readable.
 *
 * Modes. A CMIO_LEVEL registration disarms nothing: its next poll, made at
 * the next select, completes at once while the readiness holds, so every
 * select reports it. A CMIO_ONESHOT registration is spent by its report:
 * no poll is made for it until it is reregistered; the rearm hook leaves
 * both alone.
 *
 * Deregistering takes the socket out of the map and cancels its poll; its
 * state is freed when the completion of that poll (cancelled, or completed
 * meanwhile) is dequeued, for the kernel writes it until then. A socket
 * closed while registered completes its poll with AFD_POLL_LOCAL_CLOSE; its
 * state is then forgotten (mio's rule), so that a new socket given the same
 * handle value can be registered. Closing the selector cancels what is in
 * flight and dequeues the completions before freeing.
 *
 * Completion sources (named pipes, net/named_pipe.c; sys/selector.h's
 * handle_attach, handle_post, handle_detach): a handle associated with the
 * port under KEY_HANDLE, whose completions carry a struct cmio__overlapped
 * of its object's. select hands each to the operation's callback, without
 * the lock (the callback takes its object's lock, which the object holds
 * when it calls in here), and writes the one event it returns. An object
 * holds a reference on the selector while it lives; released with
 * completions still to come, it is a zombie (handle_zombies), reaped by
 * its last callback, and the last reference's close dequeues until none
 * is left, as for AFD polls.
 *
 * Wakers post a packet of their own (PostQueuedCompletionStatus under
 * their completion key, the waker as its lpOverlapped); a waker posts at
 * most one packet until a select dequeues it, so wakes coalesce per waker.
 *
 * select is GetQueuedCompletionStatusEx for at most the events buffer's
 * capacity of entries, into events->scratch (record_size bytes per unit of
 * capacity, allocated by cmio_events_new): nothing is allocated per poll.
 * Each entry gives at most one event. It is not alertable, so no APC or
 * signal interrupts it: -EINTR does not happen on Windows. Its timeout is
 * the caller's whole milliseconds; a wait may end before it (Windows'
 * clock ticks), and the core's loop waits out the rest.
 *
 * SPDX-License-Identifier: MIT
 */
#include "afd.h"
#include "record.h"
#include "selector.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { KEY_AFD = 1, KEY_WAKER = 2, KEY_HANDLE = 3 };
enum { IDLE, PENDING, CANCELLED };

/* Bits a registered interest asks (mio's interests_to_afd_flags, with the
 * two that are always asked). */
#define ALWAYS (AFD_POLL_ABORT | AFD_POLL_CONNECT_FAIL)
#define READ_BITS (AFD_POLL_RECEIVE | AFD_POLL_ACCEPT | AFD_POLL_DISCONNECT)
#define WRITE_BITS (AFD_POLL_SEND)

struct sock {
    cmio__afd_poll_info info; /* the kernel's while status != IDLE */
    IO_STATUS_BLOCK iosb;
    SOCKET fd;       /* as registered: the map's key */
    SOCKET base;     /* the base provider's socket, which AFD polls */
    cmio_token token;
    cmio_interest interest;
    uint8_t status;  /* IDLE, PENDING (a poll in flight), CANCELLED (cancel asked) */
    bool deleted;    /* out of the map: freed once IDLE and off the queue */
    bool queued;     /* on the update queue */
    bool spent;      /* CMIO_ONESHOT, reported: no poll until reregistered */
    uint32_t armed;  /* AFD bits owed to the user */
    uint32_t asked;  /* AFD bits the poll in flight asks (0 when IDLE) */
    struct sock *qnext;
};

struct cmio__waker_sys {
    cmio__sys *owner;
    cmio_token token;
    atomic_int posted; /* a packet is in the port */
    bool closed;       /* freed when its packet is dequeued */
};

struct cmio__sys {
    SRWLOCK lock;
    unsigned refs; /* the poll, its clones and its wakers */
    HANDLE port, afd;

    struct sock **slots; /* the map: NULL for an empty slot */
    size_t mask, count;

    struct sock *queue;  /* sockets whose next poll waits for the next select */
    size_t inflight;     /* polls whose completion is not yet dequeued */
    size_t zombies;      /* closed wakers whose packet is not yet dequeued */
    /* Released completion sources whose completions are not all dequeued
     * (handle_detach with zombie). Signed: the last completion of one may
     * be reaped by a select just before its handle_detach counts it. */
    long handle_zombies;

    struct cmio__sys *prev, *next; /* the process's live selectors */
};

/* Every live selector of this backend, for the rearm hook. */
static SRWLOCK live_lock = SRWLOCK_INIT;
static cmio__sys *live_head;

/* ------------------------------------------------------------------------ */
/* The map: socket -> state                                                 */
/* ------------------------------------------------------------------------ */

static size_t home(const cmio__sys *sys, SOCKET fd)
{
    /* Socket handles are multiples of 4. */
    return (size_t)(((uint64_t)fd >> 2) * UINT64_C(0x9E3779B97F4A7C15) >> 32) & sys->mask;
}

static struct sock **slot_of(const cmio__sys *sys, SOCKET fd)
{
    for (size_t i = home(sys, fd), n = 0; n <= sys->mask; i = (i + 1) & sys->mask, n++) {
        if (!sys->slots[i])
            return NULL;
        if (sys->slots[i]->fd == fd)
            return &sys->slots[i];
    }
    return NULL;
}

static struct sock *find(const cmio__sys *sys, SOCKET fd)
{
    struct sock **p = slot_of(sys, fd);
    return p ? *p : NULL;
}

static void put(struct sock **slots, size_t mask, size_t h, struct sock *s)
{
    size_t i = h;
    while (slots[i])
        i = (i + 1) & mask;
    slots[i] = s;
}

/* Room for one more, keeping the map at most half full. */
static int reserve(cmio__sys *sys)
{
    size_t n = sys->mask + 1;
    if (2 * (sys->count + 1) <= n)
        return 0;
    struct sock **slots = calloc(2 * n, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    struct sock **old = sys->slots;
    sys->slots = slots;
    sys->mask = 2 * n - 1;
    for (size_t i = 0; i < n; i++)
        if (old[i])
            put(slots, sys->mask, home(sys, old[i]->fd), old[i]);
    free(old);
    return 0;
}

static void map_insert(cmio__sys *sys, struct sock *s)
{
    put(sys->slots, sys->mask, home(sys, s->fd), s);
    sys->count++;
}

/* Backward-shift deletion: no tombstones. */
static void map_remove(cmio__sys *sys, struct sock *s)
{
    struct sock **p = slot_of(sys, s->fd);
    assert(p && *p == s);
    size_t hole = (size_t)(p - sys->slots);
    for (size_t j = (hole + 1) & sys->mask; sys->slots[j]; j = (j + 1) & sys->mask) {
        size_t h = home(sys, sys->slots[j]->fd);
        bool stays = hole < j ? (h > hole && h <= j) : (h > hole || h <= j);
        if (!stays) {
            sys->slots[hole] = sys->slots[j];
            hole = j;
        }
    }
    sys->slots[hole] = NULL;
    sys->count--;
}

/* ------------------------------------------------------------------------ */
/* Sockets                                                                  */
/* ------------------------------------------------------------------------ */

static uint32_t to_afd(cmio_interest interest)
{
    uint32_t b = ALWAYS;
    if (interest & CMIO_READABLE)
        b |= READ_BITS;
    if (interest & CMIO_WRITABLE)
        b |= WRITE_BITS;
    return b;
}

static void free_if_done(struct sock *s)
{
    if (s->deleted && s->status == IDLE && !s->queued)
        free(s);
}

/* Out of the map (lock held); its poll is cancelled and the state goes with
 * the poll's completion. */
static void forget(cmio__sys *sys, struct sock *s)
{
    map_remove(sys, s);
    s->deleted = true;
    if (s->status == PENDING) {
        cmio__afd_cancel(sys->afd, &s->iosb);
        s->status = CANCELLED;
    }
    free_if_done(s);
}

/* Bring the socket's poll in line with what it owes (lock held): submit
 * one when none is in flight, cancel the one in flight when it asks too
 * little (its completion queues the socket, and the next select submits).
 * -EBADF: the socket is closed (then it is forgotten). */
static int update(cmio__sys *sys, struct sock *s)
{
    if (s->status == CANCELLED || s->spent)
        return 0;
    if (s->status == PENDING) {
        if (s->armed & ~s->asked) {
            cmio__afd_cancel(sys->afd, &s->iosb);
            s->status = CANCELLED;
        }
        return 0;
    }
    s->info = (cmio__afd_poll_info){
        .timeout.QuadPart = INT64_MAX,
        .number_of_handles = 1,
        .exclusive = 0,
        .handles[0] = {.handle = (HANDLE)s->base, .events = s->armed | AFD_POLL_LOCAL_CLOSE, .status = 0},
    };
    int err = cmio__afd_poll(sys->afd, &s->info, &s->iosb, s);
    if (err < 0)
        return err;
    s->status = PENDING;
    s->asked = s->armed;
    sys->inflight++;
    return 0;
}

static void enqueue(cmio__sys *sys, struct sock *s)
{
    if (!s->queued) {
        s->queued = true;
        s->qnext = sys->queue;
        sys->queue = s;
    }
}

/* Submit the polls of the queued sockets (lock held). A socket that fails
 * otherwise than closed is left without a poll until a rearm or a
 * reregistration tries again. */
static void flush(cmio__sys *sys)
{
    struct sock *s = sys->queue;
    sys->queue = NULL;
    while (s) {
        struct sock *next = s->qnext;
        s->queued = false;
        if (s->deleted)
            free_if_done(s);
        else if (update(sys, s) == -EBADF)
            forget(sys, s);
        s = next;
    }
}

/* A poll of s completed (lock held): what fired and is owed, as AFD bits
 * (0: nothing to report). */
static uint32_t complete(cmio__sys *sys, struct sock *s)
{
    assert(s->status != IDLE && sys->inflight > 0);
    sys->inflight--;
    s->status = IDLE;
    s->asked = 0;
    if (s->deleted) {
        free_if_done(s);
        return 0;
    }
    uint32_t ev = 0;
    NTSTATUS st = s->iosb.Status;
    if (st == CMIO__STATUS_CANCELLED) {
        /* Cancelled to be submitted again, wider. */
    } else if (st < 0) {
        ev = AFD_POLL_CONNECT_FAIL; /* the poll itself failed: mio reports an error */
    } else if (s->info.number_of_handles < 1) {
        /* Completed without a report. */
    } else if (s->info.handles[0].events & AFD_POLL_LOCAL_CLOSE) {
        forget(sys, s); /* closed without deregistering */
        return 0;
    } else {
        ev = s->info.handles[0].events;
    }
    ev &= s->armed;
    if (ev) {
        if (!(s->interest & CMIO_LEVEL))
            s->armed &= ~ev;
        if (s->interest & CMIO_ONESHOT)
            s->spent = true;
    }
    if (!s->spent)
        enqueue(sys, s);
    return ev;
}

/* ------------------------------------------------------------------------ */
/* The selector state                                                       */
/* ------------------------------------------------------------------------ */

static int win_open(cmio__sys **out)
{
    cmio__sys *sys = calloc(1, sizeof(*sys));
    if (!sys)
        return -ENOMEM;
    sys->mask = 15;
    sys->slots = calloc(sys->mask + 1, sizeof(*sys->slots));
    if (!sys->slots) {
        free(sys);
        return -ENOMEM;
    }
    InitializeSRWLock(&sys->lock);
    sys->refs = 1;
    sys->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    int err = sys->port ? cmio__afd_open(sys->port, KEY_AFD, &sys->afd) : cmio__afd_win_errno(GetLastError());
    if (err < 0) {
        if (sys->port)
            CloseHandle(sys->port);
        free(sys->slots);
        free(sys);
        return err;
    }
    AcquireSRWLockExclusive(&live_lock);
    sys->next = live_head;
    if (live_head)
        live_head->prev = sys;
    live_head = sys;
    atomic_fetch_add_explicit(&cmio__rearm_users, 1, memory_order_relaxed);
    ReleaseSRWLockExclusive(&live_lock);
    *out = sys;
    return 0;
}

static int win_clone(cmio__sys *sys, cmio__sys **out)
{
    AcquireSRWLockExclusive(&sys->lock);
    sys->refs++;
    ReleaseSRWLockExclusive(&sys->lock);
    *out = sys;
    return 0;
}

/* A waker's packet dequeued: if the waker was closed with the packet in
 * the port, free it now (it was left for this) and say so. */
static bool waker_reaped(cmio__sys *sys, cmio__waker_sys *w)
{
    if (!w->closed)
        return false;
    free(w);
    sys->zombies--;
    return true;
}

/* A completion source's packet (KEY_HANDLE) dequeued (lock held): its
 * operation's callback runs without the lock, since it takes its object's
 * lock, which that object holds while it calls into the selector. */
static uint32_t handle_done(cmio__sys *sys, const OVERLAPPED_ENTRY *ent, cmio_token *token)
{
    struct cmio__overlapped *op = (struct cmio__overlapped *)(void *)ent->lpOverlapped;
    bool reaped = false;
    ReleaseSRWLockExclusive(&sys->lock);
    uint32_t flags = op->done(op, ent->dwNumberOfBytesTransferred, token, &reaped);
    AcquireSRWLockExclusive(&sys->lock);
    if (reaped)
        sys->handle_zombies--;
    return flags;
}

/* Dequeue one batch of completions without reporting (closing). */
static void drain_once(cmio__sys *sys, DWORD wait_ms)
{
    OVERLAPPED_ENTRY ent[64];
    ULONG n = 0;
    if (!GetQueuedCompletionStatusEx(sys->port, ent, 64, &n, wait_ms, FALSE))
        return;
    for (ULONG i = 0; i < n; i++) {
        if (ent[i].lpCompletionKey == KEY_WAKER) {
            (void)waker_reaped(sys, (cmio__waker_sys *)(void *)ent[i].lpOverlapped);
        } else if (ent[i].lpCompletionKey == KEY_AFD) {
            (void)complete(sys, (struct sock *)(void *)ent[i].lpOverlapped);
        } else if (ent[i].lpCompletionKey == KEY_HANDLE) {
            cmio_token token;
            (void)handle_done(sys, &ent[i], &token);
        }
    }
}

static void destroy(cmio__sys *sys)
{
    /* Nobody else holds it: no lock needed, but the helpers expect it. */
    AcquireSRWLockExclusive(&sys->lock);
    for (size_t i = 0; i <= sys->mask;) {
        if (sys->slots[i])
            forget(sys, sys->slots[i]); /* may shift a later entry into i */
        else
            i++;
    }
    flush(sys); /* frees the queued ones */
    /* The kernel writes each poll's state until its completion is
     * dequeued: wait for them (cancelled, they come at once). Should they
     * not come, the states are leaked rather than freed under the kernel. */
    for (int round = 0; (sys->inflight || sys->zombies || sys->handle_zombies > 0) && round < 100; round++)
        drain_once(sys, 100);
    ReleaseSRWLockExclusive(&sys->lock);
    CloseHandle(sys->afd);
    CloseHandle(sys->port);
    free(sys->slots);
    free(sys);
}

/* Drop a reference; the last one leaves the live list and frees. */
static void win_close(cmio__sys *sys)
{
    AcquireSRWLockExclusive(&live_lock);
    AcquireSRWLockExclusive(&sys->lock);
    bool last = --sys->refs == 0;
    ReleaseSRWLockExclusive(&sys->lock);
    if (last) {
        if (sys->prev)
            sys->prev->next = sys->next;
        else
            live_head = sys->next;
        if (sys->next)
            sys->next->prev = sys->prev;
        atomic_fetch_sub_explicit(&cmio__rearm_users, 1, memory_order_relaxed);
    }
    ReleaseSRWLockExclusive(&live_lock);
    if (last)
        destroy(sys);
}

/* ------------------------------------------------------------------------ */
/* Registration                                                             */
/* ------------------------------------------------------------------------ */

static int win_reg(cmio__sys *sys, cmio_fd fd, cmio_token token, cmio_interest interest)
{
    SOCKET base;
    int err = cmio__afd_base_socket(fd, &base);
    if (err < 0)
        return err;
    struct sock *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    *s = (struct sock){
        .fd = fd, .base = base, .token = token, .interest = interest, .armed = to_afd(interest)};
    AcquireSRWLockExclusive(&sys->lock);
    if (find(sys, fd))
        err = -EEXIST;
    else
        err = reserve(sys);
    if (err == 0) {
        err = update(sys, s);
        if (err == 0)
            map_insert(sys, s);
    }
    ReleaseSRWLockExclusive(&sys->lock);
    if (err < 0)
        free(s); /* no poll was submitted */
    return err;
}

static int win_rereg(cmio__sys *sys, cmio_fd fd, cmio_token token, cmio_interest interest)
{
    AcquireSRWLockExclusive(&sys->lock);
    struct sock *s = find(sys, fd);
    int err = 0;
    if (s) {
        /* Readiness that holds under the new interest is found again. */
        s->token = token;
        s->interest = interest;
        s->armed = to_afd(interest);
        s->spent = false;
        err = update(sys, s);
        if (err == -EBADF)
            forget(sys, s);
    }
    ReleaseSRWLockExclusive(&sys->lock);
    if (!s)
        err = cmio__afd_socket_valid(fd) < 0 ? -EBADF : -ENOENT;
    return err;
}

static int win_dereg(cmio__sys *sys, cmio_fd fd)
{
    /* A socket closed while registered is forgotten here too (its
     * LOCAL_CLOSE completion may not be dequeued yet), and the call says
     * -EBADF, as on the other backends. */
    bool closed = cmio__afd_socket_valid(fd) < 0;
    AcquireSRWLockExclusive(&sys->lock);
    struct sock *s = find(sys, fd);
    if (s)
        forget(sys, s);
    ReleaseSRWLockExclusive(&sys->lock);
    if (!s || closed)
        return closed ? -EBADF : -ENOENT;
    return 0;
}

/* -EAGAIN in a direction re-arms its bits, in every selector that has fd
 * in edge mode. CMIO__ERROR_TAKEN re-arms nothing (see the top). */
static void win_rearm(cmio_fd fd, cmio_interest direction)
{
    uint32_t bits = direction & CMIO_READABLE ? READ_BITS : direction & CMIO_WRITABLE ? WRITE_BITS : 0;
    if (!bits)
        return;
    AcquireSRWLockShared(&live_lock);
    for (cmio__sys *sys = live_head; sys; sys = sys->next) {
        AcquireSRWLockExclusive(&sys->lock);
        struct sock *s = find(sys, fd);
        if (s && !(s->interest & (CMIO_LEVEL | CMIO_ONESHOT))) {
            uint32_t owed = bits & to_afd(s->interest);
            if (owed & ~s->armed) {
                s->armed |= owed;
                if (update(sys, s) == -EBADF)
                    forget(sys, s);
            }
        }
        ReleaseSRWLockExclusive(&sys->lock);
    }
    ReleaseSRWLockShared(&live_lock);
}

/* ------------------------------------------------------------------------ */
/* Polling                                                                  */
/* ------------------------------------------------------------------------ */

atomic_ulong cmio__iocp_waiters[CMIO__IOCP_WAITER_SLOTS];

static size_t waiter_mark(void)
{
    unsigned long me = GetCurrentThreadId();
    for (size_t i = 0; i < CMIO__IOCP_WAITER_SLOTS; i++) {
        unsigned long none = 0;
        if (atomic_load_explicit(&cmio__iocp_waiters[i], memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(&cmio__iocp_waiters[i], &none, me, memory_order_release,
                                                    memory_order_relaxed))
            return i;
    }
    return CMIO__IOCP_WAITER_SLOTS;
}

static void waiter_unmark(size_t i)
{
    if (i < CMIO__IOCP_WAITER_SLOTS)
        atomic_store_explicit(&cmio__iocp_waiters[i], 0, memory_order_relaxed);
}

static int win_select(cmio__sys *sys, cmio_events *events, int timeout_ms)
{
    events->len = 0; /* the selector's to set, on every return */
    OVERLAPPED_ENTRY *ent = events->scratch;
    ULONG cap = events->capacity > 0x7fffffff ? 0x7fffffff : (ULONG)events->capacity;
    DWORD wait = timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms;
    for (;;) {
        AcquireSRWLockExclusive(&sys->lock);
        flush(sys);
        ReleaseSRWLockExclusive(&sys->lock);

        ULONG n = 0;
        size_t mark = waiter_mark();
        BOOL ok = GetQueuedCompletionStatusEx(sys->port, ent, cap, &n, wait, FALSE);
        waiter_unmark(mark);
        if (!ok) {
            DWORD e = GetLastError();
            return e == WAIT_TIMEOUT ? 0 : cmio__afd_win_errno(e);
        }
        size_t k = 0;
        AcquireSRWLockExclusive(&sys->lock);
        for (ULONG i = 0; i < n; i++) {
            if (ent[i].lpCompletionKey == KEY_WAKER) {
                cmio__waker_sys *w = (cmio__waker_sys *)(void *)ent[i].lpOverlapped;
                if (waker_reaped(sys, w))
                    continue;
                /* A wake after this posts again: a new event. */
                atomic_store_explicit(&w->posted, 0, memory_order_release);
                k += cmio__record_put(&events->items[k], w->token, CMIO_EVENT_READABLE);
            } else if (ent[i].lpCompletionKey == KEY_AFD) {
                struct sock *s = (struct sock *)(void *)ent[i].lpOverlapped;
                cmio_token token = s->token; /* s may be freed by complete */
                uint32_t ev = complete(sys, s);
                if (ev) {
                    events->items[k].token = token;
                    events->items[k].flags = ev;
                    k++;
                }
            } else if (ent[i].lpCompletionKey == KEY_HANDLE) {
                cmio_token token = 0;
                uint32_t flags = handle_done(sys, &ent[i], &token);
                if (flags)
                    k += cmio__record_put(&events->items[k], token, flags);
            }
        }
        ReleaseSRWLockExclusive(&sys->lock);
        assert(k <= events->capacity);
        events->len = k;
        /* Only cancellations and the like: wait on if told to wait
         * forever; a finite wait is resumed by the core. */
        if (k > 0 || timeout_ms >= 0)
            return (int)k;
    }
}

/* ------------------------------------------------------------------------ */
/* Wakers                                                                   */
/* ------------------------------------------------------------------------ */

static int win_waker_open(cmio__sys *sys, cmio_token token, cmio__waker_sys **out)
{
    cmio__waker_sys *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->owner = sys;
    w->token = token;
    atomic_init(&w->posted, 0);
    AcquireSRWLockExclusive(&sys->lock);
    sys->refs++;
    ReleaseSRWLockExclusive(&sys->lock);
    *out = w;
    return 0;
}

static int win_waker_wake(cmio__waker_sys *w)
{
    if (atomic_exchange_explicit(&w->posted, 1, memory_order_acq_rel))
        return 0; /* a packet is on its way: the wakes coalesce */
    if (!PostQueuedCompletionStatus(w->owner->port, 0, KEY_WAKER, (LPOVERLAPPED)(void *)w)) {
        atomic_store_explicit(&w->posted, 0, memory_order_release);
        return cmio__afd_win_errno(GetLastError());
    }
    return 0;
}

static void win_waker_close(cmio__waker_sys *w)
{
    cmio__sys *sys = w->owner;
    AcquireSRWLockExclusive(&sys->lock);
    if (atomic_load_explicit(&w->posted, memory_order_acquire)) {
        w->closed = true; /* its packet frees it */
        sys->zombies++;
    } else {
        free(w);
    }
    ReleaseSRWLockExclusive(&sys->lock);
    win_close(sys);
}

/* ------------------------------------------------------------------------ */
/* Completion sources (named pipes)                                         */
/* ------------------------------------------------------------------------ */

static int win_handle_attach(cmio__sys *sys, void *handle)
{
    if (CreateIoCompletionPort((HANDLE)handle, sys->port, KEY_HANDLE, 0) == NULL)
        return cmio__afd_win_errno(GetLastError());
    cmio__sys *same;
    return win_clone(sys, &same); /* the object's reference, as a clone's */
}

static int win_handle_post(cmio__sys *sys, struct cmio__overlapped *op, uint32_t bytes)
{
    if (!PostQueuedCompletionStatus(sys->port, bytes, KEY_HANDLE, &op->ov))
        return cmio__afd_win_errno(GetLastError());
    return 0;
}

static void win_handle_detach(cmio__sys *sys, bool zombie)
{
    if (zombie) {
        AcquireSRWLockExclusive(&sys->lock);
        sys->handle_zombies++;
        ReleaseSRWLockExclusive(&sys->lock);
    }
    win_close(sys);
}

const cmio__selector cmio__selector_iocp = {
    .name = "iocp",
    .caps = CMIO__SEL_HUP_WHOLE | CMIO__SEL_RESET_HUP | CMIO__SEL_FIN_NEEDS_READ | CMIO__SEL_REGISTER_ALLOCATES |
            CMIO__SEL_NO_EINTR | CMIO__SEL_FIN_AFTER_DATA | CMIO__SEL_LOCAL_SHUTDOWN_SILENT | CMIO__SEL_ERROR_ONCE,
    .record_size = sizeof(OVERLAPPED_ENTRY),
    .open = win_open,
    .clone = win_clone,
    .close = win_close,
    .reg = win_reg,
    .rereg = win_rereg,
    .dereg = win_dereg,
    .select = win_select,
    .fast_fd = NULL,
    .waker_open = win_waker_open,
    .waker_wake = win_waker_wake,
    .waker_close = win_waker_close,
    .rearm = win_rearm,
    .signals_add = NULL,
    .signals_remove = NULL,
    .poll_fd = NULL,
    .handle_attach = win_handle_attach,
    .handle_post = win_handle_post,
    .handle_detach = win_handle_detach,
};
