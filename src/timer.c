/*
 * Timers (DESIGN §3c): every timer of a poll in one binary min-heap of
 * deadlines, and one kernel timer per poll armed at the earliest deadline
 * (libuv's timer heap, with the kernel doing the waiting):
 *  - on Linux a timerfd, armed with an absolute CLOCK_MONOTONIC deadline
 *    (nanoseconds), registered in the poll's selector under an internal
 *    token, so that a timer set from another thread moves the kernel timer
 *    and the blocked poll wakes by itself;
 *  - elsewhere (and on Linux when a test asks, cmio__timers_use_portable)
 *    the poll's own timeout, cut to the earliest deadline, with a wake
 *    descriptor (sys/waker.h) under the internal token for a setter whose
 *    deadline comes before the one the poll waits for.
 * Arming and cancelling cost O(log n) and a system call only when the
 * earliest deadline moves earlier (a cancelled earliest deadline is left
 * to fire, finds nothing due and re-arms: cancel makes no system call).
 *
 * The poll thread does the rest in cmio__timers_poll (called by
 * cmio__poll): the events of due timers are written into the caller's
 * buffer after the kernel's (sys/record.h), as many as fit; the others
 * wait in a ready list for the next poll, which delivers them first.
 * The internal token's records are taken out of the buffer.
 *
 * The state is shared by the poll, its registry clones and its timers
 * (refcounted) and guarded by one lock (tlock, below): every timer
 * function may be called from any thread.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

#include "../sys/fd.h"
#include "../sys/record.h"
#include "os.h"
#if !defined(_WIN32)
#include "../sys/waker.h"
#endif

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if !defined(_WIN32)
#include <unistd.h>
#endif

/* Windows has no wake descriptor to register: there the portable
 * mechanism's wake is a waker of the selector's own (waker_open under the
 * internal token: a completion posted to the port), as channels use. */
#if defined(_WIN32)
#define WAKE_BY_SELECTOR 1
#else
#define WAKE_BY_SELECTOR 0
#endif

#ifdef __linux__
#include <sys/timerfd.h>
#define HAVE_TIMERFD 1
#else
#define HAVE_TIMERFD 0
#endif

/* The lock of a poll's timers. On Linux a futex word (Drepper's
 * "Futexes Are Tricky", mutex 3: 0 free, 1 held, 2 held with waiters):
 * taking and releasing it uncontended is one atomic instruction each,
 * inline, where a pthread mutex is two calls of some twenty instructions;
 * the critical sections are a heap operation or a batch of expiries.
 * Elsewhere a plain lock (src/os.h: a pthread mutex, an SRWLOCK). */
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>

typedef struct {
    atomic_int word;
} tlock;

static int tlock_init(tlock *l)
{
    atomic_init(&l->word, 0);
    return 0;
}
static void tlock_destroy(tlock *l) { (void)l; }

