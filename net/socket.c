/*
 * The system-call layer every socket type of net/ shares.
 *
 * SPDX-License-Identifier: MIT
 */
#include "socket.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>


int cmio__io_error(int fd, cmio_interest direction)
{
    int err = cmio__errno();
    /* Any other error: a socket call returns (and clears) a pending error
     * first, so a reported one is taken. */
    cmio__would_block(fd, err == -EAGAIN ? direction : CMIO__ERROR_TAKEN);
    return err;
}

static int set_flags(int fd)
{
    int err = cmio__fd_nonblock_cloexec(fd);
    if (err < 0)
        return err;
#ifdef SO_NOSIGPIPE
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one)); /* not a socket: ignored */
#endif
    return 0;
}

int cmio__adopt(int fd)
{
    CMIO__CHECK(fd >= 0, -EBADF);
    return set_flags(fd);
}

int cmio__adopt_into(int fd, int *out)
{
    *out = -1;
    int err = cmio__adopt(fd);
    if (err == 0)
        *out = fd;
    return err;
}

int cmio__socket(int domain, int type, int protocol)
{
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
    int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd >= 0 || errno != EINVAL)
        return fd >= 0 ? fd : cmio__errno();
#endif
    fd = socket(domain, type, protocol);
    if (fd < 0)
        return cmio__errno();
    int err = set_flags(fd);
    if (err < 0) {
        close(fd);
        return err;
    }
    return fd;
}

static int socketpair_nonblocking(int type, int sv[2])
{
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
    if (socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0)
        return 0;
    if (errno != EINVAL)
        return cmio__errno();
#endif
    if (socketpair(AF_UNIX, type, 0, sv) < 0)
        return cmio__errno();
    int err = set_flags(sv[0]);
    if (err == 0)
        err = set_flags(sv[1]);
    if (err < 0) {
        close(sv[0]);
        close(sv[1]);
    }
    return err;
}

int cmio__socketpair(int type, int *a, int *b)
{
    if (a)
        *a = -1;
    if (b)
        *b = -1;
    CMIO__CHECK(a != NULL && b != NULL && a != b, -EINVAL);
    int sv[2];
    int err = socketpair_nonblocking(type, sv);
    if (err < 0)
        return err;
    *a = sv[0];
    *b = sv[1];
    return 0;
}

/* An unbound AF_UNIX peer comes back from accept/recvfrom with no address
 * at all (len 0, not even a family): report it as the unnamed AF_UNIX
 * address, as getsockname does. IP peers always come back whole. */
static void name_unnamed(cmio_sockaddr *a)
{
    if (a->len < offsetof(struct sockaddr_un, sun_path)) {
        a->u.sa.sa_family = AF_UNIX;
        a->len = offsetof(struct sockaddr_un, sun_path);
    }
}

int cmio__accept(int fd, cmio_sockaddr *peer)
{
    cmio_sockaddr ignored;
    cmio_sockaddr *a = peer ? peer : &ignored;
    a->len = sizeof(a->u);
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
    int c = accept4(fd, &a->u.sa, &a->len, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    int c = accept(fd, &a->u.sa, &a->len);
    if (c >= 0 && set_flags(c) < 0) {
        int err = cmio__errno();
        close(c);
        return err;
    }
#endif
    if (c < 0)
        return cmio__io_error(fd, CMIO_READABLE);
    name_unnamed(a);
    return c;
}

static bool family_ok(const cmio_sockaddr *addr)
{
    switch (addr->u.sa.sa_family) {
    case AF_INET:
        return addr->len >= sizeof(struct sockaddr_in);
    case AF_INET6:
        return addr->len >= sizeof(struct sockaddr_in6);
    case AF_UNIX:
        return addr->len >= offsetof(struct sockaddr_un, sun_path) && addr->len <= sizeof(struct sockaddr_un);
    default:
        return false;
    }
}

bool cmio__is_ip(const cmio_sockaddr *addr)
{
    return addr != NULL && (addr->u.sa.sa_family == AF_INET || addr->u.sa.sa_family == AF_INET6);
}

int cmio__bind(const cmio_sockaddr *addr, int type, bool listening)
{
    CMIO__CHECK(addr != NULL && family_ok(addr), -EINVAL);
    int fd = cmio__socket(addr->u.sa.sa_family, type, 0);
    if (fd < 0)
        return fd;
    int one = 1, err = 0;
    if (listening && addr->u.sa.sa_family != AF_UNIX &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
        err = cmio__errno();
    if (!err && bind(fd, &addr->u.sa, addr->len) < 0)
        err = cmio__errno();
    if (!err && listening && listen(fd, SOMAXCONN) < 0)
        err = cmio__errno();
    if (err) {
        close(fd);
        return err;
    }
    return fd;
}

int cmio__connect(const cmio_sockaddr *addr, int type)
{
    CMIO__CHECK(addr != NULL && family_ok(addr), -EINVAL);
    int fd = cmio__socket(addr->u.sa.sa_family, type, 0);
    if (fd < 0)
        return fd;
    /* EINPROGRESS: a TCP handshake under way. An AF_UNIX connect(2) on
     * Linux completes at once or fails; its EAGAIN means the listener's
     * backlog is full and nothing is connecting, so it is an error (mio's
     * WouldBlock), not "in progress" (issue 9, defect 1). */
    if (connect(fd, &addr->u.sa, addr->len) < 0 && errno != EINPROGRESS) {
        int err = cmio__errno();
        close(fd);
        return err;
    }
    return fd;
}

int cmio__local_addr(int fd, cmio_sockaddr *out)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    memset(out, 0, sizeof(*out));
    out->len = sizeof(out->u);
    return getsockname(fd, &out->u.sa, &out->len) < 0 ? cmio__errno() : 0;
}

int cmio__peer_addr(int fd, cmio_sockaddr *out)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    memset(out, 0, sizeof(*out));
    out->len = sizeof(out->u);
    return getpeername(fd, &out->u.sa, &out->len) < 0 ? cmio__errno() : 0;
}

