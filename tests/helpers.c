/*
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#include <iphlpapi.h>
#include <wchar.h>
#else
#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#endif

#if defined(_WIN32)
/* errno from the last Winsock error, for the helpers' -1 returns. */
static void set_errno_from_wsa(void)
{
    switch (WSAGetLastError()) {
    case WSAEWOULDBLOCK: errno = EAGAIN; break;
    case WSAECONNRESET: errno = ECONNRESET; break;
    case WSAECONNABORTED: errno = ECONNABORTED; break;
    case WSAENOTCONN: errno = ENOTCONN; break;
    case WSAESHUTDOWN: errno = EPIPE; break;
    case WSAENOTSOCK: errno = EBADF; break;
    default: errno = EIO; break;
    }
}
#endif

int n_backends(void)
{
    int n = 0;
    for (const char *const *b = cmio_backends(); *b; b++)
        n++;
    return n;
}

cmio_poll *open_poll(int backend_index)
{
    cmio_poll *p = NULL;
    const char *name = cmio_backends()[backend_index];
    ck_assert_ptr_nonnull(name);
    ck_assert_int_eq(cmio_poll_new_with_backend(&p, name), 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(cmio_poll_backend(p), name);
    return p;
}

cmio_events *open_events(size_t capacity)
{
    cmio_events *ev = NULL;
    ck_assert_int_eq(cmio_events_new(&ev, capacity), 0);
    return ev;
}

#if defined(_WIN32)
void stream_pair(cmio_fd sv[2])
{
    tcp_pair(sv);
}

void tcp_pair(cmio_fd sv[2])
{
    /* socket() makes overlapped sockets, which AFD polls; not inherited. */
    SOCKET l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    ck_assert_msg(l != INVALID_SOCKET, "socket: %d", WSAGetLastError());
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int len = sizeof(a);
    ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(l, 1), 0);
    ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
    SOCKET c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    ck_assert(c != INVALID_SOCKET);
    ck_assert_msg(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0, "connect: %d", WSAGetLastError());
    SOCKET s = accept(l, NULL, NULL);
    ck_assert_msg(s != INVALID_SOCKET, "accept: %d", WSAGetLastError());
    u_long on = 1;
    ck_assert_int_eq(ioctlsocket(c, FIONBIO, &on), 0);
    ck_assert_int_eq(ioctlsocket(s, FIONBIO, &on), 0);
    ck_assert(SetHandleInformation((HANDLE)c, HANDLE_FLAG_INHERIT, 0));
    ck_assert(SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0));
    closesocket(l);
    sv[0] = c;
    sv[1] = s;
}

void sock_close(cmio_fd fd)
{
    ck_assert_msg(closesocket(fd) == 0, "closesocket: %d", WSAGetLastError());
}

ssize_t sock_send(cmio_fd fd, const void *buf, size_t len)
{
    int n = send(fd, buf, (int)len, 0);
    if (n == SOCKET_ERROR) {
        set_errno_from_wsa();
        return -1;
    }
    return n;
}

ssize_t sock_recv(cmio_fd fd, void *buf, size_t len)
{
    int n = recv(fd, buf, (int)len, 0);
    if (n == SOCKET_ERROR) {
        set_errno_from_wsa();
        return -1;
    }
    return n;
}

static int errno_of_wsa(int code)
{
    switch (code) {
    case 0: return 0;
    case WSAECONNREFUSED: return ECONNREFUSED;
    case WSAECONNRESET: return ECONNRESET;
    case WSAECONNABORTED: return ECONNABORTED;
    case WSAETIMEDOUT: return ETIMEDOUT;
    case WSAENETUNREACH: return ENETUNREACH;
    case WSAEHOSTUNREACH: return EHOSTUNREACH;
    default: return EIO;
    }
}

int sock_error(cmio_fd fd)
{
    int err = 0;
    socklen_t len = sizeof(err);
    sock_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    return errno_of_wsa(err);
}

int sock_errno(void)
{
    int code = WSAGetLastError();
    switch (code) {
    case WSAEAFNOSUPPORT: return EAFNOSUPPORT;
    case WSAEADDRNOTAVAIL: return EADDRNOTAVAIL;
    case WSAEADDRINUSE: return EADDRINUSE;
    case WSAEWOULDBLOCK: return EAGAIN;
    case WSAEINPROGRESS: return EINPROGRESS;
    default: return errno_of_wsa(code);
    }
}

bool sock_inherited(cmio_fd fd)
{
    DWORD flags = 0;
    ck_assert(GetHandleInformation((HANDLE)fd, &flags));
    return (flags & HANDLE_FLAG_INHERIT) != 0;
}

bool sock_is_open(cmio_fd fd)
{
    DWORD flags;
    return GetHandleInformation((HANDLE)fd, &flags) != 0;
}

void need_descriptors(long n)
{
    (void)n; /* no such limit on sockets */
}

void sock_setsockopt(cmio_fd fd, int level, int name, const void *value, socklen_t len)
{
    ck_assert_msg(setsockopt(fd, level, name, value, len) == 0, "setsockopt: %d", WSAGetLastError());
}

void sock_getsockopt(cmio_fd fd, int level, int name, void *value, socklen_t *len)
{
    ck_assert_msg(getsockopt(fd, level, name, value, len) == 0, "getsockopt: %d", WSAGetLastError());
}

cmio_fd blocking_listener(cmio_sockaddr *addr)
{
    SOCKET l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    ck_assert(l != INVALID_SOCKET);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(l, 8), 0);
    int len = sizeof(addr->u.storage);
    ck_assert_int_eq(getsockname(l, &addr->u.sa, &len), 0);
    addr->len = (socklen_t)len;
    ck_assert(SetHandleInformation((HANDLE)l, HANDLE_FLAG_INHERIT, 0));
    return l;
}

cmio_fd blocking_accept(cmio_fd listener)
{
    SOCKET s = accept(listener, NULL, NULL);
    if (s == INVALID_SOCKET)
        set_errno_from_wsa();
    return s;
}

void sock_recv_timeout(cmio_fd fd, int seconds)
{
    DWORD ms = (DWORD)seconds * 1000;
    sock_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &ms, sizeof(ms));
}

void sock_send_timeout(cmio_fd fd, int seconds)
{
    DWORD ms = (DWORD)seconds * 1000;
    sock_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &ms, sizeof(ms));
}

void sock_set_nonblocking(cmio_fd fd)
{
    u_long on = 1;
    ck_assert_int_eq(ioctlsocket(fd, FIONBIO, &on), 0);
}

int sock_nonblocking(cmio_fd fd)
{
    (void)fd;
    return -1;
}

