/*
 * cmio: readiness-based, non-blocking I/O for C11, in the shape of Rust's mio.
 *
 * A cmio_poll owns the operating system's selector. Its cmio_registry
 * registers file descriptors with a cmio_token and a cmio_interest;
 * cmio_poll_poll() fills a cmio_events buffer with the readiness that
 * occurred; a cmio_waker wakes a blocked poll from another thread.
 *
 * Conventions (see docs/porting-from-mio.md for the mapping from mio):
 *  - Every function that can fail returns a negative errno value on failure
 *    and a value >= 0 on success. errno is never the error channel. "Would
 *    block" is always -EAGAIN.
 *  - Socket I/O (read, write, recv, send, accept, ...) makes one system
 *    call; a pipe write makes three (SIGPIPE is blocked around it, see
 *    cmio_pipe_sender_write()), a pipe read one. The result is passed on:
 *    -EINTR (mio's ErrorKind::Interrupted) is returned, not retried. On a non-blocking descriptor the kernel
 * does not sleep, so it is not seen in practice; loop on it as on any transient error.
 *  - Opaque objects are made by cmio_X_new() and released by cmio_X_free(),
 *    which accepts NULL.
 *  - Events are edge-triggered: an event says a descriptor became ready.
 *    Read or write until -EAGAIN before waiting for the next event.
 *    CMIO_LEVEL and CMIO_ONESHOT registrations are the exceptions they say.
 *
 * Backends. A poll runs over one selector backend: "epoll" (Linux, the
 * default there), "kqueue" (FreeBSD, NetBSD, OpenBSD, DragonFly, macOS, the
 * default there) or "poll" (poll(2), any POSIX system, the default where
 * there is neither). cmio_backends() lists those built in; the environment
 * variable CMIO_BACKEND picks one for cmio_poll_new().
 *
 * The poll(2) backend emulates edge triggering as mio's does: an interest
 * that was reported is disarmed until a cmio I/O call on the descriptor
 * (read, write, recv, send, accept, ... of the types below) returns
 * -EAGAIN, or until the descriptor is reregistered. The one difference
 * from the other backends: a descriptor registered directly and read or
 * written with raw system calls must be re-armed with
 * cmio_registry_reregister() after its -EAGAIN. A hang-up or error is
 * reported once per occurrence (in edge mode: a CMIO_LEVEL registration
 * reports them at every poll while they hold), with two exceptions, since poll(2) reports
 * both at every call for as long as they hold: an error that was reported
 * and not yet taken (by the socket's take_error, or by a failed read, write, send, receive, peek or accept
 * through cmio, which returns it) holds the descriptor's other readiness back until it is; and after a
 * hang-up is reported, an error that comes later (a reset after the peer's shutdown) is not reported by
 * itself: the next failed call returns it. It keeps its registrations in a table that starts with room for 64
 * descriptors and doubles when a registration does not fit: the only allocation after set-up.
 *
 * The "iocp" backend (Windows, the only one there) polls sockets with AFD
 * poll through an I/O completion port and emulates edges as the poll(2)
 * backend does (same re-arm rule). Where it differs from the others, as
 * AFD reports things (mio's reading): a connection reset is a hang-up
 * (read-closed and write-closed), not an error (only a failed connect is
 * cmio_event_is_error; the next read returns the reset); a peer's graceful
 * close is reported to registrations with CMIO_READABLE only; a peer's
 * shutdown with data unread may be reported only after the data is read;
 * the socket's own shutdown (cmio_*_shutdown) is not reported at all (a
 * read returns the end, 0, as after a shutdown everywhere); an error is
 * reported once per registration (a connected UDP socket's next ICMP
 * error is what take_error or the next call returns, and an event again
 * after a reregister); registering allocates the socket's state (one allocation per register,
 * freed after deregister; the socket map grows with the registrations),
 * nothing else does; no poll is interrupted by a signal (no -EINTR); only
 * sockets can be registered with cmio_registry_register (named pipes have
 * their own, cmio_named_pipe_register); there is no CMIO_PRIORITY and no
 * cmio_poll_fd (-ENOTSUP).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CMIO_H
#define CMIO_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#if defined(__has_include)
#if __has_include(<afunix.h>)
#include <afunix.h>
#define CMIO_HAVE_AFUNIX_H 1
#endif
#endif
#else
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#endif
#if defined(__linux__)
#include <sys/epoll.h>
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__) ||           \
    defined(__DragonFly__)
#include <sys/event.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CMIO_BUILDING) && (defined(__GNUC__) || defined(__clang__))
#define CMIO_API __attribute__((visibility("default")))
#else
#define CMIO_API
#endif

/** Library version, as numbers and as text: the version of this header,
 *  which cmio_version() compares with the library's at run time. The build
 *  stops when CMIO_VERSION_STRING is not the project's version. */
#define CMIO_VERSION_MAJOR 0
#define CMIO_VERSION_MINOR 2
#define CMIO_VERSION_PATCH 0
#define CMIO_VERSION_STRING "0.2.0"
/** The version as one number, 0xMMmmpp (major, minor, patch: a byte each;
 *  0x000200 is 0.2.0), ordered as the versions are: for `#if
 *  CMIO_VERSION_NUMBER >= CMIO_VERSION_AT(0, 2, 0)`. */
#define CMIO_VERSION_AT(major, minor, patch) (((major) << 16) | ((minor) << 8) | (patch))
#define CMIO_VERSION_NUMBER CMIO_VERSION_AT(CMIO_VERSION_MAJOR, CMIO_VERSION_MINOR, CMIO_VERSION_PATCH)

/* ------------------------------------------------------------------------ */
/* Descriptors                                                              */
/* ------------------------------------------------------------------------ */

/**
 * A descriptor as cmio registers, reads and writes it (mio's RawFd on Unix,
 * RawSocket on Windows): an `int` file descriptor on POSIX systems, a
 * Winsock `SOCKET` on Windows. Every public signature and socket struct
 * that holds a descriptor uses it; on POSIX systems it is `int`, so programs
 * written for `int` compile unchanged. CMIO_FD_INVALID is the value of no
 * descriptor (-1; INVALID_SOCKET on Windows), which a closed socket struct
 * holds. On Windows `SOCKET` is unsigned: test a descriptor against
 * CMIO_FD_INVALID, never with `< 0`.
 */
#if defined(_WIN32)
typedef SOCKET cmio_fd;
#define CMIO_FD_INVALID INVALID_SOCKET
/** struct iovec, which Windows lacks: cmio defines it there, with the POSIX
 *  members (the buffer and its length), for the readv/writev calls. */
struct iovec {
    void *iov_base;
    size_t iov_len;
};
#else
typedef int cmio_fd;
#define CMIO_FD_INVALID (-1)
#endif

/* ------------------------------------------------------------------------ */
/* Tokens, interests and events                                             */
/* ------------------------------------------------------------------------ */

/** mio::Token: an opaque value given back with each event. A pointer fits. */
typedef uintptr_t cmio_token;

/** mio::Interest: the readiness a registration asks for (never none), and
 *  its mode (CMIO_LEVEL, CMIO_ONESHOT; mio 0.3's PollOpt). */
typedef uint8_t cmio_interest;

#define CMIO_READABLE ((cmio_interest)0x01) /**< read readiness */
#define CMIO_WRITABLE ((cmio_interest)0x02) /**< write readiness */
/** Priority (out-of-band) readiness, where the backend has it (epoll's
 *  EPOLLPRI, poll's POLLPRI; not kqueue). Registering it on a backend without
 *  it returns -ENOTSUP. */
#define CMIO_PRIORITY ((cmio_interest)0x04)
/** Registration mode (mio 0.3's PollOpt::level()), OR-ed into the interest
 *  with at least one of the readiness bits above: level-triggered, the
 *  descriptor is reported at every poll for as long as the readiness holds
 *  (unread data, room to write, a hang-up, a pending error), with no need
 *  to read or write until -EAGAIN. Without CMIO_LEVEL or CMIO_ONESHOT a
 *  registration is edge-triggered. On every backend (epoll: no EPOLLET;
 *  kqueue: no EV_CLEAR; poll(2): nothing reported is disarmed). See
 *  "Registration modes" in docs/guide.md. */
#define CMIO_LEVEL ((cmio_interest)0x08)
/** Registration mode (mio 0.3's PollOpt::oneshot()), OR-ed into the
 *  interest with at least one of the readiness bits above: the registration
 *  is reported by one poll, then disarmed as a whole (every direction) until
 *  cmio_registry_reregister() arms it again; the reregistration reports
 *  readiness that already holds. With both directions registered, the one
 *  poll that reports it may carry both (one record, or two on the BSDs,
 *  whose record holds one direction); no later poll reports it. A
 *  reregistration made while another thread's poll is blocked may let one
 *  event already on its way through as well. Disarmed means silent: no
 *  hang-up or error is reported either, and the poll(2) backend's re-arm by
 *  cmio I/O calls does not re-arm it. Combines with CMIO_LEVEL (the same
 *  once a report is made). On every backend (epoll: EPOLLONESHOT; kqueue:
 *  EV_DISPATCH, re-enabled by the reregistration). */
#define CMIO_ONESHOT ((cmio_interest)0x10)

/* The kinds of readiness an event can report, as bits: what
 * cmio_event_flags() returns, one bit per cmio_event_is_* function. */
#define CMIO_EVENT_READABLE 0x01u     /**< the descriptor became readable */
#define CMIO_EVENT_WRITABLE 0x02u     /**< the descriptor became writable */
#define CMIO_EVENT_ERROR 0x04u        /**< a pending error (take_error) */
#define CMIO_EVENT_READ_CLOSED 0x08u  /**< peer closed its write side or gone */
#define CMIO_EVENT_WRITE_CLOSED 0x10u /**< writing can no longer succeed */
#define CMIO_EVENT_PRIORITY 0x20u     /**< priority data is readable */

/**
 * One readiness event (mio::event::Event). The record is the operating
 * system's own, as mio's is, so that the kernel writes the caller's events
 * buffer directly: on Linux and Android it has the layout of struct
 * epoll_event, on the BSDs and macOS that of struct kevent, on Windows
 * cmio's {token, AFD_POLL_* bits} (the bits an AFD poll completed with, as
 * mio's Windows event holds them), elsewhere cmio's own {token, flags}. Every backend built for one OS writes that OS's
 * layout (the poll(2) backend on Linux writes epoll records). The layout is
 * not portable and not for reading: the cmio_event_* accessors below are the
 * API; they decode the record with mio's rules. CMIO_EVENT_RECORD_EPOLL,
 * CMIO_EVENT_RECORD_KEVENT, CMIO_EVENT_RECORD_AFD or CMIO_EVENT_RECORD_CMIO says which layout this
 * build has. A plain struct: copy it freely.
 */
#if defined(__linux__)
#define CMIO_EVENT_RECORD_EPOLL 1
typedef struct cmio_event {
    struct epoll_event ev;
} cmio_event;
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__) ||           \
    defined(__DragonFly__)
#define CMIO_EVENT_RECORD_KEVENT 1
typedef struct cmio_event {
    struct kevent kev;
} cmio_event;
#elif defined(_WIN32)
#define CMIO_EVENT_RECORD_AFD 1
/* Not API: the AFD_POLL_* bits of IOCTL_AFD_POLL, as the Windows
 * backend's record holds them (the accessors decode them). */
#define CMIO__AFD_POLL_RECEIVE 0x0001u
#define CMIO__AFD_POLL_RECEIVE_EXPEDITED 0x0002u
#define CMIO__AFD_POLL_SEND 0x0004u
#define CMIO__AFD_POLL_DISCONNECT 0x0008u
#define CMIO__AFD_POLL_ABORT 0x0010u
#define CMIO__AFD_POLL_LOCAL_CLOSE 0x0020u
#define CMIO__AFD_POLL_CONNECT 0x0040u
#define CMIO__AFD_POLL_ACCEPT 0x0080u
#define CMIO__AFD_POLL_CONNECT_FAIL 0x0100u
typedef struct cmio_event {
    cmio_token token;
    uint32_t flags; /* CMIO__AFD_POLL_* bits, as the poll completed them */
} cmio_event;
#else
#define CMIO_EVENT_RECORD_CMIO 1
typedef struct cmio_event {
    cmio_token token;
    uint32_t flags; /* CMIO_EVENT_* bits */
} cmio_event;
#endif

typedef struct cmio_poll cmio_poll;
typedef struct cmio_registry cmio_registry;
typedef struct cmio_events cmio_events;
typedef struct cmio_waker cmio_waker;

/**
 * The events buffer (mio::Events), made by cmio_events_new() and filled by
 * cmio_poll_poll(). Its fields are documented so that the per-event
 * accessors below can be inlined; treat them as read-only and use the
 * functions. `items` holds `len` events (the kernel writes them there);
 * `capacity` is exactly the capacity given to cmio_events_new(); `scratch`
 * is NULL unless a backend built in gets records of another layout than
 * this OS's (kqueue over libkqueue on Linux), which it then translates.
 */
struct cmio_events {
    cmio_event *items;
    size_t len;
    size_t capacity;
    void *scratch;
};

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/**
 * A message for an error as cmio returns it. A negative errno value is the
 * usual argument; a positive one is accepted too. Never returns NULL; the
 * text must not be freed. It is static on glibc 2.32 and later (its table
 * of descriptions); elsewhere it is kept in a buffer of the calling
 * thread's, valid until that thread's next call.
 * Errors: none (it cannot fail). Thread-safe.
 */
CMIO_API const char *cmio_strerror(int err);

/* ------------------------------------------------------------------------ */
/* Poll                                                                     */
/* ------------------------------------------------------------------------ */

/**
 * Create a poll over the default backend of this OS (the first of
 * cmio_backends(): epoll on Linux, kqueue on the BSDs and macOS, poll
 * elsewhere), or over the backend named by the environment variable
 * CMIO_BACKEND when it is set and not empty (one of cmio_backends()).
 * The selector descriptor is close-on-exec.
 *
 * Errors: -EINVAL if out is NULL; -ENOTSUP if CMIO_BACKEND names a backend
 * that is not built in; -ENOMEM; -EMFILE/-ENFILE when descriptors run out;
 * any error of the backend's selector creation (epoll_create1, kqueue;
 * the poll(2) backend's eventfd or pipe). Thread-safe.
 */
CMIO_API int cmio_poll_new(cmio_poll **out);

/**
 * Create a poll over the named backend: "epoll", "kqueue" or "poll" (see
 * Backends above), whichever are built in.
 *
 * Errors: -EINVAL if out or name is NULL; -ENOTSUP if no backend of that
 * name is built in; otherwise as cmio_poll_new(). Thread-safe.
 */
CMIO_API int cmio_poll_new_with_backend(cmio_poll **out, const char *name);

/**
 * The name of the poll's backend ("epoll", ...), or NULL if poll is NULL.
 * The string is static. Errors: none. Thread-safe.
 */
CMIO_API const char *cmio_poll_backend(const cmio_poll *poll);

/**
 * The NULL-terminated list of the backends built into this library, the
 * default of this OS first. The array is static. Errors: none. Thread-safe.
 */
CMIO_API const char *const *cmio_backends(void);

/**
 * Release a poll, its registry and its selector. Accepts NULL. Clones of the
 * registry (cmio_registry_try_clone) and wakers stay valid objects but must
 * be freed by their owners; free them before the poll when they may still be
 * used. Errors: none. Not to be called while another thread is inside
 * cmio_poll_poll() or uses the poll's registry.
 */
CMIO_API void cmio_poll_free(cmio_poll *poll);

/**
 * The poll's own registry (mio's Poll::registry). Owned by the poll: valid
 * until cmio_poll_free(); cmio_registry_free() on it does nothing. Returns
 * NULL if poll is NULL. Errors: none. Thread-safe.
 */
CMIO_API cmio_registry *cmio_poll_registry(cmio_poll *poll);

/**
 * Wait for readiness events and store them in `events` (cleared first).
 *
 * timeout_ms: a negative value waits until an event arrives; 0 looks once
 * and returns at once; a positive value waits at most that many
 * milliseconds and never returns earlier for lack of events.
 *
 * Returns the number of events stored (0 on timeout), never more than
 * cmio_events_capacity(events); readiness that did not fit is delivered by
 * the next call.
 *
 * Errors: -EINVAL if poll or events is NULL; -EINTR if a signal interrupted
 * the wait (the events buffer is then empty); other errors of the selector
 * (epoll_wait, kevent, poll).
 *
 * Thread-safety: one thread at a time may poll a given poll. Registrations
 * through any registry of the poll may go on meanwhile from other threads.
 * Allocates nothing.
 *
 * Inline: on Linux, a poll over epoll with a timeout of 0 or less is the
 * argument check and one epoll_wait(2) into the caller's buffer (mio's
 * Poll::poll is as short); everything else goes to cmio__poll(), the
 * out-of-line part (not for direct use).
 */
static inline int cmio_poll_poll(cmio_poll *poll, cmio_events *events, int timeout_ms);
/** Not API: the out-of-line part of cmio_poll_poll(), with its contract. */
CMIO_API int cmio__poll(cmio_poll *poll, cmio_events *events, int timeout_ms);

/* Not API: what the inline cmio_poll_poll() reads of a poll, its first
 * member: the epoll descriptor when the poll's backend is epoll and no
 * timer was made on it, else -1. Written by another thread when that
 * thread makes the poll's first timer, hence the relaxed load (a plain
 * load on every machine cmio runs on). */
#if defined(__GNUC__) || defined(__clang__)
#define CMIO__LOAD_RELAXED(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)
#else
#define CMIO__LOAD_RELAXED(field) (field)
#endif
struct cmio__poll_head {
    int epoll_fd;
};

static inline int cmio_poll_poll(cmio_poll *poll, cmio_events *events, int timeout_ms)
{
#if defined(CMIO_EVENT_RECORD_EPOLL)
    if (poll != 0 && events != 0 && timeout_ms <= 0) {
        int fd = CMIO__LOAD_RELAXED(((const struct cmio__poll_head *)(const void *)poll)->epoll_fd);
        if (fd >= 0) {
            int n = epoll_wait(fd, &events->items->ev, (int)events->capacity, timeout_ms < 0 ? -1 : 0);
            if (n >= 0) {
                events->len = (size_t)n;
                return n;
            }
            events->len = 0;
            return -errno;
        }
    }
#endif
    return cmio__poll(poll, events, timeout_ms);
}

/* ------------------------------------------------------------------------ */
/* Registry                                                                 */
/* ------------------------------------------------------------------------ */

/**
 * Register `fd` for the readiness in `interest`, to be reported with
 * `token`. Edge-triggered: after an event, read or write until -EAGAIN;
 * readiness that arrives after the -EAGAIN gives a new event. A closed or
 * errored descriptor is reported whatever the interest. CMIO_LEVEL or
 * CMIO_ONESHOT in interest choose another mode (level-triggered; reported
 * once, then disarmed until reregistered).
 *
 * Errors: -EINVAL if r is NULL, interest asks for no readiness (0, or only
 * CMIO_LEVEL and CMIO_ONESHOT) or has unknown bits;
 * -EBADF if fd is CMIO_FD_INVALID (negative, on POSIX) or not an open descriptor; -EEXIST if fd is
 * already registered with this registry (or a clone of it); -ENOTSUP if
 * interest has CMIO_PRIORITY on a backend without it; -EPERM if the
 * descriptor cannot be polled (a regular file under epoll); -ENOMEM/-ENOSPC
 * when the kernel's limits are reached (or, on the poll(2) backend, when
 * its table cannot grow).
 *
 * Thread-safe: may be called from any thread, also while another thread is
 * blocked in cmio_poll_poll(); the registration takes effect at once (the
 * poll(2) backend wakes its poll thread internally to pick it up).
 * Allocates nothing, except that the poll(2) backend doubles its table when
 * a registration does not fit.
 */
