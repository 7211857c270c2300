/*
 * Argument checks at the door, one line each (sd-event's assert_return),
 * and the attribute that keeps a slow path out of its caller. Shared by
 * src/ and net/ (not installed).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CMIO_SRC_CHECK_H
#define CMIO_SRC_CHECK_H

#define CMIO__CHECK(cond, err)                                                                    \
    do {                                                                                          \
        if (!(cond))                                                                              \
            return (err);                                                                         \
    } while (0)

/* Keeps a slow path out of its caller, so that the fast path saves no
 * registers it does not need (the per-event path of docs/benchmarks.md). */
#if defined(__GNUC__) || defined(__clang__)
#define CMIO__NOINLINE __attribute__((noinline))
#else
#define CMIO__NOINLINE
#endif

/* A relaxed store into a plain field that the header's inline code reads
 * with a relaxed load (struct cmio__poll_head). */
#if defined(__GNUC__) || defined(__clang__)
#define CMIO__STORE_RELAXED(field, value) __atomic_store_n(&(field), (value), __ATOMIC_RELAXED)
#else
#define CMIO__STORE_RELAXED(field, value) ((field) = (value))
#endif

/* A descriptor value that may be one: not CMIO_FD_INVALID (negative on
 * POSIX systems, INVALID_SOCKET on Windows, where SOCKET is unsigned).
 * The same test as sys/fd.h's. */
#ifndef CMIO__FD_VALID
#if defined(_WIN32)
#define CMIO__FD_VALID(fd) ((fd) != CMIO_FD_INVALID)
#else
#define CMIO__FD_VALID(fd) ((fd) >= 0)
#endif
#endif

#endif /* CMIO_SRC_CHECK_H */
