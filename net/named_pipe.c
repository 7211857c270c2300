/*
 * cmio_named_pipe (issue 14): mio's windows::NamedPipe. A named pipe is a
 * completion handle, not a socket, so readiness is made of completions:
 * the handle is associated with the iocp selector's completion port
 * (sys/selector.h's completion sources, handle_attach), and the pipe keeps
 * one ReadFile in flight into a read buffer of its own, one WriteFile out of
 * a write buffer of its own, and at most one ConnectNamedPipe. Each
 * operation is a struct cmio__overlapped in the pipe; the select that
 * dequeues its completion calls its callback here, which turns it into at
 * most one event for the pipe's token:
 *  - a read done: readable (the data waits in the read buffer), or, when the
 *    other end is gone (ERROR_BROKEN_PIPE), readable and both closed flags;
 *  - a write done: writable (the buffer is free again), or writable and
 *    both closed flags when the other end is gone;
 *  - a connect done: writable (and readable, should the first read find
 *    something at once); its error is kept for take_error;
 *  - a packet the pipe posted itself (handle_post, the byte count carrying
 *    the flags): what a registration finds (writable once connected,
 *    readable if data waits).
 * read() copies out of the read buffer and starts the next ReadFile when it
 * is empty, -EAGAIN while one is in flight; write() copies into the write
 * buffer and starts WriteFile, -EAGAIN while the buffer is busy.
 *
 * Lifetime. The completions write into the pipe (its OVERLAPPEDs and
 * buffers) until they are dequeued, so the pipe counts them (outstanding)
 * and cmio_named_pipe_free() cancels what is in flight (CancelIoEx), closes
 * the handle and, if completions are still to come, leaves the memory to
 * the last of them (a zombie the selector counts: its close waits for
 * them). Deregistering cancels the read cmio started itself.
 *
 * Lock order: the pipe's lock, then the selector's (handle_attach); the
 * selector calls the callbacks without its lock held.
 *
 * SPDX-License-Identifier: MIT
 */
#include "../src/internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define READINESS (CMIO_READABLE | CMIO_WRITABLE | CMIO_PRIORITY)
#define KNOWN_INTEREST (READINESS | CMIO_LEVEL | CMIO_ONESHOT)

/* The door of register and reregister. */
static int check_interest(cmio_interest interest)
{
    CMIO__CHECK((interest & READINESS) != 0 && (interest & ~KNOWN_INTEREST) == 0, -EINVAL);
    CMIO__CHECK(!(interest & (CMIO_PRIORITY | CMIO_LEVEL | CMIO_ONESHOT)), -ENOTSUP);
    return 0;
}

#if defined(_WIN32)

#include "../sys/fd.h"

_Static_assert(CMIO_NAMED_PIPE_READ_BUFFER <= 0x7fffffff, "ReadFile takes a DWORD");
_Static_assert(CMIO_NAMED_PIPE_WRITE_BUFFER <= 0x7fffffff, "WriteFile takes a DWORD");

enum { R_NONE, R_PENDING, R_DATA, R_EOF, R_ERROR };
enum { W_IDLE, W_PENDING, W_ERROR };
/* schedule_read's answers besides 0 (in flight) and a negative errno. */
enum { LISTENING = 1, NOT_CONNECTED = 2 };

#define CLOSED (CMIO_EVENT_READ_CLOSED | CMIO_EVENT_WRITE_CLOSED)

struct cmio_named_pipe {
    struct cmio__overlapped rop, wop, cop, eop; /* read, write, connect, posted events */
    SRWLOCK lock;
    HANDLE h;
    const cmio__selector *sel; /* the port's, from the first registration on */
    cmio__sys *sys;
    cmio_token token;
    cmio_interest interest;
    bool registered;
    bool connecting; /* a ConnectNamedPipe in flight */
    bool freed;      /* a zombie: the last completion frees it */
    bool server;     /* the server end (connect and disconnect are its) */
    bool read_stale, write_stale; /* disconnected: the operation in flight was the old client's */
    uint8_t rstate, wstate;
    unsigned outstanding; /* completions to come: operations in flight and packets posted */
    size_t rlen, rpos;    /* R_DATA: the read buffer's bytes, and how many were copied out */
    size_t wlen, wpos;    /* W_PENDING: the write buffer's bytes, and how many were written */
    int rerr, werr;       /* R_ERROR, W_ERROR: the error the next read, write returns */
    int connect_err;      /* a failed connect's, for take_error */
    unsigned char rbuf[CMIO_NAMED_PIPE_READ_BUFFER];
    unsigned char wbuf[CMIO_NAMED_PIPE_WRITE_BUFFER];
};