CMIO_API int cmio_registry_register(cmio_registry *r, cmio_fd fd, cmio_token token, cmio_interest interest);

/**
 * Replace the token and interest of a registered descriptor. Readiness that
 * already holds under the new interest is reported again. On the poll(2)
 * backend this also re-arms an interest that was reported (see Backends).
 * It re-arms a CMIO_ONESHOT registration that was reported, and may change
 * the mode (the interest's CMIO_LEVEL and CMIO_ONESHOT bits); on kqueue a
 * change of mode replaces the descriptor's knotes (delete, then add).
 *
 * Errors: -EINVAL as for register; -EBADF for an invalid fd; -ENOENT if fd
 * is not registered; -ENOTSUP as for register. Thread-safe; allocates
 * nothing.
 */
CMIO_API int cmio_registry_reregister(cmio_registry *r, cmio_fd fd, cmio_token token, cmio_interest interest);

/**
 * Stop reporting events for `fd`; readiness found for it and not yet
 * delivered is dropped. Deregister a descriptor before closing it: closing
 * a registered descriptor that was duplicated (dup, fork) can leave the
 * kernel reporting it. The poll(2) backend keeps a closed descriptor's
 * entry until the number is deregistered (which then returns -EBADF and
 * forgets it): while the number is unused the entry is left out of
 * poll(2), but a new descriptor that gets the same number is polled under
 * the old token and interest once a cmio call on it re-arms the entry, and
 * registering it is -EEXIST.
 *
 * Errors: -EINVAL if r is NULL; -EBADF for an invalid fd; -ENOENT if fd is
 * not registered. Thread-safe; allocates nothing.
 */
CMIO_API int cmio_registry_deregister(cmio_registry *r, cmio_fd fd);

/**
 * Make a new handle on the same registry, for use from another thread
 * (mio's Registry::try_clone). On epoll and kqueue it holds a close-on-exec
 * duplicate of the selector's descriptor; on poll(2), a reference on the
 * poll's shared table. Descriptors registered through any handle are
 * registered with all of them. Release it with cmio_registry_free().
 *
 * Errors: -EINVAL if r or out is NULL; -ENOMEM; -EMFILE/-ENFILE.
 * Thread-safe.
 */
CMIO_API int cmio_registry_try_clone(const cmio_registry *r, cmio_registry **out);

/**
 * Release a registry made by cmio_registry_try_clone(). Does nothing for
 * the poll's own registry and for NULL. Registrations stay in place.
 * Errors: none. Not to be called while another thread uses this handle
 * (other handles of the registry stay usable).
 */
CMIO_API void cmio_registry_free(cmio_registry *r);

/* ------------------------------------------------------------------------ */
/* Events                                                                   */
/* ------------------------------------------------------------------------ */

/**
 * Create an events buffer with room for exactly `capacity` events
 * (mio's Events::with_capacity). The only allocation of the events API.
 *
 * Errors: -EINVAL if out is NULL or capacity is 0 or too large to
 * allocate; -ENOMEM. Thread-safe.
 */
CMIO_API int cmio_events_new(cmio_events **out, size_t capacity);

/**
 * Release an events buffer. Accepts NULL.
 * Errors: none. Not to be called while a poll fills the buffer.
 */
CMIO_API void cmio_events_free(cmio_events *events);

/** The number of events the last poll stored (0 for NULL). Inline.
 *  Errors: none. Thread-safe: reads the buffer (not while a poll fills it). */
static inline size_t cmio_events_len(const cmio_events *events)
{
    return events ? events->len : 0;
}

/** The capacity given to cmio_events_new() (0 for NULL). Inline.
 *  Errors: none. Thread-safe: reads the buffer. */
static inline size_t cmio_events_capacity(const cmio_events *events)
{
    return events ? events->capacity : 0;
}

/**
 * The i-th event of the last poll, or NULL if events is NULL or i is not
 * below cmio_events_len(). Valid until the next poll or clear. Inline.
 * Errors: none. Thread-safe: reads the buffer (not while a poll fills it).
 */
static inline const cmio_event *cmio_events_get(const cmio_events *events, size_t i)
{
    return events && i < events->len ? &events->items[i] : (const cmio_event *)0;
}

/**
 * The first event of the last poll, and one past its last (mio's
 * Events::iter): the cheapest way through a buffer, since the end is read
 * once while cmio_events_len() and cmio_events_get() read the buffer again
 * after every call the loop makes:
 *
 *     const cmio_event *e = cmio_events_begin(events), *end = cmio_events_end(events);
 *     for (; e != end; e++) ... cmio_event_token(e) ...
 *
 * Both are NULL for NULL (an empty range). Valid until the next poll or
 * clear. Inline. Errors: none. Thread-safe: reads the buffer (not while a
 * poll fills it).
 */
static inline const cmio_event *cmio_events_begin(const cmio_events *events)
{
    return events ? events->items : (const cmio_event *)0;
}
/** One past the last event of the last poll; see cmio_events_begin().
 *  Inline. Errors: none. Thread-safe: reads the buffer (not while a poll fills it). */
static inline const cmio_event *cmio_events_end(const cmio_events *events)
{
    return events ? events->items + events->len : (const cmio_event *)0;
}

/** Empty the buffer (its capacity stays). Accepts NULL. Inline.
 *  Errors: none. Not thread-safe: it writes the buffer, so not while a poll
 *  fills it or another thread reads it. */
static inline void cmio_events_clear(cmio_events *events)
{
    if (events)
        events->len = 0;
}

/*
 * The accessors decode the OS's record with mio's rules (its
 * sys/unix/selector/epoll.rs and kqueue.rs). They read the event and
 * nothing else: thread-safe, no errors. `e` must point at an event (one
 * that cmio_events_get() returned, or a copy of it); unlike the functions
 * above they do not check for NULL, since they are the per-event path.
 */
#if defined(CMIO_EVENT_RECORD_EPOLL)

/** The token of the event's registration. Inline; e must not be NULL.
 *  Errors: none. Thread-safe: reads the event. */
static inline cmio_token cmio_event_token(const cmio_event *e)
{
    return (cmio_token)e->ev.data.u64;
}
/** The descriptor became readable (EPOLLIN or EPOLLPRI). Inline; e must not be NULL.
 *  Errors: none. Thread-safe: reads the event. */
static inline bool cmio_event_is_readable(const cmio_event *e)
{
    return (e->ev.events & (EPOLLIN | EPOLLPRI)) != 0;
}
/** The descriptor became writable (EPOLLOUT). Inline; e must not be NULL.
 *  Errors: none. Thread-safe: reads the event. */
static inline bool cmio_event_is_writable(const cmio_event *e)
{
    return (e->ev.events & EPOLLOUT) != 0;
}
/** The descriptor has a pending error (EPOLLERR); read it with take_error. Inline; e must not be NULL.
 *  Errors: none. Thread-safe: reads the event. */
static inline bool cmio_event_is_error(const cmio_event *e)
{
    return (e->ev.events & EPOLLERR) != 0;
}
/** The peer shut down its write side, or the connection is gone (EPOLLHUP,
 *  or EPOLLIN with EPOLLRDHUP). Inline; e must not be NULL. Errors: none. Thread-safe: reads the event. */
static inline bool cmio_event_is_read_closed(const cmio_event *e)
{
    uint32_t b = e->ev.events;
    return (b & EPOLLHUP) != 0 || ((b & EPOLLIN) != 0 && (b & EPOLLRDHUP) != 0);
}
/** Writing can no longer succeed (EPOLLHUP, EPOLLOUT with EPOLLERR, or
 *  EPOLLERR alone: a pipe whose reader is gone). Inline; e must not be NULL.
 *  Errors: none. Thread-safe: reads the event. */
static inline bool cmio_event_is_write_closed(const cmio_event *e)
{
    uint32_t b = e->ev.events;
    return (b & EPOLLHUP) != 0 || ((b & EPOLLOUT) != 0 && (b & EPOLLERR) != 0) || b == (uint32_t)EPOLLERR;
}
/** Priority (out-of-band) data is readable (EPOLLPRI). Inline; e must not be NULL.
 *  Errors: none. Thread-safe: reads the event. */
static inline bool cmio_event_is_priority(const cmio_event *e)
{
    return (e->ev.events & EPOLLPRI) != 0;
}

#elif defined(CMIO_EVENT_RECORD_KEVENT)

/** The token of the event's registration (udata). Inline; e must not be NULL.
 *  Errors: none. Thread-safe: reads the event. */
static inline cmio_token cmio_event_token(const cmio_event *e)
{
    return (cmio_token)e->kev.udata;
}
/** The descriptor became readable (a read filter, a waker's user filter, or a cmio_signals set's signal
 *  filter). Inline; e must not be NULL. Errors: none. Thread-safe: reads the event. */
static inline bool cmio_event_is_readable(const cmio_event *e)
{
    return e->kev.filter == EVFILT_READ || e->kev.filter == EVFILT_SIGNAL
#ifdef EVFILT_USER
           || e->kev.filter == EVFILT_USER
#endif
        ;
}
/** The descriptor became writable (a write filter). Inline; e must not be NULL.
 *  Errors: none. Thread-safe: reads the event. */
static inline bool cmio_event_is_writable(const cmio_event *e)
{
    return e->kev.filter == EVFILT_WRITE;
}
/** The descriptor has a pending error (EV_ERROR, or EV_EOF with a socket
 *  error in fflags). Inline; e must not be NULL. Errors: none. Thread-safe: reads the event. */
static inline bool cmio_event_is_error(const cmio_event *e)
{
    return (e->kev.flags & EV_ERROR) != 0 || ((e->kev.flags & EV_EOF) != 0 && e->kev.fflags != 0);
}
/** The peer shut down its write side, or the connection is gone (EV_EOF on
 *  the read filter). Inline; e must not be NULL. Errors: none. Thread-safe: reads the event. */
static inline bool cmio_event_is_read_closed(const cmio_event *e)
{
    return e->kev.filter == EVFILT_READ && (e->kev.flags & EV_EOF) != 0;
}
/** Writing can no longer succeed (EV_EOF on the write filter). Inline; e must not be NULL.
 *  Errors: none. Thread-safe: reads the event. */
static inline bool cmio_event_is_write_closed(const cmio_event *e)
{
    return e->kev.filter == EVFILT_WRITE && (e->kev.flags & EV_EOF) != 0;
}
/** Priority data: kqueue has no such filter (always false). Inline; e must not be NULL.
 *  Errors: none. Thread-safe: reads the event. */
static inline bool cmio_event_is_priority(const cmio_event *e)
{
    (void)e;
    return false;
}

#elif defined(CMIO_EVENT_RECORD_AFD)

/* Not API: mio's reading of the AFD bits (its src/sys/windows/event.rs): an abort
 * (the connection reset or gone) and a failed connect count as every kind
 * of readiness, so that the user's next call meets the error. */
#define CMIO__AFD_READABLE                                                                                     \
    (CMIO__AFD_POLL_RECEIVE | CMIO__AFD_POLL_DISCONNECT | CMIO__AFD_POLL_ACCEPT | CMIO__AFD_POLL_ABORT |        \
     CMIO__AFD_POLL_CONNECT_FAIL)
#define CMIO__AFD_WRITABLE (CMIO__AFD_POLL_SEND | CMIO__AFD_POLL_ABORT | CMIO__AFD_POLL_CONNECT_FAIL)
#define CMIO__AFD_READ_CLOSED (CMIO__AFD_POLL_DISCONNECT | CMIO__AFD_POLL_ABORT | CMIO__AFD_POLL_CONNECT_FAIL)
#define CMIO__AFD_WRITE_CLOSED (CMIO__AFD_POLL_ABORT | CMIO__AFD_POLL_CONNECT_FAIL)

/** The token of the event's registration. Inline; e must not be NULL.
 *  Errors: none. Thread-safe: reads the event. */
static inline cmio_token cmio_event_token(const cmio_event *e)
{
    return e->token;
}
/** The socket became readable: data, an accepted connection waiting, the
 *  peer's shutdown, a reset or a failed connect (AFD_POLL_RECEIVE,
 *  _ACCEPT, _DISCONNECT, _ABORT, _CONNECT_FAIL); a waker's, timer's or
 *  channel's event. Inline; e must not be NULL. Errors: none. Thread-safe:
 *  reads the event. */
static inline bool cmio_event_is_readable(const cmio_event *e)
{
    return (e->flags & CMIO__AFD_READABLE) != 0;
}
/** The socket became writable, was reset, or its connect failed
 *  (AFD_POLL_SEND, _ABORT, _CONNECT_FAIL). Inline; e must not be NULL.
 *  Errors: none. Thread-safe: reads the event. */
static inline bool cmio_event_is_writable(const cmio_event *e)
{
    return (e->flags & CMIO__AFD_WRITABLE) != 0;
}
/** The socket's connect failed (AFD_POLL_CONNECT_FAIL); read the error
 *  with take_error. A reset is read-closed and write-closed, not an error
 *  (mio's reading). Inline; e must not be NULL. Errors: none. Thread-safe:
 *  reads the event. */
static inline bool cmio_event_is_error(const cmio_event *e)
{
    return (e->flags & CMIO__AFD_POLL_CONNECT_FAIL) != 0;
}
/** The peer shut down its write side, or the connection is gone
 *  (AFD_POLL_DISCONNECT, _ABORT, _CONNECT_FAIL). Inline; e must not be
 *  NULL. Errors: none. Thread-safe: reads the event. */
static inline bool cmio_event_is_read_closed(const cmio_event *e)
{
    return (e->flags & CMIO__AFD_READ_CLOSED) != 0;
}
/** Writing can no longer succeed: the connection was reset or never made
 *  (AFD_POLL_ABORT, _CONNECT_FAIL). Inline; e must not be NULL. Errors:
 *  none. Thread-safe: reads the event. */
static inline bool cmio_event_is_write_closed(const cmio_event *e)
{
    return (e->flags & CMIO__AFD_WRITE_CLOSED) != 0;
}
/** Urgent data is readable (AFD_POLL_RECEIVE_EXPEDITED): never asked by
 *  the Windows backend, which has no CMIO_PRIORITY (false in practice).
 *  Inline; e must not be NULL. Errors: none. Thread-safe: reads the event. */
static inline bool cmio_event_is_priority(const cmio_event *e)
{
    return (e->flags & CMIO__AFD_POLL_RECEIVE_EXPEDITED) != 0;
}

#else /* cmio's own record */

/** The token of the event's registration. Inline; e must not be NULL.
 *  Errors: none. Thread-safe: reads the event. */
static inline cmio_token cmio_event_token(const cmio_event *e)
{
    return e->token;
}
/** The descriptor became readable. Inline; e must not be NULL. Errors: none. Thread-safe: reads the event. */
static inline bool cmio_event_is_readable(const cmio_event *e)
{
    return (e->flags & CMIO_EVENT_READABLE) != 0;
}
/** The descriptor became writable. Inline; e must not be NULL. Errors: none. Thread-safe: reads the event. */
static inline bool cmio_event_is_writable(const cmio_event *e)
{
    return (e->flags & CMIO_EVENT_WRITABLE) != 0;
}
/** The descriptor has a pending error; read it with take_error. Inline; e must not be NULL.
 *  Errors: none. Thread-safe: reads the event. */
static inline bool cmio_event_is_error(const cmio_event *e)
{
    return (e->flags & CMIO_EVENT_ERROR) != 0;
}
/** The peer shut down its write side, or the connection is gone. Inline; e must not be NULL.
 *  Errors: none. Thread-safe: reads the event. */
static inline bool cmio_event_is_read_closed(const cmio_event *e)
{
    return (e->flags & CMIO_EVENT_READ_CLOSED) != 0;
}
/** Writing can no longer succeed. Inline; e must not be NULL. Errors: none. Thread-safe: reads the event. */
static inline bool cmio_event_is_write_closed(const cmio_event *e)
{
    return (e->flags & CMIO_EVENT_WRITE_CLOSED) != 0;
}
/** Priority (out-of-band) data is readable. Inline; e must not be NULL.
 *  Errors: none. Thread-safe: reads the event. */
static inline bool cmio_event_is_priority(const cmio_event *e)
{
    return (e->flags & CMIO_EVENT_PRIORITY) != 0;
}

#endif

/**
 * Every cmio_event_is_* answer at once, as CMIO_EVENT_* bits: for logging,
 * tests and comparisons (mio's Debug of an Event). Inline; e must not be
 * NULL. Errors: none. Thread-safe: reads the event.
 */
static inline uint32_t cmio_event_flags(const cmio_event *e)
{
    return (cmio_event_is_readable(e) ? CMIO_EVENT_READABLE : 0u) |
           (cmio_event_is_writable(e) ? CMIO_EVENT_WRITABLE : 0u) |
           (cmio_event_is_error(e) ? CMIO_EVENT_ERROR : 0u) |
           (cmio_event_is_read_closed(e) ? CMIO_EVENT_READ_CLOSED : 0u) |
           (cmio_event_is_write_closed(e) ? CMIO_EVENT_WRITE_CLOSED : 0u) |
           (cmio_event_is_priority(e) ? CMIO_EVENT_PRIORITY : 0u);
}

/* ------------------------------------------------------------------------ */
/* Waker                                                                    */
/* ------------------------------------------------------------------------ */

/**
 * Create a waker registered with `r` under `token` (mio::Waker::new). On
 * epoll it is an eventfd registered edge-triggered; on kqueue an EVFILT_USER
 * event (a pipe where the kernel has none); on poll(2) an eventfd (a pipe
 * outside Linux) in the poll's table. Several wakers may be
 * registered with one poll, each with its own token.
 *
 * Errors: -EINVAL if r or out is NULL; -ENOMEM; -EMFILE/-ENFILE; the
 * registration's errors. Thread-safe.
 */
CMIO_API int cmio_waker_new(cmio_registry *r, cmio_token token, cmio_waker **out);

/**
 * Wake the poll: the next (or current, blocked) cmio_poll_poll() reports an
 * event with the waker's token. Wakes coalesce: several wakes before a poll
 * give at least one event. Never blocks. One system call.
 *
 * Errors: -EINVAL if w is NULL; an unexpected error of the write.
 * Thread-safe: any thread, at any time while the waker exists. Allocates
 * nothing.
 */
CMIO_API int cmio_waker_wake(cmio_waker *w);

/**
 * Deregister and release a waker. Accepts NULL. Errors: none. Not to be
 * called while another thread may still call cmio_waker_wake() on it.
 */
CMIO_API void cmio_waker_free(cmio_waker *w);

/* ------------------------------------------------------------------------ */
/* Version and embedding (issue 13)                                         */
/* ------------------------------------------------------------------------ */

/**
 * The version of the library that is running, as CMIO_VERSION_NUMBER gives
 * it (0xMMmmpp): the header a program was compiled with may be older than
 * the shared library it runs with (docs/abi.md says what stays compatible).
 *
 * Errors: none. Thread-safe. Allocates nothing; no system call.
 */
