/*
 * A smoke test of the Windows selector (sys/windows.c, sys/afd.c) by
 * itself, without Check and without the rest of the library: it drives
 * cmio__selector_iocp through its table (sys/selector.h) on loopback TCP
 * sockets. Built from this file and sys/afd.c, with CMIO_HAVE_IOCP, the
 * include and sys directories and ws2_32: it compiles sys/windows.c itself,
 * with calloc and free counted, and defines the one symbol of the core the
 * selector uses (cmio__rearm_users). Exit status 0 when every check passed;
 * each failure is printed.
 *
 * Cases: a listener's accept readiness, a connect's writable event, data's
 * readable event; the emulated edge (a reported direction stays disarmed
 * until the rearm hook is called for it after -EAGAIN, or the socket is
 * reregistered); the peer's shutdown (read-closed) after reported data; a
 * reset (both closed); a refused connect (error); -EEXIST, -ENOENT, -EBADF;
 * deregistering cancels the poll and frees the state when its completion
 * is dequeued; a socket closed while registered is forgotten; level and
 * oneshot modes; the events buffer's capacity; a registry clone; two
 * wakers (their wakes coalesced per waker; woken from another thread while
 * select waits); a registration from another thread while select waits;
 * closing with registrations left; the timeout.
 *
 * SPDX-License-Identifier: MIT
 */
#include <winsock2.h>
#include <windows.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The selector's live allocations: sys/windows.c is compiled here, with
 * its calloc and free counted. */
static volatile LONG live_allocs, alloc_calls;
static void *smoke_calloc(size_t n, size_t size)
{
    InterlockedIncrement(&alloc_calls);
    void *p = calloc(n, size);
    if (p)
        InterlockedIncrement(&live_allocs);
    return p;
}
static void smoke_free(void *p)
{
    if (p)
        InterlockedDecrement(&live_allocs);
    free(p);
}
#define calloc smoke_calloc
#define free smoke_free
#include "../sys/windows.c"
#undef calloc
#undef free

atomic_uint cmio__rearm_users; /* the core's (src/rearm.c) */

static const cmio__selector *sel = &cmio__selector_iocp;
static int failures;

#define CHECK(cond)                                                                                            \
    do {                                                                                                       \
        if (!(cond)) {                                                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                           \
            failures++;                                                                                        \
        }                                                                                                      \
    } while (0)
#define CHECK_EQ(a, b)                                                                                         \
    do {                                                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                                                    \
        if (a_ != b_) {                                                                                        \
            fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, a_, b_);             \
            failures++;                                                                                        \
        }                                                                                                      \
    } while (0)

#define WAIT_MS 5000
#define QUIET_MS 100

static cmio_events *events_new(size_t capacity)
{
    cmio_events *ev = calloc(1, sizeof(*ev));
    ev->items = calloc(capacity, sizeof(cmio_event));
    ev->scratch = calloc(capacity, sel->record_size);
    ev->capacity = capacity;
    return ev;
}

static void events_free(cmio_events *ev)
{
    free(ev->items);
    free(ev->scratch);
    free(ev);
}

/* Flags (and AFD bits) seen per token below 16 and not yet waited for,
 * kept across waits so that an event for one token is not lost while the
 * test waits for another (two can come in one select). */
static uint32_t seen[16], raw_seen[16];

static void note(const cmio_event *e, cmio_token except)
{
    cmio_token t = cmio_event_token(e);
    if (t < 16 && t != except) {
        seen[t] |= cmio_event_flags(e);
        raw_seen[t] |= e->flags;
    }
}

/* Select until events for token have carried every CMIO_EVENT_* bit of
 * want, bounded by WAIT_MS; returns the union of the flags seen for token
 * since the last wait for it (0 if none). */
