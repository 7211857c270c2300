/*
 * Descriptor passing over Unix sockets (SCM_RIGHTS): what
 * cmio_unix_stream_send_fds/recv_fds and the datagram pair do beneath
 * their door checks.
 *
 * SPDX-License-Identifier: MIT
 */
#include "fd_passing.h"

#if defined(_WIN32)
/* Windows has no SCM_RIGHTS (its AF_UNIX passes no handles): -ENOTSUP,
 * after the same checks of the arguments as elsewhere. */
ssize_t cmio__send_fds(cmio_fd fd, const void *buf, size_t len, const cmio_fd *fds, size_t nfds)
{
    (void)fd;
    CMIO__CHECK(buf != NULL || len == 0, -EINVAL);
    CMIO__CHECK(fds != NULL || nfds == 0, -EINVAL);
    CMIO__CHECK(nfds <= CMIO_UNIX_MAX_FDS, -EINVAL);
    return -ENOTSUP;
}

ssize_t cmio__recv_fds(cmio_fd fd, void *buf, size_t len, cmio_fd *fds, size_t *nfds)
{
    (void)fd;
    CMIO__CHECK(nfds != NULL, -EINVAL);
    size_t room = *nfds;
    *nfds = 0;
    CMIO__CHECK(buf != NULL || len == 0, -EINVAL);
    CMIO__CHECK(fds != NULL || room == 0, -EINVAL);
    return -ENOTSUP;
}

#else /* POSIX */

#include <string.h>
#if !defined(_WIN32)
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#endif

/* Room for a full SCM_RIGHTS message, aligned as a cmsghdr. A receive also
 * leaves room for a message of another type next to it (SCM_CREDENTIALS
 * when the user set SO_PASSCRED), so that it does not truncate ours. */
#define RIGHTS_SPACE CMSG_SPACE(sizeof(int) * CMIO_UNIX_MAX_FDS)
#define OTHER_SPACE CMSG_SPACE(64)

union send_control {
    struct cmsghdr align;
    unsigned char buf[RIGHTS_SPACE];
};

union recv_control {
    struct cmsghdr align;
    unsigned char buf[RIGHTS_SPACE + OTHER_SPACE];
};

ssize_t cmio__send_fds(cmio_fd fd, const void *buf, size_t len, const cmio_fd *fds, size_t nfds)
{
    CMIO__CHECK(buf != NULL || len == 0, -EINVAL);
    CMIO__CHECK(fds != NULL || nfds == 0, -EINVAL);
    CMIO__CHECK(nfds <= CMIO_UNIX_MAX_FDS, -EINVAL);
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    union send_control control;
    if (nfds > 0) {
        memset(&control, 0, sizeof(control));
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    return n >= 0 ? n : cmio__io_error(fd, CMIO_WRITABLE);
}

/* How many descriptors an SCM_RIGHTS message holds, bounded by the control
 * data the kernel wrote (a truncated message may claim more). */
static size_t rights_count(const struct msghdr *msg, const struct cmsghdr *c)
{
    const unsigned char *data = CMSG_DATA(c);
    const unsigned char *end = (const unsigned char *)msg->msg_control + msg->msg_controllen;
    if (c->cmsg_len < CMSG_LEN(0) || data > end)
        return 0;
    size_t bytes = c->cmsg_len - CMSG_LEN(0);
    if (bytes > (size_t)(end - data))
        bytes = (size_t)(end - data);
    return bytes / sizeof(int);
}

/* Close every descriptor of every SCM_RIGHTS message in msg. */
static void close_all(struct msghdr *msg)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t count = rights_count(msg, c);
        for (size_t k = 0; k < count; k++) {
            int got;
            memcpy(&got, CMSG_DATA(c) + k * sizeof(int), sizeof(int)); /* CMSG_DATA need not be int-aligned */
            close(got);
        }
    }
}

ssize_t cmio__recv_fds(cmio_fd fd, void *buf, size_t len, cmio_fd *fds, size_t *nfds)
{
    CMIO__CHECK(nfds != NULL, -EINVAL);
    size_t room = *nfds;
    *nfds = 0;
    CMIO__CHECK(buf != NULL || len == 0, -EINVAL);
    CMIO__CHECK(fds != NULL || room == 0, -EINVAL);
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    union recv_control control;
    /* The whole buffer even when room is smaller: the kernel then delivers
     * every descriptor and we close those that do not fit, instead of
     * leaving each kernel to decide what becomes of descriptors that do not
     * fit a short buffer (Linux drops them; not every kernel is known to). */
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)};
    int flags = 0;
#ifdef MSG_CMSG_CLOEXEC
    flags |= MSG_CMSG_CLOEXEC;
#endif
    ssize_t n = recvmsg(fd, &msg, flags);
    if (n < 0)
        return cmio__io_error(fd, CMIO_READABLE);
    if (msg.msg_controllen == 0)
        return n; /* the common case: bytes only */

    size_t got = 0;
    bool fits = (msg.msg_flags & MSG_CTRUNC) == 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue; /* SCM_CREDENTIALS and the like: not ours to report */
        size_t count = rights_count(&msg, c);
        for (size_t k = 0; k < count; k++) {
            int d;
            memcpy(&d, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
#ifndef MSG_CMSG_CLOEXEC
            /* The race the header documents: a fork+exec in another thread
             * before this line inherits d. */
            (void)cmio__fd_cloexec(d);
#endif
            if (got < room)
                fds[got] = d;
            got++;
        }
    }
    if (!fits || got > room) {
        close_all(&msg);
        return -EMSGSIZE;
    }
    *nfds = got;
    return n;
}

#endif /* POSIX */
