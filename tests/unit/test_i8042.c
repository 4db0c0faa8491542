// SPDX-License-Identifier: MIT
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/i8042.h"
#include "firmware/layout.h"
#include "tests/unit/fakes.h"
#include "tests/unit/unit.h"

#define DATA PORT_I8042_DATA
#define CMD  PORT_I8042_CMD

static const struct i8042_ports ports = { .data = DATA, .cmd = CMD };

struct rig {
    struct bus pio;
    struct fake_stop stop;
    struct i8042 *k;
};

static void rig_init(struct rig *r)
{
    memset(r, 0, sizeof(*r));
    bus_init(&r->pio, "pio");
    fake_stop_init(&r->stop);
    ck_assert_int_eq(i8042_create(&r->k, &r->pio, &ports, &r->stop.stopper), 0);
}

static void rig_fini(struct rig *r)
{
    i8042_destroy(r->k);
    bus_fini(&r->pio);
}

/* Sends a command and returns its answer, as Linux's i8042_command() does. */
static int command(struct rig *r, uint8_t cmd)
{
    fake_outb(&r->pio, CMD, cmd);
    if (!(fake_inb(&r->pio, CMD) & 0x01))
        return -1;
    return fake_inb(&r->pio, DATA);
}

START_TEST(status_idle)
{
    struct rig r;
    uint8_t st;

    rig_init(&r);
    st = fake_inb(&r.pio, CMD);
    ck_assert_uint_eq(st & 0x03, 0); /* nothing to read, ready for input */
    ck_assert_uint_eq(st & 0x04, 0x04);
    ck_assert_int_eq(r.stop.calls, 0);
    rig_fini(&r);
}
END_TEST

START_TEST(pulse_reset_requests_reset)
{
    struct rig r;

    rig_init(&r);
    fake_outb(&r.pio, CMD, 0xff); /* pulses nothing */
    ck_assert_int_eq(r.stop.calls, 0);
    fake_outb(&r.pio, CMD, 0xfe);
    ck_assert_int_eq(r.stop.calls, 1);
    ck_assert_int_eq(r.stop.cause, STOP_RESET);
    rig_fini(&r);
}
END_TEST

START_TEST(output_port_write_with_bit0_clear_resets)
{
    struct rig r;

    rig_init(&r);
    ck_assert_int_eq(command(&r, 0xd0) & 0x01, 0x01);
    fake_outb(&r.pio, CMD, 0xd1);
    fake_outb(&r.pio, DATA, 0x03); /* A20 on, reset line high: fine */
    ck_assert_int_eq(r.stop.calls, 0);
    ck_assert_int_eq(command(&r, 0xd0), 0x03);
    fake_outb(&r.pio, CMD, 0xd1);
    fake_outb(&r.pio, DATA, 0x02);
    ck_assert_int_eq(r.stop.calls, 1);
    ck_assert_int_eq(r.stop.cause, STOP_RESET);
    rig_fini(&r);
}
END_TEST

START_TEST(self_tests_answer)
{
    struct rig r;

    rig_init(&r);
    ck_assert_int_eq(command(&r, 0xaa), 0x55);
    ck_assert_uint_eq(fake_inb(&r.pio, CMD) & 0x01, 0); /* consumed */
    ck_assert_int_eq(command(&r, 0xab), 0x00);
    ck_assert_int_eq(command(&r, 0xa9), 0x00);
    rig_fini(&r);
}
END_TEST

START_TEST(command_byte_round_trip_and_port_disables)
{
    struct rig r;

    rig_init(&r);
    fake_outb(&r.pio, CMD, 0x60);
    fake_outb(&r.pio, DATA, 0x47);
    ck_assert_int_eq(command(&r, 0x20), 0x47);
    fake_outb(&r.pio, CMD, 0xa7);
    ck_assert_int_eq(command(&r, 0x20) & 0x20, 0x20);
    fake_outb(&r.pio, CMD, 0xa8);
    ck_assert_int_eq(command(&r, 0x20) & 0x20, 0x00);
    fake_outb(&r.pio, CMD, 0xad);
    ck_assert_int_eq(command(&r, 0x20) & 0x10, 0x10);
    fake_outb(&r.pio, CMD, 0xae);
    ck_assert_int_eq(command(&r, 0x20), 0x47);
    ck_assert_int_eq(r.stop.calls, 0);
    rig_fini(&r);
}
END_TEST

START_TEST(aux_loopback_marks_aux_data)
{
    struct rig r;

    rig_init(&r);
    fake_outb(&r.pio, CMD, 0xd3);
    fake_outb(&r.pio, DATA, 0x5a);
    ck_assert_uint_eq(fake_inb(&r.pio, CMD) & 0x21, 0x21);
    ck_assert_uint_eq(fake_inb(&r.pio, DATA), 0x5a);
    ck_assert_uint_eq(fake_inb(&r.pio, CMD) & 0x21, 0x00);
    /* Bytes for the absent keyboard vanish without a reply. */
    fake_outb(&r.pio, DATA, 0xf2);
    ck_assert_uint_eq(fake_inb(&r.pio, CMD) & 0x01, 0);
    rig_fini(&r);
}
END_TEST

START_TEST(wide_access_and_conflicts)
{
    struct rig r;
    struct i8042 *other = NULL;
    uint32_t v = 0;

    rig_init(&r);
    ck_assert_int_eq(fake_bus_io(&r.pio, DATA, &v, 4, false), -ENOENT); /* one port each */
    ck_assert_int_eq(i8042_create(&other, &r.pio, &ports, NULL), -EEXIST);
    ck_assert_uint_eq(r.pio.nr, 2);
    i8042_destroy(NULL);
    rig_fini(&r);
}
END_TEST

static Suite *i8042_suite(void)
{
    Suite *s = suite_create("i8042");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, status_idle);
    tcase_add_test(tc, pulse_reset_requests_reset);
    tcase_add_test(tc, output_port_write_with_bit0_clear_resets);
    tcase_add_test(tc, self_tests_answer);
    tcase_add_test(tc, command_byte_round_trip_and_port_disables);
    tcase_add_test(tc, aux_loopback_marks_aux_data);
    tcase_add_test(tc, wide_access_and_conflicts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(i8042_suite());
}
