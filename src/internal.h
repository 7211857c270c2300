/*
 * Declarations shared by the files of src/ (not installed).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CMIO_SRC_INTERNAL_H
#define CMIO_SRC_INTERNAL_H

#include "../sys/selector.h"

/* Argument checks at the door, one line each. */
#define CMIO__CHECK(cond, err)                                                                    \
    do {                                                                                          \
        if (!(cond))                                                                              \
            return (err);                                                                         \
    } while (0)

/* Keeps a slow path out of its caller, so that the fast path saves no
 * registers it does not need (the per-event path of docs/benchmarks.md). */
#if defined(__GNUC__) || defined(__clang__)
#define CMIO__NOINLINE __attribute__((noinline))
#else
#define CMIO__NOINLINE
#endif

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
    cmio__waker_sys sys;
};

/* The backends built in, the OS's default first, NULL-terminated. */
extern const cmio__selector *const cmio__selectors[];

/* Largest record_size over the backends built in (for events scratch). */
size_t cmio__max_record_size(void);

/* An I/O call through cmio on fd returned -EAGAIN in `direction`
 * (CMIO_READABLE for reads, receives and accepts; CMIO_WRITABLE for writes
 * and sends): backends that emulate edge triggering re-arm that interest.
 * One relaxed load when no such backend is open. Any thread. */
void cmio__rearm_slow(int fd, cmio_interest direction);
static inline void cmio__would_block(int fd, cmio_interest direction)
{
    if (atomic_load_explicit(&cmio__rearm_users, memory_order_relaxed) != 0)
        cmio__rearm_slow(fd, direction);
}

/* The capability bits of a poll's backend (tests ask for CMIO__SEL_*). */
unsigned cmio__poll_caps(const cmio_poll *poll);

#endif /* CMIO_SRC_INTERNAL_H */
