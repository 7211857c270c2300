/*
 * Writing the OS's event record (include/cmio.h: struct epoll_event on
 * Linux, struct kevent on the BSDs and macOS, cmio's {token, AFD bits} on
 * Windows, cmio's {token, flags} elsewhere) for a backend whose kernel does not write it itself: the
 * poll(2) backend everywhere, and kqueue over libkqueue on Linux. The
 * record says what the backend found, as CMIO_EVENT_* bits, so that the
 * header's accessors (mio's rules) decode at least those bits:
 *  - epoll: each bit becomes its EPOLL* bit; read-closed alone is EPOLLIN |
 *    EPOLLRDHUP and write-closed alone EPOLLOUT | EPOLLERR (mio's reading),
 *    so such an event is also readable (writable): what epoll itself says
 *    of an end of stream. Both closed is EPOLLHUP. One record per event.
 *  - kevent: a record carries one filter, so readiness in both directions
 *    takes two records (read, then write), as kqueue reports it.
 *  - AFD (Windows): the AFD_POLL_* bits mio's reading decodes as them.
 *  - cmio's record: the bits as they are.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CMIO_SYS_RECORD_H
#define CMIO_SYS_RECORD_H

#include "cmio.h"

#include <assert.h>

#if defined(CMIO_EVENT_RECORD_EPOLL)

/* Records one event takes. */
static inline size_t cmio__records(uint32_t flags)
{
    (void)flags;
    return 1;
}

/* Write the record(s) of one event at out (room for cmio__records(flags));
 * returns how many. */
static inline size_t cmio__record_put(cmio_event *out, cmio_token token, uint32_t flags)
{
    uint32_t b = 0;
    if (flags & CMIO_EVENT_READABLE)
        b |= EPOLLIN;
    if (flags & CMIO_EVENT_PRIORITY)
        b |= EPOLLPRI;
    if (flags & CMIO_EVENT_WRITABLE)
        b |= EPOLLOUT;
    if (flags & CMIO_EVENT_ERROR)
        b |= EPOLLERR;
    bool rc = (flags & CMIO_EVENT_READ_CLOSED) != 0, wc = (flags & CMIO_EVENT_WRITE_CLOSED) != 0;
    if (rc && wc)
        b |= EPOLLHUP;
    else if (rc)
        b |= EPOLLIN | EPOLLRDHUP;
    else if (wc)
        b |= EPOLLOUT | EPOLLERR;
    out->ev.events = b;
    out->ev.data.u64 = (uint64_t)token;
    assert((cmio_event_flags(out) & flags) == flags);
    return 1;
}

#elif defined(CMIO_EVENT_RECORD_KEVENT)

/* A token as kevent's udata (an intptr_t before NetBSD 10, else a pointer). */
#ifdef __NetBSD__
#include <sys/param.h>
#endif
#if defined(__NetBSD__) && __NetBSD_Version__ < 1000000000
#define CMIO__UDATA(token) ((intptr_t)(token))
#else
#define CMIO__UDATA(token) ((void *)(token))
#endif

static inline size_t cmio__records(uint32_t flags)
{
    bool rd = (flags & (CMIO_EVENT_READABLE | CMIO_EVENT_PRIORITY | CMIO_EVENT_READ_CLOSED)) != 0;
    bool wr = (flags & (CMIO_EVENT_WRITABLE | CMIO_EVENT_WRITE_CLOSED)) != 0;
    return rd && wr ? 2 : 1;
}

static inline size_t cmio__record_put(cmio_event *out, cmio_token token, uint32_t flags)
{
    bool rd = (flags & (CMIO_EVENT_READABLE | CMIO_EVENT_PRIORITY | CMIO_EVENT_READ_CLOSED)) != 0;
    bool wr = (flags & (CMIO_EVENT_WRITABLE | CMIO_EVENT_WRITE_CLOSED)) != 0;
    /* An error alone rides on a read record (EV_ERROR). */
    if (!rd && !wr)
        rd = true;
    size_t n = 0;
    unsigned short err = (flags & CMIO_EVENT_ERROR) ? EV_ERROR : 0;
    if (rd) {
        EV_SET(&out[n].kev, 0, EVFILT_READ, (flags & CMIO_EVENT_READ_CLOSED ? EV_EOF : 0) | err, 0, 0,
               CMIO__UDATA(token));
        n++;
    }
    if (wr) {
        EV_SET(&out[n].kev, 0, EVFILT_WRITE, (flags & CMIO_EVENT_WRITE_CLOSED ? EV_EOF : 0) | err, 0, 0,
               CMIO__UDATA(token));
        n++;
    }
    return n;
}

#elif defined(CMIO_EVENT_RECORD_AFD)

/* Windows: the AFD_POLL_* bits that mio's reading (the header's accessors)
 * decodes as each CMIO_EVENT_* bit at least: a write side closed becomes
 * an abort, which also reads as readable, writable and read-closed, as an
 * abort does; an error becomes a failed connect (all of them). */
static inline size_t cmio__records(uint32_t flags)
{
    (void)flags;
    return 1;
}

static inline size_t cmio__record_put(cmio_event *out, cmio_token token, uint32_t flags)
{
    uint32_t b = 0;
    if (flags & CMIO_EVENT_READABLE)
        b |= CMIO__AFD_POLL_RECEIVE;
    if (flags & CMIO_EVENT_WRITABLE)
        b |= CMIO__AFD_POLL_SEND;
    if (flags & CMIO_EVENT_PRIORITY)
        b |= CMIO__AFD_POLL_RECEIVE_EXPEDITED;
    if (flags & CMIO_EVENT_READ_CLOSED)
        b |= CMIO__AFD_POLL_DISCONNECT;
    if (flags & CMIO_EVENT_WRITE_CLOSED)
        b |= CMIO__AFD_POLL_ABORT;
    if (flags & CMIO_EVENT_ERROR)
        b |= CMIO__AFD_POLL_CONNECT_FAIL;
    out->token = token;
    out->flags = b;
    assert((cmio_event_flags(out) & flags) == flags);
    return 1;
}

#else

static inline size_t cmio__records(uint32_t flags)
{
    (void)flags;
    return 1;
}

static inline size_t cmio__record_put(cmio_event *out, cmio_token token, uint32_t flags)
{
    out->token = token;
    out->flags = flags;
    return 1;
}

#endif

#endif /* CMIO_SYS_RECORD_H */
