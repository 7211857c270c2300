/*
 * Examples: each server example is started on a free loopback port and
 * driven by a client inside the test; the load client runs against the echo
 * server. The programs' paths come from the environment (set by meson).
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if !defined(_WIN32)
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/wait.h>
#include <unistd.h>
#endif

/* An example as a child process (tests/helpers.c: posix_spawn, or
 * CreateProcessW on Windows), its path from the environment. */
static void start(test_child *p, const char *env_name, char *const extra[])
{
    const char *path = getenv(env_name);
    ck_assert_msg(path != NULL && path[0] != '\0', "%s is not set", env_name);
    char *argv[8] = {(char *)path};
    for (int i = 0; extra && extra[i] && i < 6; i++)
        argv[i + 1] = extra[i];
    child_start(p, argv);
}

/* Read the program's output until `needle` has appeared `times` times
 * (bounded in time). */
static bool read_until_n(test_child *p, const char *needle, int times)
{
    return child_read_until(p, needle, times, WAIT_MS);
}

static bool read_until(test_child *p, const char *needle) { return read_until_n(p, needle, 1); }

/* Read the address a server prints first ("Listening on ADDRESS"). */
static void read_address(test_child *p, const char *what, cmio_sockaddr *addr)
{
    ck_assert_msg(read_until(p, "\n"), "no output from %s", what);
    char shown[128];
    ck_assert_msg(sscanf(p->text, "Listening on %127s", shown) == 1, "%s printed: %s", what, p->text);
    ck_assert_int_eq(cmio_sockaddr_parse(addr, shown), 0);
}

/* Start a server on 127.0.0.1:0 and read the address it listens on. */
static void start_server(test_child *p, const char *env_name, cmio_sockaddr *addr)
{
    char *args[] = {"127.0.0.1:0", NULL};
    start(p, env_name, args);
    read_address(p, env_name, addr);
}

/* End a server that is still serving: CHILD_TERMINATED (not an exit of its
 * own). */
static int stop(test_child *p)
{
    child_terminate(p);
    int status = child_wait(p, WAIT_MS);
    ck_assert_int_ne(status, CHILD_RUNNING);
    return status;
}

/* Wait for a program to end by itself. */
static int wait_exit(test_child *p)
{
    int status = child_wait(p, 6 * WAIT_MS);
    if (status == CHILD_RUNNING) {
        stop(p);
        ck_abort_msg("program did not finish: %s", p->text);
    }
    return status;
}

/* A blocking client socket connected to addr, its reads bounded. */
static cmio_fd dial(const cmio_sockaddr *addr, int type)
{
    cmio_fd fd = plain_socket(addr->u.sa.sa_family, type);
    sock_recv_timeout(fd, WAIT_MS / 1000);
    ck_assert_msg(connect(fd, &addr->u.sa, addr->len) == 0, "connect: %s", strerror(sock_errno()));
    return fd;
}

/* Read exactly len bytes (bounded by the receive timeout). */
static void read_exact(cmio_fd fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = sock_recv(fd, (char *)buf + got, len - got);
        ck_assert_msg(n > 0, "recv: %zd (%s)", n, n < 0 ? strerror(errno) : "end of stream");
        got += (size_t)n;
    }
}

static void send_bytes(cmio_fd fd, const void *buf, size_t len)
{
    ck_assert_int_eq(sock_send(fd, buf, len), (ssize_t)len);
}

START_TEST(test_readme_example_runs)
{
    char *args[] = {"127.0.0.1:0", NULL};
    static test_child p;
    start(&p, "CMIO_EXAMPLE_README", args);
    int status = wait_exit(&p);
    ck_assert_msg(status == 0, "status %d: %s", status, p.text);
    ck_assert_ptr_nonnull(strstr(p.text, "client: writable"));
}
END_TEST

