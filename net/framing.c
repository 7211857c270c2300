/*
 * Frames and lines over a non-blocking byte stream (amy's FrameReader,
 * FrameWriter and LineReader): a frame is a 4-byte big-endian length and
 * that many bytes; a line ends in '\n'. Each object is one allocation made
 * by its *_new (the struct and its buffer); reading, taking, pushing and
 * flushing allocate nothing.
 *
 * Reads go through cmio__recv and writes through cmio__writev (sendmsg with
 * MSG_NOSIGNAL), so that an -EAGAIN re-arms the descriptor on the backends
 * that emulate edges (src/rearm.h), as every cmio I/O call does.
 *
 * SPDX-License-Identifier: MIT
 */
#include "socket.h"

#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if !defined(_WIN32)
#include <sys/uio.h>
#endif

/* A reader's buffer is at least this big, so that one read(2) takes many
 * small frames or lines. */
enum { MIN_BUFFER = 4096, PREFIX = 4 };

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* ------------------------------------------------------------------------ */
/* The buffer both readers share: bytes buf[start, end) not yet taken.      */

struct inbuf {
    size_t cap, start, end;
    int err;       /* sticky: -EMSGSIZE, or an error met after bytes were read */
    cmio_fd drained; /* the descriptor whose last read met -EAGAIN after reading, or CMIO_FD_INVALID */
    bool eof;      /* read(2) returned 0 */
    unsigned char *buf;
};

static void inbuf_init(struct inbuf *b, unsigned char *mem, size_t cap)
{
    *b = (struct inbuf){.cap = cap, .drained = CMIO_FD_INVALID, .buf = mem};
}

/* Move the bytes not taken to the front (views handed out end here: the
 * documented "valid until the next call"). Returns the shift. */
static size_t inbuf_compact(struct inbuf *b)
{
    size_t shift = b->start;
    if (shift == 0)
        return 0;
    memmove(b->buf, b->buf + shift, b->end - shift);
    b->end -= shift;
    b->start = 0;
    return shift;
}

/* The validation a reader runs over the bytes a read(2) appended: returns 0
 * or -EMSGSIZE. */
typedef int (*inbuf_scan_fn)(void *reader);

/* The read loop of both readers (DESIGN §3d): read until -EAGAIN, or until
 * the buffer is full (what it holds is then complete frames or lines, and
 * perhaps the start of one more, to be taken before the next read). */
static ssize_t inbuf_read(struct inbuf *b, cmio_fd fd, inbuf_scan_fn scan, void *reader)
{
    if (b->err) {
        int err = b->err;
        if (err != -EMSGSIZE) /* a transient error is returned once */
            b->err = 0;
        return err;
    }
    if (b->drained == fd) {
        /* The last call met -EAGAIN (and re-armed) after reading: nothing
         * more is owed before the next event. */
        b->drained = CMIO_FD_INVALID;
        return -EAGAIN;
    }
    b->drained = CMIO_FD_INVALID;
    if (b->eof)
        return 0;
    size_t total = 0;
    for (;;) {
        /* Full (it was compacted, so start is 0): whole frames or lines,
         * perhaps the start of one more, for the caller to take first. A
         * caller that took none before calling again gets -ENOBUFS. */
        if (b->end == b->cap)
            return total ? (ssize_t)total : -ENOBUFS;
        ssize_t n = cmio__recv(fd, b->buf + b->end, b->cap - b->end, 0, NULL);
        if (n > 0) {
            b->end += (size_t)n;
            total += (size_t)n;
            if (scan(reader) < 0) {
                b->err = -EMSGSIZE;
                return -EMSGSIZE;
            }
            continue;
        }
        if (n == 0) {
            b->eof = true;
            break;
        }
        if (total == 0)
            return n;
        if (n == -EAGAIN)
            b->drained = fd;
        else
            b->err = (int)n; /* returned by the next call */
        break;
    }
    return (ssize_t)total;
}

/* ------------------------------------------------------------------------ */
/* Frames in                                                                 */

struct cmio_frame_reader {
    struct inbuf in;
    uint32_t max_frame;
    size_t scan; /* where the next header not yet checked starts (may be past end) */
    unsigned char mem[];
};

int cmio_frame_reader_new(cmio_frame_reader **out, uint32_t max_frame)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    *out = NULL;
    CMIO__CHECK(max_frame > 0, -EINVAL);
#if SIZE_MAX <= UINT32_MAX /* only where size_t is 32 bits can the buffer's size overflow */
    CMIO__CHECK(max_frame <= SIZE_MAX - PREFIX - sizeof(cmio_frame_reader), -EINVAL);
