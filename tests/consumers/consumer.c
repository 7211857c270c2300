/*
 * A program that uses cmio the way a consumer does, through <cmio.h> and
 * the installed or subproject library only (tests/consumers.sh builds it
 * as a meson subproject, against cmio.pc / cmio-static.pc and through the
 * CMake package): a waker wakes a poll, which reports its token; the
 * running library is the header's version.
 *
 * SPDX-License-Identifier: MIT
 */
#include <cmio.h>

#include <stdio.h>

int main(void)
{
    if (cmio_version() != CMIO_VERSION_NUMBER) {
        fprintf(stderr, "consumer: header %s, library %s\n", CMIO_VERSION_STRING, cmio_version_string());
        return 1;
    }
    cmio_poll *poll = NULL;
    cmio_events *events = NULL;
    cmio_waker *waker = NULL;
    int err = cmio_poll_new(&poll);
    if (err == 0)
        err = cmio_events_new(&events, 8);
    if (err == 0)
        err = cmio_waker_new(cmio_poll_registry(poll), 42, &waker);
    if (err == 0)
        err = cmio_waker_wake(waker);
    if (err == 0)
        err = cmio_poll_poll(poll, events, 5000);
    int ok = err == 1 && cmio_event_token(cmio_events_get(events, 0)) == 42;
    if (ok)
        printf("consumer: cmio %s, backend %s, woken\n", cmio_version_string(), cmio_poll_backend(poll));
    else
        fprintf(stderr, "consumer: poll returned %d (%s)\n", err, err < 0 ? cmio_strerror(err) : "no event");
    cmio_waker_free(waker);
    cmio_events_free(events);
    cmio_poll_free(poll);
    return ok ? 0 : 1;
}
