// SPDX-License-Identifier: MIT
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/rtc.h"
#include "firmware/layout.h"
#include "tests/unit/fakes.h"
#include "tests/unit/unit.h"

#define INDEX PORT_RTC_INDEX
#define DATA  PORT_RTC_DATA

#define T_2026_11_25_134559 1795614359LL /* a Wednesday */
#define T_1999_12_31_235959 946684799LL
#define T_2099_12_31_235959 4102444799LL
#define T_2028_02_28_235959 1835395199LL

struct fake_clock {
    struct timespec now;
    int fail; /* -errno to return instead of the time */
    int calls;
};

struct rig {
    struct bus pio;
    struct fake_irq irq;
    struct fake_clock clock;
    struct rtc *r;
};

static int fake_clock_read(void *ctx, struct timespec *now)
{
    struct fake_clock *c = ctx;

    c->calls++;
    if (c->fail)
        return c->fail;
    *now = c->now;
    return 0;
}

static void rig_init_at(struct rig *r, long long t)
{
    memset(r, 0, sizeof(*r));
    bus_init(&r->pio, "pio");
    r->clock.now.tv_sec = (time_t)t;
    ck_assert_int_eq(
        rtc_create(&r->r, &r->pio, INDEX, fake_irq_line(&r->irq, 8), fake_clock_read, &r->clock),
        0);
}

static void rig_init(struct rig *r)
{
    rig_init_at(r, T_2026_11_25_134559);
}

static void rig_fini(struct rig *r)
{
    rtc_destroy(r->r);
    bus_fini(&r->pio);
}

static uint8_t rd(struct rig *r, uint8_t reg)
{
    fake_outb(&r->pio, INDEX, reg);
    return fake_inb(&r->pio, DATA);
}

static void wr(struct rig *r, uint8_t reg, uint8_t v)
{
    fake_outb(&r->pio, INDEX, reg);
    fake_outb(&r->pio, DATA, v);
}

/* The time registers and the century, read one after the other. */
struct regs {
    uint8_t sec, min, hour, wday, mday, mon, year, century;
};

static struct regs rd_time(struct rig *r)
{
    return (struct regs){
        .sec = rd(r, 0x00),
        .min = rd(r, 0x02),
        .hour = rd(r, 0x04),
        .wday = rd(r, 0x06),
        .mday = rd(r, 0x07),
        .mon = rd(r, 0x08),
        .year = rd(r, 0x09),
        .century = rd(r, 0x32),
    };
}

static void assert_time(struct rig *r, uint8_t century, uint8_t year, uint8_t mon, uint8_t mday,
                        uint8_t wday, uint8_t hour, uint8_t min, uint8_t sec)
{
    struct regs t = rd_time(r);

    ck_assert_uint_eq(t.century, century);
    ck_assert_uint_eq(t.year, year);
    ck_assert_uint_eq(t.mon, mon);
    ck_assert_uint_eq(t.mday, mday);
    ck_assert_uint_eq(t.wday, wday);
    ck_assert_uint_eq(t.hour, hour);
    ck_assert_uint_eq(t.min, min);
    ck_assert_uint_eq(t.sec, sec);
}

START_TEST(bcd_fields)
{
    struct rig r;

    rig_init(&r);
    ck_assert_uint_eq(rd(&r, 0x0b), 0x02); /* 24-hour, BCD */
    assert_time(&r, 0x20, 0x26, 0x11, 0x25, 4, 0x13, 0x45, 0x59);
    /* The alarms are plain storage, not the time. */
    ck_assert_uint_eq(rd(&r, 0x01), 0);
    ck_assert_uint_eq(rd(&r, 0x03), 0);
    ck_assert_uint_eq(rd(&r, 0x05), 0);
    wr(&r, 0x05, 0xc0); /* "any hour" */
    ck_assert_uint_eq(rd(&r, 0x05), 0xc0);
    ck_assert_uint_eq(rd(&r, 0x04), 0x13);
    ck_assert_int_eq(r.irq.raises, 0);
    rig_fini(&r);
}
END_TEST

START_TEST(binary_mode)
{
    struct rig r;

    rig_init(&r);
    wr(&r, 0x0b, 0x06);
    ck_assert_uint_eq(rd(&r, 0x0b), 0x06);
    assert_time(&r, 20, 26, 11, 25, 4, 13, 45, 59);
    rig_fini(&r);
}
END_TEST

