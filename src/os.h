/*
 * The few thread primitives src/ needs (a lock, a once), over pthreads on
 * POSIX systems and over the Windows API on Windows (SRWLOCK,
 * InitOnceExecuteOnce), so that no Windows build depends on winpthreads.
 * Not installed.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef CMIO_SRC_OS_H
#define CMIO_SRC_OS_H

#if defined(_WIN32)
#include <winsock2.h>
#include <windows.h>

/* A lock: an SRWLOCK taken exclusively (no destruction needed). */
typedef SRWLOCK cmio__mutex;
static inline int cmio__mutex_init(cmio__mutex *m)
{
    InitializeSRWLock(m);
    return 0;
}
static inline void cmio__mutex_destroy(cmio__mutex *m) { (void)m; }
static inline void cmio__mutex_lock(cmio__mutex *m) { AcquireSRWLockExclusive(m); }
static inline void cmio__mutex_unlock(cmio__mutex *m) { ReleaseSRWLockExclusive(m); }

/* A once: fn runs exactly once over every thread that calls cmio__once_run. */
typedef INIT_ONCE cmio__once;
#define CMIO__ONCE_INIT INIT_ONCE_STATIC_INIT
static BOOL CALLBACK cmio__once_call(PINIT_ONCE once, PVOID fn, PVOID *ctx)
{
    (void)once;
    (void)ctx;
    ((void (*)(void))fn)();
    return TRUE;
}
static inline void cmio__once_run(cmio__once *once, void (*fn)(void))
{
    (void)InitOnceExecuteOnce(once, cmio__once_call, (PVOID)fn, NULL);
}

#else
#include <pthread.h>

typedef pthread_mutex_t cmio__mutex;
static inline int cmio__mutex_init(cmio__mutex *m) { return -pthread_mutex_init(m, NULL); }
static inline void cmio__mutex_destroy(cmio__mutex *m) { pthread_mutex_destroy(m); }
static inline void cmio__mutex_lock(cmio__mutex *m) { pthread_mutex_lock(m); }
static inline void cmio__mutex_unlock(cmio__mutex *m) { pthread_mutex_unlock(m); }

typedef pthread_once_t cmio__once;
#define CMIO__ONCE_INIT PTHREAD_ONCE_INIT
static inline void cmio__once_run(cmio__once *once, void (*fn)(void)) { (void)pthread_once(once, fn); }
#endif

#endif /* CMIO_SRC_OS_H */
