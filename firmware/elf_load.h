/* SPDX-License-Identifier: MIT */
/*
 * ELF64 kernels and tiny guests, read with libelf. elf_probe() validates the whole file and turns
 * it into a kernel_plan before /dev/kvm is even opened, so a bad file gets a clear error anywhere.
 */
#ifndef KVMINI_ELF_LOAD_H
#define KVMINI_ELF_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/kernel_plan.h"

/*
 * Validates an in-memory ELF file against guest RAM [LAYOUT_KERNEL_LOAD, ram_end): x86-64 ELF64
 * executable, segments inside the file and inside RAM without overlapping each other or the
 * firmware area, entry inside a loaded segment. Prefers the KVMINI note's 64-bit entry, then the
 * PVH note, then e_entry. Returns 0, or -ENOEXEC (not ELF64 x86-64), -EINVAL (malformed),
 * -ERANGE (does not fit), with a one-line reason in err.
 */
int elf_probe(const void *file, size_t size, uint64_t ram_end, struct kernel_plan *plan, char *err,
              size_t errlen);

/* True when the file starts with the ELF magic (for choosing a loader and for messages). */
int elf_is_elf(const void *file, size_t size);

#endif