#define PIPE_OF(op, member) ((cmio_named_pipe *)(void *)((char *)(op) - offsetof(cmio_named_pipe, member)))

static int win_err(DWORD e) { return cmio__wsa_error((int)e); }

static bool gone(DWORD e) { return e == ERROR_BROKEN_PIPE || e == ERROR_NO_DATA; }

/* Start the next ReadFile (lock held, rstate R_NONE). 0: in flight;
 * LISTENING, NOT_CONNECTED: no client (nothing to report; a connect's
 * completion starts it); a negative errno: it failed at once, and the state
 * says so (R_EOF for a gone client, R_ERROR else). */
static int schedule_read(cmio_named_pipe *p)
{
    memset(&p->rop.ov, 0, sizeof(p->rop.ov));
    if (!ReadFile(p->h, p->rbuf, CMIO_NAMED_PIPE_READ_BUFFER, NULL, &p->rop.ov)) {
        DWORD e = GetLastError();
        /* ERROR_MORE_DATA (a message pipe's message longer than the buffer)
         * completes through the port as well, with the part that fits. */
        if (e != ERROR_IO_PENDING && e != ERROR_MORE_DATA) {
            if (e == ERROR_PIPE_LISTENING)
                return LISTENING;
            if (e == ERROR_PIPE_NOT_CONNECTED)
                return NOT_CONNECTED;
            if (gone(e)) {
                p->rstate = R_EOF;
                return -EPIPE;
            }
            p->rstate = R_ERROR;
            p->rerr = win_err(e);
            return p->rerr;
        }
    }
    /* Also when it completed at once: its completion is queued all the
     * same (the handle has no FILE_SKIP_COMPLETION_PORT_ON_SUCCESS). */
    p->rstate = R_PENDING;
    p->outstanding++;
    return 0;
}

/* Submit the write buffer's rest (lock held). 0 or a negative errno. */
static int submit_write(cmio_named_pipe *p)
{
    memset(&p->wop.ov, 0, sizeof(p->wop.ov));
    if (!WriteFile(p->h, p->wbuf + p->wpos, (DWORD)(p->wlen - p->wpos), NULL, &p->wop.ov)) {
        DWORD e = GetLastError();
        if (e != ERROR_IO_PENDING)
            return e == ERROR_PIPE_LISTENING ? -EAGAIN : win_err(e);
    }
    p->wstate = W_PENDING;
    p->outstanding++;
    return 0;
}

/* The readiness the pipe holds now, as CMIO_EVENT_* flags (lock held):
 * readable while data or an end or an error waits to be read, writable once
 * connected while the write buffer is free (or holds an error to give). */
static uint32_t readiness(const cmio_named_pipe *p)
{
    uint32_t f = 0;
    if (p->rstate == R_DATA || p->rstate == R_ERROR)
        f |= CMIO_EVENT_READABLE;
    if (p->rstate == R_EOF)
        f |= CMIO_EVENT_READABLE | CLOSED;
    if (p->rstate != R_NONE && p->wstate != W_PENDING)
        f |= CMIO_EVENT_WRITABLE;
    return f;
}

/* Queue a packet that reports `flags` (lock held). */
static void post(cmio_named_pipe *p, uint32_t flags)
{
    if (flags && p->sel->handle_post(p->sys, &p->eop, flags) == 0)
        p->outstanding++;
}

/* A registration, a reregistration or a connect that finished at once
 * (lock held): start reading if nothing is in flight, and report what
 * holds (mio's post_register). */
