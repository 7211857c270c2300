/*
 * cmio_sockaddr: parsing, formatting and the AF_UNIX constructors.
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#if defined(_WIN32)
#include <iphlpapi.h> /* if_nametoindex */
#endif

#if !defined(_WIN32)
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/un.h>
#endif
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Parses text and formats it back; the text must come back unchanged. */
static void round_trip(const char *text)
{
    cmio_sockaddr a;
    char buf[CMIO_SOCKADDR_STRLEN];
    ck_assert_msg(cmio_sockaddr_parse(&a, text) == 0, "parse \"%s\"", text);
    ck_assert_int_eq(cmio_sockaddr_format(&a, buf, sizeof(buf)), (int)strlen(text));
    ck_assert_str_eq(buf, text);
}

static void rejected(const char *text)
{
    cmio_sockaddr a;
    ck_assert_msg(cmio_sockaddr_parse(&a, text) == -EINVAL, "\"%s\" was accepted", text);
}

START_TEST(test_parse_v4)
{
    cmio_sockaddr a;
    ck_assert_int_eq(cmio_sockaddr_parse(&a, "127.0.0.1:13265"), 0);
    ck_assert_int_eq(a.u.sa.sa_family, AF_INET);
    ck_assert_uint_eq(a.len, sizeof(struct sockaddr_in));
    ck_assert_uint_eq(ntohs(a.u.in4.sin_port), 13265);
    ck_assert_uint_eq(ntohl(a.u.in4.sin_addr.s_addr), INADDR_LOOPBACK);
    ck_assert_int_eq(cmio_sockaddr_parse(&a, "0.0.0.0:0"), 0);
    ck_assert_uint_eq(ntohs(a.u.in4.sin_port), 0);
    ck_assert_int_eq(cmio_sockaddr_parse(&a, "255.255.255.255:65535"), 0);
    ck_assert_uint_eq(ntohs(a.u.in4.sin_port), 65535);
}
END_TEST

START_TEST(test_parse_v6)
{
    cmio_sockaddr a;
    ck_assert_int_eq(cmio_sockaddr_parse(&a, "[::1]:80"), 0);
    ck_assert_int_eq(a.u.sa.sa_family, AF_INET6);
    ck_assert_uint_eq(a.len, sizeof(struct sockaddr_in6));
    ck_assert_uint_eq(ntohs(a.u.in6.sin6_port), 80);
    ck_assert(IN6_IS_ADDR_LOOPBACK(&a.u.in6.sin6_addr));
    ck_assert_uint_eq(a.u.in6.sin6_scope_id, 0);
    ck_assert_int_eq(cmio_sockaddr_parse(&a, "[fe80::1%7]:443"), 0);
    ck_assert_uint_eq(a.u.in6.sin6_scope_id, 7);
    ck_assert_uint_eq(ntohs(a.u.in6.sin6_port), 443);
    ck_assert_int_eq(cmio_sockaddr_parse(&a, "[::ffff:1.2.3.4]:1"), 0);
    ck_assert(IN6_IS_ADDR_V4MAPPED(&a.u.in6.sin6_addr));
}
END_TEST

START_TEST(test_parse_v6_scope_by_interface_name)
{
    unsigned lo = if_nametoindex("lo");
    if (lo == 0) {
        fprintf(stderr, "no interface named lo: scope-by-name case skipped\n");
        return;
    }
    cmio_sockaddr a;
    ck_assert_int_eq(cmio_sockaddr_parse(&a, "[fe80::1%lo]:9"), 0);
    ck_assert_uint_eq(a.u.in6.sin6_scope_id, lo);
    rejected("[fe80::1%no-such-if0]:9");
    rejected("[fe80::1%]:9");
    rejected("[fe80::1%4294967296]:9");
}
END_TEST

