/*
 * cmio_unix_listener: a listening AF_UNIX stream socket (mio's
 * net::UnixListener), bound to a path or an abstract name.
 *
 * SPDX-License-Identifier: MIT
 */
#include "socket.h"

#if !defined(_WIN32)
#include <sys/socket.h>
#include <sys/un.h>
#endif

int cmio_unix_listener_bind(cmio_unix_listener *out, const char *path)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    out->fd = CMIO_FD_INVALID;
    cmio_sockaddr addr;
    int err = cmio_sockaddr_from_path(&addr, path);
    if (err < 0)
        return err;
    return cmio_unix_listener_bind_addr(out, &addr);
}

int cmio_unix_listener_bind_addr(cmio_unix_listener *out, const cmio_sockaddr *addr)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    out->fd = CMIO_FD_INVALID;
    CMIO__CHECK(addr != NULL && addr->u.sa.sa_family == AF_UNIX, -EINVAL);
    return cmio__bind(addr, SOCK_STREAM, true, &out->fd);
}

int cmio_unix_listener_accept(cmio_unix_listener *l, cmio_unix_stream *out, cmio_sockaddr *peer)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    out->fd = CMIO_FD_INVALID;
    CMIO__CHECK_SOCK(l);
    return cmio__accept(l->fd, peer, &out->fd);
}

int cmio_unix_listener_local_addr(const cmio_unix_listener *l, cmio_sockaddr *out)
{
    CMIO__CHECK_SOCK(l);
    return cmio__local_addr(l->fd, out);
}

int cmio_unix_listener_take_error(cmio_unix_listener *l)
{
    CMIO__CHECK_SOCK(l);
    return cmio__take_error(l->fd);
}

int cmio_unix_listener_from_fd(cmio_unix_listener *out, cmio_fd fd)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    return cmio__adopt_into(fd, &out->fd);
}

void cmio_unix_listener_close(cmio_unix_listener *l)
{
    if (l)
        cmio__close(&l->fd);
}