cmio_fd plain_socket(int family, int type)
{
    SOCKET s = socket(family, type, 0);
    ck_assert_msg(s != INVALID_SOCKET, "socket: %d", WSAGetLastError());
    ck_assert(SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0));
    return s;
}

short sock_poll(cmio_fd fd, short events, int timeout_ms)
{
    WSAPOLLFD pfd = {.fd = fd, .events = events};
    int n = WSAPoll(&pfd, 1, timeout_ms);
    ck_assert_msg(n >= 0, "WSAPoll: %d", WSAGetLastError());
    return n ? pfd.revents : 0;
}

cmio_fd closed_socket(void)
{
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    ck_assert(s != INVALID_SOCKET);
    sock_close(s);
    return s;
}

cmio_fd connect_refused(cmio_fd *holder)
{
    SOCKET h = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    ck_assert(h != INVALID_SOCKET);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int len = sizeof(a);
    ck_assert_int_eq(bind(h, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(h, (struct sockaddr *)&a, &len), 0);
    SOCKET c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    ck_assert(c != INVALID_SOCKET);
    u_long on = 1;
    ck_assert_int_eq(ioctlsocket(c, FIONBIO, &on), 0);
    int rc = connect(c, (struct sockaddr *)&a, sizeof(a));
    ck_assert(rc == SOCKET_ERROR && WSAGetLastError() == WSAEWOULDBLOCK);
    *holder = h;
    return c;
}

void env_set(const char *name, const char *value)
{
    ck_assert_int_eq(_putenv_s(name, value), 0);
}

void env_unset(const char *name)
{
    ck_assert_int_eq(_putenv_s(name, ""), 0);
}
#else
void stream_pair(cmio_fd sv[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

void sock_close(cmio_fd fd)
{
    ck_assert_msg(close(fd) == 0, "close(%d): %s", fd, strerror(errno));
}

ssize_t sock_send(cmio_fd fd, const void *buf, size_t len)
{
    return send(fd, buf, len, MSG_NOSIGNAL);
}

ssize_t sock_recv(cmio_fd fd, void *buf, size_t len)
{
    return recv(fd, buf, len, 0);
}

int sock_error(cmio_fd fd)
{
    int err = 0;
    socklen_t len = sizeof(err);
    sock_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    return err;
}

int sock_errno(void)
{
    return errno;
}

bool sock_inherited(cmio_fd fd)
{
    int fl = fcntl(fd, F_GETFD);
    ck_assert_int_ge(fl, 0);
    return !(fl & FD_CLOEXEC);
}

bool sock_is_open(cmio_fd fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

void need_descriptors(long n)
{
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < (rlim_t)n && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    ck_assert_msg(rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)n, "RLIMIT_NOFILE %ju is too low",
                  (uintmax_t)rl.rlim_cur);
}

void sock_setsockopt(cmio_fd fd, int level, int name, const void *value, socklen_t len)
{
    ck_assert_msg(setsockopt(fd, level, name, value, len) == 0, "setsockopt: %s", strerror(errno));
}

void sock_getsockopt(cmio_fd fd, int level, int name, void *value, socklen_t *len)
{
    ck_assert_msg(getsockopt(fd, level, name, value, len) == 0, "getsockopt: %s", strerror(errno));
}

cmio_fd blocking_listener(cmio_sockaddr *addr)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(l, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(l, 8), 0);
    addr->len = sizeof(addr->u.storage);
    ck_assert_int_eq(getsockname(l, &addr->u.sa, &addr->len), 0);
    return l;
}

cmio_fd blocking_accept(cmio_fd listener)
{
    return accept4(listener, NULL, NULL, SOCK_CLOEXEC);
}

void sock_recv_timeout(cmio_fd fd, int seconds)
{
    struct timeval tv = {.tv_sec = seconds};
    sock_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

void sock_send_timeout(cmio_fd fd, int seconds)
{
    struct timeval tv = {.tv_sec = seconds};
    sock_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

void sock_set_nonblocking(cmio_fd fd)
{
    int fl = fcntl(fd, F_GETFL);
    ck_assert_int_ge(fl, 0);
    ck_assert_int_eq(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

int sock_nonblocking(cmio_fd fd)
{
    int fl = fcntl(fd, F_GETFL);
    ck_assert_int_ge(fl, 0);
    return (fl & O_NONBLOCK) != 0;
}

cmio_fd plain_socket(int family, int type)
{
    int fd = socket(family, type | SOCK_CLOEXEC, 0);
    ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
    return fd;
}

short sock_poll(cmio_fd fd, short events, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    int n;
    do
        n = poll(&pfd, 1, timeout_ms);
    while (n < 0 && errno == EINTR);
    ck_assert_msg(n >= 0, "poll: %s", strerror(errno));
    return n ? pfd.revents : 0;
}

cmio_fd closed_socket(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    sock_close(fd);
    return fd;
}

cmio_fd connect_refused(cmio_fd *holder)
{
    int h = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(h, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    ck_assert_int_eq(bind(h, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(h, (struct sockaddr *)&a, &len), 0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(c, 0);
    int rc = connect(c, (struct sockaddr *)&a, sizeof(a));
    ck_assert(rc < 0 && errno == EINPROGRESS);
    *holder = h;
    return c;
}

void env_set(const char *name, const char *value)
{
    ck_assert_int_eq(setenv(name, value, 1), 0);
}

void env_unset(const char *name)
{
    ck_assert_int_eq(unsetenv(name), 0);
}

void tcp_pair(cmio_fd sv[2])
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(l, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(l, 1), 0);
    ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(c, 0);
    ck_assert_int_eq(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
    int s = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    ck_assert_int_ge(s, 0);
    ck_assert_int_eq(fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK), 0);
    close(l);
    sv[0] = c;
    sv[1] = s;
}
#endif

void put(cmio_fd fd, size_t len)
{
    char buf[4096];
    ck_assert_uint_le(len, sizeof(buf));
    memset(buf, 'x', len);
    ck_assert_int_eq(sock_send(fd, buf, len), (ssize_t)len);
}

size_t drain(cmio_fd fd)
{
    char buf[4096];
    size_t total = 0;
    /* Through cmio (a recv, so any socket), so that the -EAGAIN re-arms
     * the descriptor on backends that emulate edges. */
    cmio_tcp_stream s = {.fd = fd};
    for (int i = 0; i < 100000; i++) {
        ssize_t n = cmio_tcp_stream_read(&s, buf, sizeof(buf));
        if (n > 0) {
            total += (size_t)n;
            continue;
        }
        if (n < 0)
            ck_assert_msg(n == -EAGAIN, "read: %s", cmio_strerror((int)n));
        return total;
    }
    ck_abort_msg("drain did not end");
    return total;
}

int64_t now_ns(void)
{
#if defined(_WIN32)
    static LARGE_INTEGER freq;
    LARGE_INTEGER t;
    if (!freq.QuadPart)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&t);
    return (int64_t)(t.QuadPart / freq.QuadPart * 1000000000 + t.QuadPart % freq.QuadPart * 1000000000 / freq.QuadPart);
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
#endif
}

int64_t now_ms(void)
{
    return now_ns() / 1000000;
}

uint32_t wait_for(cmio_poll *p, cmio_events *ev, cmio_token token, uint32_t flags, int timeout_ms)
{
    uint32_t seen = 0;
    int64_t deadline = now_ms() + timeout_ms;
    for (int round = 0; round < 10000; round++) {
        int64_t left = deadline - now_ms();
        if (left < 0)
            break;
        int n = cmio_poll_poll(p, ev, (int)left);
        ck_assert_int_ge(n, 0);
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            const cmio_event *e = cmio_events_get(ev, i);
            if (cmio_event_token(e) == token)
                seen |= cmio_event_flags(e);
        }
        if ((seen & flags) == flags && seen)
            return seen;
    }
    return seen;
}

int count_events(cmio_poll *p, cmio_events *ev, cmio_token token, int timeout_ms)
{
    int count = 0;
    int64_t deadline = now_ms() + timeout_ms;
    for (int round = 0; round < 10000; round++) {
        int64_t left = deadline - now_ms();
        if (left < 0)
            break;
        int n = cmio_poll_poll(p, ev, (int)left);
        ck_assert_int_ge(n, 0);
        for (size_t i = 0; i < cmio_events_len(ev); i++)
            if (cmio_event_token(cmio_events_get(ev, i)) == token)
                count++;
    }
    return count;
}

#if defined(_WIN32)
void assert_nonblock_cloexec(cmio_fd fd)
{
    DWORD flags = 0;
    ck_assert_msg(fd != CMIO_FD_INVALID && GetHandleInformation((HANDLE)fd, &flags), "socket %llu is not open",
                  (unsigned long long)fd);
    ck_assert_msg(!(flags & HANDLE_FLAG_INHERIT), "socket %llu is inherited", (unsigned long long)fd);
}

bool fds_open(fd_set *set)
{
    FD_ZERO(set);
    return false;
}

long handles_open(void)
{
    /* The handle values that name an open handle (multiples of 4; the
     * tests' processes hold a few hundred at most). GetProcessHandleCount
     * would do on Windows, but Wine answers it with 0. */
    long n = 0;
    for (uintptr_t h = 4; h < 65536; h += 4) {
        DWORD flags;
        if (GetHandleInformation((HANDLE)h, &flags))
            n++;
    }
    return n;
}

int assert_new_fds_cloexec(const fd_set *before)
{
    (void)before;
    ck_abort_msg("descriptors cannot be listed on Windows (fds_open said so)");
    return 0;
}

void sigpipe_deadly(void)
{
}

test_signal_target interrupter_install(void)
{
    ck_abort_msg("no signals interrupt a poll on Windows (CMIO__SEL_NO_EINTR)");
    return (test_signal_target){0};
}

void interrupt_thread(test_signal_target target)
{
    (void)target;
    ck_abort_msg("no signals interrupt a poll on Windows (CMIO__SEL_NO_EINTR)");
}

#else
bool fds_open(fd_set *set)
{
    FD_ZERO(set);
    for (int fd = 0; fd < FD_SETSIZE; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            FD_SET(fd, set);
    return true;
}

long handles_open(void)
{
    long n = 0;
    for (int fd = 0; fd < FD_SETSIZE; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            n++;
    return n;
}

int assert_new_fds_cloexec(const fd_set *before)
{
    int checked = 0;
    for (int fd = 0; fd < FD_SETSIZE; fd++) {
        int flags = fcntl(fd, F_GETFD);
        if (flags < 0 || FD_ISSET(fd, before))
            continue;
        ck_assert_msg(flags & FD_CLOEXEC, "descriptor %d is not close-on-exec", fd);
        checked++;
    }
    return checked;
}

void assert_nonblock_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
    ck_assert_msg(fl >= 0 && fdfl >= 0, "descriptor %d is not open", fd);
    ck_assert_msg(fl & O_NONBLOCK, "descriptor %d is blocking", fd);
    ck_assert_msg(fdfl & FD_CLOEXEC, "descriptor %d is not close-on-exec", fd);
}

static void on_interrupt(int sig)
{
    (void)sig;
}

test_signal_target interrupter_install(void)
{
    struct sigaction sa = {.sa_handler = on_interrupt}; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    return (test_signal_target){.t = pthread_self()};
}

void interrupt_thread(test_signal_target target)
{
    ck_assert_int_eq(pthread_kill(target.t, SIGUSR1), 0);
}

void sigpipe_deadly(void)
{
    struct sigaction sa = {.sa_handler = SIG_DFL};
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGPIPE, &sa, NULL), 0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    ck_assert_int_eq(pthread_sigmask(SIG_UNBLOCK, &set, NULL), 0);
}

#endif

bool wait_seen(cmio_poll *p, cmio_events *ev, seen_flags *s, cmio_token token, uint32_t want)
{
    int64_t deadline = now_ms() + WAIT_MS;
    for (int round = 0; round < 10000; round++) {
        if ((s->flags[token] & want) == want) {
            s->flags[token] &= ~want;
            return true;
        }
        int64_t left = deadline - now_ms();
        if (left < 0)
            break;
        ck_assert_int_ge(cmio_poll_poll(p, ev, (int)left), 0);
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            const cmio_event *e = cmio_events_get(ev, i);
            if (cmio_event_token(e) < 8)
                s->flags[cmio_event_token(e)] |= cmio_event_flags(e);
        }
    }
    return false;
}

cmio_sockaddr parse_addr(const char *text)
{
    cmio_sockaddr a;
    ck_assert_int_eq(cmio_sockaddr_parse(&a, text), 0);
    return a;
}

bool addr_unavailable(int rc, cmio_fd fd, const char *text)
{
    if (rc != -EADDRNOTAVAIL && rc != -EAFNOSUPPORT)
        return false;
    ck_assert(fd == CMIO_FD_INVALID);
    fprintf(stderr, "%s is not available here (%s): test skipped\n", text, cmio_strerror(rc));
    return true;
}

bool same_addr(const cmio_sockaddr *a, const cmio_sockaddr *b)
{
    char x[CMIO_SOCKADDR_STRLEN], y[CMIO_SOCKADDR_STRLEN];
    ck_assert_int_gt(cmio_sockaddr_format(a, x, sizeof(x)), 0);
    ck_assert_int_gt(cmio_sockaddr_format(b, y, sizeof(y)), 0);
    return strcmp(x, y) == 0;
}

#if !defined(_WIN32)
static char tmp_dir[128];

void tmp_open(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base || strlen(base) > 60)
        base = "/tmp";
    snprintf(tmp_dir, sizeof(tmp_dir), "%s/cmio-XXXXXX", base);
    ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

void tmp_close(void)
{
    DIR *d = opendir(tmp_dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    ck_assert_int_eq(rmdir(tmp_dir), 0);
}

const char *tmp_path(char *buf, size_t size, const char *name)
{
    int n = snprintf(buf, size, "%s/%s", tmp_dir, name);
    ck_assert(n > 0 && (size_t)n < size);
    return buf;
}

void abstract_addr(cmio_sockaddr *a, char *name, size_t size)
{
    static int counter;
    snprintf(name, size, "cmio-%ld-%d-%lld", (long)getpid(), counter++, (long long)now_ms());
    ck_assert_int_eq(cmio_sockaddr_from_abstract(a, name, strlen(name)), 0);
}

const char *named_pipe_name(char *buf, size_t size)
{
    static unsigned counter;
    int n = snprintf(buf, size, "\\\\.\\pipe\\cmio-test-%ld-%u", (long)getpid(), ++counter);
    ck_assert(n > 0 && (size_t)n < size);
    return buf;
}

#else /* _WIN32 */
static char tmp_dir[MAX_PATH];

const char *named_pipe_name(char *buf, size_t size)
{
    static unsigned counter;
    int n = snprintf(buf, size, "\\\\.\\pipe\\cmio-test-%lu-%u", (unsigned long)GetCurrentProcessId(),
                     ++counter);
    ck_assert(n > 0 && (size_t)n < size);
    return buf;
}

/* A name under the temporary directory no earlier call of this process
 * gave: cmio-WHAT-PID-N (short: room for names under sun_path's 108 bytes). */
static void temp_name(char *path, size_t size, const char *what)
{
    static atomic_uint counter;
    char base[MAX_PATH];
    DWORD n = GetTempPathA(sizeof(base), base);
    ck_assert(n > 0 && n < 60);
    snprintf(path, size, "%scmio-%s-%lu-%u", base, what, (unsigned long)GetCurrentProcessId(),
             atomic_fetch_add(&counter, 1));
}

void tmp_open(void)
{
    for (int tries = 0; tries < 100; tries++) {
        temp_name(tmp_dir, sizeof(tmp_dir), "dir");
        if (CreateDirectoryA(tmp_dir, NULL))
            return;
        ck_assert_uint_eq(GetLastError(), ERROR_ALREADY_EXISTS);
    }
    ck_abort_msg("no fresh temporary directory");
}

void tmp_close(void)
{
    char pattern[MAX_PATH + 4], file[MAX_PATH * 2];
    snprintf(pattern, sizeof(pattern), "%s\\*", tmp_dir);
    WIN32_FIND_DATAA e;
    HANDLE h = FindFirstFileA(pattern, &e);
    if (h != INVALID_HANDLE_VALUE) {
        do {
            if (strcmp(e.cFileName, ".") != 0 && strcmp(e.cFileName, "..") != 0) {
                snprintf(file, sizeof(file), "%s\\%s", tmp_dir, e.cFileName);
                DeleteFileA(file);
            }
        } while (FindNextFileA(h, &e));
        FindClose(h);
    }
    ck_assert(RemoveDirectoryA(tmp_dir));
}

const char *tmp_path(char *buf, size_t size, const char *name)
{
    int n = snprintf(buf, size, "%s\\%s", tmp_dir, name);
    ck_assert(n > 0 && (size_t)n < size);
    return buf;
}

void abstract_addr(cmio_sockaddr *a, char *name, size_t size)
{
    (void)a;
    (void)name;
    (void)size;
    ck_abort_msg("no abstract namespace on Windows (cmio_sockaddr_from_abstract: -ENOTSUP)");
}
#endif

#if defined(_WIN32)
bool no_unix_sockets(void)
{
    char path[MAX_PATH + 64];
    temp_name(path, sizeof(path), "probe");
    cmio_unix_listener l = {CMIO_FD_INVALID};
    int err = cmio_unix_listener_bind(&l, path);
    if (err == 0) {
        cmio_unix_listener_close(&l);
        ck_assert(DeleteFileA(path));
        return false;
    }
    /* No AF_UNIX here: each constructor gives the answer the header
     * documents, and leaves nothing open. */
    ck_assert_msg(err == -ENOTSUP, "cmio_unix_listener_bind: %d, not 0 or -ENOTSUP", err);
    ck_assert(l.fd == CMIO_FD_INVALID);
    cmio_sockaddr a;
    ck_assert_int_eq(cmio_sockaddr_from_path(&a, path), 0);
    l.fd = (cmio_fd)1;
    ck_assert_int_eq(cmio_unix_listener_bind_addr(&l, &a), -ENOTSUP);
    ck_assert(l.fd == CMIO_FD_INVALID);
    cmio_unix_stream c = {(cmio_fd)1};
    ck_assert_int_eq(cmio_unix_stream_connect(&c, path), -ENOTSUP);
    ck_assert(c.fd == CMIO_FD_INVALID);
    c.fd = (cmio_fd)1;
    ck_assert_int_eq(cmio_unix_stream_connect_addr(&c, &a), -ENOTSUP);
    ck_assert(c.fd == CMIO_FD_INVALID);
    ck_assert_uint_eq(GetFileAttributesA(path), INVALID_FILE_ATTRIBUTES); /* nothing was bound */
    return true;
}

bool unix_pair_refused(int err, const cmio_unix_stream *a, const cmio_unix_stream *b)
{
    /* Winsock has no socketpair: the documented answer, nothing left open. */
    ck_assert_int_eq(err, -ENOTSUP);
    ck_assert(a->fd == CMIO_FD_INVALID && b->fd == CMIO_FD_INVALID);
    return true;
}

bool unix_stream_pair_or_skip(cmio_unix_stream *a, cmio_unix_stream *b)
{
    if (no_unix_sockets())
        return false;
    char path[MAX_PATH + 64];
    temp_name(path, sizeof(path), "pair");
    cmio_unix_listener l;
    ck_assert_int_eq(cmio_unix_listener_bind(&l, path), 0);
    ck_assert_int_eq(cmio_unix_stream_connect(a, path), 0);
    int err = -EAGAIN;
    for (int round = 0; round < 1000 && err == -EAGAIN; round++) {
        err = cmio_unix_listener_accept(&l, b, NULL);
        if (err == -EAGAIN)
            sock_poll(l.fd, POLLRDNORM, WAIT_MS);
    }
    ck_assert_int_eq(err, 0);
    sock_poll(a->fd, POLLWRNORM, WAIT_MS); /* the connect completed */
    cmio_unix_listener_close(&l);
    ck_assert(DeleteFileA(path));
    return true;
}

cmio_fd std_unix_connect(const cmio_sockaddr *addr)
{
    cmio_fd fd = plain_socket(AF_UNIX, SOCK_STREAM);
    ck_assert_int_eq(connect(fd, &addr->u.sa, addr->len), 0);
    return fd;
}

cmio_fd std_unix_listen(const cmio_sockaddr *addr, int backlog)
{
    cmio_fd fd = plain_socket(AF_UNIX, SOCK_STREAM);
    ck_assert_int_eq(bind(fd, &addr->u.sa, addr->len), 0);
    ck_assert_int_eq(listen(fd, backlog), 0);
    return fd;
}

void std_unix_pair(cmio_fd sv[2])
{
    char path[MAX_PATH + 64];
    temp_name(path, sizeof(path), "std");
    cmio_sockaddr a;
    ck_assert_int_eq(cmio_sockaddr_from_path(&a, path), 0);
    cmio_fd l = std_unix_listen(&a, 1);
    sv[0] = std_unix_connect(&a);
    sv[1] = blocking_accept(l);
    ck_assert(sv[1] != CMIO_FD_INVALID);
    sock_close(l);
    ck_assert(DeleteFileA(path));
}

bool no_unix_datagrams(void)
{
    char path[MAX_PATH + 64];
    temp_name(path, sizeof(path), "dgram");
    cmio_unix_datagram a = {(cmio_fd)1}, b = {(cmio_fd)1};
    ck_assert_int_eq(cmio_unix_datagram_bind(&a, path), -ENOTSUP);
    ck_assert(a.fd == CMIO_FD_INVALID);
    cmio_sockaddr addr;
    ck_assert_int_eq(cmio_sockaddr_from_path(&addr, path), 0);
    a.fd = (cmio_fd)1;
    ck_assert_int_eq(cmio_unix_datagram_bind_addr(&a, &addr), -ENOTSUP);
    ck_assert(a.fd == CMIO_FD_INVALID);
    ck_assert_uint_eq(GetFileAttributesA(path), INVALID_FILE_ATTRIBUTES); /* nothing was bound */
    a.fd = (cmio_fd)1;
    ck_assert_int_eq(cmio_unix_datagram_unbound(&a), -ENOTSUP);
    ck_assert(a.fd == CMIO_FD_INVALID);
    a.fd = (cmio_fd)1;
    ck_assert_int_eq(cmio_unix_datagram_pair(&a, &b), -ENOTSUP);
    ck_assert(a.fd == CMIO_FD_INVALID && b.fd == CMIO_FD_INVALID);
    return true;
}

void std_unix_dgram_pair(cmio_fd sv[2])
{
    (void)sv;
    ck_abort_msg("no AF_UNIX datagrams on Windows: ask no_unix_datagrams() first");
}

bool fd_limit_exhaust(fd_limit *l)
{
    *l = (fd_limit){.enforced = false}; /* no per-process descriptor limit */
    return false;
}

void fd_limit_restore(fd_limit *l)
{
    (void)l;
}

bool path_exists(const char *path)
{
    return GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES;
}

int path_unlink(const char *path)
{
    return DeleteFileA(path) ? 0 : -1;
}
#else
bool no_unix_sockets(void)
{
    return false; /* POSIX systems have AF_UNIX: the test's calls assert it */
}

bool unix_pair_refused(int err, const cmio_unix_stream *a, const cmio_unix_stream *b)
{
    (void)err; /* POSIX systems have socketpair: the test asserts success */
    (void)a;
    (void)b;
    return false;
}

bool unix_stream_pair_or_skip(cmio_unix_stream *a, cmio_unix_stream *b)
{
    ck_assert_int_eq(cmio_unix_stream_pair(a, b), 0);
    return true;
}

cmio_fd std_unix_connect(const cmio_sockaddr *addr)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, &addr->u.sa, addr->len), 0);
    return fd;
}

cmio_fd std_unix_listen(const cmio_sockaddr *addr, int backlog)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, &addr->u.sa, addr->len), 0);
    ck_assert_int_eq(listen(fd, backlog), 0);
    return fd;
}

