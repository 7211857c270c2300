/*
 * cmio_sockaddr: parsing and formatting of IP addresses with ports, and the
 * AF_UNIX constructors (a path, an abstract name).
 *
 * SPDX-License-Identifier: MIT
 */
#include "socket.h"

#if defined(_WIN32)
#include <iphlpapi.h> /* if_nametoindex, if_indextoname */
#endif
#if !defined(_WIN32)
#include <arpa/inet.h>
#endif
#include <errno.h>
#if !defined(_WIN32)
#include <net/if.h>
#endif
#include <stdio.h>
#include <string.h>
#if !defined(_WIN32)
#include <sys/socket.h>
#include <sys/un.h>
#endif

/* A port: one to five decimal digits, nothing else, at most 65535. */
static int parse_port(const char *s, uint16_t *out)
{
    if (*s == '\0')
        return -EINVAL;
    unsigned v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        v = v * 10 + (unsigned)(*s - '0');
        if (v > 65535)
            return -EINVAL;
    }
    *out = (uint16_t)v;
    return 0;
}

/* A numeric scope id (all digits, fits in 32 bits) or an interface name. */
static int parse_scope(const char *s, size_t n, uint32_t *out)
{
    if (n == 0)
        return -EINVAL;
    bool digits = true;
    for (size_t i = 0; i < n; i++)
        digits = digits && s[i] >= '0' && s[i] <= '9';
    if (digits) {
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++) {
            v = v * 10 + (uint64_t)(s[i] - '0');
            if (v > UINT32_MAX)
                return -EINVAL;
        }
        *out = (uint32_t)v;
        return 0;
    }
    char name[IF_NAMESIZE];
    if (n >= sizeof(name))
        return -EINVAL;
    memcpy(name, s, n);
    name[n] = '\0';
    unsigned idx = if_nametoindex(name);
    if (idx == 0)
        return -EINVAL;
    *out = idx;
    return 0;
}

/* "[ipv6%scope]:port"; text points at the '['. */
static int parse_v6(cmio_sockaddr *out, const char *text)
{
    const char *close = strchr(text, ']');
    if (!close || close[1] != ':')
        return -EINVAL;
    const char *host = text + 1;
    const char *pct = memchr(host, '%', (size_t)(close - host));
    const char *host_end = pct ? pct : close;
    char buf[INET6_ADDRSTRLEN];
    size_t n = (size_t)(host_end - host);
    if (n == 0 || n >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, host, n);
    buf[n] = '\0';
    struct sockaddr_in6 *a = &out->u.in6;
    if (inet_pton(AF_INET6, buf, &a->sin6_addr) != 1)
        return -EINVAL;
    uint32_t scope = 0;
    if (pct && parse_scope(pct + 1, (size_t)(close - pct - 1), &scope) < 0)
        return -EINVAL;
    uint16_t port;
    if (parse_port(close + 2, &port) < 0)
        return -EINVAL;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_scope_id = scope;
    out->len = sizeof(*a);
    return 0;
}

/* "a.b.c.d:port". */
static int parse_v4(cmio_sockaddr *out, const char *text)
{
    const char *colon = strchr(text, ':');
    if (!colon)
        return -EINVAL;
    char buf[INET_ADDRSTRLEN];
    size_t n = (size_t)(colon - text);
    if (n == 0 || n >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, text, n);
    buf[n] = '\0';
    struct sockaddr_in *a = &out->u.in4;
    if (inet_pton(AF_INET, buf, &a->sin_addr) != 1)
        return -EINVAL;
    uint16_t port;
    if (parse_port(colon + 1, &port) < 0)
        return -EINVAL;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    out->len = sizeof(*a);
    return 0;
}

int cmio_sockaddr_parse(cmio_sockaddr *out, const char *text)
{
    CMIO__CHECK(out != NULL, -EINVAL);
    memset(out, 0, sizeof(*out));
    CMIO__CHECK(text != NULL, -EINVAL);
    int err = text[0] == '[' ? parse_v6(out, text) : parse_v4(out, text);
    if (err < 0)
        memset(out, 0, sizeof(*out));
    return err;
}

