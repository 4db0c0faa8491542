/* SPDX-License-Identifier: MIT */
/*
 * kvmini's debug device, for guests built to run under it (guests/tiny, tests, benchmarks), at the
 * addresses in struct debugdev_addrs:
 *   exit port        write V: stop the VM with STOP_GUEST_EXIT and status V (low byte of a
 *                    wider write); reads 0xff
 *   post-code port   writes ignored, reads 0xff: the cheapest port exit there is
 *   boot-timer port  4-byte write of N: timestamp boot milestone N (as the MMIO register)
 *   MMIO page        DEBUG_MMIO_BOOT_MARK write: timestamp a boot milestone;
 *                    DEBUG_MMIO_PROBE: reads 0, a no-op MMIO exit; the rest of the page reads 0
 */
#ifndef KVMINI_DEVICES_DEBUGDEV_H
#define KVMINI_DEVICES_DEBUGDEV_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/core/bus.h"
#include "vmm/core/stop.h"

/* Marks kept; later ones are counted as dropped. */
#define DEBUGDEV_MAX_MARKS 16

struct debugdev_mark {
    uint64_t ns; /* CLOCK_MONOTONIC nanoseconds since the start time given to debugdev_create() */
    uint32_t id; /* the value the guest wrote */
};

/* Where the device's ranges start. */
struct debugdev_addrs {
    uint16_t exit_port;       /* 4 ports, so that outw/outl to it land on the device too */
    uint16_t post_code_port;  /* 1 port */
    uint16_t boot_timer_port; /* 4 ports */
    uint64_t mmio_base;       /* the MMIO page: mmio_size bytes, at least the registers */
    uint64_t mmio_size;
};

struct debugdev;

/*
 * Allocates the device and registers the three port ranges in *addrs on pio and its page on
 * mmio. stop is copied; start_ns is a CLOCK_MONOTONIC time in ns that marks are measured from.
 * 0 or -errno (-EEXIST, -EPERM from the buses, -ENOMEM); on failure nothing stays registered.
 */
int debugdev_create(struct debugdev **out, struct bus *pio, struct bus *mmio,
                    const struct debugdev_addrs *addrs, const struct stopper *stop,
                    uint64_t start_ns);

/* Frees the device (NULL-safe). The buses must no longer dispatch to it. */
void debugdev_destroy(struct debugdev *d);

/*
 * Copies up to max marks, oldest first, into out and returns how many it copied; *dropped (if not
 * NULL) gets the number of marks that did not fit in the device. Any thread.
 */
size_t debugdev_marks(struct debugdev *d, struct debugdev_mark *out, size_t max, size_t *dropped);

#endif
