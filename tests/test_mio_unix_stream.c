/*
 * mio's tests/unix_stream.rs, ported: one twin per test, named mio_<test>
 * (the table is in docs/porting-from-mio.md). Every polling twin runs on
 * every backend built in; socket files live in a fresh temporary directory
 * per test.
 *
 * mio's peers are std sockets in threads: new_echo_listener accepts one
 * connection and echoes what it reads until the end of the stream,
 * new_noop_listener accepts and shuts its writing side down between two
 * barriers. Here the peer is a blocking std-like socket driven by the test
 * at the point of the sequence where mio's thread acts (the echo right
 * after the client's write, the shutdown where the barrier releases it),
 * so the client sees the same events; the peer's reads and writes are
 * bounded by socket timeouts, and the echo's count of bytes read and
 * written is checked as mio's thread does.
 *
 * SPDX-License-Identifier: MIT
 */
#include "mio_net.h"


static const char DATA1[] = "Hello same host!";
static const char DATA2[] = "Why hello mio!";
#define DATA1_LEN 16
#define DATA2_LEN 14
#define DEFAULT_BUF_SIZE 64

_Static_assert(sizeof(DATA1) - 1 == DATA1_LEN, "DATA1_LEN");
_Static_assert(sizeof(DATA2) - 1 == DATA2_LEN, "DATA2_LEN");

enum { TOKEN_1 = 0, TOKEN_2 = 1 };

/* The BSDs and macOS read end of stream after shutting reading down, and
 * report a write-side shutdown at once; Linux does neither (mio's cfgs). */
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__) ||             \
    defined(__DragonFly__)
#define BSD_SHUTDOWN 1
#else
#define BSD_SHUTDOWN 0
#endif

/* Bounds every blocking call of a peer socket. */
static void set_timeouts(cmio_fd fd)
{
    sock_recv_timeout(fd, WAIT_MS / 1000);
    sock_send_timeout(fd, WAIT_MS / 1000);
}

/* A std listener bound to path: blocking, made by plain socket calls. */
static cmio_fd std_listener(const char *path)
{
    cmio_sockaddr a;
    ck_assert_int_eq(cmio_sockaddr_from_path(&a, path), 0);
    cmio_fd fd = std_unix_listen(&a, 128);
    set_timeouts(fd); /* bounds accept */
    return fd;
}

/* std's blocking accept of the connection the test made. */
static cmio_fd std_accept(cmio_fd listener)
{
    cmio_fd fd = blocking_accept(listener);
    ck_assert_msg(fd != CMIO_FD_INVALID, "accept: %s", cmio_strerror(-errno));
    set_timeouts(fd);
    return fd;
}

/* mio's new_echo_listener, one connection. */
typedef struct echo_peer {
    char path[256];
    cmio_fd listener;
    cmio_fd conn;
    size_t read, written;
    bool done;
} echo_peer;

static void echo_open(echo_peer *e, const char *name)
{
    *e = (echo_peer){.listener = CMIO_FD_INVALID, .conn = CMIO_FD_INVALID};
    e->listener = std_listener(tmp_path(e->path, sizeof(e->path), name));
}

static void echo_accept(echo_peer *e)
{
    e->conn = std_accept(e->listener);
}

/* One turn of mio's echo loop: one read, and the write of what it read. A
 * reset, the end of the stream or a broken pipe ends the loop. */
static void echo_step(echo_peer *e)
{
    char buf[DEFAULT_BUF_SIZE];
    ssize_t n = sock_recv(e->conn, buf, sizeof(buf));
    if (n < 0 && (errno == ECONNRESET || errno == ECONNABORTED)) {
        e->done = true;
        return;
    }
    ck_assert_msg(n >= 0, "echo peer: read: %s", cmio_strerror(-errno));
    if (n == 0) {
        e->done = true;
        return;
    }
    e->read += (size_t)n;
    ssize_t w = sock_send(e->conn, buf, (size_t)n);
    if (w < 0 && errno == EPIPE) {
        e->done = true;
        return;
    }
    ck_assert_msg(w >= 0, "echo peer: write: %s", cmio_strerror(-errno));
    e->written += (size_t)w;
}

