/*
 * cmio_signals: signals as events (DESIGN §3c; mio 0.3's signal-hook-mio).
 *
 * Three mechanisms, one chosen per object at cmio_signals_new():
 *  - signalfd (Linux, every backend): a descriptor registered under the
 *    token, read one struct signalfd_siginfo at a time.
 *  - kqueue: where there is no signalfd and the backend has signals_add
 *    (sys/selector.h: kqueue on the BSDs and macOS), one
 *    EVFILT_SIGNAL knote per signal, with the token as udata. The knote
 *    counts delivery attempts and leaves the signal pending (it is blocked),
 *    so a read takes it with sigtimedwait() and a zero timeout; without
 *    sigtimedwait (macOS, OpenBSD) with sigpending() and a sigwait() on one
 *    signal that is pending.
 *  - the helper thread (any POSIX system, and what tests force on Linux
 *    through cmio__signals_use_fallback): a thread that sigwait()s on the
 *    set and writes each signal's number, one byte, into a pipe whose read
 *    end is registered under the token. It is stopped by a flag and a
 *    signal of the set sent to it with pthread_kill(): the signal is
 *    pending for that thread until its sigwait() takes it, so the thread
 *    sees the flag whatever it was doing when the flag was set.
 *
 * Each object holds a clone of the registry's selector state (the backend's
 * clone op), so that removing the registration in cmio_signals_free() does
 * not depend on the user's registry or poll still existing.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

#if defined(_WIN32)
/* Windows has no POSIX signals to deliver as events (its console control
 * events are another thing): every set is refused, documented in
 * include/cmio.h. The internal doors the tests use answer as for no
 * mechanism. */
#include <errno.h>

void cmio__signals_use_fallback(bool on) { (void)on; }
int cmio__signals_mechanism(const cmio_signals *s)
{
    (void)s;
    return 0;
}
int cmio__signals_fd(const cmio_signals *s)
{
    (void)s;
    return -1;
}
unsigned cmio__signals_caps(const cmio_signals *s)
{
    (void)s;
    return 0;
}

int cmio_signals_new(cmio_registry *r, cmio_token token, const cmio_sigset *set, cmio_signals **out)
{
    (void)token;
    if (out)
        *out = NULL;
    CMIO__CHECK(r != NULL && set != NULL && out != NULL, -EINVAL);
    CMIO__CHECK(*set != 0, -EINVAL); /* an empty set, as on POSIX systems */
    return -ENOTSUP;
}

int cmio_signals_read(cmio_signals *s, int *signo)
{
    (void)s;
    (void)signo;
    return -EINVAL; /* no set can exist */
}

void cmio_signals_free(cmio_signals *s) { (void)s; }

#else /* POSIX */

#include "../sys/fd.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#ifdef CMIO_HAVE_SIGNALFD
#include <sys/signalfd.h>
#endif

#ifndef NSIG
#define NSIG 65
#endif
/* The helper writes a signal's number as one byte. */
_Static_assert(NSIG <= 256, "signal numbers fit in a byte");

struct cmio_signals {
    const cmio__selector *sel;
    cmio__sys *sys; /* a clone of the registry's, ours to close */
    int mech;       /* CMIO__SIGNALS_* */
    sigset_t set;
    int fd;         /* the signalfd, or the helper's pipe read end; else -1 */
    int wr;         /* the helper's pipe write end; else -1 */
    int stop_signo; /* a signal of the set, to stop the helper with */
    pthread_t helper;
    atomic_bool stopping;
};

static atomic_bool force_fallback;

void cmio__signals_use_fallback(bool on) { atomic_store(&force_fallback, on); }

int cmio__signals_mechanism(const cmio_signals *s) { return s->mech; }

int cmio__signals_fd(const cmio_signals *s) { return s->fd; }

unsigned cmio__signals_caps(const cmio_signals *s)
{
    switch (s->mech) {
    case CMIO__SIGNALS_SIGNALFD:
        return CMIO__SIGNALS_SEES_THREAD | CMIO__SIGNALS_SEES_PENDING | CMIO__SIGNALS_PENDING_UNTIL_READ;
    case CMIO__SIGNALS_KQUEUE:
        return CMIO__SIGNALS_SEES_THREAD | CMIO__SIGNALS_PENDING_UNTIL_READ;
    default:
        return CMIO__SIGNALS_SEES_PENDING;
    }
}

