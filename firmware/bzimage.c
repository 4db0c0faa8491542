// SPDX-License-Identifier: MIT
#include "firmware/bzimage.h"

#include <asm/bootparam.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "firmware/layout.h"

#define SETUP_HEADER_OFFSET 0x1f1
#define HDRS_MAGIC          0x53726448 /* "HdrS" */
#define MIN_PROTOCOL        0x020c     /* 2.12: xloadflags, so the 64-bit entry can be checked */
#define ENTRY64_OFFSET      0x200      /* the 64-bit entry, relative to the load address */
#define DEFAULT_LOAD        0x1000000  /* where a kernel without a usable pref_address goes */

int bzimage_is_bzimage(const void *file, size_t size)
{
    uint32_t magic;

    if (size < SETUP_HEADER_OFFSET + offsetof(struct setup_header, header) + 4)
        return 0;
    memcpy(&magic,
           (const uint8_t *)file + SETUP_HEADER_OFFSET + offsetof(struct setup_header, header), 4);
    return magic == HDRS_MAGIC;
}

/* Where the protected-mode kernel goes: its preferred address, aligned as it asks. */
static int choose_load_address(const struct setup_header *h, uint64_t *load, char *err,
                               size_t errlen)
{
    uint64_t align = h->kernel_alignment, at = h->pref_address;

    if (!h->relocatable_kernel) {
        *load = at;
        return 0;
    }
    if (align & (align - 1))
        return kernel_plan_reject(-EINVAL, err, errlen,
                                  "kernel_alignment %#llx is not a power of two",
                                  (unsigned long long)align);
    if (!align)
        align = 1;
    if (at < LAYOUT_KERNEL_LOAD)
        at = DEFAULT_LOAD;
    if (__builtin_add_overflow(at, align - 1, &at))
        return kernel_plan_reject(-ERANGE, err, errlen, "pref_address wraps around");
    *load = at & ~(align - 1);
    return 0;
}

int bzimage_probe(const void *file, size_t size, uint64_t ram_end, struct kernel_plan *plan,
                  char *err, size_t errlen)
{
    const uint8_t *f = file;
    struct setup_header h;
    uint64_t kernel_off, payload, needed, end, load = 0;
    size_t hdr_len;
    int rc;

    memset(plan, 0, sizeof(*plan));
    if (!bzimage_is_bzimage(file, size))
        return kernel_plan_reject(-ENOEXEC, err, errlen, "not a bzImage");
    /* The header's own length: the jump at 0x200 skips exactly over it. */
    hdr_len = (size_t)0x202 + f[0x201] - SETUP_HEADER_OFFSET;
    if (SETUP_HEADER_OFFSET + sizeof(h) > size)
        return kernel_plan_reject(-EINVAL, err, errlen,
                                  "bzImage is truncated inside its setup header");
    memcpy(&h, f + SETUP_HEADER_OFFSET, sizeof(h));

    if (h.version < MIN_PROTOCOL)
        return kernel_plan_reject(
            -ENOEXEC, err, errlen,
            "bzImage uses boot protocol %u.%02u; kvmini needs 2.12 or newer (Linux 3.8+)",
            h.version >> 8, h.version & 0xff);
    if (!(h.xloadflags & XLF_KERNEL_64))
        return kernel_plan_reject(-ENOEXEC, err, errlen,
                                  "bzImage has no 64-bit entry point (32-bit kernel?)");
    if (!(h.loadflags & LOADED_HIGH))
        return kernel_plan_reject(-ENOEXEC, err, errlen, "a zImage (loaded low) is not supported");

    kernel_off = ((uint64_t)(h.setup_sects ? h.setup_sects : 4) + 1) * 512;
    payload = (uint64_t)h.syssize * 16;
    if (kernel_off >= size || payload > size - kernel_off)
        return kernel_plan_reject(
            -EINVAL, err, errlen,
            "bzImage is truncated: its header describes %llu bytes, the file has %zu",
            (unsigned long long)(kernel_off + payload), size);
    /* The 64-bit entry is 0x200 bytes into what is loaded: a shorter kernel has none. */
    if (size - kernel_off <= ENTRY64_OFFSET)
        return kernel_plan_reject(-EINVAL, err, errlen,
                                  "bzImage's kernel is %llu bytes, too short to hold its 64-bit "
                                  "entry at offset 0x%x",
                                  (unsigned long long)(size - kernel_off), ENTRY64_OFFSET);

    if ((rc = choose_load_address(&h, &load, err, errlen)))
        return rc;
    needed = size - kernel_off > h.init_size ? size - kernel_off : h.init_size;
    if (load < LAYOUT_KERNEL_LOAD || __builtin_add_overflow(load, needed, &end) || end > ram_end)
        return kernel_plan_reject(
            -ERANGE, err, errlen,
            "the kernel needs RAM 0x%llx-0x%llx, beyond the 0x%llx this VM has below "
            "the MMIO hole; give more --mem",
            (unsigned long long)load, (unsigned long long)(load + needed),
            (unsigned long long)ram_end);

    plan->kind = ENTRY_64;
    plan->entry = load + ENTRY64_OFFSET;
    plan->seg[0] = (struct kernel_segment){
        .paddr = load,
        .offset = kernel_off,
        .filesz = size - kernel_off,
        .memsz = needed,
    };
    plan->nr_seg = 1;
    plan->lowest = load;
    plan->highest = end;
    plan->setup_header = f + SETUP_HEADER_OFFSET;
    plan->setup_header_len = hdr_len < sizeof(h) ? hdr_len : sizeof(h);
    plan->initrd_addr_max = h.initrd_addr_max ? h.initrd_addr_max : 0x37ffffff;
    plan->cmdline_max = h.cmdline_size ? h.cmdline_size : 255;
    return 0;
}
