/*
 * libFuzzer target: the cmio_sockaddr text and AF_UNIX constructors on
 * arbitrary bytes.
 *
 *  - cmio_sockaddr_parse on the input as text (copied into a buffer of
 *    exactly its length plus the NUL, so that an overread is caught). An
 *    address that parses is IPv4 or IPv6, its port is the decimal number
 *    after the last ':', and it survives a round trip: format, parse again,
 *    same address and same text. cmio_sockaddr_format into every buffer too
 *    short for the text returns -ENOSPC and leaves "" (buffers are exactly
 *    their size, on the heap); a longer one gives the same text.
 *  - cmio_sockaddr_from_path on the same text and cmio_sockaddr_from_abstract
 *    on the raw bytes: accepted exactly when they fit, and formatted back to
 *    the path, or to '@' and the name's bytes.
 *  - cmio_sockaddr_format on the input taken as a cmio_sockaddr (any family
 *    and length): it must not read out of bounds, and it returns -EINVAL, or
 *    a length whose text is terminated where it says.
 *
 * SPDX-License-Identifier: MIT
 */
#include <cmio.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *text)
{
    fprintf(stderr, "fuzz_sockaddr: %s (input text \"%s\")\n", what, text);
    abort();
}

static bool same_ip(const cmio_sockaddr *a, const cmio_sockaddr *b)
{
    if (a->u.sa.sa_family != b->u.sa.sa_family || a->len != b->len)
        return false;
    if (a->u.sa.sa_family == AF_INET)
        return a->u.in4.sin_port == b->u.in4.sin_port && a->u.in4.sin_addr.s_addr == b->u.in4.sin_addr.s_addr;
    return a->u.in6.sin6_port == b->u.in6.sin6_port &&
           memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, sizeof(a->u.in6.sin6_addr)) == 0 &&
           a->u.in6.sin6_scope_id == b->u.in6.sin6_scope_id &&
           a->u.in6.sin6_flowinfo == b->u.in6.sin6_flowinfo;
}

/* Formats a into heap buffers of every size up to the text's length plus
 * two: too short gives -ENOSPC and "" (nothing for size 0), long enough
 * gives want (want_len bytes, which may hold NULs for abstract names). */
static void check_short_buffers(const cmio_sockaddr *a, const char *want, size_t want_len, const char *text)
{
    for (size_t size = 0; size <= want_len + 2; size++) {
        char *buf = malloc(size ? size : 1);
        if (!buf)
            abort();
        int n = cmio_sockaddr_format(a, buf, size);
        if (size <= want_len) {
            if (n != -ENOSPC)
                fail("format into a short buffer did not return -ENOSPC", text);
            if (size > 0 && buf[0] != '\0')
                fail("format into a short buffer left text behind", text);
        } else {
            if (n < 0 || (size_t)n != want_len || memcmp(buf, want, want_len) != 0 || buf[n] != '\0')
                fail("format into a long enough buffer gave other text", text);
        }
        free(buf);
    }
}

/* The port text after the last ':' is decimal digits of value port. */
static void check_port(const char *text, uint16_t port)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon[1] == '\0')
        fail("parsed an address without a port", text);
    unsigned long v = 0;
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            fail("parsed a port with a non-digit", text);
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > 65535)
            fail("parsed a port above 65535", text);
    }
    if (v != port)
        fail("parsed port differs from its text", text);
}