/* The echo of the next `len` bytes the client wrote. */
static void echo_bytes(echo_peer *e, size_t len)
{
    size_t want = e->read + len;
    for (int i = 0; i < 1000 && !e->done && e->read < want; i++)
        echo_step(e);
    ck_assert_uint_eq(e->read, want);
}

/* The client is gone: the loop runs to its end, having written all it read
 * (mio joins the thread and asserts the same). */
static void echo_finish(echo_peer *e)
{
    for (int i = 0; i < 1000 && !e->done; i++)
        echo_step(e);
    ck_assert(e->done);
    ck_assert_uint_eq(e->read, e->written);
    sock_close(e->conn);
    sock_close(e->listener);
}

static void deregister_close(cmio_registry *r, cmio_unix_stream *s)
{
    ck_assert_int_eq(cmio_registry_deregister(r, s->fd), 0);
    cmio_unix_stream_close(s);
    ck_assert_int_eq(s->fd, -1);
}

/* How a smoke test's client connects. */
typedef void (*connect_fn)(cmio_unix_stream *out, const char *path);

/* mio's smoke_test. */
static void smoke(int backend, connect_fn connect_stream, const char *name)
{
    cmio_poll *p = open_poll(backend);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    echo_peer e;
    echo_open(&e, name);

    cmio_unix_stream s;
    connect_stream(&s, e.path);
    echo_accept(&e);
    assert_nonblock_cloexec(s.fd);

    ck_assert_int_eq(cmio_registry_register(r, s.fd, TOKEN_1, CMIO_WRITABLE | CMIO_READABLE), 0);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_WRITABLE});

    char buf[DEFAULT_BUF_SIZE];
    assert_would_block(cmio_unix_stream_read(&s, buf, sizeof(buf)));

    checked_write(cmio_unix_stream_write(&s, DATA1, DATA1_LEN), DATA1_LEN);
    echo_bytes(&e, DATA1_LEN);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_READABLE});
    expect_read(cmio_unix_stream_read(&s, buf, sizeof(buf)), buf, DATA1, DATA1_LEN);
    ck_assert_int_eq(cmio_unix_stream_take_error(&s), 0);
    assert_would_block(cmio_unix_stream_read(&s, buf, sizeof(buf)));

    struct iovec out[2] = {{(void *)DATA1, DATA1_LEN}, {(void *)DATA2, DATA2_LEN}};
    ck_assert_int_eq(cmio_unix_stream_writev(&s, out, 2), DATA1_LEN + DATA2_LEN);
    echo_bytes(&e, DATA1_LEN + DATA2_LEN);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_READABLE});

    char buf1[DATA1_LEN], buf2[DATA2_LEN + 1];
    memset(buf1, 1, sizeof(buf1));
    memset(buf2, 2, sizeof(buf2));
    struct iovec in[2] = {{buf1, sizeof(buf1)}, {buf2, sizeof(buf2)}};
    ck_assert_int_eq(cmio_unix_stream_readv(&s, in, 2), DATA1_LEN + DATA2_LEN);
    ck_assert_int_eq(memcmp(buf1, DATA1, DATA1_LEN), 0);
    ck_assert_int_eq(memcmp(buf2, DATA2, DATA2_LEN), 0);
    ck_assert_int_eq(buf2[DATA2_LEN], 2); /* the last byte is untouched */

    deregister_close(r, &s);
    echo_finish(&e);
    cmio_events_free(ev);
    cmio_poll_free(p);
}

static void cmio_connect(cmio_unix_stream *out, const char *path)
{
    ck_assert_int_eq(cmio_unix_stream_connect(out, path), 0);
}

/* A std stream (blocking, plain socket calls) adopted with from_fd, which
 * makes it non-blocking and close-on-exec itself. */