CMIO_API unsigned cmio_version(void);

/**
 * The version of the library that is running, as text ("0.2.0"): a static
 * string, never NULL.
 *
 * Errors: none. Thread-safe. Allocates nothing; no system call.
 */
CMIO_API const char *cmio_version_string(void);

/**
 * The selector's own descriptor (mio's `AsRawFd for Poll`): it polls
 * readable while the poll has events to report, so that a cmio poll can be
 * nested in another event loop (GLib's g_source_add_unix_fd, Qt's
 * QSocketNotifier, libuv's uv_poll_t, a plain poll(2)): watch the
 * descriptor for reading there, and when it is readable call
 * cmio_poll_poll() with a timeout of 0. The descriptor stays readable
 * while events are pending (the outer loop may use level triggering), and
 * belongs to the poll: do not read it, register it, or close it; it is
 * valid until cmio_poll_free(). Wakers and signals of the poll make it
 * readable too, and so do its timers where they run on a timerfd (Linux):
 * the records of those internal descriptors are taken out inside
 * cmio_poll_poll(), which may then return 0. Elsewhere (the BSDs, macOS)
 * the timers are waited out by cmio_poll_poll()'s own timeout, which the
 * outer loop does not see: a due timer does not make the descriptor
 * readable there, so give the outer loop a timeout of its own.
 *
 * On epoll it is the epoll descriptor, on kqueue the kqueue descriptor.
 * The poll(2) backend has no such descriptor: its readiness is computed by
 * each poll(2) call over its table; nor has the kqueue backend built over
 * libkqueue on Linux (-Dkqueue_emulation, a test aid), whose descriptor
 * does not poll readable.
 *
 * The first call switches the poll to its out-of-line path for good (the
 * inline epoll_wait of cmio_poll_poll() is no longer taken), so that the
 * records of its internal descriptors are always taken out, and its timers
 * arm their kernel timer as soon as they are set rather than at the next
 * cmio_poll_poll().
 *
 * Errors: -EINVAL if poll is NULL; -ENOTSUP on the poll(2) backend, on
 * kqueue over libkqueue and on Windows (iocp: a completion port is not a
 * descriptor another loop can poll).
 * Thread-safety: call it on the thread that calls cmio_poll_poll() (or
 * before any other thread uses the poll). Allocates nothing; no system
 * call (one timerfd_settime() where a timer was set and not yet armed).
 */
CMIO_API int cmio_poll_fd(cmio_poll *poll);

/* ------------------------------------------------------------------------ */
/* Timers                                                                   */
/* ------------------------------------------------------------------------ */

/**
 * A timer (amy's set_timeout / set_interval / cancel_timeout, mio 0.3's
 * timer): its expiries are delivered by cmio_poll_poll() as readable events
 * with the timer's token. All the timers of a poll share one binary heap
 * and one kernel timer armed at the earliest deadline (a timerfd on Linux;
 * elsewhere the poll's own timeout), so a timer costs no descriptor, and
 * arming or cancelling one costs O(log n) and a system call only when the
 * earliest deadline moves earlier. Timers that came due while the events
 * buffer was full are delivered, first, by the next poll.
 *
 * Semantics (DESIGN §3c): never early, measured from the call to
 * cmio_timer_set(); an event when the timer's first expiry since the last
 * cmio_timer_read() (or set) happens, and none for later expiries until it
 * is read: cmio_timer_read() returns how many expirations passed and makes
 * the next expiry give a new event. After cmio_timer_cancel() or
 * cmio_timer_free() returns, no poll that starts afterwards reports the
 * timer.
 *
 * Once a poll has a timer, its polls go through the out-of-line
 * cmio__poll() (no inline epoll_wait): some 20 more instructions a poll.
 * A poll already blocked in another thread when its first timer is made
 * sees timers from its next call (wake it with a cmio_waker if it must);
 * every later timer, set, reset or cancel reaches a blocked poll at once.
 */
typedef struct cmio_timer cmio_timer;

/**
 * Make a disarmed timer on r's poll whose events carry `token`. The only
 * allocation of the timer API (the timer, and room for it in the poll's
 * heap, which grows by doubling); the poll's first timer also opens and
 * registers its kernel timer (a timerfd on Linux, a wake descriptor
 * elsewhere).
 *
 * Errors: -EINVAL if r or out is NULL; -EBADF if r's poll was freed;
 * -ENOMEM; -EMFILE/-ENFILE and the registration's errors for the poll's
 * first timer. Thread-safe: any thread, any registry of the poll.
 */
CMIO_API int cmio_timer_new(cmio_registry *r, cmio_token token, cmio_timer **out);

/**
 * (Re)arm t: the first expiry after_ms milliseconds after this call (0: the
 * next poll reports it), then, if interval_ms is not 0, every interval_ms
 * after the previous deadline (no drift; expiries a slow reader missed are
 * counted, not queued). Replaces any earlier deadline and discards unread
 * expirations, also of a timer that fired and was not read. Deadlines
 * beyond the clock's range never come.
 *
 * Errors: -EINVAL if t is NULL. Thread-safe: any thread. Allocates
 * nothing; one system call when t becomes the poll's earliest deadline
 * (timerfd_settime, or a wake of the poll elsewhere), none otherwise.
 */
CMIO_API int cmio_timer_set(cmio_timer *t, uint64_t after_ms, uint64_t interval_ms);

/**
 * Disarm t and discard its unread expirations; after it returns no poll
 * that starts reports t until it is set again. Cancelling a disarmed timer
 * does nothing.
 *
 * Errors: -EINVAL if t is NULL. Thread-safe: any thread. Allocates nothing
 * and makes no system call (a cancelled earliest deadline is left to fire
 * and finds nothing due).
 */
CMIO_API int cmio_timer_cancel(cmio_timer *t);

/**
 * The number of expirations since the last read (or set), into
 * *expirations, and reset it: 1 for a one-shot timer, one or more for an
 * interval timer whose events were not read at once. The timer's next
 * expiry gives a new event.
 *
 * Errors: -EINVAL if t or expirations is NULL; -EAGAIN if none.
 * Thread-safe: any thread. Allocates nothing, no system call.
 */
CMIO_API int cmio_timer_read(cmio_timer *t, uint64_t *expirations);

/**
 * Cancel and release t. Accepts NULL. Events for its token already in an
 * events buffer stay there; no poll that starts afterwards reports it.
 * Errors: none. Not to be called while another thread uses t. May be
 * called after its poll was freed.
 */
CMIO_API void cmio_timer_free(cmio_timer *t);

/* ------------------------------------------------------------------------ */
/* Signals                                                                  */
/* ------------------------------------------------------------------------ */
/*
 * Signals as events (mio 0.3 users had them through signal-hook-mio; amy's
 * signals). The program blocks the signals it wants as events in every
 * thread first: pthread_sigmask(SIG_BLOCK, ...) in main before any thread is
 * created, so that every thread inherits the mask. That is signalfd's rule,
 * and cmio asks it on every OS: a signal of the set that some thread left
 * unblocked is delivered to that thread the usual way (its default action
 * often ends the process) and never reaches the set. cmio_signals_new()
 * checks the calling thread's mask; it cannot see the other threads'.
 *
 * The mechanism, per OS: on Linux (every backend) a signalfd registered
 * under the token; on the BSDs and macOS with the kqueue backend (where the
 * OS has no signalfd) one EVFILT_SIGNAL knote per signal with the token as
 * its udata, read with sigtimedwait() (macOS, OpenBSD: sigpending() and
 * sigwait() on one pending signal); elsewhere (the poll(2) backend on a
 * system without signalfd) a helper thread that sigwait()s on the set and
 * writes each signal's number into a pipe whose read end is registered
 * under the token.
 */
#include <signal.h>

/** A set of signals delivered as events (one cmio_token). */
typedef struct cmio_signals cmio_signals;

/** The set of signals cmio_signals_new() takes: sigset_t on POSIX systems;
 *  on Windows, which has no POSIX signal sets, mingw's _sigset_t (there
 *  cmio_signals_new() returns -ENOTSUP). */
#if defined(_WIN32)
typedef _sigset_t cmio_sigset;
#else
typedef sigset_t cmio_sigset;
#endif

/**
 * Deliver the signals of `set` as readable events with `token` on the poll
 * of `r`. Every signal of the set must already be blocked in the calling
 * thread (and, by the caller's care, in every other thread; see the section
 * above). SIGKILL and SIGSTOP cannot be caught and are refused. The object
 * holds its own reference on the poll's selector (as a registry clone does),
 * so `r` may be a clone that is freed first. It is not a descriptor the user
 * sees: cmio_registry_deregister() does not apply to it; cmio_signals_free()
 * removes it.
 *
 * Events are edge-triggered like every other: after an event, call
 * cmio_signals_read() until it returns -EAGAIN. A signal of the set that is
 * already pending when this is called is reported by an event with signalfd
 * and the helper thread; EVFILT_SIGNAL records only signals sent after its
 * knote exists, so on kqueue read once after creating to collect those.
 *
 * Several sets may be registered with one poll, under different tokens, if
 * they have no signal in common on kqueue (-EEXIST otherwise; one knote per
 * signal and queue); with signalfd and the helper thread a signal two sets
 * share is returned by whichever reads it first.
 *
 * Errors: -EINVAL if r, set or out is NULL, if the set is empty, holds
 * SIGKILL or SIGSTOP, or holds a signal that is not blocked in the calling
 * thread; -EEXIST (kqueue) as above; -ENOMEM; -EMFILE/-ENFILE; -EAGAIN if
 * the helper thread cannot be created; the registration's errors.
 * Thread-safe. Allocates the object, a selector reference (on epoll and
 * kqueue a dup of its descriptor) and the mechanism: a signalfd; nothing
 * more on kqueue; a pipe and a thread for the helper.
 * On Windows: -ENOTSUP after the argument checks (no POSIX signals to deliver).
 */
CMIO_API int cmio_signals_new(cmio_registry *r, cmio_token token, const cmio_sigset *set, cmio_signals **out);

/**
 * Take one delivered signal of the set: its number in *signo, and 0; or
 * -EAGAIN when none is pending. Each delivered signal is returned once;
 * signals outside the set are never taken. Standard signals (not real-time
 * ones) coalesce in the kernel: a signal sent again while it is still
 * pending is one delivery, so sending SIGUSR1 twice before a read gives one
 * SIGUSR1 (real-time signals are queued and each is returned).
 *
 * Which signals a read can take: those sent to the process (kill(), a
 * terminal's ^C), and those sent to one thread (pthread_kill(), raise())
 * when that thread is the reader. A signal sent to another thread stays
 * pending there: with signalfd and kqueue the reading thread cannot take it
 * (the event may come, or on epoll and poll(2), which ask the signalfd from
 * the polling thread, only when that thread is its target); with the helper
 * thread no event announces a signal sent to one thread, and a read in that
 * thread still takes it where the OS has sigtimedwait().
 *
 * On the poll(2) backend, a read that returns -EAGAIN re-arms the event, as
 * every cmio I/O call does. macOS and OpenBSD (kqueue, no sigtimedwait):
 * the read picks a pending signal with sigpending() and takes it with
 * sigwait(); it would block if another thread took that signal in between,
 * so no other thread may sigwait() on the set there.
 *
 * Errors: -EINVAL if s or signo is NULL; -EAGAIN as above; an unexpected
 * error of the read. Thread-safe, but one thread at a time should read (the
 * helper's pipe and signalfd are read one record at a time, so concurrent
 * reads each get distinct signals). Allocates nothing. One system call
 * (signalfd, helper thread), two where the pending set is asked.
 * On Windows: no signal set can exist; -EINVAL as for NULL.
 */
CMIO_API int cmio_signals_read(cmio_signals *s, int *signo);

/**
 * Remove the set from its poll and release it: its signalfd, knotes, or
 * helper thread (stopped with a signal of the set sent to it, and joined)
 * and pipe. After it returns, no poll that starts afterwards reports the
 * token. The signals stay blocked (the mask is the program's); those that
 * arrive afterwards stay pending in the process, and a signal that arrives
 * while the helper thread stops may be taken by it and lost. Accepts NULL.
 * Errors: none. Not to be called while another thread may still use s.
 */
CMIO_API void cmio_signals_free(cmio_signals *s);

/* ------------------------------------------------------------------------ */
/* Channel                                                                  */
/* ------------------------------------------------------------------------ */

/**
 * A bounded multi-producer, single-consumer queue of fixed-size messages
 * that wakes the poll (amy's channel and sync_channel, mio 0.3's
 * EventLoop::channel() and Sender). Messages are copied in and out; any
 * thread sends, one thread at a time receives (usually the poll thread).
 * Its event is readable, with the channel's token: one when the channel
 * becomes non-empty, none repeated while it stays undrained, and a new one
 * when a message arrives after cmio_channel_recv() returned -EAGAIN. So the
 * receiver, on the event, receives until -EAGAIN (the edge-triggered rule),
 * and a burst of messages costs one wake. docs/guide.md ("Channel") gives
 * the memory ordering.
 */
typedef struct cmio_channel cmio_channel;

/**
 * Create a channel of `capacity` messages of `msg_size` bytes each,
 * registered with `r` under `token` through the backend's wake mechanism
 * (as a cmio_waker: an eventfd, a pipe or an EVFILT_USER event). Like a
 * waker it is not a descriptor the user sees: cmio_registry_deregister()
 * does not apply to it; cmio_channel_free() removes it. It may outlive the
 * registry (a clone) it was made with.
 *
 * Errors: -EINVAL if r or out is NULL, capacity or msg_size is 0, or
 * capacity * msg_size (with a slot's own 8 bytes) does not fit in a size_t;
 * -ENOMEM; -EMFILE/-ENFILE; the registration's errors. *out is NULL on
 * failure. Thread-safe. Allocates the channel and its slots in one block,
 * and the backend's waker state; nothing after.
 */
CMIO_API int cmio_channel_new(cmio_registry *r, cmio_token token, size_t capacity, size_t msg_size,
                              cmio_channel **out);

/**
 * Copy msg_size bytes from msg into the channel. Never blocks and takes no
 * lock: a full channel returns -EAGAIN at once (the message is not sent;
 * try again later). Makes a system call (the wake's one write) only when
 * the receiver has found the channel empty and waits for this message: on
 * the empty-to-non-empty transition after its -EAGAIN; other sends make
 * none.
 *
 * Errors: -EINVAL if c or msg is NULL; -EAGAIN when the channel holds
 * `capacity` messages; an unexpected error of the wake's write (the message
 * was sent). Thread-safe: any number of threads at once, also while the
 * poll thread is blocked. Allocates nothing.
 */
CMIO_API int cmio_channel_send(cmio_channel *c, const void *msg);

/**
 * Copy the oldest message of the channel into msg (msg_size bytes).
 * Messages of one sender arrive in the order it sent them. Never blocks;
 * makes no system call. After -EAGAIN a new event is owed when a message
 * arrives; receive until -EAGAIN before waiting for it.
 *
 * Errors: -EINVAL if c or msg is NULL; -EAGAIN when the channel is empty.
 * Thread-safety: one receiving thread at a time (a second receiver is a
 * data race); it may run concurrently with any number of senders. Allocates
 * nothing.
 */
CMIO_API int cmio_channel_recv(cmio_channel *c, void *msg);

/**
 * Deregister and release a channel, with the messages it still holds.
 * Accepts NULL. After it returns, no poll that starts afterwards reports
 * the channel's token. Errors: none. Not to be called while another thread
 * may still send or receive on it.
 */
CMIO_API void cmio_channel_free(cmio_channel *c);

/* ------------------------------------------------------------------------ */
/* Event loop (mio 0.3's EventLoop)                                         */
/* ------------------------------------------------------------------------ */
/*
 * A thin driver over a poll: each iteration is one cmio_poll_poll() and one
 * call of the loop's callback per event, with the event as the poll gave it
 * (token, flags; read with the cmio_event_* accessors). mio 0.3's Handler
 * is the callback and its context pointer; its notify channel and timers
 * are cmio_channel and cmio_timer registered through cmio_loop_registry().
 * No allocation after cmio_loop_new(); no system call per iteration but the
 * poll's own.
 *
 * The loop keeps one cmio_waker for cmio_loop_shutdown() from other
 * threads. Its token is the loop's own address, (cmio_token)loop: the loop
 * never hands an event with that token to the callback, so a user must not
 * register anything under it (no other object can have that address, so
 * tokens that are pointers to the user's own objects are safe).
 */

/** An event loop (mio 0.3's EventLoop). */
typedef struct cmio_loop cmio_loop;

/**
 * The loop's callback (mio 0.3's Handler::ready): called once per event, on
 * the thread running the loop, with the loop, the event (valid until the
 * callback returns) and the context given to cmio_loop_new(). It may
 * register, reregister and deregister through cmio_loop_registry() and call
 * cmio_loop_shutdown(); it must not call cmio_loop_run(),
 * cmio_loop_run_once() or cmio_loop_free() on its own loop. Events of the
 * current iteration for a descriptor the callback deregistered are still
 * handed over (the poll already returned them): treat them as spurious.
 */
typedef void (*cmio_loop_ready_fn)(cmio_loop *loop, const cmio_event *event, void *ctx);

/**
 * Make a loop over a new poll (cmio_poll_new(): the OS's default backend,
 * or the one CMIO_BACKEND names), with an events buffer of events_capacity
 * (at most that many callbacks per iteration; more readiness is delivered
 * by the next) and `ready` called with `ctx` for each event. Allocates the
 * loop, the poll, the buffer and the shutdown waker (an eventfd, or a pipe,
 * registered with the poll); nothing afterwards.
 *
 * Errors: -EINVAL if out or ready is NULL or events_capacity is 0 (*out is
 * NULL); -ENOMEM; -EMFILE/-ENFILE; cmio_poll_new()'s and
 * cmio_waker_new()'s errors. Nothing is left behind on failure.
 * Thread-safe.
 */
CMIO_API int cmio_loop_new(cmio_loop **out, size_t events_capacity, cmio_loop_ready_fn ready, void *ctx);

/**
 * The registry of the loop's poll, owned by the loop (mio 0.3's
 * EventLoop::register & co.). Use it from any thread, or clone it with
 * cmio_registry_try_clone(). NULL if loop is NULL. Errors: none.
 * Thread-safe.
 */
CMIO_API cmio_registry *cmio_loop_registry(cmio_loop *loop);

/**
 * Run iterations (a poll without timeout, then the callbacks of its events)
 * until cmio_loop_shutdown(): a shutdown asked during an iteration, from a
 * callback or another thread, ends the run after that iteration's
 * remaining callbacks; one asked while no run was in progress makes the
 * next run return 0 at once, before any poll. The run that returns for a
 * shutdown consumes it: a later cmio_loop_run() runs again until the next
 * shutdown (several shutdowns before a run returns count as one).
 *
 * Returns 0 after a shutdown. Errors: -EINVAL if loop is NULL; a poll
 * error other than -EINTR ends the run and is returned (the shutdown
 * request, if any, is kept); -EINTR is retried. Thread-safety: one thread at
 * a time runs a loop (run or run_once), and not from its callback.
 * Allocates nothing; one system call per iteration, the poll's.
 */
