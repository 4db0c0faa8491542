/* SPDX-License-Identifier: MIT */
/*
 * ELF64 kernels and tiny guests, read with libelf. Loading is two steps so that a bad file is
 * rejected before /dev/kvm is even opened: elf_probe() validates the file and produces a plan,
 * elf_load() copies that plan into guest memory.
 */
#ifndef KVMINI_ELF_LOAD_H
#define KVMINI_ELF_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/gmem.h"

#define ELF_MAX_SEGMENTS 16

enum boot_entry_kind {
    ENTRY_64,  /* 64-bit entry: long mode, identity paging, RSI = boot_params */
    ENTRY_PVH, /* Xen PVH: 32-bit protected mode, paging off, EBX = hvm_start_info */
};

struct elf_segment {
    uint64_t paddr;
    uint64_t offset; /* in the file */
    uint64_t filesz;
    uint64_t memsz;
};

struct elf_plan {
    enum boot_entry_kind kind;
    uint64_t entry;
    uint64_t note_flags; /* KVMINI_NOTE_F_* from the KVMINI note, 0 without one */
    struct elf_segment seg[ELF_MAX_SEGMENTS];
    unsigned int nr_seg;
    uint64_t lowest;  /* lowest paddr loaded */
    uint64_t highest; /* end of the highest segment (exclusive) */
};

/*
 * Validates an in-memory ELF file against guest RAM [LAYOUT_KERNEL_LOAD, ram_end): x86-64 ELF64
 * executable, segments inside the file and inside RAM without overlapping each other or the
 * firmware area, entry inside a loaded segment. Prefers the KVMINI note's 64-bit entry, then the
 * PVH note, then e_entry. Returns 0, or -ENOEXEC (not ELF64 x86-64), -EINVAL (malformed),
 * -ERANGE (does not fit), with a one-line reason in err.
 */
int elf_probe(const void *file, size_t size, uint64_t ram_end, struct elf_plan *plan, char *err,
              size_t errlen);

/* Copies the planned segments; their BSS reads as zero afterwards. 0 or -EFAULT. */
int elf_load(const struct elf_plan *plan, const void *file, const struct gmem *mem);

/* True when the file starts with the ELF magic (for choosing a loader and for messages). */
int elf_is_elf(const void *file, size_t size);

#endif
