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
 *  - Opaque objects are made by cmio_X_new() and released by cmio_X_free(),
 *    which accepts NULL.
 *  - Events are edge-triggered: an event says a descriptor became ready.
 *    Read or write until -EAGAIN before waiting for the next event.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CMIO_H
#define CMIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CMIO_BUILDING) && (defined(__GNUC__) || defined(__clang__))
#define CMIO_API __attribute__((visibility("default")))
#else
#define CMIO_API
#endif

/** Library version, as numbers and as text. */
#define CMIO_VERSION_MAJOR 0
#define CMIO_VERSION_MINOR 1
#define CMIO_VERSION_PATCH 0
#define CMIO_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------------ */
/* Tokens, interests and events                                             */
/* ------------------------------------------------------------------------ */

/** mio::Token: an opaque value given back with each event. A pointer fits. */
typedef uintptr_t cmio_token;

/** mio::Interest: the readiness a registration asks for. Never 0. */
typedef uint8_t cmio_interest;

#define CMIO_READABLE ((cmio_interest)0x01) /**< read readiness */
#define CMIO_WRITABLE ((cmio_interest)0x02) /**< write readiness */
/** Priority (out-of-band) readiness, where the OS has it (epoll's EPOLLPRI).
 *  Registering it on a backend without it returns -ENOTSUP. */
#define CMIO_PRIORITY ((cmio_interest)0x04)

/* Bits of cmio_event.flags. Read them through the cmio_event_is_* functions,
 * which return false for a NULL event. */
#define CMIO_EVENT_READABLE 0x01u     /**< the descriptor became readable */
#define CMIO_EVENT_WRITABLE 0x02u     /**< the descriptor became writable */
#define CMIO_EVENT_ERROR 0x04u        /**< a pending error (take_error) */
#define CMIO_EVENT_READ_CLOSED 0x08u  /**< peer closed its write side or gone */
#define CMIO_EVENT_WRITE_CLOSED 0x10u /**< writing can no longer succeed */
#define CMIO_EVENT_PRIORITY 0x20u     /**< priority data is readable */

/**
 * One readiness event (mio::event::Event): the token the descriptor was
 * registered with and a set of CMIO_EVENT_* bits. A plain struct: copy it
 * freely. Its layout is part of the ABI.
 */
typedef struct cmio_event {
    cmio_token token;
    uint32_t flags;
} cmio_event;

typedef struct cmio_poll cmio_poll;
typedef struct cmio_registry cmio_registry;
typedef struct cmio_events cmio_events;
typedef struct cmio_waker cmio_waker;

/**
 * The events buffer (mio::Events), made by cmio_events_new() and filled by
 * cmio_poll_poll(). Its fields are documented so that the per-event
 * accessors below can be inlined; treat them as read-only and use the
 * functions. `items` holds `len` events; `capacity` is exactly the capacity
 * given to cmio_events_new(); `scratch` is the backend's buffer for kernel
 * records.
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
 * text is static (strerror's table) and must not be freed. Thread-safe.
 */
CMIO_API const char *cmio_strerror(int err);

/* ------------------------------------------------------------------------ */
/* Poll                                                                     */
/* ------------------------------------------------------------------------ */

/**
 * Create a poll over the default backend of this OS (epoll on Linux), or
 * over the backend named by the environment variable CMIO_BACKEND when it is
 * set and not empty (one of cmio_backends()).
 *
 * Errors: -EINVAL if out is NULL; -ENOTSUP if CMIO_BACKEND names a backend
 * that is not built in; -ENOMEM; -EMFILE/-ENFILE when descriptors run out;
 * any error of the backend's selector creation (epoll_create1).
 * The selector descriptor is close-on-exec. Thread-safe.
 */
CMIO_API int cmio_poll_new(cmio_poll **out);

/**
 * Create a poll over the named backend ("epoll"; later "poll", "kqueue").
 *
 * Errors: -EINVAL if out or name is NULL; -ENOTSUP if no backend of that
 * name is built in; otherwise as cmio_poll_new(). Thread-safe.
 */
CMIO_API int cmio_poll_new_with_backend(cmio_poll **out, const char *name);

/**
 * The name of the poll's backend ("epoll", ...), or NULL if poll is NULL.
 * The string is static. Thread-safe.
 */
CMIO_API const char *cmio_poll_backend(const cmio_poll *poll);

/**
 * The NULL-terminated list of the backends built into this library, the
 * default of this OS first. The array is static. Thread-safe.
 */
CMIO_API const char *const *cmio_backends(void);

/**
 * Release a poll, its registry and its selector. Accepts NULL. Clones of the
 * registry (cmio_registry_try_clone) and wakers stay valid objects but must
 * be freed by their owners; free them before the poll when they may still be
 * used. Not to be called while another thread is inside cmio_poll_poll().
 */
CMIO_API void cmio_poll_free(cmio_poll *poll);

/**
 * The poll's own registry (mio's Poll::registry). Owned by the poll: valid
 * until cmio_poll_free(); cmio_registry_free() on it does nothing. Returns
 * NULL if poll is NULL. Thread-safe.
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
 * (epoll_wait).
 *
 * Thread-safety: one thread at a time may poll a given poll. Registrations
 * through any registry of the poll may go on meanwhile from other threads.
 * Allocates nothing.
 */
CMIO_API int cmio_poll_poll(cmio_poll *poll, cmio_events *events, int timeout_ms);

/* ------------------------------------------------------------------------ */
/* Registry                                                                 */
/* ------------------------------------------------------------------------ */