CMIO_API int cmio_loop_run(cmio_loop *loop);

/**
 * One iteration: one poll with timeout_ms (as cmio_poll_poll(): negative
 * waits forever, 0 looks once; a positive timeout never ends early for lack
 * of events, but a cmio_loop_shutdown() from another thread wakes it, and
 * it then returns 0 or the events it had), then the callback for each
 * event. Returns the number of events handed to the callback (the
 * shutdown's internal wake is never one). Does not look at, nor consume, a
 * shutdown request.
 *
 * Errors: -EINVAL if loop is NULL; the poll's errors, -EINTR included.
 * Thread-safety as cmio_loop_run(). Allocates nothing; one system call,
 * the poll's.
 */
CMIO_API int cmio_loop_run_once(cmio_loop *loop, int timeout_ms);

/**
 * Ask the loop to stop (mio 0.3's EventLoop::shutdown): see
 * cmio_loop_run() for when it returns. From a callback, or while the loop
 * is not polling, it only sets a flag; from another thread while the loop
 * is (or is about to be) blocked in its poll, it also wakes the poll
 * through the loop's waker, one system call.
 *
 * Errors: -EINVAL if loop is NULL; cmio_waker_wake()'s errors.
 * Thread-safe: any thread, and from a callback, while the loop exists.
 * Allocates nothing.
 */
CMIO_API int cmio_loop_shutdown(cmio_loop *loop);

/**
 * Release the loop: its waker, events buffer and poll (descriptors still
 * registered are not closed; they are the user's). Accepts NULL. Errors:
 * none. Not while the loop runs or another thread may still call
 * cmio_loop_shutdown() on it.
 */
CMIO_API void cmio_loop_free(cmio_loop *loop);

/* ======================================================================== */
/* Net: non-blocking sockets and pipes with mio's interface                 */
/* ======================================================================== */
/*
 * Every socket type is a value struct holding one descriptor, created into
 * caller storage and released by its *_close() function, which is idempotent
 * (it sets fd to CMIO_FD_INVALID). Register `sock.fd` with a registry. Every descriptor
 * cmio creates or accepts is non-blocking and close-on-exec.
 *
 * Errors common to every function below, not repeated in each comment
 * ("plus the common ones"):
 *  -EINVAL  a NULL pointer where one is required (a buffer may be NULL only
 *           with length 0), or an address of the wrong family;
 *  -EBADF   the socket is closed (fd is CMIO_FD_INVALID) or its fd is not a
 *           descriptor;
 *  -EAGAIN  the operation would block: wait for the next event (on the
 *           poll(2) backend this -EAGAIN is what re-arms the descriptor).
 * Any other error is the system call's errno, negated. The *_from_fd()
 * functions do not check what they adopt: on a descriptor that is not a
 * socket the socket calls return -ENOTSOCK, and on a socket of another kind
 * the kernel's error for it (-EINVAL, -ENOPROTOOPT, -EOPNOTSUPP, ...).
 * Reads and receives return a pending error of the socket (the one
 * take_error would return) and clear it. -EINTR is passed on as the
 * Conventions above say, except by the UDP and Unix datagram connect
 * functions, which retry it.
 *
 * Reads and writes never raise SIGPIPE: writing to a connection the peer has
 * closed returns -EPIPE (or -ECONNRESET). Nothing in the net layer
 * allocates. The functions are as thread-safe as the system calls beneath
 * them; a socket struct itself is not locked, and a *_close() must not race
 * with other calls on the same socket (its number may be reused at once).
 */

/**
 * A socket address of any family cmio handles (mio's SocketAddr and
 * std::os::unix::net::SocketAddr): `u.sa.sa_family` says which member holds;
 * `len` is the length the kernel uses.
 */
typedef struct cmio_sockaddr {
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
        struct sockaddr_un un;
        struct sockaddr_storage storage;
    } u;
    socklen_t len;
} cmio_sockaddr;

/** How to shut a connection down (std::net::Shutdown). */
typedef enum { CMIO_SHUTDOWN_READ, CMIO_SHUTDOWN_WRITE, CMIO_SHUTDOWN_BOTH } cmio_shutdown;

/** Longest text cmio_sockaddr_format() writes for an IP address, with NUL. */
#define CMIO_SOCKADDR_STRLEN 72

/**
 * Parse exactly "a.b.c.d:port" or "[ipv6]:port" (the IPv6 part may end in
 * "%scope", a numeric scope id or an interface name) into an IPv4 or IPv6
 * address. Host names, missing or out-of-range ports (above 65535), spaces
 * and extra characters are rejected.
 * Errors: -EINVAL for NULL or any text not of that form, and for a scope
 * name that if_nametoindex(3) does not resolve. When text does not parse
 * (also when it is NULL), *out is zeroed.
 * Thread-safe: works on its arguments only (and if_nametoindex for a
 * scope name).
 */
CMIO_API int cmio_sockaddr_parse(cmio_sockaddr *out, const char *text);

/**
 * Write an address as text, NUL-terminated: "a.b.c.d:port", "[ipv6]:port"
 * (with "%scope" when it has a scope id), a Unix path as it is, an abstract
 * Unix name as "@name", an unnamed Unix address as "". Returns the length
 * written without the NUL.
 * Errors: -EINVAL for NULL arguments, an unknown family or an AF_UNIX len
 * above sizeof(struct sockaddr_un); -ENOSPC when `size` cannot hold the
 * text and its NUL (the buffer is then "" if size > 0).
 * Thread-safe: works on its arguments only.
 */
CMIO_API int cmio_sockaddr_format(const cmio_sockaddr *a, char *buf, size_t size);

/**
 * An AF_UNIX address for a filesystem path.
 * Errors: -EINVAL for NULL or an empty path; -ENAMETOOLONG when the path
 * does not fit in sun_path with its NUL.
 * Thread-safe: works on its arguments only.
 */
CMIO_API int cmio_sockaddr_from_path(cmio_sockaddr *out, const char *path);

/**
 * An AF_UNIX address in Linux's abstract namespace (mio/std's
 * SocketAddr::from_abstract_name): `len` bytes of `name`, which may hold
 * any bytes.
 * Errors: -EINVAL for NULL out, or NULL name with len > 0; -ENAMETOOLONG
 * when it does not fit; -ENOTSUP where the OS has no abstract namespace.
 * Thread-safe: works on its arguments only.
 * On Windows: -ENOTSUP (abstract names are Linux's).
 */
CMIO_API int cmio_sockaddr_from_abstract(cmio_sockaddr *out, const void *name, size_t len);

/* ------------------------------------------------------------------------ */
/* TCP                                                                      */
/* ------------------------------------------------------------------------ */

typedef struct cmio_tcp_listener {
    cmio_fd fd;
} cmio_tcp_listener;
typedef struct cmio_tcp_stream {
    cmio_fd fd;
} cmio_tcp_stream;

/**
 * Bind a listening TCP socket to an IPv4 or IPv6 address with SO_REUSEADDR
 * and a backlog of SOMAXCONN (mio's TcpListener::bind). Port 0 picks a free
 * port: read it back with cmio_tcp_listener_local_addr().
 * Errors: -EINVAL if addr is not IPv4 or IPv6; -EADDRINUSE when the address
 * is taken (or port 0 finds no free port); -EADDRNOTAVAIL when it is not a
 * local address; -EACCES for a privileged port; -EAFNOSUPPORT when the OS
 * lacks the family; -EMFILE/-ENFILE; -ENOBUFS/-ENOMEM.
 * On failure out->fd is CMIO_FD_INVALID and nothing is left open.
 * Thread-safe as socket(2), bind(2) and listen(2).
 */
CMIO_API int cmio_tcp_listener_bind(cmio_tcp_listener *out, const cmio_sockaddr *addr);

/**
 * Accept one pending connection into `out` (non-blocking, close-on-exec),
 * storing the peer's address in `peer` unless it is NULL.
 * Errors: -EAGAIN when no connection is pending (accept until then after
 * each event); -EMFILE/-ENFILE when descriptors run out (the connection stays
 * queued: see docs/guide.md); -ECONNABORTED (or -EPROTO and the other
 * network errors accept(2) passes on) when a queued connection died;
 * -ENOBUFS/-ENOMEM; -EPERM (a firewall rule); -EINVAL if the socket is not
 * listening (an adopted one); plus the common ones. On failure out->fd is CMIO_FD_INVALID.
 * Thread-safe as accept4(2): threads may accept on one listener.
 */
CMIO_API int cmio_tcp_listener_accept(cmio_tcp_listener *l, cmio_tcp_stream *out, cmio_sockaddr *peer);

/**
 * The address the listener is bound to.
 * Errors: -ENOTSOCK; -ENOBUFS; plus the common ones.
 * Thread-safe as getsockname(2).
 */
CMIO_API int cmio_tcp_listener_local_addr(const cmio_tcp_listener *l, cmio_sockaddr *out);

/**
 * Set IP_TTL (IPv4) or IPV6_UNICAST_HOPS (IPv6).
 * Errors: -EINVAL for ttl above 255 (and, from the kernel, for 0 on IPv4);
 * -ENOTSOCK; plus the common ones.
 * Thread-safe as getsockname(2) and setsockopt(2).
 */
CMIO_API int cmio_tcp_listener_set_ttl(cmio_tcp_listener *l, uint32_t ttl);

/**
 * Read the TTL (hop limit) into *out.
 * Errors: -ENOTSOCK; plus the common ones.
 * Thread-safe as getsockname(2) and getsockopt(2).
 */
CMIO_API int cmio_tcp_listener_ttl(const cmio_tcp_listener *l, uint32_t *out);

/**
 * The pending socket error (SO_ERROR) as a negative errno, or 0; reading
 * clears it.
 * On Windows: taken as cmio_tcp_stream_take_error() says.
 * Errors: of the call itself, -ENOTSOCK; plus the common ones.
 * Thread-safe as getsockopt(2).
 */
CMIO_API int cmio_tcp_listener_take_error(cmio_tcp_listener *l);

/**
 * Adopt a listening descriptor (mio's from_std): make it non-blocking and
 * close-on-exec and store it in out. The descriptor is not closed on error.
 * What it is is not checked (see the common errors above).
 * Errors: -EINVAL if out is NULL; -EBADF if fd is CMIO_FD_INVALID (negative, on POSIX) or not open (out->fd
 * is then CMIO_FD_INVALID). Thread-safe as fcntl(2).
 */
CMIO_API int cmio_tcp_listener_from_fd(cmio_tcp_listener *out, cmio_fd fd);

/**
 * Close the listener and set l->fd to CMIO_FD_INVALID. Idempotent; NULL is ignored.
 * Errors: none. Not to be called while another thread uses the listener.
 */
CMIO_API void cmio_tcp_listener_close(cmio_tcp_listener *l);

/**
 * Start a non-blocking connection to an IPv4 or IPv6 address (mio's
 * TcpStream::connect): success means "in progress". The procedure mio
 * documents: register the stream CMIO_WRITABLE, wait for an event, call
 * cmio_tcp_stream_take_error() (a refused connection shows here, as
 * -ECONNREFUSED), then cmio_tcp_stream_peer_addr(): -ENOTCONN means not
 * connected yet, wait for the next event.
 * Errors: -ENETUNREACH and other immediate failures: -EINVAL if addr is not
 * IPv4 or IPv6; -ENETUNREACH/-EHOSTUNREACH (no route; a broadcast or
 * multicast address is -ENETUNREACH); -EADDRNOTAVAIL (no local port free);
 * -EACCES/-EPERM (a prohibiting route or firewall rule); -EAFNOSUPPORT;
 * -EMFILE/-ENFILE; -ENOBUFS/-ENOMEM. A refusal or timeout comes later, as
 * above. On failure out->fd is CMIO_FD_INVALID and nothing is left open.
 * Thread-safe as socket(2) and connect(2).
 */
CMIO_API int cmio_tcp_stream_connect(cmio_tcp_stream *out, const cmio_sockaddr *addr);

/**
 * Read up to len bytes. Returns the count, 0 at end of stream, or -EAGAIN.
 * Errors: -EAGAIN when nothing is queued (also while connecting);
 * -ECONNRESET when the peer reset the connection; -ETIMEDOUT and other
 * pending errors (-ECONNREFUSED of a failed connect not yet taken,
 * -EHOSTUNREACH, ...); -ENOTCONN if the socket never connected; -EINTR;
 * plus the common ones. Thread-safe as read(2).
 */
CMIO_API ssize_t cmio_tcp_stream_read(cmio_tcp_stream *s, void *buf, size_t len);

/**
 * Write up to len bytes; returns the count. -EPIPE/-ECONNRESET when the peer
 * is gone; never SIGPIPE.
 * Errors: -EAGAIN when the send buffer is full (also while connecting);
 * -EPIPE after shutdown of writing, or once the connection is closed or if
 * it never connected; -ECONNRESET when the peer reset it; -ETIMEDOUT and
 * other pending errors; -ENOBUFS/-ENOMEM; -EINTR; plus the common ones.
 * Thread-safe as send(2).
 */
CMIO_API ssize_t cmio_tcp_stream_write(cmio_tcp_stream *s, const void *buf, size_t len);

/**
 * Scatter read into iovcnt buffers (mio's read_vectored).
 * Errors: -EINVAL for iovcnt < 0 or > IOV_MAX, iov NULL with iovcnt > 0, or
 * an iov_len above SSIZE_MAX; otherwise as cmio_tcp_stream_read().
 * Thread-safe as readv(2).
 */
CMIO_API ssize_t cmio_tcp_stream_readv(cmio_tcp_stream *s, const struct iovec *iov, int iovcnt);

/**
 * Gather write from iovcnt buffers (write_vectored); never SIGPIPE.
 * Errors: the -EINVAL of cmio_tcp_stream_readv(), else
 * as cmio_tcp_stream_write(). Thread-safe as sendmsg(2).
 */
CMIO_API ssize_t cmio_tcp_stream_writev(cmio_tcp_stream *s, const struct iovec *iov, int iovcnt);

/**
 * Read without removing the data from the queue (MSG_PEEK).
 * Errors: as cmio_tcp_stream_read(). Thread-safe as recv(2).
 */
CMIO_API ssize_t cmio_tcp_stream_peek(cmio_tcp_stream *s, void *buf, size_t len);

/**
 * Shut down reading, writing or both.
 * Errors: -EINVAL for an unknown how; -ENOTCONN when the stream is not
 * connected (never connected, or closed by a reset or a failed connect);
 * -ENOTSOCK; plus the common ones. Thread-safe as shutdown(2).
 */
CMIO_API int cmio_tcp_stream_shutdown(cmio_tcp_stream *s, cmio_shutdown how);

/**
 * Set TCP_NODELAY (disable Nagle's algorithm) on or off.
 * Errors: -ENOTSOCK, or -ENOPROTOOPT/-EOPNOTSUPP for an adopted socket that
 * is not TCP; plus the common ones. Thread-safe as setsockopt(2).
 */
CMIO_API int cmio_tcp_stream_set_nodelay(cmio_tcp_stream *s, bool on);

/**
 * Read TCP_NODELAY into *out.
 * Errors: as cmio_tcp_stream_set_nodelay(). Thread-safe as getsockopt(2).
 */
CMIO_API int cmio_tcp_stream_nodelay(const cmio_tcp_stream *s, bool *out);

/**
 * Set the TTL (hop limit).
 * Errors: -EINVAL for ttl above 255 (and, from the kernel, for 0 on IPv4);
 * -ENOTSOCK; plus the common ones.
 * Thread-safe as getsockname(2) and setsockopt(2).
 */
CMIO_API int cmio_tcp_stream_set_ttl(cmio_tcp_stream *s, uint32_t ttl);

/**
 * Read the TTL (hop limit) into *out.
 * Errors: -ENOTSOCK; plus the common ones.
 * Thread-safe as getsockname(2) and getsockopt(2).
 */
CMIO_API int cmio_tcp_stream_ttl(const cmio_tcp_stream *s, uint32_t *out);

/**
 * The local address of the stream.
 * Errors: -ENOTSOCK; -ENOBUFS; plus the common ones.
 * Thread-safe as getsockname(2).
 */
CMIO_API int cmio_tcp_stream_local_addr(const cmio_tcp_stream *s, cmio_sockaddr *out);

/**
 * The peer's address.
 * Errors: -ENOTCONN while not (yet) connected: while the connect is in
 * progress (then, on the poll(2) backend, the call re-arms CMIO_WRITABLE
 * so that the connect's event still comes), and for good once the connect
 * failed or the stream was reset (no re-arm: take the error); -ENOTSOCK;
 * -ENOBUFS; plus the common ones.
 * Thread-safe as getpeername(2) (and a poll(2) of timeout 0 after -ENOTCONN).
 */
CMIO_API int cmio_tcp_stream_peer_addr(const cmio_tcp_stream *s, cmio_sockaddr *out);

/**
 * The pending socket error (SO_ERROR) as a negative errno, or 0; reading
 * clears it (and a failed read, write or peek through cmio, which returns
 * the error, takes it too).
 * On Windows: Winsock keeps SO_ERROR (a failed connect's code) after it is
 * read, so cmio remembers, per socket, the code it took: a take that reads
 * it again reads 0, a different code is a new error. cmio forgets it when
 * it closes the socket, or when a cmio call makes or adopts a socket with
 * that handle value; a socket closed outside cmio, whose value a socket
 * made outside cmio then reuses, may read 0 for the same code until
 * adopted (cmio_tcp_stream_from_fd). The memory is a fixed table of 64
 * sockets under a lock (nothing is allocated); when more sockets than that
 * hold a taken error at once, one of them is forgotten and its error may be
 * reported once more.
 * Errors: of the call itself, -ENOTSOCK; plus the common ones.
 * Thread-safe as getsockopt(2).
 */
CMIO_API int cmio_tcp_stream_take_error(cmio_tcp_stream *s);

/**
 * Adopt a connected (or connecting) TCP descriptor; see
 * cmio_tcp_listener_from_fd().
 * Errors: -EINVAL if out is NULL; -EBADF if fd is CMIO_FD_INVALID (negative, on POSIX) or not open.
 * Thread-safe as fcntl(2).
 */
CMIO_API int cmio_tcp_stream_from_fd(cmio_tcp_stream *out, cmio_fd fd);

/**
 * Close the stream and set s->fd to CMIO_FD_INVALID. Idempotent; NULL is ignored.
 * Deregister first.
 * Errors: none. Not to be called while another thread uses the stream.
 */
CMIO_API void cmio_tcp_stream_close(cmio_tcp_stream *s);

/* ------------------------------------------------------------------------ */
/* UDP                                                                      */
/* ------------------------------------------------------------------------ */

typedef struct cmio_udp_socket {
    cmio_fd fd;
} cmio_udp_socket;

/**
 * Bind a UDP socket to an IPv4 or IPv6 address (port 0: any free port).
 * Errors: -EINVAL if addr is not IPv4 or IPv6; -EADDRINUSE; -EADDRNOTAVAIL
 * when it is not a local address; -EACCES for a privileged port;
 * -EAFNOSUPPORT; -EMFILE/-ENFILE; -ENOBUFS/-ENOMEM.
 * On failure out->fd is CMIO_FD_INVALID and nothing is left open.
 * Thread-safe as socket(2) and bind(2).
 */
CMIO_API int cmio_udp_socket_bind(cmio_udp_socket *out, const cmio_sockaddr *addr);

