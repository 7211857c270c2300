/*
 * Descriptor passing over Unix sockets (SCM_RIGHTS): pipe ends that work on
 * the other side and are close-on-exec there, several descriptors in one
 * message, more descriptors than room (closed, none leaked), datagrams
 * both ways, plain data, events and the poll(2) backend's re-arm, a closed
 * peer, and the documented errors.
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

enum { A = 1, B = 2, LISTENER = 3 };

/* How many descriptors the process has open (/proc/self/fd where there is
 * one, else a scan below FD_SETSIZE). */
static int count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d != NULL) {
        int n = 0;
        for (struct dirent *e; (e = readdir(d)) != NULL;)
            n += e->d_name[0] != '.';
        closedir(d);
        return n - 1; /* the directory's own descriptor */
    }
    fd_set set;
    fds_open(&set);
    int n = 0;
    for (int fd = 0; fd < FD_SETSIZE; fd++)
        n += FD_ISSET(fd, &set) ? 1 : 0;
    return n;
}

/* A plain pipe (blocking, not close-on-exec: so that the flags seen on the
 * received copies are theirs, not inherited from the sender's). */
static void plain_pipe(int p[2])
{
    ck_assert_int_eq(pipe(p), 0);
}

static bool cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    ck_assert_msg(fl >= 0, "descriptor %d is not open", fd);
    return (fl & FD_CLOEXEC) != 0;
}

/* The same open file: same device and inode. */
static bool same_file(int a, int b)
{
    struct stat sa, sb;
    ck_assert_int_eq(fstat(a, &sa), 0);
    ck_assert_int_eq(fstat(b, &sb), 0);
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* One byte through a pipe from write end w to read end r. */
static void assert_pipe_carries(int w, int r, char byte)
{
    ck_assert_int_eq(write(w, &byte, 1), 1);
    char got = 0;
    ck_assert_int_eq(read(r, &got, 1), 1);
    ck_assert_int_eq(got, byte);
}

/* A listener in the fixture's directory, a client and the accepted stream. */
static void connected(const char *name, cmio_unix_listener *l, cmio_unix_stream *c, cmio_unix_stream *s)
{
    char path[256];
    tmp_path(path, sizeof(path), name);
    ck_assert_int_eq(cmio_unix_listener_bind(l, path), 0);
    ck_assert_int_eq(cmio_unix_stream_connect(c, path), 0);
    int err = -EAGAIN;
    int64_t deadline = now_ms() + WAIT_MS;
    for (int k = 0; k < 1000 && err == -EAGAIN && now_ms() < deadline; k++)
        err = cmio_unix_listener_accept(l, s, NULL);
    ck_assert_int_eq(err, 0);
}

/* A pipe's two ends go over a stream (a socketpair on even iterations, a
 * connection through a listener in a temporary directory on odd ones): the
 * receiver is told by an event, its copies work, are close-on-exec, and are
 * independent of the sender's. */
START_TEST(test_stream_passes_pipe_ends)
{
    int backend = _i / 2;
    cmio_poll *p = open_poll(backend);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    seen_flags sn = {{0}};
    cmio_unix_stream a, b;
    cmio_unix_listener l = {-1};
    if (_i % 2 == 0)
        ck_assert_int_eq(cmio_unix_stream_pair(&a, &b), 0);
    else
        connected("stream", &l, &a, &b);
    ck_assert_int_eq(cmio_registry_register(r, b.fd, B, CMIO_READABLE), 0);

    int pp[2];
    plain_pipe(pp);
    ck_assert_int_eq(cmio_unix_stream_send_fds(&a, "P", 1, pp, 2), 1);
    ck_assert(wait_seen(p, ev, &sn, B, CMIO_EVENT_READABLE));
    char buf[16];
    int got[4] = {-1, -1, -1, -1};
    size_t n = 4;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&b, buf, sizeof(buf), got, &n), 1);
    ck_assert_int_eq(buf[0], 'P');
    ck_assert_uint_eq(n, 2);
    n = 4;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&b, buf, sizeof(buf), got + 2, &n), -EAGAIN);
    ck_assert_uint_eq(n, 0);

    /* New descriptors to the same pipe, close-on-exec; the sender's keep
     * their flags. */
    for (int k = 0; k < 2; k++) {
        ck_assert_int_ne(got[k], pp[0]);
        ck_assert_int_ne(got[k], pp[1]);
        ck_assert(same_file(got[k], pp[k]));
        ck_assert(cloexec(got[k]));
        ck_assert(!cloexec(pp[k]));
    }
    assert_pipe_carries(got[1], pp[0], 'x');
    assert_pipe_carries(pp[1], got[0], 'y');
    assert_pipe_carries(got[1], got[0], 'z');
    /* Independent: with the sender's copies closed the received ones work. */
    close(pp[0]);
    close(pp[1]);
    assert_pipe_carries(got[1], got[0], 'w');
    close(got[1]);
    ck_assert_int_eq(read(got[0], buf, 1), 0); /* every writer gone */
    close(got[0]);

    cmio_registry_deregister(r, b.fd);
    cmio_unix_stream_close(&a);
    cmio_unix_stream_close(&b);
    cmio_unix_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* Several descriptors in one message arrive in order, each its file. */
