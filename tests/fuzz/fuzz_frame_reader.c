/*
 * libFuzzer target: cmio_frame_reader on arbitrary bytes delivered in
 * arbitrary read sizes through a socketpair.
 *
 * Input: two bytes of max_frame (big-endian; 0 becomes 1), then chunks, each
 * a size byte and up to that many bytes of stream. Each chunk is written to
 * one end of a socketpair and the reader's loop runs on the other (take
 * frames with next(), read(), until read() says -EAGAIN). At the end the
 * writing end is shut down and the loop runs to end of stream.
 *
 * A reference parser over everything delivered says what must come out: the
 * frames, in order and byte for byte, each as soon as it is whole; -EMSGSIZE
 * exactly when a header announcing more than max_frame is whole (after the
 * frames before it); at the end, -EPROTO from next() when bytes of an
 * incomplete frame are left, -EAGAIN otherwise. Anything else aborts.
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
    fprintf(stderr, "fuzz_frame_reader: %s (%ld, %ld)\n", what, a, b);
    abort();
}

struct ref {
    const uint8_t *all; /* every byte delivered so far */
    size_t total, pos;  /* pos: the next frame's header */
    uint32_t max;
};

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* 1: a whole frame at pos; 0: not yet; -1: an oversized header at pos. */
static int ref_state(const struct ref *r)
{
    if (r->total - r->pos < 4)
        return 0;
    uint32_t len = be32(r->all + r->pos);
    if (len > r->max)
        return -1;
    return r->total - r->pos - 4 >= len ? 1 : 0;
}

/* Takes every frame the reader has, checking each. Returns next()'s last
 * result. */
static int take(cmio_frame_reader *fr, struct ref *r)
{
    const void *f;
    uint32_t len;
    int rc;
    while ((rc = cmio_frame_reader_next(fr, &f, &len)) == 0) {
        if (ref_state(r) != 1)
            fail("a frame the reference does not have", (long)r->pos, len);
        if (len != be32(r->all + r->pos) || (len && memcmp(f, r->all + r->pos + 4, len) != 0))
            fail("frame differs", (long)r->pos, len);
        r->pos += 4 + (size_t)len;
    }
    return rc;
}

/* The reader's loop for one event. Returns the last read(). */
static ssize_t loop(cmio_frame_reader *fr, struct ref *r, int fd)
{
    for (int round = 0; round < 1000000; round++) {
        int rc = take(fr, r);
        if (rc != -EAGAIN && rc != -EMSGSIZE && rc != -EPROTO)
            fail("next() error", rc, 0);
        ssize_t n = cmio_frame_reader_read(fr, fd);
        if (n == -EAGAIN || n == 0 || n == -EMSGSIZE) {
            take(fr, r);
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
    if (size < 2)
        return 0;
    uint32_t max = (uint32_t)data[0] << 8 | data[1];
    if (max == 0)
        max = 1;
    data += 2;
    size -= 2;
    uint8_t *all = malloc(size ? size : 1);
    int sv[2];
    if (!all || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    cmio_frame_reader *fr;
    if (cmio_frame_reader_new(&fr, max) != 0)
        abort();
    struct ref r = {.all = all, .max = max};
    bool failed = false;
    size_t at = 0;
    while (at < size && !failed) {
        size_t n = data[at++];
        if (n > size - at)
            n = size - at;
        if (n && send(sv[0], data + at, n, MSG_NOSIGNAL) != (ssize_t)n)
            abort(); /* a socketpair's buffer holds far more than an input */
        memcpy(all + r.total, data + at, n);
        r.total += n;
        at += n;
        ssize_t got = loop(fr, &r, sv[1]);
        int want = ref_state(&r);
        if (got == -EMSGSIZE) {
            if (want != -1)
                fail("-EMSGSIZE without an oversized header", (long)r.pos, want);
            failed = true;
        } else if (want != 0) {
            fail("frames or an oversized header left after -EAGAIN", (long)r.pos, want);
        }
    }
    if (!failed) {
        shutdown(sv[0], SHUT_WR);
        ssize_t got = loop(fr, &r, sv[1]);
        if (got != 0)
            fail("no end of stream", (long)got, 0);
        const void *f;
        uint32_t len;
        int rc = cmio_frame_reader_next(fr, &f, &len);
        if (rc != (r.pos < r.total ? -EPROTO : -EAGAIN))
            fail("next() at end of stream", rc, (long)(r.total - r.pos));
        if (cmio_frame_reader_read(fr, sv[1]) != 0)
            fail("end of stream not kept", 0, 0);
    } else if (cmio_frame_reader_read(fr, sv[1]) != -EMSGSIZE) {
        fail("-EMSGSIZE not kept", 0, 0);
    }
    cmio_frame_reader_free(fr);
    close(sv[0]);
    close(sv[1]);
    free(all);
    return 0;
}