/**
 * Register `fd` for the readiness in `interest`, to be reported with
 * `token`. Edge-triggered: after an event, read or write until -EAGAIN;
 * readiness that arrives after the -EAGAIN gives a new event. A closed or
 * errored descriptor is reported whatever the interest.
 *
 * Errors: -EINVAL if r is NULL, interest is 0 or has unknown bits;
 * -EBADF if fd is negative or not an open descriptor; -EEXIST if fd is
 * already registered with this registry (or a clone of it); -ENOTSUP if
 * interest has CMIO_PRIORITY on a backend without it; -EPERM if the
 * descriptor cannot be polled (a regular file under epoll); -ENOMEM/-ENOSPC
 * when the kernel's limits are reached.
 *
 * Thread-safe: may be called from any thread, also while another thread is
 * blocked in cmio_poll_poll(); the registration takes effect at once.
 * Allocates nothing.
 */
CMIO_API int cmio_registry_register(cmio_registry *r, int fd, cmio_token token,
                                    cmio_interest interest);

/**
 * Replace the token and interest of a registered descriptor. Readiness that
 * already holds under the new interest is reported again.
 *
 * Errors: -EINVAL as for register; -EBADF for an invalid fd; -ENOENT if fd
 * is not registered; -ENOTSUP as for register. Thread-safe; allocates
 * nothing.
 */
CMIO_API int cmio_registry_reregister(cmio_registry *r, int fd, cmio_token token,
                                      cmio_interest interest);

/**
 * Stop reporting events for `fd`. Deregister a descriptor before closing
 * it: closing a registered descriptor that was duplicated (dup, fork) can
 * leave the kernel reporting it.
 *
 * Errors: -EINVAL if r is NULL; -EBADF for an invalid fd; -ENOENT if fd is
 * not registered. Thread-safe; allocates nothing.
 */
CMIO_API int cmio_registry_deregister(cmio_registry *r, int fd);

/**
 * Make a new handle on the same registry, for use from another thread
 * (mio's Registry::try_clone). On epoll it holds a close-on-exec duplicate
 * of the epoll descriptor. Descriptors registered through any handle are
 * registered with all of them. Release it with cmio_registry_free().
 *
 * Errors: -EINVAL if r or out is NULL; -ENOMEM; -EMFILE/-ENFILE.
 * Thread-safe.
 */
CMIO_API int cmio_registry_try_clone(const cmio_registry *r, cmio_registry **out);

/**
 * Release a registry made by cmio_registry_try_clone(). Does nothing for
 * the poll's own registry and for NULL. Registrations stay in place.
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
 * allocate; -ENOMEM.
 */
CMIO_API int cmio_events_new(cmio_events **out, size_t capacity);

/** Release an events buffer. Accepts NULL. */
CMIO_API void cmio_events_free(cmio_events *events);

/** The number of events the last poll stored (0 for NULL). Inline. */
static inline size_t cmio_events_len(const cmio_events *events)
{
    return events ? events->len : 0;
}

/** The capacity given to cmio_events_new() (0 for NULL). Inline. */
static inline size_t cmio_events_capacity(const cmio_events *events)
{
    return events ? events->capacity : 0;
}

/**
 * The i-th event of the last poll, or NULL if events is NULL or i is not
 * below cmio_events_len(). Valid until the next poll or clear. Inline.
 */
static inline const cmio_event *cmio_events_get(const cmio_events *events, size_t i)
{
    return events && i < events->len ? &events->items[i] : (const cmio_event *)0;
}

/** Empty the buffer (its capacity stays). Accepts NULL. Inline. */
static inline void cmio_events_clear(cmio_events *events)
{
    if (events)
        events->len = 0;
}

/** The token of the event's registration (0 if e is NULL). Inline. */
static inline cmio_token cmio_event_token(const cmio_event *e) { return e ? e->token : 0; }

/** The descriptor became readable (mio: EPOLLIN or EPOLLPRI). Inline. */
static inline bool cmio_event_is_readable(const cmio_event *e)
{
    return e && (e->flags & CMIO_EVENT_READABLE) != 0;
}

/** The descriptor became writable. Inline. */
static inline bool cmio_event_is_writable(const cmio_event *e)
{
    return e && (e->flags & CMIO_EVENT_WRITABLE) != 0;
}

/** The descriptor has a pending error; read it with take_error. Inline. */
static inline bool cmio_event_is_error(const cmio_event *e)
{
    return e && (e->flags & CMIO_EVENT_ERROR) != 0;
}

/** The peer shut down its write side, or the connection is gone. Inline. */
static inline bool cmio_event_is_read_closed(const cmio_event *e)
{
    return e && (e->flags & CMIO_EVENT_READ_CLOSED) != 0;
}

/** Writing can no longer succeed (hang-up, or error with a closed peer). Inline. */
static inline bool cmio_event_is_write_closed(const cmio_event *e)
{
    return e && (e->flags & CMIO_EVENT_WRITE_CLOSED) != 0;
}

/** Priority (out-of-band) data is readable (EPOLLPRI). Inline. */
static inline bool cmio_event_is_priority(const cmio_event *e)
{
    return e && (e->flags & CMIO_EVENT_PRIORITY) != 0;
}

/* ------------------------------------------------------------------------ */
/* Waker                                                                    */
/* ------------------------------------------------------------------------ */

/**
 * Create a waker registered with `r` under `token` (mio::Waker::new). On
 * epoll it is an eventfd registered edge-triggered. Several wakers may be
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
 * Deregister and release a waker. Accepts NULL. Not to be called while
 * another thread may still call cmio_waker_wake() on it.
 */
CMIO_API void cmio_waker_free(cmio_waker *w);

#ifdef __cplusplus
}
#endif

#endif /* CMIO_H */
