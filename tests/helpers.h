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
#include <sys/types.h>
#if defined(_WIN32)
#include <windows.h>
#else
#include <poll.h> /* sock_poll's POLL* bits (winsock2.h's on Windows) */
#include <pthread.h>
#include <sys/select.h>
#endif

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

/* A connected pair of non-blocking, close-on-exec stream sockets: an
 * AF_UNIX socketpair, or on Windows (no socketpair there) a loopback TCP
 * pair as tcp_pair makes it. */
void stream_pair(cmio_fd sv[2]);
/* A connected non-blocking TCP pair on 127.0.0.1 (client, accepted). */
void tcp_pair(cmio_fd sv[2]);
/* Close a socket (close(2), closesocket on Windows), asserting success. */
void sock_close(cmio_fd fd);
/* send(2)/recv(2) on a socket, without SIGPIPE where the flag exists:
 * the count, or -1 with errno set (from the WSA code on Windows). */
ssize_t sock_send(cmio_fd fd, const void *buf, size_t len);
ssize_t sock_recv(cmio_fd fd, void *buf, size_t len);
/* setsockopt(2)/getsockopt(2) asserting success (Winsock's take char *). */
void sock_setsockopt(cmio_fd fd, int level, int name, const void *value, socklen_t len);
void sock_getsockopt(cmio_fd fd, int level, int name, void *value, socklen_t *len);
/* The socket's pending error (SO_ERROR) as a positive errno value (the
 * WSA code mapped on Windows); 0 if none. */
int sock_error(cmio_fd fd);
/* A blocking TCP listener on 127.0.0.1, any port (*addr: its address);
 * a blocking accept on it (CMIO_FD_INVALID with errno set on failure);
 * a receive timeout in seconds (SO_RCVTIMEO) on a blocking socket. */
cmio_fd blocking_listener(cmio_sockaddr *addr);
cmio_fd blocking_accept(cmio_fd listener);
void sock_recv_timeout(cmio_fd fd, int seconds);
/* The same for sends (SO_SNDTIMEO). */
void sock_send_timeout(cmio_fd fd, int seconds);
/* Makes a socket non-blocking (O_NONBLOCK; FIONBIO). Whether a socket
 * is non-blocking: 1 or 0, or -1 where it cannot be asked (Winsock has no
 * getter: there, the tests see the mode from -EAGAIN). */
void sock_set_nonblocking(cmio_fd fd);
int sock_nonblocking(cmio_fd fd);
/* A plain socket (socket(2), close-on-exec; Winsock's socket, not
 * inherited), asserting success. */
cmio_fd plain_socket(int family, int type);
/* poll(2) (WSAPoll on Windows) on one socket, bounded by timeout_ms:
 * revents (0 on timeout). */
short sock_poll(cmio_fd fd, short events, int timeout_ms);
/* A descriptor value that was a socket and is now closed. */
cmio_fd closed_socket(void);
/* A non-blocking TCP socket whose connect to a loopback port nothing
 * listens on is in progress (refused soon); *holder keeps the port bound
 * (close both). */
cmio_fd connect_refused(cmio_fd *holder);
#if defined(_WIN32)
/* Winsock's names for what the tests use of POSIX (there is no SIGPIPE). */
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif
#define SHUT_RD SD_RECEIVE
#define SHUT_WR SD_SEND
#define SHUT_RDWR SD_BOTH
/* cmio's own bound for iovecs on Windows (net/socket.c: WSARecv/WSASend). */
#ifndef IOV_MAX
#define IOV_MAX 64
#endif
#endif
/* errno after a failed socket call (WSAGetLastError mapped on Windows). */
int sock_errno(void);
/* Whether a child process would inherit fd (not close-on-exec; on
 * Windows HANDLE_FLAG_INHERIT). */
