/*
 * cmio_waker: wakes a poll from any thread (mio::Waker).
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

int cmio_waker_new(cmio_registry *r, cmio_token token, cmio_waker **out)
{
    CMIO__CHECK(r != NULL && out != NULL, -EINVAL);
    *out = NULL;
    cmio_waker *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    int err = r->sel->waker_open(r->sys, token, &w->sys);
    if (err < 0) {
        free(w);
        return err;
    }
    w->sel = r->sel;
    *out = w;
    return 0;
}

int cmio_waker_wake(cmio_waker *w)
{
    CMIO__CHECK(w != NULL, -EINVAL);
    return w->sel->waker_wake(w->sys);
}

void cmio_waker_free(cmio_waker *w)
{
    if (!w)
        return;
    w->sel->waker_close(w->sys);
    free(w);
}