START_TEST(twelve_hour_mode)
{
    struct rig r;

    rig_init(&r);
    wr(&r, 0x0b, 0x00);                    /* 12-hour, BCD */
    ck_assert_uint_eq(rd(&r, 0x04), 0x81); /* 1 PM */
    wr(&r, 0x0b, 0x04);                    /* 12-hour, binary */
    ck_assert_uint_eq(rd(&r, 0x04), 0x81);
    rig_fini(&r);

    rig_init_at(&r, T_2026_11_25_134559 - 13 * 3600); /* 00:45:59 */
    wr(&r, 0x0b, 0x00);
    ck_assert_uint_eq(rd(&r, 0x04), 0x12); /* 12 AM */
    r.clock.now.tv_sec += 12 * 3600;
    ck_assert_uint_eq(rd(&r, 0x04), 0x92); /* 12 PM */
    r.clock.now.tv_sec -= 1 * 3600;
    ck_assert_uint_eq(rd(&r, 0x04), 0x11); /* 11 AM */
    r.clock.now.tv_sec += 12 * 3600;
    ck_assert_uint_eq(rd(&r, 0x04), 0x91); /* 11 PM */
    wr(&r, 0x0b, 0x02);
    ck_assert_uint_eq(rd(&r, 0x04), 0x23);
    rig_fini(&r);
}
END_TEST

START_TEST(status_registers)
{
    struct rig r;

    rig_init(&r);
    ck_assert_uint_eq(rd(&r, 0x0a), 0x26);
    wr(&r, 0x0a, 0xa6); /* UIP is read-only */
    ck_assert_uint_eq(rd(&r, 0x0a), 0x26);
    wr(&r, 0x0a, 0x70); /* divider reset, as Linux writes while setting: kept */
    ck_assert_uint_eq(rd(&r, 0x0a), 0x70);
    ck_assert_uint_eq(rd(&r, 0x0c), 0);
    wr(&r, 0x0c, 0xf0);
    ck_assert_uint_eq(rd(&r, 0x0c), 0);
    ck_assert_uint_eq(rd(&r, 0x0d), 0x80);
    wr(&r, 0x0d, 0x00);
    ck_assert_uint_eq(rd(&r, 0x0d), 0x80);
    /* Interrupt enables are stored but nothing fires. */
    wr(&r, 0x0b, 0x72);
    ck_assert_uint_eq(rd(&r, 0x0b), 0x72);
    r.clock.now.tv_sec += 5;
    ck_assert_uint_eq(rd(&r, 0x0c), 0);
    ck_assert_int_eq(r.irq.raises, 0);
    rig_fini(&r);
}
END_TEST

START_TEST(cmos_ram)
{
    struct rig r;

    rig_init(&r);
    for (int reg = 0x0e; reg < 0x80; reg++) {
        if (reg != 0x32)
            ck_assert_uint_eq(rd(&r, (uint8_t)reg), 0);
    }
    wr(&r, 0x20, 0x5a);
    wr(&r, 0x7f, 0xa5);
    wr(&r, 0x0e, 0x01);
    ck_assert_uint_eq(rd(&r, 0x20), 0x5a);
    ck_assert_uint_eq(rd(&r, 0x7f), 0xa5);
    ck_assert_uint_eq(rd(&r, 0x0e), 0x01);
    ck_assert_uint_eq(rd(&r, 0x21), 0);
    assert_time(&r, 0x20, 0x26, 0x11, 0x25, 4, 0x13, 0x45, 0x59);
    rig_fini(&r);
}
END_TEST

START_TEST(index_masking)
{
    struct rig r;

    rig_init(&r);
    fake_outb(&r.pio, INDEX, 0x80 | 0x0a); /* NMI disable + register A */
    ck_assert_uint_eq(fake_inb(&r.pio, DATA), 0x26);
    wr(&r, 0x80 | 0x20, 0x33);
    ck_assert_uint_eq(rd(&r, 0x20), 0x33);
    ck_assert_uint_eq(rd(&r, 0x80 | 0x00), 0x59);
    /* The index sticks: data port accesses do not move it. */
    fake_outb(&r.pio, INDEX, 0x20);
    ck_assert_uint_eq(fake_inb(&r.pio, DATA), 0x33);
    ck_assert_uint_eq(fake_inb(&r.pio, DATA), 0x33);
    ck_assert_uint_eq(fake_inb(&r.pio, INDEX), 0xff); /* write-only */
    rig_fini(&r);
}
END_TEST

