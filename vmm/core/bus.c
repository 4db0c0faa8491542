// SPDX-License-Identifier: MIT
#include "vmm/core/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void bus_init(struct bus *bus, const char *name)
{
    memset(bus, 0, sizeof(*bus));
    bus->name = name;
}

void bus_fini(struct bus *bus)
{
    free(bus->ranges);
    bus->ranges = NULL;
    bus->nr = bus->cap = 0;
}

/* Index of the first range whose end is above addr (ranges are sorted and disjoint). */
static size_t first_ending_after(const struct bus *bus, uint64_t addr)
{
    size_t lo = 0, hi = bus->nr;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct bus_range *r = &bus->ranges[mid];

        if (r->base + r->len <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int bus_add(struct bus *bus, uint64_t base, uint64_t len, io_fn fn, void *dev, const char *name)
{
    uint64_t end;
    size_t at;

    if (bus->frozen)
        return -EPERM;
    /* The end is exclusive, so a range may not reach past 2^64 - 1. */
    if (!len || !fn || __builtin_add_overflow(base, len, &end))
        return -EINVAL;

    at = first_ending_after(bus, base);
    if (at < bus->nr && bus->ranges[at].base < end)
        return -EEXIST;

    if (bus->nr == bus->cap) {
        size_t cap = bus->cap ? bus->cap * 2 : 16;
        struct bus_range *grown = realloc(bus->ranges, cap * sizeof(*grown));

        if (!grown)
            return -ENOMEM;
        bus->ranges = grown;
        bus->cap = cap;
    }
    memmove(&bus->ranges[at + 1], &bus->ranges[at], (bus->nr - at) * sizeof(*bus->ranges));
    bus->ranges[at] = (struct bus_range){
        .base = base, .len = len, .fn = fn, .dev = dev, .name = name ? name : "?"
    };
    bus->nr++;
    return 0;
}

int bus_del(struct bus *bus, uint64_t base)
{
    size_t at;

    if (bus->frozen)
        return -EPERM;
    at = first_ending_after(bus, base);
    if (at == bus->nr || bus->ranges[at].base != base)
        return -ENOENT;
    memmove(&bus->ranges[at], &bus->ranges[at + 1], (bus->nr - at - 1) * sizeof(*bus->ranges));
    bus->nr--;
    return 0;
}

void bus_freeze(struct bus *bus)
{
    bus->frozen = true;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr)
{
    size_t at = first_ending_after(bus, addr);

    if (at < bus->nr && bus->ranges[at].base <= addr)
        return &bus->ranges[at];
    return NULL;
}

int bus_access(const struct bus *bus, uint64_t addr, void *data, uint32_t len, bool is_write)
{
    const struct bus_range *r = bus_find(bus, addr);
    uint64_t off = r ? addr - r->base : 0;

    /* An access straddling the end of a range belongs to no device. */
    if (!r || len > r->len || off > r->len - len) {
        if (!is_write)
            memset(data, 0xff, len);
        return -ENOENT;
    }
    r->fn(r->dev, off, data, len, is_write);
    return 0;
}