START_TEST(test_parse_rejects_malformed_text)
{
    cmio_sockaddr a;
    ck_assert_int_eq(cmio_sockaddr_parse(NULL, "127.0.0.1:1"), -EINVAL);
    memset(&a, 0x5a, sizeof(a));
    ck_assert_int_eq(cmio_sockaddr_parse(&a, NULL), -EINVAL);
    ck_assert_int_eq(a.len, 0); /* zeroed, as for any text that does not parse */
    ck_assert_int_eq(a.u.sa.sa_family, 0);
    static const char *const bad[] = {
        "",                      /* empty */
        "127.0.0.1",             /* missing port */
        "127.0.0.1:",            /* empty port */
        "127.0.0.1:65536",       /* port too large */
        "127.0.0.1:99999999999", /* port overflows */
        "127.0.0.1:8a",          /* non-digit port */
        "127.0.0.1:+80",         /* sign */
        "127.0.0.1:-80",
        "127.0.0.1: 80", /* spaces */
        " 127.0.0.1:80",
        "127.0.0.1:80 ",
        "127.0.0.1 :80",
        "127.0.0.1:80:80", /* extra characters */
        "127.0.0.1:80x",
        "localhost:80", /* host names */
        "example.com:80",
        "127.0.0:80", /* too few or too many octets */
        "127.0.0.1.1:80",
        "256.0.0.1:80",
        "127.0.0.01:80", /* leading zero */
        ":80",
        "::1:80",      /* unbracketed IPv6 */
        "[::1]",       /* no port */
        "[::1]:",      /* empty port */
        "[::1]80",     /* no colon */
        "[::1]:80x",   /* extra characters */
        "[::1]:65536", /* port too large */
        "[::1:80",     /* no closing bracket */
        "[]:80",       /* empty address */
        "[127.0.0.1]:80",
        "[ ::1]:80",
        "[::1] :80",
        "[::g]:80",
        "::1",
        "[::1]:-1",
        "[::1]:+1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        rejected(bad[i]);
}
END_TEST

START_TEST(test_format_round_trips)
{
    round_trip("127.0.0.1:13265");
    round_trip("0.0.0.0:0");
    round_trip("10.1.2.3:65535");
    round_trip("[::1]:80");
    round_trip("[::]:0");
    round_trip("[2001:db8::42]:8080");
    round_trip("[fe80::1%3]:443");
    round_trip("[::ffff:1.2.3.4]:1");
}
END_TEST

START_TEST(test_format_short_buffer)
{
    cmio_sockaddr a;
    char buf[CMIO_SOCKADDR_STRLEN];
    ck_assert_int_eq(cmio_sockaddr_parse(&a, "127.0.0.1:80"), 0);
    /* "127.0.0.1:80" is 12 characters: 13 bytes with the NUL. */
    memset(buf, 'z', sizeof(buf));
    ck_assert_int_eq(cmio_sockaddr_format(&a, buf, 12), -ENOSPC);
    ck_assert_int_eq(buf[0], '\0');
    ck_assert_int_eq(cmio_sockaddr_format(&a, buf, 0), -ENOSPC);
    ck_assert_int_eq(cmio_sockaddr_format(&a, buf, 13), 12);
    ck_assert_str_eq(buf, "127.0.0.1:80");
    ck_assert_int_eq(cmio_sockaddr_parse(&a, "[fe80::1%3]:443"), 0);
    ck_assert_int_eq(cmio_sockaddr_format(&a, buf, 5), -ENOSPC);
    ck_assert_int_eq(buf[0], '\0');
}
END_TEST

START_TEST(test_format_invalid_arguments)
{
    cmio_sockaddr a;
    char buf[64];
    ck_assert_int_eq(cmio_sockaddr_parse(&a, "127.0.0.1:80"), 0);
    ck_assert_int_eq(cmio_sockaddr_format(NULL, buf, sizeof(buf)), -EINVAL);
    ck_assert_int_eq(cmio_sockaddr_format(&a, NULL, sizeof(buf)), -EINVAL);
    memset(&a, 0, sizeof(a));
    a.u.sa.sa_family = AF_UNSPEC;
    ck_assert_int_eq(cmio_sockaddr_format(&a, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(test_from_path)
{
    cmio_sockaddr a;
    char buf[sizeof(a.u.un.sun_path) + 8];
    ck_assert_int_eq(cmio_sockaddr_from_path(&a, "/tmp/cmio.sock"), 0);
    ck_assert_int_eq(a.u.sa.sa_family, AF_UNIX);
    ck_assert_uint_eq(a.len, offsetof(struct sockaddr_un, sun_path) + strlen("/tmp/cmio.sock") + 1);
    ck_assert_str_eq(a.u.un.sun_path, "/tmp/cmio.sock");
    ck_assert_int_eq(cmio_sockaddr_format(&a, buf, sizeof(buf)), (int)strlen("/tmp/cmio.sock"));
    ck_assert_str_eq(buf, "/tmp/cmio.sock");
    ck_assert_int_eq(cmio_sockaddr_format(&a, buf, 4), -ENOSPC);

    ck_assert_int_eq(cmio_sockaddr_from_path(NULL, "/x"), -EINVAL);
    ck_assert_int_eq(cmio_sockaddr_from_path(&a, NULL), -EINVAL);
    ck_assert_int_eq(cmio_sockaddr_from_path(&a, ""), -EINVAL);

    /* The longest path that fits, and one byte more. */
    char path[sizeof(a.u.un.sun_path) + 1];
    memset(path, 'p', sizeof(path));
    path[sizeof(a.u.un.sun_path) - 1] = '\0';
    ck_assert_int_eq(cmio_sockaddr_from_path(&a, path), 0);
    ck_assert_uint_eq(a.len, sizeof(struct sockaddr_un));
    ck_assert_int_eq(cmio_sockaddr_format(&a, buf, sizeof(buf)), (int)strlen(path));
    ck_assert_str_eq(buf, path);
    path[sizeof(a.u.un.sun_path) - 1] = 'p';
    path[sizeof(a.u.un.sun_path)] = '\0';
    ck_assert_int_eq(cmio_sockaddr_from_path(&a, path), -ENAMETOOLONG);
}
END_TEST

START_TEST(test_from_abstract)
{
    cmio_sockaddr a;
    char buf[sizeof(a.u.un.sun_path) + 8];
#ifdef __linux__
    ck_assert_int_eq(cmio_sockaddr_from_abstract(&a, "cmio", 4), 0);
    ck_assert_int_eq(a.u.sa.sa_family, AF_UNIX);
    ck_assert_uint_eq(a.len, offsetof(struct sockaddr_un, sun_path) + 1 + 4);
    ck_assert_int_eq(a.u.un.sun_path[0], '\0');
    ck_assert_int_eq(memcmp(a.u.un.sun_path + 1, "cmio", 4), 0);
    ck_assert_int_eq(cmio_sockaddr_format(&a, buf, sizeof(buf)), 5);
    ck_assert_str_eq(buf, "@cmio");
    /* Any bytes, a NUL among them. */
    ck_assert_int_eq(cmio_sockaddr_from_abstract(&a, "a\0b", 3), 0);
    ck_assert_int_eq(cmio_sockaddr_format(&a, buf, sizeof(buf)), 4);
    ck_assert_int_eq(memcmp(buf, "@a\0b", 5), 0);
    /* The empty name. */
    ck_assert_int_eq(cmio_sockaddr_from_abstract(&a, NULL, 0), 0);
    ck_assert_int_eq(cmio_sockaddr_format(&a, buf, sizeof(buf)), 1);
    ck_assert_str_eq(buf, "@");
    /* The longest name and one byte more. */
    char name[sizeof(a.u.un.sun_path)];
    memset(name, 'n', sizeof(name));
    ck_assert_int_eq(cmio_sockaddr_from_abstract(&a, name, sizeof(name) - 1), 0);
    ck_assert_uint_eq(a.len, sizeof(struct sockaddr_un));
    ck_assert_int_eq(cmio_sockaddr_from_abstract(&a, name, sizeof(name)), -ENAMETOOLONG);
    ck_assert_int_eq(cmio_sockaddr_from_abstract(NULL, "x", 1), -EINVAL);
    ck_assert_int_eq(cmio_sockaddr_from_abstract(&a, NULL, 1), -EINVAL);
#else
    ck_assert_int_eq(cmio_sockaddr_from_abstract(&a, "cmio", 4), -ENOTSUP);
    (void)buf;
#endif
}
END_TEST

START_TEST(test_format_unnamed_unix)
{
    cmio_sockaddr a;
    char buf[16];
    memset(&a, 0, sizeof(a));
    a.u.un.sun_family = AF_UNIX;
    a.len = sizeof(a.u.un.sun_family);
    memset(buf, 'z', sizeof(buf));
    ck_assert_int_eq(cmio_sockaddr_format(&a, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "");
    /* A length beyond the structure is not trusted. */
    a.len = sizeof(struct sockaddr_un) + 1;
    ck_assert_int_eq(cmio_sockaddr_format(&a, buf, sizeof(buf)), -EINVAL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sockaddr");
    TCase *tc = tcase_create("sockaddr");
    tcase_add_test(tc, test_parse_v4);
    tcase_add_test(tc, test_parse_v6);
    tcase_add_test(tc, test_parse_v6_scope_by_interface_name);
    tcase_add_test(tc, test_parse_rejects_malformed_text);
    tcase_add_test(tc, test_format_round_trips);
    tcase_add_test(tc, test_format_short_buffer);
    tcase_add_test(tc, test_format_invalid_arguments);
    tcase_add_test(tc, test_from_path);
    tcase_add_test(tc, test_from_abstract);
    tcase_add_test(tc, test_format_unnamed_unix);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
