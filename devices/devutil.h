/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the device models; header-only so each device stays one .c file. */
#ifndef KVMINI_DEVICES_DEVUTIL_H
#define KVMINI_DEVICES_DEVUTIL_H

#include <stdint.h>
#include <string.h>

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

#endif
