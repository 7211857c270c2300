/*
 * cmio_udp_socket: a non-blocking UDP socket (mio's net::UdpSocket).
 *
 * SPDX-License-Identifier: MIT
 */
#include "socket.h"

#include <errno.h>
#if !defined(_WIN32)
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

#if defined(_WIN32)
/* Winsock's datagram rules, brought to the header's (POSIX) contract.
 *
 * A datagram longer than the buffer fails the receive with WSAEMSGSIZE,
 * the buffer (and the sender's address) filled and, unless peeking, the
 * rest dropped; recv(2) returns the cut length: so does cmio (libuv reports
 * the same case as a partial read). */
static ssize_t dgram_recv(cmio_fd fd, void *buf, size_t len, int flags, cmio_sockaddr *from)
{
    ssize_t n = cmio__recv(fd, buf, len, flags, from);
    return n == -EMSGSIZE ? (ssize_t)cmio__io_len(len) : n;
}

/* send on a socket with no peer: Winsock says WSAENOTCONN (Wine:
 * WSAEINVAL), POSIX EDESTADDRREQ. Asked only on that failure. */
static ssize_t send_error(cmio_fd fd, ssize_t err)
{
    if (err == -ENOTCONN || err == -EINVAL) {
        cmio_sockaddr peer;
        if (cmio__peer_addr(fd, &peer) == -ENOTCONN)
            return -EDESTADDRREQ;
    }
    return err;
}
#else
#define dgram_recv cmio__recv
#define send_error(fd, err) (err)
#endif

#if !defined(IPV6_ADD_MEMBERSHIP) && defined(IPV6_JOIN_GROUP)
#define IPV6_ADD_MEMBERSHIP IPV6_JOIN_GROUP
#define IPV6_DROP_MEMBERSHIP IPV6_LEAVE_GROUP
#endif

int cmio_udp_socket_bind(cmio_udp_socket *out, const cmio_sockaddr *addr)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    out->fd = CMIO_FD_INVALID;
    CMIO__CHECK(cmio__is_ip(addr), -EINVAL);
    return cmio__bind(addr, SOCK_DGRAM, false, &out->fd);
}

int cmio_udp_socket_bind_reuseport(cmio_udp_socket *out, const cmio_sockaddr *addr)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    out->fd = CMIO_FD_INVALID;
    CMIO__CHECK(cmio__is_ip(addr), -EINVAL);
    cmio_fd fd;
    int err = cmio__socket(addr->u.sa.sa_family, SOCK_DGRAM, 0, &fd);
    if (err < 0)
        return err;
    /* The option governs the bind: set it first. */
    err = cmio__set_reuseport(fd, true);
    if (err == 0)
        err = cmio__bind_fd(fd, addr);
    if (err < 0) {
        cmio__fd_close(fd);
        return err;
    }
    out->fd = fd;
    return 0;
}

ssize_t cmio_udp_socket_send_to(cmio_udp_socket *s, const void *buf, size_t len, const cmio_sockaddr *to)
{
    CMIO__CHECK_SOCK(s);
    CMIO__CHECK(cmio__is_ip(to), -EINVAL);
    cmio__forget_error(s->fd); /* a send may bring a new error, of the code taken before */
    return cmio__send(s->fd, buf, len, 0, to);
}

ssize_t cmio_udp_socket_recv_from(cmio_udp_socket *s, void *buf, size_t len, cmio_sockaddr *from)
{
    CMIO__CHECK_SOCK(s);
    return dgram_recv(s->fd, buf, len, 0, from);
}

ssize_t cmio_udp_socket_peek_from(cmio_udp_socket *s, void *buf, size_t len, cmio_sockaddr *from)
{
    CMIO__CHECK_SOCK(s);
    return dgram_recv(s->fd, buf, len, MSG_PEEK, from);
}

int cmio_udp_socket_connect(cmio_udp_socket *s, const cmio_sockaddr *addr)
{
    CMIO__CHECK_SOCK(s);
    CMIO__CHECK(cmio__is_ip(addr), -EINVAL);
    int rc;
    do
        rc = connect(s->fd, &addr->u.sa, addr->len) != 0 ? cmio__errno() : 0;
    while (rc == -EINTR);
    return rc;
}

