/*
 * cmio_tcp_stream: a non-blocking TCP connection (mio's net::TcpStream).
 *
 * SPDX-License-Identifier: MIT
 */
#include "socket.h"

#include <errno.h>
#if !defined(_WIN32)
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#endif

int cmio_tcp_stream_connect(cmio_tcp_stream *out, const cmio_sockaddr *addr)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    out->fd = CMIO_FD_INVALID;
    CMIO__CHECK(cmio__is_ip(addr), -EINVAL);
    return cmio__connect(addr, SOCK_STREAM, &out->fd);
}

ssize_t cmio_tcp_stream_read(cmio_tcp_stream *s, void *buf, size_t len)
{
    CMIO__CHECK_SOCK(s);
    return cmio__recv(s->fd, buf, len, 0, NULL);
}

ssize_t cmio_tcp_stream_write(cmio_tcp_stream *s, const void *buf, size_t len)
{
    CMIO__CHECK_SOCK(s);
    return cmio__send(s->fd, buf, len, 0, NULL);
}

ssize_t cmio_tcp_stream_readv(cmio_tcp_stream *s, const struct iovec *iov, int iovcnt)
{
    CMIO__CHECK_SOCK(s);
    return cmio__readv(s->fd, iov, iovcnt);
}

ssize_t cmio_tcp_stream_writev(cmio_tcp_stream *s, const struct iovec *iov, int iovcnt)
{
    CMIO__CHECK_SOCK(s);
    return cmio__writev(s->fd, iov, iovcnt);
}

ssize_t cmio_tcp_stream_peek(cmio_tcp_stream *s, void *buf, size_t len)
{
    CMIO__CHECK_SOCK(s);
    return cmio__recv(s->fd, buf, len, MSG_PEEK, NULL);
}

int cmio_tcp_stream_shutdown(cmio_tcp_stream *s, cmio_shutdown how)
{
    CMIO__CHECK_SOCK(s);
    return cmio__shutdown(s->fd, how);
}

int cmio_tcp_stream_set_nodelay(cmio_tcp_stream *s, bool on)
{
    CMIO__CHECK_SOCK(s);
    return cmio__set_int(s->fd, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0);
}

int cmio_tcp_stream_nodelay(const cmio_tcp_stream *s, bool *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_bool(s->fd, IPPROTO_TCP, TCP_NODELAY, out);
}

int cmio_tcp_stream_set_ttl(cmio_tcp_stream *s, uint32_t ttl)
{
    CMIO__CHECK_SOCK(s);
    return cmio__set_ttl(s->fd, ttl);
}

int cmio_tcp_stream_ttl(const cmio_tcp_stream *s, uint32_t *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_ttl(s->fd, out);
}

int cmio_tcp_stream_local_addr(const cmio_tcp_stream *s, cmio_sockaddr *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__local_addr(s->fd, out);
}

int cmio_tcp_stream_peer_addr(const cmio_tcp_stream *s, cmio_sockaddr *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__stream_peer_addr(s->fd, out);
}

int cmio_tcp_stream_take_error(cmio_tcp_stream *s)
{
    CMIO__CHECK_SOCK(s);
    return cmio__take_error(s->fd);
}

int cmio_tcp_stream_from_fd(cmio_tcp_stream *out, cmio_fd fd)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    return cmio__adopt_into(fd, &out->fd);
}

void cmio_tcp_stream_close(cmio_tcp_stream *s)
{
    if (s)
        cmio__close(&s->fd);
}

/* Options shared with cmio_tcp_socket (issue 12). */

int cmio_tcp_stream_set_keepalive(cmio_tcp_stream *s, const cmio_keepalive *ka)
{
    CMIO__CHECK_SOCK(s);
    return cmio__set_keepalive(s->fd, ka);
}

int cmio_tcp_stream_keepalive(const cmio_tcp_stream *s, bool *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_bool(s->fd, SOL_SOCKET, SO_KEEPALIVE, out);
}

int cmio_tcp_stream_keepalive_params(const cmio_tcp_stream *s, cmio_keepalive *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_keepalive_params(s->fd, out);
}

int cmio_tcp_stream_set_linger(cmio_tcp_stream *s, int seconds)
{
    CMIO__CHECK_SOCK(s);
    return cmio__set_linger(s->fd, seconds);
}

int cmio_tcp_stream_linger(const cmio_tcp_stream *s, int *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_linger(s->fd, out);
}

int cmio_tcp_stream_set_recv_buffer_size(cmio_tcp_stream *s, size_t bytes)
{
    CMIO__CHECK_SOCK(s);
    return cmio__set_size(s->fd, SOL_SOCKET, SO_RCVBUF, bytes);
}

int cmio_tcp_stream_recv_buffer_size(const cmio_tcp_stream *s, size_t *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_size(s->fd, SOL_SOCKET, SO_RCVBUF, out);
}

int cmio_tcp_stream_set_send_buffer_size(cmio_tcp_stream *s, size_t bytes)
{
    CMIO__CHECK_SOCK(s);
    return cmio__set_size(s->fd, SOL_SOCKET, SO_SNDBUF, bytes);
}

int cmio_tcp_stream_send_buffer_size(const cmio_tcp_stream *s, size_t *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_size(s->fd, SOL_SOCKET, SO_SNDBUF, out);
}
