/*
 * mio's tests/unix_pipe.rs, ported: one twin per test, named mio_<test>
 * (the table is in docs/porting-from-mio.md). Every polling twin runs on
 * every backend built in.
 *
 * mio moves one end of the pipe to a thread and closes it there between
 * barriers; here the test closes it at the same point of the sequence (the
 * kernel reports a close the same whichever thread makes it). mio's child
 * processes are `cat` started with fork and exec, its standard input and
 * output on pipes, and waited for with a bound.
 *
 * SPDX-License-Identifier: MIT
 */
#include "mio_net.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { RECEIVER = 0, SENDER = 1 };

static const char DATA1[] = "Hello world";
#define DATA1_LEN 11

_Static_assert(sizeof(DATA1) - 1 == DATA1_LEN, "DATA1_LEN");

/* mio's expect_one_closed_event: one poll gives exactly one event, for
 * token, read-closed (read) or write-closed (!read). */
static void expect_one_closed_event(cmio_poll *p, cmio_events *ev, cmio_token token, bool read)
{
    int n = cmio_poll_poll(p, ev, WAIT_MS);
    ck_assert_int_ge(n, 1);
    const cmio_event *e = cmio_events_get(ev, 0);
    ck_assert_uint_eq(cmio_event_token(e), token);
    if (read)
        ck_assert_msg(cmio_event_is_read_closed(e), "expected read-closed, flags 0x%x", (unsigned)cmio_event_flags(e));
    else
        ck_assert_msg(cmio_event_is_write_closed(e), "expected write-closed, flags 0x%x", (unsigned)cmio_event_flags(e));
    ck_assert_int_eq(n, 1);
}

/* Command::new("cat") with piped standard input and output. The parent's
 * ends are blocking and close-on-exec, as std makes them. */
typedef struct child {
    pid_t pid;
    int stdin_fd;  /* write to the child */
    int stdout_fd; /* read from it */
} child;

static void cloexec_pipe(int p[2])
{
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(fcntl(p[0], F_SETFD, FD_CLOEXEC), 0);
    ck_assert_int_eq(fcntl(p[1], F_SETFD, FD_CLOEXEC), 0);
}

static void spawn_cat(child *c)
{
    int in[2], out[2];
    cloexec_pipe(in);
    cloexec_pipe(out);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* dup2 clears close-on-exec on 0 and 1; every other end closes. */
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
            _exit(126);
        execlp("cat", "cat", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    *c = (child){.pid = pid, .stdin_fd = in[1], .stdout_fd = out[0]};
    ck_assert_int_eq(fcntl(c->stdin_fd, F_GETFL) & O_NONBLOCK, 0);
    ck_assert_int_eq(fcntl(c->stdout_fd, F_GETFL) & O_NONBLOCK, 0);
}

/* child.wait(), bounded by WAIT_MS: cat ends once its input is closed. */
static void wait_child(child *c)
{
    int64_t deadline = now_ms() + WAIT_MS;
    int status = 0;
    pid_t got = 0;
    for (int i = 0; i < 100000 && got == 0; i++) {
        got = waitpid(c->pid, &status, WNOHANG);
        if (got != 0 || now_ms() > deadline)
            break;
        struct timespec pause = {0, 1000000}; /* look again at the child */
        nanosleep(&pause, NULL);
    }
    if (got == 0) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &status, 0);
        ck_abort_msg("cat did not end when its input was closed");
    }
    ck_assert_int_eq(got, c->pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "cat ended with status 0x%x", status);
}