static void post_register(cmio_named_pipe *p)
{
    if (p->rstate == R_NONE)
        (void)schedule_read(p);
    post(p, readiness(p));
}

/* What a registration's interest lets through: the closed flags whatever
 * it is, as for sockets. */
static uint32_t filter(const cmio_named_pipe *p, uint32_t flags)
{
    if (!p->registered)
        return 0;
    uint32_t mask = CLOSED | CMIO_EVENT_ERROR;
    if (p->interest & CMIO_READABLE)
        mask |= CMIO_EVENT_READABLE;
    if (p->interest & CMIO_WRITABLE)
        mask |= CMIO_EVENT_WRITABLE;
    return flags & mask;
}

/* The end of every callback (lock held, released here): one completion
 * less; a zombie's last one frees it. */
static uint32_t finish(cmio_named_pipe *p, uint32_t flags, cmio_token *token, bool *reaped)
{
    p->outstanding--;
    if (p->freed) {
        bool last = p->outstanding == 0;
        ReleaseSRWLockExclusive(&p->lock);
        if (last) {
            free(p);
            *reaped = true;
        }
        return 0;
    }
    *token = p->token;
    flags = filter(p, flags);
    ReleaseSRWLockExclusive(&p->lock);
    return flags;
}

/* The Win32 result of a completed operation of the pipe. */
static DWORD result(cmio_named_pipe *p, struct cmio__overlapped *op)
{
    DWORD n;
    return GetOverlappedResult(p->h, &op->ov, &n, FALSE) ? 0 : GetLastError();
}

/* After a read completion left nothing in flight: read on, should the
 * pipe be registered (a registration made meanwhile found the read in
 * flight and left it to this); what that finds at once is reported. */
static uint32_t read_on(cmio_named_pipe *p)
{
    if (p->rstate != R_NONE || !p->registered)
        return 0;
    (void)schedule_read(p);
    return p->rstate == R_EOF ? CMIO_EVENT_READABLE | CLOSED : p->rstate == R_ERROR ? CMIO_EVENT_READABLE : 0;
}

static uint32_t read_done(struct cmio__overlapped *op, DWORD bytes, cmio_token *token, bool *reaped)
{
    cmio_named_pipe *p = PIPE_OF(op, rop);
    AcquireSRWLockExclusive(&p->lock);
    if (p->freed)
        return finish(p, 0, token, reaped);
    DWORD e = result(p, op);
    uint32_t flags = 0;
    p->rstate = R_NONE;
    if (p->read_stale) {
        p->read_stale = false; /* the old client's: dropped */
    } else if ((e == 0 || e == ERROR_MORE_DATA) && bytes > 0) {
        p->rstate = R_DATA;
        p->rlen = bytes;
        p->rpos = 0;
        flags = CMIO_EVENT_READABLE;
    } else if (e == 0 || e == ERROR_MORE_DATA || e == ERROR_OPERATION_ABORTED || e == ERROR_PIPE_LISTENING ||
               e == ERROR_PIPE_NOT_CONNECTED) {
        /* An empty message; cancelled by a deregistration; no client
         * any more (disconnected): nothing to report. */
    } else if (gone(e)) {
        p->rstate = R_EOF;
        flags = CMIO_EVENT_READABLE | CLOSED;
    } else {
        p->rstate = R_ERROR;
        p->rerr = win_err(e);
        flags = CMIO_EVENT_READABLE;
    }
    flags |= read_on(p);
    return finish(p, flags, token, reaped);
}

static uint32_t write_done(struct cmio__overlapped *op, DWORD bytes, cmio_token *token, bool *reaped)
{
    cmio_named_pipe *p = PIPE_OF(op, wop);
    AcquireSRWLockExclusive(&p->lock);
    if (p->freed)
        return finish(p, 0, token, reaped);
    DWORD e = result(p, op);
    uint32_t flags = 0;
    p->wstate = W_IDLE;
    if (p->write_stale) {
        p->write_stale = false;
    } else if (e == 0) {
        p->wpos += bytes;
        int err = p->wpos < p->wlen ? submit_write(p) : 0; /* the rest (a pipe takes writes whole, as a rule) */
        if (err < 0) {
            p->wstate = W_ERROR;
            p->werr = err;
            flags = CMIO_EVENT_WRITABLE | (err == -EPIPE ? CLOSED : 0);
        } else if (p->wstate == W_IDLE) {
            flags = CMIO_EVENT_WRITABLE;
        }
    } else {
        p->wstate = W_ERROR;
        p->werr = win_err(e);
        flags = CMIO_EVENT_WRITABLE | (gone(e) ? CLOSED : 0);
    }
    return finish(p, flags, token, reaped);
}

