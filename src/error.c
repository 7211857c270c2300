/*
 * cmio_strerror: messages for the negative errno values cmio returns.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

#include <limits.h>
#include <string.h>

const char *cmio_strerror(int err)
{
    if (err == INT_MIN) /* no positive counterpart: negating it is undefined */
        return "Unknown error";
    if (err < 0)
        err = -err;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
    /* strerrordesc_np: static text, no locale, thread-safe. */
    const char *text = strerrordesc_np(err);
    return text ? text : "Unknown error";
#elif defined(_WIN32)
    const char *known = cmio__win_strerror(err);
    if (known)
        return known;
    static _Thread_local char buf[128];
    return strerror_s(buf, sizeof(buf), err) == 0 ? buf : "Unknown error";
#else
    /* strerror() need not be thread-safe: strerror_r into a buffer of this
     * thread's (the GNU variant on older glibc returns its own text). */
    static _Thread_local char buf[128];
#if defined(__GLIBC__)
    return strerror_r(err, buf, sizeof(buf));
#else
    return strerror_r(err, buf, sizeof(buf)) == 0 ? buf : "Unknown error";
#endif
#endif
}
