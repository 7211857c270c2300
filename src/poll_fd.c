/*
 * cmio_poll_fd (issue 13, mio's AsRawFd for Poll): the selector's own
 * descriptor, for nesting a poll in another event loop. Where the backend
 * has one (CMIO__SEL_POLL_FD: epoll, kqueue) it is the descriptor the
 * poll waits on; the poll(2) backend computes readiness per call and has
 * none.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

#include <errno.h>

int cmio_poll_fd(cmio_poll *poll)
{
    CMIO__CHECK(poll != NULL, -EINVAL);
    const cmio__selector *sel = poll->registry.sel;
    CMIO__CHECK((sel->caps & CMIO__SEL_POLL_FD) && sel->poll_fd != NULL, -ENOTSUP);
    /* The outer loop waits on the descriptor, not in cmio_poll_poll: the
     * poll's timers must arm their kernel timer without waiting for a
     * poll, and the poll's records of internal descriptors (timers) must
     * always be taken out (src/timer.c). */
    cmio__timers_embed(poll->registry.timers);
    return sel->poll_fd(poll->registry.sys);
}
