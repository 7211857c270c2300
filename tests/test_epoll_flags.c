/*
 * The Linux event record (struct epoll_event): the header's accessors
 * against mio's rules written out one by one (its sys/unix/selector/
 * epoll.rs), for every combination of the bits an epoll record can carry;
 * the records the poll(2) and emulated backends write (sys/record.h) decode
 * to at least what they say; and the epoll backend's interest table.
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers.h"

#include "../sys/epoll.c"
#include "../sys/record.h"

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

START_TEST(test_accessors_follow_mios_rules_for_every_combination)
{
    static const uint32_t bits[] = {EPOLLIN, EPOLLPRI, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP};
    for (unsigned combo = 0; combo < 64; combo++) {
        uint32_t b = 0;
        for (unsigned k = 0; k < 6; k++)
            if (combo & (1u << k))
                b |= bits[k];
        cmio_event e = {.ev = {.events = b, .data.u64 = 0x123456789abcdefull}};
        ck_assert_msg(cmio_event_flags(&e) == mio_flags(b), "epoll bits %#x: accessors %#x, rules %#x", b,
                      cmio_event_flags(&e), mio_flags(b));
        ck_assert_uint_eq(cmio_event_token(&e), (cmio_token)0x123456789abcdefull);
    }
}
END_TEST

START_TEST(test_written_records_say_at_least_their_flags)
{
    /* Every set of flags a backend can find (64), written as this OS's
     * record and read back: nothing it found is lost. */
    for (uint32_t f = 0; f < 64; f++) {
        cmio_event e[2];
        size_t n = cmio__record_put(e, 42, f);
        ck_assert_uint_eq(n, cmio__records(f));
        uint32_t got = 0;
        for (size_t i = 0; i < n; i++) {
            got |= cmio_event_flags(&e[i]);
            ck_assert_uint_eq(cmio_event_token(&e[i]), 42);
        }
        ck_assert_msg((got & f) == f, "flags %#x written, %#x read", f, got);
    }
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
        ck_assert_msg(ep_interest[i] == want, "interest %u: table %#x, want %#x", (unsigned)i, ep_interest[i],
                      want);
    }
}
END_TEST

static Suite *epoll_flags_suite(void)
{
    Suite *s = suite_create("epoll_flags");
    TCase *tc = tcase_create("record");
    tcase_add_test(tc, test_accessors_follow_mios_rules_for_every_combination);
    tcase_add_test(tc, test_written_records_say_at_least_their_flags);
    tcase_add_test(tc, test_interest_table_for_every_interest);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(epoll_flags_suite());
}
