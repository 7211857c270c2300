/*
 * cmio_unix_datagram: bound, unbound, connected and paired datagram
 * sockets, sender addresses, shutdown, and the documented errors (mio's
 * tests/unix_datagram.rs, ported).
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { A = 1, B = 2, C = 3 };

static const char DATA1[] = "Hello same host!"; /* 16 bytes */
static const char DATA2[] = "Why hello mio!";   /* 14 bytes */
#define DATA1_LEN (sizeof(DATA1) - 1)
#define DATA2_LEN (sizeof(DATA2) - 1)

START_TEST(test_bind_send_to_recv_from_with_sender_address)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    seen_flags sn = {{0}};
    char path_a[256], path_b[256];
    tmp_path(path_a, sizeof(path_a), "a");
    tmp_path(path_b, sizeof(path_b), "b");
    cmio_unix_datagram a, b;
    ck_assert_int_eq(cmio_unix_datagram_bind(&a, path_a), 0);
    ck_assert_int_eq(cmio_unix_datagram_bind(&b, path_b), 0);
    assert_nonblock_cloexec(a.fd);
    assert_nonblock_cloexec(b.fd);
    cmio_sockaddr addr;
    ck_assert_int_eq(cmio_unix_datagram_local_addr(&a, &addr), 0);
    assert_addr_text(&addr, path_a);
    ck_assert_int_eq(cmio_unix_datagram_peer_addr(&a, &addr), -ENOTCONN);

    ck_assert_int_eq(cmio_registry_register(r, a.fd, A, CMIO_READABLE | CMIO_WRITABLE), 0);
    ck_assert_int_eq(cmio_registry_register(r, b.fd, B, CMIO_READABLE | CMIO_WRITABLE), 0);
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_WRITABLE));
    ck_assert(wait_seen(p, ev, &sn, B, CMIO_EVENT_WRITABLE));

    char buf[64];
    ck_assert_int_eq(cmio_unix_datagram_recv_from(&a, buf, sizeof(buf), &addr), -EAGAIN);
    ck_assert_int_eq(cmio_unix_datagram_send_to(&a, DATA1, DATA1_LEN, path_b), (ssize_t)DATA1_LEN);
    ck_assert(wait_seen(p, ev, &sn, B, CMIO_EVENT_READABLE));
    ck_assert_int_eq(cmio_unix_datagram_recv_from(&b, buf, sizeof(buf), &addr), (ssize_t)DATA1_LEN);
    ck_assert_int_eq(memcmp(buf, DATA1, DATA1_LEN), 0);
    assert_addr_text(&addr, path_a);
    ck_assert_int_eq(cmio_unix_datagram_recv_from(&b, buf, sizeof(buf), NULL), -EAGAIN);

    /* Reply to the address the datagram came from. */
    ck_assert_int_eq(cmio_unix_datagram_send_to(&b, DATA2, DATA2_LEN, path_a), (ssize_t)DATA2_LEN);
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_READABLE));
    ck_assert_int_eq(cmio_unix_datagram_recv_from(&a, buf, sizeof(buf), NULL), (ssize_t)DATA2_LEN);
    ck_assert_int_eq(memcmp(buf, DATA2, DATA2_LEN), 0);
    ck_assert_int_eq(cmio_unix_datagram_take_error(&a), 0);
    ck_assert_int_eq(cmio_unix_datagram_take_error(&b), 0);

    ck_assert_int_eq(cmio_registry_deregister(r, a.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, b.fd), 0);
    cmio_unix_datagram_close(&a);
    cmio_unix_datagram_close(&b);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_connected_send_recv)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    seen_flags sn = {{0}};
    char path_a[256], path_b[256];
    tmp_path(path_a, sizeof(path_a), "a");
    tmp_path(path_b, sizeof(path_b), "b");
    cmio_unix_datagram a, b;
    ck_assert_int_eq(cmio_unix_datagram_bind(&a, path_a), 0);
    ck_assert_int_eq(cmio_unix_datagram_bind(&b, path_b), 0);
    ck_assert_int_eq(cmio_unix_datagram_connect(&a, path_b), 0);
    ck_assert_int_eq(cmio_unix_datagram_connect(&b, path_a), 0);
    cmio_sockaddr addr;
    ck_assert_int_eq(cmio_unix_datagram_peer_addr(&a, &addr), 0);
    assert_addr_text(&addr, path_b);
    ck_assert_int_eq(cmio_unix_datagram_peer_addr(&b, &addr), 0);
    assert_addr_text(&addr, path_a);

    ck_assert_int_eq(cmio_registry_register(r, a.fd, A, CMIO_READABLE | CMIO_WRITABLE), 0);
    ck_assert_int_eq(cmio_registry_register(r, b.fd, B, CMIO_READABLE | CMIO_WRITABLE), 0);
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_WRITABLE));
    ck_assert(wait_seen(p, ev, &sn, B, CMIO_EVENT_WRITABLE));

    char buf[64];
    ck_assert_int_eq(cmio_unix_datagram_recv(&a, buf, sizeof(buf)), -EAGAIN);
    ck_assert_int_eq(cmio_unix_datagram_send(&a, DATA1, DATA1_LEN), (ssize_t)DATA1_LEN);
    ck_assert_int_eq(cmio_unix_datagram_send(&a, DATA2, DATA2_LEN), (ssize_t)DATA2_LEN);
    ck_assert(wait_seen(p, ev, &sn, B, CMIO_EVENT_READABLE));
    /* Datagram boundaries hold. */
    ck_assert_int_eq(cmio_unix_datagram_recv(&b, buf, sizeof(buf)), (ssize_t)DATA1_LEN);
    ck_assert_int_eq(memcmp(buf, DATA1, DATA1_LEN), 0);
    ck_assert_int_eq(cmio_unix_datagram_recv(&b, buf, sizeof(buf)), (ssize_t)DATA2_LEN);
    ck_assert_int_eq(memcmp(buf, DATA2, DATA2_LEN), 0);
    ck_assert_int_eq(cmio_unix_datagram_recv(&b, buf, sizeof(buf)), -EAGAIN);

    ck_assert_int_eq(cmio_unix_datagram_send(&b, DATA2, DATA2_LEN), (ssize_t)DATA2_LEN);
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_READABLE));
    ck_assert_int_eq(cmio_unix_datagram_recv_from(&a, buf, sizeof(buf), &addr), (ssize_t)DATA2_LEN);
    assert_addr_text(&addr, path_b);

    ck_assert_int_eq(cmio_registry_deregister(r, a.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, b.fd), 0);
    cmio_unix_datagram_close(&a);
    cmio_unix_datagram_close(&b);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_connected_socket_refuses_other_senders)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    char path_a[256], path_b[256];
    tmp_path(path_a, sizeof(path_a), "a");
    tmp_path(path_b, sizeof(path_b), "b");
    cmio_unix_datagram a, b, other;
    ck_assert_int_eq(cmio_unix_datagram_bind(&a, path_a), 0);
    ck_assert_int_eq(cmio_unix_datagram_bind(&b, path_b), 0);
    ck_assert_int_eq(cmio_unix_datagram_connect(&b, path_a), 0);
    ck_assert_int_eq(cmio_unix_datagram_unbound(&other), 0);
    ck_assert_int_eq(cmio_unix_datagram_send_to(&other, DATA1, DATA1_LEN, path_b), -EPERM);
    ck_assert_int_eq(cmio_unix_datagram_send_to(&a, DATA1, DATA1_LEN, path_b), (ssize_t)DATA1_LEN);
    char buf[64];
    ck_assert_int_eq(cmio_unix_datagram_recv(&b, buf, sizeof(buf)), (ssize_t)DATA1_LEN);
    cmio_unix_datagram_close(&a);
    cmio_unix_datagram_close(&b);
    cmio_unix_datagram_close(&other);
}
END_TEST

