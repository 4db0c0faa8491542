/* SPDX-License-Identifier: MIT */
/*
 * kvmini's debug device, for guests built to run under it (guests/tiny, tests, benchmarks):
 *   PORT_DEBUG_EXIT   write V: stop the VM with STOP_GUEST_EXIT and status V (low byte of a
 *                     wider write); reads 0xff
 *   PORT_POST_CODE    writes ignored, reads 0xff: the cheapest port exit there is
 *   PORT_BOOT_TIMER   4-byte write of N: timestamp boot milestone N (as the MMIO register)
 *   LAYOUT_DEBUG_MMIO DEBUG_MMIO_BOOT_MARK write: timestamp a boot milestone;
 *                     DEBUG_MMIO_PROBE: reads 0, a no-op MMIO exit; the rest of the page reads 0
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

struct debugdev;

/*
 * Allocates the device and registers its two ports on pio and its page on mmio. stop is copied;
 * start_ns is a CLOCK_MONOTONIC time in ns that marks are measured from. 0 or -errno. All three
 * ranges are checked first (-EEXIST, -EPERM), so only -ENOMEM can leave part of them registered,
 * pointing at freed memory (bus.h has no removal): the caller must then discard the buses.
 */
int debugdev_create(struct debugdev **out, struct bus *pio, struct bus *mmio,
                    const struct stopper *stop, uint64_t start_ns);

/* Frees the device (NULL-safe). The buses must no longer dispatch to it. */
void debugdev_destroy(struct debugdev *d);

/*
 * Copies up to max marks, oldest first, into out and returns how many it copied; *dropped (if not
 * NULL) gets the number of marks that did not fit in the device. Any thread.
 */
size_t debugdev_marks(struct debugdev *d, struct debugdev_mark *out, size_t max, size_t *dropped);

#endif