START_TEST(test_tcp_server_greets_and_prints)
{
    static test_child p;
    cmio_sockaddr addr;
    start_server(&p, "CMIO_EXAMPLE_TCP_SERVER", &addr);
    cmio_fd clients[3];
    for (int k = 0; k < 3; k++) {
        clients[k] = dial(&addr, SOCK_STREAM);
        char hello[13];
        read_exact(clients[k], hello, sizeof(hello));
        ck_assert(memcmp(hello, "Hello world!\n", sizeof(hello)) == 0);
    }
    send_bytes(clients[1], "ping from one\n", 14);
    ck_assert_msg(read_until(&p, "Received data: ping from one\n"), "output: %s", p.text);
    for (int k = 0; k < 3; k++)
        sock_close(clients[k]);
    ck_assert_msg(read_until_n(&p, "Connection closed\n", 3), "output: %s", p.text);
    ck_assert_int_eq(occurrences(p.text, "Accepted connection from: 127.0.0.1:"), 3);
    ck_assert_int_eq(stop(&p), CHILD_TERMINATED); /* it was still serving */
}
END_TEST

START_TEST(test_udp_server_echoes_datagrams)
{
    static test_child p;
    cmio_sockaddr addr;
    start_server(&p, "CMIO_EXAMPLE_UDP_SERVER", &addr);
    for (int k = 0; k < 2; k++) {
        cmio_fd fd = dial(&addr, SOCK_DGRAM);
        char msg[32], back[64];
        int len = snprintf(msg, sizeof(msg), "datagram %d", k);
        send_bytes(fd, msg, (size_t)len);
        ck_assert_int_eq(sock_recv(fd, back, sizeof(back)), len);
        ck_assert(memcmp(msg, back, (size_t)len) == 0);
        sock_close(fd);
    }
    ck_assert_int_eq(stop(&p), CHILD_TERMINATED);
}
END_TEST

START_TEST(test_echo_server_echoes_a_large_stream)
{
    enum { TOTAL = 1 << 20 };
    static test_child p;
    static unsigned char out[TOTAL], in[TOTAL];
    cmio_sockaddr addr;
    start_server(&p, "CMIO_EXAMPLE_TCP_ECHO_SERVER", &addr);
    cmio_fd fd = dial(&addr, SOCK_STREAM);
    sock_set_nonblocking(fd);
    for (size_t k = 0; k < TOTAL; k++)
        out[k] = (unsigned char)(k * 13 + (k >> 11));
    size_t sent = 0, got = 0;
    int64_t deadline = now_ms() + 4 * WAIT_MS;
    while (got < TOTAL && now_ms() < deadline) {
        sock_poll(fd, (short)(POLLIN | (sent < TOTAL ? POLLOUT : 0)), 100);
        if (sent < TOTAL) {
            ssize_t n = sock_send(fd, out + sent, TOTAL - sent);
            ck_assert_msg(n > 0 || errno == EAGAIN, "send: %s", strerror(errno));
            sent += n > 0 ? (size_t)n : 0;
        }
        ssize_t n = sock_recv(fd, in + got, TOTAL - got);
        ck_assert_msg(n > 0 || (n < 0 && errno == EAGAIN), "recv: %zd (%s)", n, n < 0 ? strerror(errno) : "end");
        got += n > 0 ? (size_t)n : 0;
    }
    ck_assert_uint_eq(got, TOTAL);
    ck_assert(memcmp(in, out, TOTAL) == 0);
    sock_close(fd);
    ck_assert_int_eq(stop(&p), CHILD_TERMINATED);
}
END_TEST

/* Framing examples (issue 12). */

/* Read one frame (blocking, bounded by the receive timeout) into buf;
 * returns its length. */
static uint32_t read_frame(cmio_fd fd, char *buf, size_t size)
{
    unsigned char h[4];
    read_exact(fd, h, 4);
    uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    ck_assert_uint_lt(len, size);
    read_exact(fd, buf, len);
    buf[len] = '\0';
    return len;
}

static size_t frame_of(unsigned char *out, const char *text)
{
    uint32_t len = (uint32_t)strlen(text);
    out[0] = (unsigned char)(len >> 24);
    out[1] = (unsigned char)(len >> 16);
    out[2] = (unsigned char)(len >> 8);
    out[3] = (unsigned char)len;
    memcpy(out + 4, text, len);
    return 4 + len;
}

