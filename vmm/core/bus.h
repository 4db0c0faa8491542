/* SPDX-License-Identifier: MIT */
/*
 * An I/O bus: a set of non-overlapping address ranges, each owned by one device.
 * Used twice per VM, for port I/O and for MMIO. Ranges are registered while the machine is
 * assembled, before any vCPU runs; after bus_freeze() the table is read-only, so vCPU threads
 * dispatch without taking a lock.
 */
#ifndef KVMINI_BUS_H
#define KVMINI_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A device's handler. It sees an offset inside its own range, never the absolute address, so the
 * same device can sit anywhere. For reads it fills data[0..len); for writes it consumes it.
 * Called on vCPU threads, possibly several at once: the device does its own locking.
 */
typedef void (*io_fn)(void *dev, uint64_t off, void *data, uint32_t len, bool is_write);

struct bus_range {
    uint64_t base;
    uint64_t len;
    io_fn fn;
    void *dev;
    const char *name; /* static string, for --stats and error messages */
};

struct bus {
    const char *name;         /* "pio" or "mmio" */
    struct bus_range *ranges; /* sorted by base */
    size_t nr;
    size_t cap;
    bool frozen;
};

void bus_init(struct bus *bus, const char *name);
void bus_fini(struct bus *bus);

/*
 * Adds [base, base+len). Returns 0, -EEXIST if it overlaps a range already there, -EINVAL for an
 * empty or wrapping range, -EPERM once frozen, -ENOMEM.
 */
int bus_add(struct bus *bus, uint64_t base, uint64_t len, io_fn fn, void *dev, const char *name);

/* Removes the range that starts at base (to unwind a failed device creation). 0, -ENOENT, -EPERM.
 */
int bus_del(struct bus *bus, uint64_t base);

/* Ends registration: from here on lookups are lock-free. */
void bus_freeze(struct bus *bus);

/* The range that holds addr, or NULL. */
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr);

/*
 * Dispatches one access to the owner of [addr, addr+len). Returns 0, or -ENOENT when no single
 * range holds the whole access: then reads are filled with 0xff (as a bus with nothing there
 * answers) and writes are dropped; the caller decides what to report.
 */
int bus_access(const struct bus *bus, uint64_t addr, void *data, uint32_t len, bool is_write);

#endif