START_TEST(test_unbound_sender)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    char path[256];
    tmp_path(path, sizeof(path), "receiver");
    cmio_unix_datagram rx, tx;
    ck_assert_int_eq(cmio_unix_datagram_bind(&rx, path), 0);
    ck_assert_int_eq(cmio_unix_datagram_unbound(&tx), 0);
    assert_nonblock_cloexec(tx.fd);
    cmio_sockaddr addr;
    ck_assert_int_eq(cmio_unix_datagram_local_addr(&tx, &addr), 0);
    assert_addr_text(&addr, "");
    /* Not connected: send has no destination. */
    ck_assert_int_eq(cmio_unix_datagram_send(&tx, DATA1, DATA1_LEN), -ENOTCONN);

    ck_assert_int_eq(cmio_unix_datagram_send_to(&tx, DATA1, DATA1_LEN, path), (ssize_t)DATA1_LEN);
    char buf[64];
    ck_assert_int_eq(cmio_unix_datagram_recv_from(&rx, buf, sizeof(buf), &addr), (ssize_t)DATA1_LEN);
    ck_assert_int_eq(memcmp(buf, DATA1, DATA1_LEN), 0);
    assert_addr_text(&addr, ""); /* the sender is unnamed */

    /* Connected, it can send without an address. */
    ck_assert_int_eq(cmio_unix_datagram_connect(&tx, path), 0);
    ck_assert_int_eq(cmio_unix_datagram_send(&tx, DATA2, DATA2_LEN), (ssize_t)DATA2_LEN);
    ck_assert_int_eq(cmio_unix_datagram_recv(&rx, buf, sizeof(buf)), (ssize_t)DATA2_LEN);
    ck_assert_int_eq(memcmp(buf, DATA2, DATA2_LEN), 0);
    cmio_unix_datagram_close(&tx);
    cmio_unix_datagram_close(&rx);
}
END_TEST