START_TEST(test_stream_several_fds_in_one_message)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    seen_flags sn = {{0}};
    cmio_unix_stream a, b;
    ck_assert_int_eq(cmio_unix_stream_pair(&a, &b), 0);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), b.fd, B, CMIO_READABLE), 0);
    int p1[2], p2[2], p3[2];
    plain_pipe(p1);
    plain_pipe(p2);
    plain_pipe(p3);
    int sent[5] = {p1[0], p2[1], p3[0], p1[1], p3[1]};
    ck_assert_int_eq(cmio_unix_stream_send_fds(&a, "five", 4, sent, 5), 4);
    ck_assert(wait_seen(p, ev, &sn, B, CMIO_EVENT_READABLE));
    int got[8];
    size_t n = 8;
    char buf[8];
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&b, buf, sizeof(buf), got, &n), 4);
    ck_assert_uint_eq(n, 5);
    for (int k = 0; k < 5; k++) {
        ck_assert(same_file(got[k], sent[k]));
        ck_assert(cloexec(got[k]));
    }
    assert_pipe_carries(got[3], got[0], 'a'); /* p1 */
    assert_pipe_carries(got[1], p2[0], 'b');  /* p2 */
    assert_pipe_carries(got[4], got[2], 'c'); /* p3 */
    for (int k = 0; k < 5; k++) {
        close(got[k]);
        close(sent[k]);
    }
    close(p2[0]);
    cmio_unix_stream_close(&a);
    cmio_unix_stream_close(&b);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* The most one message carries, CMIO_UNIX_MAX_FDS; one more is -EINVAL. */
START_TEST(test_stream_max_fds)
{
    cmio_unix_stream a, b;
    ck_assert_int_eq(cmio_unix_stream_pair(&a, &b), 0);
    int pp[2];
    plain_pipe(pp);
    static int sent[CMIO_UNIX_MAX_FDS + 1], got[CMIO_UNIX_MAX_FDS + 1];
    for (int k = 0; k < CMIO_UNIX_MAX_FDS + 1; k++)
        sent[k] = pp[k % 2];
    ck_assert_int_eq(cmio_unix_stream_send_fds(&a, "m", 1, sent, CMIO_UNIX_MAX_FDS + 1), -EINVAL);
    int before = count_open_fds();
    ck_assert_int_eq(cmio_unix_stream_send_fds(&a, "m", 1, sent, CMIO_UNIX_MAX_FDS), 1);
    size_t n = CMIO_UNIX_MAX_FDS + 1;
    char buf[4];
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&b, buf, sizeof(buf), got, &n), 1);
    ck_assert_uint_eq(n, CMIO_UNIX_MAX_FDS);
    ck_assert_int_eq(count_open_fds(), before + CMIO_UNIX_MAX_FDS);
    for (size_t k = 0; k < n; k++) {
        ck_assert(same_file(got[k], pp[k % 2]));
        close(got[k]);
    }
    ck_assert_int_eq(count_open_fds(), before);
    close(pp[0]);
    close(pp[1]);
    cmio_unix_stream_close(&a);
    cmio_unix_stream_close(&b);
}
END_TEST

