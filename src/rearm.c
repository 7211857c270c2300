/*
 * The re-arm seam (src/rearm.h): the net layer's word to the backends that
 * emulate edge triggering.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"
#include "rearm.h"

#if defined(_WIN32)
#include <winsock2.h>
#else
#include <poll.h>
#endif

atomic_uint cmio__rearm_users;

void cmio__rearm_slow(cmio_fd fd, cmio_interest direction)
{
    for (const cmio__selector *const *s = cmio__selectors; *s; s++)
        if ((*s)->rearm)
            (*s)->rearm(fd, direction);
}

/* A stream that is connecting is neither writable nor hung up; one that
 * never connected, was reset or was shut down shows POLLHUP or POLLERR
 * (Linux: TCP_CLOSE gives POLLHUP, as does an unconnected AF_UNIX stream). */
static bool connecting(cmio_fd fd)
{
#if defined(_WIN32)
    WSAPOLLFD p = {.fd = fd, .events = POLLOUT};
    return WSAPoll(&p, 1, 0) == 0;
#else
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    return poll(&p, 1, 0) == 0;
#endif
}

void cmio__not_connected(cmio_fd fd)
{
    if (atomic_load_explicit(&cmio__rearm_users, memory_order_relaxed) != 0 && connecting(fd))
        cmio__rearm_slow(fd, CMIO_WRITABLE);
}