static uint32_t connect_done(struct cmio__overlapped *op, DWORD bytes, cmio_token *token, bool *reaped)
{
    (void)bytes;
    cmio_named_pipe *p = PIPE_OF(op, cop);
    AcquireSRWLockExclusive(&p->lock);
    p->connecting = false;
    if (p->freed)
        return finish(p, 0, token, reaped);
    DWORD e = result(p, op);
    uint32_t flags = 0;
    if (e != 0 && e != ERROR_PIPE_CONNECTED && e != ERROR_NO_DATA) {
        p->connect_err = win_err(e);
        flags = CMIO_EVENT_WRITABLE; /* mio: writable, and take_error says how it went */
    }
    if (p->registered && p->rstate == R_NONE)
        (void)schedule_read(p);
    flags |= readiness(p);
    return finish(p, flags, token, reaped);
}

static uint32_t event_done(struct cmio__overlapped *op, DWORD bytes, cmio_token *token, bool *reaped)
{
    cmio_named_pipe *p = PIPE_OF(op, eop);
    AcquireSRWLockExclusive(&p->lock);
    return finish(p, p->freed ? 0 : (uint32_t)bytes, token, reaped);
}

/* A UTF-8 name as the UTF-16 one Windows takes (a pipe's name has at most
 * 256 characters, with its \\.\pipe\ prefix). */
enum { NAME_MAX_W = 260 };

static int wide_name(const char *name, WCHAR *out)
{
    CMIO__CHECK(name[0] != '\0', -EINVAL);
    if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, name, -1, out, NAME_MAX_W) == 0)
        return GetLastError() == ERROR_INSUFFICIENT_BUFFER ? -ENAMETOOLONG : -EINVAL;
    return 0;
}

static cmio_named_pipe *pipe_alloc(void)
{
    cmio_named_pipe *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    InitializeSRWLock(&p->lock);
    p->h = INVALID_HANDLE_VALUE;
    p->rop.done = read_done;
    p->wop.done = write_done;
    p->cop.done = connect_done;
    p->eop.done = event_done;
    return p;
}

/* The doors of new and open: the arguments, the name in UTF-16, the pipe's
 * memory (*p). */
static int pipe_start(cmio_named_pipe **out, const char *name, WCHAR wname[NAME_MAX_W], cmio_named_pipe **p)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    *out = NULL;
    CMIO__CHECK(name != NULL, -EINVAL);
    int err = wide_name(name, wname);
    if (err < 0)
        return err;
    *p = pipe_alloc();
    return *p ? 0 : -ENOMEM;
}

int cmio_named_pipe_new(cmio_named_pipe **out, const char *name)
{
    WCHAR wname[NAME_MAX_W];
    cmio_named_pipe *p;
    int err = pipe_start(out, name, wname, &p);
    if (err < 0)
        return err;
    /* mio's NamedPipe::new: duplex, byte mode, the first instance of its
     * name, overlapped, unlimited instances, 64 KiB kernel buffers; cmio
     * also refuses remote clients. Not inherited (no security attributes). */
    p->h = CreateNamedPipeW(wname, PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE | FILE_FLAG_OVERLAPPED,
                            PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
                            PIPE_UNLIMITED_INSTANCES, CMIO_NAMED_PIPE_KERNEL_BUFFER, CMIO_NAMED_PIPE_KERNEL_BUFFER, 0,
                            NULL);
    if (p->h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        free(p);
        /* FILE_FLAG_FIRST_PIPE_INSTANCE: a name in use is ERROR_ACCESS_DENIED. */
        return e == ERROR_ACCESS_DENIED ? -EADDRINUSE : win_err(e);
    }
    p->server = true;
    *out = p;
    return 0;
}