/* The set is usable: not empty, nothing that cannot be caught, and every
 * signal blocked in the calling thread (signalfd's rule, asked everywhere:
 * an unblocked one would be delivered the usual way and never reach us). */
static int check_set(const sigset_t *set, int *first)
{
    sigset_t mask;
    int err = pthread_sigmask(SIG_BLOCK, NULL, &mask);
    if (err != 0)
        return -err;
    *first = 0;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sigismember(set, sig) != 1)
            continue;
        if (sig == SIGKILL || sig == SIGSTOP || sigismember(&mask, sig) != 1)
            return -EINVAL;
        if (*first == 0)
            *first = sig;
    }
    return *first != 0 ? 0 : -EINVAL;
}

/* ------------------------------------------------------------------------ */
/* Taking a pending signal from the calling thread (kqueue, helper)         */
/* ------------------------------------------------------------------------ */

/* One signal of the set pending for this thread or the process, taken: its
 * number, or -EAGAIN. */
static int take_pending(const sigset_t *set)
{
#ifdef CMIO_HAVE_SIGTIMEDWAIT
    const struct timespec zero = {0, 0};
    int sig;
    do
        sig = sigtimedwait(set, NULL, &zero);
    while (sig < 0 && errno == EINTR);
    return sig > 0 ? sig : cmio__errno();
#else
    /* A pending signal, then sigwait() on it alone, which returns at once
     * unless another thread took it meanwhile (documented in the header). */
    sigset_t pending;
    if (sigpending(&pending) < 0)
        return cmio__errno();
    for (int sig = 1; sig < NSIG; sig++) {
        if (sigismember(set, sig) == 1 && sigismember(&pending, sig) == 1) {
            sigset_t one;
            sigemptyset(&one);
            sigaddset(&one, sig);
            int got;
            int err = sigwait(&one, &got);
            return err == 0 ? got : -err;
        }
    }
    return -EAGAIN;
#endif
}

/* ------------------------------------------------------------------------ */
/* The helper thread                                                        */
/* ------------------------------------------------------------------------ */

static void *helper_main(void *arg)
{
    cmio_signals *s = arg;
    for (;;) {
        int sig;
        if (sigwait(&s->set, &sig) != 0)
            continue; /* EINVAL cannot happen: the set was checked */
        if (atomic_load(&s->stopping))
            return NULL;
        unsigned char b = (unsigned char)sig;
        ssize_t n;
        do
            n = write(s->wr, &b, 1);
        while (n < 0 && errno == EINTR);
        /* A full pipe (64 KiB of unread signals on Linux) drops this one;
         * the reader has at least that many to take first. */
    }
}

static int helper_open(cmio_signals *s)
{
    int p[2];
    int err = cmio__pipe(p);
    if (err < 0)
        return err;
    s->fd = p[0];
    s->wr = p[1];
    atomic_init(&s->stopping, false);
    /* The helper blocks every signal: it takes the set with sigwait() only,
     * and runs no handler of the program's for the others. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = -pthread_create(&s->helper, NULL, helper_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err < 0) {
        close(p[0]);
        close(p[1]);
        s->fd = s->wr = -1;
    }
    return err;
}

static void helper_close(cmio_signals *s)
{
    atomic_store(&s->stopping, true);
    /* Pending for the helper until its sigwait() takes it: it then sees the
     * flag, whether it was waiting or writing when the flag was set. */
    pthread_kill(s->helper, s->stop_signo);
    pthread_join(s->helper, NULL);
    close(s->wr);
}

/* ------------------------------------------------------------------------ */
/* Public                                                                   */
/* ------------------------------------------------------------------------ */

static int open_fd(cmio_signals *s)
{
#ifdef CMIO_HAVE_SIGNALFD
    if (s->mech == CMIO__SIGNALS_SIGNALFD) {
        s->fd = signalfd(-1, &s->set, SFD_NONBLOCK | SFD_CLOEXEC);
        return s->fd < 0 ? cmio__errno() : 0;
    }
#endif
    return helper_open(s);
}