void std_unix_pair(cmio_fd sv[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

bool no_unix_datagrams(void)
{
    return false; /* POSIX systems have them: the test's calls assert it */
}

void std_unix_dgram_pair(cmio_fd sv[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
}

bool fd_limit_exhaust(fd_limit *l)
{
    struct rlimit old, tight;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    l->old_cur = (unsigned long long)old.rlim_cur;
    /* The lowest free descriptor, taken: with the limit just above it, no
     * descriptor can be made. */
    l->probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(l->probe, 0);
    tight = old;
    tight.rlim_cur = (rlim_t)l->probe + 1;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &tight), 0);
    /* Some environments (valgrind) do not enforce the limit: then there is
     * no failure to observe. */
    l->enforced = socketpair(AF_UNIX, SOCK_STREAM, 0, l->raw) < 0 && errno == EMFILE;
    return l->enforced;
}

void fd_limit_restore(fd_limit *l)
{
    struct rlimit r;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &r), 0);
    r.rlim_cur = (rlim_t)l->old_cur;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &r), 0);
    close(l->probe);
    if (!l->enforced) {
        close(l->raw[0]);
        close(l->raw[1]);
    }
}

bool path_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

int path_unlink(const char *path)
{
    return unlink(path);
}
#endif

void assert_addr_text(const cmio_sockaddr *a, const char *want)
{
    char buf[256];
    ck_assert_int_eq(a->u.sa.sa_family, AF_UNIX);
    ck_assert_int_eq(cmio_sockaddr_format(a, buf, sizeof(buf)), (int)strlen(want));
    ck_assert_str_eq(buf, want);
}