START_TEST(test_frame_echo_answers_split_frames)
{
    static test_child p;
    cmio_sockaddr addr;
    start_server(&p, "CMIO_EXAMPLE_FRAME_ECHO", &addr);
    cmio_fd a = dial(&addr, SOCK_STREAM), b = dial(&addr, SOCK_STREAM);
    int one = 1;
    sock_setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    static const char *const texts[] = {"", "x", "hello", "", "a longer frame, split everywhere"};
    unsigned char stream[256];
    size_t total = 0;
    for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++)
        total += frame_of(stream + total, texts[k]);
    /* One byte at a time: every split point of every prefix and body. */
    for (size_t at = 0; at < total; at++)
        send_bytes(a, stream + at, 1);
    char got[256];
    for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
        ck_assert_uint_eq(read_frame(a, got, sizeof(got)), strlen(texts[k]));
        ck_assert_str_eq(got, texts[k]);
    }
    /* An oversize frame (the server's maximum is 4096) on b: b is closed and
     * logged, a goes on. */
    static const unsigned char oversize[4] = {0, 0, 0x10, 0x01};
    send_bytes(b, oversize, 4);
    ck_assert_msg(read_until(&p, "closed: "), "no log line: %s", p.text);
    ck_assert_int_eq(sock_recv(b, got, sizeof(got)), 0);
    size_t n = frame_of(stream, "still here");
    send_bytes(a, stream, n);
    read_frame(a, got, sizeof(got));
    ck_assert_str_eq(got, "still here");
    sock_close(a);
    sock_close(b);
    ck_assert_int_eq(stop(&p), CHILD_TERMINATED);
}
END_TEST

START_TEST(test_chat_server_broadcasts)
{
    static test_child p;
    cmio_sockaddr addr;
    start_server(&p, "CMIO_EXAMPLE_CHAT_SERVER", &addr);
    char got[2048];
    cmio_fd c1 = dial(&addr, SOCK_STREAM);
    ck_assert(read_until(&p, "client 1 joined"));
    cmio_fd c2 = dial(&addr, SOCK_STREAM);
    ck_assert(read_until(&p, "client 2 joined"));
    read_frame(c1, got, sizeof(got));
    ck_assert_str_eq(got, "* 2 joined");
    cmio_fd c3 = dial(&addr, SOCK_STREAM);
    ck_assert(read_until(&p, "client 3 joined"));
    read_frame(c1, got, sizeof(got));
    ck_assert_str_eq(got, "* 3 joined");
    read_frame(c2, got, sizeof(got));
    ck_assert_str_eq(got, "* 3 joined");
    /* A line split across writes, then two in one write (CRLF is data). */
    send_bytes(c1, "hel", 3);
    send_bytes(c1, "lo\nsecond\r\n", 11);
    read_frame(c2, got, sizeof(got));
    ck_assert_str_eq(got, "1: hello");
    read_frame(c3, got, sizeof(got));
    ck_assert_str_eq(got, "1: hello");
    read_frame(c2, got, sizeof(got));
    ck_assert_str_eq(got, "1: second\r");
    read_frame(c3, got, sizeof(got));
    ck_assert_str_eq(got, "1: second\r");
    /* The sender does not get its own lines: its next frame is c2's. */
    send_bytes(c2, "hi\n", 3);
    read_frame(c1, got, sizeof(got));
    ck_assert_str_eq(got, "2: hi");
    read_frame(c3, got, sizeof(got));
    ck_assert_str_eq(got, "2: hi");
    /* Leaving is announced to those still there. */
    sock_close(c3);
    ck_assert(read_until(&p, "client 3 left"));
    read_frame(c1, got, sizeof(got));
    ck_assert_str_eq(got, "* 3 left");
    read_frame(c2, got, sizeof(got));
    ck_assert_str_eq(got, "* 3 left");
    sock_close(c2);
    read_frame(c1, got, sizeof(got));
    ck_assert_str_eq(got, "* 2 left");
    sock_close(c1);
    ck_assert(read_until(&p, "client 1 left"));
    ck_assert_int_eq(stop(&p), CHILD_TERMINATED);
}
END_TEST

#if !defined(_WIN32)
/* The examples below are POSIX programs, not built on Windows, and their
 * tests drive them through POSIX alone: tcp_client (its lockstep mode reads
 * /proc), graceful_shutdown and multi_reactor (stopped by SIGTERM and
 * SIGINT, signals as events), fd_passing (fork, SCM_RIGHTS, /proc) and
 * tcp_listenfd_server (a socket inherited as descriptor 3 across fork and
 * exec, as systemd passes it). */

