/*
 * The system-call layer every socket type of net/ shares.
 *
 * SPDX-License-Identifier: MIT
 */
#include "socket.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#if defined(_WIN32)
#include <stdatomic.h>
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mstcpip.h>
#else
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#endif

#if defined(_WIN32)
/* Options take a char pointer in Winsock, a void pointer elsewhere. */
#define OPT(p) ((char *)(void *)(p))
/* Winsock has no IOV_MAX; WSARecv and WSASend take this many buffers per
 * call from cmio (a stack array, no allocation). */
#define IOV_MAX 64
#else
#define OPT(p) ((void *)(p))
#endif

/* Where the OS has AF_UNIX (Windows: mingw's <afunix.h>). */
#if !defined(_WIN32) || defined(CMIO_HAVE_AFUNIX_H)
#define HAVE_UNIX 1
#else
#define HAVE_UNIX 0
#endif

#if defined(_WIN32)
static void error_taken_by_call(cmio_fd fd);
#endif

int cmio__io_error(cmio_fd fd, cmio_interest direction)
{
    int err = cmio__errno();
    /* Any other error: a socket call returns (and clears) a pending error
     * first, so a reported one is taken. */
    cmio__would_block(fd, err == -EAGAIN ? direction : CMIO__ERROR_TAKEN);
#if defined(_WIN32)
    if (err != -EAGAIN)
        error_taken_by_call(fd); /* Winsock keeps SO_ERROR: remember it taken */
#endif
    return err;
}

#if defined(_WIN32)
ssize_t cmio__recv_error(cmio_fd fd)
{
    if (WSAGetLastError() == WSAESHUTDOWN)
        return 0; /* shut down for reading: the end, as on POSIX systems */
    return cmio__io_error(fd, CMIO_READABLE);
}
#endif

static int set_flags(cmio_fd fd)
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

int cmio__adopt(cmio_fd fd)
{
    CMIO__CHECK(CMIO__FD_VALID(fd), -EBADF);
#if defined(_WIN32)
    int err = cmio__wsa_init();
    if (err < 0)
        return err;
    cmio__forget_error(fd); /* adopted: nothing of it was taken through cmio */
#endif
    return set_flags(fd);
}

int cmio__adopt_into(cmio_fd fd, cmio_fd *out)
{
    *out = CMIO_FD_INVALID;
    int err = cmio__adopt(fd);
    if (err == 0)
        *out = fd;
    return err;
}

int cmio__socket(int domain, int type, int protocol, cmio_fd *out)
{
    *out = CMIO_FD_INVALID;
#if defined(_WIN32)
    int err = cmio__wsa_init();
    if (err < 0)
        return err;
    SOCKET fd = WSASocketW(domain, type, protocol, NULL, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (fd == INVALID_SOCKET) {
        err = cmio__errno();
        /* AF_UNIX came with Windows 10 1803 (Wine 8 has none): where the
         * system lacks it, Unix sockets are -ENOTSUP, as include/cmio.h
         * says, not the address family's error. */
        return domain == AF_UNIX && err == -EAFNOSUPPORT ? -ENOTSUP : err;
    }
    u_long on = 1;
    if (ioctlsocket(fd, FIONBIO, &on) != 0) {
        err = cmio__errno();
        closesocket(fd);
        return err;
    }
    cmio__forget_error(fd); /* a handle value that was another socket's */
    *out = fd;
    return 0;
#else
    int fd;
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
    fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd >= 0 || errno != EINVAL) {
        if (fd < 0)
            return cmio__errno();
        *out = fd;
        return 0;
    }
#endif
    fd = socket(domain, type, protocol);
    if (fd < 0)
        return cmio__errno();
    int err = set_flags(fd);
    if (err < 0) {
        close(fd);
        return err;
    }
    *out = fd;
    return 0;
#endif
}

#if !defined(_WIN32)
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
#endif

int cmio__socketpair(int type, cmio_fd *a, cmio_fd *b)
{
    if (a)
        *a = CMIO_FD_INVALID;
    if (b)
        *b = CMIO_FD_INVALID;
    CMIO__CHECK(a != NULL && b != NULL && a != b, -EINVAL);
#if defined(_WIN32)
    /* Windows has no socketpair(2), and its AF_UNIX no SOCK_DGRAM. */
    (void)type;
    return -ENOTSUP;
#else
    int sv[2];
    int err = socketpair_nonblocking(type, sv);
    if (err < 0)
        return err;
    *a = sv[0];
    *b = sv[1];
    return 0;
#endif
}