int cmio_named_pipe_open(cmio_named_pipe **out, const char *name)
{
    WCHAR wname[NAME_MAX_W];
    cmio_named_pipe *p;
    int err = pipe_start(out, name, wname, &p);
    if (err < 0)
        return err;
    /* SECURITY_IDENTIFICATION: the server may learn who the client is, but
     * not act as it. */
    p->h = CreateFileW(wname, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                       FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, NULL);
    if (p->h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        free(p);
        return win_err(e);
    }
    *out = p;
    return 0;
}

int cmio_named_pipe_from_handle(cmio_named_pipe **out, void *handle)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    *out = NULL;
    CMIO__CHECK(handle != NULL && handle != INVALID_HANDLE_VALUE, -EBADF);
    SetLastError(0);
    if (GetFileType((HANDLE)handle) != FILE_TYPE_PIPE)
        return GetLastError() != 0 ? -EBADF : -EINVAL;
    DWORD flags = 0;
    if (!GetNamedPipeInfo((HANDLE)handle, &flags, NULL, NULL, NULL))
        return -EINVAL; /* a socket, say (also FILE_TYPE_PIPE) */
    cmio_named_pipe *p = pipe_alloc();
    if (!p)
        return -ENOMEM;
    p->h = (HANDLE)handle;
    p->server = (flags & PIPE_SERVER_END) != 0;
    *out = p;
    return 0;
}

void *cmio_named_pipe_handle(const cmio_named_pipe *p) { return p ? (void *)p->h : NULL; }

void cmio_named_pipe_free(cmio_named_pipe *p)
{
    if (!p)
        return;
    AcquireSRWLockExclusive(&p->lock);
    p->freed = true;
    p->registered = false;
    /* Everything in flight, the write included (mio lets a pending write
     * finish; cmio's documented choice: free does not wait on the other
     * end). Each cancelled operation still completes through the port. */
    if (p->outstanding)
        (void)CancelIoEx(p->h, NULL);
    CloseHandle(p->h);
    p->h = INVALID_HANDLE_VALUE;
    bool last = p->outstanding == 0;
    const cmio__selector *sel = p->sel;
    cmio__sys *sys = p->sys;
    ReleaseSRWLockExclusive(&p->lock);
    /* After this, p is the completions' (unless last). */
    if (sys)
        sel->handle_detach(sys, !last);
    if (last)
        free(p);
}

int cmio_named_pipe_register(cmio_named_pipe *p, cmio_registry *r, cmio_token token, cmio_interest interest)
{
    CMIO__CHECK(p != NULL && r != NULL, -EINVAL);
    int err = check_interest(interest);
    if (err < 0)
        return err;
    CMIO__CHECK(r->sel->handle_attach != NULL, -ENOTSUP);
    AcquireSRWLockExclusive(&p->lock);
    if (p->registered || (p->sys && p->sys != r->sys)) {
        err = -EEXIST;
    } else if (!p->sys) {
        err = r->sel->handle_attach(r->sys, p->h);
        if (err == 0) {
            p->sel = r->sel;
            p->sys = r->sys;
        }
    }
    if (err == 0) {
        p->registered = true;
        p->token = token;
        p->interest = interest;
        post_register(p);
    }
    ReleaseSRWLockExclusive(&p->lock);
    return err;
}

/* The door of reregister and deregister: p is registered with r (lock
 * held). -EEXIST: with another poll (mio's AlreadyExists). */
static int registered_with(const cmio_named_pipe *p, const cmio_registry *r)
{
    if (p->sys && p->sys != r->sys)
        return -EEXIST;
    return p->registered ? 0 : -ENOENT;
}

