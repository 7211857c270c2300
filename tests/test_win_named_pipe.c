/*
 * cmio_named_pipe on Windows (issue 14): mio's tests/win_named_pipe.rs,
 * case by case (named after them), and what cmio adds: the closed flags
 * of a gone peer, a write longer than the write buffer going out over
 * several writable events, deregistering and freeing with I/O in flight,
 * the interest filter, reregistering, and every argument error. Each test
 * runs on every backend built in (iocp, on Windows).
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum { SERVER = 0, CLIENT = 1, CLIENT2 = 2 };

static const char *pipe_name(char *buf, size_t size) { return named_pipe_name(buf, size); }

static cmio_named_pipe *server(char *name, size_t size)
{
    cmio_named_pipe *p = NULL;
    ck_assert_int_eq(cmio_named_pipe_new(&p, pipe_name(name, size)), 0);
    ck_assert_ptr_nonnull(p);
    return p;
}

static cmio_named_pipe *client(const char *name)
{
    cmio_named_pipe *p = NULL;
    ck_assert_int_eq(cmio_named_pipe_open(&p, name), 0);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* mio's pipe(): a server and its client. */
static void pipe_pair(cmio_named_pipe **srv, cmio_named_pipe **cli)
{
    char name[128];
    *srv = server(name, sizeof(name));
    *cli = client(name);
}

#define RW (CMIO_READABLE | CMIO_WRITABLE)

/* A pipe pair, both ends registered with poll for both directions (the
 * server under SERVER, the client under CLIENT). */
static void registered_pair(cmio_poll *poll, cmio_named_pipe **srv, cmio_named_pipe **cli)
{
    pipe_pair(srv, cli);
    ck_assert_int_eq(cmio_named_pipe_register(*srv, cmio_poll_registry(poll), SERVER, RW), 0);
    ck_assert_int_eq(cmio_named_pipe_register(*cli, cmio_poll_registry(poll), CLIENT, RW), 0);
}

/* Read exactly len bytes from p, polling (bounded) between -EAGAINs. */
static void read_all(cmio_poll *poll, cmio_events *ev, cmio_named_pipe *p, unsigned char *out, size_t len,
                     size_t chunk)
{
    size_t got = 0;
    int64_t deadline = now_ms() + WAIT_MS;
    for (int round = 0; got < len && round < 100000; round++) {
        ck_assert_int_lt(now_ms(), deadline);
        size_t want = len - got < chunk ? len - got : chunk;
        ssize_t n = cmio_named_pipe_read(p, out + got, want);
        if (n == -EAGAIN) {
            ck_assert_int_ge(cmio_poll_poll(poll, ev, 100), 0);
            continue;
        }
        ck_assert_int_gt(n, 0);
        ck_assert_uint_le((size_t)n, want);
        got += (size_t)n;
    }
    ck_assert_uint_eq(got, len);
}

START_TEST(writable_after_register)
{
    cmio_poll *poll = open_poll(_i);
    cmio_events *ev = open_events(128);
    cmio_named_pipe *srv, *cli;
    pipe_pair(&srv, &cli);
    ck_assert_int_eq(cmio_named_pipe_register(srv, cmio_poll_registry(poll), SERVER, RW), 0);
    ck_assert_int_eq(cmio_named_pipe_register(cli, cmio_poll_registry(poll), CLIENT, CMIO_WRITABLE), 0);
    seen_flags seen = {{0}};
    ck_assert(wait_seen(poll, ev, &seen, SERVER, CMIO_EVENT_WRITABLE));
    ck_assert(wait_seen(poll, ev, &seen, CLIENT, CMIO_EVENT_WRITABLE));
    /* Edge-triggered: nothing more while nothing happens. */
    ck_assert_int_eq(count_events(poll, ev, SERVER, QUIET_MS), 0);
    cmio_named_pipe_free(cli);
    cmio_named_pipe_free(srv);
    cmio_events_free(ev);
    cmio_poll_free(poll);
}
END_TEST

