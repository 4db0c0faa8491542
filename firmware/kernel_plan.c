// SPDX-License-Identifier: MIT
#include "firmware/kernel_plan.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int kernel_plan_load(const struct kernel_plan *plan, const void *file, const struct gmem *mem)
{
    for (unsigned int i = 0; i < plan->nr_seg; i++) {
        const struct kernel_segment *s = &plan->seg[i];
        uint8_t *dst = gmem_ptr(mem, s->paddr, s->memsz);

        if (!dst)
            return -EFAULT;
        memcpy(dst, (const uint8_t *)file + s->offset, s->filesz);
        /*
         * Memory gmem mapped itself is still all zeroes: writing zeroes there would only fault
         * in pages (the tiny guests' BSS is 2 MiB of stacks) that the guest may never touch.
         */
        if (!mem->mapping)
            memset(dst + s->filesz, 0, s->memsz - s->filesz);
    }
    return 0;
}

int kernel_plan_reject(int rc, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}
