/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the device models; header-only so each device stays one .c file. */
#ifndef KVMINI_DEVICES_DEVUTIL_H
#define KVMINI_DEVICES_DEVUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "vmm/bus.h"

/* The value of a 1..8 byte access, zero-extended (x86 guests are little-endian, and so are we). */
static inline uint64_t io_load(const void *data, uint32_t len)
{
    uint64_t v = 0;

    memcpy(&v, data, len < sizeof(v) ? len : sizeof(v));
    return v;
}

/* Fills a read of len bytes with v; bytes beyond 8 read as zero. */
static inline void io_store(void *data, uint32_t len, uint64_t v)
{
    memset(data, 0, len);
    memcpy(data, &v, len < sizeof(v) ? len : sizeof(v));
}

/*
 * Whether bus_add(bus, base, len, ...) would succeed short of running out of memory. bus.h has
 * no removal, so a device that registers several ranges checks all of them first: then a failure
 * half-way can only be -ENOMEM, after which the caller throws the whole bus away anyway.
 */
static inline bool bus_range_available(const struct bus *bus, uint64_t base, uint64_t len)
{
    uint64_t end;

    if (bus->frozen || !len || __builtin_add_overflow(base, len, &end))
        return false;
    for (size_t i = 0; i < bus->nr; i++) {
        const struct bus_range *r = &bus->ranges[i];

        if (r->base < end && base < r->base + r->len)
            return false;
    }
    return true;
}

#endif
