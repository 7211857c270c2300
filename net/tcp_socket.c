/*
 * cmio_tcp_socket: a TCP socket not yet bound, connected or listening, for
 * the options that must come first (mio 0.7's net::TcpSocket). connect and
 * listen consume it into a cmio_tcp_stream or a cmio_tcp_listener.
 *
 * SPDX-License-Identifier: MIT
 */
#include "socket.h"

#include <errno.h>
#if !defined(_WIN32)
#include <netinet/in.h>
#include <sys/socket.h>
#endif

static int open_socket(cmio_tcp_socket *out, int domain)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    out->fd = CMIO_FD_INVALID;
    return cmio__socket(domain, SOCK_STREAM, 0, &out->fd);
}

int cmio_tcp_socket_new_v4(cmio_tcp_socket *out) { return open_socket(out, AF_INET); }

int cmio_tcp_socket_new_v6(cmio_tcp_socket *out) { return open_socket(out, AF_INET6); }

/* addr is an IP address of the socket's own family (the kernel would say
 * EAFNOSUPPORT or EINVAL; cmio's rule is -EINVAL for a wrong family). */
static int socket_family(cmio_fd fd, int *family)
{
#if defined(_WIN32)
    /* getsockname fails on a socket not yet bound (WSAEINVAL): the
     * protocol record has the family. */
    return cmio__family(fd, family);
#else
    cmio_sockaddr mine;
    int err = cmio__local_addr(fd, &mine);
    if (err < 0)
        return err;
    *family = mine.u.sa.sa_family;
    return 0;
#endif
}

static int check_addr(cmio_fd fd, const cmio_sockaddr *addr)
{
    CMIO__CHECK(cmio__is_ip(addr), -EINVAL);
    int family = AF_UNSPEC;
    int err = socket_family(fd, &family);
    if (err < 0)
        return err;
    CMIO__CHECK(family == addr->u.sa.sa_family, -EINVAL);
    size_t need = addr->u.sa.sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    CMIO__CHECK((size_t)addr->len >= need, -EINVAL);
    return 0;
}

int cmio_tcp_socket_set_reuseaddr(cmio_tcp_socket *s, bool on)
{
    CMIO__CHECK_SOCK(s);
    return cmio__set_int(s->fd, SOL_SOCKET, SO_REUSEADDR, on ? 1 : 0);
}

int cmio_tcp_socket_reuseaddr(const cmio_tcp_socket *s, bool *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_bool(s->fd, SOL_SOCKET, SO_REUSEADDR, out);
}

int cmio_tcp_socket_set_reuseport(cmio_tcp_socket *s, bool on)
{
    CMIO__CHECK_SOCK(s);
    return cmio__set_reuseport(s->fd, on);
}

int cmio_tcp_socket_reuseport(const cmio_tcp_socket *s, bool *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_reuseport(s->fd, out);
}

int cmio_tcp_socket_set_linger(cmio_tcp_socket *s, int seconds)
{
    CMIO__CHECK_SOCK(s);
    return cmio__set_linger(s->fd, seconds);
}

int cmio_tcp_socket_linger(const cmio_tcp_socket *s, int *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_linger(s->fd, out);
}

int cmio_tcp_socket_set_recv_buffer_size(cmio_tcp_socket *s, size_t bytes)
{
    CMIO__CHECK_SOCK(s);
    return cmio__set_size(s->fd, SOL_SOCKET, SO_RCVBUF, bytes);
}

int cmio_tcp_socket_recv_buffer_size(const cmio_tcp_socket *s, size_t *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_size(s->fd, SOL_SOCKET, SO_RCVBUF, out);
}

int cmio_tcp_socket_set_send_buffer_size(cmio_tcp_socket *s, size_t bytes)
{
    CMIO__CHECK_SOCK(s);
    return cmio__set_size(s->fd, SOL_SOCKET, SO_SNDBUF, bytes);
}

int cmio_tcp_socket_send_buffer_size(const cmio_tcp_socket *s, size_t *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_size(s->fd, SOL_SOCKET, SO_SNDBUF, out);
}

int cmio_tcp_socket_set_keepalive(cmio_tcp_socket *s, const cmio_keepalive *ka)
{
    CMIO__CHECK_SOCK(s);
    return cmio__set_keepalive(s->fd, ka);
}

int cmio_tcp_socket_keepalive(const cmio_tcp_socket *s, bool *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_bool(s->fd, SOL_SOCKET, SO_KEEPALIVE, out);
}

int cmio_tcp_socket_keepalive_params(const cmio_tcp_socket *s, cmio_keepalive *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_keepalive_params(s->fd, out);
}

int cmio_tcp_socket_bind(cmio_tcp_socket *s, const cmio_sockaddr *addr)
{
    CMIO__CHECK_SOCK(s);
    int err = check_addr(s->fd, addr);
    if (err < 0)
        return err;
    return bind(s->fd, &addr->u.sa, addr->len) < 0 ? cmio__errno() : 0;
}

int cmio_tcp_socket_connect(cmio_tcp_socket *s, const cmio_sockaddr *addr, cmio_tcp_stream *out)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    out->fd = CMIO_FD_INVALID;
    CMIO__CHECK_SOCK(s);
    int err = check_addr(s->fd, addr);
    if (err < 0)
        return err;
    /* From here s is consumed, as mio's connect(self) moves it: into the
     * stream, or closed with the error. EINPROGRESS is a handshake under
     * way (cmio_tcp_stream_connect's rule). */
    err = cmio__connect_fd(s->fd, addr);
    if (err < 0) {
        cmio__close(&s->fd);
        return err;
    }
    out->fd = s->fd;
    s->fd = CMIO_FD_INVALID;
    return 0;
}

int cmio_tcp_socket_listen(cmio_tcp_socket *s, int backlog, cmio_tcp_listener *out)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    out->fd = CMIO_FD_INVALID;
    CMIO__CHECK_SOCK(s);
    CMIO__CHECK(backlog >= 0, -EINVAL);
    int err = 0;
#if defined(_WIN32)
    err = cmio__bind_if_unbound(s->fd); /* POSIX's listen binds by itself */
#endif
    if (err == 0 && listen(s->fd, backlog) != 0)
        err = cmio__errno();
    if (err < 0) {
        cmio__close(&s->fd);
        return err;
    }
    out->fd = s->fd;
    s->fd = CMIO_FD_INVALID;
    return 0;
}

int cmio_tcp_socket_local_addr(const cmio_tcp_socket *s, cmio_sockaddr *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__local_addr(s->fd, out);
}

int cmio_tcp_socket_from_fd(cmio_tcp_socket *out, cmio_fd fd)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    return cmio__adopt_into(fd, &out->fd);
}

int cmio_tcp_socket_close(cmio_tcp_socket *s)
{
    CMIO__CHECK(s != NULL, -EINVAL);
    cmio__close(&s->fd);
    return 0;
}