static CMIO__NOINLINE void tlock_wait(tlock *l, int c)
{
    if (c != 2)
        c = atomic_exchange_explicit(&l->word, 2, memory_order_acquire);
    while (c != 0) {
        (void)syscall(SYS_futex, &l->word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
        c = atomic_exchange_explicit(&l->word, 2, memory_order_acquire);
    }
}

static inline void tlock_lock(tlock *l)
{
    int c = 0;
    if (!atomic_compare_exchange_strong_explicit(&l->word, &c, 1, memory_order_acquire, memory_order_relaxed))
        tlock_wait(l, c);
}

static inline void tlock_unlock(tlock *l)
{
    if (atomic_exchange_explicit(&l->word, 0, memory_order_release) == 2)
        (void)syscall(SYS_futex, &l->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
#else
typedef cmio__mutex tlock;
static int tlock_init(tlock *l) { return cmio__mutex_init(l); }
static void tlock_destroy(tlock *l) { cmio__mutex_destroy(l); }
static inline void tlock_lock(tlock *l) { cmio__mutex_lock(l); }
static inline void tlock_unlock(tlock *l) { cmio__mutex_unlock(l); }
#endif

#define NEVER INT64_MAX
#define NOT_ARMED SIZE_MAX

struct cmio_timer {
    cmio__timers *tm;
    cmio_token token;
    int64_t deadline;        /* ns, CLOCK_MONOTONIC, while in the heap */
    int64_t interval;        /* ns; 0: one-shot */
    uint64_t seq;            /* arming order: equal deadlines expire in it */
    uint64_t expirations;    /* since the last read (or set) */
    size_t heap_index;       /* NOT_ARMED when out of the heap */
    cmio_timer *prev, *next; /* the ready list */
    bool ready;              /* due, its event not yet delivered */
    bool reported;           /* its event was delivered, not yet read */
};

struct cmio__timers {
    tlock lock;
    unsigned refs; /* the poll, each registry clone, each timer */
    /* The poll's selector; NULL once the poll is freed. */
    const cmio__selector *sel;
    cmio__sys *sys;
    struct cmio__poll_head *head; /* the inline fast path's switch */

    cmio_timer **heap;
    size_t len, cap; /* cap >= timers in existence: arming never allocates */
    size_t timers;
    cmio_timer *ready_first, *ready_last;
    uint64_t next_seq;

    atomic_bool active;  /* a timer was made: cmio__poll comes here */
    bool attached;       /* the poll thread has seen it: the kernel timer may be armed */
    bool timerfd;        /* the mechanism (see the top) */
    bool registered;     /* kfd is in the selector */
#if WAKE_BY_SELECTOR
    cmio__waker_sys *wk; /* the portable mechanism's wake: the selector's waker */
    int kfd;             /* 0 while wk is open, else -1 (no descriptor) */
#else
    cmio__wake wake;     /* the portable mechanism's wake (rd == kfd) */
    int kfd;             /* the descriptor under the internal token, or -1 */
#endif
    int64_t armed;       /* the deadline the kernel timer (or the poll) waits for */
};

/* Set by tests before they make a poll: the portable mechanism on Linux. */
static bool use_portable;

void cmio__timers_use_portable(bool on) { use_portable = on; }

/* ms from now as an absolute deadline, saturating at NEVER. */
static int64_t after(int64_t now, uint64_t ms)
{
    if (ms > (uint64_t)(NEVER - now) / 1000000u)
        return NEVER;
    return now + (int64_t)ms * 1000000;
}

/* The internal token: the address of the shared state, which no token of
 * the user's can equal (it is not one of the user's objects). */
static cmio_token internal_token(const cmio__timers *tm) { return (cmio_token)(uintptr_t)tm; }

/* ---- the heap ------------------------------------------------------------ */

static bool earlier(const cmio_timer *a, const cmio_timer *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_place(cmio__timers *tm, size_t i, cmio_timer *t)
{
    tm->heap[i] = t;
    t->heap_index = i;
}

static void sift_up(cmio__timers *tm, size_t i)
{
    cmio_timer *t = tm->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!earlier(t, tm->heap[parent]))
            break;
        heap_place(tm, i, tm->heap[parent]);
        i = parent;
    }
    heap_place(tm, i, t);
}

static void sift_down(cmio__timers *tm, size_t i)
{
    cmio_timer *t = tm->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= tm->len)
            break;
        if (child + 1 < tm->len && earlier(tm->heap[child + 1], tm->heap[child]))
            child++;
        if (!earlier(tm->heap[child], t))
            break;
        heap_place(tm, i, tm->heap[child]);
        i = child;
    }
    heap_place(tm, i, t);
}

static void heap_push(cmio__timers *tm, cmio_timer *t)
{
    assert(tm->len < tm->cap && t->heap_index == NOT_ARMED);
    heap_place(tm, tm->len++, t);
    sift_up(tm, t->heap_index);
}

static void heap_remove(cmio__timers *tm, cmio_timer *t)
{
    size_t i = t->heap_index;
    if (i == NOT_ARMED)
        return;
    t->heap_index = NOT_ARMED;
    cmio_timer *last = tm->heap[--tm->len];
    if (last == t)
        return;
    heap_place(tm, i, last);
    sift_up(tm, i);
    sift_down(tm, last->heap_index);
}

