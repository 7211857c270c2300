/*
 * cmio_tcp_listener: a non-blocking listening TCP socket (mio's
 * net::TcpListener).
 *
 * SPDX-License-Identifier: MIT
 */
#include "socket.h"

#include <errno.h>
#if !defined(_WIN32)
#include <sys/socket.h>
#endif

int cmio_tcp_listener_bind(cmio_tcp_listener *out, const cmio_sockaddr *addr)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    out->fd = CMIO_FD_INVALID;
    CMIO__CHECK(cmio__is_ip(addr), -EINVAL);
    return cmio__bind(addr, SOCK_STREAM, true, &out->fd);
}

int cmio_tcp_listener_accept(cmio_tcp_listener *l, cmio_tcp_stream *out, cmio_sockaddr *peer)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    out->fd = CMIO_FD_INVALID;
    CMIO__CHECK_SOCK(l);
    return cmio__accept(l->fd, peer, &out->fd);
}

int cmio_tcp_listener_local_addr(const cmio_tcp_listener *l, cmio_sockaddr *out)
{
    CMIO__CHECK_SOCK(l);
    return cmio__local_addr(l->fd, out);
}

int cmio_tcp_listener_set_ttl(cmio_tcp_listener *l, uint32_t ttl)
{
    CMIO__CHECK_SOCK(l);
    return cmio__set_ttl(l->fd, ttl);
}

int cmio_tcp_listener_ttl(const cmio_tcp_listener *l, uint32_t *out)
{
    CMIO__CHECK_SOCK(l);
    return cmio__get_ttl(l->fd, out);
}

int cmio_tcp_listener_take_error(cmio_tcp_listener *l)
{
    CMIO__CHECK_SOCK(l);
    return cmio__take_error(l->fd);
}

int cmio_tcp_listener_from_fd(cmio_tcp_listener *out, cmio_fd fd)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    return cmio__adopt_into(fd, &out->fd);
}

void cmio_tcp_listener_close(cmio_tcp_listener *l)
{
    if (l)
        cmio__close(&l->fd);
}
