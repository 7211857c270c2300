/*
 * Helpers shared by the files of net/ (not installed): descriptor creation,
 * error mapping, socket options and the I/O calls every socket type uses.
 * Each returns a value >= 0 or a negative errno, like the public API.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CMIO_NET_SOCKET_H
#define CMIO_NET_SOCKET_H

#include "../src/check.h"
#include "../src/rearm.h"
#include "../sys/fd.h"

#include <errno.h>
#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
/* Winsock takes lengths as int and buffers as char pointers: the casts
 * are written once, in the helpers below. Sends never raise a signal
 * there. */
typedef int cmio__iolen;
#define MSG_NOSIGNAL 0
#else
#include <sys/socket.h>
#include <unistd.h>
typedef size_t cmio__iolen;
#endif

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* the OS's way is SO_NOSIGPIPE, set at creation (cmio__socket) */
#endif
/* The usual door of a socket call: the struct is there and open. */
#define CMIO__CHECK_SOCK(s) CMIO__CHECK((s) != NULL, -EINVAL); CMIO__CHECK(CMIO__FD_VALID((s)->fd), -EBADF)

/* The error of a failed I/O call on fd, as cmio__errno() (sys/fd.h); on -EAGAIN it
 * also tells emulating backends to re-arm fd's `direction` (CMIO_READABLE
 * for reads, receives, accepts; CMIO_WRITABLE for writes, sends), on any
 * other error that fd's pending error is taken. Every I/O path of net/
 * fails through it. */
int cmio__io_error(cmio_fd fd, cmio_interest direction);

/* socket(2) made non-blocking and close-on-exec in one call where the OS
 * allows (fcntl otherwise), into *out (CMIO_FD_INVALID on failure); on
 * Windows WSASocketW with WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT
 * (the AFD backend needs overlapped sockets), then FIONBIO. Runs
 * cmio__wsa_init first there. 0 or a negative errno. */
int cmio__socket(int domain, int type, int protocol, cmio_fd *out);
/* socketpair(2) of AF_UNIX into *a and *b, both ends non-blocking and
 * close-on-exec in one call where the OS allows. *a and *b are CMIO_FD_INVALID unless it
 * succeeds; -EINVAL if either is NULL or they are the same. Nothing is left
 * open on failure. */
int cmio__socketpair(int type, cmio_fd *a, cmio_fd *b);
/* Make an adopted descriptor non-blocking and close-on-exec. */
int cmio__adopt(cmio_fd fd);
/* The *_from_fd door: *out is CMIO_FD_INVALID unless fd is adopted, then fd. */
int cmio__adopt_into(cmio_fd fd, cmio_fd *out);
/* accept4(2) with SOCK_NONBLOCK|SOCK_CLOEXEC into *out; peer may be NULL.
 * On Windows accept(), then FIONBIO and no inheritance (the accepted
 * socket inherits the listener's overlapped attribute). */
int cmio__accept(cmio_fd fd, cmio_sockaddr *peer, cmio_fd *out);
/* A new socket of addr's family bound to addr, into *out; listening with
 * SOMAXCONN and SO_REUSEADDR when listen is true (not on Windows, where
 * SO_REUSEADDR would let another socket take the port, as std leaves it). */
int cmio__bind(const cmio_sockaddr *addr, int type, bool listen, cmio_fd *out);
/* connect(2) on a new non-blocking socket of addr's family, into *out;
 * EINPROGRESS counts as success, EAGAIN (a full AF_UNIX backlog) is -EAGAIN
 * with the socket closed. */
int cmio__connect(const cmio_sockaddr *addr, int type, cmio_fd *out);
/* connect(2) of an existing socket: 0 also while the handshake is under
 * way (EINPROGRESS; Winsock's WSAEWOULDBLOCK), else a negative errno. */
int cmio__connect_fd(cmio_fd fd, const cmio_sockaddr *addr);
/* bind(2) of an existing socket: 0 or a negative errno. */
int cmio__bind_fd(cmio_fd fd, const cmio_sockaddr *addr);

/* addr is an IPv4 or IPv6 address (what TCP and UDP take). */
bool cmio__is_ip(const cmio_sockaddr *addr);

/* getsockname/getpeername into out. On Windows an IP socket not yet bound
 * (getsockname: WSAEINVAL) is named as POSIX systems name it: the
 * wildcard address of its family, port 0. */
int cmio__local_addr(cmio_fd fd, cmio_sockaddr *out);
#if defined(_WIN32)
/* The socket's address family from its protocol record (WSAPROTOCOL_INFOW),
 * which a socket not yet bound has too. */
int cmio__family(cmio_fd fd, int *family);
/* Bind an IP socket not yet bound to its family's wildcard address, port 0,
 * as listen(2) does by itself on POSIX systems (Winsock's listen says
 * WSAEINVAL instead). 0 if it was bound, or the bind's error. */
int cmio__bind_if_unbound(cmio_fd fd);
#endif
int cmio__peer_addr(cmio_fd fd, cmio_sockaddr *out);
/* SO_ERROR as a negative errno, or 0 (reading it clears it, and tells
 * emulating backends that a reported error is taken). On Windows, where
 * SO_ERROR stays after it is read, the codes taken are remembered per
 * socket (net/socket.c) and read as 0 the next time. */
int cmio__take_error(cmio_fd fd);
/* Forget what was taken of fd's SO_ERROR (fd closed, a new socket, or a
 * UDP send, which may bring a new error). Only Windows remembers. */