bool sock_inherited(cmio_fd fd);
/* Whether fd is an open descriptor (handle). */
bool sock_is_open(cmio_fd fd);
/* Raise the descriptor limit to at least n where there is one
 * (RLIMIT_NOFILE); asserts it is enough. */
void need_descriptors(long n);
/* No descriptor left to make: RLIMIT_NOFILE set just above the lowest free
 * one. Returns whether the limit is enforced (a socketpair then fails with
 * EMFILE; valgrind does not enforce it, and Windows has no such limit:
 * false), so the caller knows whether there is a failure to observe.
 * fd_limit_restore puts the old limit back and closes what it made. */
typedef struct fd_limit {
    unsigned long long old_cur;
    int probe, raw[2];
    bool enforced;
} fd_limit;
bool fd_limit_exhaust(fd_limit *l);
void fd_limit_restore(fd_limit *l);
/* setenv/unsetenv (Windows: _putenv_s), asserting success. */
void env_set(const char *name, const char *value);
void env_unset(const char *name);

/* Write len bytes of 'x' to fd (asserting success). */
void put(cmio_fd fd, size_t len);
/* Read socket fd through cmio until -EAGAIN (or end of stream); returns
 * the bytes read. */
size_t drain(cmio_fd fd);

/* Poll until an event for token with every bit of flags arrives, bounded by
 * timeout_ms. Returns the union of the flags seen for token (0 if none). */
uint32_t wait_for(cmio_poll *p, cmio_events *ev, cmio_token token, uint32_t flags, int timeout_ms);
/* Poll for QUIET_MS and return how many events carried token. */
int count_events(cmio_poll *p, cmio_events *ev, cmio_token token, int timeout_ms);

/* The monotonic clock (CLOCK_MONOTONIC; QueryPerformanceCounter on
 * Windows), in milliseconds and nanoseconds. */
int64_t now_ms(void);
int64_t now_ns(void);

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
bool addr_unavailable(int rc, cmio_fd fd, const char *text);
/* Whether two addresses format to the same text. */
bool same_addr(const cmio_sockaddr *a, const cmio_sockaddr *b);

/* A fresh directory for socket files: tmp_open/tmp_close are a checked
 * fixture; tmp_path names a file inside it. */
void tmp_open(void);
void tmp_close(void);
const char *tmp_path(char *buf, size_t size, const char *name);
/* A Windows pipe name of this process's own ("\\.\pipe\cmio-test-PID-N";
 * the same text elsewhere, where cmio_named_pipe_* answer -ENOTSUP). */
const char *named_pipe_name(char *buf, size_t size);
/* Whether this system has no AF_UNIX stream sockets, asked at run time:
 * false on POSIX systems, which always have them (the test's own calls then
 * assert success). On Windows it tries a listener on a fresh temporary path:
 * false when that works (Windows 10 1803 and later); else it asserts the
 * documented answer of each constructor (cmio_unix_listener_bind, _bind_addr,
 * cmio_unix_stream_connect, _connect_addr: -ENOTSUP, fd left
 * CMIO_FD_INVALID) and returns true, and the test stops there. */
bool no_unix_sockets(void);
/* Whether this system has no AF_UNIX datagram sockets: false on POSIX
 * systems (the test's calls assert success). On Windows, whose AF_UNIX is
 * stream-only, it asserts the documented -ENOTSUP of each constructor
 * (cmio_unix_datagram_bind, _bind_addr, _unbound, _pair; fds left
 * CMIO_FD_INVALID, no file made) and returns true: the test stops there. */
bool no_unix_datagrams(void);
/* A pair of blocking AF_UNIX datagram sockets made by plain calls
 * (socketpair(AF_UNIX, SOCK_DGRAM)); only where no_unix_datagrams() is false. */
void std_unix_dgram_pair(cmio_fd sv[2]);
/* A connected pair of AF_UNIX stream sockets for a test that is not about
 * cmio_unix_stream_pair (asserting success): the pair itself on POSIX
 * systems; on Windows, which has none, a listener on a temporary path, a
 * connect and an accept (the listener and its file removed). false, after
 * no_unix_sockets' assertions, where there are no Unix sockets. */