static int64_t earliest(const cmio__timers *tm) { return tm->len ? tm->heap[0]->deadline : NEVER; }

/* ---- the ready list --------------------------------------------------------- */

static void ready_add(cmio__timers *tm, cmio_timer *t)
{
    assert(!t->ready);
    t->ready = true;
    t->next = NULL;
    t->prev = tm->ready_last;
    if (tm->ready_last)
        tm->ready_last->next = t;
    else
        tm->ready_first = t;
    tm->ready_last = t;
}

static void ready_remove(cmio__timers *tm, cmio_timer *t)
{
    if (!t->ready)
        return;
    t->ready = false;
    if (t->prev)
        t->prev->next = t->next;
    else
        tm->ready_first = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        tm->ready_last = t->prev;
    t->prev = t->next = NULL;
}

/* ---- the kernel timer ----------------------------------------------------- */

/* Make the kernel timer wait for the earliest deadline when that is earlier
 * than what it waits for now (force: whatever it waits for). Under the lock. */
static void kernel_arm(cmio__timers *tm, bool force)
{
    int64_t when = earliest(tm);
    if (!tm->attached || tm->kfd < 0 || (!force && when >= tm->armed) || (force && when == tm->armed))
        return;
    tm->armed = when;
#if HAVE_TIMERFD
    if (tm->timerfd) {
        struct itimerspec its = {{0, 0}, {0, 0}};
        if (when != NEVER) {
            /* 0 would disarm: an overdue deadline is any time in the past. */
            its.it_value.tv_sec = when / 1000000000;
            its.it_value.tv_nsec = when % 1000000000;
            if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
                its.it_value.tv_nsec = 1;
        }
        (void)timerfd_settime(tm->kfd, TFD_TIMER_ABSTIME, &its, NULL);
        return;
    }
#endif
    /* Portable: the poll computes its timeout from the heap; wake it so that
     * it does (a wake it did not need costs one empty turn). */
    if (!force) {
#if WAKE_BY_SELECTOR
        (void)tm->sel->waker_wake(tm->wk);
#else
        (void)cmio__wake_signal(&tm->wake);
#endif
    }
}

/* Open the mechanism and register it under the internal token. */
static int kernel_open(cmio__timers *tm)
{
    int err;
#if WAKE_BY_SELECTOR
    err = tm->sel->waker_open(tm->sys, internal_token(tm), &tm->wk);
    if (err < 0)
        return err;
    tm->kfd = 0;
    tm->registered = true;
    return 0;
#else
#if HAVE_TIMERFD
    if (tm->timerfd) {
        tm->kfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (tm->kfd < 0)
            return cmio__errno();
    } else
#endif
    {
        err = cmio__wake_open(&tm->wake);
        if (err < 0)
            return err;
        tm->kfd = tm->wake.rd;
    }
    err = tm->sel->reg(tm->sys, tm->kfd, internal_token(tm), CMIO_READABLE);
    if (err < 0) {
        if (tm->timerfd)
            close(tm->kfd);
        else
            cmio__wake_close(&tm->wake);
        tm->kfd = -1;
        return err;
    }
    tm->registered = true;
    return 0;
#endif
}

static void kernel_close(cmio__timers *tm)
{
    if (tm->kfd < 0)
        return;
#if WAKE_BY_SELECTOR
    /* waker_close deregisters: no event of it reaches a later poll. */
    if (tm->sel)
        tm->sel->waker_close(tm->wk);
    tm->wk = NULL;
#else
    if (tm->registered && tm->sel)
        (void)tm->sel->dereg(tm->sys, tm->kfd);
    if (tm->timerfd)
        close(tm->kfd);
    else
        cmio__wake_close(&tm->wake);
#endif
    tm->kfd = -1;
    tm->registered = false;
}

