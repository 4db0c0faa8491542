/* SPDX-License-Identifier: MIT */
/*
 * An MC146818-compatible CMOS real-time clock at two consecutive ports, index then data (0x70 and
 * 0x71 on a PC). The time registers are computed from the host clock at each read (UTC) plus an
 * offset the guest sets by writing them, so the clock never needs a timer; the other 114 bytes
 * are plain CMOS RAM.
 * Registers A-D answer as a healthy chip would (no update ever in progress, valid RAM and time).
 * No interrupts yet: register C never shows a flag and the line is never raised.
 */
#ifndef KVMINI_DEVICES_RTC_H
#define KVMINI_DEVICES_RTC_H

#include <stdint.h>
#include <time.h>

#include "vmm/core/bus.h"
#include "vmm/core/irq.h"

struct rtc;

/*
 * Reads the host's wall clock into *now (seconds since 1970 UTC); 0, or -errno and *now untouched.
 * Called under the device lock, so it must not call back into the device.
 */
typedef int (*rtc_clock_fn)(void *ctx, struct timespec *now);

/*
 * Allocates the clock and registers one two-port range on pio: base (index) and base + 1 (data).
 * irq (GSI 8) is copied; its sink may be NULL. clock_fn NULL means clock_gettime(CLOCK_REALTIME);
 * clock_ctx is passed to it untouched. 0, or -errno (-EEXIST if a port is taken) with nothing
 * left registered.
 */
int rtc_create(struct rtc **out, struct bus *pio, uint16_t base, struct irq_line irq,
               rtc_clock_fn clock_fn, void *clock_ctx);

/* Frees the clock (NULL-safe). The bus must no longer dispatch to it. */
void rtc_destroy(struct rtc *r);

#endif
