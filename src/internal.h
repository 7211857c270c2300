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

struct cmio_registry {
    const cmio__selector *sel;
    cmio__sys *sys;
    bool owned_by_poll; /* the poll's own registry: cmio_registry_free ignores it */
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

/* The capability bits of a poll's backend (tests ask for CMIO__SEL_*). */
unsigned cmio__poll_caps(const cmio_poll *poll);

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

#endif /* CMIO_SRC_INTERNAL_H */