/* More descriptors than room: -EMSGSIZE, every one that arrived closed (the
 * count of open descriptors is what it was), *nfds 0; the bytes of that
 * call are in buf and consumed, and the next call returns what follows.
 * The same with no room at all, fds NULL. */
START_TEST(test_stream_more_fds_than_room)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    seen_flags sn = {{0}};
    cmio_unix_stream a, b;
    ck_assert_int_eq(cmio_unix_stream_pair(&a, &b), 0);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), b.fd, B, CMIO_READABLE), 0);
    int pp[2];
    plain_pipe(pp);
    int sent[3] = {pp[0], pp[1], pp[0]};

    int before = count_open_fds();
    ck_assert_int_eq(cmio_unix_stream_send_fds(&a, "abc", 3, sent, 3), 3);
    ck_assert_int_eq(cmio_unix_stream_write(&a, "def", 3), 3);
    ck_assert(wait_seen(p, ev, &sn, B, CMIO_EVENT_READABLE));
    char buf[16] = {0};
    int got[2] = {-1, -1};
    size_t n = 2;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&b, buf, sizeof(buf), got, &n), -EMSGSIZE);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(count_open_fds(), before);
    ck_assert_int_eq(memcmp(buf, "abc", 3), 0); /* received, and gone from the socket */
    n = 2;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&b, buf, sizeof(buf), got, &n), 3);
    ck_assert_int_eq(memcmp(buf, "def", 3), 0);
    ck_assert_uint_eq(n, 0);

    /* No room at all. */
    ck_assert_int_eq(cmio_unix_stream_send_fds(&a, "g", 1, sent, 1), 1);
    n = 0;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&b, buf, sizeof(buf), NULL, &n), -EMSGSIZE);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(buf[0], 'g');
    ck_assert_int_eq(count_open_fds(), before);
    n = 0;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&b, buf, sizeof(buf), NULL, &n), -EAGAIN);

    /* The pipe is still the sender's alone: closing its copies ends it. */
    close(pp[1]);
    ck_assert_int_eq(read(pp[0], buf, 1), 0);
    close(pp[0]);
    cmio_unix_stream_close(&a);
    cmio_unix_stream_close(&b);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* The descriptors of two sends never arrive in one call (Linux stops a
 * stream read at a message that carried descriptors), and bytes written
 * plainly before a send may come in the call that brings its descriptors. */
START_TEST(test_stream_two_sends_two_calls)
{
#ifdef __linux__
    cmio_unix_stream a, b;
    ck_assert_int_eq(cmio_unix_stream_pair(&a, &b), 0);
    int pp[2];
    plain_pipe(pp);
    ck_assert_int_eq(cmio_unix_stream_send_fds(&a, "one", 3, &pp[0], 1), 3);
    ck_assert_int_eq(cmio_unix_stream_send_fds(&a, "two", 3, &pp[1], 1), 3);
    char buf[16];
    int got[4];
    size_t n = 4;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&b, buf, sizeof(buf), got, &n), 3);
    ck_assert_int_eq(memcmp(buf, "one", 3), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert(same_file(got[0], pp[0]));
    n = 4;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&b, buf, sizeof(buf), got + 1, &n), 3);
    ck_assert_int_eq(memcmp(buf, "two", 3), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert(same_file(got[1], pp[1]));
    close(got[0]);
    close(got[1]);
    close(pp[0]);
    close(pp[1]);
    cmio_unix_stream_close(&a);
    cmio_unix_stream_close(&b);
#endif
}
END_TEST

