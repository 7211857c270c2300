/*
 * Descriptor passing (SCM_RIGHTS) shared by the Unix stream and datagram
 * types: one sendmsg(2) or recvmsg(2) each, the control buffer on the
 * stack. Not installed.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CMIO_NET_FD_PASSING_H
#define CMIO_NET_FD_PASSING_H

#include "socket.h"

/* sendmsg(2) of len bytes with nfds descriptors attached (none when nfds is
 * 0), MSG_NOSIGNAL. The caller has checked s; this checks the rest. */
ssize_t cmio__send_fds(cmio_fd fd, const void *buf, size_t len, const cmio_fd *fds, size_t nfds);

/* recvmsg(2) of up to len bytes and the descriptors that came with them,
 * received close-on-exec; *nfds: room in, received out (0 on any error).
 * More descriptors than room, or truncated control data: all that arrived
 * are closed, -EMSGSIZE. The caller has checked s and len; this the rest. */
ssize_t cmio__recv_fds(cmio_fd fd, void *buf, size_t len, cmio_fd *fds, size_t *nfds);

/* A receive refused at the door: *nfds (unless NULL) is 0 on every error. */
static inline ssize_t cmio__recv_fds_refused(size_t *nfds, ssize_t err)
{
    if (nfds != NULL)
        *nfds = 0;
    return err;
}

#endif /* CMIO_NET_FD_PASSING_H */