/**
 * Like cmio_udp_socket_bind(), with SO_REUSEPORT set before the bind, so
 * that several sockets (each made this way, in one process or several of
 * one user) share the port and the kernel spreads the datagrams among them
 * (by the sender's address and port on Linux). The way to share a UDP port
 * across reactor threads, as cmio_tcp_socket_set_reuseport() does for TCP.
 * Errors: those of cmio_udp_socket_bind(); -ENOTSUP where the OS has no
 * SO_REUSEPORT (Windows: its SO_REUSEADDR lets a socket take another's
 * port, not share the datagrams), nothing left open; -EADDRINUSE when a
 * socket without it holds the port.
 * Thread-safe. Allocates nothing; three system calls (socket, setsockopt,
 * bind), four where SOCK_NONBLOCK/SOCK_CLOEXEC are missing.
 */
CMIO_API int cmio_udp_socket_bind_reuseport(cmio_udp_socket *out, const cmio_sockaddr *addr);

/**
 * Send one datagram to `to`. Returns the bytes sent.
 * Errors: -EMSGSIZE when too large; -EINVAL if `to` is not IPv4 or IPv6 or
 * its port is 0; -EAFNOSUPPORT for an IPv6 `to` on an IPv4 socket; -EACCES
 * for a broadcast address without SO_BROADCAST; -ENETUNREACH/-EHOSTUNREACH
 * (no route; also an IPv4 `to` on an IPv6 socket bound to an IPv6 address);
 * -EPERM (a firewall rule); -ENOBUFS/-ENOMEM; -EAGAIN when the send buffer
 * is full; a pending error (on a connected socket, -ECONNREFUSED); plus the
 * common ones. On a connected socket Linux and Windows send to `to` all the
 * same (mio's tests say so); the BSDs and macOS return -EISCONN.
 * Thread-safe as sendto(2).
 */
CMIO_API ssize_t cmio_udp_socket_send_to(cmio_udp_socket *s, const void *buf, size_t len,
                                         const cmio_sockaddr *to);

/**
 * Receive one datagram, storing its sender in `from` unless NULL. Returns
 * its length (a datagram longer than len is truncated to len, and the rest
 * of it dropped; on Windows too, where Winsock fails such a receive with
 * WSAEMSGSIZE, which cmio answers with len, as recv(2) does).
 * Errors: -EAGAIN when no datagram is queued; a pending error (on a
 * connected socket, -ECONNREFUSED after a datagram met a closed port);
 * -EINTR; plus the common ones.
 * Thread-safe as recvfrom(2) (read(2) when from is NULL).
 */
CMIO_API ssize_t cmio_udp_socket_recv_from(cmio_udp_socket *s, void *buf, size_t len, cmio_sockaddr *from);

/**
 * As recv_from, but the datagram stays queued (MSG_PEEK), whole even when
 * it was cut to len.
 * Errors: as cmio_udp_socket_recv_from(). Thread-safe as recvfrom(2).
 */
CMIO_API ssize_t cmio_udp_socket_peek_from(cmio_udp_socket *s, void *buf, size_t len, cmio_sockaddr *from);

/**
 * Set the default destination and accept datagrams only from `addr`.
 * Errors: -EINVAL if addr is not IPv4 or IPv6; -EAFNOSUPPORT for an IPv6
 * address on an IPv4 socket; -EACCES for a broadcast address without
 * SO_BROADCAST; -ENETUNREACH/-EHOSTUNREACH (no route); plus the common ones
 * (-EINTR is retried). Thread-safe as connect(2).
 */
CMIO_API int cmio_udp_socket_connect(cmio_udp_socket *s, const cmio_sockaddr *addr);

/**
 * Send to the connected address.
 * Errors: -EDESTADDRREQ when not connected (on Windows too, where Winsock
 * says WSAENOTCONN); -ECONNREFUSED when an earlier
 * datagram met a closed port (the ICMP error is then cleared); -EMSGSIZE
 * when too large; -ENETUNREACH/-EHOSTUNREACH; -EPERM (a firewall rule);
 * -ENOBUFS/-ENOMEM; -EAGAIN when the send buffer is full; plus the common
 * ones. Thread-safe as send(2).
 */
CMIO_API ssize_t cmio_udp_socket_send(cmio_udp_socket *s, const void *buf, size_t len);

/**
 * Receive from the connected address (from any sender when not connected).
 * Errors: as cmio_udp_socket_recv_from(). Thread-safe as read(2).
 */
CMIO_API ssize_t cmio_udp_socket_recv(cmio_udp_socket *s, void *buf, size_t len);

/**
 * As recv, but the datagram stays queued.
 * Errors: as cmio_udp_socket_recv_from(). Thread-safe as recv(2).
 */
CMIO_API ssize_t cmio_udp_socket_peek(cmio_udp_socket *s, void *buf, size_t len);

/**
 * Set or clear SO_BROADCAST.
 * Errors: -ENOTSOCK; plus the common ones. Thread-safe as setsockopt(2).
 */
CMIO_API int cmio_udp_socket_set_broadcast(cmio_udp_socket *s, bool on);
/**
 * Read SO_BROADCAST into *out.
 * Errors: -ENOTSOCK; plus the common ones. Thread-safe as getsockopt(2).
 */
CMIO_API int cmio_udp_socket_broadcast(const cmio_udp_socket *s, bool *out);

/**
 * Set IP_MULTICAST_LOOP (IPv4 sockets; Linux takes it on IPv6 ones too).
 * Errors: -ENOTSOCK; plus the common ones. Thread-safe as setsockopt(2).
 */
CMIO_API int cmio_udp_socket_set_multicast_loop_v4(cmio_udp_socket *s, bool on);
/**
 * Read IP_MULTICAST_LOOP into *out.
 * Errors: -ENOTSOCK; plus the common ones. Thread-safe as getsockopt(2).
 */
CMIO_API int cmio_udp_socket_multicast_loop_v4(const cmio_udp_socket *s, bool *out);
/**
 * Set IP_MULTICAST_TTL.
 * Errors: -EINVAL above 255; -ENOTSOCK; plus the common ones.
 * Thread-safe as setsockopt(2).
 */
CMIO_API int cmio_udp_socket_set_multicast_ttl_v4(cmio_udp_socket *s, uint32_t ttl);
/**
 * Read IP_MULTICAST_TTL into *out.
 * Errors: -ENOTSOCK; plus the common ones. Thread-safe as getsockopt(2).
 */
CMIO_API int cmio_udp_socket_multicast_ttl_v4(const cmio_udp_socket *s, uint32_t *out);
/**
 * Set IPV6_MULTICAST_LOOP (IPv6 sockets).
 * Errors: -ENOPROTOOPT on an IPv4 socket; -ENOTSOCK; plus the common ones.
 * Thread-safe as setsockopt(2).
 */
CMIO_API int cmio_udp_socket_set_multicast_loop_v6(cmio_udp_socket *s, bool on);
/**
 * Read IPV6_MULTICAST_LOOP into *out.
 * Errors: -EOPNOTSUPP on an IPv4 socket; -ENOTSOCK; plus the common ones.
 * Thread-safe as getsockopt(2).
 */
CMIO_API int cmio_udp_socket_multicast_loop_v6(const cmio_udp_socket *s, bool *out);

/**
 * Set the TTL (hop limit) of unicast datagrams.
 * Errors: -EINVAL above 255 (and, from the kernel, for 0 on IPv4);
 * -ENOTSOCK; plus the common ones.
 * Thread-safe as getsockname(2) and setsockopt(2).
 */
CMIO_API int cmio_udp_socket_set_ttl(cmio_udp_socket *s, uint32_t ttl);
/**
 * Read the TTL (hop limit) into *out.
 * Errors: -ENOTSOCK; plus the common ones.
 * Thread-safe as getsockname(2) and getsockopt(2).
 */
CMIO_API int cmio_udp_socket_ttl(const cmio_udp_socket *s, uint32_t *out);

/**
 * Join the IPv4 multicast group `multiaddr` on the interface with address
 * `iface` (INADDR_ANY: any).
 * Errors: -EINVAL when multiaddr is not a multicast address; -EADDRINUSE
 * when already joined on that interface; -ENODEV when no interface has the
 * address iface (with INADDR_ANY: no route to the group); -ENOBUFS at the
 * limit of groups per socket (igmp_max_memberships); -ENOMEM; plus the
 * common ones. Thread-safe as setsockopt(2).
 */
CMIO_API int cmio_udp_socket_join_multicast_v4(cmio_udp_socket *s, const struct in_addr *multiaddr,
                                               const struct in_addr *iface);
/**
 * Leave an IPv4 multicast group joined with cmio_udp_socket_join_multicast_v4().
 * Errors: -EADDRNOTAVAIL when not a member of it on that interface (on
 * Windows too, where Winsock says WSAEINVAL); -ENODEV as for join; plus
 * the common ones. Thread-safe as setsockopt(2).
 */
CMIO_API int cmio_udp_socket_leave_multicast_v4(cmio_udp_socket *s, const struct in_addr *multiaddr,
                                                const struct in_addr *iface);
/**
 * Join the IPv6 multicast group `multiaddr` on interface index `iface` (0: any).
 * Errors: -EINVAL when multiaddr is not a multicast address; -EADDRINUSE
 * when already joined on that interface; -ENODEV when there is no interface
 * of that index (with 0: no route to the group); -ENOPROTOOPT on an IPv4
 * socket; -ENOMEM; plus the common ones. Thread-safe as setsockopt(2).
 */
CMIO_API int cmio_udp_socket_join_multicast_v6(cmio_udp_socket *s, const struct in6_addr *multiaddr,
                                               unsigned iface);
/**
 * Leave an IPv6 multicast group.
 * Errors: -EADDRNOTAVAIL when not a member of it on that interface; -EINVAL
 * when multiaddr is not a multicast address; -ENOPROTOOPT on an IPv4
 * socket; plus the common ones. Thread-safe as setsockopt(2).
 */
CMIO_API int cmio_udp_socket_leave_multicast_v6(cmio_udp_socket *s, const struct in6_addr *multiaddr,
                                                unsigned iface);

/**
 * Read IPV6_V6ONLY into *out (IPv6 sockets). cmio sets it nowhere (as std
 * and mio): a socket has the system's default, off on Linux (unless
 * net.ipv6.bindv6only is set), on on Windows and the BSDs.
 * Errors: -EOPNOTSUPP on an IPv4 socket; -ENOTSOCK; plus the common ones.
 * Thread-safe as getsockopt(2).
 */
CMIO_API int cmio_udp_socket_only_v6(const cmio_udp_socket *s, bool *out);
/**
 * Set IPV6_V6ONLY. The kernel accepts it only before the socket is bound,
 * so on a socket from cmio_udp_socket_bind() it returns -EINVAL; use it on
 * an unbound IPv6 socket adopted with cmio_udp_socket_from_fd().
 * Errors: -EINVAL on a bound socket; -ENOPROTOOPT on an IPv4 socket;
 * -ENOTSOCK; plus the common ones. Thread-safe as setsockopt(2).
 */
CMIO_API int cmio_udp_socket_set_only_v6(cmio_udp_socket *s, bool on);

/**
 * The local address.
 * Errors: -ENOTSOCK; -ENOBUFS; plus the common ones.
 * Thread-safe as getsockname(2).
 */
CMIO_API int cmio_udp_socket_local_addr(const cmio_udp_socket *s, cmio_sockaddr *out);
/**
 * The connected address.
 * Errors: -ENOTCONN when not connected; -ENOTSOCK; -ENOBUFS; plus the
 * common ones. Thread-safe as getpeername(2).
 */
CMIO_API int cmio_udp_socket_peer_addr(const cmio_udp_socket *s, cmio_sockaddr *out);
/**
 * The pending socket error as a negative errno, or 0; reading clears it.
 * On Windows reading SO_ERROR does not clear it (and Wine keeps a
 * connected socket's last ICMP error even when it is set to 0), so cmio
 * remembers what it took, as cmio_tcp_stream_take_error() says, and
 * reports the same code again only after the socket has sent (only a
 * datagram can bring a new error).
 * Errors: of the call itself, -ENOTSOCK; plus the common ones.
 * Thread-safe as getsockopt(2).
 */
CMIO_API int cmio_udp_socket_take_error(cmio_udp_socket *s);
/**
 * Adopt a UDP descriptor; see cmio_tcp_listener_from_fd().
 * Errors: -EINVAL if out is NULL; -EBADF if fd is CMIO_FD_INVALID (negative, on POSIX) or not open.
 * Thread-safe as fcntl(2).
 */
CMIO_API int cmio_udp_socket_from_fd(cmio_udp_socket *out, cmio_fd fd);
/**
 * Close the socket and set s->fd to CMIO_FD_INVALID. Idempotent; NULL is ignored.
 * Errors: none. Not to be called while another thread uses the socket.
 */
CMIO_API void cmio_udp_socket_close(cmio_udp_socket *s);

/* ------------------------------------------------------------------------ */
/* Unix domain sockets and pipes                                            */
/* ------------------------------------------------------------------------ */

typedef struct cmio_unix_listener {
    cmio_fd fd;
} cmio_unix_listener;
typedef struct cmio_unix_stream {
    cmio_fd fd;
} cmio_unix_stream;
typedef struct cmio_unix_datagram {
    cmio_fd fd;
} cmio_unix_datagram;
typedef struct cmio_pipe_sender {
    cmio_fd fd;
} cmio_pipe_sender;
typedef struct cmio_pipe_receiver {
    cmio_fd fd;
} cmio_pipe_receiver;

/**
 * Bind a listening stream socket to a filesystem path (backlog SOMAXCONN).
 * Errors: -ENAMETOOLONG; -EADDRINUSE when the path exists (remove a stale
 * socket file first); -ENOENT/-EACCES for the directory; -EINVAL for a NULL
 * or empty path; -ENOTDIR/-ELOOP for the path; -EROFS/-ENOSPC/-EDQUOT for
 * the filesystem; -EMFILE/-ENFILE; -ENOBUFS/-ENOMEM. On failure out->fd is
 * CMIO_FD_INVALID and nothing is left open. Thread-safe as socket(2), bind(2), listen(2).
 * On Windows: -ENOTSUP after the argument checks where the system has no AF_UNIX (before Windows 10 1803; Wine 8).
 */
CMIO_API int cmio_unix_listener_bind(cmio_unix_listener *out, const char *path);
/**
 * Bind a listening socket to an AF_UNIX address (a path or an abstract name).
 * Errors: -EINVAL if addr is not AF_UNIX or its len is out of range;
 * -EADDRINUSE when the path exists or the abstract name is taken; otherwise
 * as cmio_unix_listener_bind(). Thread-safe as socket(2), bind(2), listen(2).
 * On Windows: -ENOTSUP after the argument checks where the system has no AF_UNIX (before Windows 10 1803; Wine 8).
 */
CMIO_API int cmio_unix_listener_bind_addr(cmio_unix_listener *out, const cmio_sockaddr *addr);
/**
 * Accept one connection; `peer` (unless NULL) receives its address.
 * Errors: -EAGAIN when none is pending; -EMFILE/-ENFILE when descriptors
 * run out (the connection stays queued); -ENOBUFS/-ENOMEM; -EINVAL if the
 * socket is not listening (an adopted one); plus the common ones. On
 * failure out->fd is CMIO_FD_INVALID (out itself may not be NULL).
 * Thread-safe as accept4(2).
 */
CMIO_API int cmio_unix_listener_accept(cmio_unix_listener *l, cmio_unix_stream *out, cmio_sockaddr *peer);
/**
 * The address the listener is bound to.
 * Errors: -ENOTSOCK; -ENOBUFS; plus the common ones.
 * Thread-safe as getsockname(2).
 */
CMIO_API int cmio_unix_listener_local_addr(const cmio_unix_listener *l, cmio_sockaddr *out);
/**
 * The pending socket error as a negative errno, or 0; reading clears it.
 * Errors: of the call itself, -ENOTSOCK; plus the common ones.
 * Thread-safe as getsockopt(2).
 */
CMIO_API int cmio_unix_listener_take_error(cmio_unix_listener *l);
/**
 * Adopt a listening AF_UNIX descriptor; see cmio_tcp_listener_from_fd().
 * Errors: -EINVAL if out is NULL; -EBADF if fd is CMIO_FD_INVALID (negative, on POSIX) or not open.
 * Thread-safe as fcntl(2).
 */
CMIO_API int cmio_unix_listener_from_fd(cmio_unix_listener *out, cmio_fd fd);
/**
 * Close the listener and set l->fd to CMIO_FD_INVALID (the socket file stays).
 * Idempotent; NULL is ignored.
 * Errors: none. Not to be called while another thread uses the listener.
 */
CMIO_API void cmio_unix_listener_close(cmio_unix_listener *l);

/**
 * Connect a stream socket to the listener at `path`. On Linux a Unix
 * connect completes at once (the connection is queued on the listener);
 * where the OS reports "in progress" (EINPROGRESS), success means that, and
 * the procedure of cmio_tcp_stream_connect() applies.
 * Errors: -EAGAIN when the listener's backlog is full (as mio's
 * WouldBlock: nothing is connecting, try again later); -ENOENT (no such
 * socket); -ECONNREFUSED (nobody listening, or the path is not a socket);
 * -ENAMETOOLONG; -EMFILE/-ENFILE; -EINVAL for a NULL or empty path;
 * -EPROTOTYPE when the socket there is not a stream socket;
 * -EACCES/-ENOTDIR for the path; -ENOBUFS/-ENOMEM.
 * On failure out->fd is CMIO_FD_INVALID and nothing is left open.
 * Thread-safe as socket(2) and connect(2).
 * On Windows: -ENOTSUP after the argument checks where the system has no AF_UNIX (before Windows 10 1803; Wine 8).
 */
CMIO_API int cmio_unix_stream_connect(cmio_unix_stream *out, const char *path);
/**
 * Connect to an AF_UNIX address (a path or an abstract name); as
 * cmio_unix_stream_connect().
 * Errors: -EINVAL if addr is not AF_UNIX or its len is out of range;
 * -ECONNREFUSED also for an abstract name nobody listens on; otherwise as
 * cmio_unix_stream_connect(). Thread-safe as socket(2) and connect(2).
 * On Windows: -ENOTSUP after the argument checks where the system has no AF_UNIX (before Windows 10 1803; Wine 8).
 */
CMIO_API int cmio_unix_stream_connect_addr(cmio_unix_stream *out, const cmio_sockaddr *addr);
/**
 * A connected pair of stream sockets (socketpair).
 * Errors: -EINVAL if a or b is NULL or they are the same; -EMFILE/-ENFILE;
 * -ENOBUFS/-ENOMEM. On failure a->fd and b->fd (those not NULL) are CMIO_FD_INVALID and
 * nothing is left open. Thread-safe as socketpair(2).
 * On Windows: -ENOTSUP after the argument checks (Winsock has no socketpair).
 */
CMIO_API int cmio_unix_stream_pair(cmio_unix_stream *a, cmio_unix_stream *b);
/**
 * Read; 0 at end of stream.
 * Errors: -EAGAIN when nothing is queued; -ECONNRESET when the peer closed
 * with data it had not read; -EINVAL if the socket is not connected (an
 * adopted one); -EINTR; plus the common ones. Thread-safe as read(2).
 */
