/*
 * The eventfd wake mechanism (sys/waker.h): Linux.
 *
 * SPDX-License-Identifier: MIT
 */
#include "waker.h"
#include "fd.h"

#include <stdint.h>
#include <sys/eventfd.h>

int cmio__wake_open(cmio__wake *w)
{
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0)
        return cmio__errno();
    w->rd = w->wr = fd;
    return 0;
}

int cmio__wake_signal(const cmio__wake *w)
{
    uint64_t one = 1;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (write(w->wr, &one, sizeof(one)) == (ssize_t)sizeof(one))
            return 0;
        if (errno != EAGAIN)
            return cmio__errno();
        /* The counter is full (2^64 - 2 wakes never read): empty it, which
         * loses no wake since the next write makes a new edge. */
        uint64_t drained;
        if (read(w->rd, &drained, sizeof(drained)) < 0 && errno != EAGAIN)
            return cmio__errno();
    }
    return -EAGAIN;
}

void cmio__wake_drain(const cmio__wake *w)
{
    uint64_t count;
    (void)!read(w->rd, &count, sizeof(count)); /* one read empties a counter */
}

void cmio__wake_close(cmio__wake *w)
{
    if (w->rd >= 0)
        close(w->rd);
    w->rd = w->wr = -1;
}
