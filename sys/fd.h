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

#if defined(_WIN32)
/* Windows: every descriptor cmio handles is a Winsock SOCKET (cmio_fd in
 * cmio.h). The helpers below do there what they do on POSIX systems:
 * non-blocking through ioctlsocket(FIONBIO), "close-on-exec" as a handle
 * that is not inherited, "is it open" as a socket getsockopt(SO_TYPE)
 * accepts; the error is WSAGetLastError() through the one table of
 * src/error_win.c. There are no pipes. */
#include <winsock2.h>
#include <ws2tcpip.h>

/* A descriptor value that may be one (not CMIO_FD_INVALID). */
#ifndef CMIO__FD_VALID
#define CMIO__FD_VALID(fd) ((fd) != INVALID_SOCKET)
#endif

/* A WSA or Win32 error code as the negative errno cmio documents
 * (src/error_win.c, the one table). */
int cmio__wsa_error(int code);
/* WSAStartup, once per process (src/error_win.c): 0 or a negative errno.
 * Every call that makes a socket, and cmio_poll_new, runs it first. */
int cmio__wsa_init(void);

/* The calling thread's last Winsock error, mapped: -EAGAIN for
 * WSAEWOULDBLOCK, and so on. */
static inline int cmio__errno(void) { return cmio__wsa_error(WSAGetLastError()); }

static inline int cmio__fd_cloexec(SOCKET fd)
{
    return SetHandleInformation((HANDLE)fd, HANDLE_FLAG_INHERIT, 0) ? 0 : cmio__wsa_error((int)GetLastError());
}

static inline int cmio__fd_nonblock_cloexec(SOCKET fd)
{
    u_long on = 1;
    if (ioctlsocket(fd, FIONBIO, &on) != 0)
        return cmio__errno();
    return cmio__fd_cloexec(fd);
}

/* Whether fd is an open socket: 0, or -EBADF (WSAENOTSOCK). */
static inline int cmio__fd_open(SOCKET fd)
{
    int type = 0, len = (int)sizeof(type);
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, (char *)&type, &len) != 0 ? cmio__errno() : 0;
}

/* The raw close of a socket. */
static inline void cmio__fd_close(SOCKET fd) { (void)closesocket(fd); }

#else /* POSIX */
#include <fcntl.h>
#include <unistd.h>

/* A descriptor value that may be one (not negative). */
#ifndef CMIO__FD_VALID
#define CMIO__FD_VALID(fd) ((fd) >= 0)
#endif

/* The raw close of a descriptor. */
static inline void cmio__fd_close(int fd) { (void)close(fd); }

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

#endif /* POSIX */

#endif /* CMIO_SYS_FD_H */
