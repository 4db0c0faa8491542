// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the kernel loaders (firmware/elf_load.c, bzimage.c, kernel_plan.c): the
 * input is a kernel file as --kernel names it. Whatever a probe accepts must lie inside guest RAM,
 * enter inside what it loads, and load without touching memory outside the guest's.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tests/fuzz/fuzz.h"
#include "firmware/bzimage.h"
#include "firmware/elf_load.h"
#include "firmware/layout.h"

#define RAM_END (64ULL << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *ram;
    struct kernel_plan plan;
    struct gmem mem;
    char why[256];
    bool entry_inside = false;
    int rc;

    if (!ram && !(ram = calloc(1, RAM_END)))
        abort();
    if (elf_is_elf(data, size))
        rc = elf_probe(data, size, RAM_END, &plan, why, sizeof(why));
    else if (bzimage_is_bzimage(data, size))
        rc = bzimage_probe(data, size, RAM_END, &plan, why, sizeof(why));
    else
        return 0;
    if (rc)
        return 0;
    CHECK(plan.nr_seg > 0 && plan.nr_seg <= KERNEL_MAX_SEGMENTS);
    for (unsigned int i = 0; i < plan.nr_seg; i++) {
        const struct kernel_segment *s = &plan.seg[i];

        CHECK(s->paddr >= LAYOUT_KERNEL_LOAD); /* never over the firmware tables below 1 MiB */
        CHECK(s->paddr + s->memsz >= s->paddr && s->paddr + s->memsz <= RAM_END);
        CHECK(s->filesz <= s->memsz && s->offset + s->filesz >= s->offset &&
              s->offset + s->filesz <= size);
        entry_inside |= plan.entry >= s->paddr && plan.entry < s->paddr + s->memsz;
    }
    CHECK(entry_inside);
    CHECK(!plan.setup_header ||
          (plan.setup_header >= data && plan.setup_header + plan.setup_header_len <= data + size));
    gmem_init_fixed(&mem, 0, ram, RAM_END);
    CHECK(kernel_plan_load(&plan, data, &mem) == 0);
    return 0;
}