#if defined(_WIN32)
test_tid current_tid(void)
{
    return GetCurrentThreadId();
}

int wait_until_blocked_in_poll(test_tid tid)
{
    int64_t deadline = now_ms() + WAIT_MS;
    for (int i = 0; i < 10000000 && now_ms() < deadline; i++) {
        for (size_t k = 0; k < CMIO__IOCP_WAITER_SLOTS; k++)
            if (atomic_load_explicit(&cmio__iocp_waiters[k], memory_order_acquire) == tid)
                return 1;
        SwitchToThread(); /* let the thread get there */
    }
    ck_abort_msg("thread %lu never waited in the selector", (unsigned long)tid);
    return 0;
}

static DWORD WINAPI thread_main(LPVOID arg)
{
    test_thread *t = arg;
    t->result = t->fn(t->arg);
    return 0;
}

void thread_start(test_thread *t, void *(*fn)(void *), void *arg)
{
    t->fn = fn;
    t->arg = arg;
    t->result = NULL;
    t->handle = CreateThread(NULL, 0, thread_main, t, 0, NULL);
    ck_assert_msg(t->handle != NULL, "CreateThread: %lu", (unsigned long)GetLastError());
}

void *thread_join(test_thread *t)
{
    ck_assert_uint_eq(WaitForSingleObject(t->handle, INFINITE), WAIT_OBJECT_0);
    CloseHandle(t->handle);
    return t->result;
}