/* Bytes written without descriptors: recv_fds gets them with *nfds 0. */
START_TEST(test_stream_plain_data_has_no_fds)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    seen_flags sn = {{0}};
    cmio_unix_stream a, b;
    ck_assert_int_eq(cmio_unix_stream_pair(&a, &b), 0);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), b.fd, B, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_unix_stream_write(&a, "plain", 5), 5);
    ck_assert_int_eq(cmio_unix_stream_send_fds(&a, "!", 1, NULL, 0), 1); /* nfds 0: a plain write */
    ck_assert(wait_seen(p, ev, &sn, B, CMIO_EVENT_READABLE));
    char buf[16];
    int got[4] = {-1, -1, -1, -1};
    size_t n = 4;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&b, buf, sizeof(buf), got, &n), 6);
    ck_assert_int_eq(memcmp(buf, "plain!", 6), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(got[0], -1);
    cmio_unix_stream_close(&a);
    cmio_unix_stream_close(&b);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* Credentials next to the descriptors (SO_PASSCRED): two control messages
 * in one, and the rights are found among them; a sender's two SCM_RIGHTS
 * messages in one sendmsg all arrive. */
START_TEST(test_stream_rights_among_other_control_messages)
{
    cmio_unix_stream a, b;
    ck_assert_int_eq(cmio_unix_stream_pair(&a, &b), 0);
#ifdef SO_PASSCRED
    int one = 1;
    ck_assert_int_eq(setsockopt(b.fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
#endif
    int pp[2];
    plain_pipe(pp);
    /* Raw sendmsg with two SCM_RIGHTS messages: {pp[0]} then {pp[1], pp[0]}. */
    union {
        struct cmsghdr align;
        unsigned char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(2 * sizeof(int))];
    } control;
    memset(&control, 0, sizeof(control));
    struct iovec iov = {.iov_base = "r", .iov_len = 1};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &pp[0], sizeof(int));
    c = CMSG_NXTHDR(&msg, c);
    ck_assert_ptr_nonnull(c);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(2 * sizeof(int));
    int two[2] = {pp[1], pp[0]};
    memcpy(CMSG_DATA(c), two, sizeof(two));
    ck_assert_int_eq(sendmsg(a.fd, &msg, MSG_NOSIGNAL), 1);

    int got[4];
    size_t n = 4;
    char buf[4];
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&b, buf, sizeof(buf), got, &n), 1);
    ck_assert_uint_eq(n, 3);
    ck_assert(same_file(got[0], pp[0]));
    ck_assert(same_file(got[1], pp[1]));
    ck_assert(same_file(got[2], pp[0]));
    for (int k = 0; k < 3; k++) {
        ck_assert(cloexec(got[k]));
        close(got[k]);
    }
    /* And with room for two of the three: all closed. */
    int before = count_open_fds();
    ck_assert_int_eq(sendmsg(a.fd, &msg, MSG_NOSIGNAL), 1);
    n = 2;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&b, buf, sizeof(buf), got, &n), -EMSGSIZE);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(count_open_fds(), before);
    close(pp[0]);
    close(pp[1]);
    cmio_unix_stream_close(&a);
    cmio_unix_stream_close(&b);
}
END_TEST

/* Datagrams both ways, on a pair (even iterations) and on sockets bound in
 * a temporary directory and connected to each other (odd ones); an empty
 * datagram may carry descriptors; too many for the room: -EMSGSIZE, none
 * leaked, the datagram consumed. */