int cmio_named_pipe_reregister(cmio_named_pipe *p, cmio_registry *r, cmio_token token, cmio_interest interest)
{
    CMIO__CHECK(p != NULL && r != NULL, -EINVAL);
    int err = check_interest(interest);
    if (err < 0)
        return err;
    AcquireSRWLockExclusive(&p->lock);
    err = registered_with(p, r);
    if (err == 0) {
        p->token = token;
        p->interest = interest;
        post_register(p);
    }
    ReleaseSRWLockExclusive(&p->lock);
    return err;
}

int cmio_named_pipe_deregister(cmio_named_pipe *p, cmio_registry *r)
{
    CMIO__CHECK(p != NULL && r != NULL, -EINVAL);
    AcquireSRWLockExclusive(&p->lock);
    int err = registered_with(p, r);
    if (err == 0) {
        p->registered = false;
        /* The read cmio started by itself; a connect or a write the user
         * asked for finishes (its event is dropped). */
        if (p->rstate == R_PENDING)
            (void)CancelIoEx(p->h, &p->rop.ov);
    }
    ReleaseSRWLockExclusive(&p->lock);
    return err;
}

int cmio_named_pipe_connect(cmio_named_pipe *p)
{
    CMIO__CHECK(p != NULL && p->server, -EINVAL);
    int err = 0;
    AcquireSRWLockExclusive(&p->lock);
    if (!p->registered || p->connecting) {
        err = -EAGAIN;
    } else {
        memset(&p->cop.ov, 0, sizeof(p->cop.ov));
        if (ConnectNamedPipe(p->h, &p->cop.ov)) {
            /* Connected, and its completion queued: that reports it. */
            p->connecting = true;
            p->outstanding++;
        } else {
            DWORD e = GetLastError();
            if (e == ERROR_IO_PENDING) {
                p->connecting = true;
                p->outstanding++;
                err = -EAGAIN;
            } else if (e == ERROR_PIPE_CONNECTED || e == ERROR_NO_DATA) {
                /* A client came first (ERROR_NO_DATA: and already left; the
                 * read then finds the end). Nothing is queued. */
                post_register(p);
            } else {
                err = win_err(e);
            }
        }
    }
    ReleaseSRWLockExclusive(&p->lock);
    return err;
}

int cmio_named_pipe_disconnect(cmio_named_pipe *p)
{
    CMIO__CHECK(p != NULL && p->server, -EINVAL);
    int err = 0;
    AcquireSRWLockExclusive(&p->lock);
    if (!DisconnectNamedPipe(p->h)) {
        err = win_err(GetLastError());
    } else {
        /* What was read or is being written belongs to the old client. */
        if (p->rstate == R_PENDING)
            p->read_stale = true;
        else
            p->rstate = R_NONE;
        if (p->wstate == W_PENDING)
            p->write_stale = true;
        else
            p->wstate = W_IDLE;
    }
    ReleaseSRWLockExclusive(&p->lock);
    return err;
}

int cmio_named_pipe_take_error(cmio_named_pipe *p)
{
    CMIO__CHECK(p != NULL, -EINVAL);
    AcquireSRWLockExclusive(&p->lock);
    int err = p->connect_err;
    p->connect_err = 0;
    ReleaseSRWLockExclusive(&p->lock);
    return err;
}

ssize_t cmio_named_pipe_read(cmio_named_pipe *p, void *buf, size_t len)
{
    CMIO__CHECK(p != NULL && (buf != NULL || len == 0), -EINVAL);
    ssize_t ret = -EAGAIN;
    AcquireSRWLockExclusive(&p->lock);
    if (!p->registered) {
        /* Until registered: would block (mio). */
    } else if (p->rstate == R_NONE) {
        int r = schedule_read(p);
        if (r == NOT_CONNECTED) {
            ret = -ENOTCONN;
        } else if (r < 0 && p->rstate == R_EOF) {
            ret = 0;
        } else if (r < 0) {
            ret = r; /* given now: the next read tries again */
            p->rstate = R_NONE;
        }
    } else if (p->rstate == R_DATA) {
        size_t n = p->rlen - p->rpos;
        if (n > len)
            n = len;
        memcpy(buf, p->rbuf + p->rpos, n);
        p->rpos += n;
        if (p->rpos == p->rlen) {
            p->rstate = R_NONE;
            (void)schedule_read(p); /* what it finds at once, the next read returns */
        }
        ret = (ssize_t)n;
    } else if (p->rstate == R_EOF) {
        ret = 0; /* the other end is gone: the end, at every read (no new ReadFile) */
    } else if (p->rstate == R_ERROR) {
        ret = p->rerr;
        p->rstate = R_NONE;
    }
    ReleaseSRWLockExclusive(&p->lock);
    return ret;
}

