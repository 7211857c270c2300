/*
 * Pipes (mio::unix::pipe): a non-blocking sender and receiver pair. A write
 * to a pipe whose reader is gone returns -EPIPE without raising SIGPIPE: a
 * pipe has no MSG_NOSIGNAL, so the signal is blocked in the calling thread
 * around the write and the one the write caused is consumed.
 *
 * SPDX-License-Identifier: MIT
 */
#include "socket.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#if defined(__linux__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__) ||             \
    defined(__DragonFly__)
#define HAVE_PIPE2 1
#endif

int cmio_pipe_new(cmio_pipe_sender *tx, cmio_pipe_receiver *rx)
{
    if (tx)
        tx->fd = -1;
    if (rx)
        rx->fd = -1;
    CMIO__CHECK(tx != NULL && rx != NULL && (void *)tx != (void *)rx, -EINVAL);
    int p[2];
#ifdef HAVE_PIPE2
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
        return cmio__neg_errno();
#else
    if (pipe(p) < 0)
        return cmio__neg_errno();
    int err = cmio__adopt(p[0]);
    if (err == 0)
        err = cmio__adopt(p[1]);
    if (err < 0) {
        close(p[0]);
        close(p[1]);
        return err;
    }
#endif
    rx->fd = p[0];
    tx->fd = p[1];
    return 0;
}

/* Take the SIGPIPE a write just made pending (SIGPIPE is blocked). */
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

ssize_t cmio_pipe_sender_write(cmio_pipe_sender *tx, const void *buf, size_t len)
{
    CMIO__CHECK_SOCK(tx);
    CMIO__CHECK(buf != NULL || len == 0, -EINVAL);
    sigset_t sigpipe, old, pending;
    sigemptyset(&sigpipe);
    sigaddset(&sigpipe, SIGPIPE);
    int err = pthread_sigmask(SIG_BLOCK, &sigpipe, &old);
    if (err)
        return -err;
    /* A SIGPIPE pending before the write is not ours to consume. */
    bool was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    ssize_t n = write(tx->fd, buf, len);
    ssize_t ret = n >= 0 ? n : cmio__io_error(tx->fd, CMIO_WRITABLE);
    if (ret == -EPIPE && !was_pending)
        consume_sigpipe(&sigpipe);
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

int cmio_pipe_sender_from_fd(cmio_pipe_sender *out, int fd)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    return cmio__adopt_into(fd, &out->fd);
}

int cmio_pipe_receiver_from_fd(cmio_pipe_receiver *out, int fd)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    return cmio__adopt_into(fd, &out->fd);
}

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