CMIO_API ssize_t cmio_unix_stream_read(cmio_unix_stream *s, void *buf, size_t len);
/**
 * Write; -EPIPE when the peer is gone, never SIGPIPE.
 * Errors: -EPIPE when the peer closed or shut down reading, or this side
 * shut down writing; -EAGAIN when the peer's buffer is full; -ENOTCONN if
 * not connected (an adopted socket); -ENOBUFS/-ENOMEM; -EINTR; plus the
 * common ones. Thread-safe as send(2).
 */
CMIO_API ssize_t cmio_unix_stream_write(cmio_unix_stream *s, const void *buf, size_t len);
/**
 * Scatter read.
 * Errors: -EINVAL for iovcnt < 0 or > IOV_MAX, iov NULL with iovcnt > 0, or
 * an iov_len above SSIZE_MAX; otherwise as cmio_unix_stream_read().
 * Thread-safe as readv(2).
 */
CMIO_API ssize_t cmio_unix_stream_readv(cmio_unix_stream *s, const struct iovec *iov, int iovcnt);
/**
 * Gather write; never SIGPIPE.
 * Errors: the -EINVAL of cmio_unix_stream_readv(), else as
 * cmio_unix_stream_write(). Thread-safe as sendmsg(2).
 */
CMIO_API ssize_t cmio_unix_stream_writev(cmio_unix_stream *s, const struct iovec *iov, int iovcnt);
/**
 * Shut down reading, writing or both.
 * Errors: -EINVAL for an unknown how; -ENOTSOCK; plus the common ones.
 * Thread-safe as shutdown(2).
 */
CMIO_API int cmio_unix_stream_shutdown(cmio_unix_stream *s, cmio_shutdown how);
/**
 * The local address (unnamed for a connecting socket).
 * Errors: -ENOTSOCK; -ENOBUFS; plus the common ones.
 * Thread-safe as getsockname(2).
 */
CMIO_API int cmio_unix_stream_local_addr(const cmio_unix_stream *s, cmio_sockaddr *out);
/**
 * The peer's address.
 * Errors: -ENOTCONN when not connected (an adopted socket, or while a
 * connect is in progress where the OS has that: then it re-arms as
 * cmio_tcp_stream_peer_addr() does); -ENOTSOCK; -ENOBUFS; plus the common
 * ones. Thread-safe as getpeername(2).
 */
CMIO_API int cmio_unix_stream_peer_addr(const cmio_unix_stream *s, cmio_sockaddr *out);
/**
 * The pending socket error as a negative errno, or 0; reading clears it.
 * Errors: of the call itself, -ENOTSOCK; plus the common ones.
 * Thread-safe as getsockopt(2).
 */
CMIO_API int cmio_unix_stream_take_error(cmio_unix_stream *s);
/**
 * Adopt an AF_UNIX stream descriptor; see cmio_tcp_listener_from_fd().
 * Errors: -EINVAL if out is NULL; -EBADF if fd is CMIO_FD_INVALID (negative, on POSIX) or not open.
 * Thread-safe as fcntl(2).
 */
CMIO_API int cmio_unix_stream_from_fd(cmio_unix_stream *out, cmio_fd fd);
/**
 * Close and set s->fd to CMIO_FD_INVALID. Idempotent; NULL is ignored.
 * Errors: none. Not to be called while another thread uses the stream.
 */
CMIO_API void cmio_unix_stream_close(cmio_unix_stream *s);

/**
 * A datagram socket bound to `path`.
 * Errors: as cmio_unix_listener_bind(). Thread-safe as socket(2), bind(2).
 * On Windows: -ENOTSUP after the argument checks (no AF_UNIX datagrams).
 */
CMIO_API int cmio_unix_datagram_bind(cmio_unix_datagram *out, const char *path);
/**
 * A datagram socket bound to an AF_UNIX address.
 * Errors: as cmio_unix_listener_bind_addr(). Thread-safe as socket(2), bind(2).
 * On Windows: -ENOTSUP after the argument checks (no AF_UNIX datagrams).
 */
CMIO_API int cmio_unix_datagram_bind_addr(cmio_unix_datagram *out, const cmio_sockaddr *addr);
/**
 * A datagram socket bound to nothing. It can send (with send_to, or send
 * after connect), but having no name it cannot be addressed, so it receives
 * nothing until it is given one (Linux autobinds only with SO_PASSCRED); a
 * socket of cmio_unix_datagram_pair() is the way to a two-way unnamed
 * channel.
 * Errors: -EINVAL if out is NULL; -EMFILE/-ENFILE; -ENOBUFS/-ENOMEM.
 * Thread-safe as socket(2).
 * On Windows: -ENOTSUP after the argument checks (no AF_UNIX datagrams).
 */
CMIO_API int cmio_unix_datagram_unbound(cmio_unix_datagram *out);
/**
 * A connected pair of datagram sockets.
 * Errors: as cmio_unix_stream_pair(). Thread-safe as socketpair(2).
 * On Windows: -ENOTSUP after the argument checks (Windows has no AF_UNIX datagrams).
 */
CMIO_API int cmio_unix_datagram_pair(cmio_unix_datagram *a, cmio_unix_datagram *b);
/**
 * Connect to the socket at `path`: the default destination, and the only sender accepted.
 * Errors: -EINVAL for a NULL or empty path; -ENAMETOOLONG; -ENOENT (no such
 * socket); -ECONNREFUSED (no socket bound there, or the path is not a
 * socket); -EPROTOTYPE when it is not a datagram socket; -EPERM when it is
 * connected to another socket; -EACCES/-ENOTDIR for the path; plus the
 * common ones (-EINTR is retried). Thread-safe as connect(2).
 * On Windows: -ENOTSUP after the argument checks (no AF_UNIX datagrams).
 */
CMIO_API int cmio_unix_datagram_connect(cmio_unix_datagram *s, const char *path);
/**
 * Send one datagram to the connected socket.
 * Errors: -ENOTCONN when not connected; -ECONNREFUSED when it is gone (on
 * the first send after it closed; the socket is then disconnected and later
 * sends are -ENOTCONN); -EPIPE when this side shut down writing or the peer
 * shut down reading; -EAGAIN when the peer's queue is full; -EMSGSIZE when
 * larger than the send buffer; -EPERM when the peer is connected to another
 * socket; -ENOBUFS/-ENOMEM; plus the common ones. Thread-safe as send(2).
 * On Windows: -ENOTSUP after the argument checks (no AF_UNIX datagrams).
 */
CMIO_API ssize_t cmio_unix_datagram_send(cmio_unix_datagram *s, const void *buf, size_t len);
/**
 * Send one datagram to the socket at `path`.
 * Errors: -ENOENT; -ECONNREFUSED (no socket bound there, or the path is not
 * a socket); -EINVAL for a NULL or empty path; -ENAMETOOLONG; -EPROTOTYPE
 * when it is not a datagram socket; -EPERM when it is connected to another
 * socket; -EACCES/-ENOTDIR for the path; -EPIPE, -EAGAIN, -EMSGSIZE and
 * -ENOBUFS/-ENOMEM as for cmio_unix_datagram_send(); plus the common ones.
 * Thread-safe as sendto(2).
 * On Windows: -ENOTSUP after the argument checks (no AF_UNIX datagrams).
 */
CMIO_API ssize_t cmio_unix_datagram_send_to(cmio_unix_datagram *s, const void *buf, size_t len,
                                            const char *path);
/**
 * Receive one datagram (truncated to len).
 * Errors: -EAGAIN when no datagram is queued; a pending error of the
 * socket; -EINTR; plus the common ones. Thread-safe as read(2).
 * On Windows: -ENOTSUP after the argument checks (no AF_UNIX datagrams).
 */
CMIO_API ssize_t cmio_unix_datagram_recv(cmio_unix_datagram *s, void *buf, size_t len);
/**
 * Receive one datagram; `from` (unless NULL) receives the sender's address.
 * Errors: as cmio_unix_datagram_recv(). Thread-safe as recvfrom(2).
 * On Windows: -ENOTSUP after the argument checks (no AF_UNIX datagrams).
 */
CMIO_API ssize_t cmio_unix_datagram_recv_from(cmio_unix_datagram *s, void *buf, size_t len,
                                              cmio_sockaddr *from);
/**
 * Shut down reading, writing or both.
 * Errors: -EINVAL for an unknown how; -ENOTSOCK; plus the common ones.
 * Thread-safe as shutdown(2).
 * On Windows: -ENOTSUP after the argument checks (no AF_UNIX datagrams).
 */
CMIO_API int cmio_unix_datagram_shutdown(cmio_unix_datagram *s, cmio_shutdown how);
/**
 * The local address.
 * Errors: -ENOTSOCK; -ENOBUFS; plus the common ones.
 * Thread-safe as getsockname(2).
 * On Windows: -ENOTSUP after the argument checks (no AF_UNIX datagrams).
 */
CMIO_API int cmio_unix_datagram_local_addr(const cmio_unix_datagram *s, cmio_sockaddr *out);
/**
 * The connected address.
 * Errors: -ENOTCONN when not connected; -ENOTSOCK; -ENOBUFS; plus the
 * common ones. Thread-safe as getpeername(2).
 * On Windows: -ENOTSUP after the argument checks (no AF_UNIX datagrams).
 */
CMIO_API int cmio_unix_datagram_peer_addr(const cmio_unix_datagram *s, cmio_sockaddr *out);
/**
 * The pending socket error as a negative errno, or 0; reading clears it.
 * Errors: of the call itself, -ENOTSOCK; plus the common ones.
 * Thread-safe as getsockopt(2).
 * On Windows: -ENOTSUP after the argument checks (no AF_UNIX datagrams).
 */
CMIO_API int cmio_unix_datagram_take_error(cmio_unix_datagram *s);
/**
 * Adopt an AF_UNIX datagram descriptor; see cmio_tcp_listener_from_fd().
 * Errors: -EINVAL if out is NULL; -EBADF if fd is CMIO_FD_INVALID (negative, on POSIX) or not open.
 * Thread-safe as fcntl(2).
 * On Windows: -ENOTSUP after the argument checks (no AF_UNIX datagrams).
 */
CMIO_API int cmio_unix_datagram_from_fd(cmio_unix_datagram *out, cmio_fd fd);
/**
 * Close and set s->fd to CMIO_FD_INVALID. Idempotent; NULL is ignored.
 * Errors: none. Not to be called while another thread uses the socket.
 */
CMIO_API void cmio_unix_datagram_close(cmio_unix_datagram *s);

/* ------------------------------------------------------------------------ */
/* Passing descriptors over Unix sockets (SCM_RIGHTS)                       */
/* ------------------------------------------------------------------------ */
/*
 * A message of bytes with descriptors attached (SCM_RIGHTS): the receiver
 * gets new descriptors to the same open files, as dup(2) would make, in its
 * own table. mio has no such call (std's UnixStream has none either).
 * Each send is one sendmsg(2) with MSG_NOSIGNAL; each receive one
 * recvmsg(2), into a control buffer on the stack with room for
 * CMIO_UNIX_MAX_FDS descriptors (plus one close(2) per descriptor that did
 * not fit, and one fcntl(2) per descriptor where the OS lacks
 * MSG_CMSG_CLOEXEC): nothing allocates. A received descriptor
 * is close-on-exec (MSG_CMSG_CLOEXEC where the OS has it, so that no other
 * thread's fork+exec can inherit it; elsewhere FD_CLOEXEC is set right after
 * the call, and a fork+exec in another thread between the two can inherit
 * it). Its other flags (O_NONBLOCK among them) belong to the open file it
 * shares with the sender's copy; the copies are independent descriptors:
 * closing one leaves the other open. Like every cmio I/O call, a send or
 * receive that returns -EAGAIN re-arms its direction on the poll(2)
 * backend. Errors are those of the socket type's write or read plus those
 * listed; thread-safe as sendmsg(2) and recvmsg(2).
 */

/** The most descriptors one message carries: Linux's SCM_MAX_FD. */
#define CMIO_UNIX_MAX_FDS 253

/**
 * Send `len` bytes with the `nfds` descriptors of `fds` attached. On a
 * stream the descriptors travel with the first byte of the message, so at
 * least one byte must go with them: `len` 0 with `nfds` > 0 is -EINVAL
 * (Linux would silently drop descriptors sent without data on a stream).
 * Returns the bytes sent: a short count (> 0) means every descriptor went,
 * with the first bytes; send the rest with cmio_unix_stream_write().
 * `nfds` 0 is a plain write. The caller's descriptors stay open and its own.
 * Errors: -EINVAL for a NULL s, buf NULL with len > 0, fds NULL with
 * nfds > 0, nfds above CMIO_UNIX_MAX_FDS, len 0 with nfds > 0; -EBADF if
 * the socket is closed or one of fds is not an open descriptor; -EAGAIN
 * when the peer's buffer is full (nothing was sent); -EPIPE when the peer
 * is gone, never SIGPIPE; -ETOOMANYREFS when the kernel's limit of
 * descriptors in flight is reached (Linux: RLIMIT_NOFILE); as
 * cmio_unix_stream_write() otherwise. Thread-safe as sendmsg(2).
 * On Windows: -ENOTSUP (no SCM_RIGHTS).
 */
CMIO_API ssize_t cmio_unix_stream_send_fds(cmio_unix_stream *s, const void *buf, size_t len, const cmio_fd *fds,
                                           size_t nfds);
/**
 * Receive up to `len` bytes and the descriptors that came with them into
 * `fds`: `*nfds` says how many fit (in), then how many arrived (out; 0
 * when none came, as with bytes sent by a plain write). The descriptors
 * arrive with the call that receives the first byte of the send that
 * carried them; that call may also return bytes written before it, but
 * (on Linux) none of a later send, so descriptors of two sends never
 * arrive in one call. The rest of a long send may take more calls.
 * Returns the bytes received, 0 at end of stream (with *nfds 0).
 * More descriptors than `*nfds` has room for (also `*nfds` 0 with
 * descriptors arriving, or control data the kernel truncated: MSG_CTRUNC):
 * every descriptor that arrived is closed, *nfds is set to 0 and the call
 * returns -EMSGSIZE. The bytes of that call were received into buf and are
 * consumed: their count is lost, and the stream is out of step with the
 * sender's framing, so treat it as a protocol error (the next call returns
 * the bytes that follow).
 * Errors: -EINVAL for a NULL s or nfds, buf NULL or len 0 (0 is the end of
 * stream), fds NULL with *nfds > 0; -EBADF if closed; -EAGAIN when nothing
 * is queued; -EMSGSIZE as above; -ECONNRESET; -EINTR; plus the common ones.
 * On every error *nfds is 0 (when nfds is not NULL). Thread-safe as
 * recvmsg(2).
 * On Windows: -ENOTSUP (no SCM_RIGHTS).
 */
CMIO_API ssize_t cmio_unix_stream_recv_fds(cmio_unix_stream *s, void *buf, size_t len, cmio_fd *fds, size_t *nfds);
/**
 * Send one datagram with descriptors attached to the connected socket
 * (cmio_unix_datagram_connect() or one of a pair). A datagram of 0 bytes
 * may carry descriptors. Returns len.
 * Errors: -EINVAL for a NULL s, buf NULL with len > 0, fds NULL with
 * nfds > 0, nfds above CMIO_UNIX_MAX_FDS; -EBADF if the socket is closed or
 * one of fds is not an open descriptor; -ETOOMANYREFS as for
 * cmio_unix_stream_send_fds(); as cmio_unix_datagram_send() otherwise
 * (-ENOTCONN when not connected, -EAGAIN, -ECONNREFUSED, -EMSGSIZE, ...).
 * Thread-safe as sendmsg(2).
 * On Windows: -ENOTSUP (no SCM_RIGHTS).
 */
CMIO_API ssize_t cmio_unix_datagram_send_fds(cmio_unix_datagram *s, const void *buf, size_t len, const cmio_fd *fds,
                                             size_t nfds);
/**
 * Receive one datagram (truncated to len, as cmio_unix_datagram_recv())
 * and its descriptors into `fds` (`*nfds`: room in, received out). Returns
 * the bytes received; 0 for an empty datagram. More descriptors than room:
 * every descriptor that arrived is closed, *nfds is 0, and -EMSGSIZE is
 * returned; the datagram is consumed (its bytes are in buf, their count
 * lost).
 * Errors: -EINVAL for a NULL s or nfds, buf NULL with len > 0, fds NULL
 * with *nfds > 0; -EBADF if closed; -EAGAIN when no datagram is queued;
 * -EMSGSIZE as above; as cmio_unix_datagram_recv() otherwise. On every
 * error *nfds is 0 (when nfds is not NULL). Thread-safe as recvmsg(2).
 * On Windows: -ENOTSUP (no SCM_RIGHTS).
 */
CMIO_API ssize_t cmio_unix_datagram_recv_fds(cmio_unix_datagram *s, void *buf, size_t len, cmio_fd *fds,
                                             size_t *nfds);

/**
 * A pipe (mio::unix::pipe::new): bytes written to tx are read from rx. Both
 * ends are non-blocking and close-on-exec (pipe2).
 * Errors: -EINVAL for NULL (or tx and rx at the same address);
 * -EMFILE/-ENFILE. On failure tx->fd and rx->fd (those not NULL) are CMIO_FD_INVALID.
 * Thread-safe as pipe2(2).
 * On Windows: -ENOTSUP after the argument checks (an anonymous pipe cannot be polled through AFD; Windows' named pipes are cmio_named_pipe_new()'s).
 */
CMIO_API int cmio_pipe_new(cmio_pipe_sender *tx, cmio_pipe_receiver *rx);
/**
 * Write to the pipe. Returns the bytes written (a write of up to PIPE_BUF
 * bytes is all or nothing). When the reading end is closed it returns -EPIPE
 * and SIGPIPE is not delivered: the signal is blocked in the calling thread
 * around the write and the SIGPIPE it caused, which the kernel directs at
 * this thread, is consumed. A SIGPIPE pending for the whole process is left
 * pending; one already pending for this thread (only possible when the
 * caller blocks SIGPIPE) absorbs the write's, and is left pending too.
 * Three system calls (block SIGPIPE, write, restore the mask; two when the
 * caller blocks SIGPIPE already), one more after -EPIPE.
 * Errors: -EPIPE when the reading end is closed; -EAGAIN when the pipe is
 * full; -EBADF also when fd is not open for writing (a reading end);
 * -EINVAL for a NULL buf with len > 0; -EINTR; plus the common ones.
 * Thread-safe as write(2).
 * On Windows: no pipe can exist; -EBADF for the CMIO_FD_INVALID a failed cmio_pipe_new leaves.
 */
CMIO_API ssize_t cmio_pipe_sender_write(cmio_pipe_sender *tx, const void *buf, size_t len);
/**
 * Read from the pipe; 0 once every writer is closed and the pipe is empty.
 * Errors: -EAGAIN when the pipe is empty and a writer is open; -EBADF also
 * when fd is not open for reading (a writing end); -EINTR; plus the common
 * ones. Thread-safe as read(2).
 * On Windows: no pipe can exist; -EBADF for the CMIO_FD_INVALID a failed cmio_pipe_new leaves.
 */