START_TEST(test_datagram_both_ways)
{
    int backend = _i / 2;
    cmio_poll *p = open_poll(backend);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    seen_flags sn = {{0}};
    cmio_unix_datagram a, b;
    if (_i % 2 == 0) {
        ck_assert_int_eq(cmio_unix_datagram_pair(&a, &b), 0);
    } else {
        char pa[256], pb[256];
        tmp_path(pa, sizeof(pa), "a");
        tmp_path(pb, sizeof(pb), "b");
        ck_assert_int_eq(cmio_unix_datagram_bind(&a, pa), 0);
        ck_assert_int_eq(cmio_unix_datagram_bind(&b, pb), 0);
        ck_assert_int_eq(cmio_unix_datagram_connect(&a, pb), 0);
        ck_assert_int_eq(cmio_unix_datagram_connect(&b, pa), 0);
    }
    ck_assert_int_eq(cmio_registry_register(r, a.fd, A, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_register(r, b.fd, B, CMIO_READABLE), 0);
    int pp[2];
    plain_pipe(pp);

    ck_assert_int_eq(cmio_unix_datagram_send_fds(&a, "to b", 4, &pp[1], 1), 4);
    ck_assert(wait_seen(p, ev, &sn, B, CMIO_EVENT_READABLE));
    char buf[16];
    int got[4];
    size_t n = 4;
    ck_assert_int_eq(cmio_unix_datagram_recv_fds(&b, buf, sizeof(buf), got, &n), 4);
    ck_assert_int_eq(memcmp(buf, "to b", 4), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert(cloexec(got[0]));
    int bw = got[0]; /* b's copy of the write end */
    n = 4;
    ck_assert_int_eq(cmio_unix_datagram_recv_fds(&b, buf, sizeof(buf), got, &n), -EAGAIN); /* the edge rule */

    ck_assert_int_eq(cmio_unix_datagram_send_fds(&b, NULL, 0, &pp[0], 1), 0); /* empty, with a descriptor */
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_READABLE));
    n = 4;
    ck_assert_int_eq(cmio_unix_datagram_recv_fds(&a, buf, sizeof(buf), got, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert(cloexec(got[0]));
    int ar = got[0]; /* a's copy of the read end */
    assert_pipe_carries(bw, ar, 'd');
    n = 4;
    ck_assert_int_eq(cmio_unix_datagram_recv_fds(&a, buf, sizeof(buf), got, &n), -EAGAIN);
    ck_assert_uint_eq(n, 0);

    int before = count_open_fds();
    int three[3] = {pp[0], pp[1], pp[0]};
    ck_assert_int_eq(cmio_unix_datagram_send_fds(&a, "big", 3, three, 3), 3);
    ck_assert_int_eq(cmio_unix_datagram_send_fds(&a, "next", 4, NULL, 0), 4);
    ck_assert(wait_seen(p, ev, &sn, B, CMIO_EVENT_READABLE));
    n = 1;
    ck_assert_int_eq(cmio_unix_datagram_recv_fds(&b, buf, sizeof(buf), got, &n), -EMSGSIZE);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(memcmp(buf, "big", 3), 0);
    ck_assert_int_eq(count_open_fds(), before);
    n = 1;
    ck_assert_int_eq(cmio_unix_datagram_recv_fds(&b, buf, sizeof(buf), got, &n), 4);
    ck_assert_int_eq(memcmp(buf, "next", 4), 0);
    ck_assert_uint_eq(n, 0);

    close(bw);
    close(ar);
    close(pp[0]);
    close(pp[1]);
    cmio_registry_deregister(r, a.fd);
    cmio_registry_deregister(r, b.fd);
    cmio_unix_datagram_close(&a);
    cmio_unix_datagram_close(&b);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* The edge rule: after recv_fds returned -EAGAIN, new data (with
 * descriptors) gives a new event, on the poll(2) backend because that
 * -EAGAIN re-armed reading; and nothing more is reported while nothing new
 * comes. The same for a send that met a full buffer. */
START_TEST(test_event_after_eagain_rearm)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    seen_flags sn = {{0}};
    cmio_unix_stream a, b;
    ck_assert_int_eq(cmio_unix_stream_pair(&a, &b), 0);
    ck_assert_int_eq(cmio_registry_register(r, b.fd, B, CMIO_READABLE), 0);
    int pp[2];
    plain_pipe(pp);
    char buf[64];
    int got[4];
    for (int round = 0; round < 3; round++) {
        ck_assert_int_eq(cmio_unix_stream_send_fds(&a, "e", 1, pp, 2), 1);
        ck_assert_msg(wait_seen(p, ev, &sn, B, CMIO_EVENT_READABLE), "no event in round %d", round);
        size_t n = 4;
        ck_assert_int_eq(cmio_unix_stream_recv_fds(&b, buf, sizeof(buf), got, &n), 1);
        ck_assert_uint_eq(n, 2);
        close(got[0]);
        close(got[1]);
        n = 4;
        ck_assert_int_eq(cmio_unix_stream_recv_fds(&b, buf, sizeof(buf), got, &n), -EAGAIN);
        ck_assert_int_eq(count_events(p, ev, B, QUIET_MS), 0);
    }

    /* Writing: fill a's buffer with send_fds until -EAGAIN, drain b, and a
     * writable event is owed. */
    ck_assert_int_eq(cmio_registry_register(r, a.fd, A, CMIO_WRITABLE), 0);
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_WRITABLE));
    static char block[4096];
    ssize_t w = 0;
    for (int k = 0; k < 100000 && (w = cmio_unix_stream_send_fds(&a, block, sizeof(block), NULL, 0)) > 0; k++)
        ;
    ck_assert_int_eq(w, -EAGAIN);
    ck_assert_int_eq(cmio_unix_stream_send_fds(&a, "x", 1, pp, 1), -EAGAIN);
    sn.flags[A] = 0;
    for (int k = 0; k < 100000; k++) {
        size_t n = 4;
        ssize_t got_n = cmio_unix_stream_recv_fds(&b, block, sizeof(block), got, &n);
        if (got_n == -EAGAIN)
            break;
        ck_assert_int_gt(got_n, 0);
        ck_assert_uint_eq(n, 0);
    }
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_WRITABLE));

    close(pp[0]);
    close(pp[1]);
    cmio_unix_stream_close(&a);
    cmio_unix_stream_close(&b);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* A peer that closed: read-closed event, recv_fds 0 with *nfds 0, send_fds
 * -EPIPE and no SIGPIPE (deadly here). */
