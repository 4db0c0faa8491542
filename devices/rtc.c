// SPDX-License-Identifier: MIT
#include "devices/rtc.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "devices/devutil.h"

#define RTC_PORTS     2 /* offset 0: index, offset 1: data */
#define RTC_NR_REGS   128
#define RTC_INDEX_NMI 0x80 /* "NMI disable": kept, but kvmini has no NMI source behind it */

enum {
    REG_SEC = 0x00,
    REG_ALARM_SEC = 0x01,
    REG_MIN = 0x02,
    REG_ALARM_MIN = 0x03,
    REG_HOUR = 0x04,
    REG_ALARM_HOUR = 0x05,
    REG_WDAY = 0x06,
    REG_MDAY = 0x07,
    REG_MON = 0x08,
    REG_YEAR = 0x09,
    REG_A = 0x0a,
    REG_B = 0x0b,
    REG_C = 0x0c,
    REG_D = 0x0d,
    REG_CENTURY = 0x32, /* in the RAM area on the chip; PC firmware keeps the century here */
};

#define A_UIP       0x80 /* update in progress: never set here, see rtc_read() */
#define A_DEFAULT   0x26 /* 32.768 kHz time base, 1.024 kHz periodic rate: what a BIOS leaves */
#define B_SET       0x80 /* updates frozen while the guest sets the time */
#define B_DM_BINARY 0x04 /* data mode: binary instead of BCD */
#define B_24H       0x02
#define B_DEFAULT   B_24H
#define D_VRT       0x80 /* valid RAM and time: the battery is fine */

#define HOUR_PM 0x80 /* 12-hour mode: set on the hours from noon to 11 PM */

#define NSEC_PER_SEC   1000000000L
#define SECS_PER_DAY   86400
#define DAYS_PER_400Y  146097
#define EPOCH_WEEKDAY  4 /* 1970-01-01 was a Thursday (Sunday = 0) */
#define RTC_YEAR_RANGE 10000

/* A broken-down UTC time; year is the full year (2026), mon 1..12, wday 0..6 from Sunday. */
struct rtc_tm {
    int sec, min, hour, wday, mday, mon, year;
};

struct rtc {
    pthread_mutex_t lock; /* the index register is shared by every vCPU */
    struct irq_line irq;
    rtc_clock_fn clock_fn;
    void *clock_ctx;

    uint8_t index;
    bool nmi_disabled;
    uint8_t ram[RTC_NR_REGS]; /* alarms, A, B, C and the RAM; time slots unused */
    /* Guest time = host time + this offset, with 0 <= off_nsec < NSEC_PER_SEC. */
    int64_t off_sec;
    long off_nsec;
    struct rtc_tm frozen;      /* what the time registers hold while B_SET is on */
    bool frozen_written;       /* the guest wrote one of them since setting B_SET */
    struct timespec last_host; /* the host clock's last good answer (1970 until there is one) */
};

/* --- Calendar arithmetic (proleptic Gregorian, no time zones) ----------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Leap years in [0, y): year 0 is one, which cancels out in every difference below. */
static int64_t leaps_before(int64_t y)
{
    return floor_div(y - 1, 4) - floor_div(y - 1, 100) + floor_div(y - 1, 400) + 1;
}

static int days_in_month(int64_t y, int mon)
{
    static const uint8_t len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    return len[mon - 1] + (mon == 2 && is_leap(y));
}

/* Days from 1970-01-01 to y-mon-mday; mon must be 1..12, mday may run past the month's end. */
static int64_t days_from_civil(int64_t y, int mon, int mday)
{
    int64_t days = (y - 1970) * 365 + leaps_before(y) - leaps_before(1970);

    for (int m = 1; m < mon; m++)
        days += days_in_month(y, m);
    return days + mday - 1;
}