START_TEST(test_load_client_against_echo_server)
{
    static test_child server, client;
    cmio_sockaddr addr;
    start_server(&server, "CMIO_EXAMPLE_TCP_ECHO_SERVER", &addr);
    char shown[CMIO_SOCKADDR_STRLEN];
    ck_assert_int_ge(cmio_sockaddr_format(&addr, shown, sizeof(shown)), 0);
    char *args[] = {shown, "20", "2000", "20", "64", NULL};
    start(&client, "CMIO_EXAMPLE_TCP_CLIENT", args);
    int status = wait_exit(&client);
    ck_assert_msg(status == 0, "client: status %d: %s", status, client.text);
    ck_assert_ptr_nonnull(strstr(client.text, "connections=20 round_trips=2000 "));
    ck_assert_int_eq(stop(&server), CHILD_TERMINATED);
}
END_TEST

/* One echo round trip of a short text on a blocking socket. */
static void echo_once(int fd, const char *text)
{
    char back[64];
    size_t len = strlen(text);
    send_bytes(fd, text, len);
    read_exact(fd, back, len);
    ck_assert(memcmp(back, text, len) == 0);
}

/* SIGTERM: the listener goes (a new connection is refused), the connection
 * in flight is still served, and when it closes the server exits 0. */
START_TEST(test_graceful_shutdown_finishes_connections)
{
    static test_child p;
    cmio_sockaddr addr;
    char *args[] = {"127.0.0.1:0", "60000", NULL};
    start(&p, "CMIO_EXAMPLE_GRACEFUL_SHUTDOWN", args);
    read_address(&p, "graceful_shutdown", &addr);
    int fd = dial(&addr, SOCK_STREAM);
    echo_once(fd, "hello");
    ck_assert_int_eq(kill(p.pid, SIGTERM), 0);
    ck_assert_msg(read_until(&p, "Shutting down: 1 connections in flight\n"), "output: %s", p.text);
    int late = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(late, 0);
    ck_assert_int_eq(connect(late, &addr.u.sa, addr.len), -1);
    ck_assert_int_eq(errno, ECONNREFUSED);
    close(late);
    echo_once(fd, "still served");
    close(fd);
    int status = wait_exit(&p);
    ck_assert_msg(status == 0, "status %d: %s", status, p.text);
    ck_assert_ptr_nonnull(strstr(p.text, "Done\n"));
    ck_assert_ptr_null(strstr(p.text, "Deadline"));
}
END_TEST

/* SIGINT with a connection that never ends: the deadline timer closes it
 * (the client sees the end of the stream, not before the grace period) and
 * the server exits 0. */
START_TEST(test_graceful_shutdown_deadline)
{
    static test_child p;
    cmio_sockaddr addr;
    char *args[] = {"127.0.0.1:0", "300", NULL};
    start(&p, "CMIO_EXAMPLE_GRACEFUL_SHUTDOWN", args);
    read_address(&p, "graceful_shutdown", &addr);
    int fd = dial(&addr, SOCK_STREAM);
    echo_once(fd, "hello");
    int64_t t0 = now_ms();
    ck_assert_int_eq(kill(p.pid, SIGINT), 0);
    char byte;
    ck_assert_int_eq(read(fd, &byte, 1), 0); /* closed by the deadline */
    ck_assert_int_ge(now_ms() - t0, 300);
    close(fd);
    int status = wait_exit(&p);
    ck_assert_msg(status == 0, "status %d: %s", status, p.text);
    ck_assert_ptr_nonnull(strstr(p.text, "Deadline: closed 1\n"));
    ck_assert_ptr_nonnull(strstr(p.text, "Done\n"));
}
END_TEST

/* The parent of a process, from /proc/PID/stat (-1 where there is none). */
static long parent_of(long pid)
{
    char path[64], text[512];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *close_paren = strrchr(text, ')'); /* the command may hold spaces */
    long ppid = -1;
    char state;
    if (close_paren == NULL || sscanf(close_paren + 1, " %c %ld", &state, &ppid) != 2)
        return -1;
    return ppid;
}

/* How many descriptors process pid has open (-1 where /proc cannot tell). */
static int fds_of(long pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}
/* The parent hands each connection to a worker child over a socketpair:
 * every reply carries the marker of a worker, a child of the parent (not
 * the parent), both workers serve (round robin), and the parent holds no
 * copy (the client sees the end of the stream when the worker closes). On
 * SIGTERM every worker exits 0 and is reaped by the parent, which exits 0:
 * with this test as the subreaper of its descendants, no orphan is left to
 * it either. */