/* The kernel timer fired (or the wake was signalled): empty it, and let an
 * emulating backend watch it again. */
static void kernel_drain(cmio__timers *tm)
{
    if (tm->kfd < 0)
        return;
#if !WAKE_BY_SELECTOR /* a selector's waker needs neither */
    if (tm->timerfd) {
        uint64_t ticks;
        (void)!read(tm->kfd, &ticks, sizeof(ticks));
    } else {
        cmio__wake_drain(&tm->wake);
    }
    if (tm->sel->rearm)
        tm->sel->rearm(tm->kfd, CMIO_READABLE);
#endif
    tm->armed = NEVER; /* it fired: whatever it waited for is past */
}

/* ---- shared state ------------------------------------------------------------ */

int cmio__timers_new(cmio_poll *poll, const cmio__selector *sel, cmio__sys *sys, cmio__timers **out)
{
    cmio__timers *tm = calloc(1, sizeof(*tm));
    if (!tm)
        return -ENOMEM;
    int err = tlock_init(&tm->lock);
    if (err < 0) {
        free(tm);
        return err;
    }
    tm->refs = 1;
    tm->sel = sel;
    tm->sys = sys;
    tm->head = &poll->head;
    tm->timerfd = HAVE_TIMERFD && !use_portable;
#if WAKE_BY_SELECTOR
    tm->kfd = -1;
#else
    tm->kfd = tm->wake.rd = tm->wake.wr = -1;
#endif
    tm->armed = NEVER;
    atomic_init(&tm->active, false);
    *out = tm;
    return 0;
}

void cmio__timers_ref(cmio__timers *tm)
{
    tlock_lock(&tm->lock);
    tm->refs++;
    tlock_unlock(&tm->lock);
}

void cmio__timers_unref(cmio__timers *tm)
{
    tlock_lock(&tm->lock);
    unsigned left = --tm->refs;
    tlock_unlock(&tm->lock);
    if (left)
        return;
    assert(tm->sel == NULL && tm->timers == 0);
    tlock_destroy(&tm->lock);
    free(tm->heap);
    free(tm);
}

void cmio__timers_poll_gone(cmio__timers *tm)
{
    tlock_lock(&tm->lock);
    kernel_close(tm);
    tm->sel = NULL;
    tm->sys = NULL;
    tm->head = NULL;
    tm->attached = false;
    tlock_unlock(&tm->lock);
    cmio__timers_unref(tm);
}

/* cmio_poll_fd (src/poll_fd.c), on the poll thread: the poll is nested in
 * another loop, which waits on the selector's descriptor and not in
 * cmio_poll_poll, so the kernel timer must be armed as soon as a timer is
 * set, not once the poll thread has seen it (attached). That is safe when
 * this thread's polls always come here, where the internal record is taken
 * out: active and the inline fast path's switch are set now, by the poll
 * thread itself, so its own next poll sees them whatever other threads do. */
void cmio__timers_embed(cmio__timers *tm)
{
    tlock_lock(&tm->lock);
    if (tm->head) {
        atomic_store_explicit(&tm->active, true, memory_order_relaxed);
        CMIO__STORE_RELAXED(tm->head->epoll_fd, -1);
        if (!tm->attached) {
            tm->attached = true;
            kernel_arm(tm, true);
        }
    }
    tlock_unlock(&tm->lock);
}

bool cmio__timers_active(const cmio__timers *tm)
{
    return atomic_load_explicit(&tm->active, memory_order_relaxed);
}

/* ---- the poll thread's part ------------------------------------------------ */

/* Count the expirations of every due timer; its event goes straight to
 * out while there is room and no earlier timer waits in the ready list,
 * else it joins the list. Then re-arm the kernel timer for what is left.
 * Returns the records written. Under the lock. */