static void civil_from_days(int64_t days, struct rtc_tm *tm)
{
    /* An estimate within a year or so of the truth, then walk to it. */
    int64_t y = 1970 + floor_div(days * 400, DAYS_PER_400Y);
    int64_t doy;
    int mon = 1;

    while (days_from_civil(y, 1, 1) > days)
        y--;
    while (days_from_civil(y + 1, 1, 1) <= days)
        y++;
    doy = days - days_from_civil(y, 1, 1);
    while (doy >= days_in_month(y, mon))
        doy -= days_in_month(y, mon++);

    tm->year = (int)y;
    tm->mon = mon;
    tm->mday = (int)doy + 1;
    tm->wday = (int)(days + EPOCH_WEEKDAY - floor_div(days + EPOCH_WEEKDAY, 7) * 7);
}

static void tm_from_secs(int64_t secs, struct rtc_tm *tm)
{
    int64_t days = floor_div(secs, SECS_PER_DAY);
    int64_t sod = secs - days * SECS_PER_DAY;

    civil_from_days(days, tm);
    tm->hour = (int)(sod / 3600);
    tm->min = (int)(sod / 60 % 60);
    tm->sec = (int)(sod % 60);
}

/* False for a time the registers cannot hold (a bad BCD digit, month 13, ...); wday is ignored. */
static bool tm_to_secs(const struct rtc_tm *tm, int64_t *secs)
{
    if (tm->sec > 59 || tm->min > 59 || tm->hour > 23 || tm->mon < 1 || tm->mon > 12 ||
        tm->mday < 1 || tm->mday > days_in_month(tm->year, tm->mon) || tm->year < 0 ||
        tm->year >= RTC_YEAR_RANGE)
        return false;
    *secs = days_from_civil(tm->year, tm->mon, tm->mday) * SECS_PER_DAY + tm->hour * 3600 +
            tm->min * 60 + tm->sec;
    return true;
}

/* --- Register encoding ---------------------------------------------------------------------- */

static uint8_t rtc_encode(const struct rtc *r, int v)
{
    if (r->ram[REG_B] & B_DM_BINARY)
        return (uint8_t)v;
    return (uint8_t)((v / 10) << 4 | v % 10);
}