START_TEST(test_pair_send_recv)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    seen_flags sn = {{0}};
    cmio_unix_datagram a, b;
    ck_assert_int_eq(cmio_unix_datagram_pair(&a, &b), 0);
    assert_nonblock_cloexec(a.fd);
    assert_nonblock_cloexec(b.fd);
    ck_assert_int_eq(cmio_registry_register(r, a.fd, A, CMIO_READABLE | CMIO_WRITABLE), 0);
    ck_assert_int_eq(cmio_registry_register(r, b.fd, B, CMIO_READABLE | CMIO_WRITABLE), 0);
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_WRITABLE));
    ck_assert(wait_seen(p, ev, &sn, B, CMIO_EVENT_WRITABLE));

    char buf[64];
    ck_assert_int_eq(cmio_unix_datagram_recv(&a, buf, sizeof(buf)), -EAGAIN);
    ck_assert_int_eq(cmio_unix_datagram_send(&a, DATA1, DATA1_LEN), (ssize_t)DATA1_LEN);
    ck_assert(wait_seen(p, ev, &sn, B, CMIO_EVENT_READABLE));
    ck_assert_int_eq(cmio_unix_datagram_recv(&b, buf, sizeof(buf)), (ssize_t)DATA1_LEN);
    ck_assert_int_eq(memcmp(buf, DATA1, DATA1_LEN), 0);
    ck_assert_int_eq(cmio_unix_datagram_recv(&b, buf, sizeof(buf)), -EAGAIN);

    ck_assert_int_eq(cmio_unix_datagram_send(&b, DATA2, DATA2_LEN), (ssize_t)DATA2_LEN);
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_READABLE));
    cmio_sockaddr addr;
    ck_assert_int_eq(cmio_unix_datagram_recv_from(&a, buf, sizeof(buf), &addr), (ssize_t)DATA2_LEN);
    ck_assert_int_eq(memcmp(buf, DATA2, DATA2_LEN), 0);
    assert_addr_text(&addr, "");
    ck_assert_int_eq(cmio_unix_datagram_peer_addr(&a, &addr), 0);
    assert_addr_text(&addr, "");

    ck_assert_int_eq(cmio_registry_deregister(r, a.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, b.fd), 0);
    cmio_unix_datagram_close(&a);
    cmio_unix_datagram_close(&b);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_recv_on_empty_queue_is_eagain)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    cmio_unix_datagram a, b;
    ck_assert_int_eq(cmio_unix_datagram_pair(&a, &b), 0);
    char buf[16];
    cmio_sockaddr from;
    ck_assert_int_eq(cmio_unix_datagram_recv(&a, buf, sizeof(buf)), -EAGAIN);
    ck_assert_int_eq(cmio_unix_datagram_recv_from(&a, buf, sizeof(buf), &from), -EAGAIN);
    ck_assert_int_eq(cmio_unix_datagram_recv_from(&a, buf, sizeof(buf), NULL), -EAGAIN);
    cmio_unix_datagram_close(&a);
    cmio_unix_datagram_close(&b);
}
END_TEST

