/*
 * The epoll backend's tables: from epoll bits to event flags, against mio's
 * rules written out one by one (its sys/unix/selector/epoll.rs), for every
 * combination of the bits an epoll record can carry; and from an interest
 * to the epoll bits registered, for every interest.
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include "../sys/epoll.c"

/* The rules, as plainly as mio states them. */
static uint32_t mio_flags(uint32_t e)
{
    uint32_t f = 0;
    if (e & (EPOLLIN | EPOLLPRI))
        f |= CMIO_EVENT_READABLE;
    if (e & EPOLLOUT)
        f |= CMIO_EVENT_WRITABLE;
    if (e & EPOLLERR)
        f |= CMIO_EVENT_ERROR;
    if ((e & EPOLLHUP) || ((e & EPOLLIN) && (e & EPOLLRDHUP)))
        f |= CMIO_EVENT_READ_CLOSED;
    if ((e & EPOLLHUP) || ((e & EPOLLOUT) && (e & EPOLLERR)) || e == EPOLLERR)
        f |= CMIO_EVENT_WRITE_CLOSED;
    if (e & EPOLLPRI)
        f |= CMIO_EVENT_PRIORITY;
    return f;
}

START_TEST(test_table_follows_mios_rules_for_every_combination)
{
    static const uint32_t bits[] = {EPOLLIN, EPOLLPRI, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP};
    for (unsigned combo = 0; combo < 64; combo++) {
        uint32_t e = 0;
        for (unsigned b = 0; b < 6; b++)
            if (combo & (1u << b))
                e |= bits[b];
        ck_assert_msg(ep_flags[EP_INDEX(e)] == mio_flags(e), "epoll bits %#x: table %#x, rules %#x",
                      e, ep_flags[EP_INDEX(e)], mio_flags(e));
    }
}
END_TEST

START_TEST(test_index_keeps_each_bit_apart)
{
    /* EPOLLET and EPOLLEXCLUSIVE, never in a record, must not alias. */
    ck_assert_uint_eq(EP_INDEX(EPOLLRDHUP), 0x20);
    ck_assert_uint_eq(EP_INDEX(EPOLLIN | EPOLLOUT | EPOLLHUP), 0x15);
    ck_assert_uint_lt(EP_INDEX(0xffffffffu), 64);
}
END_TEST

START_TEST(test_interest_table_for_every_interest)
{
    for (cmio_interest i = 1; i < 8; i++) {
        uint32_t want = EPOLLET;
        if (i & CMIO_READABLE)
            want |= EPOLLIN | EPOLLRDHUP;
        if (i & CMIO_WRITABLE)
            want |= EPOLLOUT;
        if (i & CMIO_PRIORITY)
            want |= EPOLLPRI;
        ck_assert_msg(ep_interest[i] == want, "interest %u: table %#x, want %#x", (unsigned)i,
                      ep_interest[i], want);
    }
}
END_TEST

static Suite *epoll_flags_suite(void)
{
    Suite *s = suite_create("epoll_flags");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, test_table_follows_mios_rules_for_every_combination);
    tcase_add_test(tc, test_index_keeps_each_bit_apart);
    tcase_add_test(tc, test_interest_table_for_every_interest);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(epoll_flags_suite()); }