void barrier_init(test_barrier *b, unsigned n)
{
    InitializeSRWLock(&b->lock);
    InitializeConditionVariable(&b->cv);
    b->n = n;
    b->waiting = 0;
    b->round = 0;
}

void barrier_wait(test_barrier *b)
{
    AcquireSRWLockExclusive(&b->lock);
    unsigned round = b->round;
    if (++b->waiting == b->n) {
        b->waiting = 0;
        b->round++;
        WakeAllConditionVariable(&b->cv);
    } else {
        while (round == b->round)
            SleepConditionVariableSRW(&b->cv, &b->lock, INFINITE, 0);
    }
    ReleaseSRWLockExclusive(&b->lock);
}

void barrier_destroy(test_barrier *b)
{
    (void)b;
}

#else
test_tid current_tid(void)
{
    return (test_tid)syscall(SYS_gettid);
}

static int in_selector_call(long nr)
{
    static const long calls[] = {
#ifdef SYS_epoll_wait
        SYS_epoll_wait,
#endif
#ifdef SYS_epoll_pwait
        SYS_epoll_pwait,
#endif
#ifdef SYS_epoll_pwait2
        SYS_epoll_pwait2,
#endif
#ifdef SYS_poll
        SYS_poll,
#endif
#ifdef SYS_ppoll
        SYS_ppoll,
#endif
    };
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
        if (calls[i] == nr)
            return 1;
    return 0;
}

