/*
 * Declarations shared by the files of src/ (not installed).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CMIO_SRC_INTERNAL_H
#define CMIO_SRC_INTERNAL_H

#include "../sys/selector.h"

#include "check.h"
#include "rearm.h"

/* The timers of one poll (src/timer.c), shared by the poll, its registry
 * clones and its timers. */
typedef struct cmio__timers cmio__timers;

struct cmio_registry {
    const cmio__selector *sel;
    cmio__sys *sys;
    cmio__timers *timers; /* the poll's: a reference on them */
    bool owned_by_poll;   /* the poll's own registry: cmio_registry_free ignores it */
};

struct cmio_poll {
    struct cmio__poll_head head; /* first: read by the inline cmio_poll_poll() */
    cmio_registry registry;      /* sel and sys of the poll itself */
};

struct cmio_waker {
    const cmio__selector *sel;
    cmio__waker_sys *sys; /* the backend's */
};

/* The backends built in, the OS's default first, NULL-terminated. */
extern const cmio__selector *const cmio__selectors[];

/* Largest record_size over the backends built in (for events scratch). */
size_t cmio__max_record_size(void);

/* CLOCK_MONOTONIC in nanoseconds (src/poll.c): the poll's timeouts and the
 * timers' deadlines read the same clock. */
int64_t cmio__now_ns(void);

/* The capability bits of a poll's backend (tests ask for CMIO__SEL_*). */
unsigned cmio__poll_caps(const cmio_poll *poll);

/* src/timer.c. The poll makes its timers' state (one reference, dropped by
 * cmio__timers_poll_gone when the poll is freed); registry clones take and
 * drop references. Once a timer was made (active), cmio__poll hands every
 * poll to cmio__timers_poll, which delivers due timers with the selector's
 * events; a positive timeout never ends early, a negative one returns only
 * with events. */
int cmio__timers_new(cmio_poll *poll, const cmio__selector *sel, cmio__sys *sys, cmio__timers **out);
void cmio__timers_ref(cmio__timers *tm);
void cmio__timers_unref(cmio__timers *tm);
void cmio__timers_poll_gone(cmio__timers *tm);
bool cmio__timers_active(const cmio__timers *tm);
int cmio__timers_poll(cmio__timers *tm, cmio_events *events, int timeout_ms);
/* Tests: polls made afterwards use the portable mechanism (the poll's
 * timeout and a wake descriptor) where the OS has a timerfd. */
void cmio__timers_use_portable(bool on);
/* cmio_poll_fd (issue 13), on the poll thread: from now on the poll's
 * polls go through cmio__timers_poll and timers arm the kernel timer at
 * once (src/timer.c). */
void cmio__timers_embed(cmio__timers *tm);

/* Signals (src/signals.c), for the tests: the mechanism of one set, and
 * what it can report. Internal: not exported by the shared library. */
enum { CMIO__SIGNALS_SIGNALFD = 1, CMIO__SIGNALS_KQUEUE, CMIO__SIGNALS_THREAD };
enum {
    /* A signal sent to the polling thread itself (pthread_kill, raise)
     * raises an event; else only a read in that thread takes it. */
    CMIO__SIGNALS_SEES_THREAD = 1u << 0,
    /* A signal already pending at cmio_signals_new raises an event; else
     * (EVFILT_SIGNAL) only a read takes it. */
    CMIO__SIGNALS_SEES_PENDING = 1u << 1,
    /* Signals stay pending in the kernel until a read takes them, so a
     * standard signal sent twice before a read is returned once; else (the
     * helper takes each as it comes) once or twice. */
    CMIO__SIGNALS_PENDING_UNTIL_READ = 1u << 2,
};
/* Make cmio_signals_new use the helper thread (and pipe) on every backend,
 * so that the mechanism of systems without signalfd or kqueue is tested
 * where those exist. Process-wide; for tests. */
void cmio__signals_use_fallback(bool on);
int cmio__signals_mechanism(const cmio_signals *s);
unsigned cmio__signals_caps(const cmio_signals *s);
/* The descriptor registered under the token (signalfd, helper's pipe), or
 * -1 (kqueue). */
int cmio__signals_fd(const cmio_signals *s);

#if defined(_WIN32)
/* Windows (src/error_win.c): the text of a POSIX supplement code the C
 * runtime's strerror does not know (ECONNRESET, ...), or NULL. */
const char *cmio__win_strerror(int err);
#endif

#endif /* CMIO_SRC_INTERNAL_H */