START_TEST(set_time_with_set_bit)
{
    struct rig r;

    rig_init(&r);
    /* What Linux's mc146818_set_time() does: SET on, fields, SET off. */
    wr(&r, 0x0b, 0x82);
    wr(&r, 0x09, 0x30);
    wr(&r, 0x08, 0x01);
    wr(&r, 0x07, 0x02);
    wr(&r, 0x04, 0x03);
    wr(&r, 0x02, 0x04);
    wr(&r, 0x00, 0x05);
    /* Frozen: the stored values, however long the guest takes. */
    r.clock.now.tv_sec += 3;
    assert_time(&r, 0x20, 0x30, 0x01, 0x02, 4, 0x03, 0x04, 0x05);
    wr(&r, 0x0b, 0x02);
    assert_time(&r, 0x20, 0x30, 0x01, 0x02, 4, 0x03, 0x04, 0x05); /* 2030-01-02 is a Wednesday */
    r.clock.now.tv_sec += 10;
    assert_time(&r, 0x20, 0x30, 0x01, 0x02, 4, 0x03, 0x04, 0x15);
    /* The first second after the set is half as long: the chip's 500 ms restart. */
    r.clock.now.tv_nsec = 499999999;
    ck_assert_uint_eq(rd(&r, 0x00), 0x15);
    r.clock.now.tv_nsec = 500000000;
    ck_assert_uint_eq(rd(&r, 0x00), 0x16);
    /* A freeze without a write leaves the phase alone. */
    r.clock.now.tv_sec += 1;
    r.clock.now.tv_nsec = 100000000;
    wr(&r, 0x0b, 0x82);
    wr(&r, 0x0b, 0x02);
    r.clock.now.tv_nsec = 499999999;
    ck_assert_uint_eq(rd(&r, 0x00), 0x16);
    r.clock.now.tv_nsec = 500000000;
    ck_assert_uint_eq(rd(&r, 0x00), 0x17);
    rig_fini(&r);
}
END_TEST

START_TEST(set_time_binary_12h_and_century)
{
    struct rig r;

    rig_init(&r);
    wr(&r, 0x0b, 0x84); /* SET, binary, 12-hour */
    wr(&r, 0x32, 19);
    wr(&r, 0x09, 99);
    wr(&r, 0x08, 12);
    wr(&r, 0x07, 31);
    wr(&r, 0x04, 0x80 | 11); /* 11 PM */
    wr(&r, 0x02, 59);
    wr(&r, 0x00, 58);
    wr(&r, 0x0b, 0x06); /* SET off and 24-hour at once */
    assert_time(&r, 19, 99, 12, 31, 6, 23, 59, 58);
    r.clock.now.tv_sec += 2;
    assert_time(&r, 20, 0, 1, 1, 7, 0, 0, 0);
    rig_fini(&r);
}
END_TEST

START_TEST(set_time_rejects_impossible_dates)
{
    struct rig r;

    rig_init(&r);
    wr(&r, 0x0b, 0x82);
    wr(&r, 0x08, 0x13); /* month 13 */
    wr(&r, 0x0b, 0x02);
    assert_time(&r, 0x20, 0x26, 0x11, 0x25, 4, 0x13, 0x45, 0x59);

    wr(&r, 0x0b, 0x82);
    wr(&r, 0x09, 0x27);
    wr(&r, 0x08, 0x02);
    wr(&r, 0x07, 0x29); /* no Feb 29 in 2027 */
    wr(&r, 0x0b, 0x02);
    assert_time(&r, 0x20, 0x26, 0x11, 0x25, 4, 0x13, 0x45, 0x59);

    wr(&r, 0x0b, 0x82);
    wr(&r, 0x00, 0x5a); /* not BCD */
    wr(&r, 0x0b, 0x02);
    assert_time(&r, 0x20, 0x26, 0x11, 0x25, 4, 0x13, 0x45, 0x59);

    wr(&r, 0x0b, 0x80); /* 12-hour: hour 0 does not exist */
    wr(&r, 0x04, 0x00);
    wr(&r, 0x0b, 0x02);
    assert_time(&r, 0x20, 0x26, 0x11, 0x25, 4, 0x13, 0x45, 0x59);

    wr(&r, 0x0b, 0x82); /* 2028 has one, though */
    wr(&r, 0x09, 0x28);
    wr(&r, 0x08, 0x02);
    wr(&r, 0x07, 0x29);
    wr(&r, 0x0b, 0x02);
    assert_time(&r, 0x20, 0x28, 0x02, 0x29, 3, 0x13, 0x45, 0x59);
    rig_fini(&r);
}
END_TEST