START_TEST(test_peer_closed)
{
    sigpipe_deadly();
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    seen_flags sn = {{0}};
    cmio_unix_stream a, b;
    ck_assert_int_eq(cmio_unix_stream_pair(&a, &b), 0);
    ck_assert_int_eq(cmio_registry_register(cmio_poll_registry(p), b.fd, B, CMIO_READABLE), 0);
    cmio_unix_stream_close(&a);
    ck_assert(wait_seen(p, ev, &sn, B, CMIO_EVENT_READ_CLOSED));
    char buf[8];
    int got[2] = {-1, -1};
    size_t n = 2;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&b, buf, sizeof(buf), got, &n), 0);
    ck_assert_uint_eq(n, 0);
    int pp[2];
    plain_pipe(pp);
    int before = count_open_fds();
    ck_assert_int_eq(cmio_unix_stream_send_fds(&b, "x", 1, pp, 2), -EPIPE);
    ck_assert_int_eq(count_open_fds(), before);
    close(pp[0]);
    close(pp[1]);
    cmio_unix_stream_close(&b);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_invalid_arguments)
{
    cmio_unix_stream a, b, closed = {-1};
    ck_assert_int_eq(cmio_unix_stream_pair(&a, &b), 0);
    cmio_unix_datagram da, db, dclosed = {-1}, unconnected;
    ck_assert_int_eq(cmio_unix_datagram_pair(&da, &db), 0);
    ck_assert_int_eq(cmio_unix_datagram_unbound(&unconnected), 0);
    int pp[2];
    plain_pipe(pp);
    char buf[8];
    int got[2];
    size_t n;
    static int many[CMIO_UNIX_MAX_FDS + 1];

    ck_assert_int_eq(cmio_unix_stream_send_fds(NULL, "x", 1, pp, 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_send_fds(&closed, "x", 1, pp, 1), -EBADF);
    ck_assert_int_eq(cmio_unix_stream_send_fds(&a, NULL, 1, pp, 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_send_fds(&a, "x", 1, NULL, 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_stream_send_fds(&a, "x", 0, pp, 1), -EINVAL); /* no byte to carry them */
    ck_assert_int_eq(cmio_unix_stream_send_fds(&a, "x", 1, many, CMIO_UNIX_MAX_FDS + 1), -EINVAL);
    int bad[2] = {pp[0], -1};
    ck_assert_int_eq(cmio_unix_stream_send_fds(&a, "x", 1, bad, 2), -EBADF);
    ck_assert_int_eq(cmio_unix_stream_send_fds(&a, NULL, 0, NULL, 0), 0); /* nothing at all */

    n = 2;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(NULL, buf, sizeof(buf), got, &n), -EINVAL);
    ck_assert_uint_eq(n, 0);
    n = 2;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&closed, buf, sizeof(buf), got, &n), -EBADF);
    ck_assert_uint_eq(n, 0);
    n = 2;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&b, buf, 0, got, &n), -EINVAL);
    ck_assert_uint_eq(n, 0);
    n = 2;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&b, NULL, 4, got, &n), -EINVAL);
    ck_assert_uint_eq(n, 0);
    n = 2;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&b, buf, sizeof(buf), NULL, &n), -EINVAL);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&b, buf, sizeof(buf), got, NULL), -EINVAL);
    n = 2;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&b, buf, sizeof(buf), got, &n),
                     -EAGAIN); /* nothing was sent */
    ck_assert_uint_eq(n, 0);

    ck_assert_int_eq(cmio_unix_datagram_send_fds(NULL, "x", 1, pp, 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_send_fds(&dclosed, "x", 1, pp, 1), -EBADF);
    ck_assert_int_eq(cmio_unix_datagram_send_fds(&da, NULL, 1, pp, 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_send_fds(&da, "x", 1, NULL, 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_send_fds(&da, "x", 1, many, CMIO_UNIX_MAX_FDS + 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_send_fds(&da, "x", 1, bad, 2), -EBADF);
    ck_assert_int_eq(cmio_unix_datagram_send_fds(&unconnected, "x", 1, pp, 1), -ENOTCONN);
    n = 2;
    ck_assert_int_eq(cmio_unix_datagram_recv_fds(NULL, buf, sizeof(buf), got, &n), -EINVAL);
    ck_assert_uint_eq(n, 0);
    n = 2;
    ck_assert_int_eq(cmio_unix_datagram_recv_fds(&dclosed, buf, sizeof(buf), got, &n), -EBADF);
    ck_assert_uint_eq(n, 0);
    n = 2;
    ck_assert_int_eq(cmio_unix_datagram_recv_fds(&db, NULL, 4, got, &n), -EINVAL);
    ck_assert_uint_eq(n, 0);
    n = 2;
    ck_assert_int_eq(cmio_unix_datagram_recv_fds(&db, buf, sizeof(buf), NULL, &n), -EINVAL);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(cmio_unix_datagram_recv_fds(&db, buf, sizeof(buf), got, NULL), -EINVAL);
    n = 2;
    ck_assert_int_eq(cmio_unix_datagram_recv_fds(&db, buf, sizeof(buf), got, &n), -EAGAIN);
    ck_assert_uint_eq(n, 0);

    /* Not a socket at all. */
    cmio_unix_stream notsock = {pp[0]};
    ck_assert_int_eq(cmio_unix_stream_send_fds(&notsock, "x", 1, pp, 1), -ENOTSOCK);
    n = 2;
    ck_assert_int_eq(cmio_unix_stream_recv_fds(&notsock, buf, sizeof(buf), got, &n), -ENOTSOCK);

    close(pp[0]);
    close(pp[1]);
    cmio_unix_stream_close(&a);
    cmio_unix_stream_close(&b);
    cmio_unix_datagram_close(&da);
    cmio_unix_datagram_close(&db);
    cmio_unix_datagram_close(&unconnected);
}
END_TEST

static Suite *fd_passing_suite(void)
{
    Suite *s = suite_create("fd_passing");
    TCase *events = tcase_create("events");
    tcase_add_checked_fixture(events, tmp_open, tmp_close);
    tcase_set_timeout(events, 60);
    /* Two iterations per backend: a socketpair, then sockets with paths. */
    tcase_add_loop_test(events, test_stream_passes_pipe_ends, 0, 2 * n_backends());
    tcase_add_loop_test(events, test_datagram_both_ways, 0, 2 * n_backends());
    add_backend_test(events, test_stream_several_fds_in_one_message);
    add_backend_test(events, test_stream_more_fds_than_room);
    add_backend_test(events, test_stream_plain_data_has_no_fds);
    add_backend_test(events, test_event_after_eagain_rearm);
    add_backend_test(events, test_peer_closed);
    suite_add_tcase(s, events);

    TCase *calls = tcase_create("calls");
    tcase_set_timeout(calls, 30);
    tcase_add_test(calls, test_stream_max_fds);
    tcase_add_test(calls, test_stream_two_sends_two_calls);
    tcase_add_test(calls, test_stream_rights_among_other_control_messages);
    tcase_add_test(calls, test_invalid_arguments);
    suite_add_tcase(s, calls);
    return s;
}

int main(void)
{
    return run_suite(fd_passing_suite());
}