int wait_until_blocked_in_poll(test_tid tid)
{
#ifdef __linux__
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
    int64_t deadline = now_ms() + WAIT_MS;
    for (int i = 0; i < 1000000 && now_ms() < deadline; i++) {
        FILE *f = fopen(path, "r");
        if (!f)
            return 0;
        long nr = -1;
        int got = fscanf(f, "%ld", &nr);
        fclose(f);
        if (got == 1 && in_selector_call(nr))
            return 1;
        struct timespec pause = {0, 200000}; /* re-read the thread's state */
        nanosleep(&pause, NULL);
    }
    ck_abort_msg("thread %d never blocked in the selector", (int)tid);
#else
    (void)tid;
#endif
    return 0;
}

void thread_start(test_thread *t, void *(*fn)(void *), void *arg)
{
    int err = pthread_create(&t->t, NULL, fn, arg);
    ck_assert_msg(err == 0, "pthread_create: %s", strerror(err));
}

void *thread_join(test_thread *t)
{
    void *result = NULL;
    ck_assert_int_eq(pthread_join(t->t, &result), 0);
    return result;
}

void barrier_init(test_barrier *b, unsigned n)
{
    ck_assert_int_eq(pthread_barrier_init(&b->b, NULL, n), 0);
}

void barrier_wait(test_barrier *b)
{
    int rc = pthread_barrier_wait(&b->b);
    ck_assert(rc == 0 || rc == PTHREAD_BARRIER_SERIAL_THREAD);
}

void barrier_destroy(test_barrier *b)
{
    ck_assert_int_eq(pthread_barrier_destroy(&b->b), 0);
}

#endif

int run_suite(Suite *s)
{
#if defined(_WIN32)
    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
        fprintf(stderr, "WSAStartup failed\n");
        return EXIT_FAILURE;
    }
#endif
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

void expect_events_at(cmio_poll *p, cmio_events *ev, const expect_event *want, size_t n, const char *file,
                      int line)
{
    bool found[16] = {false};
    ck_assert_uint_le(n, sizeof(found) / sizeof(found[0]));
    size_t missing = n;
    int64_t deadline = now_ms() + WAIT_MS;
    for (int round = 0; round < 1000 && missing > 0; round++) {
        int64_t left = deadline - now_ms();
        if (left < 0)
            break;
        int got = cmio_poll_poll(p, ev, (int)left);
        ck_assert_msg(got >= 0, "%s:%d: poll: %s", file, line, cmio_strerror(got));
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            const cmio_event *e = cmio_events_get(ev, i);
            for (size_t k = 0; k < n; k++) {
                if (!found[k] && cmio_event_token(e) == want[k].token &&
                    (cmio_event_flags(e) & want[k].flags) == want[k].flags) {
                    found[k] = true;
                    missing--;
                    break;
                }
            }
        }
    }
    for (size_t k = 0; k < n; k++)
        ck_assert_msg(found[k], "%s:%d: no event for token %lu with flags 0x%x", file, line,
                      (unsigned long)want[k].token, (unsigned)want[k].flags);
}

void expect_no_events_at(cmio_poll *p, cmio_events *ev, const char *file, int line)
{
    int got = cmio_poll_poll(p, ev, QUIET_MS);
    ck_assert_msg(got >= 0, "%s:%d: poll: %s", file, line, cmio_strerror(got));
    for (size_t i = 0; i < cmio_events_len(ev); i++) {
        const cmio_event *e = cmio_events_get(ev, i);
        fprintf(stderr, "%s:%d: unexpected event: token %lu, flags 0x%x\n", file, line,
                (unsigned long)cmio_event_token(e), (unsigned)cmio_event_flags(e));
    }
    ck_assert_msg(got == 0, "%s:%d: expected no events, poll returned %d", file, line, got);
}

struct in_addr loopback_v4(void)
{
    struct in_addr a = {.s_addr = htonl(INADDR_LOOPBACK)};
    return a;
}

unsigned loopback_ifindex(void)
{
#if defined(_WIN32)
    /* Windows's loopback pseudo-interface. */
    NET_LUID luid;
    NET_IFINDEX i = 0;
    if (ConvertInterfaceAliasToLuid(L"Loopback Pseudo-Interface 1", &luid) == NO_ERROR)
        ConvertInterfaceLuidToIndex(&luid, &i);
    return i ? (unsigned)i : if_nametoindex("loopback_0");
#else
    unsigned i = if_nametoindex("lo");
    return i ? i : if_nametoindex("lo0");
#endif
}

bool no_abstract_names(void)
{
    cmio_sockaddr a;
    int rc = cmio_sockaddr_from_abstract(&a, "x", 1);
#ifdef __linux__
    ck_assert_int_eq(rc, 0); /* Linux has abstract names */
#endif
    if (rc == -ENOTSUP)
        return true;
    ck_assert_int_eq(rc, 0);
    return false;
}

