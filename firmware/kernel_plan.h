/* SPDX-License-Identifier: MIT */
/*
 * What a kernel loader decides before the VM exists: which bytes of the file go where in guest
 * RAM, where the vCPUs enter, and what the kernel asks of the boot tables. Each loader (ELF,
 * bzImage) fills one from a file it has validated; kernel_plan_load() then copies it in.
 */
#ifndef KVMINI_KERNEL_PLAN_H
#define KVMINI_KERNEL_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/mem/gmem.h"

#define KERNEL_MAX_SEGMENTS 16

enum boot_entry_kind {
    ENTRY_64,  /* 64-bit entry: long mode, identity paging, RSI = boot_params */
    ENTRY_PVH, /* Xen PVH: 32-bit protected mode, paging off, EBX = hvm_start_info */
};

struct kernel_segment {
    uint64_t paddr;
    uint64_t offset; /* in the file */
    uint64_t filesz;
    uint64_t memsz;
};

struct kernel_plan {
    enum boot_entry_kind kind;
    uint64_t entry;
    uint64_t note_flags; /* KVMINI_NOTE_F_* from the KVMINI note, 0 without one */
    struct kernel_segment seg[KERNEL_MAX_SEGMENTS];
    unsigned int nr_seg;
    uint64_t lowest;  /* lowest paddr loaded */
    uint64_t highest; /* end of the highest segment (exclusive) */

    /* bzImage only: the setup header to copy into the zero page, and the kernel's limits. */
    const uint8_t *setup_header; /* points into the file; NULL for ELF */
    size_t setup_header_len;
    uint64_t initrd_addr_max; /* highest address the initrd may end at, inclusive */
    uint64_t cmdline_max;     /* longest command line the kernel accepts */
};

/* For loaders: writes a one-line reason into err and returns rc, so a check is one statement. */
int kernel_plan_reject(int rc, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Copies the planned segments; their BSS reads as zero afterwards. 0 or -EFAULT. */
int kernel_plan_load(const struct kernel_plan *plan, const void *file, const struct gmem *mem);

#endif