static void std_connect_from_fd(cmio_unix_stream *out, const char *path)
{
    cmio_sockaddr a;
    ck_assert_int_eq(cmio_sockaddr_from_path(&a, path), 0);
    cmio_fd fd = std_unix_connect(&a);
    ck_assert_int_ne(sock_nonblocking(fd), 1);
    ck_assert_int_eq(cmio_unix_stream_from_fd(out, fd), 0);
}

START_TEST(mio_unix_stream_smoke)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    smoke(_i, cmio_connect, "unix_stream_smoke");
}
END_TEST

START_TEST(mio_unix_stream_connect)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    char path[256];
    cmio_fd listener = std_listener(tmp_path(path, sizeof(path), "unix_stream_connect"));
    cmio_unix_stream s;
    ck_assert_int_eq(cmio_unix_stream_connect(&s, path), 0);
    cmio_fd accepted = std_accept(listener);

    ck_assert_int_eq(cmio_registry_register(r, s.fd, TOKEN_1, CMIO_READABLE | CMIO_WRITABLE), 0);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_WRITABLE});

    sock_close(accepted); /* mio's thread drops its stream after the barrier */
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_READABLE});

    deregister_close(r, &s);
    sock_close(listener);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_unix_stream_connect_addr)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    char path[256];
    cmio_unix_listener l;
    ck_assert_int_eq(cmio_unix_listener_from_fd(
                         &l, std_listener(tmp_path(path, sizeof(path), "unix_stream_connect_addr"))),
                     0);
    cmio_sockaddr local;
    ck_assert_int_eq(cmio_unix_listener_local_addr(&l, &local), 0);
    assert_addr_text(&local, path);

    cmio_unix_stream s, accepted;
    ck_assert_int_eq(cmio_unix_stream_connect_addr(&s, &local), 0);
    ck_assert_int_eq(cmio_unix_listener_accept(&l, &accepted, NULL), 0);

    ck_assert_int_eq(cmio_registry_register(r, s.fd, TOKEN_1, CMIO_READABLE | CMIO_WRITABLE), 0);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_WRITABLE});

    cmio_unix_stream_close(&accepted);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_READABLE});

    deregister_close(r, &s);
    cmio_unix_listener_close(&l);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_unix_stream_from_std)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    smoke(_i, std_connect_from_fd, "unix_stream_from_std");
}
END_TEST

START_TEST(mio_unix_stream_pair)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_unix_stream s1, s2;
    int err = cmio_unix_stream_pair(&s1, &s2);
    if (unix_pair_refused(err, &s1, &s2)) {
        cmio_events_free(ev);
        cmio_poll_free(p);
        return;
    }
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(cmio_registry_register(r, s1.fd, TOKEN_1, CMIO_READABLE | CMIO_WRITABLE), 0);
    ck_assert_int_eq(cmio_registry_register(r, s2.fd, TOKEN_2, CMIO_READABLE | CMIO_WRITABLE), 0);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_WRITABLE});

    char buf[DEFAULT_BUF_SIZE];
    assert_would_block(cmio_unix_stream_read(&s1, buf, sizeof(buf)));

    checked_write(cmio_unix_stream_write(&s1, DATA1, DATA1_LEN), DATA1_LEN);
    expect_read(cmio_unix_stream_read(&s2, buf, sizeof(buf)), buf, DATA1, DATA1_LEN);
    assert_would_block(cmio_unix_stream_read(&s2, buf, sizeof(buf)));

    checked_write(cmio_unix_stream_write(&s2, DATA2, DATA2_LEN), DATA2_LEN);
    expect_read(cmio_unix_stream_read(&s1, buf, sizeof(buf)), buf, DATA2, DATA2_LEN);
    assert_would_block(cmio_unix_stream_read(&s2, buf, sizeof(buf)));

    deregister_close(r, &s1);
    deregister_close(r, &s2);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_unix_stream_peer_addr)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    echo_peer e;
    echo_open(&e, "unix_stream_peer_addr");
    cmio_unix_stream s;
    ck_assert_int_eq(cmio_unix_stream_connect(&s, e.path), 0);
    echo_accept(&e);

    cmio_sockaddr a;
    ck_assert_int_eq(cmio_unix_stream_peer_addr(&s, &a), 0);
    assert_addr_text(&a, e.path);
    ck_assert_int_eq(cmio_unix_stream_local_addr(&s, &a), 0);
    assert_addr_text(&a, ""); /* no path name */

    cmio_unix_stream_close(&s);
    echo_finish(&e);
}
END_TEST