ssize_t cmio_udp_socket_send(cmio_udp_socket *s, const void *buf, size_t len)
{
    CMIO__CHECK_SOCK(s);
    CMIO__CHECK(buf != NULL || len == 0, -EINVAL);
    cmio__forget_error(s->fd);
    ssize_t n = cmio__send(s->fd, buf, len, 0, NULL);
    return n >= 0 ? n : send_error(s->fd, n);
}

ssize_t cmio_udp_socket_recv(cmio_udp_socket *s, void *buf, size_t len)
{
    CMIO__CHECK_SOCK(s);
    return dgram_recv(s->fd, buf, len, 0, NULL);
}

ssize_t cmio_udp_socket_peek(cmio_udp_socket *s, void *buf, size_t len)
{
    CMIO__CHECK_SOCK(s);
    return dgram_recv(s->fd, buf, len, MSG_PEEK, NULL);
}

int cmio_udp_socket_set_broadcast(cmio_udp_socket *s, bool on)
{
    CMIO__CHECK_SOCK(s);
    return cmio__set_int(s->fd, SOL_SOCKET, SO_BROADCAST, on ? 1 : 0);
}

int cmio_udp_socket_broadcast(const cmio_udp_socket *s, bool *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_bool(s->fd, SOL_SOCKET, SO_BROADCAST, out);
}

int cmio_udp_socket_set_multicast_loop_v4(cmio_udp_socket *s, bool on)
{
    CMIO__CHECK_SOCK(s);
    return cmio__set_int(s->fd, IPPROTO_IP, IP_MULTICAST_LOOP, on ? 1 : 0);
}

int cmio_udp_socket_multicast_loop_v4(const cmio_udp_socket *s, bool *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_bool(s->fd, IPPROTO_IP, IP_MULTICAST_LOOP, out);
}

int cmio_udp_socket_set_multicast_ttl_v4(cmio_udp_socket *s, uint32_t ttl)
{
    CMIO__CHECK_SOCK(s);
    CMIO__CHECK(ttl <= 255, -EINVAL);
    return cmio__set_int(s->fd, IPPROTO_IP, IP_MULTICAST_TTL, (int)ttl);
}

int cmio_udp_socket_multicast_ttl_v4(const cmio_udp_socket *s, uint32_t *out)
{
    CMIO__CHECK_SOCK(s);
    CMIO__CHECK(out != NULL, -EINVAL);
    int v = 0;
    int err = cmio__get_int(s->fd, IPPROTO_IP, IP_MULTICAST_TTL, &v);
    if (err == 0)
        *out = (uint32_t)v;
    return err;
}

int cmio_udp_socket_set_multicast_loop_v6(cmio_udp_socket *s, bool on)
{
    CMIO__CHECK_SOCK(s);
    return cmio__set_int(s->fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, on ? 1 : 0);
}

int cmio_udp_socket_multicast_loop_v6(const cmio_udp_socket *s, bool *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_bool(s->fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, out);
}

int cmio_udp_socket_set_ttl(cmio_udp_socket *s, uint32_t ttl)
{
    CMIO__CHECK_SOCK(s);
    return cmio__set_ttl(s->fd, ttl);
}

int cmio_udp_socket_ttl(const cmio_udp_socket *s, uint32_t *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_ttl(s->fd, out);
}

static int membership_v4(cmio_udp_socket *s, int name, const struct in_addr *multiaddr,
                         const struct in_addr *iface)
{
    CMIO__CHECK_SOCK(s);
    CMIO__CHECK(multiaddr != NULL && iface != NULL, -EINVAL);
    struct ip_mreq m = {.imr_multiaddr = *multiaddr, .imr_interface = *iface};
    int err = setsockopt(s->fd, IPPROTO_IP, name, (const void *)&m, sizeof(m)) != 0 ? cmio__errno() : 0;
#if defined(_WIN32)
    /* Leaving a group it is not a member of: Winsock says WSAEINVAL. */
    if (err == -EINVAL && name == IP_DROP_MEMBERSHIP && IN_MULTICAST(ntohl(multiaddr->s_addr)))
        err = -EADDRNOTAVAIL;
#endif
    return err;
}

