/*
 * Shared helpers of the Check suites: backend parametrisation, socket
 * pairs, bounded waits for events.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CMIO_TESTS_HELPERS_H
#define CMIO_TESTS_HELPERS_H

#include <check.h>
#include <cmio.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/select.h>
#include <sys/types.h>

#include "selector.h"

/* Internal, from the static library: the backend's CMIO__SEL_* bits. */
unsigned cmio__poll_caps(const cmio_poll *poll);

/* Generous bound for waits that should end at once (sanitizers, valgrind). */
#define WAIT_MS 5000
/* How long "nothing happens" is watched for. */
#define QUIET_MS 50

/* Every test runs once per built-in backend: _i indexes cmio_backends(). */
int n_backends(void);
#define add_backend_test(tc, fn) tcase_add_loop_test((tc), (fn), 0, n_backends())

/* A poll and events buffer on backend _i; freed by close_poll. */
cmio_poll *open_poll(int backend_index);
cmio_events *open_events(size_t capacity);

/* A non-blocking, close-on-exec AF_UNIX stream socketpair. */
void stream_pair(int sv[2]);
/* A connected non-blocking TCP pair on 127.0.0.1 (client, accepted). */
void tcp_pair(int sv[2]);

/* Write len bytes of 'x' to fd (asserting success). */
void put(int fd, size_t len);
/* Read socket fd through cmio until -EAGAIN (or end of stream); returns
 * the bytes read. */
size_t drain(int fd);

/* Poll until an event for token with every bit of flags arrives, bounded by
 * timeout_ms. Returns the union of the flags seen for token (0 if none). */
uint32_t wait_for(cmio_poll *p, cmio_events *ev, cmio_token token, uint32_t flags, int timeout_ms);
/* Poll for QUIET_MS and return how many events carried token. */
int count_events(cmio_poll *p, cmio_events *ev, cmio_token token, int timeout_ms);

int64_t now_ms(void);

/* Event flags seen per token (tokens below 8), kept across waits so that an
 * event for one token is not lost while the test waits for another. */
typedef struct seen_flags {
    uint32_t flags[8];
} seen_flags;

/* Poll (bounded by WAIT_MS) until every bit of want was seen for token;
 * those bits are then consumed. Returns whether they were. */
bool wait_seen(cmio_poll *p, cmio_events *ev, seen_flags *s, cmio_token token, uint32_t want);

/* An IP address from text (asserting it parses). */
cmio_sockaddr parse_addr(const char *text);
/* Whether a bind of `text` failed because this machine lacks the family or
 * address (IPv6): then fd must be -1, and the skip is reported. */
bool addr_unavailable(int rc, int fd, const char *text);
/* Whether two addresses format to the same text. */
bool same_addr(const cmio_sockaddr *a, const cmio_sockaddr *b);

/* A fresh directory for socket files: tmp_open/tmp_close are a checked
 * fixture; tmp_path names a file inside it. */
void tmp_open(void);
void tmp_close(void);
const char *tmp_path(char *buf, size_t size, const char *name);
/* A unique name in the abstract namespace; name receives its text. */
void abstract_addr(cmio_sockaddr *a, char *name, size_t size);
/* Asserts that an AF_UNIX address formats as want. */
void assert_addr_text(const cmio_sockaddr *a, const char *want);

/* The descriptors open now (below FD_SETSIZE). */
void fds_open(fd_set *set);
/* Asserts that every descriptor opened since `before` was taken is
 * close-on-exec; returns how many it checked. */
int assert_new_fds_cloexec(const fd_set *before);

/* Block (bounded) until thread tid sits in a selector system call. Returns
 * 1 when seen, 0 if the platform cannot tell (the caller proceeds). */
int wait_until_blocked_in_poll(pid_t tid);
pid_t current_tid(void);

/* Asserts that fd is open, non-blocking and close-on-exec (as mio's tests do
 * for every descriptor they create or accept). */
void assert_nonblock_cloexec(int fd);

/* Leaves SIGPIPE at its default, deadly action for the calling process. */
void sigpipe_deadly(void);

/* mio's tests/util: an event a test expects, its token and every
 * CMIO_EVENT_* bit it must carry (more may be set). */
typedef struct expect_event {
    cmio_token token;
    uint32_t flags;
} expect_event;
/* Poll (bounded by WAIT_MS) until each expected event was matched by a
 * distinct event of a poll made by this call; other events are accepted,
 * since events may be spurious (mio's expect_events). file and line name
 * the caller in a failure. */
void expect_events_at(cmio_poll *p, cmio_events *ev, const expect_event *want, size_t n, const char *file,
                      int line);
/* One poll of QUIET_MS returns no event at all (mio's expect_no_events). */
void expect_no_events_at(cmio_poll *p, cmio_events *ev, const char *file, int line);

/* The loopback interface for multicast joins, so that no membership report
 * leaves the machine: its IPv4 address (127.0.0.1) and its index ("lo" on
 * Linux, "lo0" on the BSDs; 0 if neither exists). */
struct in_addr loopback_v4(void);
unsigned loopback_ifindex(void);

/* Runs a suite (forked unless CK_FORK=no) and returns an exit status. */
int run_suite(Suite *s);

#endif