static uint32_t wait_for(cmio__sys *sys, cmio_events *ev, cmio_token token, uint32_t want)
{
    ULONGLONG end = GetTickCount64() + WAIT_MS;
    for (int i = 0; i < 10000; i++) {
        if (seen[token] && (seen[token] & want) == want)
            break;
        if (GetTickCount64() >= end)
            break;
        int n = sel->select(sys, ev, 50);
        for (int k = 0; k < n; k++)
            note(&ev->items[k], (cmio_token)-1);
    }
    uint32_t r = seen[token];
    seen[token] = 0;
    return r;
}

/* Events for token over QUIET_MS (others are kept for their waits). */
static int count_events(cmio__sys *sys, cmio_events *ev, cmio_token token)
{
    int c = seen[token] != 0;
    seen[token] = 0;
    ULONGLONG end = GetTickCount64() + QUIET_MS;
    for (int i = 0; i < 10000 && GetTickCount64() < end; i++) {
        int n = sel->select(sys, ev, 10);
        for (int k = 0; k < n; k++) {
            c += cmio_event_token(&ev->items[k]) == token;
            note(&ev->items[k], token);
        }
    }
    return c;
}

static void nonblock(SOCKET s)
{
    u_long on = 1;
    ioctlsocket(s, FIONBIO, &on);
}

static SOCKET listener(struct sockaddr_in *addr)
{
    SOCKET l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int len = sizeof(a);
    CHECK(bind(l, (struct sockaddr *)&a, sizeof(a)) == 0);
    CHECK(listen(l, 16) == 0);
    CHECK(getsockname(l, (struct sockaddr *)&a, &len) == 0);
    nonblock(l);
    *addr = a;
    return l;
}

/* A connected non-blocking pair (client, accepted), set up without the
 * selector. */
static void tcp_pair(SOCKET l, const struct sockaddr_in *a, SOCKET sv[2])
{
    SOCKET c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    CHECK(connect(c, (const struct sockaddr *)a, sizeof(*a)) == 0);
    SOCKET s = INVALID_SOCKET;
    ULONGLONG end = GetTickCount64() + WAIT_MS;
    while (s == INVALID_SOCKET && GetTickCount64() < end) {
        s = accept(l, NULL, NULL);
        if (s == INVALID_SOCKET)
            Sleep(1); /* the blocking connect returned: the accept is there */
    }
    CHECK(s != INVALID_SOCKET);
    nonblock(c);
    nonblock(s);
    sv[0] = c;
    sv[1] = s;
}

/* Read s until WSAEWOULDBLOCK (or end of stream); the bytes read. */
static int drain(SOCKET s)
{
    char buf[4096];
    int total = 0;
    for (int i = 0; i < 1000; i++) {
        int n = recv(s, buf, sizeof(buf), 0);
        if (n <= 0) {
            if (n < 0)
                CHECK_EQ(WSAGetLastError(), WSAEWOULDBLOCK);
            break;
        }
        total += n;
    }
    return total;
}

/* ---- cross-thread cases ---------------------------------------------- */

struct helper {
    HANDLE go;               /* set by the select thread just before it selects */
    cmio__waker_sys *w1, *w2;
    cmio__sys *sys;
    SOCKET sock;
    cmio_token token;
    int result;
};

/* The pause after the handshake only makes it likely that the select thread
 * is already blocked; the checks hold either way (a completion queued
 * before the wait is dequeued by it). */
static DWORD WINAPI wake_each(LPVOID arg)
{
    struct helper *h = arg;
    WaitForSingleObject(h->go, INFINITE);
    Sleep(50);
    h->result = sel->waker_wake(h->w1);
    if (h->result == 0)
        h->result = sel->waker_wake(h->w2);
    return 0;
}

static DWORD WINAPI register_from_thread(LPVOID arg)
{
    struct helper *h = arg;
    WaitForSingleObject(h->go, INFINITE);
    Sleep(50);
    h->result = sel->reg(h->sys, h->sock, h->token, CMIO_READABLE);
    return 0;
}

