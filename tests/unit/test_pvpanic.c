// SPDX-License-Identifier: MIT
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pvpanic.h"
#include "firmware/layout.h"
#include "tests/unit/fakes.h"
#include "tests/unit/unit.h"

struct rig {
    struct bus pio;
    struct fake_stop stop;
    struct pvpanic *p;
};

static void rig_init(struct rig *r)
{
    memset(r, 0, sizeof(*r));
    bus_init(&r->pio, "pio");
    fake_stop_init(&r->stop);
    ck_assert_int_eq(pvpanic_create(&r->p, &r->pio, PORT_PVPANIC, &r->stop.stopper), 0);
}

static void rig_fini(struct rig *r)
{
    pvpanic_destroy(r->p);
    bus_fini(&r->pio);
}

START_TEST(read_returns_supported_events)
{
    struct rig r;

    rig_init(&r);
    ck_assert_uint_eq(fake_inb(&r.pio, PORT_PVPANIC), PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
    ck_assert_int_eq(r.stop.calls, 0);
    rig_fini(&r);
}
END_TEST

START_TEST(panicked_stops)
{
    struct rig r;

    rig_init(&r);
    fake_outb(&r.pio, PORT_PVPANIC, PVPANIC_PANICKED);
    ck_assert_int_eq(r.stop.calls, 1);
    ck_assert_int_eq(r.stop.cause, STOP_GUEST_PANIC);
    rig_fini(&r);
}
END_TEST

START_TEST(crash_loaded_keeps_running)
{
    struct rig r;

    rig_init(&r);
    fake_outb(&r.pio, PORT_PVPANIC, PVPANIC_CRASH_LOADED);
    fake_outb(&r.pio, PORT_PVPANIC, PVPANIC_CRASH_LOADED); /* logged once, still no stop */
    fake_outb(&r.pio, PORT_PVPANIC, 0);
    fake_outb(&r.pio, PORT_PVPANIC, 0xfc); /* events we do not offer */
    ck_assert_int_eq(r.stop.calls, 0);
    fake_outb(&r.pio, PORT_PVPANIC, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
    ck_assert_int_eq(r.stop.calls, 1);
    ck_assert_int_eq(r.stop.cause, STOP_GUEST_PANIC);
    rig_fini(&r);
}
END_TEST

START_TEST(one_port_and_conflicts)
{
    struct rig r;
    struct pvpanic *other = NULL;
    uint16_t v = PVPANIC_PANICKED;

    rig_init(&r);
    /* A word write spills past the one-byte port: nothing handles it. */
    ck_assert_int_eq(fake_bus_io(&r.pio, PORT_PVPANIC, &v, 2, true), -ENOENT);
    ck_assert_int_eq(r.stop.calls, 0);
    ck_assert_int_eq(pvpanic_create(&other, &r.pio, PORT_PVPANIC, NULL), -EEXIST);
    ck_assert_uint_eq(r.pio.nr, 1);
    pvpanic_destroy(NULL);
    rig_fini(&r);
}
END_TEST

/* The port is the caller's: the same device elsewhere answers there and not at PORT_PVPANIC. */
START_TEST(port_comes_from_caller)
{
    struct bus pio;
    struct fake_stop stop;
    struct pvpanic *p = NULL;
    uint8_t v = PVPANIC_PANICKED;

    bus_init(&pio, "pio");
    fake_stop_init(&stop);
    ck_assert_int_eq(pvpanic_create(&p, &pio, PORT_PVPANIC + 0x100, &stop.stopper), 0);
    ck_assert_int_eq(fake_bus_io(&pio, PORT_PVPANIC, &v, 1, true), -ENOENT);
    ck_assert_int_eq(stop.calls, 0);
    ck_assert_int_eq(fake_bus_io(&pio, PORT_PVPANIC + 0x100, &v, 1, true), 0);
    ck_assert_int_eq(stop.calls, 1);
    ck_assert_int_eq(stop.cause, STOP_GUEST_PANIC);
    pvpanic_destroy(p);
    bus_fini(&pio);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pvpanic");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, read_returns_supported_events);
    tcase_add_test(tc, panicked_stops);
    tcase_add_test(tc, crash_loaded_keeps_running);
    tcase_add_test(tc, one_port_and_conflicts);
    tcase_add_test(tc, port_comes_from_caller);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
