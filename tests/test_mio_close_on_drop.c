/*
 * mio's tests/close_on_drop.rs, ported (docs/porting-from-mio.md). It runs
 * on every backend.
 *
 * SPDX-License-Identifier: MIT
 */
#include "mio_util.h"

#include <errno.h>

enum { SERVER = 0, CLIENT = 1 };
enum state { INITIAL, AFTER_READ };

/* mio's TestHandler. */
struct handler {
    cmio_registry *r;
    cmio_tcp_listener srv;
    cmio_tcp_stream cli;
    enum state state;
    bool shutdown;
};

static void handle_read(struct handler *h, cmio_token tok)
{
    switch (tok) {
    case SERVER: {
        /* Accept and drop (close) the connection at once. */
        cmio_tcp_stream conn;
        ck_assert_int_eq(cmio_tcp_listener_accept(&h->srv, &conn, NULL), 0);
        cmio_tcp_stream_close(&conn);
        break;
    }
    case CLIENT: {
        char buf[4096];
        if (h->state == INITIAL) {
            ssize_t got = cmio_tcp_stream_read(&h->cli, buf, sizeof(buf)); /* mio only logs it */
            (void)got;
            h->state = AFTER_READ;
        }
        ssize_t n = cmio_tcp_stream_read(&h->cli, buf, 1024);
        ck_assert_msg(n >= 0, "unexpected error %s", cmio_strerror((int)n));
        ck_assert_msg(n == 0, "the client socket should not be readable (%zd bytes)", n);
        h->shutdown = true;
        break;
    }
    default:
        ck_abort_msg("received unknown token %lu", (unsigned long)tok);
    }
    ck_assert_int_eq(cmio_registry_reregister(h->r, h->cli.fd, CLIENT, CMIO_READABLE), 0);
}

static void handle_write(struct handler *h, cmio_token tok)
{
    ck_assert_msg(tok != SERVER, "received writable for token 0");
    ck_assert_msg(tok == CLIENT, "received unknown token %lu", (unsigned long)tok);
    /* Connected: from now on, wait for the server's close. */
    ck_assert_int_eq(cmio_registry_reregister(h->r, h->cli.fd, CLIENT, CMIO_READABLE), 0);
}

/* close_on_drop: the server accepts and closes the connection at once; the
 * client, once connected, gets a readable event and reads end of stream
 * (not -EAGAIN, not data). */
START_TEST(mio_close_on_drop)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(1024);
    struct handler h = {.r = cmio_poll_registry(p), .state = INITIAL};
    cmio_sockaddr addr;
    listen_any(&h.srv, &addr);
    ck_assert_int_eq(cmio_registry_register(h.r, h.srv.fd, SERVER, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_tcp_stream_connect(&h.cli, &addr), 0);
    ck_assert_int_eq(cmio_registry_register(h.r, h.cli.fd, CLIENT, CMIO_WRITABLE), 0);

    int64_t deadline = now_ms() + WAIT_MS;
    for (int round = 0; round < 1000 && !h.shutdown; round++) {
        int64_t left = deadline - now_ms();
        ck_assert_msg(left >= 0, "no end of stream seen (state %d)", (int)h.state);
        ck_assert_int_ge(cmio_poll_poll(p, ev, (int)left), 0);
        for (size_t i = 0; i < cmio_events_len(ev); i++) {
            const cmio_event *e = cmio_events_get(ev, i);
            if (cmio_event_is_readable(e))
                handle_read(&h, cmio_event_token(e));
            if (cmio_event_is_writable(e))
                handle_write(&h, cmio_event_token(e));
        }
    }
    ck_assert(h.shutdown);
    ck_assert_int_eq(h.state, AFTER_READ);

    ck_assert_int_eq(cmio_registry_deregister(h.r, h.cli.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(h.r, h.srv.fd), 0);
    cmio_tcp_stream_close(&h.cli);
    cmio_tcp_listener_close(&h.srv);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

static Suite *mio_close_on_drop_suite(void)
{
    Suite *s = suite_create("mio_close_on_drop");
    TCase *tc = tcase_create("close_on_drop.rs");
    tcase_set_timeout(tc, 60);
    add_backend_test(tc, mio_close_on_drop);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(mio_close_on_drop_suite()); }
