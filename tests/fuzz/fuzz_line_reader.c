/*
 * libFuzzer target: cmio_line_reader on arbitrary bytes delivered in
 * arbitrary read sizes through a socketpair.
 *
 * Input: one byte of max_line (0 becomes 1; small, so that long lines are
 * common), then chunks as in fuzz_frame_reader.c: a size byte and up to that
 * many bytes, each written to a socketpair and read with the reader's loop.
 * The reference (memchr over everything delivered) says what must come out:
 * each line, without its '\n', as soon as its '\n' has come; -EMSGSIZE
 * exactly when a line (ended or not) is longer than max_line; at the end of
 * stream, -EPROTO when bytes without a '\n' are left.
 *
 * SPDX-License-Identifier: MIT
 */
#include <cmio.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, long a, long b)
{
    fprintf(stderr, "fuzz_line_reader: %s (%ld, %ld)\n", what, a, b);
    abort();
}

struct ref {
    const uint8_t *all;
    size_t total, pos; /* pos: the next line's start */
    size_t max;
};

/* 1: a whole line at pos; 0: not yet; -1: the line at pos is too long. */
static int ref_state(const struct ref *r, size_t *len)
{
    const uint8_t *nl = memchr(r->all + r->pos, '\n', r->total - r->pos);
    size_t n = nl ? (size_t)(nl - (r->all + r->pos)) : r->total - r->pos;
    if (n > r->max)
        return -1;
    *len = n;
    return nl != NULL;
}

static int take(cmio_line_reader *lr, struct ref *r)
{
    const char *line;
    size_t len, want;
    int rc;
    while ((rc = cmio_line_reader_next(lr, &line, &len)) == 0) {
        if (ref_state(r, &want) != 1)
            fail("a line the reference does not have", (long)r->pos, (long)len);
        if (len != want || (len && memcmp(line, r->all + r->pos, len) != 0))
            fail("line differs", (long)r->pos, (long)len);
        r->pos += len + 1;
    }
    return rc;
}

static ssize_t loop(cmio_line_reader *lr, struct ref *r, int fd)
{
    for (int round = 0; round < 1000000; round++) {
        int rc = take(lr, r);
        if (rc != -EAGAIN && rc != -EMSGSIZE && rc != -EPROTO)
            fail("next() error", rc, 0);
        ssize_t n = cmio_line_reader_read(lr, fd);
        if (n == -EAGAIN || n == 0 || n == -EMSGSIZE) {
            take(lr, r);
            return n;
        }
        if (n < 0)
            fail("read() error", (long)n, 0);
    }
    fail("read() never reached -EAGAIN", 0, 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t max = data[0] ? data[0] : 1;
    if (data[0] == 0xff)
        max = 5000; /* one reader whose buffer is not the minimum */
    data += 1;
    size -= 1;
    uint8_t *all = malloc(size ? size : 1);
    int sv[2];
    if (!all || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    cmio_line_reader *lr;
    if (cmio_line_reader_new(&lr, max) != 0)
        abort();
    struct ref r = {.all = all, .max = max};
    bool failed = false;
    size_t at = 0, len;
    while (at < size && !failed) {
        size_t n = data[at++];
        if (n > size - at)
            n = size - at;
        if (n && send(sv[0], data + at, n, MSG_NOSIGNAL) != (ssize_t)n)
            abort();
        memcpy(all + r.total, data + at, n);
        r.total += n;
        at += n;
        ssize_t got = loop(lr, &r, sv[1]);
        int want = ref_state(&r, &len);
        if (got == -EMSGSIZE) {
            if (want != -1)
                fail("-EMSGSIZE without a long line", (long)r.pos, want);
            failed = true;
        } else if (want != 0) {
            fail("lines or a long line left after -EAGAIN", (long)r.pos, want);
        }
    }
    if (!failed) {
        shutdown(sv[0], SHUT_WR);
        if (loop(lr, &r, sv[1]) != 0)
            fail("no end of stream", 0, 0);
        const char *line;
        int rc = cmio_line_reader_next(lr, &line, &len);
        if (rc != (r.pos < r.total ? -EPROTO : -EAGAIN))
            fail("next() at end of stream", rc, (long)(r.total - r.pos));
    }
    cmio_line_reader_free(lr);
    close(sv[0]);
    close(sv[1]);
    free(all);
    return 0;
}