/* An unbound AF_UNIX peer comes back from accept/recvfrom with no address
 * at all (len 0, not even a family): report it as the unnamed AF_UNIX
 * address, as getsockname does. IP peers always come back whole. */
static void name_unnamed(cmio_sockaddr *a)
{
#if HAVE_UNIX
    if (a->len < (socklen_t)offsetof(struct sockaddr_un, sun_path)) {
        a->u.sa.sa_family = AF_UNIX;
        a->len = offsetof(struct sockaddr_un, sun_path);
    }
#else
    (void)a;
#endif
}

int cmio__accept(cmio_fd fd, cmio_sockaddr *peer, cmio_fd *out)
{
    *out = CMIO_FD_INVALID;
    cmio_sockaddr ignored;
    cmio_sockaddr *a = peer ? peer : &ignored;
    a->len = sizeof(a->u);
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
    int c = accept4(fd, &a->u.sa, &a->len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0)
        return cmio__io_error(fd, CMIO_READABLE);
#else
    cmio_fd c = accept(fd, &a->u.sa, &a->len);
    if (!CMIO__FD_VALID(c))
        return cmio__io_error(fd, CMIO_READABLE);
    int err = set_flags(c);
    if (err < 0) {
        cmio__fd_close(c);
        return err;
    }
    cmio__forget_error(c); /* a handle value that was another socket's */
#endif
    name_unnamed(a);
    *out = c;
    return 0;
}

static bool family_ok(const cmio_sockaddr *addr)
{
    switch (addr->u.sa.sa_family) {
    case AF_INET:
        return addr->len >= (socklen_t)sizeof(struct sockaddr_in);
    case AF_INET6:
        return addr->len >= (socklen_t)sizeof(struct sockaddr_in6);
#if HAVE_UNIX
    case AF_UNIX:
        return addr->len >= (socklen_t)offsetof(struct sockaddr_un, sun_path) &&
               addr->len <= (socklen_t)sizeof(struct sockaddr_un);
#endif
    default:
        return false;
    }
}

bool cmio__is_ip(const cmio_sockaddr *addr)
{
    return addr != NULL && (addr->u.sa.sa_family == AF_INET || addr->u.sa.sa_family == AF_INET6);
}

int cmio__bind_fd(cmio_fd fd, const cmio_sockaddr *addr)
{
    return bind(fd, &addr->u.sa, addr->len) != 0 ? cmio__errno() : 0;
}

int cmio__bind(const cmio_sockaddr *addr, int type, bool listening, cmio_fd *out)
{
    *out = CMIO_FD_INVALID;
    CMIO__CHECK(addr != NULL && family_ok(addr), -EINVAL);
    cmio_fd fd;
    int err = cmio__socket(addr->u.sa.sa_family, type, 0, &fd);
    if (err < 0)
        return err;
#if !defined(_WIN32)
    int one = 1;
    if (listening && addr->u.sa.sa_family != AF_UNIX &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
        err = cmio__errno();
#endif
    if (!err)
        err = cmio__bind_fd(fd, addr);
    if (!err && listening && listen(fd, SOMAXCONN) != 0)
        err = cmio__errno();
    if (err) {
        cmio__fd_close(fd);
        return err;
    }
    *out = fd;
    return 0;
}

int cmio__connect_fd(cmio_fd fd, const cmio_sockaddr *addr)
{
    /* EINPROGRESS: a TCP handshake under way (Winsock says WSAEWOULDBLOCK
     * for it, which the table makes -EAGAIN). An AF_UNIX connect(2) on
     * Linux completes at once or fails; its EAGAIN means the listener's
     * backlog is full and nothing is connecting, so it is an error (mio's
     * WouldBlock), not "in progress" (issue 9, defect 1). */
    if (connect(fd, &addr->u.sa, addr->len) == 0)
        return 0;
#if defined(_WIN32)
    int code = WSAGetLastError();
    return code == WSAEWOULDBLOCK || code == WSAEINPROGRESS ? 0 : cmio__wsa_error(code);
#else
    return errno == EINPROGRESS ? 0 : cmio__errno();
#endif
}

int cmio__connect(const cmio_sockaddr *addr, int type, cmio_fd *out)
{
    *out = CMIO_FD_INVALID;
    CMIO__CHECK(addr != NULL && family_ok(addr), -EINVAL);
    cmio_fd fd;
    int err = cmio__socket(addr->u.sa.sa_family, type, 0, &fd);
    if (err < 0)
        return err;
    err = cmio__connect_fd(fd, addr);
    if (err < 0) {
        cmio__fd_close(fd);
        return err;
    }
    *out = fd;
    return 0;
}

#if defined(_WIN32)
int cmio__family(cmio_fd fd, int *family)
{
    WSAPROTOCOL_INFOW info;
    int len = sizeof(info);
    if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &len) != 0)
        return cmio__errno();
    *family = info.iAddressFamily;
    return 0;
}

