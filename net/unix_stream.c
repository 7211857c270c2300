/*
 * cmio_unix_stream: a connected AF_UNIX stream socket (mio's
 * net::UnixStream).
 *
 * SPDX-License-Identifier: MIT
 */
#include "fd_passing.h"
#include "socket.h"

#if !defined(_WIN32)
#include <sys/socket.h>
#include <unistd.h>
#endif

int cmio_unix_stream_connect(cmio_unix_stream *out, const char *path)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    out->fd = CMIO_FD_INVALID;
    cmio_sockaddr addr;
    int err = cmio_sockaddr_from_path(&addr, path);
    if (err < 0)
        return err;
    return cmio_unix_stream_connect_addr(out, &addr);
}

int cmio_unix_stream_connect_addr(cmio_unix_stream *out, const cmio_sockaddr *addr)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    out->fd = CMIO_FD_INVALID;
    CMIO__CHECK(addr != NULL && addr->u.sa.sa_family == AF_UNIX, -EINVAL);
    return cmio__connect(addr, SOCK_STREAM, &out->fd);
}

int cmio_unix_stream_pair(cmio_unix_stream *a, cmio_unix_stream *b)
{
    return cmio__socketpair(SOCK_STREAM, a ? &a->fd : NULL, b ? &b->fd : NULL);
}

ssize_t cmio_unix_stream_read(cmio_unix_stream *s, void *buf, size_t len)
{
    CMIO__CHECK_SOCK(s);
    return cmio__recv(s->fd, buf, len, 0, NULL);
}

ssize_t cmio_unix_stream_write(cmio_unix_stream *s, const void *buf, size_t len)
{
    CMIO__CHECK_SOCK(s);
    return cmio__send(s->fd, buf, len, 0, NULL);
}

ssize_t cmio_unix_stream_readv(cmio_unix_stream *s, const struct iovec *iov, int iovcnt)
{
    CMIO__CHECK_SOCK(s);
    return cmio__readv(s->fd, iov, iovcnt);
}

ssize_t cmio_unix_stream_writev(cmio_unix_stream *s, const struct iovec *iov, int iovcnt)
{
    CMIO__CHECK_SOCK(s);
    return cmio__writev(s->fd, iov, iovcnt);
}

int cmio_unix_stream_shutdown(cmio_unix_stream *s, cmio_shutdown how)
{
    CMIO__CHECK_SOCK(s);
    return cmio__shutdown(s->fd, how);
}

int cmio_unix_stream_local_addr(const cmio_unix_stream *s, cmio_sockaddr *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__local_addr(s->fd, out);
}

int cmio_unix_stream_peer_addr(const cmio_unix_stream *s, cmio_sockaddr *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__stream_peer_addr(s->fd, out);
}

int cmio_unix_stream_take_error(cmio_unix_stream *s)
{
    CMIO__CHECK_SOCK(s);
    return cmio__take_error(s->fd);
}

int cmio_unix_stream_from_fd(cmio_unix_stream *out, cmio_fd fd)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    return cmio__adopt_into(fd, &out->fd);
}

void cmio_unix_stream_close(cmio_unix_stream *s)
{
    if (s)
        cmio__close(&s->fd);
}

/* Descriptor passing (SCM_RIGHTS): net/fd_passing.c. */

ssize_t cmio_unix_stream_send_fds(cmio_unix_stream *s, const void *buf, size_t len, const cmio_fd *fds,
                                  size_t nfds)
{
    CMIO__CHECK_SOCK(s);
    /* Linux's unix_stream_sendmsg attaches descriptors to the first byte
     * it queues: with no byte it drops them and returns 0. */
    CMIO__CHECK(len > 0 || nfds == 0, -EINVAL);
    return cmio__send_fds(s->fd, buf, len, fds, nfds);
}

ssize_t cmio_unix_stream_recv_fds(cmio_unix_stream *s, void *buf, size_t len, cmio_fd *fds, size_t *nfds)
{
    if (s == NULL)
        return cmio__recv_fds_refused(nfds, -EINVAL);
    if (!CMIO__FD_VALID(s->fd))
        return cmio__recv_fds_refused(nfds, -EBADF);
    /* A stream's 0 is the end of stream: a read of 0 bytes would look the same. */
    if (len == 0)
        return cmio__recv_fds_refused(nfds, -EINVAL);
    return cmio__recv_fds(s->fd, buf, len, fds, nfds);
}