bool unix_stream_pair_or_skip(cmio_unix_stream *a, cmio_unix_stream *b);
/* For a test about cmio_unix_stream_pair itself, given what it returned:
 * on Windows (no socketpair) asserts its documented -ENOTSUP with both fds
 * left CMIO_FD_INVALID and returns true (the test stops); elsewhere false
 * (the test asserts success). */
bool unix_pair_refused(int err, const cmio_unix_stream *a, const cmio_unix_stream *b);
/* The plain Unix socket calls the tests make "std" sockets with: a blocking
 * AF_UNIX stream socket, connected to addr or bound and listening on it
 * (asserting success); whether a descriptor is in blocking mode (1, 0, or
 * -1 where it cannot be asked); whether a path exists; unlink it. */
cmio_fd std_unix_connect(const cmio_sockaddr *addr);
cmio_fd std_unix_listen(const cmio_sockaddr *addr, int backlog);
/* A connected pair of blocking AF_UNIX stream sockets made by plain calls
 * (socketpair; on Windows a listener on a temporary path, a connect and an
 * accept), asserting success. */
void std_unix_pair(cmio_fd sv[2]);
bool path_exists(const char *path);
int path_unlink(const char *path);

/* A unique name in the abstract namespace; name receives its text. */
void abstract_addr(cmio_sockaddr *a, char *name, size_t size);
/* Whether this OS has no abstract namespace: cmio_sockaddr_from_abstract
 * says -ENOTSUP (asserted never so on Linux, which has one); the caller
 * stops its test. */
bool no_abstract_names(void);
/* Asserts that an AF_UNIX address formats as want. */
void assert_addr_text(const cmio_sockaddr *a, const char *want);

/* The descriptors open now (below FD_SETSIZE); false where they cannot be
 * listed (Windows: the caller skips its check). */
bool fds_open(fd_set *set);
/* Asserts that every descriptor opened since `before` was taken is
 * close-on-exec; returns how many it checked. */
int assert_new_fds_cloexec(const fd_set *before);
/* How many descriptors (on Windows: handles) the process has open. */
long handles_open(void);

/* Threads: pthreads, or on Windows CreateThread (no winpthreads in the
 * tests' own code). thread_start asserts success; thread_join returns the
 * thread's result. The struct must stay put until the join. */
typedef struct test_thread {
#if defined(_WIN32)
    HANDLE handle;
    void *(*fn)(void *);
    void *arg, *result;
#else
    pthread_t t;
#endif
} test_thread;
void thread_start(test_thread *t, void *(*fn)(void *), void *arg);
void *thread_join(test_thread *t);

/* A barrier for n threads (pthread_barrier_t; SRWLOCK and a condition
 * variable on Windows). */
typedef struct test_barrier {
#if defined(_WIN32)
    SRWLOCK lock;
    CONDITION_VARIABLE cv;
    unsigned n, waiting, round;
#else
    pthread_barrier_t b;
#endif
} test_barrier;
void barrier_init(test_barrier *b, unsigned n);
void barrier_wait(test_barrier *b);
void barrier_destroy(test_barrier *b);

/* A thread's id as wait_until_blocked_in_poll takes it: the kernel's
 * thread id (gettid) on Linux, GetCurrentThreadId on Windows. */
#if defined(_WIN32)
typedef DWORD test_tid;
#else
typedef pid_t test_tid;
#endif
/* Block (bounded) until thread tid sits in the selector's wait. Linux:
 * the thread's system call as /proc shows it (epoll_wait, poll, ...).
 * Windows: the iocp selector's own mark (cmio__iocp_waiters, set by the
 * thread right before GetQueuedCompletionStatusEx, whose port keeps what
 * is posted or completed before the call, so "about to wait" and "waiting"
 * see the same packets). Returns 1 when seen, 0 if the platform cannot
 * tell (the caller proceeds). */