START_TEST(write_then_read)
{
    cmio_poll *poll = open_poll(_i);
    cmio_events *ev = open_events(128);
    cmio_named_pipe *srv, *cli;
    registered_pair(poll, &srv, &cli);
    seen_flags seen = {{0}};
    ck_assert(wait_seen(poll, ev, &seen, CLIENT, CMIO_EVENT_WRITABLE));
    ck_assert_int_eq(cmio_named_pipe_write(cli, "1234", 4), 4);
    ck_assert(wait_seen(poll, ev, &seen, SERVER, CMIO_EVENT_READABLE));
    char buf[10];
    ck_assert_int_eq(cmio_named_pipe_read(srv, buf, sizeof(buf)), 4);
    ck_assert_mem_eq(buf, "1234", 4);
    /* Drained: the next read is in flight. */
    ck_assert_int_eq(cmio_named_pipe_read(srv, buf, sizeof(buf)), -EAGAIN);
    /* And the other way. */
    ck_assert(wait_seen(poll, ev, &seen, SERVER, CMIO_EVENT_WRITABLE));
    ck_assert_int_eq(cmio_named_pipe_write(srv, "abc", 3), 3);
    ck_assert(wait_seen(poll, ev, &seen, CLIENT, CMIO_EVENT_READABLE));
    ck_assert_int_eq(cmio_named_pipe_read(cli, buf, sizeof(buf)), 3);
    ck_assert_mem_eq(buf, "abc", 3);
    cmio_named_pipe_free(cli);
    cmio_named_pipe_free(srv);
    cmio_events_free(ev);
    cmio_poll_free(poll);
}
END_TEST

START_TEST(connect_before_client)
{
    cmio_poll *poll = open_poll(_i);
    cmio_events *ev = open_events(128);
    char name[128];
    cmio_named_pipe *srv = server(name, sizeof(name));
    ck_assert_int_eq(cmio_named_pipe_register(srv, cmio_poll_registry(poll), SERVER, RW), 0);
    ck_assert_int_eq(cmio_poll_poll(poll, ev, 0), 0);
    ck_assert_int_eq(cmio_named_pipe_connect(srv), -EAGAIN);
    /* One connect at a time. */
    ck_assert_int_eq(cmio_named_pipe_connect(srv), -EAGAIN);
    /* Not connected yet: reads and writes would block. */
    char buf[4];
    ck_assert_int_eq(cmio_named_pipe_read(srv, buf, sizeof(buf)), -EAGAIN);
    ck_assert_int_eq(cmio_named_pipe_write(srv, "x", 1), -EAGAIN);
    cmio_named_pipe *cli = client(name);
    ck_assert_int_eq(cmio_named_pipe_register(cli, cmio_poll_registry(poll), CLIENT, RW), 0);
    seen_flags seen = {{0}};
    ck_assert(wait_seen(poll, ev, &seen, SERVER, CMIO_EVENT_WRITABLE));
    ck_assert_int_eq(cmio_named_pipe_take_error(srv), 0);
    cmio_named_pipe_free(cli);
    cmio_named_pipe_free(srv);
    cmio_events_free(ev);
    cmio_poll_free(poll);
}
END_TEST

START_TEST(connect_after_client)
{
    cmio_poll *poll = open_poll(_i);
    cmio_events *ev = open_events(128);
    char name[128];
    cmio_named_pipe *srv = server(name, sizeof(name));
    ck_assert_int_eq(cmio_named_pipe_register(srv, cmio_poll_registry(poll), SERVER, RW), 0);
    ck_assert_int_eq(cmio_poll_poll(poll, ev, 0), 0);
    cmio_named_pipe *cli = client(name);
    ck_assert_int_eq(cmio_named_pipe_register(cli, cmio_poll_registry(poll), CLIENT, RW), 0);
    ck_assert_int_eq(cmio_named_pipe_connect(srv), 0);
    seen_flags seen = {{0}};
    ck_assert(wait_seen(poll, ev, &seen, SERVER, CMIO_EVENT_WRITABLE));
    cmio_named_pipe_free(cli);
    cmio_named_pipe_free(srv);
    cmio_events_free(ev);
    cmio_poll_free(poll);
}
END_TEST

/* The client gone: the server's event has both closed flags, its writes
 * end in -EPIPE (mio: ERROR_NO_DATA) within a few polls, its reads in 0. */
START_TEST(write_disconnected)
{
    cmio_poll *poll = open_poll(_i);
    cmio_events *ev = open_events(128);
    cmio_named_pipe *srv, *cli;
    registered_pair(poll, &srv, &cli);
    cmio_named_pipe_free(cli);
    seen_flags seen = {{0}};
    ck_assert(wait_seen(poll, ev, &seen, SERVER,
                        CMIO_EVENT_READABLE | CMIO_EVENT_READ_CLOSED | CMIO_EVENT_WRITE_CLOSED));
    int i = 0;
    for (;;) {
        ck_assert_int_lt(++i, 16);
        ssize_t n = cmio_named_pipe_write(srv, "", 1);
        if (n == -EPIPE)
            break;
        ck_assert(n == 1 || n == -EAGAIN);
        ck_assert_int_ge(cmio_poll_poll(poll, ev, WAIT_MS), 1);
    }
    char buf[4];
    ck_assert_int_eq(cmio_named_pipe_read(srv, buf, sizeof(buf)), 0);
    ck_assert_int_eq(cmio_named_pipe_read(srv, buf, sizeof(buf)), 0);
    cmio_named_pipe_free(srv);
    cmio_events_free(ev);
    cmio_poll_free(poll);
}
END_TEST

