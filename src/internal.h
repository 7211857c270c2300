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

#endif /* CMIO_SRC_INTERNAL_H */
