/*
 * wake_demo: the cross-thread half of cmio, shown step by step.
 *
 * The main thread blocks in cmio_poll_poll(). A second thread, holding a
 * clone of the registry, registers a socket that already has data (which
 * wakes the blocked poll), then wakes the poll three times with a waker,
 * once per round, waiting each time for the main thread to report back.
 *
 * SPDX-License-Identifier: MIT
 */
#include <cmio.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

enum { SOCKET_TOKEN = 1, WAKER_TOKEN = 2, ROUNDS = 3 };

struct shared {
    cmio_registry *clone;
    cmio_waker *waker;
    int fd;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int handled; /* events the main thread has handled so far */
};

static void wait_handled(struct shared *s, int count)
{
    pthread_mutex_lock(&s->lock);
    while (s->handled < count)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
}

static void *other_thread(void *arg)
{
    struct shared *s = arg;
    printf("[thread] registering a readable socket through a registry clone\n");
    int err = cmio_registry_register(s->clone, s->fd, SOCKET_TOKEN, CMIO_READABLE);
    if (err < 0) {
        fprintf(stderr, "[thread] register: %s\n", cmio_strerror(err));
        exit(1);
    }
    wait_handled(s, 1);
    for (int round = 1; round <= ROUNDS; round++) {
        printf("[thread] wake %d\n", round);
        err = cmio_waker_wake(s->waker);
        if (err < 0) {
            fprintf(stderr, "[thread] wake: %s\n", cmio_strerror(err));
            exit(1);
        }
        wait_handled(s, 1 + round);
    }
    return NULL;
}

static int fail(const char *what, int err)
{
    fprintf(stderr, "wake_demo: %s: %s\n", what, cmio_strerror(err));
    return 1;
}

int main(void)
{
    /* Unbuffered: each line goes out at once, on every C runtime (the
     * Microsoft one has no line buffering: _IOLBF is full buffering there). */
    setvbuf(stdout, NULL, _IONBF, 0);
    cmio_poll *poll;
    cmio_events *events;
    int err = cmio_poll_new(&poll);
    if (err < 0)
        return fail("cmio_poll_new", err);
    if ((err = cmio_events_new(&events, 16)) < 0)
        return fail("cmio_events_new", err);
    printf("[main] backend: %s\n", cmio_poll_backend(poll));

    struct shared s = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    if ((err = cmio_registry_try_clone(cmio_poll_registry(poll), &s.clone)) < 0)
        return fail("cmio_registry_try_clone", err);
    if ((err = cmio_waker_new(cmio_poll_registry(poll), WAKER_TOKEN, &s.waker)) < 0)
        return fail("cmio_waker_new", err);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        return fail("socketpair", -1);
    if (write(sv[1], "hello", 5) != 5)
        return fail("write", -1);
    s.fd = sv[0];

    pthread_t t;
    if (pthread_create(&t, NULL, other_thread, &s) != 0)
        return fail("pthread_create", -1);

    while (s.handled < 1 + ROUNDS) {
        err = cmio_poll_poll(poll, events, 10000);
        if (err == -EINTR)
            continue;
        if (err < 0)
            return fail("cmio_poll_poll", err);
        if (err == 0)
            return fail("cmio_poll_poll", -ETIMEDOUT);
        for (size_t i = 0; i < cmio_events_len(events); i++) {
            const cmio_event *e = cmio_events_get(events, i);
            if (cmio_event_token(e) == SOCKET_TOKEN) {
                char buf[16];
                ssize_t n = read(sv[0], buf, sizeof(buf));
                printf("[main] socket readable: read %zd bytes \"%.*s\"\n", n, (int)(n > 0 ? n : 0), buf);
            } else if (cmio_event_token(e) == WAKER_TOKEN) {
                printf("[main] woken by the waker\n");
            } else {
                continue;
            }
            pthread_mutex_lock(&s.lock);
            s.handled++;
            pthread_cond_signal(&s.cond);
            pthread_mutex_unlock(&s.lock);
        }
    }
    pthread_join(t, NULL);
    printf("[main] done: %d events handled\n", s.handled);

    cmio_registry_deregister(cmio_poll_registry(poll), sv[0]);
    close(sv[0]);
    close(sv[1]);
    cmio_waker_free(s.waker);
    cmio_registry_free(s.clone);
    cmio_events_free(events);
    cmio_poll_free(poll);
    return 0;
}
