/*
 * Examples: each server example is started on a free loopback port and
 * driven by a client inside the test; the load client runs against the echo
 * server. The programs' paths come from the environment (set by meson).
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct proc {
    pid_t pid;
    int out;        /* its standard output */
    char text[65536]; /* everything it printed so far */
    size_t len;
};

static void start(struct proc *p, const char *env_name, char *const extra[])
{
    const char *path = getenv(env_name);
    ck_assert_msg(path != NULL, "%s is not set", env_name);
    char *argv[8] = {(char *)path};
    for (int i = 0; extra && extra[i] && i < 6; i++)
        argv[i + 1] = extra[i];
    int fds[2];
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    ck_assert_int_eq(posix_spawn(&p->pid, path, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    p->out = fds[0];
    p->len = 0;
    p->text[0] = '\0';
}

static int occurrences(const char *text, const char *needle)
{
    int count = 0;
    for (const char *at = text; (at = strstr(at, needle)) != NULL; at++)
        count++;
    return count;
}

/* Read the program's output until `needle` has appeared `times` times
 * (bounded in time). */
static bool read_until_n(struct proc *p, const char *needle, int times)
{
    int64_t deadline = now_ms() + WAIT_MS;
    while (occurrences(p->text, needle) < times) {
        int64_t left = deadline - now_ms();
        struct pollfd pfd = {.fd = p->out, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0 || p->len + 1 >= sizeof(p->text))
            return false;
        ssize_t n = read(p->out, p->text + p->len, sizeof(p->text) - 1 - p->len);
        if (n <= 0)
            break;
        p->len += (size_t)n;
        p->text[p->len] = '\0';
    }
    return occurrences(p->text, needle) >= times;
}

static bool read_until(struct proc *p, const char *needle) { return read_until_n(p, needle, 1); }

/* Start a server on 127.0.0.1:0 and read the address it listens on. */
static void start_server(struct proc *p, const char *env_name, cmio_sockaddr *addr)
{
    char *args[] = {"127.0.0.1:0", NULL};
    start(p, env_name, args);
    ck_assert_msg(read_until(p, "\n"), "no output from %s", env_name);
    char shown[128];
    ck_assert_int_eq(sscanf(p->text, "Listening on %127s", shown), 1);
    ck_assert_int_eq(cmio_sockaddr_parse(addr, shown), 0);
}

static int stop(struct proc *p)
{
    kill(p->pid, SIGTERM);
    int status = 0;
    ck_assert_int_eq(waitpid(p->pid, &status, 0), p->pid);
    close(p->out);
    return status;
}

static int wait_exit(struct proc *p)
{
    int status = 0;
    for (int64_t deadline = now_ms() + 6 * WAIT_MS; now_ms() < deadline;) {
        read_until(p, "\n\n"); /* keep its pipe from filling up */
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            close(p->out);
            return status;
        }
    }
    stop(p);
    ck_abort_msg("program did not finish");
    return -1;
}

/* A blocking client socket connected to addr. */
static int dial(const cmio_sockaddr *addr, int type)
{
    int fd = socket(addr->u.sa.sa_family, type | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct timeval tv = {.tv_sec = WAIT_MS / 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ck_assert_int_eq(connect(fd, &addr->u.sa, addr->len), 0);
    return fd;
}

/* Read exactly len bytes (bounded by SO_RCVTIMEO). */
static void read_exact(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        ck_assert_msg(n > 0, "read: %zd (%s)", n, n < 0 ? strerror(errno) : "end of stream");
        got += (size_t)n;
    }
}

START_TEST(test_readme_example_runs)
{
    char *args[] = {"127.0.0.1:0", NULL};
    struct proc p;
    start(&p, "CMIO_EXAMPLE_README", args);
    int status = wait_exit(&p);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_ptr_nonnull(strstr(p.text, "client: writable"));
}
END_TEST

START_TEST(test_tcp_server_greets_and_prints)
{
    static struct proc p;
    cmio_sockaddr addr;
    start_server(&p, "CMIO_EXAMPLE_TCP_SERVER", &addr);
    int clients[3];
    for (int k = 0; k < 3; k++) {
        clients[k] = dial(&addr, SOCK_STREAM);
        char hello[13];
        read_exact(clients[k], hello, sizeof(hello));
        ck_assert(memcmp(hello, "Hello world!\n", sizeof(hello)) == 0);
    }
    ck_assert_int_eq(write(clients[1], "ping from one\n", 14), 14);
    ck_assert(read_until(&p, "Received data: ping from one\n"));
    for (int k = 0; k < 3; k++)
        close(clients[k]);
    ck_assert(read_until_n(&p, "Connection closed\n", 3));
    ck_assert_int_eq(occurrences(p.text, "Accepted connection from: 127.0.0.1:"), 3);
    int status = stop(&p);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM); /* it was still serving */
}
END_TEST

START_TEST(test_udp_server_echoes_datagrams)
{
    static struct proc p;
    cmio_sockaddr addr;
    start_server(&p, "CMIO_EXAMPLE_UDP_SERVER", &addr);
    for (int k = 0; k < 2; k++) {
        int fd = dial(&addr, SOCK_DGRAM);
        char msg[32], back[64];
        int len = snprintf(msg, sizeof(msg), "datagram %d", k);
        ck_assert_int_eq(send(fd, msg, (size_t)len, 0), len);
        ck_assert_int_eq(recv(fd, back, sizeof(back), 0), len);
        ck_assert(memcmp(msg, back, (size_t)len) == 0);
        close(fd);
    }
    int status = stop(&p);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
}
END_TEST

START_TEST(test_echo_server_echoes_a_large_stream)
{
    enum { TOTAL = 1 << 20 };
    static struct proc p;
    static unsigned char out[TOTAL], in[TOTAL];
    cmio_sockaddr addr;
    start_server(&p, "CMIO_EXAMPLE_TCP_ECHO_SERVER", &addr);
    int fd = dial(&addr, SOCK_STREAM);
    ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    for (size_t k = 0; k < TOTAL; k++)
        out[k] = (unsigned char)(k * 13 + (k >> 11));
    size_t sent = 0, got = 0;
    int64_t deadline = now_ms() + 4 * WAIT_MS;
    while (got < TOTAL && now_ms() < deadline) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN | (sent < TOTAL ? POLLOUT : 0)};
        ck_assert_int_ge(poll(&pfd, 1, 100), 0);
        if (sent < TOTAL) {
            ssize_t n = send(fd, out + sent, TOTAL - sent, MSG_NOSIGNAL);
            ck_assert(n > 0 || errno == EAGAIN);
            sent += n > 0 ? (size_t)n : 0;
        }
        ssize_t n = read(fd, in + got, TOTAL - got);
        ck_assert(n > 0 || (n < 0 && errno == EAGAIN));
        got += n > 0 ? (size_t)n : 0;
    }
    ck_assert_uint_eq(got, TOTAL);
    ck_assert(memcmp(in, out, TOTAL) == 0);
    close(fd);
    stop(&p);
}
END_TEST