START_TEST(write_then_drop)
{
    cmio_poll *poll = open_poll(_i);
    cmio_events *ev = open_events(128);
    cmio_named_pipe *srv, *cli;
    registered_pair(poll, &srv, &cli);
    ck_assert_int_eq(cmio_named_pipe_write(cli, "1234", 4), 4);
    cmio_named_pipe_free(cli);
    seen_flags seen = {{0}};
    ck_assert(wait_seen(poll, ev, &seen, SERVER, CMIO_EVENT_READABLE));
    char buf[10];
    ck_assert_int_eq(cmio_named_pipe_read(srv, buf, sizeof(buf)), 4);
    ck_assert_mem_eq(buf, "1234", 4);
    /* Then the end. */
    ssize_t n = -EAGAIN;
    for (int round = 0; n == -EAGAIN && round < 100; round++) {
        n = cmio_named_pipe_read(srv, buf, sizeof(buf));
        if (n == -EAGAIN)
            ck_assert(wait_seen(poll, ev, &seen, SERVER, CMIO_EVENT_READABLE));
    }
    ck_assert_int_eq(n, 0);
    cmio_named_pipe_free(srv);
    cmio_events_free(ev);
    cmio_poll_free(poll);
}
END_TEST

START_TEST(connect_twice)
{
    cmio_poll *poll = open_poll(_i);
    cmio_events *ev = open_events(128);
    char name[128];
    cmio_named_pipe *srv = server(name, sizeof(name));
    cmio_named_pipe *c1 = client(name);
    ck_assert_int_eq(cmio_named_pipe_register(srv, cmio_poll_registry(poll), SERVER, RW), 0);
    ck_assert_int_eq(cmio_named_pipe_register(c1, cmio_poll_registry(poll), CLIENT, RW), 0);
    cmio_named_pipe_free(c1);
    seen_flags seen = {{0}};
    char buf[10];
    ssize_t n = -EAGAIN;
    for (int round = 0; n == -EAGAIN && round < 100; round++) {
        ck_assert(wait_seen(poll, ev, &seen, SERVER, CMIO_EVENT_READABLE));
        n = cmio_named_pipe_read(srv, buf, sizeof(buf));
    }
    ck_assert_int_eq(n, 0);

    ck_assert_int_eq(cmio_named_pipe_disconnect(srv), 0);
    /* Disconnected, not yet waiting for a client. */
    ck_assert_int_eq(cmio_named_pipe_read(srv, buf, sizeof(buf)), -ENOTCONN);
    ck_assert_int_eq(cmio_named_pipe_connect(srv), -EAGAIN);
    cmio_named_pipe *c2 = client(name);
    ck_assert_int_eq(cmio_named_pipe_register(c2, cmio_poll_registry(poll), CLIENT2, RW), 0);
    memset(&seen, 0, sizeof(seen));
    ck_assert(wait_seen(poll, ev, &seen, SERVER, CMIO_EVENT_WRITABLE));
    /* The new client is served: the read the connect started gets its data. */
    ck_assert(wait_seen(poll, ev, &seen, CLIENT2, CMIO_EVENT_WRITABLE));
    ck_assert_int_eq(cmio_named_pipe_write(c2, "hi", 2), 2);
    unsigned char got[2];
    read_all(poll, ev, srv, got, 2, sizeof(got));
    ck_assert_mem_eq(got, "hi", 2);
    cmio_named_pipe_free(c2);
    cmio_named_pipe_free(srv);
    cmio_events_free(ev);
    cmio_poll_free(poll);
}
END_TEST