#if defined(_WIN32)
void cmio__forget_error(cmio_fd fd);
#else
static inline void cmio__forget_error(cmio_fd fd) { (void)fd; }
#endif
/* A stream's peer_addr: cmio__peer_addr, and on -ENOTCONN, while a connect
 * is in progress (not yet writable, not hung up or errored), the re-arm of
 * writing that the next writable event needs on emulating backends. */
int cmio__stream_peer_addr(cmio_fd fd, cmio_sockaddr *out);
/* shutdown(2) with cmio_shutdown's values. */
int cmio__shutdown(cmio_fd fd, cmio_shutdown how);

/* Integer and boolean socket options. */
int cmio__set_int(cmio_fd fd, int level, int name, int value);
int cmio__get_int(cmio_fd fd, int level, int name, int *value);
int cmio__get_bool(cmio_fd fd, int level, int name, bool *out);
/* The TTL option for the socket's family (IP_TTL or IPV6_UNICAST_HOPS). */
int cmio__set_ttl(cmio_fd fd, uint32_t ttl);
int cmio__get_ttl(cmio_fd fd, uint32_t *out);

/* I/O that never raises SIGPIPE (MSG_NOSIGNAL). cmio__send and cmio__recv
 * are inline so that a read or write that succeeds costs its system call and
 * a test or two (the per-event path of docs/benchmarks.md); a failed call's
 * errno becomes the result in cmio__io_error(), out of line. -EINTR is
 * returned as it is, as mio returns ErrorKind::Interrupted (on a
 * non-blocking descriptor the kernel does not sleep, so it does not happen).
 * `to`/`from` may be NULL. */
ssize_t cmio__recvfrom(cmio_fd fd, void *buf, size_t len, int flags, cmio_sockaddr *from);

/* Winsock counts a call's bytes in an int: a longer buffer is cut to
 * INT_MAX, a short write or read as any other. */
static inline cmio__iolen cmio__io_len(size_t len)
{
#if defined(_WIN32)
    return len > 0x7fffffff ? 0x7fffffff : (int)len;
#else
    return len;
#endif
}

static inline ssize_t cmio__send(cmio_fd fd, const void *buf, size_t len, int flags, const cmio_sockaddr *to)
{
    if (buf == NULL && len != 0)
        return -EINVAL;
    ssize_t n = to ? sendto(fd, buf, cmio__io_len(len), flags | MSG_NOSIGNAL, &to->u.sa, to->len)
                   : send(fd, buf, cmio__io_len(len), flags | MSG_NOSIGNAL);
    return n >= 0 ? n : cmio__io_error(fd, CMIO_WRITABLE);
}

#if defined(_WIN32)
/* A failed receive on Windows: cmio__io_error's result, but 0 (the end of
 * the stream, as recv(2) says after shutdown(SHUT_RD)) for WSAESHUTDOWN,
 * which Winsock returns for a receive after shutdown(SD_RECEIVE). */
ssize_t cmio__recv_error(cmio_fd fd);
#endif

static inline ssize_t cmio__recv(cmio_fd fd, void *buf, size_t len, int flags, cmio_sockaddr *from)
{
    if (from != NULL)
        return cmio__recvfrom(fd, buf, len, flags, from);
    if (buf == NULL && len != 0)
        return -EINVAL;
#if defined(_WIN32)
    ssize_t n = recv(fd, buf, cmio__io_len(len), flags);
    return n >= 0 ? n : cmio__recv_error(fd);
#else
    /* read(2) is recv(2) without flags, and the lighter call in libc. */
    ssize_t n = flags == 0 ? read(fd, buf, len) : recv(fd, buf, len, flags);
    return n >= 0 ? n : cmio__io_error(fd, CMIO_READABLE);
#endif
}

/* readv(2) and sendmsg(2); WSARecv and WSASend on Windows. */
ssize_t cmio__readv(cmio_fd fd, const struct iovec *iov, int iovcnt);
ssize_t cmio__writev(cmio_fd fd, const struct iovec *iov, int iovcnt);

/* Options of cmio_tcp_socket, shared with streams and UDP sockets (issue
 * 12). Linger: seconds >= 0 on, negative off; the getter gives -1 when off
 * (SO_LINGER_SEC where SO_LINGER counts ticks). Sizes: -EINVAL above
 * INT_MAX. Keepalive: NULL turns SO_KEEPALIVE off; otherwise on, then each
 * non-zero part (idle, interval, count) through TCP_KEEPIDLE (TCP_KEEPALIVE
 * on macOS), TCP_KEEPINTVL, TCP_KEEPCNT, -ENOTSUP (before any change) for a
 * part this OS lacks; the params getter reads 0 for such a part.
 * SO_REUSEPORT: -ENOTSUP where the OS has none. */
int cmio__set_linger(cmio_fd fd, int seconds);
int cmio__get_linger(cmio_fd fd, int *out);
int cmio__set_size(cmio_fd fd, int level, int name, size_t bytes);
int cmio__get_size(cmio_fd fd, int level, int name, size_t *out);
int cmio__set_keepalive(cmio_fd fd, const cmio_keepalive *ka);
int cmio__get_keepalive_params(cmio_fd fd, cmio_keepalive *out);
int cmio__set_reuseport(cmio_fd fd, bool on);
int cmio__get_reuseport(cmio_fd fd, bool *out);

/* close(2) (closesocket on Windows) and *fd = CMIO_FD_INVALID; ignores
 * NULL and closed. */
void cmio__close(cmio_fd *fd);

#endif /* CMIO_NET_SOCKET_H */