#endif
    size_t cap = (size_t)max_frame + PREFIX;
    if (cap < MIN_BUFFER)
        cap = MIN_BUFFER;
    cmio_frame_reader *r = malloc(sizeof(*r) + cap);
    if (!r)
        return -ENOMEM;
    inbuf_init(&r->in, r->mem, cap);
    r->max_frame = max_frame;
    r->scan = 0;
    *out = r;
    return 0;
}

/* Check every header that is now whole: one announcing more than max_frame
 * fails the stream before its body is waited for. */
static int frame_scan(void *reader)
{
    cmio_frame_reader *r = reader;
    while (r->scan + PREFIX <= r->in.end) {
        uint32_t len = get_be32(r->in.buf + r->scan);
        if (len > r->max_frame)
            return -EMSGSIZE;
        r->scan += PREFIX + (size_t)len;
    }
    return 0;
}

ssize_t cmio_frame_reader_read(cmio_frame_reader *r, cmio_fd fd)
{
    CMIO__CHECK(r != NULL, -EINVAL);
    CMIO__CHECK(CMIO__FD_VALID(fd), -EBADF);
    r->scan -= inbuf_compact(&r->in);
    return inbuf_read(&r->in, fd, frame_scan, r);
}

int cmio_frame_reader_next(cmio_frame_reader *r, const void **frame, uint32_t *len)
{
    CMIO__CHECK(r != NULL && frame != NULL && len != NULL, -EINVAL);
    struct inbuf *b = &r->in;
    size_t have = b->end - b->start;
    if (have >= PREFIX) {
        uint32_t n = get_be32(b->buf + b->start);
        if (n > r->max_frame)
            return -EMSGSIZE;
        if (have - PREFIX >= n) {
            *frame = b->buf + b->start + PREFIX;
            *len = n;
            b->start += PREFIX + (size_t)n;
            return 0;
        }
    }
    return b->eof && have > 0 ? -EPROTO : -EAGAIN;
}

void cmio_frame_reader_free(cmio_frame_reader *r) { free(r); }

/* ------------------------------------------------------------------------ */
/* Lines in                                                                  */

struct cmio_line_reader {
    struct inbuf in;
    size_t max_line;
    size_t line;     /* where the line not yet complete starts: lines before it are whole */
    size_t searched; /* bytes before this were searched for '\n' */
    unsigned char mem[];
};

int cmio_line_reader_new(cmio_line_reader **out, size_t max_line)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    *out = NULL;
    CMIO__CHECK(max_line > 0, -EINVAL);
    CMIO__CHECK(max_line <= SIZE_MAX - 1 - sizeof(cmio_line_reader), -EINVAL);
    size_t cap = max_line + 1; /* the longest line and its '\n' */
    if (cap < MIN_BUFFER)
        cap = MIN_BUFFER;
    cmio_line_reader *r = malloc(sizeof(*r) + cap);
    if (!r)
        return -ENOMEM;
    inbuf_init(&r->in, r->mem, cap);
    r->max_line = max_line;
    r->line = r->searched = 0;
    *out = r;
    return 0;
}

/* Find the '\n's a read(2) brought, searching only the new bytes: each line
 * may be at most max_line bytes, and so may the one not yet ended. */
static int line_scan(void *reader)
{
    cmio_line_reader *r = reader;
    struct inbuf *b = &r->in;
    const unsigned char *nl;
    while ((nl = memchr(b->buf + r->searched, '\n', b->end - r->searched)) != NULL) {
        size_t at = (size_t)(nl - b->buf);
        if (at - r->line > r->max_line)
            return -EMSGSIZE;
        r->line = r->searched = at + 1;
    }
    r->searched = b->end;
    return b->end - r->line > r->max_line ? -EMSGSIZE : 0;
}

ssize_t cmio_line_reader_read(cmio_line_reader *r, cmio_fd fd)
{
    CMIO__CHECK(r != NULL, -EINVAL);
    CMIO__CHECK(CMIO__FD_VALID(fd), -EBADF);
    size_t shift = inbuf_compact(&r->in);
    r->line -= shift;
    r->searched -= shift;
    return inbuf_read(&r->in, fd, line_scan, r);
}

int cmio_line_reader_next(cmio_line_reader *r, const char **line, size_t *len)
{
    CMIO__CHECK(r != NULL && line != NULL && len != NULL, -EINVAL);
    struct inbuf *b = &r->in;
    if (b->start < r->line) {
        const unsigned char *at = b->buf + b->start;
        const unsigned char *nl = memchr(at, '\n', r->line - b->start);
        assert(nl != NULL); /* [start, line) holds whole lines */
        *line = (const char *)at;
        *len = (size_t)(nl - at);
        b->start += *len + 1;
        return 0;
    }
    if (b->err == -EMSGSIZE)
        return -EMSGSIZE;
    return b->eof && b->end > b->start ? -EPROTO : -EAGAIN;
}

