/*
 * cmio_poll: owns the selector of one backend and its registry.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

#include <errno.h>
#include "os.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The OS's native backend first (epoll on Linux, kqueue on the BSDs and
 * macOS), poll(2) last: cmio_poll_new() takes the first. */
const cmio__selector *const cmio__selectors[] = {
#ifdef CMIO_HAVE_EPOLL
    &cmio__selector_epoll,
#endif
#ifdef CMIO_HAVE_KQUEUE
    &cmio__selector_kqueue,
#endif
#ifdef CMIO_HAVE_POLL
    &cmio__selector_poll,
#endif
#ifdef CMIO_HAVE_IOCP
    &cmio__selector_iocp, /* Windows: AFD poll over a completion port (sys/windows.c) */
#endif
    NULL,
};

/* cmio_backends(): the names of cmio__selectors, in its order, made once
 * (the list above is the only one: a new backend is its file, its extern
 * in sys/selector.h, its line above and its meson block). */
enum { N_SELECTORS = sizeof(cmio__selectors) / sizeof(cmio__selectors[0]) };
static const char *backend_names[N_SELECTORS];
static cmio__once names_once = CMIO__ONCE_INIT;

static void name_backends(void)
{
    for (size_t i = 0; i < N_SELECTORS; i++)
        backend_names[i] = cmio__selectors[i] ? cmio__selectors[i]->name : NULL;
}

const char *const *cmio_backends(void)
{
    cmio__once_run(&names_once, name_backends);
    return backend_names;
}

size_t cmio__max_record_size(void)
{
    size_t max = 0;
    for (const cmio__selector *const *s = cmio__selectors; *s; s++)
        if ((*s)->record_size > max)
            max = (*s)->record_size;
    return max;
}

static const cmio__selector *find_selector(const char *name)
{
    for (const cmio__selector *const *s = cmio__selectors; *s; s++)
        if (strcmp((*s)->name, name) == 0)
            return *s;
    return NULL;
}

int cmio_poll_new_with_backend(cmio_poll **out, const char *name)
{
    CMIO__CHECK(out != NULL && name != NULL, -EINVAL);
    *out = NULL;
    const cmio__selector *sel = find_selector(name);
    CMIO__CHECK(sel != NULL, -ENOTSUP);

    cmio_poll *poll = calloc(1, sizeof(*poll));
    if (!poll)
        return -ENOMEM;
    int err = sel->open(&poll->registry.sys);
    if (err < 0) {
        free(poll);
        return err;
    }
    err = cmio__timers_new(poll, sel, poll->registry.sys, &poll->registry.timers);
    if (err < 0) {
        sel->close(poll->registry.sys);
        free(poll);
        return err;
    }
    poll->registry.sel = sel;
    poll->registry.owned_by_poll = true;
    /* The inline fast path of cmio_poll_poll() (include/cmio.h). */
    poll->head.epoll_fd = sel->fast_fd ? sel->fast_fd(poll->registry.sys) : -1;
    *out = poll;
    return 0;
}

int cmio_poll_new(cmio_poll **out)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    const char *name = getenv("CMIO_BACKEND");
    if (name == NULL || name[0] == '\0')
        name = cmio__selectors[0] ? cmio__selectors[0]->name : "";
    return cmio_poll_new_with_backend(out, name);
}

const char *cmio_poll_backend(const cmio_poll *poll) { return poll ? poll->registry.sel->name : NULL; }

unsigned cmio__poll_caps(const cmio_poll *poll) { return poll->registry.sel->caps; }

void cmio_poll_free(cmio_poll *poll)
{
    if (!poll)
        return;
    cmio__timers_poll_gone(poll->registry.timers);
    poll->registry.sel->close(poll->registry.sys);
    free(poll);
}

cmio_registry *cmio_poll_registry(cmio_poll *poll) { return poll ? &poll->registry : NULL; }

int64_t cmio__now_ns(void)
{
#if defined(_WIN32)
    /* The performance counter: monotonic, its frequency fixed at boot. */
    LARGE_INTEGER freq, now;
    QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    int64_t f = freq.QuadPart;
    return now.QuadPart / f * 1000000000 + now.QuadPart % f * 1000000000 / f;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
#endif
}

/* A positive timeout never ends early for lack of events: should the
 * selector wake before the deadline with nothing to say, wait out the rest,
 * rounded up to whole milliseconds. */
CMIO__NOINLINE static int poll_until(cmio_poll *poll, cmio_events *events, int timeout_ms)
{
    const cmio__selector *sel = poll->registry.sel;
    int64_t deadline = cmio__now_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        int n = sel->select(poll->registry.sys, events, timeout_ms);
        if (n != 0)
            return n;
        int64_t left = deadline - cmio__now_ns();
        if (left <= 0)
            return 0;
        timeout_ms = (int)((left + 999999) / 1000000);
    }
}

int cmio__poll(cmio_poll *poll, cmio_events *events, int timeout_ms)
{
    if (poll == NULL || events == NULL) {
        if (events)
            events->len = 0;
        return -EINVAL;
    }
    if (cmio__timers_active(poll->registry.timers))
        return cmio__timers_poll(poll->registry.timers, events, timeout_ms);
    /* The selector sets events->len, also on failure. */
    if (timeout_ms <= 0)
        return poll->registry.sel->select(poll->registry.sys, events, timeout_ms < 0 ? -1 : 0);
    return poll_until(poll, events, timeout_ms);
}
