/*
 * mio's tests/interest.rs, ported: mio's Interest methods are the bit
 * operations of cmio_interest (docs/porting-from-mio.md lists the tests).
 * Nothing here polls, so the tests run once.
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

/* mio's is_readable / is_writable on a cmio_interest. */
static bool is_readable(cmio_interest i)
{
    return (i & CMIO_READABLE) != 0;
}
static bool is_writable(cmio_interest i)
{
    return (i & CMIO_WRITABLE) != 0;
}

/* is_tests: each interest says what it holds and nothing else. mio's
 * is_aio and is_lio (FreeBSD, macOS) have no cmio bits; what stands for
 * them is that WRITABLE holds no other interest bit (PRIORITY included). */
START_TEST(mio_is_tests)
{
    ck_assert(is_readable(CMIO_READABLE));
    ck_assert(!is_writable(CMIO_READABLE));
    ck_assert(!is_readable(CMIO_WRITABLE));
    ck_assert(is_writable(CMIO_WRITABLE));
    ck_assert_uint_eq(CMIO_WRITABLE & (CMIO_READABLE | CMIO_PRIORITY), 0);
    ck_assert_uint_eq(CMIO_READABLE & CMIO_PRIORITY, 0);
    /* Each is one bit, and none is the empty interest. */
    ck_assert_uint_ne(CMIO_READABLE, 0);
    ck_assert_uint_ne(CMIO_WRITABLE, 0);
    ck_assert_uint_ne(CMIO_PRIORITY, 0);
    ck_assert_uint_eq(CMIO_READABLE & (CMIO_READABLE - 1), 0);
    ck_assert_uint_eq(CMIO_WRITABLE & (CMIO_WRITABLE - 1), 0);
    ck_assert_uint_eq(CMIO_PRIORITY & (CMIO_PRIORITY - 1), 0);
}
END_TEST

/* bit_or: READABLE | WRITABLE holds both. */
START_TEST(mio_bit_or)
{
    cmio_interest interests = CMIO_READABLE | CMIO_WRITABLE;
    ck_assert(is_readable(interests));
    ck_assert(is_writable(interests));
}
END_TEST

/* add: mio's Interest::add is |= on a cmio_interest; the sum keeps both
 * and fits the type. */
START_TEST(mio_add)
{
    cmio_interest interest = CMIO_READABLE;
    interest |= CMIO_WRITABLE;
    ck_assert(is_readable(interest));
    ck_assert(is_writable(interest));
    ck_assert_uint_eq(interest, (cmio_interest)(CMIO_READABLE | CMIO_WRITABLE));
}
END_TEST

static Suite *mio_interest_suite(void)
{
    Suite *s = suite_create("mio_interest");
    TCase *tc = tcase_create("interest.rs");
    tcase_add_test(tc, mio_is_tests);
    tcase_add_test(tc, mio_bit_or);
    tcase_add_test(tc, mio_add);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(mio_interest_suite()); }