static void fuzz_parse(const char *text)
{
    cmio_sockaddr a;
    int rc = cmio_sockaddr_parse(&a, text);
    if (rc == -EINVAL)
        return;
    if (rc != 0)
        fail("parse returned neither 0 nor -EINVAL", text);
    if (strchr(text, ' '))
        fail("parsed text with a space", text);
    if (a.u.sa.sa_family == AF_INET) {
        if (a.len != sizeof(struct sockaddr_in))
            fail("IPv4 address with a wrong length", text);
        check_port(text, ntohs(a.u.in4.sin_port));
    } else if (a.u.sa.sa_family == AF_INET6) {
        if (a.len != sizeof(struct sockaddr_in6) || text[0] != '[')
            fail("IPv6 address with a wrong length or without its bracket", text);
        check_port(text, ntohs(a.u.in6.sin6_port));
    } else {
        fail("parse gave neither IPv4 nor IPv6", text);
    }

    char out[CMIO_SOCKADDR_STRLEN];
    int n = cmio_sockaddr_format(&a, out, sizeof(out));
    if (n <= 0 || (size_t)n != strlen(out))
        fail("format of a parsed address failed", text);
    cmio_sockaddr b;
    if (cmio_sockaddr_parse(&b, out) != 0)
        fail("the formatted text does not parse", text);
    if (!same_ip(&a, &b))
        fail("round trip gave another address", text);
    char again[CMIO_SOCKADDR_STRLEN];
    if (cmio_sockaddr_format(&b, again, sizeof(again)) != n || strcmp(out, again) != 0)
        fail("round trip gave another text", text);
    check_short_buffers(&a, out, (size_t)n, text);
}

static void fuzz_path(const char *text)
{
    cmio_sockaddr a;
    size_t len = strlen(text);
    int rc = cmio_sockaddr_from_path(&a, text);
    if (len == 0) {
        if (rc != -EINVAL)
            fail("from_path accepted an empty path", text);
        return;
    }
    if (len >= sizeof(a.u.un.sun_path)) {
        if (rc != -ENAMETOOLONG)
            fail("from_path accepted a path too long for sun_path", text);
        return;
    }
    if (rc != 0 || a.u.sa.sa_family != AF_UNIX)
        fail("from_path refused a path that fits", text);
    check_short_buffers(&a, text, len, text);
}

static void fuzz_abstract(const uint8_t *data, size_t size, const char *text)
{
    cmio_sockaddr a;
    int rc = cmio_sockaddr_from_abstract(&a, data, size);
#ifdef __linux__
    if (size + 1 > sizeof(a.u.un.sun_path)) {
        if (rc != -ENAMETOOLONG)
            fail("from_abstract accepted a name too long for sun_path", text);
        return;
    }
    if (rc != 0 || a.u.sa.sa_family != AF_UNIX)
        fail("from_abstract refused a name that fits", text);
    char want[sizeof(a.u.un.sun_path) + 1];
    want[0] = '@';
    if (size)
        memcpy(want + 1, data, size);
    check_short_buffers(&a, want, size + 1, text);
#else
    if (rc != -ENOTSUP)
        fail("from_abstract without an abstract namespace", text);
#endif
}

/* The input's bytes as an address record, with whatever family and length
 * they hold. */
static void fuzz_format_raw(const uint8_t *data, size_t size, const char *text)
{
    cmio_sockaddr a;
    memset(&a, 0, sizeof(a));
    memcpy(&a, data, size < sizeof(a) ? size : sizeof(a));
    char out[sizeof(struct sockaddr_un) + CMIO_SOCKADDR_STRLEN];
    int n = cmio_sockaddr_format(&a, out, sizeof(out));
    if (n == -EINVAL)
        return;
    if (n < 0 || (size_t)n >= sizeof(out) || out[n] != '\0')
        fail("format of a raw record returned a bad length", text);
    if (a.u.sa.sa_family == AF_INET || a.u.sa.sa_family == AF_INET6) {
        cmio_sockaddr b;
        if ((size_t)n != strlen(out) || cmio_sockaddr_parse(&b, out) != 0)
            fail("format of a raw IP record gave text that does not parse", text);
    } else if (a.u.sa.sa_family != AF_UNIX) {
        fail("format accepted an unknown family", text);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        abort();
    if (size)
        memcpy(text, data, size);
    text[size] = '\0';

    fuzz_parse(text);
    fuzz_path(text);
    fuzz_abstract(data, size, text);
    fuzz_format_raw(data, size, text);

    free(text);
    return 0;
}
