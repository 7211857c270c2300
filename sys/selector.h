/*
 * The contract between cmio's core (src/) and its per-OS backends (sys/).
 *
 * Each backend file defines one `const cmio__selector` and nothing else that
 * is visible outside it. The core picks one at cmio_poll_new() time and calls
 * it through this table; nothing in sys/ knows about net/.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CMIO_SYS_SELECTOR_H
#define CMIO_SYS_SELECTOR_H

#include "cmio.h"

#include <signal.h>
#include <stdatomic.h>

/* One backend's selector state. Each backend defines the struct. A poll owns
 * one; every registry clone owns another (a dup of the kernel object, or a
 * reference on shared state), so any of them may be closed in any order. */
typedef struct cmio__sys cmio__sys;

/* The state a backend keeps for one waker: each backend defines the struct
 * (its wake mechanism, sys/waker.h, or its own, kqueue's EVFILT_USER). */
typedef struct cmio__waker_sys cmio__waker_sys;

/* Capability bits of a backend (libevent's EV_FEATURE_* in spirit). */
enum {
    CMIO__SEL_EDGE_NATIVE = 1u << 0, /* the kernel is edge-triggered; else emulated */
    CMIO__SEL_PRIORITY = 1u << 1,    /* CMIO_PRIORITY can be registered */
    /* A hang-up is one condition of the descriptor, reported with both
     * closed flags whatever the interest (EPOLLHUP, POLLHUP); else it is
     * reported per direction registered (kqueue's EV_EOF per filter). */
    CMIO__SEL_HUP_WHOLE = 1u << 2,
    /* A reported error that is not taken (take_error, or a failed cmio I/O
     * call on the descriptor) holds back the descriptor's other readiness
     * until it is (poll(2), whose POLLERR is level-triggered); else other
     * readiness is reported whatever became of the error. */
    CMIO__SEL_ERROR_HOLDS = 1u << 3,
    /* A reported hang-up (it lasts) holds the descriptor out until it is
     * reregistered: an error that comes after it is not reported by itself
     * (a failing cmio call on the descriptor returns it, and lets one poll
     * look again); else it is a new occurrence, reported. poll(2), whose
     * POLLHUP is level-triggered. */
    CMIO__SEL_HUP_HOLDS = 1u << 4,
    /* cmio_poll_fd (issue 13): the selector is one descriptor that polls
     * readable while it has events (epoll, kqueue); else -ENOTSUP. */
    CMIO__SEL_POLL_FD = 1u << 5,
    /* The Windows backend's differences (issue 14, tests on iocp): each is
     * a property of AFD poll in mio's reading, documented in the header's
     * backend paragraph and docs/guide.md.
     * A connection reset (AFD_POLL_ABORT) is reported as a hang-up (both
     * closed flags), not with the error flag: the error is what the next
     * I/O call returns (-ECONNRESET). Elsewhere a reset sets the error
     * flag (EPOLLERR, POLLERR, EV_EOF with fflags). */
    CMIO__SEL_RESET_HUP = 1u << 6,
    /* A peer's graceful close (AFD_POLL_DISCONNECT) is reported only to
     * a registration with CMIO_READABLE (mio asks DISCONNECT with
     * readable): a writable-only registration does not see it (it sees a
     * reset, and sends failing). Elsewhere the hang-up reaches every
     * interest (EPOLLHUP/EPOLLRDHUP, POLLHUP, EV_EOF on EVFILT_WRITE). */
    CMIO__SEL_FIN_NEEDS_READ = 1u << 7,
    /* Registering allocates the descriptor's state (one allocation per
     * register, freed after deregister: the iocp backend's struct sock,
     * which the kernel writes while its poll is in flight), and the first
     * registrations may grow its map; reregistering, deregistering,
     * polling and waking allocate nothing. Elsewhere registration
     * allocates nothing after set-up. */
    CMIO__SEL_REGISTER_ALLOCATES = 1u << 8,
    /* select is never interrupted by a signal (no -EINTR): Windows has no
     * POSIX signals to interrupt GetQueuedCompletionStatusEx. */
    CMIO__SEL_NO_EINTR = 1u << 9,
    /* A peer's shutdown that comes with data unread may be reported only
     * once the data is read: readable first, read-closed at the poll after
     * a read (Wine's AFD reports RECEIVE alone while data is queued, and
     * DISCONNECT after; the iocp backend promises no more than that).
     * Elsewhere read-closed comes with the data (EPOLLRDHUP, POLLHUP,
     * EV_EOF). */
    CMIO__SEL_FIN_AFTER_DATA = 1u << 10,
    /* A local shutdown (cmio_*_shutdown, reading or both) is not reported
     * as an event: AFD reports what the peer and the network do, not the
     * socket's own shutdown (mio's tests skip these on Windows). The read
     * that follows returns the end (0). Elsewhere the shutdown is
     * reported read-closed (EPOLLRDHUP, POLLRDHUP, EV_EOF). */
    CMIO__SEL_LOCAL_SHUTDOWN_SILENT = 1u << 11,
    /* A reported error is not reported again as an event until the
     * descriptor is reregistered: AFD's CONNECT_FAIL lasts once it holds,
     * so the iocp backend does not re-arm it when the error is taken (a
     * failed connect would be reported at every poll), and a datagram
     * socket's next ICMP error is what take_error or the next I/O call
     * returns, reported after a reregister (Wine's server, too, stops
     * watching a connected UDP socket for errors once one is reported).
     * Elsewhere each new error of a datagram socket is a new occurrence,
     * reported (EPOLLERR, POLLERR, EV_EOF per error). */
    CMIO__SEL_ERROR_ONCE = 1u << 12,
    /* Both holding rules are rules of edge mode (and of oneshot mode before
     * its one report): a CMIO_LEVEL registration reports a hang-up or an
     * error at every poll while it holds, on every backend. */
};

