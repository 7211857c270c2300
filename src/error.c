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
#else
    return strerror(err);
#endif
}