int cmio__get_int(int fd, int level, int name, int *value)
{
    socklen_t len = sizeof(*value);
    return getsockopt(fd, level, name, value, &len) < 0 ? cmio__errno() : 0;
}

int cmio__set_int(int fd, int level, int name, int value)
{
    return setsockopt(fd, level, name, &value, sizeof(value)) < 0 ? cmio__errno() : 0;
}

int cmio__get_bool(int fd, int level, int name, bool *out)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    int v = 0;
    int err = cmio__get_int(fd, level, name, &v);
    if (err == 0)
        *out = v != 0;
    return err;
}

int cmio__take_error(int fd)
{
    int v = 0;
    int err = cmio__get_int(fd, SOL_SOCKET, SO_ERROR, &v);
    if (err == 0)
        cmio__would_block(fd, CMIO__ERROR_TAKEN); /* a reported error is taken */
    return err < 0 ? err : -v;
}

int cmio__stream_peer_addr(int fd, cmio_sockaddr *out)
{
    int err = cmio__peer_addr(fd, out);
    if (err == -ENOTCONN)
        cmio__not_connected(fd); /* the re-arm seam decides */
    return err;
}

int cmio__shutdown(int fd, cmio_shutdown how)
{
    static const int map[] = {[CMIO_SHUTDOWN_READ] = SHUT_RD, [CMIO_SHUTDOWN_WRITE] = SHUT_WR,
                              [CMIO_SHUTDOWN_BOTH] = SHUT_RDWR};
    CMIO__CHECK((unsigned)how <= CMIO_SHUTDOWN_BOTH, -EINVAL);
    return shutdown(fd, map[how]) < 0 ? cmio__errno() : 0;
}

static int family(int fd)
{
    cmio_sockaddr a;
    int err = cmio__local_addr(fd, &a);
    return err < 0 ? err : a.u.sa.sa_family;
}

int cmio__set_ttl(int fd, uint32_t ttl)
{
    CMIO__CHECK(ttl <= 255, -EINVAL);
    int f = family(fd);
    if (f < 0)
        return f;
    return f == AF_INET6 ? cmio__set_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, (int)ttl)
                         : cmio__set_int(fd, IPPROTO_IP, IP_TTL, (int)ttl);
}

int cmio__get_ttl(int fd, uint32_t *out)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    int f = family(fd);
    if (f < 0)
        return f;
    int v = 0;
    int err = f == AF_INET6 ? cmio__get_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v)
                            : cmio__get_int(fd, IPPROTO_IP, IP_TTL, &v);
    if (err == 0)
        *out = (uint32_t)v;
    return err;
}

ssize_t cmio__recvfrom(int fd, void *buf, size_t len, int flags, cmio_sockaddr *from)
{
    CMIO__CHECK(buf != NULL || len == 0, -EINVAL);
    memset(from, 0, sizeof(*from));
    from->len = sizeof(from->u);
    ssize_t n = recvfrom(fd, buf, len, flags, &from->u.sa, &from->len);
    if (n < 0)
        return cmio__io_error(fd, CMIO_READABLE);
    name_unnamed(from);
    return n;
}

ssize_t cmio__readv(int fd, const struct iovec *iov, int iovcnt)
{
    CMIO__CHECK(iovcnt >= 0 && iovcnt <= IOV_MAX && (iov != NULL || iovcnt == 0), -EINVAL);
    ssize_t n = readv(fd, iov, iovcnt);
    return n >= 0 ? n : cmio__io_error(fd, CMIO_READABLE);
}

