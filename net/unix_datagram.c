/*
 * cmio_unix_datagram: an AF_UNIX datagram socket (mio's
 * net::UnixDatagram), bound, unbound, connected or one of a pair.
 *
 * SPDX-License-Identifier: MIT
 */
#include "fd_passing.h"
#include "socket.h"

#if !defined(_WIN32)
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#endif

/* Windows's AF_UNIX has SOCK_STREAM only, so no datagram socket can exist
 * there: every call answers -ENOTSUP after its argument checks (also on a
 * socket of another kind put into a cmio_unix_datagram), as include/cmio.h
 * says. Closing is as elsewhere. */
#if defined(_WIN32)
#define NO_DATAGRAMS() return -ENOTSUP
#else
#define NO_DATAGRAMS() ((void)0)
#endif

int cmio_unix_datagram_bind(cmio_unix_datagram *out, const char *path)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    out->fd = CMIO_FD_INVALID;
    cmio_sockaddr addr;
    int err = cmio_sockaddr_from_path(&addr, path);
    if (err < 0)
        return err;
    return cmio_unix_datagram_bind_addr(out, &addr);
}

int cmio_unix_datagram_bind_addr(cmio_unix_datagram *out, const cmio_sockaddr *addr)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    out->fd = CMIO_FD_INVALID;
    CMIO__CHECK(addr != NULL && addr->u.sa.sa_family == AF_UNIX, -EINVAL);
    NO_DATAGRAMS();
    return cmio__bind(addr, SOCK_DGRAM, false, &out->fd);
}

int cmio_unix_datagram_unbound(cmio_unix_datagram *out)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    out->fd = CMIO_FD_INVALID;
    NO_DATAGRAMS();
    return cmio__socket(AF_UNIX, SOCK_DGRAM, 0, &out->fd);
}

int cmio_unix_datagram_pair(cmio_unix_datagram *a, cmio_unix_datagram *b)
{
    return cmio__socketpair(SOCK_DGRAM, a ? &a->fd : NULL, b ? &b->fd : NULL);
}

int cmio_unix_datagram_connect(cmio_unix_datagram *s, const char *path)
{
    CMIO__CHECK_SOCK(s);
    cmio_sockaddr addr;
    int err = cmio_sockaddr_from_path(&addr, path);
    if (err < 0)
        return err;
    NO_DATAGRAMS();
    int r;
    do
        r = connect(s->fd, &addr.u.sa, addr.len) != 0 ? cmio__errno() : 0;
    while (r == -EINTR);
    return r;
}

ssize_t cmio_unix_datagram_send(cmio_unix_datagram *s, const void *buf, size_t len)
{
    CMIO__CHECK_SOCK(s);
    CMIO__CHECK(buf != NULL || len == 0, -EINVAL);
    NO_DATAGRAMS();
    return cmio__send(s->fd, buf, len, 0, NULL);
}

ssize_t cmio_unix_datagram_send_to(cmio_unix_datagram *s, const void *buf, size_t len, const char *path)
{
    CMIO__CHECK_SOCK(s);
    CMIO__CHECK(buf != NULL || len == 0, -EINVAL);
    cmio_sockaddr addr;
    int err = cmio_sockaddr_from_path(&addr, path);
    if (err < 0)
        return err;
    NO_DATAGRAMS();
    return cmio__send(s->fd, buf, len, 0, &addr);
}

ssize_t cmio_unix_datagram_recv(cmio_unix_datagram *s, void *buf, size_t len)
{
    CMIO__CHECK_SOCK(s);
    CMIO__CHECK(buf != NULL || len == 0, -EINVAL);
    NO_DATAGRAMS();
    return cmio__recv(s->fd, buf, len, 0, NULL);
}

ssize_t cmio_unix_datagram_recv_from(cmio_unix_datagram *s, void *buf, size_t len, cmio_sockaddr *from)
{
    CMIO__CHECK_SOCK(s);
    CMIO__CHECK(buf != NULL || len == 0, -EINVAL);
    NO_DATAGRAMS();
    return cmio__recv(s->fd, buf, len, 0, from);
}

int cmio_unix_datagram_shutdown(cmio_unix_datagram *s, cmio_shutdown how)
{
    CMIO__CHECK_SOCK(s);
    CMIO__CHECK((unsigned)how <= CMIO_SHUTDOWN_BOTH, -EINVAL);
    NO_DATAGRAMS();
    return cmio__shutdown(s->fd, how);
}

int cmio_unix_datagram_local_addr(const cmio_unix_datagram *s, cmio_sockaddr *out)
{
    CMIO__CHECK_SOCK(s);
    CMIO__CHECK(out != NULL, -EINVAL);
    NO_DATAGRAMS();
    return cmio__local_addr(s->fd, out);
}

int cmio_unix_datagram_peer_addr(const cmio_unix_datagram *s, cmio_sockaddr *out)
{
    CMIO__CHECK_SOCK(s);
    CMIO__CHECK(out != NULL, -EINVAL);
    NO_DATAGRAMS();
    return cmio__peer_addr(s->fd, out);
}

int cmio_unix_datagram_take_error(cmio_unix_datagram *s)
{
    CMIO__CHECK_SOCK(s);
    NO_DATAGRAMS();
    return cmio__take_error(s->fd);
}

int cmio_unix_datagram_from_fd(cmio_unix_datagram *out, cmio_fd fd)
{
    CMIO__CHECK(out != NULL, -EINVAL);
#if defined(_WIN32)
    out->fd = CMIO_FD_INVALID;
    CMIO__CHECK(CMIO__FD_VALID(fd), -EBADF);
#endif
    NO_DATAGRAMS();
    return cmio__adopt_into(fd, &out->fd);
}

void cmio_unix_datagram_close(cmio_unix_datagram *s)
{
    if (s)
        cmio__close(&s->fd);
}

/* Descriptor passing (SCM_RIGHTS): net/fd_passing.c. */

ssize_t cmio_unix_datagram_send_fds(cmio_unix_datagram *s, const void *buf, size_t len, const cmio_fd *fds,
                                    size_t nfds)
{
    CMIO__CHECK_SOCK(s);
    return cmio__send_fds(s->fd, buf, len, fds, nfds);
}

ssize_t cmio_unix_datagram_recv_fds(cmio_unix_datagram *s, void *buf, size_t len, cmio_fd *fds, size_t *nfds)
{
    if (s == NULL)
        return cmio__recv_fds_refused(nfds, -EINVAL);
    if (!CMIO__FD_VALID(s->fd))
        return cmio__recv_fds_refused(nfds, -EBADF);
    return cmio__recv_fds(s->fd, buf, len, fds, nfds);
}