START_TEST(test_recv_truncates_long_datagram)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    cmio_unix_datagram a, b;
    ck_assert_int_eq(cmio_unix_datagram_pair(&a, &b), 0);
    ck_assert_int_eq(cmio_unix_datagram_send(&a, DATA1, DATA1_LEN), (ssize_t)DATA1_LEN);
    ck_assert_int_eq(cmio_unix_datagram_send(&a, DATA2, DATA2_LEN), (ssize_t)DATA2_LEN);
    char buf[5];
    ck_assert_int_eq(cmio_unix_datagram_recv(&b, buf, sizeof(buf)), (ssize_t)sizeof(buf));
    ck_assert_int_eq(memcmp(buf, DATA1, sizeof(buf)), 0);
    /* The rest of the first datagram is gone; the next one is whole. */
    char big[64];
    ck_assert_int_eq(cmio_unix_datagram_recv(&b, big, sizeof(big)), (ssize_t)DATA2_LEN);
    ck_assert_int_eq(memcmp(big, DATA2, DATA2_LEN), 0);
    cmio_unix_datagram_close(&a);
    cmio_unix_datagram_close(&b);
}
END_TEST

START_TEST(test_shutdown)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    sigpipe_deadly();
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    seen_flags sn = {{0}};
    cmio_unix_datagram a, b;
    ck_assert_int_eq(cmio_unix_datagram_pair(&a, &b), 0);
    ck_assert_int_eq(cmio_registry_register(r, a.fd, A, CMIO_READABLE | CMIO_WRITABLE), 0);
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_WRITABLE));

    ck_assert_int_eq(cmio_unix_datagram_send(&b, DATA1, DATA1_LEN), (ssize_t)DATA1_LEN);
    ck_assert_int_eq(cmio_unix_datagram_shutdown(&a, CMIO_SHUTDOWN_READ), 0);
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_READ_CLOSED));

    ck_assert_int_eq(cmio_unix_datagram_shutdown(&a, CMIO_SHUTDOWN_WRITE), 0);
    ck_assert(wait_seen(p, ev, &sn, A, CMIO_EVENT_WRITE_CLOSED));
    ck_assert_int_eq(cmio_unix_datagram_send(&a, DATA2, DATA2_LEN), -EPIPE);
    ck_assert_int_eq(cmio_unix_datagram_shutdown(&a, CMIO_SHUTDOWN_BOTH), 0);

    ck_assert_int_eq(cmio_registry_deregister(r, a.fd), 0);
    cmio_unix_datagram_close(&a);
    cmio_unix_datagram_close(&b);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_abstract_names)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    seen_flags sn = {{0}};
    cmio_sockaddr addr_a, addr_b;
    char name_a[96], name_b[96], text_a[100], text_b[100];
    if (no_abstract_names()) {
        /* No abstract namespace, as the header documents. */
        cmio_events_free(ev);
        cmio_poll_free(p);
        return;
    }
    abstract_addr(&addr_a, name_a, sizeof(name_a));
    abstract_addr(&addr_b, name_b, sizeof(name_b));
    snprintf(text_a, sizeof(text_a), "@%s", name_a);
    snprintf(text_b, sizeof(text_b), "@%s", name_b);
    cmio_unix_datagram a, b;
    ck_assert_int_eq(cmio_unix_datagram_bind_addr(&a, &addr_a), 0);
    ck_assert_int_eq(cmio_unix_datagram_bind_addr(&b, &addr_b), 0);
    assert_nonblock_cloexec(b.fd);
    cmio_sockaddr addr;
    ck_assert_int_eq(cmio_unix_datagram_local_addr(&b, &addr), 0);
    assert_addr_text(&addr, text_b);
    cmio_unix_datagram again = {3};
    ck_assert_int_eq(cmio_unix_datagram_bind_addr(&again, &addr_b), -EADDRINUSE);
    ck_assert_int_eq(again.fd, -1);

    ck_assert_int_eq(cmio_registry_register(r, b.fd, B, CMIO_READABLE), 0);
    /* send_to takes paths; an abstract destination goes through sendto(2). */
    ck_assert_int_eq(sendto(a.fd, DATA1, DATA1_LEN, 0, &addr_b.u.sa, addr_b.len), (ssize_t)DATA1_LEN);
    ck_assert(wait_seen(p, ev, &sn, B, CMIO_EVENT_READABLE));
    char buf[64];
    ck_assert_int_eq(cmio_unix_datagram_recv_from(&b, buf, sizeof(buf), &addr), (ssize_t)DATA1_LEN);
    ck_assert_int_eq(memcmp(buf, DATA1, DATA1_LEN), 0);
    assert_addr_text(&addr, text_a);

    ck_assert_int_eq(cmio_registry_deregister(r, b.fd), 0);
    cmio_unix_datagram_close(&a);
    cmio_unix_datagram_close(&b);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(test_send_to_missing_or_closed_socket)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    char path[256];
    tmp_path(path, sizeof(path), "gone");
    cmio_unix_datagram tx, rx;
    ck_assert_int_eq(cmio_unix_datagram_unbound(&tx), 0);
    ck_assert_int_eq(cmio_unix_datagram_send_to(&tx, DATA1, DATA1_LEN, path), -ENOENT);
    ck_assert_int_eq(cmio_unix_datagram_connect(&tx, path), -ENOENT);
    ck_assert_int_eq(cmio_unix_datagram_bind(&rx, path), 0);
    ck_assert_int_eq(cmio_unix_datagram_connect(&tx, path), 0);
    cmio_unix_datagram_close(&rx); /* the file stays, nobody receives */
    ck_assert_int_eq(cmio_unix_datagram_send_to(&tx, DATA1, DATA1_LEN, path), -ECONNREFUSED);
    ck_assert_int_eq(cmio_unix_datagram_send(&tx, DATA1, DATA1_LEN), -ECONNREFUSED);
    cmio_unix_datagram_close(&tx);
}
END_TEST