/* An IP socket that getsockname calls unbound (WSAEINVAL; POSIX systems
 * name it the wildcard address, port 0): its family, else 0. */
static int unbound_ip_family(cmio_fd fd)
{
    if (WSAGetLastError() != WSAEINVAL)
        return 0;
    int f = 0;
    if (cmio__family(fd, &f) < 0 || (f != AF_INET && f != AF_INET6))
        return 0;
    return f;
}

static void wildcard(cmio_sockaddr *out, int family)
{
    memset(out, 0, sizeof(*out));
    out->u.sa.sa_family = (ADDRESS_FAMILY)family;
    out->len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

int cmio__bind_if_unbound(cmio_fd fd)
{
    cmio_sockaddr a;
    a.len = sizeof(a.u);
    if (getsockname(fd, &a.u.sa, &a.len) == 0)
        return 0;
    int f = unbound_ip_family(fd);
    if (f == 0)
        return 0; /* not ours to decide: the listen that follows says */
    wildcard(&a, f);
    return cmio__bind_fd(fd, &a);
}
#endif

int cmio__local_addr(cmio_fd fd, cmio_sockaddr *out)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    memset(out, 0, sizeof(*out));
    out->len = sizeof(out->u);
    if (getsockname(fd, &out->u.sa, &out->len) == 0)
        return 0;
#if defined(_WIN32)
    int f = unbound_ip_family(fd);
    if (f != 0) {
        wildcard(out, f); /* what POSIX systems answer before bind */
        return 0;
    }
    return cmio__wsa_error(WSAGetLastError());
#else
    return cmio__errno();
#endif
}

int cmio__peer_addr(cmio_fd fd, cmio_sockaddr *out)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    memset(out, 0, sizeof(*out));
    out->len = sizeof(out->u);
    return getpeername(fd, &out->u.sa, &out->len) != 0 ? cmio__errno() : 0;
}

int cmio__get_int(cmio_fd fd, int level, int name, int *value)
{
    socklen_t len = sizeof(*value);
    return getsockopt(fd, level, name, OPT(value), &len) != 0 ? cmio__errno() : 0;
}

int cmio__set_int(cmio_fd fd, int level, int name, int value)
{
    return setsockopt(fd, level, name, OPT(&value), sizeof(value)) != 0 ? cmio__errno() : 0;
}

int cmio__get_bool(cmio_fd fd, int level, int name, bool *out)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    int v = 0;
    int err = cmio__get_int(fd, level, name, &v);
    if (err == 0)
        *out = v != 0;
    return err;
}

#if defined(_WIN32)
/* Winsock keeps a socket's SO_ERROR (a failed connect's code, a UDP
 * socket's last ICMP error) after getsockopt reads it; setting it to 0
 * clears it on Windows, but Wine ignores that. So "take" is kept here too:
 * the sockets whose error was taken, each with the WSA code taken. A take
 * that reads that code again reads 0; another code is a new error,
 * reported and remembered. An entry goes when SO_ERROR reads 0, when cmio
 * closes the socket, when its handle value comes back from a cmio call
 * that makes or adopts a socket (a value reused after a close outside
 * cmio), and when a UDP socket sends (only a datagram brings a new ICMP
 * error, which may carry the same code). Few sockets are ever here (failed
 * connects until they are closed, UDP sockets between an error and their
 * next send): a fixed table, scanned under a lock, so that nothing is
 * allocated; a full one forgets an entry, in turn, whose error may then be
 * reported once more. While it is empty, forgetting costs one relaxed
 * load. */
