/*
 * The epoll backend (Linux, Android): edge-triggered by the kernel; the
 * modes CMIO_LEVEL and CMIO_ONESHOT are the kernel's too (no EPOLLET;
 * EPOLLONESHOT).
 *
 * The token travels in epoll_event.data; epoll_wait writes the caller's
 * events buffer itself, since cmio_event is the epoll record on Linux (no
 * copy, no translation: the header's accessors read the bits). A
 * registry clone holds a close-on-exec dup of the epoll descriptor, as mio's
 * does. A waker is the eventfd wake mechanism (sys/waker.h) registered
 * edge-triggered.
 *
 * SPDX-License-Identifier: MIT
 */
#include "selector.h"
#include "waker.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

struct cmio__sys {
    int epfd;
};

static int wrap_fd(int fd, cmio__sys **out)
{
    if (fd < 0)
        return -errno;
    cmio__sys *sys = malloc(sizeof(*sys));
    if (!sys) {
        close(fd);
        return -ENOMEM;
    }
    sys->epfd = fd;
    *out = sys;
    return 0;
}

static int ep_open(cmio__sys **out) { return wrap_fd(epoll_create1(EPOLL_CLOEXEC), out); }

static int ep_clone(cmio__sys *sys, cmio__sys **out)
{
    return wrap_fd(fcntl(sys->epfd, F_DUPFD_CLOEXEC, 0), out);
}

static void ep_close(cmio__sys *sys)
{
    close(sys->epfd);
    free(sys);
}

/* The epoll bits of each interest, mode bits included (the core has
 * checked that only CMIO_READABLE, CMIO_WRITABLE, CMIO_PRIORITY, CMIO_LEVEL
 * and CMIO_ONESHOT are set): one load. Edge-triggered (EPOLLET) unless
 * CMIO_LEVEL; CMIO_ONESHOT is EPOLLONESHOT, which disarms the whole
 * registration after one event until EPOLL_CTL_MOD (reregister). */
#define EP_INTEREST(i)                                                                             \
    ((((i) & CMIO_LEVEL) ? 0u : EPOLLET) | (((i) & CMIO_ONESHOT) ? EPOLLONESHOT : 0u) |            \
     (((i) & CMIO_READABLE) ? EPOLLIN | EPOLLRDHUP : 0u) | (((i) & CMIO_WRITABLE) ? EPOLLOUT : 0u) | \
     (((i) & CMIO_PRIORITY) ? EPOLLPRI : 0u))
#define EP_INTEREST4(i) EP_INTEREST(i), EP_INTEREST((i) + 1u), EP_INTEREST((i) + 2u), EP_INTEREST((i) + 3u)
/* The header's accessors and sys/record.h read the record's bits by the
 * kernel's names; the interest table uses the core's bits as indexes. */
_Static_assert(CMIO_READABLE == 1 && CMIO_WRITABLE == 2 && CMIO_PRIORITY == 4, "interest bits index ep_interest");
_Static_assert(CMIO_LEVEL == 8 && CMIO_ONESHOT == 16, "mode bits index ep_interest");
_Static_assert(EPOLLIN == 0x001 && EPOLLPRI == 0x002 && EPOLLOUT == 0x004 && EPOLLERR == 0x008 &&
                   EPOLLHUP == 0x010 && EPOLLRDHUP == 0x2000,
               "the epoll bits mio's rules are written for");
#define EP_KNOWN 0x1fu /* every interest and mode bit: the table's index */
static const uint32_t ep_interest[EP_KNOWN + 1] = {
    EP_INTEREST4(0u),  EP_INTEREST4(4u),  EP_INTEREST4(8u),  EP_INTEREST4(12u),
    EP_INTEREST4(16u), EP_INTEREST4(20u), EP_INTEREST4(24u), EP_INTEREST4(28u),
};

static int ctl(cmio__sys *sys, int op, int fd, cmio_token token, cmio_interest interest)
{
    /* checked at the door (src/registry.c) */
    assert(fd >= 0 && (interest & 7u) != 0 && (interest & ~EP_KNOWN) == 0);
    struct epoll_event ev = {.events = ep_interest[interest & EP_KNOWN], .data.u64 = (uint64_t)token};
    return epoll_ctl(sys->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

static int ep_reg(cmio__sys *sys, cmio_fd fd, cmio_token token, cmio_interest interest)
{
    return ctl(sys, EPOLL_CTL_ADD, fd, token, interest);
}

static int ep_rereg(cmio__sys *sys, cmio_fd fd, cmio_token token, cmio_interest interest)
{
    return ctl(sys, EPOLL_CTL_MOD, fd, token, interest);
}

static int ep_dereg(cmio__sys *sys, cmio_fd fd)
{
    /* No event: kernels since 2.6.9 ignore it (glibc needs 3.2), as mio passes none. */
    return epoll_ctl(sys->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
}

/* The kernel writes the caller's events buffer: cmio_event is struct
 * epoll_event on Linux (include/cmio.h), decoded by the header's accessors. */
_Static_assert(sizeof(cmio_event) == sizeof(struct epoll_event), "cmio_event is an epoll record");
_Static_assert(_Alignof(cmio_event) == _Alignof(struct epoll_event), "cmio_event is an epoll record");

static int ep_select(cmio__sys *sys, cmio_events *events, int timeout_ms)
{
    int n = epoll_wait(sys->epfd, (struct epoll_event *)events->items, (int)events->capacity, timeout_ms);
    if (n < 0) {
        events->len = 0;
        return -errno;
    }
    events->len = (size_t)n;
    return n;
}

static int ep_fast_fd(cmio__sys *sys) { return sys->epfd; }

/* A waker: an eventfd (sys/waker_eventfd.c) registered edge-triggered.
 * Closing its only descriptor removes it from the epoll set, so it may
 * outlive the poll. */
struct cmio__waker_sys {
    cmio__wake wake;
};

static int ep_waker_open(cmio__sys *sys, cmio_token token, cmio__waker_sys **out)
{
    cmio__waker_sys *w = malloc(sizeof(*w));
    if (!w)
        return -ENOMEM;
    int err = cmio__wake_open(&w->wake);
    if (err == 0) {
        err = ctl(sys, EPOLL_CTL_ADD, w->wake.rd, token, CMIO_READABLE);
        if (err < 0)
            cmio__wake_close(&w->wake);
    }
    if (err < 0) {
        free(w);
        return err;
    }
    *out = w;
    return 0;
}

static int ep_waker_wake(cmio__waker_sys *w) { return cmio__wake_signal(&w->wake); }

static void ep_waker_close(cmio__waker_sys *w)
{
    cmio__wake_close(&w->wake);
    free(w);
}

const cmio__selector cmio__selector_epoll = {
    .name = "epoll",
    .caps = CMIO__SEL_EDGE_NATIVE | CMIO__SEL_PRIORITY | CMIO__SEL_HUP_WHOLE | CMIO__SEL_POLL_FD,
    .record_size = 0, /* the kernel's record is cmio_event */
    .open = ep_open,
    .clone = ep_clone,
    .close = ep_close,
    .reg = ep_reg,
    .rereg = ep_rereg,
    .dereg = ep_dereg,
    .select = ep_select,
    .fast_fd = ep_fast_fd,
    .waker_open = ep_waker_open,
    .waker_wake = ep_waker_wake,
    .waker_close = ep_waker_close,
    /* The epoll descriptor polls readable while its ready list is not
     * empty (epoll(7): an epoll descriptor can itself be polled). */
    .poll_fd = ep_fast_fd,
};