static size_t expire(cmio__timers *tm, int64_t now, cmio_event *out, size_t room)
{
    size_t k = 0;
    while (tm->len && tm->heap[0]->deadline <= now) {
        cmio_timer *t = tm->heap[0];
        uint64_t n = 1;
        if (t->interval) {
            uint64_t behind = (uint64_t)(now - t->deadline) / (uint64_t)t->interval;
            n += behind;
            int64_t step = (int64_t)(behind + 1);
            if (t->interval > (NEVER - t->deadline) / step) {
                heap_remove(tm, t); /* the next expiry is beyond the clock */
            } else {
                /* Still at the top: move its deadline on and let it sink. */
                t->deadline += t->interval * step;
                t->seq = tm->next_seq++;
                sift_down(tm, 0);
            }
        } else {
            heap_remove(tm, t);
        }
        t->expirations = t->expirations > UINT64_MAX - n ? UINT64_MAX : t->expirations + n;
        if (t->ready || t->reported)
            continue; /* its event is owed or out: the count is enough */
        if (!tm->ready_first && k + cmio__records(CMIO_EVENT_READABLE) <= room) {
            t->reported = true;
            k += cmio__record_put(out + k, t->token, CMIO_EVENT_READABLE);
        } else {
            ready_add(tm, t);
        }
    }
    kernel_arm(tm, true);
    return k;
}

/* Write the events of ready timers at out, at most room records; returns
 * how many. Under the lock. */
static size_t deliver(cmio__timers *tm, cmio_event *out, size_t room)
{
    size_t k = 0;
    while (tm->ready_first && k + cmio__records(CMIO_EVENT_READABLE) <= room) {
        cmio_timer *t = tm->ready_first;
        ready_remove(tm, t);
        t->reported = true;
        k += cmio__record_put(out + k, t->token, CMIO_EVENT_READABLE);
    }
    return k;
}

/* Take the internal token's records out of n records at items; returns
 * how many are left (the order of the others is kept). */
static size_t strip_internal(cmio__timers *tm, cmio_event *items, size_t n, bool *seen)
{
    cmio_token internal = internal_token(tm);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (cmio_event_token(&items[i]) == internal) {
            *seen = true;
            continue;
        }
        if (kept != i)
            items[kept] = items[i];
        kept++;
    }
    return kept;
}

/* The timeout for the selector: the caller's (ms, negative: none) cut to
 * the earliest deadline on the portable mechanism, rounded up so that the
 * wait ends at or after it. Under the lock. */
