// SPDX-License-Identifier: MIT
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/acpi_pm.h"
#include "firmware/layout.h"
#include "tests/unit/fakes.h"
#include "tests/unit/unit.h"

#define EVT   PORT_ACPI_PM1A_EVT
#define STS   PORT_ACPI_PM1A_EVT
#define EN    (PORT_ACPI_PM1A_EVT + 2)
#define CNT   PORT_ACPI_PM1A_CNT
#define RESET PORT_ACPI_RESET

static const struct acpi_pm_ports ports = { .pm1a_evt = EVT, .pm1a_cnt = CNT, .reset = RESET };

struct rig {
    struct bus pio;
    struct fake_stop stop;
    struct acpi_pm *pm;
};

static void rig_init(struct rig *r)
{
    memset(r, 0, sizeof(*r));
    bus_init(&r->pio, "pio");
    fake_stop_init(&r->stop);
    ck_assert_int_eq(acpi_pm_create(&r->pm, &r->pio, &ports, &r->stop.stopper), 0);
}

static void rig_fini(struct rig *r)
{
    acpi_pm_destroy(r->pm);
    bus_fini(&r->pio);
}

static void outw(struct rig *r, uint64_t port, uint16_t v)
{
    ck_assert_int_eq(fake_bus_io(&r->pio, port, &v, 2, true), 0);
}

static uint16_t inw(struct rig *r, uint64_t port)
{
    uint16_t v;

    ck_assert_int_eq(fake_bus_io(&r->pio, port, &v, 2, false), 0);
    return v;
}

static void squat_io(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
}

static uint16_t slp(unsigned int typ)
{
    return (uint16_t)(typ << ACPI_PM1_SLP_SHIFT);
}

START_TEST(s5_powers_off)
{
    struct rig r;

    rig_init(&r);
    /* What ACPICA does: SLP_TYP first, then SLP_TYP | SLP_EN. */
    outw(&r, CNT, slp(ACPI_S5_SLP_TYP));
    ck_assert_int_eq(r.stop.calls, 0);
    outw(&r, CNT, slp(ACPI_S5_SLP_TYP) | ACPI_PM1_SLP_EN);
    ck_assert_int_eq(r.stop.calls, 1);
    ck_assert_int_eq(r.stop.cause, STOP_POWEROFF);
    rig_fini(&r);
}
END_TEST

START_TEST(other_sleep_types_do_nothing)
{
    struct rig r;

    rig_init(&r);
    for (unsigned int typ = 0; typ < 8; typ++)
        if (typ != ACPI_S5_SLP_TYP)
            outw(&r, CNT, slp(typ) | ACPI_PM1_SLP_EN);
    ck_assert_int_eq(r.stop.calls, 0);
    /* SLP_EN is a strobe: it never reads back, SLP_TYP does, SCI_EN always reads 1. */
    ck_assert_uint_eq(inw(&r, CNT), slp(7) | ACPI_PM1_SCI_EN);
    rig_fini(&r);
}
END_TEST

START_TEST(byte_writes_to_control)
{
    struct rig r;

    rig_init(&r);
    /* SLP_TYP and SLP_EN both live in the high byte: an outb there must work alone. */
    fake_outb(&r.pio, CNT, 0x00);
    ck_assert_int_eq(r.stop.calls, 0);
    fake_outb(&r.pio, CNT + 1, (uint8_t)((slp(ACPI_S5_SLP_TYP) | ACPI_PM1_SLP_EN) >> 8));
    ck_assert_int_eq(r.stop.calls, 1);
    ck_assert_int_eq(r.stop.cause, STOP_POWEROFF);
    rig_fini(&r);
}
END_TEST

START_TEST(reset_register)
{
    struct rig r;

    rig_init(&r);
    for (unsigned int v = 0; v < 256; v++)
        if (v != ACPI_RESET_VALUE)
            fake_outb(&r.pio, RESET, (uint8_t)v);
    ck_assert_int_eq(r.stop.calls, 0);
    ck_assert_uint_eq(fake_inb(&r.pio, RESET), 0);
    fake_outb(&r.pio, RESET, ACPI_RESET_VALUE);
    ck_assert_int_eq(r.stop.calls, 1);
    ck_assert_int_eq(r.stop.cause, STOP_RESET);
    rig_fini(&r);
}
END_TEST

