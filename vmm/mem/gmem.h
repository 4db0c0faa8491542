/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM: one anonymous host mapping, cut into guest-physical regions around the MMIO hole.
 * Every access from kvmini to guest memory goes through gmem_ptr(), which checks the whole range
 * with overflow-checked arithmetic: a guest-supplied address can never reach outside guest RAM.
 */
#ifndef KVMINI_GMEM_H
#define KVMINI_GMEM_H

#include <stddef.h>
#include <stdint.h>

#define GMEM_MAX_REGIONS 4

struct gmem_region {
    uint64_t gpa;
    uint64_t size;
    uint8_t *host;
};

struct gmem {
    struct gmem_region regions[GMEM_MAX_REGIONS];
    unsigned int nr;
    uint64_t ram_size; /* total RAM, all regions */
    void *mapping;     /* the single host mapping, NULL for memory not owned (tests) */
    size_t mapping_size;
};

/*
 * Maps ram_size bytes and lays them out: [0, hole) then, for what does not fit below the hole,
 * [4 GiB, ...). Returns 0, -EINVAL for a size of 0 or not a multiple of 4 KiB, -ENOMEM.
 */
int gmem_init(struct gmem *m, uint64_t ram_size);

/* Describes memory the caller owns (used by tests): one region at gpa. */
void gmem_init_fixed(struct gmem *m, uint64_t gpa, void *host, uint64_t size);

void gmem_fini(struct gmem *m);

/*
 * Host pointer to guest range [gpa, gpa+len), or NULL unless the whole range lies in one region.
 * len 0 is allowed and checks gpa alone.
 */
void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len);

/* Copies; 0 or -EFAULT when the range is not wholly guest RAM. */
int gmem_read(const struct gmem *m, uint64_t gpa, void *dst, size_t len);
int gmem_write(const struct gmem *m, uint64_t gpa, const void *src, size_t len);

/* Highest guest-physical address + 1 of RAM below the hole. */
uint64_t gmem_low_end(const struct gmem *m);

#endif