CMIO_API ssize_t cmio_pipe_receiver_read(cmio_pipe_receiver *rx, void *buf, size_t len);
/**
 * Adopt a pipe's writing end; made non-blocking and close-on-exec. Not
 * checked to be one, and not closed on error.
 * Errors: -EINVAL if out is NULL; -EBADF if fd is CMIO_FD_INVALID (negative, on POSIX) or not open.
 * Thread-safe as fcntl(2).
 * On Windows: -ENOTSUP after the argument checks.
 */
CMIO_API int cmio_pipe_sender_from_fd(cmio_pipe_sender *out, cmio_fd fd);
/**
 * Adopt a pipe's reading end; made non-blocking and close-on-exec. Not
 * checked to be one, and not closed on error.
 * Errors: -EINVAL if out is NULL; -EBADF if fd is CMIO_FD_INVALID (negative, on POSIX) or not open.
 * Thread-safe as fcntl(2).
 * On Windows: -ENOTSUP after the argument checks.
 */
CMIO_API int cmio_pipe_receiver_from_fd(cmio_pipe_receiver *out, cmio_fd fd);
/**
 * Close the writing end; set tx->fd to CMIO_FD_INVALID. Idempotent; NULL is ignored.
 * Errors: none. Not to be called while another thread uses the end.
 */
CMIO_API void cmio_pipe_sender_close(cmio_pipe_sender *tx);
/**
 * Close the reading end; set rx->fd to CMIO_FD_INVALID. Idempotent; NULL is ignored.
 * Errors: none. Not to be called while another thread uses the end.
 */
CMIO_API void cmio_pipe_receiver_close(cmio_pipe_receiver *rx);

/* ------------------------------------------------------------------------ */
/* Named pipes (Windows; mio's windows::NamedPipe, issue 14)                */
/* ------------------------------------------------------------------------ */
/*
 * A Windows named pipe, server or client end, polled as mio polls it: a
 * pipe is not a socket, so AFD cannot poll it; its handle is opened
 * overlapped and associated with the poll's completion port, and readiness
 * is made of completions. The pipe keeps one read in flight into a read
 * buffer of its own and one write in flight out of a write buffer of its
 * own (CMIO_NAMED_PIPE_READ_BUFFER and CMIO_NAMED_PIPE_WRITE_BUFFER bytes,
 * allocated with the pipe: one allocation per cmio_named_pipe_new, _open or
 * _from_handle; registering, reading, writing and polling allocate nothing).
 * Events, for the pipe's token: readable when a read completed (its data
 * waits in the buffer), writable when the pipe connected and when a write
 * completed (the buffer is free again); when the other end is gone, the
 * event is readable (read-closed and write-closed too) and reading returns
 * 0, writing -EPIPE. Each completion is one event: edge-triggered as the
 * sockets are (read or write until -EAGAIN; the next completion gives the
 * next event), and a registration reports what already holds.
 *
 * Every function exists on every system, so that portable code compiles:
 * on POSIX systems each answers -ENOTSUP after its argument checks (no
 * pipe can be made there, so cmio_named_pipe_free has nothing to free).
 *
 * Thread-safety: a pipe has a lock of its own, so any of its functions may
 * be called from any thread, also while another thread polls (mio's
 * NamedPipe is Send and Sync); cmio_named_pipe_free must not race with
 * another call on the same pipe.
 */

/** A named pipe (opaque), made by cmio_named_pipe_new(),
 *  cmio_named_pipe_open() or cmio_named_pipe_from_handle(). */
typedef struct cmio_named_pipe cmio_named_pipe;

/** Bytes of the pipe's read buffer: the most one completed read holds. */
#define CMIO_NAMED_PIPE_READ_BUFFER 65536
/** Bytes of the pipe's write buffer: the most one cmio_named_pipe_write()
 *  takes. */
#define CMIO_NAMED_PIPE_WRITE_BUFFER 65536
/** The in and out buffer sizes cmio_named_pipe_new() asks of the kernel
 *  (mio's). */
#define CMIO_NAMED_PIPE_KERNEL_BUFFER 65536

/**
 * Create the server end of a new named pipe (mio's NamedPipe::new): `name`
 * in UTF-8, such as "\\.\pipe\my-pipe" (at most 256 characters), made with
 * CreateNamedPipeW as the first instance of that name: duplex, byte mode,
 * overlapped, unlimited instances, CMIO_NAMED_PIPE_KERNEL_BUFFER bytes
 * each way, remote clients refused, not inherited. A client connects with
 * cmio_named_pipe_open(); register the pipe, then cmio_named_pipe_connect()
 * to wait for one.
 * Errors: -EINVAL for a NULL out or name, an empty name or one that is not
 * UTF-8 or not a pipe name; -ENAMETOOLONG; -EADDRINUSE if a pipe of that
 * name exists (Windows answers a name in use as access denied, so a denied
 * access is -EADDRINUSE too; Wine 8 does not enforce the first instance
 * and makes another instance of the name); -ENOMEM; -ENOTSUP on POSIX
 * systems.
 * *out is NULL on failure. Thread-safe. One allocation (the pipe and its
 * buffers).
 */
CMIO_API int cmio_named_pipe_new(cmio_named_pipe **out, const char *name);
/**
 * Open the client end of the named pipe `name` (UTF-8), with CreateFileW
 * (read and write, FILE_FLAG_OVERLAPPED, the server allowed to identify the
 * client but not to impersonate it). Connected at once: writable after it
 * is registered. (mio has no constructor for the client: its users open a
 * File with FILE_FLAG_OVERLAPPED and adopt its handle, which
 * cmio_named_pipe_from_handle() does too.)
 * Errors: -EINVAL as for cmio_named_pipe_new(); -ENOENT if no pipe has that
 * name; -EBUSY if every instance of it is connected (wait for one, with
 * WaitNamedPipe, or create the server's next instance); -EACCES; -ENOMEM;
 * -ENOTSUP on POSIX systems. *out is NULL on failure. Thread-safe. One
 * allocation.
 */
CMIO_API int cmio_named_pipe_open(cmio_named_pipe **out, const char *name);
/**
 * Adopt a pipe handle (a HANDLE, as void * so that the declaration is the
 * same everywhere; mio's NamedPipe::from_raw_handle), of either end. It
 * must have been opened with FILE_FLAG_OVERLAPPED (else its reads and
 * writes block) and not be associated with a completion port yet. The pipe
 * owns it from then on: cmio_named_pipe_free closes it. On failure it is
 * left to the caller.
 * Errors: -EINVAL if out is NULL or the handle is not a named pipe's; -EBADF for
 * a NULL or INVALID_HANDLE_VALUE handle or one that is not open; -ENOMEM;
 * -ENOTSUP on POSIX systems. Thread-safe. One allocation.
 */
CMIO_API int cmio_named_pipe_from_handle(cmio_named_pipe **out, void *handle);
/**
 * The pipe's handle (a HANDLE; mio's as_raw_handle), still the pipe's:
 * not to be closed, nor read or written behind its back. Returns NULL for
 * a NULL pipe, and on POSIX systems.
 * Errors: none. Thread-safe.
 */
CMIO_API void *cmio_named_pipe_handle(const cmio_named_pipe *pipe);
/**
 * Close the pipe and release it; NULL is ignored. What is in flight is
 * cancelled (CancelIoEx), the write too: bytes a write accepted that the
 * other end's buffer did not take yet are lost (mio lets a pending write
 * finish), so wait for writable before freeing to flush. The memory is
 * freed when the last cancelled operation's completion is dequeued (by a
 * poll of its registry, or when that poll is freed): the kernel writes it
 * until then. The other end sees the pipe closed at once.
 * Errors: none. Not to be called while another thread uses the pipe.
 */
CMIO_API void cmio_named_pipe_free(cmio_named_pipe *pipe);

/**
 * Register the pipe with the poll of `r` (mio's Registry::register of a
 * NamedPipe): the first registration associates its handle with the poll's
 * completion port for good, and takes a reference on the poll's selector
 * (as a registry clone does) until the pipe is freed. It starts the first
 * read, and reports writable once the pipe is connected (a client at once;
 * a server whose client came); an interest filters what is reported, the
 * closed flags excepted.
 * Errors: -EINVAL for a NULL pipe or r, an interest with no readiness or
 * unknown bits; -ENOTSUP for CMIO_PRIORITY, CMIO_LEVEL or CMIO_ONESHOT
 * (a pipe is edge-triggered only), and on POSIX systems; -EEXIST if the
 * pipe is registered, or was associated with another poll's port (a handle
 * cannot leave its port: mio's AlreadyExists); -EBADF if the handle is
 * not open; -EINVAL if it is associated with a completion port of another
 * (an adopted handle). Thread-safe; allocates nothing.
 */
CMIO_API int cmio_named_pipe_register(cmio_named_pipe *pipe, cmio_registry *r, cmio_token token,
                                      cmio_interest interest);
/**
 * Replace the pipe's token and interest; what holds under the new interest
 * (data waiting, writable) is reported again.
 * Errors: -EINVAL, -ENOTSUP as for register; -ENOENT if the pipe is not
 * registered; -EEXIST if it belongs to another poll's port. Thread-safe;
 * allocates nothing.
 */
CMIO_API int cmio_named_pipe_reregister(cmio_named_pipe *pipe, cmio_registry *r, cmio_token token,
                                        cmio_interest interest);
/**
 * Stop reporting the pipe's events. The read in flight is cancelled (no
 * data is lost: data already read stays in the buffer); a connect or write
 * in flight finishes, its event dropped. The handle stays with the poll's
 * port: the pipe can be registered again with this poll only. Until then
 * reads, writes and connects return -EAGAIN.
 * Errors: -EINVAL for a NULL pipe or r; -ENOENT if the pipe is not
 * registered; -EEXIST if it belongs to another poll's port; -ENOTSUP on
 * POSIX systems. Thread-safe; allocates nothing.
 */
CMIO_API int cmio_named_pipe_deregister(cmio_named_pipe *pipe, cmio_registry *r);

/**
 * Server end: wait for a client (ConnectNamedPipe, overlapped; mio's
 * NamedPipe::connect). Returns 0 when a client is connected (it came
 * first), and then a writable event comes as after a registration; -EAGAIN
 * when the connect is in flight: a writable event comes when it completes,
 * and cmio_named_pipe_take_error() then says whether it failed.
 * Errors: -EINVAL for a NULL pipe or a client end; -EAGAIN also when the
 * pipe is not registered and while a connect is in flight; what Windows
 * answers otherwise; -ENOTSUP on POSIX systems. Thread-safe; allocates
 * nothing.
 */
CMIO_API int cmio_named_pipe_connect(cmio_named_pipe *pipe);
/**
 * Server end: disconnect the client (DisconnectNamedPipe), so that
 * cmio_named_pipe_connect() can wait for the next one. Data read from the
 * old client and not yet read by the caller is dropped, as is a write to it
 * in flight.
 * Errors: -EINVAL for a NULL pipe or a client end; what Windows answers
 * otherwise; -ENOTSUP on POSIX systems. Thread-safe; allocates nothing.
 */
CMIO_API int cmio_named_pipe_disconnect(cmio_named_pipe *pipe);
/**
 * The error of a connect that completed with one, and forget it (mio's
 * take_error): 0 if there is none, else the negative errno.
 * Errors: -EINVAL for a NULL pipe; -ENOTSUP on POSIX systems.
 * Thread-safe; allocates nothing.
 */
CMIO_API int cmio_named_pipe_take_error(cmio_named_pipe *pipe);

/**
 * Read from the read buffer: the bytes a completed read brought, at most
 * len; when it is empty the next read is started (ReadFile into the
 * buffer) and -EAGAIN returned until it completes, which is a readable
 * event. 0: the other end is gone (the end of the stream, at every call
 * from then on; or len is 0).
 * Errors: -EINVAL for a NULL pipe, or buf NULL with len > 0; -EAGAIN as
 * above, also while the pipe is not registered (mio) or no client is
 * connected yet; -ENOTCONN after cmio_named_pipe_disconnect() until the
 * next connect; a read's failure otherwise (once; the next call reads
 * again); -ENOTSUP on POSIX systems. Thread-safe; allocates nothing.
 */
CMIO_API ssize_t cmio_named_pipe_read(cmio_named_pipe *pipe, void *buf, size_t len);
/**
 * Copy at most CMIO_NAMED_PIPE_WRITE_BUFFER bytes of buf into the write
 * buffer and start writing them (WriteFile); returns how many it took. The
 * buffer is busy until that write completes, which is a writable event:
 * until then a write returns -EAGAIN, so a longer message goes out over
 * several writable events.
 * Errors: -EINVAL for a NULL pipe, or buf NULL with len > 0; -EAGAIN as
 * above, also while the pipe is not registered or no client is connected
 * yet; -EPIPE when the other end is gone (also reported by the write that
 * finds it: the next call returns it once); -ENOTCONN after a disconnect;
 * -ENOTSUP on POSIX systems. Thread-safe; allocates nothing (the copy goes
 * to the pipe's own buffer).
 */