enum { TAKEN_SLOTS = 64 };
static SRWLOCK taken_lock = SRWLOCK_INIT;
static struct taken_error {
    SOCKET fd;
    int code; /* 0: a free slot */
} taken[TAKEN_SLOTS];
static unsigned taken_next; /* the slot a full table gives up next */
static atomic_uint taken_used;

/* The slot of fd's entry, or -1. Under taken_lock. */
static int taken_find(SOCKET fd)
{
    for (int k = 0; k < TAKEN_SLOTS; k++)
        if (taken[k].code != 0 && taken[k].fd == fd)
            return k;
    return -1;
}

static void taken_remove(int k)
{
    taken[k].code = 0;
    atomic_fetch_sub_explicit(&taken_used, 1, memory_order_relaxed);
}

/* What a take of SO_ERROR `code` (a WSA code, 0 for none) on fd reports:
 * 0 if that code was taken before, else code, now remembered as taken. */
static int taken_code(SOCKET fd, int code)
{
    if (code != 0) {
        int zero = 0; /* clears it on Windows; Wine keeps it */
        (void)setsockopt(fd, SOL_SOCKET, SO_ERROR, (const char *)&zero, sizeof(zero));
    }
    AcquireSRWLockExclusive(&taken_lock);
    int k = taken_find(fd);
    if (code == 0) {
        if (k >= 0)
            taken_remove(k);
    } else if (k >= 0) {
        if (taken[k].code == code)
            code = 0;
        else
            taken[k].code = code;
    } else {
        for (int j = 0; j < TAKEN_SLOTS && k < 0; j++)
            if (taken[j].code == 0)
                k = j;
        if (k >= 0)
            atomic_fetch_add_explicit(&taken_used, 1, memory_order_relaxed);
        else
            k = (int)(taken_next++ % TAKEN_SLOTS); /* full: one goes, in turn */
        taken[k] = (struct taken_error){fd, code};
    }
    ReleaseSRWLockExclusive(&taken_lock);
    return code;
}

void cmio__forget_error(cmio_fd fd)
{
    if (atomic_load_explicit(&taken_used, memory_order_relaxed) == 0)
        return;
    AcquireSRWLockExclusive(&taken_lock);
    int k = taken_find(fd);
    if (k >= 0)
        taken_remove(k);
    ReleaseSRWLockExclusive(&taken_lock);
}

static int so_error(cmio_fd fd, int *code)
{
    *code = 0;
    return cmio__get_int(fd, SOL_SOCKET, SO_ERROR, code);
}

/* A failed call returns the pending error on POSIX systems, which clears
 * it; on Windows the call's own code is not SO_ERROR, and SO_ERROR stays:
 * what it holds counts as taken. */
static void error_taken_by_call(cmio_fd fd)
{
    int code = 0;
    if (so_error(fd, &code) == 0 && code != 0)
        (void)taken_code(fd, code);
}
#endif

int cmio__take_error(cmio_fd fd)
{
    int v = 0;
#if defined(_WIN32)
    int err = so_error(fd, &v);
    if (err == 0)
        v = taken_code(fd, v);
#else
    int err = cmio__get_int(fd, SOL_SOCKET, SO_ERROR, &v);
#endif
    if (err == 0)
        cmio__would_block(fd, CMIO__ERROR_TAKEN); /* a reported error is taken */
    if (err < 0 || v == 0)
        return err;
#if defined(_WIN32)
    return cmio__wsa_error(v); /* SO_ERROR holds a WSA code there */
#else
    return -v;
#endif
}

int cmio__stream_peer_addr(cmio_fd fd, cmio_sockaddr *out)
{
    int err = cmio__peer_addr(fd, out);
    if (err == -ENOTCONN)
        cmio__not_connected(fd); /* the re-arm seam decides */
    return err;
}

int cmio__shutdown(cmio_fd fd, cmio_shutdown how)
{
#if defined(_WIN32)
    static const int map[] = {[CMIO_SHUTDOWN_READ] = SD_RECEIVE, [CMIO_SHUTDOWN_WRITE] = SD_SEND,
                              [CMIO_SHUTDOWN_BOTH] = SD_BOTH};
#else
    static const int map[] = {[CMIO_SHUTDOWN_READ] = SHUT_RD, [CMIO_SHUTDOWN_WRITE] = SHUT_WR,
                              [CMIO_SHUTDOWN_BOTH] = SHUT_RDWR};
#endif
    CMIO__CHECK((unsigned)how <= CMIO_SHUTDOWN_BOTH, -EINVAL);
    return shutdown(fd, map[how]) != 0 ? cmio__errno() : 0;
}