/* Child processes. */

enum { MAX_CHILDREN = 8 };
static test_child *live_children[MAX_CHILDREN];

static void child_track(test_child *c)
{
    for (int k = 0; k < MAX_CHILDREN; k++)
        if (live_children[k] == NULL) {
            live_children[k] = c;
            return;
        }
    ck_abort_msg("more than %d children at once", MAX_CHILDREN);
}

static void child_untrack(test_child *c)
{
    for (int k = 0; k < MAX_CHILDREN; k++)
        if (live_children[k] == c)
            live_children[k] = NULL;
}

static void child_init(test_child *c)
{
    c->eof = c->terminated = c->reaped = false;
    c->status = CHILD_RUNNING;
    c->len = 0;
    c->text[0] = '\0';
}

/* Where the next read goes: the rest of text, or once it is full a scratch
 * buffer whose bytes are dropped. */
static char *child_room(test_child *c, size_t *room)
{
    static char scratch[4096];
    if (c->len + 1 < sizeof(c->text)) {
        *room = sizeof(c->text) - 1 - c->len;
        return c->text + c->len;
    }
    *room = sizeof(scratch);
    return scratch;
}

static void child_took(test_child *c, size_t n)
{
    if (c->len + 1 >= sizeof(c->text))
        return;
#if defined(_WIN32)
    /* The Microsoft runtime writes a text stream's \n as \r\n: back to \n
     * (also when the two came in different reads). */
    char *in = c->text + c->len, *end = in + n;
    for (; in < end; in++) {
        if (*in == '\n' && c->len > 0 && c->text[c->len - 1] == '\r')
            c->len--;
        c->text[c->len++] = *in;
    }
#else
    c->len += n;
#endif
    c->text[c->len] = '\0';
}

#if defined(_WIN32)
/* One argument of a command line as the Microsoft runtime splits it:
 * quoted when it holds a blank or a quote (or is empty), a quote escaped,
 * and the backslashes before a quote (or the closing one) doubled. */
static size_t quote_arg(wchar_t *out, size_t at, size_t size, const wchar_t *arg)
{
    bool quote = arg[0] == L'\0' || wcspbrk(arg, L" \t\"") != NULL;
    size_t need = at + 3 + 2 * wcslen(arg);
    ck_assert_msg(need < size, "command line too long");
    if (quote)
        out[at++] = L'"';
    for (const wchar_t *p = arg;; p++) {
        size_t slashes = 0;
        while (*p == L'\\') {
            slashes++;
            p++;
        }
        if (*p == L'\0') {
            for (size_t k = 0; k < (quote ? 2 * slashes : slashes); k++)
                out[at++] = L'\\';
            break;
        }
        if (*p == L'"') {
            for (size_t k = 0; k < 2 * slashes + 1; k++)
                out[at++] = L'\\';
        } else {
            for (size_t k = 0; k < slashes; k++)
                out[at++] = L'\\';
        }
        out[at++] = *p;
    }
    if (quote)
        out[at++] = L'"';
    out[at] = L'\0';
    return at;
}

static void widen(wchar_t *out, int size, const char *text)
{
    ck_assert_msg(MultiByteToWideChar(CP_UTF8, 0, text, -1, out, size) > 0, "not UTF-8 or too long: %s", text);
}

static HANDLE inheritable(HANDLE h)
{
    HANDLE copy = NULL;
    ck_assert(DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &copy, 0, TRUE,
                              DUPLICATE_SAME_ACCESS));
    return copy;
}

void child_start(test_child *c, char *const argv[])
{
    static long serial;
    child_init(c);
    wchar_t app[MAX_PATH * 2], arg[1024], cmdline[8192];
    widen(app, MAX_PATH * 2, argv[0]);
    size_t at = 0;
    cmdline[0] = L'\0';
    for (int k = 0; argv[k] != NULL; k++) {
        if (k > 0)
            cmdline[at++] = L' ';
        widen(arg, 1024, argv[k]);
        at = quote_arg(cmdline, at, sizeof(cmdline) / sizeof(cmdline[0]), arg);
    }

    /* The pipe: a named one, so that the test's end can be overlapped
     * (an anonymous pipe cannot); the child's end inheritable. */
    wchar_t name[96];
    swprintf(name, 96, L"\\\\.\\pipe\\cmio-test-%lu-%ld", (unsigned long)GetCurrentProcessId(), ++serial);
    c->out = CreateNamedPipeW(name, PIPE_ACCESS_INBOUND | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
                              PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1, 0,
                              65536, 0, NULL);
    ck_assert_msg(c->out != INVALID_HANDLE_VALUE, "CreateNamedPipeW: %lu", GetLastError());
    SECURITY_ATTRIBUTES sa = {.nLength = sizeof(sa), .bInheritHandle = TRUE};
    HANDLE child_out = CreateFileW(name, GENERIC_WRITE, 0, &sa, OPEN_EXISTING, 0, NULL);
    ck_assert_msg(child_out != INVALID_HANDLE_VALUE, "CreateFileW(pipe): %lu", GetLastError());
    c->event = CreateEventW(NULL, TRUE, FALSE, NULL);
    ck_assert(c->event != NULL);
    OVERLAPPED ov = {.hEvent = c->event};
    ck_assert_msg(!ConnectNamedPipe(c->out, &ov) && GetLastError() == ERROR_PIPE_CONNECTED,
                  "ConnectNamedPipe: %lu", GetLastError());
    HANDLE child_in = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_EXISTING, 0,
                                  NULL);
    ck_assert(child_in != INVALID_HANDLE_VALUE);
    HANDLE err = GetStdHandle(STD_ERROR_HANDLE);
    HANDLE child_err = err != NULL && err != INVALID_HANDLE_VALUE
                           ? inheritable(err)
                           : CreateFileW(L"NUL", GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                                         OPEN_EXISTING, 0, NULL);
    ck_assert(child_err != INVALID_HANDLE_VALUE);

    /* Only these three are inherited (not the test's other handles). */
    HANDLE handles[3] = {child_in, child_out, child_err};
    SIZE_T size = 0;
    InitializeProcThreadAttributeList(NULL, 1, 0, &size);
    LPPROC_THREAD_ATTRIBUTE_LIST attrs = malloc(size);
    ck_assert_ptr_nonnull(attrs);
    ck_assert(InitializeProcThreadAttributeList(attrs, 1, 0, &size));
    ck_assert(UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, handles, sizeof(handles), NULL,
                                        NULL));
    STARTUPINFOEXW si = {.StartupInfo = {.cb = sizeof(si),
                                         .dwFlags = STARTF_USESTDHANDLES,
                                         .hStdInput = child_in,
                                         .hStdOutput = child_out,
                                         .hStdError = child_err},
                         .lpAttributeList = attrs};
    PROCESS_INFORMATION pi;
    BOOL ok = CreateProcessW(app, cmdline, NULL, NULL, TRUE, EXTENDED_STARTUPINFO_PRESENT, NULL, NULL,
                             &si.StartupInfo, &pi);
    DWORD why = GetLastError();
    DeleteProcThreadAttributeList(attrs);
    free(attrs);
    CloseHandle(child_in);
    CloseHandle(child_out); /* the child's copy is the only one: its end is the pipe's end */
    CloseHandle(child_err);
    ck_assert_msg(ok, "CreateProcessW(%s): %lu", argv[0], why);
    CloseHandle(pi.hThread);
    c->process = pi.hProcess;
    c->pid = pi.dwProcessId;
    child_track(c);
}

