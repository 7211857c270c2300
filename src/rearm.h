/*
 * The seam between net/ and the backends that emulate edge triggering
 * (poll(2); mio's IoSourceState::do_io in its poll selector): what a socket
 * call through cmio tells them, and nothing else of the backends. net/
 * includes this header, never sys/selector.h. Not installed.
 *
 * A process with no emulating selector open pays one relaxed atomic load
 * per call below, and nothing on success.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CMIO_SRC_REARM_H
#define CMIO_SRC_REARM_H

#include "cmio.h"

#include <stdatomic.h>

/* How many selectors of emulating backends are open in the process (the
 * backends keep it; sys/selector.h declares it for them). */
extern atomic_uint cmio__rearm_users;

/* The direction of a re-arm when fd's pending error was taken
 * (take_error), or a call on fd failed with an error other than -EAGAIN. */
#define CMIO__ERROR_TAKEN ((cmio_interest)0)

/* Tell every emulating selector that has fd registered (any thread). */
void cmio__rearm_slow(cmio_fd fd, cmio_interest direction);

/* An I/O call through cmio on fd returned -EAGAIN in `direction`
 * (CMIO_READABLE for reads, receives and accepts; CMIO_WRITABLE for writes
 * and sends), or CMIO__ERROR_TAKEN as above. */
static inline void cmio__would_block(cmio_fd fd, cmio_interest direction)
{
    if (atomic_load_explicit(&cmio__rearm_users, memory_order_relaxed) != 0)
        cmio__rearm_slow(fd, direction);
}

/* A stream's peer_addr returned -ENOTCONN: while a connect is in progress
 * that means "not yet", and the next writable event is owed (mio's connect
 * procedure), so writing is re-armed; a stream that was reset, or never
 * connected, answers -ENOTCONN for good and is left alone (issue 9,
 * defect 4). */
void cmio__not_connected(cmio_fd fd);

#endif /* CMIO_SRC_REARM_H */
