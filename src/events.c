/*
 * cmio_events: the caller-owned buffer a poll fills (mio::Events).
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

int cmio_events_new(cmio_events **out, size_t capacity)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    *out = NULL;
    /* Selectors take an int count of records (epoll_wait's maxevents). */
    CMIO__CHECK(capacity > 0 && capacity <= INT_MAX, -EINVAL);

    size_t record = cmio__max_record_size();
    cmio_events *events = calloc(1, sizeof(*events));
    cmio_event *items = calloc(capacity, sizeof(*items));
    void *scratch = record ? calloc(capacity, record) : NULL;
    if (!events || !items || (record && !scratch)) {
        free(events);
        free(items);
        free(scratch);
        return -ENOMEM;
    }
    events->items = items;
    events->capacity = capacity;
    events->scratch = scratch;
    *out = events;
    return 0;
}

void cmio_events_free(cmio_events *events)
{
    if (!events)
        return;
    free(events->items);
    free(events->scratch);
    free(events);
}