START_TEST(test_bind_to_existing_path_is_eaddrinuse)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    char path[256];
    tmp_path(path, sizeof(path), "taken");
    cmio_unix_datagram a, again = {9};
    ck_assert_int_eq(cmio_unix_datagram_bind(&a, path), 0);
    ck_assert_int_eq(cmio_unix_datagram_bind(&again, path), -EADDRINUSE);
    ck_assert_int_eq(again.fd, -1);
    cmio_unix_datagram_close(&a);
    ck_assert_int_eq(cmio_unix_datagram_bind(&again, path), -EADDRINUSE);
    char missing[256];
    ck_assert_int_eq(cmio_unix_datagram_bind(&again, tmp_path(missing, sizeof(missing), "no/dir")), -ENOENT);
    ck_assert_int_eq(again.fd, -1);
}
END_TEST

START_TEST(test_from_fd_adopts_blocking_sockets)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    cmio_fd sv[2];
    std_unix_dgram_pair(sv);
    cmio_unix_datagram a, b;
    ck_assert_int_eq(cmio_unix_datagram_from_fd(&a, sv[0]), 0);
    ck_assert_int_eq(cmio_unix_datagram_from_fd(&b, sv[1]), 0);
    ck_assert_int_eq(a.fd, sv[0]);
    assert_nonblock_cloexec(a.fd);
    assert_nonblock_cloexec(b.fd);
    char buf[64];
    ck_assert_int_eq(cmio_unix_datagram_recv(&a, buf, sizeof(buf)), -EAGAIN);
    ck_assert_int_eq(cmio_unix_datagram_send(&b, DATA1, DATA1_LEN), (ssize_t)DATA1_LEN);
    ck_assert_int_eq(cmio_unix_datagram_recv(&a, buf, sizeof(buf)), (ssize_t)DATA1_LEN);
    cmio_unix_datagram_close(&a);
    cmio_unix_datagram_close(&b);
}
END_TEST

