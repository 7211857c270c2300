/*
 * A wake mechanism for the backends: a descriptor that becomes readable,
 * with a new edge, each time it is signalled. One file per mechanism, as
 * mio's src/sys/unix/waker/: an eventfd (sys/waker_eventfd.c, Linux, rd ==
 * wr) or a pipe (sys/waker_pipe.c, elsewhere); meson builds the one this
 * OS has. The epoll backend's wakers, the poll(2) backend's wakers and
 * internal wake, and the kqueue backend's wakers where there is no
 * EVFILT_USER use it. Not installed.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CMIO_SYS_WAKER_H
#define CMIO_SYS_WAKER_H

typedef struct cmio__wake {
    int rd; /* register or poll this one */
    int wr; /* signal through this one (== rd for an eventfd) */
} cmio__wake;

/* Open both ends, non-blocking and close-on-exec. */
int cmio__wake_open(cmio__wake *w);
/* Make rd readable with a new edge, from any thread, never blocking: one
 * write; when the counter or pipe is full, it is emptied and written
 * again, so that an edge-triggered selector sees a new edge. */
int cmio__wake_signal(const cmio__wake *w);
/* Read rd empty (bounded). */
void cmio__wake_drain(const cmio__wake *w);
/* Close both ends (rd alone when they are one) and set them to -1. */
void cmio__wake_close(cmio__wake *w);

#endif /* CMIO_SYS_WAKER_H */