static void close_fd(cmio_signals *s)
{
    if (s->mech == CMIO__SIGNALS_THREAD)
        helper_close(s);
    close(s->fd);
}

int cmio_signals_new(cmio_registry *r, cmio_token token, const cmio_sigset *set, cmio_signals **out)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    *out = NULL;
    CMIO__CHECK(r != NULL && set != NULL, -EINVAL);
    int first = 0;
    int err = check_set(set, &first);
    if (err < 0)
        return err;

    cmio_signals *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->set = *set;
    s->stop_signo = first;
    s->fd = s->wr = -1;
    s->sel = r->sel;
    /* A signalfd wherever the OS has one, whatever the backend (also the
     * kqueue backend over libkqueue on Linux, whose EVFILT_SIGNAL takes the
     * signal itself, through a signalfd of its own, and leaves nothing for
     * sigtimedwait()); else the backend's own signal events; else the
     * helper thread. */
    if (atomic_load(&force_fallback))
        s->mech = CMIO__SIGNALS_THREAD;
#ifdef CMIO_HAVE_SIGNALFD
    else
        s->mech = CMIO__SIGNALS_SIGNALFD;
#else
    else if (r->sel->signals_add)
        s->mech = CMIO__SIGNALS_KQUEUE;
    else
        s->mech = CMIO__SIGNALS_THREAD;
#endif
    err = r->sel->clone(r->sys, &s->sys);
    if (err < 0)
        goto fail;
    if (s->mech == CMIO__SIGNALS_KQUEUE) {
        err = s->sel->signals_add(s->sys, token, &s->set);
        if (err < 0)
            goto fail_sys;
    } else {
        err = open_fd(s);
        if (err < 0)
            goto fail_sys;
        err = s->sel->reg(s->sys, s->fd, token, CMIO_READABLE);
        if (err < 0) {
            close_fd(s);
            goto fail_sys;
        }
    }
    *out = s;
    return 0;
fail_sys:
    s->sel->close(s->sys);
fail:
    free(s);
    return err;
}

int cmio_signals_read(cmio_signals *s, int *signo)
{
    CMIO__CHECK(s != NULL && signo != NULL, -EINVAL);
    int sig = -EAGAIN;
    ssize_t n;
    switch (s->mech) {
#ifdef CMIO_HAVE_SIGNALFD
    case CMIO__SIGNALS_SIGNALFD: {
        struct signalfd_siginfo info;
        do
            n = read(s->fd, &info, sizeof(info));
        while (n < 0 && errno == EINTR);
        if (n == (ssize_t)sizeof(info))
            sig = (int)info.ssi_signo;
        else
            sig = n < 0 ? cmio__errno() : -EIO;
        break;
    }
#endif
    case CMIO__SIGNALS_THREAD: {
        unsigned char b;
        do
            n = read(s->fd, &b, 1);
        while (n < 0 && errno == EINTR);
        if (n == 1) {
            sig = b;
            break;
        }
        sig = n < 0 ? cmio__errno() : -EIO;
#ifdef CMIO_HAVE_SIGTIMEDWAIT
        /* One sent to this very thread (pthread_kill, raise) is invisible
         * to the helper; take it here (no event announced it). */
        if (sig == -EAGAIN)
            sig = take_pending(&s->set);
#endif
        break;
    }
    default:
        sig = take_pending(&s->set);
        break;
    }
    if (sig < 0) {
        /* The poll(2) backend re-arms the pipe or signalfd on -EAGAIN, as
         * after any cmio I/O call (src/rearm.h). */
        if (sig == -EAGAIN && s->fd >= 0)
            cmio__would_block(s->fd, CMIO_READABLE);
        return sig;
    }
    *signo = sig;
    return 0;
}

void cmio_signals_free(cmio_signals *s)
{
    if (!s)
        return;
    if (s->mech == CMIO__SIGNALS_KQUEUE) {
        s->sel->signals_remove(s->sys, &s->set);
    } else {
        /* Deregistered first: after this returns, no poll that starts
         * reports the token (the poll(2) backend drops a snapshot's
         * results for an entry that is gone). */
        s->sel->dereg(s->sys, s->fd);
        close_fd(s);
    }
    s->sel->close(s->sys);
    free(s);
}

#endif /* POSIX */