START_TEST(test_close_is_idempotent)
{
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    cmio_unix_datagram a;
    ck_assert_int_eq(cmio_unix_datagram_unbound(&a), 0);
    cmio_fd fd = a.fd;
    cmio_unix_datagram_close(&a);
    ck_assert_int_eq(a.fd, -1);
    ck_assert(!sock_is_open(fd));
    cmio_unix_datagram_close(&a);
    ck_assert_int_eq(a.fd, -1);
    cmio_unix_datagram_close(NULL);
    char buf[4];
    ck_assert_int_eq(cmio_unix_datagram_recv(&a, buf, sizeof(buf)), -EBADF);
}
END_TEST

START_TEST(test_invalid_arguments)
{
    cmio_unix_datagram s = {4}, closed = {-1};
    cmio_sockaddr a;
    char buf[8];
    ck_assert_int_eq(cmio_unix_datagram_bind(NULL, "/tmp/x"), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_bind(&s, NULL), -EINVAL);
    ck_assert_int_eq(s.fd, -1);
    char long_path[300];
    memset(long_path, 'x', sizeof(long_path) - 1);
    long_path[0] = '/';
    long_path[sizeof(long_path) - 1] = '\0';
    s.fd = 4;
    ck_assert_int_eq(cmio_unix_datagram_bind(&s, long_path), -ENAMETOOLONG);
    ck_assert_int_eq(s.fd, -1);
    ck_assert_int_eq(cmio_sockaddr_parse(&a, "127.0.0.1:0"), 0);
    s.fd = 4;
    ck_assert_int_eq(cmio_unix_datagram_bind_addr(&s, &a), -EINVAL);
    ck_assert_int_eq(s.fd, -1);
    ck_assert_int_eq(cmio_unix_datagram_bind_addr(&s, NULL), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_bind_addr(NULL, &a), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_unbound(NULL), -EINVAL);
    cmio_unix_datagram x = {6}, y = {7};
    ck_assert_int_eq(cmio_unix_datagram_pair(NULL, &y), -EINVAL);
    ck_assert_int_eq(y.fd, -1);
    ck_assert_int_eq(cmio_unix_datagram_pair(&x, NULL), -EINVAL);
    ck_assert_int_eq(x.fd, -1);
    ck_assert_int_eq(cmio_unix_datagram_pair(&x, &x), -EINVAL);

    ck_assert_int_eq(cmio_unix_datagram_connect(NULL, "/tmp/x"), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_connect(&closed, "/tmp/x"), -EBADF);
    ck_assert_int_eq(cmio_unix_datagram_send(NULL, buf, 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_send(&closed, buf, 1), -EBADF);
    ck_assert_int_eq(cmio_unix_datagram_send_to(&closed, buf, 1, "/tmp/x"), -EBADF);
    ck_assert_int_eq(cmio_unix_datagram_send_to(NULL, buf, 1, "/tmp/x"), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_recv(&closed, buf, 1), -EBADF);
    ck_assert_int_eq(cmio_unix_datagram_recv_from(&closed, buf, 1, &a), -EBADF);
    ck_assert_int_eq(cmio_unix_datagram_recv_from(NULL, buf, 1, &a), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_shutdown(&closed, CMIO_SHUTDOWN_READ), -EBADF);
    ck_assert_int_eq(cmio_unix_datagram_local_addr(&closed, &a), -EBADF);
    ck_assert_int_eq(cmio_unix_datagram_peer_addr(&closed, &a), -EBADF);
    ck_assert_int_eq(cmio_unix_datagram_take_error(&closed), -EBADF);
    ck_assert_int_eq(cmio_unix_datagram_take_error(NULL), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_from_fd(NULL, 0), -EINVAL);
    s.fd = 4;
    ck_assert_int_eq(cmio_unix_datagram_from_fd(&s, -1), -EBADF);
    ck_assert_int_eq(s.fd, -1);

    /* The calls below need a pair. */
    if (no_unix_datagrams())
        return; /* no AF_UNIX datagrams here: their -ENOTSUP answers were asserted */
    ck_assert_int_eq(cmio_unix_datagram_pair(&x, &y), 0);
    ck_assert_int_eq(cmio_unix_datagram_connect(&x, NULL), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_connect(&x, long_path), -ENAMETOOLONG);
    ck_assert_int_eq(cmio_unix_datagram_send_to(&x, buf, 1, NULL), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_send_to(&x, buf, 1, long_path), -ENAMETOOLONG);
    ck_assert_int_eq(cmio_unix_datagram_send_to(&x, NULL, 1, "/tmp/x"), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_send(&x, NULL, 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_recv(&x, NULL, 1), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_recv_from(&x, NULL, 1, &a), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_shutdown(&x, (cmio_shutdown)3), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_local_addr(&x, NULL), -EINVAL);
    ck_assert_int_eq(cmio_unix_datagram_peer_addr(&x, NULL), -EINVAL);
    cmio_unix_datagram_close(&x);
    cmio_unix_datagram_close(&y);
}
END_TEST

static Suite *unix_datagram_suite(void)
{
    Suite *s = suite_create("unix_datagram");
    TCase *events = tcase_create("events");
    tcase_add_checked_fixture(events, tmp_open, tmp_close);
    tcase_set_timeout(events, 30);
    add_backend_test(events, test_bind_send_to_recv_from_with_sender_address);
    add_backend_test(events, test_connected_send_recv);
    add_backend_test(events, test_pair_send_recv);
    add_backend_test(events, test_shutdown);
    add_backend_test(events, test_abstract_names);
    suite_add_tcase(s, events);

    TCase *calls = tcase_create("calls");
    tcase_add_checked_fixture(calls, tmp_open, tmp_close);
    tcase_set_timeout(calls, 30);
    tcase_add_test(calls, test_connected_socket_refuses_other_senders);
    tcase_add_test(calls, test_unbound_sender);
    tcase_add_test(calls, test_recv_on_empty_queue_is_eagain);
    tcase_add_test(calls, test_recv_truncates_long_datagram);
    tcase_add_test(calls, test_send_to_missing_or_closed_socket);
    tcase_add_test(calls, test_bind_to_existing_path_is_eaddrinuse);
    tcase_add_test(calls, test_from_fd_adopts_blocking_sockets);
    tcase_add_test(calls, test_close_is_idempotent);
    tcase_add_test(calls, test_invalid_arguments);
    suite_add_tcase(s, calls);
    return s;
}

int main(void)
{
    return run_suite(unix_datagram_suite());
}