START_TEST(test_load_client_against_echo_server)
{
    static struct proc server, client;
    cmio_sockaddr addr;
    start_server(&server, "CMIO_EXAMPLE_TCP_ECHO_SERVER", &addr);
    char shown[CMIO_SOCKADDR_STRLEN];
    ck_assert_int_ge(cmio_sockaddr_format(&addr, shown, sizeof(shown)), 0);
    char *args[] = {shown, "20", "2000", "20", "64", NULL};
    start(&client, "CMIO_EXAMPLE_TCP_CLIENT", args);
    int status = wait_exit(&client);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client: %s", client.text);
    ck_assert_ptr_nonnull(strstr(client.text, "connections=20 round_trips=2000 "));
    stop(&server);
}
END_TEST

/* One echo round trip of a short text on a blocking socket. */
static void echo_once(int fd, const char *text)
{
    char back[64];
    size_t len = strlen(text);
    ck_assert_int_eq(send(fd, text, len, MSG_NOSIGNAL), (ssize_t)len);
    read_exact(fd, back, len);
    ck_assert(memcmp(back, text, len) == 0);
}

/* SIGTERM: the listener goes (a new connection is refused), the connection
 * in flight is still served, and when it closes the server exits 0. */
START_TEST(test_graceful_shutdown_finishes_connections)
{
    static struct proc p;
    cmio_sockaddr addr;
    char *args[] = {"127.0.0.1:0", "60000", NULL};
    start(&p, "CMIO_EXAMPLE_GRACEFUL_SHUTDOWN", args);
    ck_assert_msg(read_until(&p, "\n"), "no output");
    char shown[128];
    ck_assert_int_eq(sscanf(p.text, "Listening on %127s", shown), 1);
    ck_assert_int_eq(cmio_sockaddr_parse(&addr, shown), 0);
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
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d: %s", status, p.text);
    ck_assert_ptr_nonnull(strstr(p.text, "Done\n"));
    ck_assert_ptr_null(strstr(p.text, "Deadline"));
}
END_TEST