/* rearm's `direction` when fd's pending error was taken (take_error) or a
 * call on fd failed with an error other than -EAGAIN (also in src/rearm.h,
 * the net layer's side of the seam). */
#ifndef CMIO__ERROR_TAKEN
#define CMIO__ERROR_TAKEN ((cmio_interest)0)
#endif

/* Completion sources (issue 14; cmio_named_pipe, net/named_pipe.c): an
 * object whose handle is associated with the iocp selector's completion
 * port and whose overlapped operations complete through it. Each operation
 * is one struct cmio__overlapped of the object's own memory; the selector
 * never looks inside the object. */
struct cmio__overlapped;
#ifdef _WIN32
/* Called by select for a dequeued completion of op (no selector lock held,
 * so it may take its object's lock): `bytes` is the completion's byte count
 * (for a packet posted with handle_post, the value posted). It returns the
 * CMIO_EVENT_* flags of at most one event, with *token set (0: no event),
 * and sets *reaped when op's object was released (handle_detach with
 * zombie) and this was its last completion, so that the selector counts one
 * zombie less. Also called while the selector closes (to reap zombies): its
 * events are then dropped. */
typedef uint32_t (*cmio__overlapped_done)(struct cmio__overlapped *op, DWORD bytes, cmio_token *token,
                                          bool *reaped);
struct cmio__overlapped {
    OVERLAPPED ov; /* first: the completion's lpOverlapped is &op->ov */
    cmio__overlapped_done done;
};
#endif