ssize_t cmio__writev(int fd, const struct iovec *iov, int iovcnt)
{
    CMIO__CHECK(iovcnt >= 0 && iovcnt <= IOV_MAX && (iov != NULL || iovcnt == 0), -EINVAL);
    struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    return n >= 0 ? n : cmio__io_error(fd, CMIO_WRITABLE);
}

void cmio__close(int *fd)
{
    if (fd && *fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* ------------------------------------------------------------------------ */
/* Options of cmio_tcp_socket, shared with streams and UDP sockets (issue 12) */
/* ------------------------------------------------------------------------ */

int cmio__set_linger(int fd, int seconds)
{
    struct linger l = {.l_onoff = seconds >= 0, .l_linger = seconds >= 0 ? seconds : 0};
#ifdef SO_LINGER_SEC
    /* macOS: SO_LINGER counts clock ticks; SO_LINGER_SEC counts seconds. */
    int name = SO_LINGER_SEC;
#else
    int name = SO_LINGER;
#endif
    return setsockopt(fd, SOL_SOCKET, name, &l, sizeof(l)) < 0 ? cmio__errno() : 0;
}

int cmio__get_linger(int fd, int *out)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    struct linger l = {0, 0};
    socklen_t len = sizeof(l);
#ifdef SO_LINGER_SEC
    int name = SO_LINGER_SEC;
#else
    int name = SO_LINGER;
#endif
    if (getsockopt(fd, SOL_SOCKET, name, &l, &len) < 0)
        return cmio__errno();
    *out = l.l_onoff ? l.l_linger : -1;
    return 0;
}

int cmio__set_size(int fd, int level, int name, size_t bytes)
{
    CMIO__CHECK(bytes <= INT_MAX, -EINVAL);
    return cmio__set_int(fd, level, name, (int)bytes);
}

int cmio__get_size(int fd, int level, int name, size_t *out)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    int v = 0;
    int err = cmio__get_int(fd, level, name, &v);
    if (err == 0)
        *out = v > 0 ? (size_t)v : 0;
    return err;
}

/* The keepalive options, by the name each OS gives them; -1 where an OS has
 * none (its part of cmio_keepalive is then -ENOTSUP). */
#if defined(TCP_KEEPIDLE)
#define KEEP_IDLE TCP_KEEPIDLE
#elif defined(TCP_KEEPALIVE)
#define KEEP_IDLE TCP_KEEPALIVE /* macOS: the idle time, in seconds */
#else
#define KEEP_IDLE -1
#endif
#ifdef TCP_KEEPINTVL
#define KEEP_INTVL TCP_KEEPINTVL
#else
#define KEEP_INTVL -1
#endif
#ifdef TCP_KEEPCNT
#define KEEP_CNT TCP_KEEPCNT
#else
#define KEEP_CNT -1
#endif

int cmio__set_keepalive(int fd, const cmio_keepalive *ka)
{
    if (ka == NULL)
        return cmio__set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 0);
    const unsigned parts[3] = {ka->idle_s, ka->interval_s, ka->count};
    const int names[3] = {KEEP_IDLE, KEEP_INTVL, KEEP_CNT};
    /* Every part is checked before anything changes. */
    for (int k = 0; k < 3; k++) {
        CMIO__CHECK(parts[k] <= INT_MAX, -EINVAL);
        CMIO__CHECK(parts[k] == 0 || names[k] != -1, -ENOTSUP);
    }
    int err = cmio__set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
    for (int k = 0; k < 3 && err == 0; k++)
        if (parts[k] != 0)
            err = cmio__set_int(fd, IPPROTO_TCP, names[k], (int)parts[k]);
    return err;
}

int cmio__get_keepalive_params(int fd, cmio_keepalive *out)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    const int names[3] = {KEEP_IDLE, KEEP_INTVL, KEEP_CNT};
    unsigned values[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        if (names[k] == -1)
            continue;
        int v = 0;
        int err = cmio__get_int(fd, IPPROTO_TCP, names[k], &v);
        if (err < 0)
            return err;
        values[k] = v > 0 ? (unsigned)v : 0;
    }
    *out = (cmio_keepalive){.idle_s = values[0], .interval_s = values[1], .count = values[2]};
    return 0;
}

int cmio__set_reuseport(int fd, bool on)
{
#ifdef SO_REUSEPORT
    return cmio__set_int(fd, SOL_SOCKET, SO_REUSEPORT, on ? 1 : 0);
#else
    (void)fd;
    (void)on;
    return -ENOTSUP;
#endif
}

int cmio__get_reuseport(int fd, bool *out)
{
    CMIO__CHECK(out != NULL, -EINVAL);
#ifdef SO_REUSEPORT
    return cmio__get_bool(fd, SOL_SOCKET, SO_REUSEPORT, out);
#else
    (void)fd;
    return -ENOTSUP;
#endif
}