START_TEST(write_while_running)
{
    struct rig r;

    rig_init(&r);
    wr(&r, 0x02, 0x10); /* minutes, no SET: takes effect at once, the clock keeps going */
    assert_time(&r, 0x20, 0x26, 0x11, 0x25, 4, 0x13, 0x10, 0x59);
    r.clock.now.tv_sec += 1;
    assert_time(&r, 0x20, 0x26, 0x11, 0x25, 4, 0x13, 0x11, 0x00);
    wr(&r, 0x06, 0x01); /* the weekday follows the date, not writes */
    ck_assert_uint_eq(rd(&r, 0x06), 4);
    rig_fini(&r);
}
END_TEST

START_TEST(century_and_leap_edges)
{
    struct rig r;

    rig_init_at(&r, T_1999_12_31_235959);
    assert_time(&r, 0x19, 0x99, 0x12, 0x31, 6, 0x23, 0x59, 0x59);
    r.clock.now.tv_sec++;
    assert_time(&r, 0x20, 0x00, 0x01, 0x01, 7, 0x00, 0x00, 0x00);
    rig_fini(&r);

    rig_init_at(&r, T_2099_12_31_235959);
    assert_time(&r, 0x20, 0x99, 0x12, 0x31, 5, 0x23, 0x59, 0x59);
    r.clock.now.tv_sec++;
    assert_time(&r, 0x21, 0x00, 0x01, 0x01, 6, 0x00, 0x00, 0x00); /* 2100 is not a leap year */
    r.clock.now.tv_sec += 59 * 86400;
    assert_time(&r, 0x21, 0x00, 0x03, 0x01, 2, 0x00, 0x00, 0x00);
    rig_fini(&r);

    rig_init_at(&r, T_2028_02_28_235959);
    assert_time(&r, 0x20, 0x28, 0x02, 0x28, 2, 0x23, 0x59, 0x59);
    r.clock.now.tv_sec++;
    assert_time(&r, 0x20, 0x28, 0x02, 0x29, 3, 0x00, 0x00, 0x00);
    r.clock.now.tv_sec += 86400;
    assert_time(&r, 0x20, 0x28, 0x03, 0x01, 4, 0x00, 0x00, 0x00);
    rig_fini(&r);
}
END_TEST

/* The calendar arithmetic against glibc's, in binary mode, from 1900 to 2400. */
START_TEST(calendar_matches_gmtime)
{
    struct rig r;

    rig_init(&r);
    wr(&r, 0x0b, 0x06);
    for (long long t = -2208988800LL; t < 13569465600LL; t += 9 * 86400 + 7777) {
        struct tm want;
        time_t tt = (time_t)t;
        struct regs got;

        r.clock.now.tv_sec = tt;
        ck_assert_ptr_nonnull(gmtime_r(&tt, &want));
        got = rd_time(&r);
        ck_assert_int_eq(got.century * 100 + got.year, want.tm_year + 1900);
        ck_assert_int_eq(got.mon, want.tm_mon + 1);
        ck_assert_int_eq(got.mday, want.tm_mday);
        ck_assert_int_eq(got.wday, want.tm_wday + 1);
        ck_assert_int_eq(got.hour, want.tm_hour);
        ck_assert_int_eq(got.min, want.tm_min);
        ck_assert_int_eq(got.sec, want.tm_sec);
    }
    rig_fini(&r);
}
END_TEST

START_TEST(failing_clock_repeats_last_time)
{
    struct rig r;

    rig_init(&r);
    ck_assert_uint_eq(rd(&r, 0x00), 0x59);
    r.clock.fail = -EIO;
    r.clock.now.tv_sec += 30;
    assert_time(&r, 0x20, 0x26, 0x11, 0x25, 4, 0x13, 0x45, 0x59);
    ck_assert_int_gt(r.clock.calls, 1);
    rig_fini(&r);
}
END_TEST