/* The start of mio's shutdown tests: a stream connected to an echo peer,
 * registered READABLE | WRITABLE as TOKEN_1, seen writable, and DATA1
 * echoed back and reported readable (not read). */
struct shut {
    cmio_poll *p;
    cmio_events *ev;
    cmio_registry *r;
    echo_peer e;
    cmio_unix_stream s;
};

static void shut_open(struct shut *k, int backend, const char *name)
{
    k->p = open_poll(backend);
    k->ev = open_events(16);
    k->r = cmio_poll_registry(k->p);
    echo_open(&k->e, name);
    ck_assert_int_eq(cmio_unix_stream_connect(&k->s, k->e.path), 0);
    echo_accept(&k->e);
    ck_assert_int_eq(cmio_registry_register(k->r, k->s.fd, TOKEN_1, CMIO_READABLE | CMIO_WRITABLE), 0);
    expect_events(k->p, k->ev, {TOKEN_1, CMIO_EVENT_WRITABLE});
    checked_write(cmio_unix_stream_write(&k->s, DATA1, DATA1_LEN), DATA1_LEN);
    echo_bytes(&k->e, DATA1_LEN);
    expect_events(k->p, k->ev, {TOKEN_1, CMIO_EVENT_READABLE});
}

static void shut_close(struct shut *k)
{
    deregister_close(k->r, &k->s);
    echo_finish(&k->e);
    cmio_events_free(k->ev);
    cmio_poll_free(k->p);
}

START_TEST(mio_unix_stream_shutdown_read)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    struct shut k;
    shut_open(&k, _i, "unix_stream_shutdown_read");

    /* The echoed bytes are still unread: the read-closed event is owed all
     * the same. */
    ck_assert_int_eq(cmio_unix_stream_shutdown(&k.s, CMIO_SHUTDOWN_READ), 0);
    expect_events(k.p, k.ev, {TOKEN_1, CMIO_EVENT_READ_CLOSED});

#if BSD_SHUTDOWN
    char buf[DEFAULT_BUF_SIZE];
    expect_read(cmio_unix_stream_read(&k.s, buf, sizeof(buf)), buf, "", 0);
#endif

    shut_close(&k);
}
END_TEST

START_TEST(mio_unix_stream_shutdown_write)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    struct shut k;
    shut_open(&k, _i, "unix_stream_shutdown_write");

    ck_assert_int_eq(cmio_unix_stream_shutdown(&k.s, CMIO_SHUTDOWN_WRITE), 0);
#if BSD_SHUTDOWN
    expect_events(k.p, k.ev, {TOKEN_1, CMIO_EVENT_WRITE_CLOSED});
#endif

    /* BrokenPipe, and no SIGPIPE. */
    ck_assert_int_eq(cmio_unix_stream_write(&k.s, DATA2, DATA2_LEN), -EPIPE);
    /* Reading still works. */
    char buf[DEFAULT_BUF_SIZE];
    expect_read(cmio_unix_stream_read(&k.s, buf, sizeof(buf)), buf, DATA1, DATA1_LEN);

    shut_close(&k);
}
END_TEST

START_TEST(mio_unix_stream_shutdown_both)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    struct shut k;
    shut_open(&k, _i, "unix_stream_shutdown_both");

    ck_assert_int_eq(cmio_unix_stream_shutdown(&k.s, CMIO_SHUTDOWN_BOTH), 0);
    expect_events(k.p, k.ev, {TOKEN_1, CMIO_EVENT_WRITE_CLOSED});