/* SIGINT with a connection that never ends: the deadline timer closes it
 * (the client sees the end of the stream, not before the grace period) and
 * the server exits 0. */
START_TEST(test_graceful_shutdown_deadline)
{
    static struct proc p;
    cmio_sockaddr addr;
    char *args[] = {"127.0.0.1:0", "300", NULL};
    start(&p, "CMIO_EXAMPLE_GRACEFUL_SHUTDOWN", args);
    ck_assert_msg(read_until(&p, "\n"), "no output");
    char shown[128];
    ck_assert_int_eq(sscanf(p.text, "Listening on %127s", shown), 1);
    ck_assert_int_eq(cmio_sockaddr_parse(&addr, shown), 0);
    int fd = dial(&addr, SOCK_STREAM);
    echo_once(fd, "hello");
    int64_t t0 = now_ms();
    ck_assert_int_eq(kill(p.pid, SIGINT), 0);
    char byte;
    ck_assert_int_eq(read(fd, &byte, 1), 0); /* closed by the deadline */
    ck_assert_int_ge(now_ms() - t0, 300);
    close(fd);
    int status = wait_exit(&p);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d: %s", status, p.text);
    ck_assert_ptr_nonnull(strstr(p.text, "Deadline: closed 1\n"));
    ck_assert_ptr_nonnull(strstr(p.text, "Done\n"));
}
END_TEST

/* Framing examples (issue 12). */

static void send_bytes(int fd, const void *buf, size_t len)
{
    ck_assert_int_eq(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Read one frame (blocking, bounded by SO_RCVTIMEO) into buf; returns its length. */
static uint32_t read_frame(int fd, char *buf, size_t size)
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
    static struct proc p;
    cmio_sockaddr addr;
    start_server(&p, "CMIO_EXAMPLE_FRAME_ECHO", &addr);
    int a = dial(&addr, SOCK_STREAM), b = dial(&addr, SOCK_STREAM);
    int one = 1;
    setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
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
    ck_assert_int_eq(read(b, got, sizeof(got)), 0);
    size_t n = frame_of(stream, "still here");
    send_bytes(a, stream, n);
    read_frame(a, got, sizeof(got));
    ck_assert_str_eq(got, "still here");
    close(a);
    close(b);
    stop(&p);
}
END_TEST

START_TEST(test_chat_server_broadcasts)
{
    static struct proc p;
    cmio_sockaddr addr;
    start_server(&p, "CMIO_EXAMPLE_CHAT_SERVER", &addr);
    char got[2048];
    int c1 = dial(&addr, SOCK_STREAM);
    ck_assert(read_until(&p, "client 1 joined"));
    int c2 = dial(&addr, SOCK_STREAM);
    ck_assert(read_until(&p, "client 2 joined"));
    read_frame(c1, got, sizeof(got));
    ck_assert_str_eq(got, "* 2 joined");
    int c3 = dial(&addr, SOCK_STREAM);
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
    close(c3);
    ck_assert(read_until(&p, "client 3 left"));
    read_frame(c1, got, sizeof(got));
    ck_assert_str_eq(got, "* 3 left");
    read_frame(c2, got, sizeof(got));
    ck_assert_str_eq(got, "* 3 left");
    close(c2);
    read_frame(c1, got, sizeof(got));
    ck_assert_str_eq(got, "* 2 left");
    close(c1);
    ck_assert(read_until(&p, "client 1 left"));
    stop(&p);
}
END_TEST

static Suite *examples_suite(void)
{
    Suite *s = suite_create("examples");
    TCase *tc = tcase_create("examples");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_readme_example_runs);
    tcase_add_test(tc, test_tcp_server_greets_and_prints);
    tcase_add_test(tc, test_udp_server_echoes_datagrams);
    tcase_add_test(tc, test_echo_server_echoes_a_large_stream);
    tcase_add_test(tc, test_load_client_against_echo_server);
    tcase_add_test(tc, test_graceful_shutdown_finishes_connections);
    tcase_add_test(tc, test_graceful_shutdown_deadline);
    tcase_add_test(tc, test_frame_echo_answers_split_frames);
    tcase_add_test(tc, test_chat_server_broadcasts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(examples_suite()); }