CMIO_API ssize_t cmio_named_pipe_write(cmio_named_pipe *pipe, const void *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* TcpSocket (mio 0.7) and the socket options mio dropped (issue 12)       */
/* ------------------------------------------------------------------------ */
/*
 * cmio_tcp_socket is a TCP socket before it is a stream or a listener: made
 * by new_v4/new_v6 (non-blocking, close-on-exec), given its options, bound,
 * then consumed by connect (into a cmio_tcp_stream) or listen (into a
 * cmio_tcp_listener). "Consumed" means that its fd moves into the result
 * and the socket's fd becomes CMIO_FD_INVALID, as mio's connect(self) and listen(self)
 * move the socket; when the system call fails the socket is closed (fd CMIO_FD_INVALID)
 * and the error returned, so that no path leaves a descriptor to the
 * caller twice. An argument error caught at the door (NULL, -EBADF, an
 * address of the wrong family) consumes nothing.
 *
 * The options, each a setter and a getter writing through an out pointer:
 *  - reuseaddr (SO_REUSEADDR), reuseport (SO_REUSEPORT: several sockets of
 *    one user bound to one address and port, the kernel spreading incoming
 *    connections or datagrams over them; set it on every one before its
 *    bind; -ENOTSUP where the OS has none);
 *  - linger (SO_LINGER in seconds, SO_LINGER_SEC on macOS): seconds >= 0
 *    makes close() wait that long for unsent data (0: reset the connection
 *    at close), negative turns it off; the getter gives -1 when off;
 *  - recv/send buffer size (SO_RCVBUF, SO_SNDBUF): a request; the kernel
 *    may round or clamp it, and Linux doubles it for its bookkeeping, so
 *    the getter gives at least what was asked unless a system limit
 *    (net.core.rmem_max, wmem_max) caps it; -EINVAL above INT_MAX;
 *  - keepalive (SO_KEEPALIVE and its parameters): NULL turns it off; a
 *    cmio_keepalive turns it on and sets each non-zero part, the idle time
 *    before the first probe (TCP_KEEPIDLE; TCP_KEEPALIVE on macOS), the
 *    interval between probes (TCP_KEEPINTVL) and the probes before the
 *    connection is dropped (TCP_KEEPCNT); 0 leaves that part at the OS
 *    default. A non-zero part whose option this OS lacks gives -ENOTSUP
 *    and nothing is changed; a part above INT_MAX gives -EINVAL. The
 *    getter says whether it is on; keepalive_params reads the three values
 *    in effect (0 for a part the OS lacks).
 *    On Windows: the parts are TCP_KEEPALIVE, TCP_KEEPINTVL and TCP_KEEPCNT
 *    (Windows 10 1709 and later have all three); a Windows without one,
 *    and Wine, refuse it at run time, and cmio asks first, so that part is
 *    -ENOTSUP with nothing changed and reads 0. SO_REUSEPORT does not
 *    exist there: reuseport is -ENOTSUP.
 * The same options where they apply on streams (keepalive, linger, buffer
 * sizes: cmio_tcp_stream_set_keepalive, ...) and UDP sockets (buffer sizes,
 * reuseport), with the same names and rules.
 *
 * Errors of every function below: the common ones of the Net section
 * (-EINVAL for NULL, -EBADF for a closed or consumed socket), and the
 * system call's errno, negated (for an option: -ENOPROTOOPT, -ENOTSOCK on a
 * descriptor that is not a TCP socket, -EINVAL for a value the kernel
 * refuses). Thread-safe as the system call. None allocates; each option
 * call is one setsockopt/getsockopt per option it touches.
 */

/** mio 0.7's TcpSocket: a TCP socket before bind/connect/listen. */
typedef struct cmio_tcp_socket {
    cmio_fd fd;
} cmio_tcp_socket;

/** Keepalive parameters, in seconds and probes; 0: the OS default. */
typedef struct cmio_keepalive {
    unsigned idle_s, interval_s, count;
} cmio_keepalive;

/**
 * A new IPv4 TCP socket, non-blocking and close-on-exec in one system call
 * where the OS allows. *out holds CMIO_FD_INVALID unless it succeeds.
 * Errors: -EINVAL if out is NULL; -EMFILE/-ENFILE; -EAFNOSUPPORT. Thread-safe as socket(2).
 */
CMIO_API int cmio_tcp_socket_new_v4(cmio_tcp_socket *out);
/**
 * As cmio_tcp_socket_new_v4(), for IPv6.
 * Errors: as cmio_tcp_socket_new_v4(); -EAFNOSUPPORT where the OS or the
 * kernel has no IPv6. Thread-safe as socket(2).
 */
CMIO_API int cmio_tcp_socket_new_v6(cmio_tcp_socket *out);
/** SO_REUSEADDR on or off. Errors: plus the common ones. Thread-safe as setsockopt(2). */
CMIO_API int cmio_tcp_socket_set_reuseaddr(cmio_tcp_socket *s, bool on);
/** Whether SO_REUSEADDR is on. Errors: plus the common ones. Thread-safe as getsockopt(2). */
CMIO_API int cmio_tcp_socket_reuseaddr(const cmio_tcp_socket *s, bool *out);
/** SO_REUSEPORT on or off, before bind. Errors: -ENOTSUP where the OS has none (On Windows: always);
 *  plus the common ones. Thread-safe as setsockopt(2). */
CMIO_API int cmio_tcp_socket_set_reuseport(cmio_tcp_socket *s, bool on);
/** Whether SO_REUSEPORT is on. Errors: -ENOTSUP where the OS has none (On Windows: always); plus the
 *  common ones. Thread-safe as getsockopt(2). */
CMIO_API int cmio_tcp_socket_reuseport(const cmio_tcp_socket *s, bool *out);
/** SO_LINGER: seconds >= 0 on, negative off (see above). Errors: plus the common ones.
 *  Thread-safe as setsockopt(2). */
CMIO_API int cmio_tcp_socket_set_linger(cmio_tcp_socket *s, int seconds);
/** The linger time in seconds, -1 when off. Errors: plus the common ones. Thread-safe as getsockopt(2). */
CMIO_API int cmio_tcp_socket_linger(const cmio_tcp_socket *s, int *out);
/** Ask for a receive buffer of `bytes` (SO_RCVBUF). Errors: -EINVAL above INT_MAX; plus the common ones.
 *  Thread-safe as setsockopt(2). */
CMIO_API int cmio_tcp_socket_set_recv_buffer_size(cmio_tcp_socket *s, size_t bytes);
/** The receive buffer's size as the kernel reports it. Errors: plus the common ones.
 *  Thread-safe as getsockopt(2). */
CMIO_API int cmio_tcp_socket_recv_buffer_size(const cmio_tcp_socket *s, size_t *out);
/** Ask for a send buffer of `bytes` (SO_SNDBUF). Errors: -EINVAL above INT_MAX; plus the common ones.
 *  Thread-safe as setsockopt(2). */
CMIO_API int cmio_tcp_socket_set_send_buffer_size(cmio_tcp_socket *s, size_t bytes);
/** The send buffer's size as the kernel reports it. Errors: plus the common ones.
 *  Thread-safe as getsockopt(2). */
CMIO_API int cmio_tcp_socket_send_buffer_size(const cmio_tcp_socket *s, size_t *out);
/**
 * Keepalive off (ka NULL) or on with ka's non-zero parts (see above).
 * On Windows: a part is -ENOTSUP where the running system lacks its option
 * (before Windows 10 1709; Wine), asked with a getsockopt first.
 * Errors: -ENOTSUP for a non-zero part this OS lacks (nothing changed);
 * -EINVAL for a part above INT_MAX; plus the common ones. Thread-safe as setsockopt(2).
 */
CMIO_API int cmio_tcp_socket_set_keepalive(cmio_tcp_socket *s, const cmio_keepalive *ka);
/** Whether SO_KEEPALIVE is on. Errors: plus the common ones. Thread-safe as getsockopt(2). */
CMIO_API int cmio_tcp_socket_keepalive(const cmio_tcp_socket *s, bool *out);
/** The keepalive parameters in effect (the OS defaults where not set; 0 for a part the OS lacks). Errors: plus the common ones.
 *  Thread-safe as getsockopt(2). */
CMIO_API int cmio_tcp_socket_keepalive_params(const cmio_tcp_socket *s, cmio_keepalive *out);
/**
 * Bind to addr, an IP address of the socket's family (port 0: one the
 * kernel picks; read it with cmio_tcp_socket_local_addr()).
 * Errors: -EINVAL for a NULL address, one that is not IP or not of the
 * socket's family; -EADDRINUSE; -EADDRNOTAVAIL; -EACCES; plus the common ones.
 * Thread-safe as getsockname(2) and bind(2).
 */
CMIO_API int cmio_tcp_socket_bind(cmio_tcp_socket *s, const cmio_sockaddr *addr);
/**
 * Connect to addr and move the socket into *out (s->fd becomes CMIO_FD_INVALID): a
 * connect in progress is success, as cmio_tcp_stream_connect()'s, and the
 * stream becomes writable (or errored: take_error) when it completes.
 * On a failed connect(2) s is closed (fd CMIO_FD_INVALID) and *out holds CMIO_FD_INVALID.
 * Errors: -EINVAL if out is NULL or addr as for bind (nothing consumed);
 * -ECONNREFUSED, -ENETUNREACH, -EADDRNOTAVAIL, ...; plus the common ones. Thread-safe as connect(2).
 */
CMIO_API int cmio_tcp_socket_connect(cmio_tcp_socket *s, const cmio_sockaddr *addr, cmio_tcp_stream *out);
/**
 * Listen with `backlog` (the kernel caps it at somaxconn) and move the
 * socket into *out (s->fd becomes CMIO_FD_INVALID). On a failed listen(2) s is closed
 * and *out holds CMIO_FD_INVALID.
 * Errors: -EINVAL if out is NULL or backlog is negative (nothing
 * consumed); -EADDRINUSE when another socket listens on the port and
 * the two do not both have SO_REUSEPORT (an unbound socket is bound to a
 * port the kernel picks); plus the common ones. Thread-safe as listen(2).
 * On Windows: Winsock's listen refuses a socket not yet bound, so cmio
 * binds it first to its family's wildcard address, port 0, as listen(2)
 * does by itself on POSIX systems.
 */
CMIO_API int cmio_tcp_socket_listen(cmio_tcp_socket *s, int backlog, cmio_tcp_listener *out);
/** The bound address (0.0.0.0:0 or [::]:0 before bind). On Windows too: Winsock's getsockname says
 *  WSAEINVAL before bind, and cmio answers the wildcard address of the socket's family, port 0, as
 *  POSIX systems do. Errors: plus the common ones. Thread-safe as getsockname(2). */
CMIO_API int cmio_tcp_socket_local_addr(const cmio_tcp_socket *s, cmio_sockaddr *out);
/**
 * Adopt a TCP socket descriptor; made non-blocking and close-on-exec. Not
 * checked to be one, and not closed on error.
 * Errors: -EINVAL if out is NULL; -EBADF if fd is CMIO_FD_INVALID (negative, on POSIX) or not open. Thread-safe as fcntl(2).
 */
CMIO_API int cmio_tcp_socket_from_fd(cmio_tcp_socket *out, cmio_fd fd);
/**
 * Close the socket (if not consumed) and set s->fd to CMIO_FD_INVALID. Idempotent.
 * Returns 0 (close(2)'s own errors are not reported: the descriptor is
 * released whatever it says). Errors: -EINVAL if s is NULL. Not to be
 * called while another thread uses the socket.
 */
CMIO_API int cmio_tcp_socket_close(cmio_tcp_socket *s);

/** Keepalive on a stream, as cmio_tcp_socket_set_keepalive(). Errors: as there.
 *  Thread-safe as setsockopt(2). */
CMIO_API int cmio_tcp_stream_set_keepalive(cmio_tcp_stream *s, const cmio_keepalive *ka);
/** Whether SO_KEEPALIVE is on. Errors: plus the common ones. Thread-safe as getsockopt(2). */
CMIO_API int cmio_tcp_stream_keepalive(const cmio_tcp_stream *s, bool *out);
/** The keepalive parameters in effect, as cmio_tcp_socket_keepalive_params(). Errors: plus the common ones.
 *  Thread-safe as getsockopt(2). */
CMIO_API int cmio_tcp_stream_keepalive_params(const cmio_tcp_stream *s, cmio_keepalive *out);
/** SO_LINGER on a stream, as cmio_tcp_socket_set_linger(). Errors: plus the common ones.
 *  Thread-safe as setsockopt(2). */
CMIO_API int cmio_tcp_stream_set_linger(cmio_tcp_stream *s, int seconds);
/** The linger time in seconds, -1 when off. Errors: plus the common ones. Thread-safe as getsockopt(2). */
CMIO_API int cmio_tcp_stream_linger(const cmio_tcp_stream *s, int *out);
/** SO_RCVBUF, as cmio_tcp_socket_set_recv_buffer_size(). Errors: -EINVAL above INT_MAX; plus the common ones.
 *  Thread-safe as setsockopt(2). */
CMIO_API int cmio_tcp_stream_set_recv_buffer_size(cmio_tcp_stream *s, size_t bytes);
/** The receive buffer's size. Errors: plus the common ones. Thread-safe as getsockopt(2). */
CMIO_API int cmio_tcp_stream_recv_buffer_size(const cmio_tcp_stream *s, size_t *out);
/** SO_SNDBUF, as cmio_tcp_socket_set_send_buffer_size(). Errors: -EINVAL above INT_MAX; plus the common ones.
 *  Thread-safe as setsockopt(2). */
CMIO_API int cmio_tcp_stream_set_send_buffer_size(cmio_tcp_stream *s, size_t bytes);
/** The send buffer's size. Errors: plus the common ones. Thread-safe as getsockopt(2). */
CMIO_API int cmio_tcp_stream_send_buffer_size(const cmio_tcp_stream *s, size_t *out);

/** SO_RCVBUF on a UDP socket (mio's UdpSocket::set_recv_buffer_size). Errors: -EINVAL above INT_MAX; plus the common ones.
 *  Thread-safe as setsockopt(2). */
CMIO_API int cmio_udp_socket_set_recv_buffer_size(cmio_udp_socket *s, size_t bytes);
/** The receive buffer's size. Errors: plus the common ones. Thread-safe as getsockopt(2). */
CMIO_API int cmio_udp_socket_recv_buffer_size(const cmio_udp_socket *s, size_t *out);
/** SO_SNDBUF on a UDP socket. Errors: -EINVAL above INT_MAX; plus the common ones.
 *  Thread-safe as setsockopt(2). */
CMIO_API int cmio_udp_socket_set_send_buffer_size(cmio_udp_socket *s, size_t bytes);
/** The send buffer's size. Errors: plus the common ones. Thread-safe as getsockopt(2). */
CMIO_API int cmio_udp_socket_send_buffer_size(const cmio_udp_socket *s, size_t *out);
/**
 * SO_REUSEPORT on a UDP socket. It governs binds made after it is set, and
 * cmio_udp_socket_bind() creates and binds in one call, so a socket that is
 * to share its port is made with cmio_udp_socket_bind_reuseport(); on a
 * socket that is already bound this sets (and the getter reads) the flag
 * that later binds of other sockets to the same port check.
 * Errors: -ENOTSUP where the OS has none; plus the common ones. Thread-safe as setsockopt(2).
 */
CMIO_API int cmio_udp_socket_set_reuseport(cmio_udp_socket *s, bool on);
/** Whether SO_REUSEPORT is on. Errors: -ENOTSUP where the OS has none; plus the common ones.
 *  Thread-safe as getsockopt(2). */
CMIO_API int cmio_udp_socket_reuseport(const cmio_udp_socket *s, bool *out);

/* ------------------------------------------------------------------------ */
/* Framing (amy's FrameReader, FrameWriter, LineReader): issue 12           */
/* ------------------------------------------------------------------------ */
/*
 * Messages over a non-blocking byte stream (a TCP or Unix stream, a pipe):
 * frames, each a 4-byte big-endian length and that many bytes, and lines,
 * each ending in '\n'. The objects do no polling: register the descriptor
 * as usual and call them on its events. Each is one allocation, made by its
 * *_new; read, next, push and flush allocate nothing. None is thread-safe:
 * one thread at a time per object (different objects: any threads).
 *
 * Readers. cmio_frame_reader_read() (and cmio_line_reader_read()) reads
 * until -EAGAIN, or until its buffer is full; it returns the bytes read
 * (> 0), 0 at end of stream, -EAGAIN when nothing could be read. The caller
 * then takes frames with next() until -EAGAIN, and calls read() again,
 * until read() returns -EAGAIN: only then is the next event owed (the
 * edge-triggered rule; on the poll(2) backend that -EAGAIN, met by a read
 * through cmio, is what re-arms the descriptor, as for the socket types).
 *
 *     for (;;) {
 *         ssize_t n = cmio_frame_reader_read(r, fd);
 *         if (n == -EAGAIN) break;                 // wait for the next event
 *         if (n < 0 && n != -EINTR) { close it; break; }
 *         const void *f; uint32_t len;
 *         while (cmio_frame_reader_next(r, &f, &len) == 0)
 *             handle(f, len);
 *         if (n == 0) { end of stream: close it; break; }
 *     }
 *
 * Writer. cmio_frame_writer_push() copies a frame and its prefix into the
 * writer's queue; cmio_frame_writer_flush() writes the queue out with
 * writev-style calls until it is empty or the descriptor would block,
 * resuming anywhere, also inside a prefix. Register the descriptor for
 * CMIO_WRITABLE while cmio_frame_writer_is_empty() is false.
 */
typedef struct cmio_frame_reader cmio_frame_reader;
/**
 * A reader of frames of at most max_frame bytes (not counting the prefix).
 * Its buffer (one allocation with the reader) holds max_frame + 4 bytes,
 * and at least 4096, so one read(2) takes many small frames.
 * Errors: -EINVAL for a NULL out, a max_frame of 0, or one whose buffer
 * size does not fit a size_t; -ENOMEM. *out is NULL on failure.
 * Thread-safe (a new object). Allocates once; no system call.
 */
CMIO_API int cmio_frame_reader_new(cmio_frame_reader **out, uint32_t max_frame);
/**
 * Read from fd (any readable non-blocking descriptor) into the buffer: one
 * read(2) after another until -EAGAIN, end of stream, or a full buffer
 * (which holds complete frames then, and perhaps the start of one more).
 * Moves the bytes not yet taken to the front first, which ends every view
 * that cmio_frame_reader_next() handed out. Each header is checked as soon
 * as its 4 bytes are in: one announcing more than max_frame fails the
 * stream at once, without waiting for or buffering room for its body.
 * Returns the bytes read (> 0) even when it then met -EAGAIN or an error
 * (an error other than -EAGAIN is then returned by the next call); 0 at end
 * of stream (and at every call after it); -EAGAIN when nothing could be
 * read. A call after one that met -EAGAIN having read bytes returns -EAGAIN
 * at once, without a system call (nothing more is owed before the next
 * event); calling it again after that reads again.
 * Errors: -EINVAL if r is NULL; -EBADF for CMIO_FD_INVALID (a negative fd on POSIX); -EAGAIN as above;
 * -EMSGSIZE when a header announces more than max_frame (sticky: the stream
 * cannot be resynchronised, close it; next() still hands out the frames
 * before it); -ENOBUFS when the buffer is full of frames not taken with
 * next(); -EINTR; the read's errors (-ECONNRESET, -EBADF, ...).
 * Not thread-safe (one thread per reader). Allocates nothing. System calls:
 * read(2) until one of the conditions above, none when the last call
 * already met -EAGAIN.
 */
CMIO_API ssize_t cmio_frame_reader_read(cmio_frame_reader *r, cmio_fd fd);
/**
 * Take the next complete frame: *frame points at its bytes inside the
 * reader's buffer, *len is its length (0 for an empty frame; *frame is
 * still valid then). The view stays valid until the next call on the
 * reader (next, read or free). Frames come out in the order they were sent,
 * exactly as they were sent.
 * Errors: -EINVAL for NULL arguments; -EAGAIN if no complete frame is
 * buffered (read() again); -EMSGSIZE when the next header announced more
 * than max_frame; -EPROTO when the stream ended (read() returned 0) inside a
 * frame: the bytes left are a truncated frame. *frame and *len are set only
 * on success.
 * Not thread-safe. Allocates nothing; no system call.
 */
CMIO_API int cmio_frame_reader_next(cmio_frame_reader *r, const void **frame, uint32_t *len);
/**
 * Free the reader and its buffer (the descriptor is the caller's). Accepts
 * NULL. Errors: none. Not to be called while another thread uses r.
 */
CMIO_API void cmio_frame_reader_free(cmio_frame_reader *r);

typedef struct cmio_frame_writer cmio_frame_writer;
/**
 * A writer that can queue capacity bytes: each frame counts its 4-byte
 * prefix and its length against it.
 * Errors: -EINVAL for a NULL out, a capacity below 4 (no frame would fit)
 * or one whose allocation size does not fit a size_t; -ENOMEM. *out is
 * NULL on failure.
 * Thread-safe (a new object). Allocates once; no system call.
 */
CMIO_API int cmio_frame_writer_new(cmio_frame_writer **out, size_t capacity);
/**
 * Queue a copy of the len bytes at frame, after its prefix. Nothing is
 * written yet: call cmio_frame_writer_flush().
 * Errors: -EINVAL if w is NULL, or frame is NULL with len > 0; -ENOBUFS when
 * the frame and its prefix do not fit in the room left (flush first; a frame
 * longer than capacity - 4 never fits). Nothing is queued on error.
 * Not thread-safe. Allocates nothing; no system call.
 */
CMIO_API int cmio_frame_writer_push(cmio_frame_writer *w, const void *frame, uint32_t len);
/**
 * Write the queue to fd until it is empty or fd would block; a partial write
 * (also one that splits a prefix) resumes where it stopped at the next
 * flush. Never raises SIGPIPE: on a socket each write is a sendmsg(2) of the
 * queue (one or two pieces) with MSG_NOSIGNAL; on a descriptor that is not a
 * socket (a pipe: sendmsg says -ENOTSOCK once, remembered for that fd) it
 * is cmio_pipe_sender_write() of one piece. On -EAGAIN the descriptor is
 * re-armed for writing on the poll(2) backend, as by the socket types.
 * Returns the bytes written (> 0) even when it then met -EAGAIN or an error
 * (an error other than -EAGAIN is returned by the next call); 0 when the
 * queue is empty; -EAGAIN when nothing could be written.
 * Errors: -EINVAL if w is NULL; -EBADF for CMIO_FD_INVALID (a negative fd on POSIX); -EAGAIN; -EPIPE
 * when the peer is gone; -EINTR; the write's errors (-ECONNRESET, ...). Over TCP (and so on Windows,
 * which has no socket pairs) the first flush after the peer closes may succeed, the peer answering it
 * with a reset: a later one is -ECONNRESET (on Linux then -EPIPE); a Unix socket pair is -EPIPE at once.
 * Not thread-safe. Allocates nothing. System calls: one write per piece
 * written, until empty or -EAGAIN.
 */
CMIO_API ssize_t cmio_frame_writer_flush(cmio_frame_writer *w, cmio_fd fd);
/**
 * Whether nothing is queued (also true for NULL). Errors: none. Not
 * thread-safe against the writer's other calls. No system call.
 */
CMIO_API bool cmio_frame_writer_is_empty(const cmio_frame_writer *w);
/**
 * Free the writer and what it still queues (the descriptor is the caller's).
 * Accepts NULL. Errors: none. Not to be called while another thread uses w.
 */
CMIO_API void cmio_frame_writer_free(cmio_frame_writer *w);

typedef struct cmio_line_reader cmio_line_reader;
/**
 * A reader of lines of at most max_line bytes, not counting the '\n' that
 * ends each. Only '\n' ends a line: a "\r\n" line comes out with its '\r'
 * (strip it if the protocol is CRLF-delimited). Its buffer holds max_line + 1
 * bytes, and at least 4096.
 * Errors: -EINVAL for a NULL out, a max_line of 0 or one whose buffer size
 * does not fit a size_t; -ENOMEM. *out is NULL on failure.
 * Thread-safe (a new object). Allocates once; no system call.
 */
CMIO_API int cmio_line_reader_new(cmio_line_reader **out, size_t max_line);
/**
 * As cmio_frame_reader_read(), for lines: reads until -EAGAIN, end of
 * stream or a full buffer, and fails the stream with -EMSGSIZE (sticky) as
 * soon as more than max_line bytes came without a '\n'. Views handed out by
 * cmio_line_reader_next() end here.
 * Errors: as cmio_frame_reader_read(), -EMSGSIZE past max_line.
 * Not thread-safe. Allocates nothing. System calls: read(2) as above.
 */
CMIO_API ssize_t cmio_line_reader_read(cmio_line_reader *r, cmio_fd fd);
/**
 * Take the next complete line: *line points at its bytes in the reader's
 * buffer, without its '\n' and not NUL-terminated; *len is its length (0
 * for an empty line). Valid until the next call on the reader.
 * Errors: -EINVAL for NULL arguments; -EAGAIN if no complete line is
 * buffered; -EMSGSIZE once the lines before the one that was too long are
 * taken; -EPROTO when the stream ended after bytes without a '\n' (a line
 * cut short). *line and *len are set only on success.
 * Not thread-safe. Allocates nothing; no system call.
 */
CMIO_API int cmio_line_reader_next(cmio_line_reader *r, const char **line, size_t *len);
/**
 * Free the reader and its buffer. Accepts NULL. Errors: none. Not to be
 * called while another thread uses r.
 */
CMIO_API void cmio_line_reader_free(cmio_line_reader *r);

#ifdef __cplusplus
}
#endif

#endif /* CMIO_H */
