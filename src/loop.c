/*
 * cmio_loop: mio 0.3's EventLoop, a thin callback driver over a poll.
 *
 * The loop owns a poll (cmio_poll_new: the default backend, or
 * CMIO_BACKEND), an events buffer and one waker. Each iteration is one
 * poll and one callback per event; nothing is allocated after
 * cmio_loop_new and the loop itself makes no system call but the poll's.
 *
 * Shutdown (design.md §12): `stop` is the request, `in_poll` says the loop
 * thread may be blocked in its poll. The loop stores in_poll, then loads
 * stop; cmio_loop_shutdown stores stop, then loads in_poll; both sequentially
 * consistent, so at least one of them sees the other's store (Dekker): either
 * the loop sees the request before it blocks, or the shutdown sees the loop
 * in its poll and wakes it. A shutdown from a callback finds in_poll clear
 * and makes no system call.
 *
 * The waker's token is the loop's own address, which no user token can
 * equal unless the user passes that very pointer; its events are never
 * handed to the callback.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

struct cmio_loop {
    cmio_poll *poll;
    cmio_events *events;
    cmio_waker *waker;
    cmio_loop_ready_fn ready;
    void *ctx;
    atomic_bool stop;    /* a shutdown was asked and not yet consumed by a run */
    atomic_bool in_poll; /* the loop thread is in (or entering) its poll */
};

static cmio_token wake_token(const cmio_loop *loop) { return (cmio_token)(uintptr_t)loop; }

int cmio_loop_new(cmio_loop **out, size_t events_capacity, cmio_loop_ready_fn ready, void *ctx)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    *out = NULL;
    CMIO__CHECK(events_capacity > 0 && ready != NULL, -EINVAL);
    cmio_loop *loop = calloc(1, sizeof(*loop));
    if (!loop)
        return -ENOMEM;
    int err = cmio_poll_new(&loop->poll);
    if (err < 0)
        goto fail;
    err = cmio_events_new(&loop->events, events_capacity);
    if (err < 0)
        goto fail;
    err = cmio_waker_new(cmio_poll_registry(loop->poll), wake_token(loop), &loop->waker);
    if (err < 0)
        goto fail;
    loop->ready = ready;
    loop->ctx = ctx;
    atomic_init(&loop->stop, false);
    atomic_init(&loop->in_poll, false);
    *out = loop;
    return 0;
fail:
    cmio_loop_free(loop);
    return err;
}

cmio_registry *cmio_loop_registry(cmio_loop *loop) { return loop ? cmio_poll_registry(loop->poll) : NULL; }

/* One poll and its callbacks; the caller has set in_poll, so that a
 * shutdown from another thread wakes the poll. The callbacks run with
 * in_poll clear: a shutdown from one of them makes no system call. */
static int iterate(cmio_loop *loop, int timeout_ms)
{
    int n = cmio_poll_poll(loop->poll, loop->events, timeout_ms);
    atomic_store_explicit(&loop->in_poll, false, memory_order_relaxed);
    if (n <= 0)
        return n;
    int handed = 0;
    const cmio_token internal = wake_token(loop);
    for (const cmio_event *e = cmio_events_begin(loop->events), *end = cmio_events_end(loop->events); e != end;
         e++) {
        if (cmio_event_token(e) == internal)
            continue; /* the shutdown's wake: nothing to drain (wakes coalesce) */
        loop->ready(loop, e, loop->ctx);
        handed++;
    }
    return handed;
}

int cmio_loop_run_once(cmio_loop *loop, int timeout_ms)
{
    CMIO__CHECK(loop != NULL, -EINVAL);
    atomic_store(&loop->in_poll, true);
    return iterate(loop, timeout_ms);
}

int cmio_loop_run(cmio_loop *loop)
{
    CMIO__CHECK(loop != NULL, -EINVAL);
    for (;;) {
        /* in_poll before the look at stop: see the top of the file. */
        atomic_store(&loop->in_poll, true);
        if (atomic_load(&loop->stop)) {
            atomic_store_explicit(&loop->in_poll, false, memory_order_relaxed);
            atomic_store(&loop->stop, false); /* consumed: a later run runs again */
            return 0;
        }
        int n = iterate(loop, -1);
        if (n < 0 && n != -EINTR)
            return n;
    }
}

int cmio_loop_shutdown(cmio_loop *loop)
{
    CMIO__CHECK(loop != NULL, -EINVAL);
    atomic_store(&loop->stop, true);
    if (!atomic_load(&loop->in_poll))
        return 0;
    return cmio_waker_wake(loop->waker);
}

void cmio_loop_free(cmio_loop *loop)
{
    if (!loop)
        return;
    cmio_waker_free(loop->waker);
    cmio_events_free(loop->events);
    cmio_poll_free(loop->poll);
    free(loop);
}
