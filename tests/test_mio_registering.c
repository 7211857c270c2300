/*
 * mio's tests/registering.rs, ported: one twin per test that maps onto cmio
 * (docs/porting-from-mio.md lists them all). Each runs on every backend.
 *
 * SPDX-License-Identifier: MIT
 */
#include "mio_util.h"

#include <errno.h>
#include <string.h>
#if !defined(_WIN32)
#include <unistd.h>
#endif

enum { SERVER = 0, CLIENT = 1 };

/* mio's TestHandler of register_deregister. */
struct handler {
    cmio_registry *r;
    cmio_tcp_listener server;
    cmio_tcp_stream client;
    int state;
};

static void handle_read(struct handler *h, cmio_token token)
{
    switch (token) {
    case SERVER: {
        cmio_tcp_stream sock;
        ck_assert_int_eq(cmio_tcp_listener_accept(&h->server, &sock, NULL), 0);
        ssize_t n = cmio_tcp_stream_write(&sock, "foobar", 6);
        ck_assert_msg(n == 6 || n == -EAGAIN, "write: %s", cmio_strerror((int)n));
        cmio_tcp_stream_close(&sock); /* mio drops it here */
        break;
    }
    case CLIENT:
        ck_assert_int_eq(h->state, 0);
        h->state = 1;
        ck_assert_int_eq(cmio_registry_reregister(h->r, h->client.fd, CLIENT, CMIO_WRITABLE), 0);
        break;
    default:
        ck_abort_msg("unexpected token %lu", (unsigned long)token);
    }
}

static void handle_write(struct handler *h, cmio_token token)
{
    ck_assert_uint_eq(token, CLIENT);
    ck_assert_int_eq(h->state, 1);
    h->state = 2;
    ck_assert_int_eq(cmio_registry_deregister(h->r, h->client.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(h->r, h->server.fd), 0);
}

/* register_deregister: the server accepts and writes, the client's
 * readable event switches it to writable, the writable event deregisters
 * both; afterwards the poll reports nothing. */
START_TEST(mio_register_deregister)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(1024);
    struct handler h = {.r = cmio_poll_registry(p)};
    cmio_sockaddr addr;
    listen_any(&h.server, &addr);
    ck_assert_int_eq(cmio_registry_register(h.r, h.server.fd, SERVER, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_tcp_stream_connect(&h.client, &addr), 0);
    ck_assert_int_eq(cmio_registry_register(h.r, h.client.fd, CLIENT, CMIO_READABLE), 0);

    int64_t deadline = now_ms() + WAIT_MS;
    for (int round = 0; round < 1000 && h.state != 2; round++) {
        int64_t left = deadline - now_ms();
        ck_assert_msg(left >= 0, "stuck in state %d", h.state);
        ck_assert_int_ge(cmio_poll_poll(p, ev, (int)left), 0);
        for (size_t i = 0; i < cmio_events_len(ev) && h.state != 2; i++) {
            const cmio_event *e = cmio_events_get(ev, i);
            if (cmio_event_is_readable(e))
                handle_read(&h, cmio_event_token(e));
            if (cmio_event_is_writable(e))
                handle_write(&h, cmio_event_token(e));
        }
    }
    ck_assert_int_eq(h.state, 2);

    ck_assert_int_eq(cmio_poll_poll(p, ev, 100), 0);
    cmio_tcp_stream_close(&h.client);
    cmio_tcp_listener_close(&h.server);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* reregister_different_interest_without_poll: a listener whose pending
 * connection was not yet polled is reregistered for writing only; the
 * queued readable readiness is not reported under the new interest. mio
 * sleeps 200 ms to let the connection arrive; here a poll(2) of the
 * listener's own waits for it. */
START_TEST(mio_reregister_different_interest_without_poll)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(1024);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_tcp_listener l;
    cmio_sockaddr addr;
    listen_any(&l, &addr);
    ck_assert_int_eq(cmio_registry_register(r, l.fd, 0, CMIO_READABLE), 0);
    cmio_tcp_stream s1;
    ck_assert_int_eq(cmio_tcp_stream_connect(&s1, &addr), 0);
    ck_assert_int_eq(cmio_registry_register(r, s1.fd, 2, CMIO_READABLE), 0);

    wait_level(l.fd, POLLIN);
    ck_assert_int_eq(cmio_registry_reregister(r, l.fd, 0, CMIO_WRITABLE), 0);

    ck_assert_int_eq(cmio_poll_poll(p, ev, 200), 0);

    ck_assert_int_eq(cmio_registry_deregister(r, s1.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, l.fd), 0);
    cmio_tcp_stream_close(&s1);
    cmio_tcp_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

/* registering_after_deregistering: register, deregister, register again
 * succeeds, and an idle listener reports nothing. */
START_TEST(mio_registering_after_deregistering)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_tcp_listener server;
    cmio_sockaddr addr;
    listen_any(&server, &addr);
    ck_assert_int_eq(cmio_registry_register(r, server.fd, SERVER, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, server.fd), 0);
    ck_assert_int_eq(cmio_registry_register(r, server.fd, SERVER, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_poll_poll(p, ev, 100), 0);
    ck_assert_uint_eq(cmio_events_len(ev), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, server.fd), 0);
    cmio_tcp_listener_close(&server);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

static Suite *mio_registering_suite(void)
{
    Suite *s = suite_create("mio_registering");
    TCase *tc = tcase_create("registering.rs");
    tcase_set_timeout(tc, 60);
    add_backend_test(tc, mio_register_deregister);
    add_backend_test(tc, mio_reregister_different_interest_without_poll);
    add_backend_test(tc, mio_registering_after_deregistering);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(mio_registering_suite()); }
