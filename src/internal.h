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

#endif /* CMIO_SRC_INTERNAL_H */