static int wait_ms(cmio__timers *tm, int64_t now, int64_t until)
{
    int64_t end = until;
    if (!tm->timerfd) {
        int64_t e = earliest(tm);
        if (e < end)
            end = e;
        tm->armed = e;
    }
    if (end == NEVER)
        return -1;
    if (end <= now)
        return 0;
    int64_t ms = (end - now + 999999) / 1000000;
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

int cmio__timers_poll(cmio__timers *tm, cmio_events *events, int timeout_ms)
{
    const cmio__selector *sel = tm->sel;
    cmio__sys *sys = tm->sys;
    int64_t until = timeout_ms < 0 ? NEVER : after(cmio__now_ns(), (uint64_t)timeout_ms);
    for (;;) {
        tlock_lock(&tm->lock);
        if (!tm->attached) {
            tm->attached = true;
            kernel_arm(tm, true);
        }
        int64_t now = cmio__now_ns();
        size_t k = deliver(tm, events->items, events->capacity);
        k += expire(tm, now, events->items + k, events->capacity - k);
        int wait = k ? 0 : wait_ms(tm, now, until);
        tlock_unlock(&tm->lock);

        cmio_events view = {events->items + k, 0, events->capacity - k, events->scratch};
        int n = view.capacity ? sel->select(sys, &view, wait) : 0;
        if (n < 0) {
            events->len = k;
            return k ? (int)k : n;
        }
        bool fired = false;
        size_t total = k + strip_internal(tm, view.items, (size_t)n, &fired);

        tlock_lock(&tm->lock);
        if (fired)
            kernel_drain(tm);
        now = cmio__now_ns();
        total += deliver(tm, events->items + total, events->capacity - total);
        total += expire(tm, now, events->items + total, events->capacity - total);
        tlock_unlock(&tm->lock);

        events->len = total;
        if (total > 0 || timeout_ms == 0 || (until != NEVER && now >= until))
            return (int)total;
        /* Woken with nothing to say (a cancelled deadline, a wake for a
         * deadline not yet due, a backend's own wake): wait on. */
    }
}

/* ---- the API --------------------------------------------------------------- */

int cmio_timer_new(cmio_registry *r, cmio_token token, cmio_timer **out)
{
    CMIO__CHECK(r != NULL && out != NULL, -EINVAL);
    *out = NULL;
    cmio__timers *tm = r->timers;
    cmio_timer *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->tm = tm;
    t->token = token;
    t->heap_index = NOT_ARMED;

    int err = 0;
    tlock_lock(&tm->lock);
    if (!tm->sel) {
        err = -EBADF; /* the poll was freed */
    } else if (tm->timers == tm->cap) {
        size_t cap = tm->cap ? 2 * tm->cap : 16;
        cmio_timer **heap = cap <= SIZE_MAX / sizeof(*heap) ? realloc(tm->heap, cap * sizeof(*heap)) : NULL;
        if (heap) {
            tm->heap = heap;
            tm->cap = cap;
        } else {
            err = -ENOMEM;
        }
    }
    if (err == 0 && !tm->registered)
        err = kernel_open(tm);
    if (err == 0) {
        tm->timers++;
        tm->refs++;
        if (!atomic_load_explicit(&tm->active, memory_order_relaxed)) {
            atomic_store_explicit(&tm->active, true, memory_order_relaxed);
            /* From now on every poll goes through cmio__poll (here). */
            CMIO__STORE_RELAXED(tm->head->epoll_fd, -1);
        }
    }
    tlock_unlock(&tm->lock);
    if (err < 0) {
        free(t);
        return err;
    }
    *out = t;
    return 0;
}

/* Out of the heap and the ready list, nothing unread. Under the lock. */
static void disarm(cmio__timers *tm, cmio_timer *t)
{
    heap_remove(tm, t);
    ready_remove(tm, t);
    t->expirations = 0;
    t->reported = false;
}

int cmio_timer_set(cmio_timer *t, uint64_t after_ms, uint64_t interval_ms)
{
    CMIO__CHECK(t != NULL, -EINVAL);
    cmio__timers *tm = t->tm;
    int64_t now = cmio__now_ns();
    tlock_lock(&tm->lock);
    disarm(tm, t);
    t->deadline = after(now, after_ms);
    t->interval = interval_ms > (uint64_t)NEVER / 1000000u ? NEVER : (int64_t)interval_ms * 1000000;
    t->seq = tm->next_seq++;
    if (t->deadline != NEVER) {
        heap_push(tm, t);
        if (tm->heap[0] == t)
            kernel_arm(tm, false);
    }
    tlock_unlock(&tm->lock);
    return 0;
}

int cmio_timer_cancel(cmio_timer *t)
{
    CMIO__CHECK(t != NULL, -EINVAL);
    cmio__timers *tm = t->tm;
    tlock_lock(&tm->lock);
    disarm(tm, t);
    tlock_unlock(&tm->lock);
    return 0;
}

int cmio_timer_read(cmio_timer *t, uint64_t *expirations)
{
    CMIO__CHECK(t != NULL && expirations != NULL, -EINVAL);
    cmio__timers *tm = t->tm;
    tlock_lock(&tm->lock);
    uint64_t n = t->expirations;
    t->expirations = 0;
    t->reported = false;
    ready_remove(tm, t);
    tlock_unlock(&tm->lock);
    if (n == 0)
        return -EAGAIN;
    *expirations = n;
    return 0;
}

void cmio_timer_free(cmio_timer *t)
{
    if (!t)
        return;
    cmio__timers *tm = t->tm;
    tlock_lock(&tm->lock);
    disarm(tm, t);
    tm->timers--;
    tlock_unlock(&tm->lock);
    cmio__timers_unref(tm);
    free(t);
}
