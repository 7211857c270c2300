/*
 * fd_passing: a parent process accepts TCP connections and hands each one
 * to a worker child process over a Unix socketpair
 * (cmio_unix_stream_send_fds); the worker serves it, an echo whose every
 * reply starts with "worker PID: ", so a client can see who served it.
 *
 *   fd_passing [ADDRESS [WORKERS]]   (default 127.0.0.1:9000, 2 workers)
 *
 * Prints "Listening on ADDRESS", then "Workers: PID PID ...", one line per
 * connection passed, and on SIGTERM or SIGINT (signals as events,
 * cmio_signals) stops: the listener closes, each worker's socketpair is
 * closed so that the worker sees the end of its stream, closes its
 * connections and exits 0; the parent waits for every worker ("Reaped
 * worker PID: exit 0"), so no zombie is left, and prints "Done".
 *
 * SPDX-License-Identifier: MIT
 */
#include <cmio.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX_WORKERS = 16, MAX_CONNECTIONS = 256, BUFFER = 4096, PREFIX_MAX = 32 };

static int fail(const char *what, int err)
{
    fprintf(stderr, "fd_passing: %s: %s\n", what, cmio_strerror(err));
    return 1;
}

/* ---- the worker ---------------------------------------------------------- */

enum { CONTROL = 0, FIRST_CONN = 1 };

struct connection {
    cmio_tcp_stream stream; /* fd -1: the slot is free */
    size_t start, end;      /* to write: out[start, end) */
    bool want_write;
    char out[PREFIX_MAX + BUFFER];
};

static struct connection conns[MAX_CONNECTIONS];

static void close_conn(cmio_registry *registry, struct connection *c)
{
    cmio_registry_deregister(registry, c->stream.fd);
    cmio_tcp_stream_close(&c->stream);
}

/* Echo until -EAGAIN, each chunk read written back after the worker's
 * marker; false when the connection is over. */
static bool serve(cmio_registry *registry, cmio_token token, struct connection *c, const char *prefix,
                  size_t prefix_len)
{
    for (;;) {
        while (c->start < c->end) {
            ssize_t n = cmio_tcp_stream_write(&c->stream, c->out + c->start, c->end - c->start);
            if (n == -EAGAIN)
                goto wait;
            if (n == -EINTR)
                continue;
            if (n < 0)
                return false;
            c->start += (size_t)n;
        }
        ssize_t n = cmio_tcp_stream_read(&c->stream, c->out + prefix_len, BUFFER);
        if (n == -EAGAIN)
            break;
        if (n == -EINTR)
            continue;
        if (n <= 0)
            return false; /* end of stream, or reset */
        memcpy(c->out, prefix, prefix_len);
        c->start = 0;
        c->end = prefix_len + (size_t)n;
    }
wait:;
    bool want_write = c->start < c->end;
    if (want_write != c->want_write) {
        cmio_interest interest = want_write ? CMIO_READABLE | CMIO_WRITABLE : CMIO_READABLE;
        if (cmio_registry_reregister(registry, c->stream.fd, token, interest) < 0)
            return false;
        c->want_write = want_write;
    }
    return true;
}

/* Take the connections the parent passed, until -EAGAIN. Returns 1 while
 * the parent is there, 0 at the end of the stream, or an error. */
static int take_connections(cmio_registry *registry, cmio_unix_stream *control)
{
    for (;;) {
        char tag[16];
        int fds[4];
        size_t nfds = 4;
        ssize_t n = cmio_unix_stream_recv_fds(control, tag, sizeof(tag), fds, &nfds);
        if (n == -EAGAIN)
            return 1;
        if (n == -EINTR)
            continue;
        if (n == 0)
            return 0;
        if (n < 0)
            return (int)n; /* -EMSGSIZE cannot happen: one descriptor per message */
        for (size_t k = 0; k < nfds; k++) {
            int slot = -1;
            for (int i = 0; i < MAX_CONNECTIONS && slot < 0; i++)
                if (conns[i].stream.fd < 0)
                    slot = i;
            cmio_tcp_stream s;
            int err = cmio_tcp_stream_from_fd(&s, fds[k]);
            if (err < 0 || slot < 0 ||
                cmio_registry_register(registry, s.fd, (cmio_token)(FIRST_CONN + slot), CMIO_READABLE) < 0) {
                close(fds[k]);
                continue;
            }
            conns[slot] = (struct connection){.stream = s};
        }
    }
}