START_TEST(test_fd_passing_workers_serve_and_are_reaped)
{
#ifdef PR_SET_CHILD_SUBREAPER
    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
#endif
    static test_child p;
    cmio_sockaddr addr;
    start_server(&p, "CMIO_EXAMPLE_FD_PASSING", &addr);
    ck_assert_msg(read_until(&p, "Workers:") && read_until_n(&p, "\n", 2), "output: %s", p.text);
    long pids[2];
    ck_assert_int_eq(sscanf(strstr(p.text, "Workers:"), "Workers: %ld %ld", &pids[0], &pids[1]), 2);
    for (int w = 0; w < 2; w++) {
        ck_assert_int_ne(pids[w], p.pid);
        ck_assert_int_eq(parent_of(pids[w]), p.pid);
    }

    int parent_fds = fds_of(p.pid);
    enum { N = 4 };
    int fds[N];
    bool served[2] = {false, false};
    for (int k = 0; k < N; k++) {
        fds[k] = dial(&addr, SOCK_STREAM);
        char msg[32], want[96], back[96];
        for (int round = 0; round < 2; round++) {
            int len = snprintf(msg, sizeof(msg), "hello %d.%d\n", k, round);
            ck_assert_int_eq(send(fds[k], msg, (size_t)len, MSG_NOSIGNAL), len);
            /* "worker PID: hello K.R\n" from one of the workers. */
            size_t got = 0;
            while (got < sizeof(back) - 1 && (got == 0 || back[got - 1] != '\n')) {
                ssize_t n = read(fds[k], back + got, 1);
                ck_assert_msg(n == 1, "read: %zd", n);
                got++;
            }
            back[got] = '\0';
            long pid = 0;
            ck_assert_msg(sscanf(back, "worker %ld: ", &pid) == 1, "reply: %s", back);
            ck_assert_msg(pid == pids[0] || pid == pids[1], "served by %ld: %s", pid, back);
            served[pid == pids[1]] = true;
            snprintf(want, sizeof(want), "worker %ld: %s", pid, msg);
            ck_assert_str_eq(back, want);
        }
    }
    ck_assert(served[0] && served[1]);
    ck_assert(read_until_n(&p, "Passed 127.0.0.1:", N));
    ck_assert_int_eq(fds_of(p.pid), parent_fds); /* it kept no copy */

    ck_assert_int_eq(kill(p.pid, SIGTERM), 0);
    for (int k = 0; k < N; k++) {
        char byte;
        ck_assert_int_eq(read(fds[k], &byte, 1), 0); /* the worker closed it: no copy anywhere else */
        close(fds[k]);
    }
    int status = wait_exit(&p);
    ck_assert_msg(status == 0, "status %d: %s", status, p.text);
    for (int w = 0; w < 2; w++) {
        char line[64];
        snprintf(line, sizeof(line), "Reaped worker %ld: exit 0\n", pids[w]);
        ck_assert_msg(strstr(p.text, line) != NULL, "output: %s", p.text);
        ck_assert_int_eq(kill((pid_t)pids[w], 0), -1);
        ck_assert_int_eq(errno, ESRCH);
    }
    ck_assert_ptr_nonnull(strstr(p.text, "Done\n"));
    errno = 0;
    ck_assert_int_eq(waitpid(-1, &status, WNOHANG), -1); /* no orphan came to us */
    ck_assert_int_eq(errno, ECHILD);
}
END_TEST

/* multi_reactor: the totals it reports after SIGTERM, or after its round
 * trip limit. */
struct reactor_report {
    int threads;
    unsigned long connections, round_trips;
    int busy_threads; /* threads that served a connection */
    unsigned long sum_connections, sum_round_trips;
};

static void parse_report(const char *text, struct reactor_report *rep)
{
    memset(rep, 0, sizeof(*rep));
    const char *total = strstr(text, "total: ");
    ck_assert_msg(total != NULL, "no total in: %s", text);
    ck_assert_int_eq(sscanf(total, "total: threads=%d connections=%lu round_trips=%lu", &rep->threads,
                            &rep->connections, &rep->round_trips),
                     3);
    for (int k = 0; k < rep->threads; k++) {
        char head[32];
        snprintf(head, sizeof(head), "thread %d: ", k);
        const char *at = strstr(text, head);
        ck_assert_msg(at != NULL, "no line for thread %d: %s", k, text);
        unsigned long c = 0, r = 0;
        ck_assert_int_eq(sscanf(at + strlen(head), "connections=%lu round_trips=%lu", &c, &r), 2);
        rep->busy_threads += c > 0;
        rep->sum_connections += c;
        rep->sum_round_trips += r;
    }
}

