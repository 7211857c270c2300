/*
 * cmio_registry: registers descriptors with a poll's selector, from any
 * thread.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

#define READINESS (CMIO_READABLE | CMIO_WRITABLE | CMIO_PRIORITY)
#define KNOWN_INTEREST (READINESS | CMIO_LEVEL | CMIO_ONESHOT)

/* The checks register and reregister share (docs/design.md §2). */
static int check_interest(const cmio_registry *r, cmio_fd fd, cmio_interest interest)
{
    CMIO__CHECK(r != NULL, -EINVAL);
    CMIO__CHECK(CMIO__FD_VALID(fd), -EBADF);
    /* At least one kind of readiness: a mode alone asks for nothing. */
    CMIO__CHECK((interest & READINESS) != 0 && (interest & ~KNOWN_INTEREST) == 0, -EINVAL);
    CMIO__CHECK(!(interest & CMIO_PRIORITY) || (r->sel->caps & CMIO__SEL_PRIORITY), -ENOTSUP);
    return 0;
}

int cmio_registry_register(cmio_registry *r, cmio_fd fd, cmio_token token, cmio_interest interest)
{
    int err = check_interest(r, fd, interest);
    return err < 0 ? err : r->sel->reg(r->sys, fd, token, interest);
}

int cmio_registry_reregister(cmio_registry *r, cmio_fd fd, cmio_token token, cmio_interest interest)
{
    int err = check_interest(r, fd, interest);
    return err < 0 ? err : r->sel->rereg(r->sys, fd, token, interest);
}

int cmio_registry_deregister(cmio_registry *r, cmio_fd fd)
{
    CMIO__CHECK(r != NULL, -EINVAL);
    CMIO__CHECK(CMIO__FD_VALID(fd), -EBADF);
    return r->sel->dereg(r->sys, fd);
}

int cmio_registry_try_clone(const cmio_registry *r, cmio_registry **out)
{
    CMIO__CHECK(r != NULL && out != NULL, -EINVAL);
    *out = NULL;
    cmio_registry *clone = calloc(1, sizeof(*clone));
    if (!clone)
        return -ENOMEM;
    int err = r->sel->clone(r->sys, &clone->sys);
    if (err < 0) {
        free(clone);
        return err;
    }
    clone->sel = r->sel;
    clone->timers = r->timers;
    cmio__timers_ref(clone->timers);
    *out = clone;
    return 0;
}

void cmio_registry_free(cmio_registry *r)
{
    if (!r || r->owned_by_poll)
        return;
    r->sel->close(r->sys);
    cmio__timers_unref(r->timers);
    free(r);
}