typedef struct cmio__selector {
    const char *name;   /* "epoll", "poll", "kqueue" */
    unsigned caps;      /* CMIO__SEL_* bits */
    size_t record_size; /* bytes of events->scratch needed per unit of capacity */

    /* Create a selector; destroy one (a poll's or a clone's). */
    int (*open)(cmio__sys **out);
    int (*clone)(cmio__sys *sys, cmio__sys **out);
    void (*close)(cmio__sys *sys);

    /* Registration. Arguments were validated by the core: fd is a descriptor
     * value (not CMIO_FD_INVALID; on POSIX >= 0), interest
     * with at least one readiness bit (READABLE, WRITABLE, PRIORITY) and
     * known bits only, the mode bits LEVEL and ONESHOT included (every
     * backend implements them), PRIORITY only where caps allow it. They
     * return 0 or a negative errno as the header documents them. */
    int (*reg)(cmio__sys *sys, cmio_fd fd, cmio_token token, cmio_interest interest);
    int (*rereg)(cmio__sys *sys, cmio_fd fd, cmio_token token, cmio_interest interest);
    int (*dereg)(cmio__sys *sys, cmio_fd fd);

    /* Wait at most timeout_ms (negative: forever) and fill events->items,
     * in this OS's record (sys/record.h), at most events->capacity of them,
     * setting events->len (to 0 on failure). Returns the count or a
     * negative errno (-EINTR on a signal). Timeouts: with a negative one it
     * returns only with events or an error (a backend woken for its own
     * reasons waits on itself, as poll(2)'s does after a registration);
     * with a positive one it may return 0 early, and the core
     * (cmio__poll in src/poll.c) owns the loop that waits out the rest, so
     * that a positive timeout never ends early; 0 looks once. */
    int (*select)(cmio__sys *sys, cmio_events *events, int timeout_ms);
    /* Where select is exactly epoll_wait(2) on one descriptor into the
     * caller's buffer, that descriptor (the header's inline cmio_poll_poll
     * calls epoll_wait itself with a timeout of 0 or less); else NULL. */
    int (*fast_fd)(cmio__sys *sys);

    /* Wakers: make one registered under token, wake it (any thread, never
     * blocks), release it. */
    int (*waker_open)(cmio__sys *sys, cmio_token token, cmio__waker_sys **out);
    int (*waker_wake)(cmio__waker_sys *w);
    void (*waker_close)(cmio__waker_sys *w);

    /* Backends that emulate edge triggering (no CMIO__SEL_EDGE_NATIVE):
     * an I/O call through cmio on fd returned -EAGAIN in `direction`
     * (CMIO_READABLE or CMIO_WRITABLE), so every selector of this backend
     * that has fd registered re-arms that part of its interest; or
     * (CMIO__ERROR_TAKEN) a call on fd failed otherwise or read its pending
     * error, so a reported error is no longer pending. Process-wide (not
     * per selector); any thread. NULL for native backends. */
    void (*rearm)(cmio_fd fd, cmio_interest direction);

    /* Signals (src/signals.c). Where the kernel reports signals as events
     * of the selector itself (kqueue's EVFILT_SIGNAL): add one knote per
     * signal of `set` with `token` as its udata (-EEXIST if one of them
     * already has a knote on this selector, which kqueue would replace
     * silently), and remove them. The set is valid (not empty, no SIGKILL
     * or SIGSTOP) and blocked by the caller. NULL elsewhere: the core then
     * registers a descriptor (a signalfd, or its helper thread's pipe). */
    int (*signals_add)(cmio__sys *sys, cmio_token token, const cmio_sigset *set);
    void (*signals_remove)(cmio__sys *sys, const cmio_sigset *set);

    /* cmio_poll_fd (issue 13): the selector's descriptor, readable while
     * it has events to report, where caps has CMIO__SEL_POLL_FD; else
     * NULL. */
    int (*poll_fd)(cmio__sys *sys);

    /* Completion sources (see struct cmio__overlapped), where the backend
     * is a completion port (iocp); NULL elsewhere. handle_attach
     * associates `handle` (a HANDLE opened overlapped) with the port, so
     * that each of its operations completes there as a cmio__overlapped,
     * and takes a reference on sys (as a clone does): the object keeps
     * sys for the handle's life, since a handle cannot leave its port.
     * handle_post queues a packet of op's with `bytes` as its byte count,
     * which select hands to op->done (an event the object owes without an
     * operation: writable after a registration). handle_detach drops the
     * reference; with `zombie`, the object still has completions to come,
     * and the selector's close waits for them (reaped by op->done) before
     * it frees the port. Any thread. */
    int (*handle_attach)(cmio__sys *sys, void *handle);
    int (*handle_post)(cmio__sys *sys, struct cmio__overlapped *op, uint32_t bytes);
    void (*handle_detach)(cmio__sys *sys, bool zombie);
} cmio__selector;

/* How many selectors of emulating backends are open in the process. The
 * backends keep it (relaxed increments and decrements); the net layer reads
 * it on -EAGAIN only, and calls the rearm hooks only when it is not 0, so a
 * program that uses native backends pays one relaxed load per -EAGAIN. */
extern atomic_uint cmio__rearm_users;

#ifdef CMIO_HAVE_EPOLL
extern const cmio__selector cmio__selector_epoll;
#endif
#ifdef CMIO_HAVE_KQUEUE
extern const cmio__selector cmio__selector_kqueue;
#endif
#ifdef CMIO_HAVE_POLL
extern const cmio__selector cmio__selector_poll;
#endif
#ifdef CMIO_HAVE_IOCP
/* Windows (issue 14): AFD poll over an I/O completion port, sys/windows.c
 * and sys/afd.c; edges emulated (no CMIO__SEL_EDGE_NATIVE), re-armed
 * through rearm. */
extern const cmio__selector cmio__selector_iocp;
/* The tests' seam for "this thread waits in the selector" (tests/helpers.c,
 * wait_until_blocked_in_poll): a thread's id (GetCurrentThreadId) sits in
 * one slot from right before GetQueuedCompletionStatusEx until it returns
 * (a thread that finds no free slot is not marked). One compare-exchange
 * and one store per select; nothing else reads it. */
#define CMIO__IOCP_WAITER_SLOTS 16
extern atomic_ulong cmio__iocp_waiters[CMIO__IOCP_WAITER_SLOTS];
#endif

#endif /* CMIO_SYS_SELECTOR_H */