/* Out-of-range digits decode to out-of-range values, which tm_to_secs() then refuses. */
static int rtc_decode(const struct rtc *r, uint8_t v)
{
    if (r->ram[REG_B] & B_DM_BINARY)
        return v;
    return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t rtc_encode_hour(const struct rtc *r, int hour)
{
    int h12;

    if (r->ram[REG_B] & B_24H)
        return rtc_encode(r, hour);
    h12 = hour % 12 ? hour % 12 : 12;
    return rtc_encode(r, h12) | (hour >= 12 ? HOUR_PM : 0);
}

static int rtc_decode_hour(const struct rtc *r, uint8_t v)
{
    int h12;

    if (r->ram[REG_B] & B_24H)
        return rtc_decode(r, v);
    h12 = rtc_decode(r, v & ~HOUR_PM);
    if (h12 < 1 || h12 > 12)
        return 24;                            /* invalid: tm_to_secs() refuses it */
    return h12 % 12 + (v & HOUR_PM ? 12 : 0); /* 12 AM is midnight, 12 PM noon */
}

static bool rtc_is_time_reg(uint8_t reg)
{
    return reg == REG_SEC || reg == REG_MIN || reg == REG_HOUR || reg == REG_WDAY ||
           reg == REG_MDAY || reg == REG_MON || reg == REG_YEAR || reg == REG_CENTURY;
}

/* Years past 9999 or before 0 wrap, as the two pairs of digits would. */
static int rtc_wrap_year(int year)
{
    return (int)(year - floor_div(year, RTC_YEAR_RANGE) * RTC_YEAR_RANGE);
}

static uint8_t rtc_tm_reg(const struct rtc *r, const struct rtc_tm *tm, uint8_t reg)
{
    int year = rtc_wrap_year(tm->year);

    switch (reg) {
    case REG_SEC:
        return rtc_encode(r, tm->sec);
    case REG_MIN:
        return rtc_encode(r, tm->min);
    case REG_HOUR:
        return rtc_encode_hour(r, tm->hour);
    case REG_WDAY:
        return rtc_encode(r, tm->wday + 1); /* the chip counts Sunday as 1 */
    case REG_MDAY:
        return rtc_encode(r, tm->mday);
    case REG_MON:
        return rtc_encode(r, tm->mon);
    case REG_YEAR:
        return rtc_encode(r, year % 100);
    default: /* REG_CENTURY */
        return rtc_encode(r, year / 100);
    }
}

static void rtc_tm_set_reg(const struct rtc *r, struct rtc_tm *tm, uint8_t reg, uint8_t v)
{
    int year = rtc_wrap_year(tm->year);

    switch (reg) {
    case REG_SEC:
        tm->sec = rtc_decode(r, v);
        break;
    case REG_MIN:
        tm->min = rtc_decode(r, v);
        break;
    case REG_HOUR:
        tm->hour = rtc_decode_hour(r, v);
        break;
    case REG_WDAY:
        /* Kept for reading back while frozen; the running clock derives it from the date. */
        tm->wday = (rtc_decode(r, v) + 6) % 7;
        break;
    case REG_MDAY:
        tm->mday = rtc_decode(r, v);
        break;
    case REG_MON:
        tm->mon = rtc_decode(r, v);
        break;
    case REG_YEAR:
        tm->year = year / 100 * 100 + rtc_decode(r, v);
        break;
    default: /* REG_CENTURY */
        tm->year = rtc_decode(r, v) * 100 + year % 100;
        break;
    }
}

/* --- The clock ------------------------------------------------------------------------------ */

/* A failing host clock repeats its last answer rather than jumping the guest's time. */
static struct timespec rtc_host_now(struct rtc *r)
{
    struct timespec now;
    int rc;

    if (r->clock_fn)
        rc = r->clock_fn(r->clock_ctx, &now);
    else
        rc = clock_gettime(CLOCK_REALTIME, &now) ? -errno : 0;
    if (rc == 0 && now.tv_nsec >= 0 && now.tv_nsec < NSEC_PER_SEC)
        r->last_host = now;
    return r->last_host;
}

static void rtc_guest_at(const struct rtc *r, struct timespec host, int64_t *sec, long *nsec)
{
    *sec = (int64_t)host.tv_sec + r->off_sec;
    *nsec = host.tv_nsec + r->off_nsec;
    if (*nsec >= NSEC_PER_SEC) {
        *nsec -= NSEC_PER_SEC;
        (*sec)++;
    }
}

/* Makes the guest's clock read sec.nsec when the host's reads host. */
static void rtc_set_guest_at(struct rtc *r, struct timespec host, int64_t sec, long nsec)
{
    r->off_sec = sec - (int64_t)host.tv_sec;
    r->off_nsec = nsec - host.tv_nsec;
    if (r->off_nsec < 0) {
        r->off_nsec += NSEC_PER_SEC;
        r->off_sec--;
    }
}

static void rtc_current_tm(struct rtc *r, struct rtc_tm *tm)
{
    int64_t sec;
    long nsec;

    if (r->ram[REG_B] & B_SET) {
        *tm = r->frozen;
        return;
    }
    rtc_guest_at(r, rtc_host_now(r), &sec, &nsec);
    tm_from_secs(sec, tm);
}

static void rtc_write_b(struct rtc *r, uint8_t v)
{
    bool was_set = r->ram[REG_B] & B_SET;
    int64_t sec;

    if (!was_set && (v & B_SET)) {
        rtc_current_tm(r, &r->frozen);
        r->frozen_written = false;
    } else if (was_set && !(v & B_SET) && r->frozen_written && tm_to_secs(&r->frozen, &sec)) {
        /*
         * The datasheet has the first update come 500 ms after the clock restarts, and Linux
         * times its writes for that (it writes second S at S + 0.5 s), so the guest's clock
         * resumes halfway through the second it wrote. A time it cannot hold is dropped, and
         * a freeze with no write in it leaves the clock as it was.
         */
        rtc_set_guest_at(r, rtc_host_now(r), sec, NSEC_PER_SEC / 2);
    }
    r->ram[REG_B] = v;
}

static void rtc_write_time(struct rtc *r, uint8_t reg, uint8_t v)
{
    struct timespec host;
    struct rtc_tm tm;
    int64_t sec;
    long nsec;

    if (r->ram[REG_B] & B_SET) {
        rtc_tm_set_reg(r, &r->frozen, reg, v);
        r->frozen_written = true;
        return;
    }
    /* A running clock takes the new field at once and keeps its phase within the second. */
    host = rtc_host_now(r);
    rtc_guest_at(r, host, &sec, &nsec);
    tm_from_secs(sec, &tm);
    rtc_tm_set_reg(r, &tm, reg, v);
    if (tm_to_secs(&tm, &sec))
        rtc_set_guest_at(r, host, sec, nsec);
}

static uint8_t rtc_read(struct rtc *r, uint8_t reg)
{
    struct rtc_tm tm;
    uint8_t v;

    if (rtc_is_time_reg(reg)) {
        rtc_current_tm(r, &tm);
        return rtc_tm_reg(r, &tm, reg);
    }
    switch (reg) {
    case REG_A:
        /*
         * UIP stays clear. The registers are computed from the host clock at each read, so they
         * are never caught half-updated, and the 244 us UIP window could not protect a run of
         * reads in a VM anyway (a vCPU can be descheduled for longer between two of them). A
         * read that straddles a second is caught the way careful drivers already catch it:
         * Linux reads the seconds again afterwards and retries if they moved. Setting UIP would
         * only make guests spin or sleep.
         */
        return r->ram[REG_A] & ~A_UIP;
    case REG_C:
        v = r->ram[REG_C]; /* interrupt flags: reading clears them */
        r->ram[REG_C] = 0;
        return v;
    case REG_D:
        return D_VRT;
    default:
        return r->ram[reg];
    }
}

static void rtc_write(struct rtc *r, uint8_t reg, uint8_t v)
{
    if (rtc_is_time_reg(reg)) {
        rtc_write_time(r, reg, v);
        return;
    }
    switch (reg) {
    case REG_A:
        /* The divider and rate bits are kept but change nothing: time comes from the host. */
        r->ram[REG_A] = v & ~A_UIP;
        break;
    case REG_B:
        /* DSE (daylight saving) is kept and ignored: the clock is UTC. */
        rtc_write_b(r, v);
        break;
    case REG_C:
    case REG_D:
        break; /* read-only */
    default:
        r->ram[reg] = v;
        break;
    }
}

/*
 * Each byte of an access goes to its own port, as on the ISA bus, so outw(0x70) selects a
 * register and writes it. The index port reads 0xff: it is write-only on the chip.
 */
static void rtc_io(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
    struct rtc *r = dev;
    uint8_t *bytes = data;

    pthread_mutex_lock(&r->lock);
    for (uint32_t i = 0; i < len; i++) {
        uint64_t port = off + i;

        if (port == 0 && is_write) {
            r->index = bytes[i] & ~RTC_INDEX_NMI;
            r->nmi_disabled = bytes[i] & RTC_INDEX_NMI;
        } else if (port == 1 && is_write) {
            rtc_write(r, r->index, bytes[i]);
        } else if (port == 1) {
            bytes[i] = rtc_read(r, r->index);
        } else if (!is_write) {
            bytes[i] = 0xff;
        }
    }
    pthread_mutex_unlock(&r->lock);
}

int rtc_create(struct rtc **out, struct bus *pio, uint16_t base, struct irq_line irq,
               rtc_clock_fn clock_fn, void *clock_ctx)
{
    struct rtc *r;
    int rc;

    r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    rc = -pthread_mutex_init(&r->lock, NULL);
    if (rc)
        goto err_free;
    r->irq = irq;
    r->clock_fn = clock_fn;
    r->clock_ctx = clock_ctx;
    r->ram[REG_A] = A_DEFAULT;
    r->ram[REG_B] = B_DEFAULT;

    rc = bus_add(pio, base, RTC_PORTS, rtc_io, r, "rtc");
    if (rc)
        goto err_mutex;
    *out = r;
    return 0;

err_mutex:
    pthread_mutex_destroy(&r->lock);
err_free:
    free(r);
    return rc;
}

void rtc_destroy(struct rtc *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r);
}
