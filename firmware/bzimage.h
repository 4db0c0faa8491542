/* SPDX-License-Identifier: MIT */
/*
 * bzImage kernels through the Linux 64-bit boot protocol (Documentation/x86/boot.rst): the setup
 * header is validated and the protected-mode kernel planned at its preferred, aligned address.
 * The real-mode setup code is never run: kvmini enters at the 64-bit entry, load address + 0x200.
 */
#ifndef KVMINI_BZIMAGE_H
#define KVMINI_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/kernel_plan.h"

/* True when the file carries the "HdrS" setup-header magic. */
int bzimage_is_bzimage(const void *file, size_t size);

/*
 * Validates a bzImage for guest RAM ending at ram_end (below the MMIO hole) and fills plan.
 * Returns 0, or -ENOEXEC (not a bzImage kvmini can enter: protocol older than 2.12, no 64-bit
 * entry), -EINVAL (truncated or inconsistent header), -ERANGE (does not fit), with a one-line
 * reason in err.
 */
int bzimage_probe(const void *file, size_t size, uint64_t ram_end, struct kernel_plan *plan,
                  char *err, size_t errlen);

#endif