static int family(cmio_fd fd)
{
    cmio_sockaddr a;
    int err = cmio__local_addr(fd, &a);
    return err < 0 ? err : a.u.sa.sa_family;
}

int cmio__set_ttl(cmio_fd fd, uint32_t ttl)
{
    CMIO__CHECK(ttl <= 255, -EINVAL);
    int f = family(fd);
    if (f < 0)
        return f;
    return f == AF_INET6 ? cmio__set_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, (int)ttl)
                         : cmio__set_int(fd, IPPROTO_IP, IP_TTL, (int)ttl);
}

int cmio__get_ttl(cmio_fd fd, uint32_t *out)
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

ssize_t cmio__recvfrom(cmio_fd fd, void *buf, size_t len, int flags, cmio_sockaddr *from)
{
    CMIO__CHECK(buf != NULL || len == 0, -EINVAL);
    memset(from, 0, sizeof(*from));
    from->len = sizeof(from->u);
    ssize_t n = recvfrom(fd, buf, cmio__io_len(len), flags, &from->u.sa, &from->len);
    if (n < 0)
        return cmio__io_error(fd, CMIO_READABLE);
    name_unnamed(from);
    return n;
}

#if defined(_WIN32)
/* iovecs as WSABUFs (lengths cut to what a ULONG counts). */
static void wsabufs(WSABUF *b, const struct iovec *iov, int iovcnt)
{
    for (int i = 0; i < iovcnt; i++) {
        b[i].buf = iov[i].iov_base;
        b[i].len = iov[i].iov_len > 0xffffffffu ? 0xffffffffu : (ULONG)iov[i].iov_len;
    }
}
#endif

ssize_t cmio__readv(cmio_fd fd, const struct iovec *iov, int iovcnt)
{
    CMIO__CHECK(iovcnt >= 0 && iovcnt <= IOV_MAX && (iov != NULL || iovcnt == 0), -EINVAL);
#if defined(_WIN32)
    WSABUF b[IOV_MAX];
    wsabufs(b, iov, iovcnt);
    DWORD got = 0, flags = 0;
    if (WSARecv(fd, b, (DWORD)iovcnt, &got, &flags, NULL, NULL) != 0)
        return cmio__recv_error(fd);
    return (ssize_t)got;
#else
    ssize_t n = readv(fd, iov, iovcnt);
    return n >= 0 ? n : cmio__io_error(fd, CMIO_READABLE);
#endif
}

ssize_t cmio__writev(cmio_fd fd, const struct iovec *iov, int iovcnt)
{
    CMIO__CHECK(iovcnt >= 0 && iovcnt <= IOV_MAX && (iov != NULL || iovcnt == 0), -EINVAL);
#if defined(_WIN32)
    WSABUF b[IOV_MAX];
    wsabufs(b, iov, iovcnt);
    DWORD sent = 0;
    if (WSASend(fd, b, (DWORD)iovcnt, &sent, 0, NULL, NULL) != 0)
        return cmio__io_error(fd, CMIO_WRITABLE);
    return (ssize_t)sent;
#else
    struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    return n >= 0 ? n : cmio__io_error(fd, CMIO_WRITABLE);
#endif
}

void cmio__close(cmio_fd *fd)
{
    if (fd && CMIO__FD_VALID(*fd)) {
        cmio__forget_error(*fd);
        cmio__fd_close(*fd);
        *fd = CMIO_FD_INVALID;
    }
}

/* ------------------------------------------------------------------------ */
/* Options of cmio_tcp_socket, shared with streams and UDP sockets (issue 12) */
/* ------------------------------------------------------------------------ */

int cmio__set_linger(cmio_fd fd, int seconds)
{
    struct linger l = {.l_onoff = seconds >= 0, .l_linger = seconds >= 0 ? seconds : 0};
#ifdef SO_LINGER_SEC
    /* macOS: SO_LINGER counts clock ticks; SO_LINGER_SEC counts seconds. */
    int name = SO_LINGER_SEC;
#else
    int name = SO_LINGER;
#endif
    return setsockopt(fd, SOL_SOCKET, name, OPT(&l), sizeof(l)) != 0 ? cmio__errno() : 0;
}

int cmio__get_linger(cmio_fd fd, int *out)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    struct linger l = {0, 0};
    socklen_t len = sizeof(l);
