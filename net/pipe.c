/*
 * Pipes (mio::unix::pipe): a non-blocking sender and receiver pair. A write
 * to a pipe whose reader is gone returns -EPIPE without raising SIGPIPE: a
 * pipe has no MSG_NOSIGNAL, so the signal is blocked in the calling thread
 * around the write and the one the write caused (directed at this thread)
 * is consumed; one pending for the whole process is left alone.
 *
 * SPDX-License-Identifier: MIT
 */
#include "socket.h"

#if defined(_WIN32)
/* Windows: no pipes of this kind (an anonymous pipe cannot be polled
 * through AFD; mio's NamedPipe is another API): -ENOTSUP after the checks
 * of the arguments, documented in include/cmio.h. Closing is as
 * elsewhere. */
int cmio_pipe_new(cmio_pipe_sender *tx, cmio_pipe_receiver *rx)
{
    if (tx)
        tx->fd = CMIO_FD_INVALID;
    if (rx)
        rx->fd = CMIO_FD_INVALID;
    CMIO__CHECK(tx != NULL && rx != NULL && (void *)tx != (void *)rx, -EINVAL);
    return -ENOTSUP;
}

ssize_t cmio_pipe_sender_write(cmio_pipe_sender *tx, const void *buf, size_t len)
{
    CMIO__CHECK_SOCK(tx);
    CMIO__CHECK(buf != NULL || len == 0, -EINVAL);
    return -ENOTSUP;
}

ssize_t cmio_pipe_receiver_read(cmio_pipe_receiver *rx, void *buf, size_t len)
{
    CMIO__CHECK_SOCK(rx);
    CMIO__CHECK(buf != NULL || len == 0, -EINVAL);
    return -ENOTSUP;
}

int cmio_pipe_sender_from_fd(cmio_pipe_sender *out, cmio_fd fd)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    out->fd = CMIO_FD_INVALID;
    CMIO__CHECK(CMIO__FD_VALID(fd), -EBADF);
    return -ENOTSUP;
}

int cmio_pipe_receiver_from_fd(cmio_pipe_receiver *out, cmio_fd fd)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    out->fd = CMIO_FD_INVALID;
    CMIO__CHECK(CMIO__FD_VALID(fd), -EBADF);
    return -ENOTSUP;
}

#else /* POSIX */

#if !defined(_WIN32)
#include <fcntl.h>
#endif
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if !defined(_WIN32)
#include <unistd.h>
#endif

int cmio_pipe_new(cmio_pipe_sender *tx, cmio_pipe_receiver *rx)
{
    if (tx)
        tx->fd = CMIO_FD_INVALID;
    if (rx)
        rx->fd = CMIO_FD_INVALID;
    CMIO__CHECK(tx != NULL && rx != NULL && (void *)tx != (void *)rx, -EINVAL);
    int p[2];
    int err = cmio__pipe(p);
    if (err < 0)
        return err;
    rx->fd = p[0];
    tx->fd = p[1];
    return 0;
}

/* Take the SIGPIPE a write just made pending (SIGPIPE is blocked). The
 * kernel directs it at the writing thread, and a thread's own pending
 * signals are taken before the process's (Linux's dequeue_signal), so a
 * SIGPIPE pending for the whole process is left where it is. */
static void consume_sigpipe(const sigset_t *set)
{
#ifdef __APPLE__ /* no sigtimedwait: sigwait returns at once as it is pending */
    sigset_t pending;
    int sig;
    if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1)
        sigwait(set, &sig);
#else
    static const struct timespec zero = {0, 0};
    while (sigtimedwait(set, NULL, &zero) < 0 && errno == EINTR)
        ;
#endif
}

#ifdef __linux__
/* Whether SIGPIPE is pending for this thread itself (SigPnd of its status;
 * ShdPnd is the process's), or -1 if that cannot be read. */
static int thread_sigpipe_pending(void)
{
    char buf[2048];
    int fd = open("/proc/thread-self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *line = strstr(buf, "\nSigPnd:");
    if (!line)
        return -1;
    unsigned long long mask = strtoull(line + 8, NULL, 16);
    return (int)((mask >> (SIGPIPE - 1)) & 1);
}
#endif

/* Whether a SIGPIPE is pending for this thread before the write, so that
 * the write's own would merge into it (signals do not queue): then it is
 * not ours to consume. Only a caller that blocks SIGPIPE can have one; a
 * SIGPIPE pending for the whole process does not count. */
static bool own_sigpipe_pending(void)
{
    sigset_t pending;
    if (sigpending(&pending) < 0 || sigismember(&pending, SIGPIPE) != 1)
        return false;
#ifdef __linux__
    int own = thread_sigpipe_pending();
    if (own >= 0)
        return own == 1;
#endif
    return true; /* cannot tell: leave pending what may be the caller's */
}

/* A pipe has no MSG_NOSIGNAL: SIGPIPE is blocked in this thread around the
 * write(2) and the one the write raised is consumed. Three system calls
 * (block, write, restore; two when the caller blocks SIGPIPE already), one
 * more when the write fails with -EPIPE. */
ssize_t cmio_pipe_sender_write(cmio_pipe_sender *tx, const void *buf, size_t len)
{
    CMIO__CHECK_SOCK(tx);
    CMIO__CHECK(buf != NULL || len == 0, -EINVAL);
    sigset_t sigpipe, old;
    sigemptyset(&sigpipe);
    sigaddset(&sigpipe, SIGPIPE);
    int err = pthread_sigmask(SIG_BLOCK, &sigpipe, &old);
    if (err)
        return -err;
    /* Unblocked until now: nothing of this thread's can be pending (it
     * would have been delivered). */
    bool caller_blocks = sigismember(&old, SIGPIPE) == 1;
    bool own_pending = caller_blocks && own_sigpipe_pending();
    ssize_t n = write(tx->fd, buf, len);
    ssize_t ret = n >= 0 ? n : cmio__io_error(tx->fd, CMIO_WRITABLE);
    if (ret == -EPIPE && !own_pending)
        consume_sigpipe(&sigpipe);
    if (!caller_blocks)
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    return ret;
}

ssize_t cmio_pipe_receiver_read(cmio_pipe_receiver *rx, void *buf, size_t len)
{
    CMIO__CHECK_SOCK(rx);
    CMIO__CHECK(buf != NULL || len == 0, -EINVAL);
    ssize_t n = read(rx->fd, buf, len);
    return n >= 0 ? n : cmio__io_error(rx->fd, CMIO_READABLE);
}

int cmio_pipe_sender_from_fd(cmio_pipe_sender *out, cmio_fd fd)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    return cmio__adopt_into(fd, &out->fd);
}

int cmio_pipe_receiver_from_fd(cmio_pipe_receiver *out, cmio_fd fd)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    return cmio__adopt_into(fd, &out->fd);
}

#endif /* POSIX */

void cmio_pipe_sender_close(cmio_pipe_sender *tx)
{
    if (tx)
        cmio__close(&tx->fd);
}

void cmio_pipe_receiver_close(cmio_pipe_receiver *rx)
{
    if (rx)
        cmio__close(&rx->fd);
}