/* One read, waiting at most timeout_ms: the bytes read (0 at the end of
 * its output, -1 when the time ran out). */
static long child_read_some(test_child *c, int timeout_ms)
{
    size_t room;
    char *at = child_room(c, &room);
    OVERLAPPED ov = {.hEvent = c->event};
    DWORD n = 0;
    if (!ReadFile(c->out, at, (DWORD)room, &n, &ov)) {
        DWORD err = GetLastError();
        if (err == ERROR_BROKEN_PIPE)
            return 0;
        ck_assert_msg(err == ERROR_IO_PENDING, "ReadFile: %lu", err);
        if (WaitForSingleObject(c->event, (DWORD)(timeout_ms > 0 ? timeout_ms : 0)) != WAIT_OBJECT_0)
            CancelIoEx(c->out, &ov);
        /* Done or cancelled: the read owns at and ov until it says so. */
        if (!GetOverlappedResult(c->out, &ov, &n, TRUE)) {
            err = GetLastError();
            if (err == ERROR_BROKEN_PIPE)
                return 0;
            ck_assert_msg(err == ERROR_OPERATION_ABORTED, "GetOverlappedResult: %lu", err);
            if (n == 0)
                return -1;
        }
    }
    if (n == 0)
        return -1; /* a zero-byte write: nothing to count, no end either */
    child_took(c, n);
    return (long)n;
}

void child_terminate(test_child *c)
{
    if (TerminateProcess(c->process, 143))
        c->terminated = true;
}

static bool child_reap(test_child *c, int timeout_ms)
{
    if (WaitForSingleObject(c->process, (DWORD)(timeout_ms > 0 ? timeout_ms : 0)) != WAIT_OBJECT_0)
        return false;
    DWORD code = 0;
    ck_assert(GetExitCodeProcess(c->process, &code));
    c->status = c->terminated && code == 143 ? CHILD_TERMINATED : (int)code;
    CloseHandle(c->process);
    CloseHandle(c->out);
    CloseHandle(c->event);
    return true;
}

long child_pid(const test_child *c)
{
    return (long)c->pid;
}
#else
extern char **environ;

void child_start(test_child *c, char *const argv[])
{
    child_init(c);
    int fds[2];
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    ck_assert_int_eq(posix_spawn_file_actions_init(&fa), 0);
    ck_assert_int_eq(posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO), 0);
    ck_assert_int_eq(posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0), 0);
    int rc = posix_spawn(&c->pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    ck_assert_msg(rc == 0, "posix_spawn(%s): %s", argv[0], strerror(rc));
    c->out = fds[0];
    child_track(c);
}

void child_adopt(test_child *c, pid_t pid, int out)
{
    child_init(c);
    c->pid = pid;
    c->out = out;
    child_track(c);
}

static long child_read_some(test_child *c, int timeout_ms)
{
    struct pollfd pfd = {.fd = c->out, .events = POLLIN};
    int rc;
    do
        rc = poll(&pfd, 1, timeout_ms > 0 ? timeout_ms : 0);
    while (rc < 0 && errno == EINTR);
    ck_assert_msg(rc >= 0, "poll: %s", strerror(errno));
    if (rc == 0)
        return -1;
    size_t room;
    char *at = child_room(c, &room);
    ssize_t n = read(c->out, at, room);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return -1;
    ck_assert_msg(n >= 0, "read: %s", strerror(errno));
    child_took(c, (size_t)n);
    return (long)n;
}

void child_terminate(test_child *c)
{
    if (kill(c->pid, SIGTERM) == 0)
        c->terminated = true;
}

/* Reaps it once it has ended, polling waitpid for at most timeout_ms
 * (there is no bounded blocking wait for a child). */
static bool child_reap(test_child *c, int timeout_ms)
{
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        int status = 0;
        pid_t r = waitpid(c->pid, &status, WNOHANG);
        ck_assert_msg(r >= 0, "waitpid: %s", strerror(errno));
        if (r == c->pid) {
            if (WIFEXITED(status))
                c->status = WEXITSTATUS(status);
            else
                c->status = WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM && c->terminated ? CHILD_TERMINATED
                                                                                                : CHILD_SIGNALLED;
            close(c->out);
            return true;
        }
        if (now_ms() >= deadline)
            return false;
        struct timespec ms = {.tv_nsec = 1000000};
        nanosleep(&ms, NULL);
    }
}

long child_pid(const test_child *c)
{
    return (long)c->pid;
}
#endif

int occurrences(const char *text, const char *needle)
{
    int count = 0;
    for (const char *at = text; (at = strstr(at, needle)) != NULL; at++)
        count++;
    return count;
}

bool child_read_until(test_child *c, const char *needle, int times, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    while (occurrences(c->text, needle) < times && !c->eof && c->len + 1 < sizeof(c->text)) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            break;
        if (child_read_some(c, (int)left) == 0)
            c->eof = true;
    }
    return occurrences(c->text, needle) >= times;
}

int child_wait(test_child *c, int timeout_ms)
{
    if (c->reaped)
        return c->status;
    int64_t deadline = now_ms() + timeout_ms;
    /* Its output to the end first (it ends with the process, unless a
     * process it started holds it), then the process. */
    while (!c->eof) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return CHILD_RUNNING;
        if (child_read_some(c, (int)left) == 0)
            c->eof = true;
    }
    int64_t left = deadline - now_ms();
    if (!child_reap(c, (int)(left > 0 ? left : 0)))
        return CHILD_RUNNING;
    c->reaped = true;
    child_untrack(c);
    return c->status;
}

void child_cleanup(void)
{
    for (int k = 0; k < MAX_CHILDREN; k++) {
        test_child *c = live_children[k];
        if (c == NULL)
            continue;
        child_terminate(c);
        child_wait(c, WAIT_MS);
        live_children[k] = NULL;
    }
}