static int worker(cmio_unix_stream control)
{
    char prefix[PREFIX_MAX];
    size_t prefix_len = (size_t)snprintf(prefix, sizeof(prefix), "worker %ld: ", (long)getpid());
    for (int k = 0; k < MAX_CONNECTIONS; k++)
        conns[k].stream.fd = -1;
    cmio_poll *poll;
    cmio_events *events;
    int err;
    if ((err = cmio_poll_new(&poll)) < 0)
        return fail("worker: cmio_poll_new", err);
    cmio_registry *registry = cmio_poll_registry(poll);
    if ((err = cmio_events_new(&events, 64)) < 0)
        return fail("worker: cmio_events_new", err);
    if ((err = cmio_registry_register(registry, control.fd, CONTROL, CMIO_READABLE)) < 0)
        return fail("worker: register", err);
    for (bool running = true; running;) {
        err = cmio_poll_poll(poll, events, -1);
        if (err == -EINTR)
            continue;
        if (err < 0)
            return fail("worker: poll", err);
        for (const cmio_event *e = cmio_events_begin(events), *end = cmio_events_end(events); e != end; e++) {
            cmio_token token = cmio_event_token(e);
            if (token == CONTROL) {
                err = take_connections(registry, &control);
                if (err < 0)
                    return fail("worker: recv_fds", err);
                running = err > 0; /* 0: the parent closed our socketpair */
            } else if (token >= FIRST_CONN && token < FIRST_CONN + MAX_CONNECTIONS) {
                struct connection *c = &conns[token - FIRST_CONN];
                if (c->stream.fd >= 0 && !serve(registry, token, c, prefix, prefix_len))
                    close_conn(registry, c);
            }
        }
    }
    for (int k = 0; k < MAX_CONNECTIONS; k++)
        if (conns[k].stream.fd >= 0)
            close_conn(registry, &conns[k]);
    cmio_registry_deregister(registry, control.fd);
    cmio_unix_stream_close(&control);
    cmio_events_free(events);
    cmio_poll_free(poll);
    return 0;
}

/* ---- the parent ---------------------------------------------------------- */

enum { SERVER = 0, SIGNALS = 1 };

struct worker_slot {
    pid_t pid;
    cmio_unix_stream control; /* fd -1: gone */
};

static struct worker_slot workers[MAX_WORKERS];
static int n_workers;

/* Fork the workers, each with its own socketpair. Done first, before the
 * parent has a poll or a listener a child would inherit. */
static int start_workers(int count)
{
    for (int w = 0; w < count; w++) {
        cmio_unix_stream parent_end, child_end;
        int err = cmio_unix_stream_pair(&parent_end, &child_end);
        if (err < 0)
            return err;
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
            return -errno;
        if (pid == 0) {
            /* The parent's ends of the earlier workers' pairs too: a worker
             * holding one would keep that worker from seeing its end of
             * stream at shutdown. */
            for (int k = 0; k < w; k++)
                cmio_unix_stream_close(&workers[k].control);
            cmio_unix_stream_close(&parent_end);
            exit(worker(child_end));
        }
        cmio_unix_stream_close(&child_end);
        workers[w] = (struct worker_slot){.pid = pid, .control = parent_end};
        n_workers++;
    }
    return 0;
}

/* Hand one accepted connection to the next worker that takes it (round
 * robin); the parent's copy is then closed: the worker's is the only one. A
 * worker whose socketpair is full (-EAGAIN) is skipped; one that is gone
 * (-EPIPE) is dropped. With no worker left to take it, the connection is
 * closed. */
static void hand_over(cmio_tcp_stream *conn, const cmio_sockaddr *peer)
{
    static int next;
    char shown[CMIO_SOCKADDR_STRLEN] = "?";
    cmio_sockaddr_format(peer, shown, sizeof(shown));
    for (int tries = 0; tries < n_workers; tries++) {
        struct worker_slot *w = &workers[next];
        next = (next + 1) % n_workers;
        if (w->control.fd < 0)
            continue;
        ssize_t n;
        do
            n = cmio_unix_stream_send_fds(&w->control, "c", 1, &conn->fd, 1);
        while (n == -EINTR);
        if (n == 1) {
            printf("Passed %s to worker %ld\n", shown, (long)w->pid);
            cmio_tcp_stream_close(conn);
            return;
        }
        if (n != -EAGAIN)
            cmio_unix_stream_close(&w->control); /* the worker is gone */
    }
    printf("No worker took %s: closed\n", shown);
    cmio_tcp_stream_close(conn);
}