/* Start multi_reactor with args, read its address. */
static void start_reactor(test_child *p, char *const args[], cmio_sockaddr *addr)
{
    start(p, "CMIO_EXAMPLE_MULTI_REACTOR", args);
    read_address(p, "multi_reactor", addr);
}

/* Open n connections and make `each` line round trips on every one. */
static void drive_reactor(const cmio_sockaddr *addr, int n, int each)
{
    int fds[32];
    ck_assert_int_le(n, 32);
    for (int k = 0; k < n; k++)
        fds[k] = dial(addr, SOCK_STREAM);
    for (int round = 0; round < each; round++)
        for (int k = 0; k < n; k++) {
            char line[32];
            snprintf(line, sizeof(line), "conn %d line %d\n", k, round);
            echo_once(fds[k], line);
        }
    for (int k = 0; k < n; k++)
        close(fds[k]);
}

/* Three reactors, 16 connections, SIGTERM: every connection and round trip
 * is counted once, and the kernel spread the connections over more than
 * one thread (all 16 on one of three: a chance of 3^-15). */
START_TEST(test_multi_reactor_reports_on_sigterm)
{
    static test_child p;
    cmio_sockaddr addr;
    char *args[] = {"127.0.0.1:0", "3", NULL};
    start_reactor(&p, args, &addr);
    ck_assert_ptr_nonnull(strstr(p.text, "with 3 threads"));
    drive_reactor(&addr, 16, 10);
    ck_assert_int_eq(kill(p.pid, SIGTERM), 0);
    int status = wait_exit(&p);
    ck_assert_msg(status == 0, "status %d: %s", status, p.text);
    ck_assert_ptr_nonnull(strstr(p.text, "Stopping (SIGTERM)\n"));
    struct reactor_report rep;
    parse_report(p.text, &rep);
    ck_assert_int_eq(rep.threads, 3);
    ck_assert_uint_eq(rep.connections, 16);
    ck_assert_uint_eq(rep.round_trips, 160);
    ck_assert_uint_eq(rep.sum_connections, 16);
    ck_assert_uint_eq(rep.sum_round_trips, 160);
    ck_assert_int_ge(rep.busy_threads, 2);
}
END_TEST

/* Two reactors and a limit of 100 round trips: it stops by itself. */
START_TEST(test_multi_reactor_stops_after_round_trips)
{
    static test_child p;
    cmio_sockaddr addr;
    char *args[] = {"127.0.0.1:0", "2", "100", NULL};
    start_reactor(&p, args, &addr);
    drive_reactor(&addr, 4, 25);
    int status = wait_exit(&p);
    ck_assert_msg(status == 0, "status %d: %s", status, p.text);
    ck_assert_ptr_nonnull(strstr(p.text, "Stopping (round trips)\n"));
    struct reactor_report rep;
    parse_report(p.text, &rep);
    ck_assert_int_eq(rep.threads, 2);
    ck_assert_uint_eq(rep.connections, 4);
    ck_assert_uint_eq(rep.round_trips, 100);
    ck_assert_uint_eq(rep.sum_round_trips, 100);
}
END_TEST

/* tcp_listenfd_server, started as systemd starts a socket-activated
 * service: the listening socket as descriptor 3, LISTEN_FDS=1 and
 * LISTEN_PID its own pid (pid_mode 0), another pid (1), or no LISTEN_FDS
 * at all (2). */
