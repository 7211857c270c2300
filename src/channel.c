/*
 * cmio_channel: a bounded multi-producer, single-consumer queue of
 * fixed-size messages that wakes the poll (amy's channel, mio 0.3's
 * notify; DESIGN §3c).
 *
 * The queue is Vyukov's bounded ring with a sequence number ("stamp") per
 * slot, written here for one consumer; positions carry a lap above the
 * slot index so that any capacity works without a division (the layout
 * crossbeam's ArrayQueue uses): a position is lap + index, index < capacity,
 * and lap a multiple of one_lap, the smallest power of two above capacity.
 * Slot i's stamp says what the slot is waiting for:
 *
 *   stamp == pos       free for the sender that claims position pos
 *   stamp == pos + 1   holds the message of position pos, for the receiver
 *   stamp == pos + one_lap, after the receiver took it: free for the same
 *                      index one lap later
 *
 * The event rides on the backend's waker operations (sys/selector.h, as
 * src/waker.c uses them): no backend code of its own. A wake is one system
 * call, so a sender makes it only when the receiver has said it waits:
 * `armed` is set by every receive that finds the queue empty, and the first
 * sender to publish a message afterwards clears it and wakes. A burst of
 * messages costs one wake; the receiver, woken, drains to -EAGAIN, which
 * arms again.
 *
 * Memory ordering (docs/guide.md, "Channel"):
 *  - A sender claims a position with a relaxed compare-and-swap of `tail`:
 *    it only hands out positions, each to one sender.
 *  - It copies the message into the slot, then stores the stamp pos + 1:
 *    a release (seq_cst, for the next point). The receiver loads the stamp
 *    with acquire; seeing pos + 1 it synchronizes with that store, so the
 *    message's bytes are visible to its copy out.
 *  - The receiver, having copied the message out, stores the stamp
 *    pos + one_lap with release; a sender's acquire load that sees it
 *    synchronizes with it, so the copy out is done before the slot is
 *    written again.
 *  - Lost wake-ups (the receiver finds the queue empty, a sender publishes,
 *    the receiver arms): the sender publishes (store S), then loads
 *    `armed` (L); the receiver arms (store A, or a load that finds its arm
 *    still set), then looks at the slot again (load R). All four are
 *    seq_cst, so they fall in one total order: either L comes after A, and
 *    the sender sees the arm (or a later clearing by another sender, which
 *    woke after A), or L comes before A, so S comes before R and the second
 *    look finds the message. Either the receiver takes the message or a
 *    wake follows its arm. "The slot" is the one at the head: the sender
 *    that takes the arm may be the one of a later position, and its wake
 *    may find the head still unpublished; that receive arms again, for
 *    the head's sender, so every -EAGAIN arms (an arm taken is gone).
 *  - Clearing `armed` is an exchange: each arm is taken by at most one
 *    party (one sender wakes, or the receiver takes it back when its second
 *    look found a message). The wake's system call and the poll that
 *    reports it are ordered by the kernel, so a receiver woken by it sees
 *    every message published before it.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Senders and the receiver write different fields: each group on a cache
 * line of its own, so that one side's writes do not evict the other's. */
#define LINE 64

struct slot {
    atomic_size_t stamp;
    unsigned char msg[]; /* msg_size bytes */
};

struct cmio_channel {
    /* Set by cmio_channel_new, read by everyone. */
    const cmio__selector *sel;
    cmio__waker_sys *waker;
    void *block;            /* what malloc returned (this struct is aligned in it) */
    unsigned char *slots;   /* capacity slots of `stride` bytes */
    size_t capacity, msg_size, stride, one_lap;

    /* The senders': the next position to claim. */
    alignas(LINE) atomic_size_t tail;
    /* The receiver waits for a wake (set by a receive that found the queue
     * empty, cleared by the one party that takes the arm). */
    alignas(LINE) atomic_bool armed;
    /* The receiver's own: the next position to take, and whether its last
     * call armed and found the queue empty (its arm may still be set). */
    alignas(LINE) size_t head;
    bool waiting;
};

static inline struct slot *slot_of(const cmio_channel *c, size_t pos)
{
    return (struct slot *)(c->slots + (pos & (c->one_lap - 1)) * c->stride);
}

/* The position after pos: the next index of the lap, or index 0 of the next
 * lap (wrapping around SIZE_MAX with the lap, a power of two). */
static inline size_t next_pos(const cmio_channel *c, size_t pos)
{
    size_t index = pos & (c->one_lap - 1);
    return index + 1 < c->capacity ? pos + 1 : (pos & ~(c->one_lap - 1)) + c->one_lap;
}