#ifdef SO_LINGER_SEC
    int name = SO_LINGER_SEC;
#else
    int name = SO_LINGER;
#endif
    if (getsockopt(fd, SOL_SOCKET, name, OPT(&l), &len) != 0)
        return cmio__errno();
    *out = l.l_onoff ? l.l_linger : -1;
    return 0;
}

int cmio__set_size(cmio_fd fd, int level, int name, size_t bytes)
{
    CMIO__CHECK(bytes <= INT_MAX, -EINVAL);
    return cmio__set_int(fd, level, name, (int)bytes);
}

int cmio__get_size(cmio_fd fd, int level, int name, size_t *out)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    int v = 0;
    int err = cmio__get_int(fd, level, name, &v);
    if (err == 0)
        *out = v > 0 ? (size_t)v : 0;
    return err;
}

/* The keepalive options, by the name each OS gives them; -1 where an OS has
 * none (its part of cmio_keepalive is then -ENOTSUP). Windows: the values
 * of the SDK's ws2ipdef.h (TCP_KEEPALIVE, TCP_KEEPINTVL, TCP_KEEPCNT),
 * which mingw-w64's headers lack; a Windows (or Wine) without one refuses
 * it at run time (WSAENOPROTOOPT), which option_lacking() asks first. */
#if defined(_WIN32)
#define KEEP_IDLE 3
#define KEEP_INTVL 17
#define KEEP_CNT 16
#else
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
#endif

/* Whether this system lacks the TCP option `name` (-1: none at build
 * time). On Windows the getsockopt of it answers: WSAENOPROTOOPT before
 * Windows 10 1703/1709 and under Wine. Any other failure (a closed socket)
 * is not "lacking": the call that follows returns it. */
static bool option_lacking(cmio_fd fd, int name)
{
    if (name == -1)
        return true;
#if defined(_WIN32)
    int v = 0;
    return cmio__get_int(fd, IPPROTO_TCP, name, &v) == -ENOPROTOOPT;
#else
    (void)fd;
    return false;
#endif
}

int cmio__set_keepalive(cmio_fd fd, const cmio_keepalive *ka)
{
    if (ka == NULL)
        return cmio__set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 0);
    const unsigned parts[3] = {ka->idle_s, ka->interval_s, ka->count};
    const int names[3] = {KEEP_IDLE, KEEP_INTVL, KEEP_CNT};
    /* Every part is checked before anything changes. */
    for (int k = 0; k < 3; k++)
        CMIO__CHECK(parts[k] <= INT_MAX, -EINVAL);
    for (int k = 0; k < 3; k++)
        CMIO__CHECK(parts[k] == 0 || !option_lacking(fd, names[k]), -ENOTSUP);
    int err = cmio__set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
    for (int k = 0; k < 3 && err == 0; k++)
        if (parts[k] != 0)
            err = cmio__set_int(fd, IPPROTO_TCP, names[k], (int)parts[k]);
    return err;
}

int cmio__get_keepalive_params(cmio_fd fd, cmio_keepalive *out)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    const int names[3] = {KEEP_IDLE, KEEP_INTVL, KEEP_CNT};
    unsigned values[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        if (names[k] == -1)
            continue;
        int v = 0;
        int err = cmio__get_int(fd, IPPROTO_TCP, names[k], &v);
#if defined(_WIN32)
        if (err == -ENOPROTOOPT)
            continue; /* this Windows lacks the option: 0 */
#endif
        if (err < 0)
            return err;
        values[k] = v > 0 ? (unsigned)v : 0;
    }
    *out = (cmio_keepalive){.idle_s = values[0], .interval_s = values[1], .count = values[2]};
    return 0;
}

int cmio__set_reuseport(cmio_fd fd, bool on)
{
#ifdef SO_REUSEPORT
    return cmio__set_int(fd, SOL_SOCKET, SO_REUSEPORT, on ? 1 : 0);
#else
    (void)fd;
    (void)on;
    return -ENOTSUP;
#endif
}

int cmio__get_reuseport(cmio_fd fd, bool *out)
{
    CMIO__CHECK(out != NULL, -EINVAL);
#ifdef SO_REUSEPORT
    return cmio__get_bool(fd, SOL_SOCKET, SO_REUSEPORT, out);
#else
    (void)fd;
    return -ENOTSUP;
#endif
}