START_TEST(status_write_one_to_clear)
{
    struct rig r;

    rig_init(&r);
    ck_assert_uint_eq(inw(&r, STS), 0);
    acpi_pm_set_status(r.pm, ACPI_PM1_PWRBTN_STS | ACPI_PM1_WAK_STS);
    ck_assert_uint_eq(inw(&r, STS), ACPI_PM1_PWRBTN_STS | ACPI_PM1_WAK_STS);
    outw(&r, STS, 0); /* zeros leave bits alone */
    ck_assert_uint_eq(inw(&r, STS), ACPI_PM1_PWRBTN_STS | ACPI_PM1_WAK_STS);
    outw(&r, STS, ACPI_PM1_WAK_STS);
    ck_assert_uint_eq(inw(&r, STS), ACPI_PM1_PWRBTN_STS);
    fake_outb(&r.pio, STS + 1, ACPI_PM1_PWRBTN_STS >> 8);
    ck_assert_uint_eq(inw(&r, STS), 0);
    ck_assert_int_eq(r.stop.calls, 0);
    rig_fini(&r);
}
END_TEST

START_TEST(enable_register_keeps_defined_bits)
{
    struct rig r;
    uint32_t v;

    rig_init(&r);
    acpi_pm_set_status(r.pm, ACPI_PM1_GBL_STS);
    outw(&r, EN, 0xffff);
    ck_assert_uint_eq(inw(&r, EN), 0x4721); /* TMR, GBL, PWRBTN, SLPBTN, RTC, PCIEXP_WAKE_DIS */
    ck_assert_uint_eq(inw(&r, STS), ACPI_PM1_GBL_STS); /* writing EN did not clear STS */
    /* A dword access covers both registers at once: STS low, EN high. */
    ck_assert_int_eq(fake_bus_io(&r.pio, EVT, &v, 4, false), 0);
    ck_assert_uint_eq(v, 0x4721u << 16 | ACPI_PM1_GBL_STS);
    v = ACPI_PM1_GBL_STS; /* clears the status, zeroes the enables */
    ck_assert_int_eq(fake_bus_io(&r.pio, EVT, &v, 4, true), 0);
    ck_assert_uint_eq(inw(&r, STS), 0);
    ck_assert_uint_eq(inw(&r, EN), 0);
    rig_fini(&r);
}
END_TEST

START_TEST(odd_widths_do_not_crash)
{
    struct rig r;
    uint8_t buf[8];

    rig_init(&r);
    for (uint64_t port = EVT - 1; port <= RESET + 1; port++) {
        for (uint32_t len = 1; len <= 8; len++) {
            memset(buf, 0xa5, sizeof(buf));
            fake_bus_io(&r.pio, port, buf, len, false);
            memset(buf, 0, sizeof(buf)); /* no SLP_EN, no reset value */
            fake_bus_io(&r.pio, port, buf, len, true);
        }
    }
    ck_assert_int_eq(r.stop.calls, 0);
    /* Accesses that straddle a block's end reach nothing. */
    ck_assert_int_eq(fake_bus_io(&r.pio, CNT, buf, 4, false), -ENOENT);
    ck_assert_int_eq(fake_bus_io(&r.pio, EVT + 3, buf, 2, false), -ENOENT);
    rig_fini(&r);
}
END_TEST

START_TEST(create_conflicts_unwind)
{
    struct rig r;
    struct acpi_pm *other = NULL;
    struct bus pio;

    rig_init(&r);
    ck_assert_int_eq(acpi_pm_create(&other, &r.pio, &ports, NULL), -EEXIST);
    ck_assert_uint_eq(r.pio.nr, 3);
    rig_fini(&r);

    /* A clash on the last range leaves the first two unregistered again. */
    bus_init(&pio, "pio");
    fake_stop_init(&r.stop);
    ck_assert_int_eq(bus_add(&pio, RESET, 1, squat_io, NULL, "squatter"), 0);
    ck_assert_int_eq(acpi_pm_create(&other, &pio, &ports, NULL), -EEXIST);
    ck_assert_uint_eq(pio.nr, 1);
    bus_fini(&pio);
    acpi_pm_destroy(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("acpi_pm");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, s5_powers_off);
    tcase_add_test(tc, other_sleep_types_do_nothing);
    tcase_add_test(tc, byte_writes_to_control);
    tcase_add_test(tc, reset_register);
    tcase_add_test(tc, status_write_one_to_clear);
    tcase_add_test(tc, enable_register_keeps_defined_bits);
    tcase_add_test(tc, odd_widths_do_not_crash);
    tcase_add_test(tc, create_conflicts_unwind);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