static void start_listenfd(test_child *p, int listener, int pid_mode)
{
    const char *path = getenv("CMIO_EXAMPLE_TCP_LISTENFD_SERVER");
    ck_assert_msg(path != NULL, "CMIO_EXAMPLE_TCP_LISTENFD_SERVER is not set");
    int fds[2];
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* The child: only async-signal-safe calls and setenv until exec. */
        char pidtext[32];
        snprintf(pidtext, sizeof(pidtext), "%ld", (long)(pid_mode == 1 ? getppid() : getpid()));
        if (dup2(fds[1], STDOUT_FILENO) < 0 || dup2(listener, 3) != 3)
            _exit(127);
        if (pid_mode == 2) {
            unsetenv("LISTEN_FDS");
        } else if (setenv("LISTEN_FDS", "1", 1) < 0 || setenv("LISTEN_PID", pidtext, 1) < 0) {
            _exit(127);
        }
        execl(path, path, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    child_adopt(p, pid, fds[0]);
}

/* A blocking, inheritable listener on 127.0.0.1 (as systemd makes one). */
static int activation_socket(cmio_sockaddr *addr)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(l, 0);
    *addr = parse_addr("127.0.0.1:0");
    ck_assert_int_eq(bind(l, &addr->u.sa, addr->len), 0);
    ck_assert_int_eq(listen(l, 16), 0);
    addr->len = sizeof(addr->u);
    ck_assert_int_eq(getsockname(l, &addr->u.sa, &addr->len), 0);
    return l;
}

START_TEST(test_tcp_listenfd_server_greets_on_inherited_socket)
{
    static test_child p;
    cmio_sockaddr addr;
    int l = activation_socket(&addr);
    start_listenfd(&p, l, 0);
    close(l); /* the server's copy is the only one now */
    ck_assert_msg(read_until(&p, "Using preopened socket FD 3\n"), "output: %s", p.text);
    char port[16];
    snprintf(port, sizeof(port), " %u\n", ntohs(addr.u.in4.sin_port));
    ck_assert_msg(read_until(&p, port), "no `nc` line with the port: %s", p.text);
    for (int k = 0; k < 2; k++) {
        int fd = dial(&addr, SOCK_STREAM);
        char hello[13];
        read_exact(fd, hello, sizeof(hello));
        ck_assert(memcmp(hello, "Hello world!\n", sizeof(hello)) == 0);
        send_bytes(fd, "socket activated\n", 17);
        ck_assert(read_until_n(&p, "Received data: socket activated\n", k + 1));
        close(fd);
        ck_assert(read_until_n(&p, "Connection closed\n", k + 1));
    }
    ck_assert_int_eq(occurrences(p.text, "Accepted connection from: 127.0.0.1:"), 2);
    ck_assert_int_eq(stop(&p), CHILD_TERMINATED); /* it was still serving */
}
END_TEST

/* Not activated (no LISTEN_FDS), or activated for another process
 * (LISTEN_PID): it refuses and exits 1. */
START_TEST(test_tcp_listenfd_server_refuses_without_activation)
{
    for (int mode = 1; mode <= 2; mode++) {
        static test_child p;
        cmio_sockaddr addr;
        int l = activation_socket(&addr);
        start_listenfd(&p, l, mode);
        close(l);
        int status = wait_exit(&p);
        ck_assert_msg(status == 1, "mode %d: status %d", mode, status);
        ck_assert_ptr_null(strstr(p.text, "Using preopened socket"));
    }
}
END_TEST

#endif /* !_WIN32 */

static Suite *examples_suite(void)
{
    Suite *s = suite_create("examples");
    TCase *tc = tcase_create("examples");
    tcase_set_timeout(tc, 120);
    /* A test that fails midway leaves no example running. */
    tcase_add_checked_fixture(tc, NULL, child_cleanup);
    tcase_add_test(tc, test_readme_example_runs);
    tcase_add_test(tc, test_tcp_server_greets_and_prints);
    tcase_add_test(tc, test_udp_server_echoes_datagrams);
    tcase_add_test(tc, test_echo_server_echoes_a_large_stream);
    tcase_add_test(tc, test_frame_echo_answers_split_frames);
    tcase_add_test(tc, test_chat_server_broadcasts);
#if !defined(_WIN32)
    tcase_add_test(tc, test_load_client_against_echo_server);
    tcase_add_test(tc, test_graceful_shutdown_finishes_connections);
    tcase_add_test(tc, test_graceful_shutdown_deadline);
    tcase_add_test(tc, test_fd_passing_workers_serve_and_are_reaped);
    tcase_add_test(tc, test_multi_reactor_reports_on_sigterm);
    tcase_add_test(tc, test_multi_reactor_stops_after_round_trips);
    tcase_add_test(tc, test_tcp_listenfd_server_greets_on_inherited_socket);
    tcase_add_test(tc, test_tcp_listenfd_server_refuses_without_activation);
#endif
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(examples_suite()); }
