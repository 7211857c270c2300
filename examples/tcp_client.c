/*
 * tcp_client: a load client for tcp_echo_server (and any echo server).
 *
 * Opens C connections, keeps one message in flight on each, checks every
 * echoed byte, and stops after a total number of round trips or a number of
 * seconds, whichever comes first. Prints one line:
 *
 *   connections=C round_trips=N seconds=S round_trips_per_second=R
 *
 *   tcp_client ADDRESS [CONNECTIONS=50] [ROUND_TRIPS=100000] [SECONDS=5] [SIZE=64]
 *
 * Exits 1 on a connection failure, a wrong echo, or no round trip at all.
 *
 * With CMIO_CLIENT_LOCKSTEP=1 in its environment (scripts/bench.sh sets it
 * for its callgrind and strace runs) the connections go in lockstep: the
 * next messages go out only when every connection's reply is in and every
 * thread of the server, the client's parent process, is asleep (Linux: their
 * states in /proc). A server slowed by callgrind or strace otherwise often finds a
 * connection's next message before its -EAGAIN, depending on what else the
 * machine does, and its work per round trip changes from run to run; in
 * lockstep every round sees one wait and, per connection, the same reads
 * and writes.
 *
 * SPDX-License-Identifier: MIT
 */
#include <cmio.h>

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { MAX_CONNECTIONS = 4096, MAX_SIZE = 4096 };

struct conn {
    cmio_tcp_stream stream;
    bool connected;
    bool held; /* lockstep: its next message waits for the others' replies */
    unsigned long sent_messages; /* messages started */
    size_t written, received;    /* bytes of the current message */
};

static struct conn conns[MAX_CONNECTIONS];
static size_t size = 64;