START_TEST(host_clock_by_default)
{
    struct bus pio;
    struct rtc *rtc;
    struct tm want;
    time_t now = time(NULL);
    uint8_t year;

    bus_init(&pio, "pio");
    ck_assert_int_eq(rtc_create(&rtc, &pio, INDEX, (struct irq_line){ .gsi = 8 }, NULL, NULL), 0);
    gmtime_r(&now, &want);
    fake_outb(&pio, INDEX, 0x09);
    year = fake_inb(&pio, DATA);
    /* BCD; a new year could start between the two reads, once in a lifetime. */
    ck_assert_int_ge((year >> 4) * 10 + (year & 0xf), want.tm_year % 100);
    fake_outb(&pio, INDEX, 0x0d);
    ck_assert_uint_eq(fake_inb(&pio, DATA), 0x80);
    rtc_destroy(rtc);
    bus_fini(&pio);
}
END_TEST

START_TEST(odd_widths_and_offsets)
{
    struct rig r;
    uint64_t v;
    uint16_t w;

    rig_init(&r);
    /* outw 0x70: the low byte selects, the high byte goes to the data port. */
    w = 0x7720;
    ck_assert_int_eq(fake_bus_io(&r.pio, INDEX, &w, 2, true), 0);
    ck_assert_uint_eq(rd(&r, 0x20), 0x77);
    fake_outb(&r.pio, INDEX, 0x20);
    w = 0;
    ck_assert_int_eq(fake_bus_io(&r.pio, INDEX, &w, 2, false), 0);
    ck_assert_uint_eq(w, 0x77ff);
    /* Wider than the device, or straddling its end: the bus answers, the device never sees it. */
    v = 0;
    ck_assert_int_eq(fake_bus_io(&r.pio, INDEX, &v, 4, false), -ENOENT);
    ck_assert_uint_eq(v, 0xffffffff);
    ck_assert_int_eq(fake_bus_io(&r.pio, INDEX, &v, 8, true), -ENOENT);
    ck_assert_int_eq(fake_bus_io(&r.pio, DATA, &w, 2, false), -ENOENT);
    ck_assert_int_eq(fake_bus_io(&r.pio, DATA, &v, 3, true), -ENOENT);
    ck_assert_int_eq(fake_bus_io(&r.pio, INDEX, &v, 0, false), 0);
    ck_assert_uint_eq(rd(&r, 0x20), 0x77);
    rig_fini(&r);
}
END_TEST

static void dummy_io(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
    if (!is_write)
        memset(data, 0, len);
}

START_TEST(conflicts_leave_nothing_registered)
{
    struct rig r;
    struct bus pio;
    struct rtc *other = NULL;

    rig_init(&r);
    ck_assert_int_eq(rtc_create(&other, &r.pio, INDEX, (struct irq_line){ 0 }, NULL, NULL),
                     -EEXIST);
    ck_assert_ptr_null(other);
    ck_assert_uint_eq(r.pio.nr, 1);
    rig_fini(&r);

    for (uint64_t port = INDEX; port <= DATA; port++) {
        bus_init(&pio, "pio");
        ck_assert_int_eq(bus_add(&pio, port, 1, dummy_io, NULL, "taken"), 0);
        ck_assert_int_eq(rtc_create(&other, &pio, INDEX, (struct irq_line){ 0 }, NULL, NULL),
                         -EEXIST);
        ck_assert_uint_eq(pio.nr, 1);
        ck_assert_ptr_eq(bus_find(&pio, port)->fn, dummy_io);
        bus_fini(&pio);
    }
    rtc_destroy(NULL);
}
END_TEST

static Suite *rtc_suite(void)
{
    Suite *s = suite_create("rtc");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, bcd_fields);
    tcase_add_test(tc, binary_mode);
    tcase_add_test(tc, twelve_hour_mode);
    tcase_add_test(tc, status_registers);
    tcase_add_test(tc, cmos_ram);
    tcase_add_test(tc, index_masking);
    tcase_add_test(tc, set_time_with_set_bit);
    tcase_add_test(tc, set_time_binary_12h_and_century);
    tcase_add_test(tc, set_time_rejects_impossible_dates);
    tcase_add_test(tc, write_while_running);
    tcase_add_test(tc, century_and_leap_edges);
    tcase_add_test(tc, calendar_matches_gmtime);
    tcase_add_test(tc, failing_clock_repeats_last_time);
    tcase_add_test(tc, host_clock_by_default);
    tcase_add_test(tc, odd_widths_and_offsets);
    tcase_add_test(tc, conflicts_leave_nothing_registered);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(rtc_suite());
}