int wait_until_blocked_in_poll(test_tid tid);
test_tid current_tid(void);

/* SIGUSR1 without SA_RESTART and a handler that does nothing, for tests of
 * -EINTR: interrupter_install in the thread to interrupt (returns its
 * handle), interrupt_thread from another. Backends whose select no signal
 * interrupts (CMIO__SEL_NO_EINTR: Windows, which has no such signals)
 * never call them: there they abort. */
typedef struct test_signal_target {
#if defined(_WIN32)
    int unused;
#else
    pthread_t t;
#endif
} test_signal_target;
test_signal_target interrupter_install(void);
void interrupt_thread(test_signal_target target);

/* Asserts that fd is open, non-blocking and close-on-exec (as mio's tests do
 * for every descriptor they create or accept). On Windows: a socket that
 * is not inherited (Winsock has no getter for non-blocking mode; the
 * tests see it from -EAGAIN). */
void assert_nonblock_cloexec(cmio_fd fd);

/* Leaves SIGPIPE at its default, deadly action for the calling process
 * (nothing to do on Windows, which has no SIGPIPE). */
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

/* Child processes (the examples' suite): a program started with argv
 * (argv[0] its path, NULL-terminated), its standard output captured through
 * a pipe, its standard error the test's own and its standard input empty.
 * POSIX: posix_spawn, the pipe close-on-exec in the test. Windows:
 * CreateProcessW with a named pipe whose end in the test is read
 * overlapped (so that a read waits a bounded time), the child inheriting
 * its three standard handles alone. What it printed so far is text
 * (NUL-terminated, a line ending in \n where the Microsoft runtime wrote
 * \r\n; the rest of a longer output is read and dropped). */
typedef struct test_child {
#if defined(_WIN32)
    HANDLE process, out, event;
    DWORD pid;
#else
    pid_t pid;
    int out;
#endif
    bool eof, terminated, reaped;
    int status; /* child_wait's answer once it ended */
    size_t len;
    char text[65536];
} test_child;
/* How child_wait says a child ended, besides its exit code (0..255):
 * ended by child_terminate (SIGTERM; TerminateProcess), by another signal
 * (POSIX), or not yet when the wait ran out (it is still running). */
#define CHILD_TERMINATED (-1)
#define CHILD_SIGNALLED (-2)
#define CHILD_RUNNING (-3)
void child_start(test_child *c, char *const argv[]);
#if !defined(_WIN32)
/* A child made otherwise (fork and exec) with out the read end of its
 * standard output, given to the same calls. */
void child_adopt(test_child *c, pid_t pid, int out);
#endif
/* Read its output until needle has appeared `times` times in text, for at
 * most timeout_ms: whether it has (false at the end of its output too). */
bool child_read_until(test_child *c, const char *needle, int times, int timeout_ms);
/* How many times needle occurs in text. */
int occurrences(const char *text, const char *needle);
/* End it: SIGTERM; on Windows TerminateProcess. */
void child_terminate(test_child *c);
/* Wait for it to end, for at most timeout_ms, reading its output meanwhile
 * (so that a full pipe does not hold it up): its exit code or a CHILD_*
 * value above. Once it ended, the pipe and handles are closed. */
int child_wait(test_child *c, int timeout_ms);
/* Its process id. */
long child_pid(const test_child *c);
/* For a fixture's teardown: terminate and reap every child started and not
 * yet reaped (a test that failed midway leaves no server running). */
void child_cleanup(void);

/* Runs a suite (forked unless CK_FORK=no; never forked on Windows, which
 * has no fork: each test closes what it opens) and returns an exit
 * status. On Windows it starts Winsock first (cmio does too, at its first
 * poll or socket; raw Winsock calls of the helpers may come before). */
int run_suite(Suite *s);

#endif