static int fail(const char *what, int err)
{
    fprintf(stderr, "tcp_client: %s: %s\n", what, cmio_strerror(err));
    return 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Lockstep: whether thread `task` of process `pid` sleeps (the state after
 * the command's closing parenthesis in /proc/PID/task/TID/stat); true where
 * it cannot be read. */
static bool task_asleep(long pid, const char *task)
{
    char path[320], text[512];
    snprintf(path, sizeof(path), "/proc/%ld/task/%s/stat", pid, task);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *end = strrchr(text, ')');
    return !end || end[1] != ' ' || end[2] == 'S';
}

/* Lockstep: wait (at most 10 s) until every thread of the parent process
 * (the server: a reactor per thread in multi_echo) sleeps. Where there is
 * no /proc it returns at once. */
static void wait_server_asleep(void)
{
    long pid = (long)getppid();
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/task", pid);
    double give_up = now_s() + 10;
    do {
        DIR *dir = opendir(path);
        if (!dir)
            return;
        bool asleep = true;
        struct dirent *d;
        while (asleep && (d = readdir(dir)) != NULL)
            if (d->d_name[0] != '.')
                asleep = task_asleep(pid, d->d_name);
        closedir(dir);
        if (asleep)
            return;
        sched_yield();
    } while (now_s() < give_up);
}

/* Byte k of message m on connection c: every message differs. */
static unsigned char pattern(size_t c, unsigned long m, size_t k)
{
    return (unsigned char)(c * 31u + m * 7u + k);
}

/* Write the rest of the current message (number sent_messages - 1).
 * 0, -EAGAIN, or an error. */
static int send_rest(size_t c)
{
    struct conn *x = &conns[c];
    unsigned char msg[MAX_SIZE];
    for (size_t k = x->written; k < size; k++)
        msg[k] = pattern(c, x->sent_messages - 1, k);
    while (x->written < size) {
        ssize_t n = cmio_tcp_stream_write(&x->stream, msg + x->written, size - x->written);
        if (n < 0)
            return (int)n;
        x->written += (size_t)n;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: tcp_client ADDRESS [CONNECTIONS] [ROUND_TRIPS] [SECONDS] [SIZE]\n");
        return 2;
    }
    size_t nconn = argc > 2 ? strtoul(argv[2], NULL, 10) : 50;
    unsigned long target = argc > 3 ? strtoul(argv[3], NULL, 10) : 100000;
    double seconds = argc > 4 ? strtod(argv[4], NULL) : 5.0;
    size = argc > 5 ? strtoul(argv[5], NULL, 10) : 64;
    if (nconn == 0 || nconn > MAX_CONNECTIONS || size == 0 || size > MAX_SIZE || !(seconds > 0)) {
        fprintf(stderr, "tcp_client: connections 1..%d, size 1..%d, seconds > 0\n", MAX_CONNECTIONS, MAX_SIZE);
        return 2;
    }

    cmio_poll *poll;
    cmio_events *events;
    cmio_sockaddr addr;
    int err;
    if ((err = cmio_poll_new(&poll)) < 0)
        return fail("cmio_poll_new", err);
    if ((err = cmio_events_new(&events, 1024)) < 0)
        return fail("cmio_events_new", err);
    if ((err = cmio_sockaddr_parse(&addr, argv[1])) < 0)
        return fail(argv[1], err);
    cmio_registry *registry = cmio_poll_registry(poll);
    for (size_t c = 0; c < nconn; c++) {
        if ((err = cmio_tcp_stream_connect(&conns[c].stream, &addr)) < 0)
            return fail("connect", err);
        cmio_tcp_stream_set_nodelay(&conns[c].stream, true);
        err = cmio_registry_register(registry, conns[c].stream.fd, c, CMIO_READABLE | CMIO_WRITABLE);
        if (err < 0)
            return fail("register", err);
    }

    const char *ls = getenv("CMIO_CLIENT_LOCKSTEP");
    bool lockstep = ls && strcmp(ls, "1") == 0;
    size_t held = 0;
    unsigned long done = 0;
    double start = now_s(), deadline = start + seconds;
    unsigned char buf[MAX_SIZE];
    while (done < target && now_s() < deadline) {
        err = cmio_poll_poll(poll, events, 100);
        if (err == -EINTR)
            continue;
        if (err < 0)
            return fail("poll", err);
        for (size_t i = 0; i < cmio_events_len(events) && done < target; i++) {
            const cmio_event *e = cmio_events_get(events, i);
            size_t c = cmio_event_token(e);
            struct conn *x = &conns[c];
            if (!x->connected) {
                if ((err = cmio_tcp_stream_take_error(&x->stream)) < 0)
                    return fail("connect", err);
                cmio_sockaddr peer;
                if (cmio_tcp_stream_peer_addr(&x->stream, &peer) < 0)
                    continue; /* not connected yet */
                x->connected = true;
            }
            for (;;) { /* read what is echoed */
                ssize_t n = cmio_tcp_stream_read(&x->stream, buf, size - x->received);
                if (n == -EAGAIN || n == -EINTR)
                    break;
                if (n <= 0)
                    return fail("read", n == 0 ? -ECONNRESET : (int)n);
                for (ssize_t k = 0; k < n; k++)
                    if (buf[k] != pattern(c, x->sent_messages - 1, x->received + (size_t)k))
                        return fail("echo", -EBADMSG);
                x->received += (size_t)n;
                if (x->received == size) { /* one round trip */
                    done++;
                    x->written = x->received = 0;
                    if (done >= target)
                        break;
                    x->sent_messages++;
                    if (lockstep) { /* read on to -EAGAIN: the re-arm on emulated edges */
                        x->held = true;
                        held++;
                        continue;
                    }
                    if ((err = send_rest(c)) < 0 && err != -EAGAIN)
                        return fail("write", err);
                }
            }
            if (lockstep && held == nconn) { /* every reply is in: the next round */
                wait_server_asleep();
                for (size_t h = 0; h < nconn; h++) {
                    if (!conns[h].held)
                        continue;
                    conns[h].held = false;
                    if ((err = send_rest(h)) < 0 && err != -EAGAIN)
                        return fail("write", err);
                }
                held = 0;
                continue;
            }
            if (x->sent_messages == 0) { /* the first message, once connected */
                x->sent_messages = 1;
                if ((err = send_rest(c)) < 0 && err != -EAGAIN)
                    return fail("write", err);
            } else if (!x->held && x->written < size && cmio_event_is_writable(e)) {
                if ((err = send_rest(c)) < 0 && err != -EAGAIN)
                    return fail("write", err);
            }
        }
    }
    double elapsed = now_s() - start;
    printf("connections=%zu round_trips=%lu seconds=%.3f round_trips_per_second=%.0f\n", nconn, done,
           elapsed, (double)done / elapsed);
    for (size_t c = 0; c < nconn; c++) {
        cmio_registry_deregister(registry, conns[c].stream.fd);
        cmio_tcp_stream_close(&conns[c].stream);
    }
    cmio_events_free(events);
    cmio_poll_free(poll);
    return done > 0 ? 0 : 1;
}