START_TEST(mio_smoke)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_pipe_sender tx;
    cmio_pipe_receiver rx;
    ck_assert_int_eq(cmio_pipe_new(&tx, &rx), 0);

    char buf[20];
    assert_would_block(cmio_pipe_receiver_read(&rx, buf, sizeof(buf)));

    ck_assert_int_eq(cmio_registry_register(r, rx.fd, RECEIVER, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_register(r, tx.fd, SENDER, CMIO_WRITABLE), 0);
    expect_events(p, ev, {SENDER, CMIO_EVENT_WRITABLE});
    checked_write(cmio_pipe_sender_write(&tx, DATA1, DATA1_LEN), DATA1_LEN);

    expect_events(p, ev, {RECEIVER, CMIO_EVENT_READABLE});
    expect_read(cmio_pipe_receiver_read(&rx, buf, sizeof(buf)), buf, DATA1, DATA1_LEN);

    ck_assert_int_eq(cmio_registry_deregister(r, rx.fd), 0);
    ck_assert_int_eq(cmio_registry_deregister(r, tx.fd), 0);
    cmio_pipe_receiver_close(&rx);
    cmio_pipe_sender_close(&tx);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_event_when_sender_is_dropped)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_pipe_sender tx;
    cmio_pipe_receiver rx;
    ck_assert_int_eq(cmio_pipe_new(&tx, &rx), 0);
    ck_assert_int_eq(cmio_registry_register(r, rx.fd, RECEIVER, CMIO_READABLE), 0);

    checked_write(cmio_pipe_sender_write(&tx, DATA1, DATA1_LEN), DATA1_LEN);
    expect_events(p, ev, {RECEIVER, CMIO_EVENT_READABLE});

    /* The data stays unread: the hang-up is reported all the same. */
    cmio_pipe_sender_close(&tx);
    expect_one_closed_event(p, ev, RECEIVER, true);

    ck_assert_int_eq(cmio_registry_deregister(r, rx.fd), 0);
    cmio_pipe_receiver_close(&rx);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_event_when_receiver_is_dropped)
{
    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_registry *r = cmio_poll_registry(p);
    cmio_pipe_sender tx;
    cmio_pipe_receiver rx;
    ck_assert_int_eq(cmio_pipe_new(&tx, &rx), 0);
    ck_assert_int_eq(cmio_registry_register(r, tx.fd, SENDER, CMIO_WRITABLE), 0);
    expect_events(p, ev, {SENDER, CMIO_EVENT_WRITABLE});

    cmio_pipe_receiver_close(&rx);
    expect_one_closed_event(p, ev, SENDER, false);

    ck_assert_int_eq(cmio_registry_deregister(r, tx.fd), 0);
    cmio_pipe_sender_close(&tx);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_from_child_process_io)
{
    child c;
    spawn_cat(&c);
    /* Sender::from(ChildStdin), Receiver::from(ChildStdout). */
    cmio_pipe_sender tx;
    cmio_pipe_receiver rx;
    ck_assert_int_eq(cmio_pipe_sender_from_fd(&tx, c.stdin_fd), 0);
    ck_assert_int_eq(cmio_pipe_receiver_from_fd(&rx, c.stdout_fd), 0);

    cmio_poll *p = open_poll(_i);
    cmio_events *ev = open_events(8);
    cmio_registry *r = cmio_poll_registry(p);
    ck_assert_int_eq(cmio_registry_register(r, rx.fd, RECEIVER, CMIO_READABLE), 0);
    ck_assert_int_eq(cmio_registry_register(r, tx.fd, SENDER, CMIO_WRITABLE), 0);

    expect_events(p, ev, {SENDER, CMIO_EVENT_WRITABLE});
    checked_write(cmio_pipe_sender_write(&tx, DATA1, DATA1_LEN), DATA1_LEN);

    expect_events(p, ev, {RECEIVER, CMIO_EVENT_READABLE});
    char buf[20];
    expect_read(cmio_pipe_receiver_read(&rx, buf, sizeof(buf)), buf, DATA1, DATA1_LEN);

    /* Dropping the sender: cat reads the end of its input and exits. */
    ck_assert_int_eq(cmio_registry_deregister(r, tx.fd), 0);
    cmio_pipe_sender_close(&tx);
    expect_one_closed_event(p, ev, RECEIVER, true);

    wait_child(&c);
    ck_assert_int_eq(cmio_registry_deregister(r, rx.fd), 0);
    cmio_pipe_receiver_close(&rx);
    cmio_events_free(ev);
    cmio_poll_free(p);
}
END_TEST

START_TEST(mio_nonblocking_child_process_io)
{
    child c;
    spawn_cat(&c);
    cmio_pipe_sender tx;
    cmio_pipe_receiver rx;
    ck_assert_int_eq(cmio_pipe_sender_from_fd(&tx, c.stdin_fd), 0);
    /* mio's set_nonblocking(true): from_fd does it. */
    ck_assert_int_eq(cmio_pipe_receiver_from_fd(&rx, c.stdout_fd), 0);
    assert_nonblock_cloexec(rx.fd);

    char buf[20];
    assert_would_block(cmio_pipe_receiver_read(&rx, buf, sizeof(buf)));

    cmio_pipe_sender_close(&tx);
    wait_child(&c);
    cmio_pipe_receiver_close(&rx);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mio_unix_pipe");
    TCase *tc = tcase_create("unix_pipe");
    tcase_set_timeout(tc, 60);
    add_backend_test(tc, mio_smoke);
    add_backend_test(tc, mio_event_when_sender_is_dropped);
    add_backend_test(tc, mio_event_when_receiver_is_dropped);
    add_backend_test(tc, mio_from_child_process_io);
    tcase_add_test(tc, mio_nonblocking_child_process_io);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