int main(void)
{
    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
        fprintf(stderr, "WSAStartup failed\n");
        return 2;
    }
    cmio__sys *sys = NULL;
    int err = sel->open(&sys);
    CHECK_EQ(err, 0);
    if (err)
        return 1;
    CHECK_EQ(atomic_load(&cmio__rearm_users), 1);
    cmio_events *ev = events_new(16);

    /* A listener; a client connecting to it (connect in progress). */
    struct sockaddr_in addr;
    SOCKET l = listener(&addr);
    CHECK_EQ(sel->reg(sys, l, 1, CMIO_READABLE), 0);
    SOCKET c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    nonblock(c);
    int rc = connect(c, (struct sockaddr *)&addr, sizeof(addr));
    CHECK(rc == 0 || WSAGetLastError() == WSAEWOULDBLOCK);
    CHECK_EQ(sel->reg(sys, c, 2, CMIO_READABLE | CMIO_WRITABLE), 0);

    /* The listener reads as readable (AFD_POLL_ACCEPT); the client as
     * writable once connected. */
    CHECK(wait_for(sys, ev, 1, CMIO_EVENT_READABLE) & CMIO_EVENT_READABLE);
    SOCKET s = accept(l, NULL, NULL);
    CHECK(s != INVALID_SOCKET);
    nonblock(s);
    CHECK(accept(l, NULL, NULL) == INVALID_SOCKET && WSAGetLastError() == WSAEWOULDBLOCK);
    sel->rearm(l, CMIO_READABLE);
    uint32_t f = wait_for(sys, ev, 2, CMIO_EVENT_WRITABLE);
    CHECK(f & CMIO_EVENT_WRITABLE);
    CHECK(!(f & (CMIO_EVENT_ERROR | CMIO_EVENT_READ_CLOSED | CMIO_EVENT_WRITE_CLOSED)));

    /* Registration errors. */
    CHECK_EQ(sel->reg(sys, c, 9, CMIO_READABLE), -EEXIST);
    CHECK_EQ(sel->rereg(sys, s, 9, CMIO_READABLE), -ENOENT);
    CHECK_EQ(sel->dereg(sys, s), -ENOENT);
    SOCKET closed = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    closesocket(closed);
    CHECK_EQ(sel->reg(sys, closed, 9, CMIO_READABLE), -EBADF);
    CHECK_EQ(sel->reg(sys, INVALID_SOCKET, 9, CMIO_READABLE), -EBADF);
    CHECK_EQ(sel->rereg(sys, closed, 9, CMIO_READABLE), -EBADF);
    CHECK_EQ(sel->dereg(sys, closed), -EBADF);

    /* Data: readable, then disarmed until -EAGAIN and the rearm hook. */
    CHECK_EQ(sel->reg(sys, s, 3, CMIO_READABLE), 0);
    CHECK_EQ(count_events(sys, ev, 3), 0);
    CHECK_EQ(send(c, "a", 1, 0), 1);
    f = wait_for(sys, ev, 3, CMIO_EVENT_READABLE);
    CHECK(f & CMIO_EVENT_READABLE);
    CHECK(!(f & CMIO_EVENT_READ_CLOSED));
    CHECK_EQ(send(c, "b", 1, 0), 1);
    CHECK_EQ(count_events(sys, ev, 3), 0); /* disarmed: nothing owed yet */
    CHECK_EQ(drain(s), 2);
    sel->rearm(s, CMIO_READABLE);
    CHECK_EQ(count_events(sys, ev, 3), 0); /* re-armed, nothing there */
    CHECK_EQ(send(c, "c", 1, 0), 1);
    CHECK(wait_for(sys, ev, 3, CMIO_EVENT_READABLE) & CMIO_EVENT_READABLE);
    CHECK_EQ(count_events(sys, ev, 3), 0);
    /* The writable direction of the client was reported once. */
    CHECK_EQ(count_events(sys, ev, 2), 0);
    /* Reregistering re-arms what holds: the unread "c". */
    CHECK_EQ(sel->rereg(sys, s, 4, CMIO_READABLE), 0);
    CHECK(wait_for(sys, ev, 4, CMIO_EVENT_READABLE) & CMIO_EVENT_READABLE);
    CHECK_EQ(drain(s), 1);
    sel->rearm(s, CMIO_READABLE);

    /* The peer's shutdown: read-closed (AFD_POLL_DISCONNECT), not write-closed. */
    CHECK_EQ(shutdown(c, SD_SEND), 0);
    f = wait_for(sys, ev, 4, CMIO_EVENT_READ_CLOSED);
    CHECK(f & CMIO_EVENT_READ_CLOSED);
    CHECK(!(f & CMIO_EVENT_WRITE_CLOSED));
    CHECK(!(f & CMIO_EVENT_ERROR));
    printf("shutdown: AFD bits 0x%03x\n", (unsigned)raw_seen[4]);
    CHECK_EQ(count_events(sys, ev, 4), 0); /* once per occurrence */

    /* Deregistering cancels the poll in flight; the state goes when the
     * cancellation's completion is dequeued. */
    LONG before = live_allocs;
    CHECK_EQ(sel->dereg(sys, c), 0);
    CHECK_EQ(sel->dereg(sys, c), -ENOENT);
    CHECK_EQ(count_events(sys, ev, 2), 0);
    CHECK_EQ(live_allocs, before - 1);
    /* And the socket may be registered again. */
    CHECK_EQ(sel->reg(sys, c, 2, CMIO_READABLE), 0);
    CHECK_EQ(count_events(sys, ev, 2), 0);
    CHECK_EQ(send(s, "d", 1, 0), 1);
    CHECK(wait_for(sys, ev, 2, CMIO_EVENT_READABLE) & CMIO_EVENT_READABLE);
    CHECK_EQ(sel->dereg(sys, c), 0);
    CHECK_EQ(sel->dereg(sys, s), 0);
    closesocket(c);
    closesocket(s);

    /* A reset: both directions closed (AFD_POLL_ABORT), whatever the
     * interest (CMIO__SEL_HUP_WHOLE). */
    SOCKET sv[2];
    tcp_pair(l, &addr, sv);
    CHECK_EQ(sel->reg(sys, sv[1], 5, CMIO_WRITABLE), 0);
    CHECK(wait_for(sys, ev, 5, CMIO_EVENT_WRITABLE) & CMIO_EVENT_WRITABLE);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    CHECK_EQ(setsockopt(sv[0], SOL_SOCKET, SO_LINGER, (const char *)&lg, sizeof(lg)), 0);
    closesocket(sv[0]);
    f = wait_for(sys, ev, 5, CMIO_EVENT_READ_CLOSED | CMIO_EVENT_WRITE_CLOSED);
    CHECK((f & (CMIO_EVENT_READ_CLOSED | CMIO_EVENT_WRITE_CLOSED)) == (CMIO_EVENT_READ_CLOSED | CMIO_EVENT_WRITE_CLOSED));
    CHECK(cmio__selector_iocp.caps & CMIO__SEL_HUP_WHOLE);
    printf("reset: AFD bits 0x%03x\n", (unsigned)raw_seen[5]);
    CHECK_EQ(count_events(sys, ev, 5), 0);

    /* A socket closed while registered is forgotten (its poll completes
     * with AFD_POLL_LOCAL_CLOSE): its state is freed, and a deregistration
     * finds nothing. */
    before = live_allocs;
    closesocket(sv[1]);
    CHECK_EQ(count_events(sys, ev, 5), 0);
    CHECK_EQ(live_allocs, before - 1);
    CHECK_EQ(sel->dereg(sys, sv[1]), -EBADF);

    /* A refused connect: an error (AFD_POLL_CONNECT_FAIL). */
    struct sockaddr_in gone;
    SOCKET l2 = listener(&gone);
    closesocket(l2);
    SOCKET r = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    nonblock(r);
    rc = connect(r, (struct sockaddr *)&gone, sizeof(gone));
    CHECK(rc != 0 && WSAGetLastError() == WSAEWOULDBLOCK);
    CHECK_EQ(sel->reg(sys, r, 6, CMIO_WRITABLE), 0);
    f = wait_for(sys, ev, 6, CMIO_EVENT_ERROR);
    CHECK(f & CMIO_EVENT_ERROR);
    CHECK(f & CMIO_EVENT_WRITE_CLOSED);
    printf("refused: AFD bits 0x%03x\n", (unsigned)raw_seen[6]);
    int soerr = 0, slen = sizeof(soerr);
    CHECK_EQ(getsockopt(r, SOL_SOCKET, SO_ERROR, (char *)&soerr, &slen), 0);
    printf("refused: SO_ERROR %d\n", soerr);
    CHECK_EQ(count_events(sys, ev, 6), 0);
    CHECK_EQ(sel->dereg(sys, r), 0);
    closesocket(r);

    /* Level mode: reported at every select while the data is unread. */
    tcp_pair(l, &addr, sv);
    CHECK_EQ(send(sv[0], "x", 1, 0), 1);
    CHECK_EQ(sel->reg(sys, sv[1], 7, CMIO_READABLE | CMIO_LEVEL), 0);
    CHECK(wait_for(sys, ev, 7, CMIO_EVENT_READABLE) & CMIO_EVENT_READABLE);
    int reported = 0;
    for (int i = 0; i < 3; i++) {
        int n = sel->select(sys, ev, 1000);
        for (int k = 0; k < n; k++)
            reported += cmio_event_token(&ev->items[k]) == 7;
    }
    CHECK_EQ(reported, 3);
    CHECK_EQ(drain(sv[1]), 1);
    /* Drained: the poll made at the next select waits. One event may
     * still be on its way from before the read. */
    (void)count_events(sys, ev, 7);
    CHECK_EQ(count_events(sys, ev, 7), 0);

    /* Oneshot: one report, then nothing until reregistered. */
    CHECK_EQ(sel->rereg(sys, sv[1], 8, CMIO_READABLE | CMIO_ONESHOT), 0);
    CHECK_EQ(send(sv[0], "y", 1, 0), 1);
    CHECK(wait_for(sys, ev, 8, CMIO_EVENT_READABLE) & CMIO_EVENT_READABLE);
    CHECK_EQ(count_events(sys, ev, 8), 0);
    sel->rearm(sv[1], CMIO_READABLE); /* leaves a oneshot registration alone */
    CHECK_EQ(count_events(sys, ev, 8), 0);
    CHECK_EQ(sel->rereg(sys, sv[1], 8, CMIO_READABLE | CMIO_ONESHOT), 0);
    CHECK(wait_for(sys, ev, 8, CMIO_EVENT_READABLE) & CMIO_EVENT_READABLE);
    CHECK_EQ(count_events(sys, ev, 8), 0);

    /* Capacity: two ready sockets, a buffer of one: one each time. */
    cmio_events *one = events_new(1);
    SOCKET sv2[2];
    tcp_pair(l, &addr, sv2);
    CHECK_EQ(send(sv2[0], "z", 1, 0), 1);
    CHECK_EQ(sel->rereg(sys, sv[1], 10, CMIO_READABLE), 0); /* "y" is unread */
    CHECK_EQ(sel->reg(sys, sv2[1], 11, CMIO_READABLE), 0);
    int got10 = 0, got11 = 0;
    for (int i = 0; i < 100 && !(got10 && got11); i++) {
        int n = sel->select(sys, one, 100);
        CHECK(n <= 1);
        if (n == 1) {
            got10 += cmio_event_token(&one->items[0]) == 10;
            got11 += cmio_event_token(&one->items[0]) == 11;
        }
    }
    CHECK_EQ(got10, 1);
    CHECK_EQ(got11, 1);
    events_free(one);

    /* A clone shares the port: registered through it, reported here. */
    cmio__sys *clone = NULL;
    CHECK_EQ(sel->clone(sys, &clone), 0);
    CHECK_EQ(sel->dereg(sys, sv2[1]), 0);
    CHECK_EQ(sel->reg(clone, sv2[1], 12, CMIO_READABLE), 0);
    CHECK(wait_for(sys, ev, 12, CMIO_EVENT_READABLE) & CMIO_EVENT_READABLE);
    CHECK_EQ(sel->reg(sys, sv2[1], 12, CMIO_READABLE), -EEXIST);
    sel->close(clone);

    /* Two wakers, each its own token. Woken twice each before a select:
     * one event per waker (the wakes coalesce). */
    struct helper h = {.go = CreateEventW(NULL, FALSE, FALSE, NULL), .sys = sys};
    CHECK_EQ(sel->waker_open(sys, 13, &h.w1), 0);
    CHECK_EQ(sel->waker_open(sys, 14, &h.w2), 0);
    CHECK_EQ(sel->dereg(sys, sv2[1]), 0);
    CHECK_EQ(sel->dereg(sys, sv[1]), 0);
    (void)count_events(sys, ev, 0); /* let the cancellations go by */
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(sel->waker_wake(h.w1), 0);
        CHECK_EQ(sel->waker_wake(h.w2), 0);
    }
    int w13 = 0, w14 = 0;
    int n = sel->select(sys, ev, 0);
    for (int k = 0; k < n; k++) {
        CHECK(cmio_event_is_readable(&ev->items[k]));
        w13 += cmio_event_token(&ev->items[k]) == 13;
        w14 += cmio_event_token(&ev->items[k]) == 14;
    }
    CHECK_EQ(n, 2);
    CHECK_EQ(w13, 1);
    CHECK_EQ(w14, 1);
    CHECK_EQ(count_events(sys, ev, 13) + count_events(sys, ev, 14), 0);
    /* Woken from another thread while select waits forever. */
    HANDLE t = CreateThread(NULL, 0, wake_each, &h, 0, NULL);
    SetEvent(h.go);
    w13 = w14 = 0;
    for (int i = 0; i < 4 && !(w13 && w14); i++) {
        n = sel->select(sys, ev, -1);
        CHECK(n > 0);
        for (int k = 0; k < n; k++) {
            w13 += cmio_event_token(&ev->items[k]) == 13;
            w14 += cmio_event_token(&ev->items[k]) == 14;
        }
    }
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
    CHECK_EQ(h.result, 0);
    CHECK_EQ(w13, 1);
    CHECK_EQ(w14, 1);
    CHECK_EQ(count_events(sys, ev, 13) + count_events(sys, ev, 14), 0);
    /* A wake after its event gives a new one. */
    CHECK_EQ(sel->waker_wake(h.w1), 0);
    CHECK_EQ(wait_for(sys, ev, 13, CMIO_EVENT_READABLE) & CMIO_EVENT_READABLE, CMIO_EVENT_READABLE);
    /* A waker closed with its packet in the port is freed by the select
     * that dequeues it. */
    before = live_allocs;
    CHECK_EQ(sel->waker_wake(h.w2), 0);
    sel->waker_close(h.w2);
    CHECK_EQ(live_allocs, before);
    CHECK_EQ(count_events(sys, ev, 14), 0);
    CHECK_EQ(live_allocs, before - 1);

    /* A registration from another thread while select waits forever. */
    CHECK_EQ(send(sv2[0], "w", 1, 0), 1); /* "z" and "w" unread */
    h.sock = sv2[1];
    h.token = 15;
    h.result = 1;
    t = CreateThread(NULL, 0, register_from_thread, &h, 0, NULL);
    SetEvent(h.go);
    n = sel->select(sys, ev, -1);
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
    CHECK_EQ(h.result, 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(cmio_event_token(&ev->items[0]), 15);
    CHECK(cmio_event_is_readable(&ev->items[0]));

    /* Nothing allocated by polling, re-arming, reregistering or waking. */
    LONG calls = alloc_calls;
    CHECK_EQ(drain(sv2[1]), 2);
    sel->rearm(sv2[1], CMIO_READABLE);
    CHECK_EQ(send(sv2[0], "v", 1, 0), 1);
    CHECK(wait_for(sys, ev, 15, CMIO_EVENT_READABLE) & CMIO_EVENT_READABLE);
    CHECK_EQ(sel->rereg(sys, sv2[1], 15, CMIO_READABLE | CMIO_WRITABLE), 0);
    CHECK(wait_for(sys, ev, 15, CMIO_EVENT_WRITABLE) & CMIO_EVENT_WRITABLE);
    CHECK_EQ(sel->waker_wake(h.w1), 0);
    CHECK(wait_for(sys, ev, 13, CMIO_EVENT_READABLE) & CMIO_EVENT_READABLE);
    CHECK_EQ(sel->select(sys, ev, 0), 0);
    CHECK_EQ(alloc_calls, calls);

    /* Churn: sockets closed with polls in flight, in level mode (a poll
     * completes at every select), reset and closed in turn; every state
     * goes with its last completion. */
    CHECK_EQ(sel->dereg(sys, sv2[1]), 0);
    (void)count_events(sys, ev, 0); /* its cancellation frees its state */
    before = live_allocs;
    for (int i = 0; i < 200; i++) {
        SOCKET p[2];
        tcp_pair(l, &addr, p);
        CHECK_EQ(send(p[0], "q", 1, 0), 1);
        CHECK_EQ(sel->reg(sys, p[0], 9, CMIO_READABLE | CMIO_WRITABLE | CMIO_LEVEL), 0);
        CHECK_EQ(sel->reg(sys, p[1], 9, CMIO_READABLE | CMIO_WRITABLE | (i % 2 ? CMIO_LEVEL : 0)), 0);
        (void)sel->select(sys, ev, 0);
        if (i % 3 == 0) {
            struct linger rst = {.l_onoff = 1, .l_linger = 0};
            setsockopt(p[0], SOL_SOCKET, SO_LINGER, (const char *)&rst, sizeof(rst));
        }
        closesocket(p[0]);
        (void)sel->select(sys, ev, 0);
        if (i % 2)
            CHECK_EQ(sel->dereg(sys, p[1]), 0);
        closesocket(p[1]);
        (void)sel->select(sys, ev, 0);
    }
    for (int i = 0; i < 100 && live_allocs != before; i++)
        (void)sel->select(sys, ev, 10);
    CHECK_EQ(live_allocs, before);

    /* The timeout: nothing to report, a wait of about its length. */
    ULONGLONG t0 = GetTickCount64();
    n = sel->select(sys, ev, 200);
    ULONGLONG took = GetTickCount64() - t0;
    CHECK_EQ(n, 0);
    printf("select(200) with nothing: %llu ms\n", (unsigned long long)took);
    CHECK_EQ(sel->select(sys, ev, 0), 0);

    /* Closing with registrations and a waker left: the last reference
     * cancels, dequeues and frees everything. */
    sel->waker_close(h.w1);
    CHECK_EQ(sel->reg(sys, sv[1], 16, CMIO_READABLE | CMIO_WRITABLE), 0);
    sel->close(sys);
    CHECK_EQ(live_allocs, 0);
    CHECK_EQ(atomic_load(&cmio__rearm_users), 0);
    CloseHandle(h.go);
    closesocket(sv[0]);
    closesocket(sv[1]);
    closesocket(sv2[0]);
    closesocket(sv2[1]);
    closesocket(l);
    events_free(ev);
    WSACleanup();
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    else
        printf("all checks passed\n");
    return failures ? 1 : 0;
}