void cmio_line_reader_free(cmio_line_reader *r) { free(r); }

/* ------------------------------------------------------------------------ */
/* Frames out: a ring of capacity bytes, each frame its prefix and a copy.   */

struct cmio_frame_writer {
    size_t cap, head, len; /* queued bytes: ring[head, head + len) modulo cap */
    int err;               /* an error met after bytes were written: returned by the next flush */
    cmio_fd pipe_fd;       /* a descriptor found not to be a socket (sendmsg said -ENOTSOCK), or -1 */
    unsigned char ring[];
};

int cmio_frame_writer_new(cmio_frame_writer **out, size_t capacity)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    *out = NULL;
    CMIO__CHECK(capacity >= PREFIX, -EINVAL); /* not even an empty frame would fit */
    CMIO__CHECK(capacity <= SIZE_MAX - sizeof(cmio_frame_writer), -EINVAL);
    cmio_frame_writer *w = malloc(sizeof(*w) + capacity);
    if (!w)
        return -ENOMEM;
    *w = (cmio_frame_writer){.cap = capacity, .pipe_fd = CMIO_FD_INVALID};
    *out = w;
    return 0;
}

/* Copy n bytes into the ring at its tail. */
static void ring_put(cmio_frame_writer *w, const void *src, size_t n)
{
    size_t tail = w->head + w->len;
    if (tail >= w->cap)
        tail -= w->cap;
    size_t first = w->cap - tail < n ? w->cap - tail : n;
    memcpy(w->ring + tail, src, first);
    memcpy(w->ring, (const unsigned char *)src + first, n - first);
    w->len += n;
}

int cmio_frame_writer_push(cmio_frame_writer *w, const void *frame, uint32_t len)
{
    CMIO__CHECK(w != NULL, -EINVAL);
    CMIO__CHECK(frame != NULL || len == 0, -EINVAL);
    size_t room = w->cap - w->len;
    if (room < PREFIX || room - PREFIX < (uintmax_t)len)
        return -ENOBUFS;
    unsigned char prefix[PREFIX] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16),
                                    (unsigned char)(len >> 8), (unsigned char)len};
    size_t tail = w->head + w->len;
    if (tail >= w->cap)
        tail -= w->cap;
    if (w->cap - tail >= PREFIX + (size_t)len) {
        /* The common case, the frame fits before the ring's end: one copy. */
        memcpy(w->ring + tail, prefix, PREFIX);
        if (len)
            memcpy(w->ring + tail + PREFIX, frame, len);
        w->len += PREFIX + (size_t)len;
        return 0;
    }
    ring_put(w, prefix, PREFIX);
    if (len)
        ring_put(w, frame, len);
    return 0;
}

/* One write of what is queued: sendmsg(MSG_NOSIGNAL) of the ring's one or
 * two pieces; on a descriptor that is not a socket (a pipe), the pipe's
 * write, which keeps SIGPIPE from the process (design.md §6). */
static ssize_t write_some(cmio_frame_writer *w, cmio_fd fd)
{
    size_t first = w->cap - w->head < w->len ? w->cap - w->head : w->len;
    if (fd != w->pipe_fd) {
        struct iovec iov[2] = {{w->ring + w->head, first}, {w->ring, w->len - first}};
        ssize_t n = cmio__writev(fd, iov, w->len > first ? 2 : 1);
        if (n != -ENOTSOCK)
            return n;
        w->pipe_fd = fd;
    }
    cmio_pipe_sender tx = {fd};
    return cmio_pipe_sender_write(&tx, w->ring + w->head, first);
}

ssize_t cmio_frame_writer_flush(cmio_frame_writer *w, cmio_fd fd)
{
    CMIO__CHECK(w != NULL, -EINVAL);
    CMIO__CHECK(CMIO__FD_VALID(fd), -EBADF);
    if (w->err) {
        int err = w->err;
        w->err = 0;
        return err;
    }
    size_t total = 0;
    while (w->len > 0) {
        ssize_t n = write_some(w, fd);
        if (n < 0) {
            if (total == 0)
                return n;
            if (n != -EAGAIN)
                w->err = (int)n;
            break;
        }
        w->head += (size_t)n;
        if (w->head >= w->cap)
            w->head -= w->cap;
        w->len -= (size_t)n;
        total += (size_t)n;
    }
    if (w->len == 0)
        w->head = 0; /* the next pushes start unwrapped: one iovec */
    return (ssize_t)total;
}

bool cmio_frame_writer_is_empty(const cmio_frame_writer *w) { return w == NULL || w->len == 0; }

void cmio_frame_writer_free(cmio_frame_writer *w) { free(w); }