static int accept_all(cmio_tcp_listener *server)
{
    for (;;) {
        cmio_tcp_stream s;
        cmio_sockaddr peer;
        int err = cmio_tcp_listener_accept(server, &s, &peer);
        if (err == -EAGAIN)
            return 0;
        if (err == -EINTR || err == -ECONNABORTED)
            continue;
        if (err < 0)
            return err;
        hand_over(&s, &peer);
    }
}

/* Close every socketpair (each worker sees its end of stream and exits)
 * and wait for every worker. */
static int stop_workers(void)
{
    for (int w = 0; w < n_workers; w++)
        cmio_unix_stream_close(&workers[w].control);
    int failures = 0;
    for (int w = 0; w < n_workers; w++) {
        int status;
        pid_t got;
        do
            got = waitpid(workers[w].pid, &status, 0);
        while (got < 0 && errno == EINTR);
        if (got < 0) {
            failures++;
            continue;
        }
        if (WIFEXITED(status))
            printf("Reaped worker %ld: exit %d\n", (long)got, WEXITSTATUS(status));
        else
            printf("Reaped worker %ld: signal %d\n", (long)got, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        failures += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    return failures;
}

int main(int argc, char **argv)
{
    /* Unbuffered: each line goes out at once, on every C runtime (the
     * Microsoft one has no line buffering: _IOLBF is full buffering there). */
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *text = argc > 1 ? argv[1] : "127.0.0.1:9000";
    int count = argc > 2 ? atoi(argv[2]) : 2;
    if (count < 1 || count > MAX_WORKERS)
        return fail("workers", -EINVAL);

    /* Before any thread or child exists: the signals become events only
     * if no thread takes them the old way (the workers inherit the mask,
     * and stop when their socketpair closes). */
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    int err = sigprocmask(SIG_BLOCK, &stop_set, NULL);
    if (err != 0)
        return fail("sigprocmask", -errno);

    cmio_sockaddr addr;
    if ((err = cmio_sockaddr_parse(&addr, text)) < 0)
        return fail(text, err);
    if ((err = start_workers(count)) < 0) {
        stop_workers();
        return fail("start workers", err);
    }

    cmio_poll *poll;
    cmio_events *events;
    cmio_tcp_listener server;
    cmio_signals *signals;
    if ((err = cmio_poll_new(&poll)) < 0)
        return fail("cmio_poll_new", err);
    cmio_registry *registry = cmio_poll_registry(poll);
    if ((err = cmio_events_new(&events, 64)) < 0)
        return fail("cmio_events_new", err);
    if ((err = cmio_signals_new(registry, SIGNALS, &stop_set, &signals)) < 0)
        return fail("cmio_signals_new", err);
    if ((err = cmio_tcp_listener_bind(&server, &addr)) < 0)
        return fail("bind", err);
    if ((err = cmio_registry_register(registry, server.fd, SERVER, CMIO_READABLE)) < 0)
        return fail("register", err);
    char shown[CMIO_SOCKADDR_STRLEN];
    if ((err = cmio_tcp_listener_local_addr(&server, &addr)) < 0 ||
        (err = cmio_sockaddr_format(&addr, shown, sizeof(shown))) < 0)
        return fail("local address", err);
    printf("Listening on %s\n", shown);
    printf("Workers:");
    for (int w = 0; w < n_workers; w++)
        printf(" %ld", (long)workers[w].pid);
    printf("\n");

    for (bool running = true; running;) {
        err = cmio_poll_poll(poll, events, -1);
        if (err == -EINTR)
            continue;
        if (err < 0)
            return fail("poll", err);
        for (const cmio_event *e = cmio_events_begin(events), *end = cmio_events_end(events); e != end; e++) {
            cmio_token token = cmio_event_token(e);
            if (token == SERVER) {
                if ((err = accept_all(&server)) < 0)
                    return fail("accept", err);
            } else if (token == SIGNALS) {
                int signo;
                while (cmio_signals_read(signals, &signo) == 0)
                    running = false;
            }
        }
    }
    cmio_registry_deregister(registry, server.fd);
    cmio_tcp_listener_close(&server);
    printf("Shutting down\n");
    int failures = stop_workers();
    printf("Done\n");
    cmio_signals_free(signals);
    cmio_events_free(events);
    cmio_poll_free(poll);
    return failures == 0 ? 0 : 1;
}