ssize_t cmio_named_pipe_write(cmio_named_pipe *p, const void *buf, size_t len)
{
    CMIO__CHECK(p != NULL && (buf != NULL || len == 0), -EINVAL);
    ssize_t ret = -EAGAIN;
    AcquireSRWLockExclusive(&p->lock);
    if (!p->registered || p->wstate == W_PENDING) {
        /* Would block: a writable event comes once it can take data. */
    } else if (p->wstate == W_ERROR) {
        ret = p->werr;
        p->wstate = W_IDLE;
    } else if (len == 0) {
        ret = 0;
    } else {
        size_t n = len < CMIO_NAMED_PIPE_WRITE_BUFFER ? len : CMIO_NAMED_PIPE_WRITE_BUFFER;
        memcpy(p->wbuf, buf, n);
        p->wlen = n;
        p->wpos = 0;
        int err = submit_write(p);
        ret = err < 0 ? err : (ssize_t)n;
    }
    ReleaseSRWLockExclusive(&p->lock);
    return ret;
}

#else /* not Windows: every function answers -ENOTSUP after its checks */

int cmio_named_pipe_new(cmio_named_pipe **out, const char *name)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    *out = NULL;
    CMIO__CHECK(name != NULL, -EINVAL);
    return -ENOTSUP;
}

int cmio_named_pipe_open(cmio_named_pipe **out, const char *name)
{
    return cmio_named_pipe_new(out, name); /* the same door, the same answer */
}

int cmio_named_pipe_from_handle(cmio_named_pipe **out, void *handle)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    *out = NULL;
    CMIO__CHECK(handle != NULL, -EBADF);
    return -ENOTSUP;
}

void *cmio_named_pipe_handle(const cmio_named_pipe *p)
{
    (void)p;
    return NULL;
}

void cmio_named_pipe_free(cmio_named_pipe *p) { (void)p; }

int cmio_named_pipe_register(cmio_named_pipe *p, cmio_registry *r, cmio_token token, cmio_interest interest)
{
    (void)token;
    CMIO__CHECK(p != NULL && r != NULL, -EINVAL);
    int err = check_interest(interest);
    return err < 0 ? err : -ENOTSUP;
}

int cmio_named_pipe_reregister(cmio_named_pipe *p, cmio_registry *r, cmio_token token, cmio_interest interest)
{
    return cmio_named_pipe_register(p, r, token, interest);
}

int cmio_named_pipe_deregister(cmio_named_pipe *p, cmio_registry *r)
{
    CMIO__CHECK(p != NULL && r != NULL, -EINVAL);
    return -ENOTSUP;
}

int cmio_named_pipe_connect(cmio_named_pipe *p)
{
    CMIO__CHECK(p != NULL, -EINVAL);
    return -ENOTSUP;
}

int cmio_named_pipe_disconnect(cmio_named_pipe *p)
{
    CMIO__CHECK(p != NULL, -EINVAL);
    return -ENOTSUP;
}

int cmio_named_pipe_take_error(cmio_named_pipe *p)
{
    CMIO__CHECK(p != NULL, -EINVAL);
    return -ENOTSUP;
}

ssize_t cmio_named_pipe_read(cmio_named_pipe *p, void *buf, size_t len)
{
    CMIO__CHECK(p != NULL && (buf != NULL || len == 0), -EINVAL);
    return -ENOTSUP;
}

ssize_t cmio_named_pipe_write(cmio_named_pipe *p, const void *buf, size_t len)
{
    CMIO__CHECK(p != NULL && (buf != NULL || len == 0), -EINVAL);
    return -ENOTSUP;
}

#endif
