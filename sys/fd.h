/*
 * Descriptor helpers written once for every layer (libuv's uv__cloexec and
 * uv__nonblock): flags with the fcntl fallback, the "is it open" check and
 * a non-blocking, close-on-exec pipe. A leaf header: it includes nothing of
 * cmio's, so net/ and sys/ may both use it. Not installed.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CMIO_SYS_FD_H
#define CMIO_SYS_FD_H

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#if defined(__linux__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__) ||             \
    defined(__DragonFly__)
#define CMIO__HAVE_PIPE2 1
#endif

/* -errno, with EWOULDBLOCK reported as EAGAIN. */
static inline int cmio__errno(void)
{
    int e = errno;
#if EWOULDBLOCK != EAGAIN
    if (e == EWOULDBLOCK)
        return -EAGAIN;
#endif
    return -e;
}

/* FD_CLOEXEC on fd: 0 or a negative errno. */
static inline int cmio__fd_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    return fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0 ? cmio__errno() : 0;
}

/* O_NONBLOCK and FD_CLOEXEC on fd, where the OS could not set them when
 * the descriptor was made: 0 or a negative errno. */
static inline int cmio__fd_nonblock_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return cmio__errno();
    return cmio__fd_cloexec(fd);
}

/* Whether fd is an open descriptor: 0, or -EBADF. */
static inline int cmio__fd_open(int fd) { return fcntl(fd, F_GETFD) < 0 ? cmio__errno() : 0; }

/* A pipe, both ends non-blocking and close-on-exec (in one call where the
 * OS has pipe2): p[0] reads, p[1] writes. Nothing is left open on failure. */
static inline int cmio__pipe(int p[2])
{
#ifdef CMIO__HAVE_PIPE2
    return pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0 ? cmio__errno() : 0;
#else
    if (pipe(p) < 0)
        return cmio__errno();
    int err = cmio__fd_nonblock_cloexec(p[0]);
    if (err == 0)
        err = cmio__fd_nonblock_cloexec(p[1]);
    if (err < 0) {
        close(p[0]);
        close(p[1]);
    }
    return err;
#endif
}

#endif /* CMIO_SYS_FD_H */