int cmio_channel_new(cmio_registry *r, cmio_token token, size_t capacity, size_t msg_size,
                     cmio_channel **out)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    *out = NULL;
    CMIO__CHECK(r != NULL && capacity > 0 && msg_size > 0, -EINVAL);
    /* A slot: its stamp, then the message, rounded up to keep the next stamp
     * aligned. Every size below must fit in a size_t. */
    size_t align = alignof(struct slot);
    CMIO__CHECK(msg_size <= SIZE_MAX - sizeof(struct slot) - align, -EINVAL);
    size_t stride = (sizeof(struct slot) + msg_size + align - 1) / align * align;
    CMIO__CHECK(capacity <= (SIZE_MAX - sizeof(cmio_channel) - 2 * LINE) / stride, -EINVAL);
    size_t bytes = sizeof(cmio_channel) + LINE + capacity * stride;
    /* The stride is at least 16 bytes, so capacity < SIZE_MAX / 16 and
     * one_lap below fits, with laps to spare. */
    size_t one_lap = 1;
    while (one_lap <= capacity)
        one_lap <<= 1;

    /* One allocation: the channel aligned to a cache line, then the slots. */
    void *block = malloc(bytes);
    if (!block)
        return -ENOMEM;
    cmio_channel *c = (cmio_channel *)(((uintptr_t)block + LINE - 1) & ~(uintptr_t)(LINE - 1));
    memset(c, 0, sizeof(*c));
    c->block = block;
    c->slots = (unsigned char *)(c + 1);
    c->capacity = capacity;
    c->msg_size = msg_size;
    c->stride = stride;
    c->one_lap = one_lap;
    for (size_t i = 0; i < capacity; i++)
        atomic_init(&slot_of(c, i)->stamp, i);
    atomic_init(&c->tail, 0);
    /* Empty, and nobody has been woken yet: the first message wakes. */
    atomic_init(&c->armed, true);
    c->head = 0;
    c->waiting = true;

    int err = r->sel->waker_open(r->sys, token, &c->waker);
    if (err < 0) {
        free(block);
        return err;
    }
    c->sel = r->sel;
    *out = c;
    return 0;
}

int cmio_channel_send(cmio_channel *c, const void *msg)
{
    CMIO__CHECK(c != NULL && msg != NULL, -EINVAL);
    size_t pos = atomic_load_explicit(&c->tail, memory_order_relaxed);
    for (;;) {
        struct slot *s = slot_of(c, pos);
        size_t stamp = atomic_load_explicit(&s->stamp, memory_order_acquire);
        if (stamp == pos) {
            /* Free for pos: claim it (a failed attempt reloads pos). */
            if (atomic_compare_exchange_weak_explicit(&c->tail, &pos, next_pos(c, pos), memory_order_relaxed,
                                                      memory_order_relaxed)) {
                memcpy(s->msg, msg, c->msg_size);
                /* Publish: release for the bytes, seq_cst against the
                 * receiver's arm (the file's comment). */
                atomic_store_explicit(&s->stamp, pos + 1, memory_order_seq_cst);
                break;
            }
        } else if ((ptrdiff_t)(stamp - pos) < 0) {
            /* The slot still holds (or is still being given) the message
             * of the previous lap: full, unless pos is stale. */
            size_t now = atomic_load_explicit(&c->tail, memory_order_relaxed);
            if (now == pos)
                return -EAGAIN;
            pos = now;
        } else {
            /* Another sender took pos: look again. */
            pos = atomic_load_explicit(&c->tail, memory_order_relaxed);
        }
    }
    /* The receiver waits: the first sender to take its arm wakes it. The
     * load keeps the senders of a burst off the exchange. */
    if (atomic_load_explicit(&c->armed, memory_order_seq_cst) &&
        atomic_exchange_explicit(&c->armed, false, memory_order_relaxed))
        return c->sel->waker_wake(c->waker);
    return 0;
}

/* Take the message at head, if it was published; `order` is the stamp
 * load's (seq_cst for the look after arming). */
static inline bool take(cmio_channel *c, void *msg, memory_order order)
{
    size_t pos = c->head;
    struct slot *s = slot_of(c, pos);
    if (atomic_load_explicit(&s->stamp, order) != pos + 1)
        return false;
    memcpy(msg, s->msg, c->msg_size);
    atomic_store_explicit(&s->stamp, pos + c->one_lap, memory_order_release);
    c->head = next_pos(c, pos);
    return true;
}

/* The receiver has a message while an arm of its own may still be set:
 * take it back, so that the senders behind this message do not wake a
 * receiver that is draining anyway. */
static inline void disarm(cmio_channel *c)
{
    if (atomic_load_explicit(&c->armed, memory_order_relaxed))
        atomic_exchange_explicit(&c->armed, false, memory_order_relaxed);
}

int cmio_channel_recv(cmio_channel *c, void *msg)
{
    CMIO__CHECK(c != NULL && msg != NULL, -EINVAL);
    if (take(c, msg, memory_order_acquire)) {
        if (c->waiting) {
            c->waiting = false;
            disarm(c);
        }
        return 0;
    }
    /* Arm at every -EAGAIN, also when an earlier one did: that arm may have
     * been taken meanwhile by the sender of a later position, whose wake
     * brought the receiver here while the sender of this position has not
     * published yet; it will see this arm. An arm still in place serves
     * as well (a seq_cst load that sees it orders like the store), and
     * leaves the senders' copy of the line alone. */
    if (!atomic_load_explicit(&c->armed, memory_order_seq_cst))
        atomic_store_explicit(&c->armed, true, memory_order_seq_cst);
    /* A sender may have published between the first look and the arm
     * without seeing it: look again (the file's comment). */
    if (take(c, msg, memory_order_seq_cst)) {
        c->waiting = false;
        disarm(c);
        return 0;
    }
    c->waiting = true;
    return -EAGAIN;
}

void cmio_channel_free(cmio_channel *c)
{
    if (!c)
        return;
    c->sel->waker_close(c->waker);
    free(c->block);
}