/* The text of an AF_UNIX address into tmp (not terminated); its length. */
static size_t unix_text(const cmio_sockaddr *a, char *tmp)
{
    size_t off = offsetof(struct sockaddr_un, sun_path);
    size_t n = (size_t)a->len > off ? (size_t)a->len - off : 0;
    if (n == 0)
        return 0; /* unnamed */
#ifdef __linux__
    if (a->u.un.sun_path[0] == '\0') {
        tmp[0] = '@';
        memcpy(tmp + 1, a->u.un.sun_path + 1, n - 1); /* any bytes, NUL included */
        return n;
    }
#endif
    n = strnlen(a->u.un.sun_path, n);
    memcpy(tmp, a->u.un.sun_path, n);
    return n;
}

int cmio_sockaddr_format(const cmio_sockaddr *a, char *buf, size_t size)
{
    CMIO__CHECK(a != NULL && buf != NULL, -EINVAL);
    char tmp[sizeof(struct sockaddr_un) + CMIO_SOCKADDR_STRLEN];
    char host[INET6_ADDRSTRLEN];
    size_t n;
    int r;
    switch (a->u.sa.sa_family) {
    case AF_INET:
        if (!inet_ntop(AF_INET, &a->u.in4.sin_addr, host, sizeof(host)))
            return -EINVAL;
        r = snprintf(tmp, sizeof(tmp), "%s:%u", host, (unsigned)ntohs(a->u.in4.sin_port));
        n = (size_t)r;
        break;
    case AF_INET6:
        if (!inet_ntop(AF_INET6, &a->u.in6.sin6_addr, host, sizeof(host)))
            return -EINVAL;
        if (a->u.in6.sin6_scope_id != 0)
            r = snprintf(tmp, sizeof(tmp), "[%s%%%u]:%u", host, (unsigned)a->u.in6.sin6_scope_id,
                         (unsigned)ntohs(a->u.in6.sin6_port));
        else
            r = snprintf(tmp, sizeof(tmp), "[%s]:%u", host, (unsigned)ntohs(a->u.in6.sin6_port));
        n = (size_t)r;
        break;
    case AF_UNIX:
        CMIO__CHECK((size_t)a->len <= sizeof(struct sockaddr_un), -EINVAL);
        n = unix_text(a, tmp);
        break;
    default:
        return -EINVAL;
    }
    if (n >= size) {
        if (size > 0)
            buf[0] = '\0';
        return -ENOSPC;
    }
    memcpy(buf, tmp, n);
    buf[n] = '\0';
    return (int)n;
}

int cmio_sockaddr_from_path(cmio_sockaddr *out, const char *path)
{
    CMIO__CHECK(out != NULL && path != NULL && path[0] != '\0', -EINVAL);
    size_t n = strlen(path);
    CMIO__CHECK(n < sizeof(out->u.un.sun_path), -ENAMETOOLONG);
    memset(out, 0, sizeof(*out));
    out->u.un.sun_family = AF_UNIX;
    memcpy(out->u.un.sun_path, path, n + 1);
    out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    return 0;
}

int cmio_sockaddr_from_abstract(cmio_sockaddr *out, const void *name, size_t len)
{
    CMIO__CHECK(out != NULL && (name != NULL || len == 0), -EINVAL);
#ifdef __linux__
    CMIO__CHECK(len < sizeof(out->u.un.sun_path), -ENAMETOOLONG);
    memset(out, 0, sizeof(*out));
    out->u.un.sun_family = AF_UNIX;
    out->u.un.sun_path[0] = '\0';
    if (len > 0)
        memcpy(out->u.un.sun_path + 1, name, len);
    out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
    return 0;
#else
    return -ENOTSUP;
#endif
}