START_TEST(reregister_deregister_before_register)
{
    cmio_poll *poll = open_poll(_i);
    char name[128];
    cmio_named_pipe *srv = server(name, sizeof(name));
    cmio_registry *r = cmio_poll_registry(poll);
    ck_assert_int_eq(cmio_named_pipe_reregister(srv, r, SERVER, CMIO_READABLE), -ENOENT);
    ck_assert_int_eq(cmio_named_pipe_deregister(srv, r), -ENOENT);
    /* Registered, deregistered: the same again. */
    ck_assert_int_eq(cmio_named_pipe_register(srv, r, SERVER, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_named_pipe_register(srv, r, SERVER, CMIO_READABLE), -EEXIST);
    ck_assert_int_eq(cmio_named_pipe_deregister(srv, r), 0);
    ck_assert_int_eq(cmio_named_pipe_reregister(srv, r, SERVER, CMIO_READABLE), -ENOENT);
    ck_assert_int_eq(cmio_named_pipe_deregister(srv, r), -ENOENT);
    cmio_named_pipe_free(srv);
    cmio_poll_free(poll);
}
END_TEST

START_TEST(reregister_deregister_different_poll)
{
    cmio_poll *poll1 = open_poll(_i), *poll2 = open_poll(_i);
    char name[128];
    cmio_named_pipe *srv = server(name, sizeof(name));
    cmio_registry *r1 = cmio_poll_registry(poll1), *r2 = cmio_poll_registry(poll2);
    ck_assert_int_eq(cmio_named_pipe_register(srv, r1, SERVER, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_named_pipe_reregister(srv, r2, SERVER, CMIO_READABLE), -EEXIST);
    ck_assert_int_eq(cmio_named_pipe_deregister(srv, r2), -EEXIST);
    /* The handle stays with poll1's port, also once deregistered. */
    ck_assert_int_eq(cmio_named_pipe_deregister(srv, r1), 0);
    ck_assert_int_eq(cmio_named_pipe_register(srv, r2, SERVER, CMIO_READABLE), -EEXIST);
    /* A clone of poll1's registry is poll1's. */
    cmio_registry *clone = NULL;
    ck_assert_int_eq(cmio_registry_try_clone(r1, &clone), 0);
    ck_assert_int_eq(cmio_named_pipe_register(srv, clone, SERVER, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_named_pipe_deregister(srv, r1), 0);
    cmio_registry_free(clone);
    cmio_named_pipe_free(srv);
    cmio_poll_free(poll2);
    cmio_poll_free(poll1);
}
END_TEST

/* Move len bytes of msg from `from` (registered writable under
 * from_token) to `to` (registered readable), reading at most chunk bytes
 * a call: a write when the last writable event allows it (each takes at
 * most the write buffer, -EAGAIN until its WriteFile completes), reads to
 * -EAGAIN, a poll. Bounded in rounds and time. What arrives is checked
 * against msg; *writable_events and *eagain count what the writer saw. */
static void pump(cmio_poll *poll, cmio_events *ev, cmio_named_pipe *from, cmio_token from_token,
                 cmio_named_pipe *to, const unsigned char *msg, unsigned char *got, size_t len, size_t chunk,
                 int *writable_events, int *eagain)
{
    size_t sent = 0, received = 0;
    bool can_write = false;
    *writable_events = *eagain = 0;
    int64_t deadline = now_ms() + 10 * WAIT_MS;
    for (int round = 0; received < len && round < 1000000; round++) {
        ck_assert_int_lt(now_ms(), deadline);
        while (can_write && sent < len) {
            ssize_t n = cmio_named_pipe_write(from, msg + sent, len - sent);
            if (n == -EAGAIN) {
                ++*eagain;
                can_write = false;
                break;
            }
            ck_assert_int_gt(n, 0);
            ck_assert_int_le(n, CMIO_NAMED_PIPE_WRITE_BUFFER);
            sent += (size_t)n;
        }
        for (;;) {
            size_t want = len - received < chunk ? len - received : chunk;
            ssize_t n = cmio_named_pipe_read(to, got + received, want);
            if (n == -EAGAIN)
                break;
            ck_assert_int_gt(n, 0);
            ck_assert_int_le(n, (ssize_t)want);
            received += (size_t)n;
        }
        if (received == len)
            break;
        ck_assert_int_ge(cmio_poll_poll(poll, ev, 100), 0);
        for (size_t k = 0; k < cmio_events_len(ev); k++) {
            const cmio_event *e = cmio_events_get(ev, k);
            if (cmio_event_token(e) == from_token && cmio_event_is_writable(e)) {
                ++*writable_events;
                can_write = true;
            }
        }
    }
    ck_assert_uint_eq(received, len);
    ck_assert_uint_eq(sent, len);
    ck_assert_mem_eq(got, msg, len);
}

/* More than the read buffer holds: several reads, each refilled by the
 * next ReadFile. */
START_TEST(read_message_larger_than_internal_buffer)
{
    enum { LEN = CMIO_NAMED_PIPE_READ_BUFFER + 8192 };
    static unsigned char msg[LEN], got[LEN];
    for (size_t k = 0; k < LEN; k++)
        msg[k] = (unsigned char)(k * 7 + 5);
    cmio_poll *poll = open_poll(_i);
    cmio_events *ev = open_events(128);
    cmio_named_pipe *srv, *cli;
    registered_pair(poll, &srv, &cli);
    int writable, eagain;
    pump(poll, ev, cli, CLIENT, srv, msg, got, LEN, 4000, &writable, &eagain);
    ck_assert_int_ge(writable, 2); /* the write buffer is smaller than the message */
    cmio_named_pipe_free(cli);
    cmio_named_pipe_free(srv);
    cmio_events_free(ev);
    cmio_poll_free(poll);
}
END_TEST

START_TEST(read_with_small_buffer_provided)
{
    enum { LEN = 10000 };
    static unsigned char msg[LEN], got[LEN];
    memset(msg, 1, sizeof(msg));
    cmio_poll *poll = open_poll(_i);
    cmio_events *ev = open_events(128);
    cmio_named_pipe *srv, *cli;
    registered_pair(poll, &srv, &cli);
    seen_flags seen = {{0}};
    ck_assert(wait_seen(poll, ev, &seen, CLIENT, CMIO_EVENT_WRITABLE));
    ck_assert_int_eq(cmio_named_pipe_write(cli, msg, LEN), LEN);
    ck_assert(wait_seen(poll, ev, &seen, SERVER, CMIO_EVENT_READABLE));
    read_all(poll, ev, srv, got, LEN, 128);
    ck_assert_mem_eq(got, msg, LEN);
    cmio_named_pipe_free(cli);
    cmio_named_pipe_free(srv);
    cmio_events_free(ev);
    cmio_poll_free(poll);
}
END_TEST

/* A megabyte through the write buffer: each write takes at most the
 * buffer, -EAGAIN until its WriteFile completes, and the completion is a
 * writable event: several of them carry the whole, which arrives intact.
 * The reader registered readable only hears no writable event. */
START_TEST(large_write_over_several_writable_events)
{
    enum { LEN = 1 << 20 };
    static unsigned char msg[LEN], got[LEN];
    for (size_t k = 0; k < LEN; k++)
        msg[k] = (unsigned char)(k % 251);
    cmio_poll *poll = open_poll(_i);
    cmio_events *ev = open_events(128);
    cmio_named_pipe *srv, *cli;
    pipe_pair(&srv, &cli);
    ck_assert_int_eq(cmio_named_pipe_register(srv, cmio_poll_registry(poll), SERVER, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_named_pipe_register(cli, cmio_poll_registry(poll), CLIENT, CMIO_WRITABLE), 0);
    int writable, eagain;
    pump(poll, ev, cli, CLIENT, srv, msg, got, LEN, LEN, &writable, &eagain);
    ck_assert_int_ge(writable, LEN / CMIO_NAMED_PIPE_WRITE_BUFFER);
    ck_assert_int_ge(eagain, 1);
    /* The other way, the server writing. */
    ck_assert_int_eq(cmio_named_pipe_reregister(srv, cmio_poll_registry(poll), SERVER, CMIO_WRITABLE), 0);
    ck_assert_int_eq(cmio_named_pipe_reregister(cli, cmio_poll_registry(poll), CLIENT, CMIO_READABLE), 0);
    memset(got, 0, sizeof(got));
    pump(poll, ev, srv, SERVER, cli, msg, got, LEN, 5000, &writable, &eagain);
    ck_assert_int_ge(writable, LEN / CMIO_NAMED_PIPE_WRITE_BUFFER);
    cmio_named_pipe_free(cli);
    cmio_named_pipe_free(srv);
    cmio_events_free(ev);
    cmio_poll_free(poll);
}
END_TEST

/* Deregistering cancels the read in flight and drops the pipe's events;
 * data that comes meanwhile is not lost: registering again reads it. */
START_TEST(deregister_with_read_in_flight)
{
    cmio_poll *poll = open_poll(_i);
    cmio_events *ev = open_events(128);
    cmio_registry *r = cmio_poll_registry(poll);
    cmio_named_pipe *srv, *cli;
    pipe_pair(&srv, &cli);
    ck_assert_int_eq(cmio_named_pipe_register(srv, r, SERVER, RW), 0);
    ck_assert_int_eq(cmio_named_pipe_register(cli, r, CLIENT, RW), 0);
    seen_flags seen = {{0}};
    ck_assert(wait_seen(poll, ev, &seen, SERVER, CMIO_EVENT_WRITABLE));
    ck_assert(wait_seen(poll, ev, &seen, CLIENT, CMIO_EVENT_WRITABLE));
    ck_assert_int_eq(cmio_named_pipe_deregister(srv, r), 0);
    ck_assert_int_eq(cmio_named_pipe_write(cli, "data", 4), 4);
    ck_assert_int_eq(count_events(poll, ev, SERVER, QUIET_MS), 0);
    char buf[8];
    ck_assert_int_eq(cmio_named_pipe_read(srv, buf, sizeof(buf)), -EAGAIN);
    ck_assert_int_eq(cmio_named_pipe_write(srv, "x", 1), -EAGAIN);
    ck_assert_int_eq(cmio_named_pipe_register(srv, r, SERVER + 3, CMIO_READABLE), 0);
    ck_assert(wait_seen(poll, ev, &seen, SERVER + 3, CMIO_EVENT_READABLE));
    ck_assert_int_eq(cmio_named_pipe_read(srv, buf, sizeof(buf)), 4);
    ck_assert_mem_eq(buf, "data", 4);
    cmio_named_pipe_free(cli);
    cmio_named_pipe_free(srv);
    cmio_events_free(ev);
    cmio_poll_free(poll);
}
END_TEST

/* Reregistering reports what holds under the new interest (writable
 * again, under the new token); an interest without writable hears no
 * writable event. */
START_TEST(reregister_reports_what_holds)
{
    cmio_poll *poll = open_poll(_i);
    cmio_events *ev = open_events(128);
    cmio_registry *r = cmio_poll_registry(poll);
    cmio_named_pipe *srv, *cli;
    pipe_pair(&srv, &cli);
    ck_assert_int_eq(cmio_named_pipe_register(srv, r, SERVER, CMIO_READABLE), 0);
    ck_assert_int_eq(count_events(poll, ev, SERVER, QUIET_MS), 0);
    ck_assert_int_eq(cmio_named_pipe_reregister(srv, r, 5, RW), 0);
    seen_flags seen = {{0}};
    ck_assert(wait_seen(poll, ev, &seen, 5, CMIO_EVENT_WRITABLE));
    ck_assert_int_eq(count_events(poll, ev, 5, QUIET_MS), 0);
    ck_assert_int_eq(cmio_named_pipe_reregister(srv, r, 6, RW), 0);
    ck_assert(wait_seen(poll, ev, &seen, 6, CMIO_EVENT_WRITABLE));
    cmio_named_pipe_free(cli);
    cmio_named_pipe_free(srv);
    cmio_events_free(ev);
    cmio_poll_free(poll);
}
END_TEST

/* Freeing with a read, a connect or a write in flight cancels it: the
 * handle closes at once (the name can be created again, the other end
 * sees the end), the memory goes with the cancelled completions, whether
 * a poll dequeues them or the poll's own free does. */
START_TEST(free_with_io_in_flight)
{
    cmio_poll *poll = open_poll(_i);
    cmio_events *ev = open_events(128);
    cmio_registry *r = cmio_poll_registry(poll);
    char name[128];
    /* A connect in flight. */
    cmio_named_pipe *lone = server(name, sizeof(name));
    ck_assert_int_eq(cmio_named_pipe_register(lone, r, SERVER, RW), 0);
    ck_assert_int_eq(cmio_named_pipe_connect(lone), -EAGAIN);
    cmio_named_pipe_free(lone);
    lone = NULL;
    ck_assert_int_eq(cmio_named_pipe_new(&lone, name), 0); /* the name is free again */
    cmio_named_pipe_free(lone);
    ck_assert_int_eq(count_events(poll, ev, SERVER, QUIET_MS), 0);

    /* Reads in flight on both ends, and a write that cannot complete
     * (the server does not read: the kernel's buffer fills). */
    cmio_named_pipe *srv, *cli;
    pipe_pair(&srv, &cli);
    ck_assert_int_eq(cmio_named_pipe_register(srv, r, SERVER, RW), 0);
    ck_assert_int_eq(cmio_named_pipe_register(cli, r, CLIENT, RW), 0);
    seen_flags seen = {{0}};
    ck_assert(wait_seen(poll, ev, &seen, CLIENT, CMIO_EVENT_WRITABLE));
    static unsigned char big[CMIO_NAMED_PIPE_WRITE_BUFFER];
    bool pending = false;
    for (int round = 0; !pending && round < 64; round++) {
        ssize_t n = cmio_named_pipe_write(cli, big, sizeof(big));
        if (n == -EAGAIN) {
            /* A completed write gives its event; a stuck one never does. */
            pending = count_events(poll, ev, CLIENT, QUIET_MS) == 0;
        } else {
            ck_assert_int_gt(n, 0);
        }
    }
    ck_assert(pending);
    cmio_named_pipe_free(cli);
    /* The server sees the end (after the data that got through). */
    static unsigned char sink[CMIO_NAMED_PIPE_READ_BUFFER];
    ssize_t n = 1;
    int64_t deadline = now_ms() + WAIT_MS;
    for (int round = 0; n != 0 && round < 10000; round++) {
        ck_assert_int_lt(now_ms(), deadline);
        n = cmio_named_pipe_read(srv, sink, sizeof(sink));
        if (n == -EAGAIN)
            ck_assert_int_ge(cmio_poll_poll(poll, ev, 100), 0);
        else
            ck_assert_int_ge(n, 0);
    }
    ck_assert_int_eq(n, 0);
    /* The server freed with its read in flight, and the poll freed before
     * any poll dequeues the cancellation: the poll's free reaps it. */
    ck_assert_int_eq(cmio_named_pipe_write(srv, "x", 1), -EPIPE);
    cmio_named_pipe *again = server(name, sizeof(name));
    ck_assert_int_eq(cmio_named_pipe_register(again, r, SERVER, RW), 0);
    cmio_named_pipe *c2 = client(name);
    ck_assert_int_eq(cmio_named_pipe_register(c2, r, CLIENT, RW), 0);
    cmio_named_pipe_free(srv);
    cmio_named_pipe_free(again);
    cmio_named_pipe_free(c2);
    cmio_events_free(ev);
    int64_t t0 = now_ms();
    cmio_poll_free(poll);
    ck_assert_int_lt(now_ms() - t0, WAIT_MS); /* the cancellations come at once */
}
END_TEST

/* A pipe outlives its poll: freed after the poll (it holds the selector's
 * reference), then nothing is left. */
START_TEST(pipe_outlives_poll)
{
    cmio_named_pipe *srv, *cli;
    /* Once first, so that what the system opens on first use is open. */
    pipe_pair(&srv, &cli);
    cmio_named_pipe_free(cli);
    cmio_named_pipe_free(srv);
    long before = handles_open();
    cmio_poll *poll = open_poll(_i);
    pipe_pair(&srv, &cli);
    ck_assert_int_eq(cmio_named_pipe_register(srv, cmio_poll_registry(poll), SERVER, RW), 0);
    ck_assert_int_eq(cmio_named_pipe_register(cli, cmio_poll_registry(poll), CLIENT, RW), 0);
    cmio_poll_free(poll);
    ck_assert_int_eq(cmio_named_pipe_write(cli, "x", 1), 1);
    cmio_named_pipe_free(cli);
    cmio_named_pipe_free(srv);
    ck_assert_int_le(handles_open(), before);
}
END_TEST

/* An adopted handle (mio's client(): a file opened with
 * FILE_FLAG_OVERLAPPED, then from_raw_handle). */
START_TEST(from_handle_client)
{
    cmio_poll *poll = open_poll(_i);
    cmio_events *ev = open_events(128);
    char name[128];
    cmio_named_pipe *srv = server(name, sizeof(name));
    HANDLE h = CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
    ck_assert_ptr_ne(h, INVALID_HANDLE_VALUE);
    cmio_named_pipe *cli = NULL;
    ck_assert_int_eq(cmio_named_pipe_from_handle(&cli, h), 0);
    ck_assert_ptr_eq(cmio_named_pipe_handle(cli), h);
    /* A client end cannot connect or disconnect. */
    ck_assert_int_eq(cmio_named_pipe_connect(cli), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_disconnect(cli), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_register(srv, cmio_poll_registry(poll), SERVER, RW), 0);
    ck_assert_int_eq(cmio_named_pipe_register(cli, cmio_poll_registry(poll), CLIENT, RW), 0);
    seen_flags seen = {{0}};
    ck_assert(wait_seen(poll, ev, &seen, CLIENT, CMIO_EVENT_WRITABLE));
    ck_assert_int_eq(cmio_named_pipe_write(cli, "adopted", 7), 7);
    unsigned char got[7];
    read_all(poll, ev, srv, got, sizeof(got), sizeof(got));
    ck_assert_mem_eq(got, "adopted", 7);
    cmio_named_pipe_free(cli);
    cmio_named_pipe_free(srv);
    cmio_events_free(ev);
    cmio_poll_free(poll);
}
END_TEST

START_TEST(argument_errors)
{
    cmio_poll *poll = open_poll(_i);
    cmio_registry *r = cmio_poll_registry(poll);
    cmio_named_pipe *p = (cmio_named_pipe *)(void *)1, *srv;
    char name[128];
    ck_assert_int_eq(cmio_named_pipe_new(NULL, "\\\\.\\pipe\\x"), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_new(&p, NULL), -EINVAL);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(cmio_named_pipe_new(&p, ""), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_new(&p, "\\\\.\\pipe\\\xff\xfe"), -EINVAL); /* not UTF-8 */
    char longname[400];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    memcpy(longname, "\\\\.\\pipe\\", 9);
    ck_assert_int_eq(cmio_named_pipe_new(&p, longname), -ENAMETOOLONG);
    ck_assert_int_eq(cmio_named_pipe_open(NULL, "\\\\.\\pipe\\x"), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_open(&p, NULL), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_open(&p, pipe_name(name, sizeof(name))), -ENOENT);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(cmio_named_pipe_from_handle(NULL, NULL), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_from_handle(&p, NULL), -EBADF);
    ck_assert_int_eq(cmio_named_pipe_from_handle(&p, INVALID_HANDLE_VALUE), -EBADF);
    /* A socket is FILE_TYPE_PIPE to GetFileType, but no named pipe. */
    cmio_fd sock = plain_socket(AF_INET, SOCK_STREAM);
    ck_assert_int_eq(cmio_named_pipe_from_handle(&p, (void *)sock), -EINVAL);
    ck_assert_ptr_null(p);
    sock_close(sock);
    ck_assert_ptr_null(cmio_named_pipe_handle(NULL));
    cmio_named_pipe_free(NULL);

    srv = server(name, sizeof(name));
    /* The name is taken (the first instance asked): -EADDRINUSE, where
     * the system enforces FILE_FLAG_FIRST_PIPE_INSTANCE (Wine 8 makes a
     * second instance of the name, as the header says). */
    int rc = cmio_named_pipe_new(&p, name);
    if (rc == 0) {
        ck_assert_ptr_nonnull(p);
        cmio_named_pipe_free(p);
        p = NULL;
    } else {
        ck_assert_int_eq(rc, -EADDRINUSE);
        ck_assert_ptr_null(p);
    }
    cmio_named_pipe *c1 = client(name);
    /* Its one instance has a client. */
    ck_assert_int_eq(cmio_named_pipe_open(&p, name), -EBUSY);
    ck_assert_ptr_null(p);

    ck_assert_int_eq(cmio_named_pipe_register(NULL, r, 0, CMIO_READABLE), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_register(srv, NULL, 0, CMIO_READABLE), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_register(srv, r, 0, 0), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_register(srv, r, 0, CMIO_LEVEL), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_register(srv, r, 0, 0x80), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_register(srv, r, 0, CMIO_READABLE | CMIO_LEVEL), -ENOTSUP);
    ck_assert_int_eq(cmio_named_pipe_register(srv, r, 0, CMIO_READABLE | CMIO_ONESHOT), -ENOTSUP);
    ck_assert_int_eq(cmio_named_pipe_register(srv, r, 0, CMIO_PRIORITY), -ENOTSUP);
    ck_assert_int_eq(cmio_named_pipe_reregister(NULL, r, 0, CMIO_READABLE), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_reregister(srv, NULL, 0, CMIO_READABLE), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_reregister(srv, r, 0, 0), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_deregister(NULL, r), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_deregister(srv, NULL), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_connect(NULL), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_disconnect(NULL), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_take_error(NULL), -EINVAL);
    char buf[4];
    ck_assert_int_eq(cmio_named_pipe_read(NULL, buf, sizeof(buf)), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_read(srv, NULL, 1), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_write(NULL, buf, sizeof(buf)), -EINVAL);
    ck_assert_int_eq(cmio_named_pipe_write(srv, NULL, 1), -EINVAL);
    /* Unregistered: would block (mio). */
    ck_assert_int_eq(cmio_named_pipe_read(srv, buf, sizeof(buf)), -EAGAIN);
    ck_assert_int_eq(cmio_named_pipe_write(srv, "x", 1), -EAGAIN);
    ck_assert_int_eq(cmio_named_pipe_connect(srv), -EAGAIN);
    ck_assert_int_eq(cmio_named_pipe_take_error(srv), 0);
    cmio_named_pipe_free(c1);
    cmio_named_pipe_free(srv);
    cmio_poll_free(poll);
}
END_TEST

static Suite *win_named_pipe_suite(void)
{
    Suite *s = suite_create("win_named_pipe");
    TCase *tc = tcase_create("mio");
    add_backend_test(tc, writable_after_register);
    add_backend_test(tc, write_then_read);
    add_backend_test(tc, connect_before_client);
    add_backend_test(tc, connect_after_client);
    add_backend_test(tc, write_disconnected);
    add_backend_test(tc, write_then_drop);
    add_backend_test(tc, connect_twice);
    add_backend_test(tc, reregister_deregister_before_register);
    add_backend_test(tc, reregister_deregister_different_poll);
    add_backend_test(tc, read_message_larger_than_internal_buffer);
    add_backend_test(tc, read_with_small_buffer_provided);
    suite_add_tcase(s, tc);
    tc = tcase_create("cmio");
    add_backend_test(tc, large_write_over_several_writable_events);
    add_backend_test(tc, deregister_with_read_in_flight);
    add_backend_test(tc, reregister_reports_what_holds);
    add_backend_test(tc, free_with_io_in_flight);
    add_backend_test(tc, pipe_outlives_poll);
    add_backend_test(tc, from_handle_client);
    add_backend_test(tc, argument_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(win_named_pipe_suite()); }