static int membership_v6(cmio_udp_socket *s, int name, const struct in6_addr *multiaddr, unsigned iface)
{
    CMIO__CHECK_SOCK(s);
    CMIO__CHECK(multiaddr != NULL, -EINVAL);
    struct ipv6_mreq m = {.ipv6mr_multiaddr = *multiaddr, .ipv6mr_interface = iface};
    int err = setsockopt(s->fd, IPPROTO_IPV6, name, (const void *)&m, sizeof(m)) != 0 ? cmio__errno() : 0;
#if defined(_WIN32)
    if (err == -EINVAL && name == IPV6_DROP_MEMBERSHIP && IN6_IS_ADDR_MULTICAST(multiaddr))
        err = -EADDRNOTAVAIL; /* as for IPv4 */
#endif
    return err;
}

int cmio_udp_socket_join_multicast_v4(cmio_udp_socket *s, const struct in_addr *multiaddr,
                                      const struct in_addr *iface)
{
    return membership_v4(s, IP_ADD_MEMBERSHIP, multiaddr, iface);
}

int cmio_udp_socket_leave_multicast_v4(cmio_udp_socket *s, const struct in_addr *multiaddr,
                                       const struct in_addr *iface)
{
    return membership_v4(s, IP_DROP_MEMBERSHIP, multiaddr, iface);
}

int cmio_udp_socket_join_multicast_v6(cmio_udp_socket *s, const struct in6_addr *multiaddr, unsigned iface)
{
    return membership_v6(s, IPV6_ADD_MEMBERSHIP, multiaddr, iface);
}

int cmio_udp_socket_leave_multicast_v6(cmio_udp_socket *s, const struct in6_addr *multiaddr, unsigned iface)
{
    return membership_v6(s, IPV6_DROP_MEMBERSHIP, multiaddr, iface);
}

int cmio_udp_socket_only_v6(const cmio_udp_socket *s, bool *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_bool(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, out);
}

int cmio_udp_socket_set_only_v6(cmio_udp_socket *s, bool on)
{
    CMIO__CHECK_SOCK(s);
    return cmio__set_int(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, on ? 1 : 0);
}

int cmio_udp_socket_local_addr(const cmio_udp_socket *s, cmio_sockaddr *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__local_addr(s->fd, out);
}

int cmio_udp_socket_peer_addr(const cmio_udp_socket *s, cmio_sockaddr *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__peer_addr(s->fd, out);
}

int cmio_udp_socket_take_error(cmio_udp_socket *s)
{
    CMIO__CHECK_SOCK(s);
    return cmio__take_error(s->fd);
}

int cmio_udp_socket_from_fd(cmio_udp_socket *out, cmio_fd fd)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    return cmio__adopt_into(fd, &out->fd);
}

void cmio_udp_socket_close(cmio_udp_socket *s)
{
    if (s)
        cmio__close(&s->fd);
}

/* Options shared with cmio_tcp_socket (issue 12). */

int cmio_udp_socket_set_recv_buffer_size(cmio_udp_socket *s, size_t bytes)
{
    CMIO__CHECK_SOCK(s);
    return cmio__set_size(s->fd, SOL_SOCKET, SO_RCVBUF, bytes);
}

int cmio_udp_socket_recv_buffer_size(const cmio_udp_socket *s, size_t *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_size(s->fd, SOL_SOCKET, SO_RCVBUF, out);
}

int cmio_udp_socket_set_send_buffer_size(cmio_udp_socket *s, size_t bytes)
{
    CMIO__CHECK_SOCK(s);
    return cmio__set_size(s->fd, SOL_SOCKET, SO_SNDBUF, bytes);
}

int cmio_udp_socket_send_buffer_size(const cmio_udp_socket *s, size_t *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_size(s->fd, SOL_SOCKET, SO_SNDBUF, out);
}

int cmio_udp_socket_set_reuseport(cmio_udp_socket *s, bool on)
{
    CMIO__CHECK_SOCK(s);
    return cmio__set_reuseport(s->fd, on);
}

int cmio_udp_socket_reuseport(const cmio_udp_socket *s, bool *out)
{
    CMIO__CHECK_SOCK(s);
    return cmio__get_reuseport(s->fd, out);
}
