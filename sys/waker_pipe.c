/*
 * The pipe wake mechanism (sys/waker.h): where there is no eventfd.
 *
 * SPDX-License-Identifier: MIT
 */
#include "waker.h"
#include "fd.h"

int cmio__wake_open(cmio__wake *w)
{
    int p[2];
    int err = cmio__pipe(p);
    if (err < 0)
        return err;
    w->rd = p[0];
    w->wr = p[1];
    return 0;
}

void cmio__wake_drain(const cmio__wake *w)
{
    char buf[256];
    for (int i = 0; i < 1024 && read(w->rd, buf, sizeof(buf)) > 0; i++)
        ;
}

int cmio__wake_signal(const cmio__wake *w)
{
    char one = 1;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (write(w->wr, &one, 1) == 1)
            return 0;
        if (errno != EAGAIN)
            return cmio__errno();
        /* Full: empty it, so that this write makes a new edge. */
        cmio__wake_drain(w);
    }
    return -EAGAIN;
}

void cmio__wake_close(cmio__wake *w)
{
    if (w->rd >= 0)
        close(w->rd);
    if (w->wr >= 0 && w->wr != w->rd)
        close(w->wr);
    w->rd = w->wr = -1;
}