#if BSD_SHUTDOWN
    char buf[DEFAULT_BUF_SIZE];
    expect_read(cmio_unix_stream_read(&k.s, buf, sizeof(buf)), buf, "", 0);
#endif
    ck_assert_int_eq(cmio_unix_stream_write(&k.s, DATA2, DATA2_LEN), -EPIPE);

    shut_close(&k);
}
END_TEST

START_TEST(mio_unix_stream_shutdown_listener_write)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    /* mio's new_noop_listener. */
    char path[256];
    cmio_fd listener = std_listener(tmp_path(path, sizeof(path), "unix_stream_shutdown_listener_write"));
    cmio_unix_stream s;
    ck_assert_int_eq(cmio_unix_stream_connect(&s, path), 0);
    cmio_fd accepted = std_accept(listener);

    ck_assert_int_eq(cmio_registry_register(r, s.fd, TOKEN_1, CMIO_READABLE | CMIO_WRITABLE), 0);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_WRITABLE});

    ck_assert_int_eq(shutdown(accepted, SHUT_WR), 0); /* the peer, after the first barrier */
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_READ_CLOSED});

    sock_close(accepted); /* after the second */
    sock_close(listener);
    deregister_close(r, &s);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_unix_stream_register)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    echo_peer e;
    echo_open(&e, "unix_stream_register");
    cmio_unix_stream s;
    ck_assert_int_eq(cmio_unix_stream_connect(&s, e.path), 0);
    echo_accept(&e);
    ck_assert_int_eq(cmio_registry_register(r, s.fd, TOKEN_1, CMIO_READABLE), 0);
    expect_no_events(p, ev);

    deregister_close(r, &s);
    echo_finish(&e);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_unix_stream_reregister)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    echo_peer e;
    echo_open(&e, "unix_stream_reregister");
    cmio_unix_stream s;
    ck_assert_int_eq(cmio_unix_stream_connect(&s, e.path), 0);
    echo_accept(&e);
    ck_assert_int_eq(cmio_registry_register(r, s.fd, TOKEN_1, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_reregister(r, s.fd, TOKEN_1, CMIO_WRITABLE), 0);
    expect_events(p, ev, {TOKEN_1, CMIO_EVENT_WRITABLE});

    deregister_close(r, &s);
    echo_finish(&e);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_unix_stream_deregister)
{
    if (no_unix_sockets())
        return; /* no AF_UNIX here: its -ENOTSUP answers were asserted */
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(16);
    cmio_registry *r = cmio_poll_registry(p);
    echo_peer e;
    echo_open(&e, "unix_stream_deregister");
    cmio_unix_stream s;
    ck_assert_int_eq(cmio_unix_stream_connect(&s, e.path), 0);
    echo_accept(&e);
    ck_assert_int_eq(cmio_registry_register(r, s.fd, TOKEN_1, CMIO_WRITABLE), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, s.fd), 0);
    expect_no_events(p, ev);

    cmio_unix_stream_close(&s);
    echo_finish(&e);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mio_unix_stream");
    TCase *tc = tcase_create("unix_stream");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, tmp_open, tmp_close);
    add_backend_test(tc, mio_unix_stream_smoke);
    add_backend_test(tc, mio_unix_stream_connect);
    add_backend_test(tc, mio_unix_stream_connect_addr);
    add_backend_test(tc, mio_unix_stream_from_std);
    add_backend_test(tc, mio_unix_stream_pair);
    tcase_add_test(tc, mio_unix_stream_peer_addr);
    add_backend_test(tc, mio_unix_stream_shutdown_read);
    add_backend_test(tc, mio_unix_stream_shutdown_write);
    add_backend_test(tc, mio_unix_stream_shutdown_both);
    add_backend_test(tc, mio_unix_stream_shutdown_listener_write);
    add_backend_test(tc, mio_unix_stream_register);
    add_backend_test(tc, mio_unix_stream_reregister);
    add_backend_test(tc, mio_unix_stream_deregister);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
