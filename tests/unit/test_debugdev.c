// SPDX-License-Identifier: MIT
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/debugdev.h"
#include "firmware/layout.h"
#include "tests/unit/fakes.h"
#include "tests/unit/unit.h"

static const struct debugdev_addrs addrs = {
    .exit_port = PORT_DEBUG_EXIT,
    .post_code_port = PORT_POST_CODE,
    .boot_timer_port = PORT_BOOT_TIMER,
    .mmio_base = LAYOUT_DEBUG_MMIO,
    .mmio_size = LAYOUT_DEBUG_MMIO_SIZE,
};

struct rig {
    struct bus pio, mmio;
    struct fake_stop stop;
    struct debugdev *d;
    uint64_t start;
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void rig_init(struct rig *r)
{
    memset(r, 0, sizeof(*r));
    bus_init(&r->pio, "pio");
    bus_init(&r->mmio, "mmio");
    fake_stop_init(&r->stop);
    r->start = now_ns();
    ck_assert_int_eq(debugdev_create(&r->d, &r->pio, &r->mmio, &addrs, &r->stop.stopper, r->start),
                     0);
}

static void rig_fini(struct rig *r)
{
    debugdev_destroy(r->d);
    bus_fini(&r->pio);
    bus_fini(&r->mmio);
}

START_TEST(exit_port_requests_guest_exit_with_value)
{
    struct rig r;
    uint32_t wide = 0x12345642;

    rig_init(&r);
    fake_outb(&r.pio, PORT_DEBUG_EXIT, 7);
    ck_assert_int_eq(r.stop.calls, 1);
    ck_assert_int_eq(r.stop.cause, STOP_GUEST_EXIT);
    ck_assert_int_eq(r.stop.status, 7);

    ck_assert_int_eq(fake_bus_io(&r.pio, PORT_DEBUG_EXIT, &wide, 4, true), 0);
    ck_assert_int_eq(r.stop.calls, 2);
    ck_assert_int_eq(r.stop.status, 0x42); /* low byte */

    fake_outb(&r.pio, PORT_DEBUG_EXIT + 1, 9); /* not the exit port itself */
    ck_assert_int_eq(r.stop.calls, 2);
    ck_assert_uint_eq(fake_inb(&r.pio, PORT_DEBUG_EXIT), 0xff);
    rig_fini(&r);
}
END_TEST

START_TEST(post_code_port_is_inert)
{
    struct rig r;

    rig_init(&r);
    fake_outb(&r.pio, PORT_POST_CODE, 0x12);
    ck_assert_int_eq(r.stop.calls, 0);
    ck_assert_uint_eq(fake_inb(&r.pio, PORT_POST_CODE), 0xff);
    rig_fini(&r);
}
END_TEST

START_TEST(marks_are_recorded_in_order_and_bounded)
{
    struct rig r;
    struct debugdev_mark m[DEBUGDEV_MAX_MARKS + 4];
    size_t dropped = 99, n;
    uint64_t before, after;

    rig_init(&r);
    ck_assert_uint_eq(debugdev_marks(r.d, m, 4, &dropped), 0);
    ck_assert_uint_eq(dropped, 0);

    before = now_ns();
    /* The MMIO register and the boot-timer port record into the same list. */
    for (uint32_t i = 0; i < DEBUGDEV_MAX_MARKS + 3; i++) {
        uint32_t id = 100 + i;

        if (i % 2)
            fake_bus_io(&r.pio, PORT_BOOT_TIMER, &id, 4, true);
        else
            fake_write32(&r.mmio, LAYOUT_DEBUG_MMIO + DEBUG_MMIO_BOOT_MARK, id);
    }
    after = now_ns();

    n = debugdev_marks(r.d, m, sizeof(m) / sizeof(m[0]), &dropped);
    ck_assert_uint_eq(n, DEBUGDEV_MAX_MARKS);
    ck_assert_uint_eq(dropped, 3);
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(m[i].id, 100 + i);
        ck_assert_uint_ge(m[i].ns, before - r.start);
        ck_assert_uint_le(m[i].ns, after - r.start);
        if (i)
            ck_assert_uint_ge(m[i].ns, m[i - 1].ns);
    }
    /* A short copy takes the oldest. */
    ck_assert_uint_eq(debugdev_marks(r.d, m, 2, NULL), 2);
    ck_assert_uint_eq(m[1].id, 101);
    rig_fini(&r);
}
END_TEST

START_TEST(mmio_page_reads_zero_and_ignores_writes)
{
    struct rig r;
    uint64_t q = ~0ULL;
    uint8_t b = 0xaa;

    rig_init(&r);
    ck_assert_uint_eq(fake_read32(&r.mmio, LAYOUT_DEBUG_MMIO + DEBUG_MMIO_PROBE), 0);
    ck_assert_uint_eq(fake_read32(&r.mmio, LAYOUT_DEBUG_MMIO + DEBUG_MMIO_BOOT_MARK), 0);
    fake_write32(&r.mmio, LAYOUT_DEBUG_MMIO + DEBUG_MMIO_PROBE, 5);
    fake_write32(&r.mmio, LAYOUT_DEBUG_MMIO + 0x800, 5);
    ck_assert_int_eq(fake_bus_io(&r.mmio, LAYOUT_DEBUG_MMIO + 0xff8, &q, 8, false), 0);
    ck_assert_uint_eq(q, 0);
    ck_assert_int_eq(fake_bus_io(&r.mmio, LAYOUT_DEBUG_MMIO + 0x3, &b, 1, false), 0);
    ck_assert_uint_eq(b, 0);
    ck_assert_uint_eq(debugdev_marks(r.d, &(struct debugdev_mark){ 0 }, 1, NULL), 0);
    ck_assert_int_eq(r.stop.calls, 0);
    rig_fini(&r);
}
END_TEST

static void nothing_here(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
}

START_TEST(conflicts_leave_nothing_registered)
{
    struct bus pio, mmio;
    struct debugdev *d = NULL;

    bus_init(&pio, "pio");
    bus_init(&mmio, "mmio");
    ck_assert_int_eq(bus_add(&mmio, LAYOUT_DEBUG_MMIO + 0x100, 4, nothing_here, NULL, "x"), 0);
    ck_assert_int_eq(debugdev_create(&d, &pio, &mmio, &addrs, NULL, 0), -EEXIST);
    ck_assert_uint_eq(pio.nr, 0);
    ck_assert_ptr_null(d);
    mmio.frozen = true;
    ck_assert_int_eq(debugdev_create(&d, &pio, &mmio, &addrs, NULL, 0), -EPERM);
    ck_assert_uint_eq(pio.nr, 0); /* the port ranges added before the failure were removed */
    debugdev_destroy(NULL);
    bus_fini(&pio);
    bus_fini(&mmio);
}
END_TEST

static Suite *debugdev_suite(void)
{
    Suite *s = suite_create("debugdev");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, exit_port_requests_guest_exit_with_value);
    tcase_add_test(tc, post_code_port_is_inert);
    tcase_add_test(tc, marks_are_recorded_in_order_and_bounded);
    tcase_add_test(tc, mmio_page_reads_zero_and_ignores_writes);
    tcase_add_test(tc, conflicts_leave_nothing_registered);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(debugdev_suite());
}
