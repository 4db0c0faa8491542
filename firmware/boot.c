// SPDX-License-Identifier: MIT
#include "firmware/boot.h"

#include <asm/bootparam.h>
#include <errno.h>
#include <string.h>

#include "firmware/layout.h"

#define E820_TYPE_RAM      1
#define E820_TYPE_RESERVED 2

/* The Xen PVH start-of-day structures (xen/include/public/arch-x86/hvm/start_info.h, v1). */
#define HVM_START_MAGIC 0x336ec578
struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;
    uint32_t memmap_entries;
    uint32_t reserved;
};
struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};
struct hvm_memmap_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

#define PVH_MODLIST (LAYOUT_PVH_MEMMAP + BOOT_E820_MAX * sizeof(struct hvm_memmap_entry))

/* Boot GDT selectors, as the Linux 64-bit boot protocol names them. */
#define BOOT_CS  0x10
#define BOOT_DS  0x18
#define BOOT_TSS 0x20

static const uint64_t boot_gdt[] = {
    0,
    0,
    0x00af9b000000ffffULL, /* 0x10: 64-bit code, also usable as 32-bit code with L cleared */
    0x00cf93000000ffffULL, /* 0x18: flat data */
    0x00008b0000000067ULL, /* 0x20: a TSS descriptor, so TR is valid for VM entry */
    0,
    0x00cf9b000000ffffULL, /* 0x30: flat 32-bit code for the PVH entry */
};

unsigned int boot_e820_build(const struct gmem *mem, struct boot_e820 *map, unsigned int max)
{
    uint64_t low_end = gmem_low_end(mem);
    unsigned int n = 0;

    if (max < 4)
        return 0;
    map[n++] = (struct boot_e820){ 0, LAYOUT_EBDA_START, E820_TYPE_RAM };
    map[n++] = (struct boot_e820){ LAYOUT_EBDA_START, LAYOUT_KERNEL_LOAD - LAYOUT_EBDA_START,
                                   E820_TYPE_RESERVED };
    if (low_end > LAYOUT_KERNEL_LOAD)
        map[n++] =
            (struct boot_e820){ LAYOUT_KERNEL_LOAD, low_end - LAYOUT_KERNEL_LOAD, E820_TYPE_RAM };
    for (unsigned int i = 1; i < mem->nr && n < max; i++)
        map[n++] = (struct boot_e820){ mem->regions[i].gpa, mem->regions[i].size, E820_TYPE_RAM };
    return n;
}

static int write_page_tables(const struct gmem *mem)
{
    uint64_t *pml4 = gmem_ptr(mem, LAYOUT_PML4, 4096);
    uint64_t *pdpt = gmem_ptr(mem, LAYOUT_PDPT, 4096);
    uint64_t *pd = gmem_ptr(mem, LAYOUT_PD, 4 * 4096);

    if (!pml4 || !pdpt || !pd)
        return -EFAULT;
    memset(pml4, 0, 4096);
    memset(pdpt, 0, 4096);
    pml4[0] = LAYOUT_PDPT | 0x3; /* present, writable */
    for (uint64_t i = 0; i < 4; i++)
        pdpt[i] = (LAYOUT_PD + i * 4096) | 0x3;
    /* 2 MiB pages: 2048 entries map 0..4 GiB, the MMIO hole included. */
    for (uint64_t i = 0; i < 2048; i++)
        pd[i] = (i << 21) | 0x83; /* present, writable, page size */
    return 0;
}

static int write_zero_page(const struct gmem *mem, const struct boot_info *info,
                           const struct boot_e820 *map, unsigned int n)
{
    struct boot_params *bp = gmem_ptr(mem, LAYOUT_BOOT_PARAMS, sizeof(*bp));

    if (!bp)
        return -EFAULT;
    memset(bp, 0, sizeof(*bp));
    if (info->setup_header) {
        /* The protocol: start from the kernel's own header, then fill in the loader's fields. */
        memcpy(&bp->hdr, info->setup_header,
               info->setup_header_len < sizeof(bp->hdr) ? info->setup_header_len : sizeof(bp->hdr));
    } else {
        bp->hdr.boot_flag = 0xaa55;
        bp->hdr.header = 0x53726448; /* "HdrS" */
        bp->hdr.version = 0x020f;
    }
    bp->hdr.type_of_loader = 0xff; /* an undefined boot loader */
    bp->acpi_rsdp_addr = info->rsdp_addr;
    bp->hdr.cmd_line_ptr = LAYOUT_CMDLINE;
    bp->hdr.cmdline_size = LAYOUT_CMDLINE_MAX - 1;
    bp->hdr.ramdisk_image = (uint32_t)info->initrd_addr;
    bp->hdr.ramdisk_size = (uint32_t)info->initrd_size;
    bp->ext_ramdisk_image = (uint32_t)(info->initrd_addr >> 32);
    bp->ext_ramdisk_size = (uint32_t)(info->initrd_size >> 32);
    for (unsigned int i = 0; i < n; i++) {
        bp->e820_table[i].addr = map[i].addr;
        bp->e820_table[i].size = map[i].size;
        bp->e820_table[i].type = map[i].type;
    }
    bp->e820_entries = (uint8_t)n;
    return 0;
}

static int write_pvh_info(const struct gmem *mem, const struct boot_info *info,
                          const struct boot_e820 *map, unsigned int n)
{
    struct hvm_start_info *si = gmem_ptr(mem, LAYOUT_PVH_START_INFO, sizeof(*si));
    struct hvm_memmap_entry *mm = gmem_ptr(mem, LAYOUT_PVH_MEMMAP, n * sizeof(*mm));
    struct hvm_modlist_entry *mod = gmem_ptr(mem, PVH_MODLIST, sizeof(*mod));

    if (!si || !mm || !mod)
        return -EFAULT;
    *si = (struct hvm_start_info){
        .magic = HVM_START_MAGIC,
        .version = 1,
        .cmdline_paddr = LAYOUT_CMDLINE,
        .memmap_paddr = LAYOUT_PVH_MEMMAP,
        .memmap_entries = n,
        .rsdp_paddr = info->rsdp_addr,
    };
    for (unsigned int i = 0; i < n; i++)
        mm[i] = (struct hvm_memmap_entry){ map[i].addr, map[i].size, map[i].type, 0 };
    if (info->initrd_size) {
        *mod = (struct hvm_modlist_entry){ .paddr = info->initrd_addr, .size = info->initrd_size };
        si->nr_modules = 1;
        si->modlist_paddr = PVH_MODLIST;
    }
    return 0;
}

int boot_write_tables(const struct gmem *mem, const struct boot_info *info)
{
    struct boot_e820 map[BOOT_E820_MAX];
    const char *cmdline = info->cmdline ? info->cmdline : "";
    size_t len = strlen(cmdline);
    unsigned int n;
    int rc;

    if (len >= LAYOUT_CMDLINE_MAX) /* vmm/image.c tells users; this guards the buffer */
        return -E2BIG;
    if (gmem_write(mem, LAYOUT_CMDLINE, cmdline, len + 1) ||
        gmem_write(mem, LAYOUT_BOOT_GDT, boot_gdt, sizeof(boot_gdt)))
        return -EFAULT;
    n = boot_e820_build(mem, map, BOOT_E820_MAX);
    if ((rc = write_page_tables(mem)) || (rc = write_zero_page(mem, info, map, n)) ||
        (rc = write_pvh_info(mem, info, map, n)))
        return rc;
    return 0;
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type, int code64)
{
    return (struct kvm_segment){
        .base = 0,
        .limit = 0xffffffff,
        .selector = selector,
        .type = type,
        .present = 1,
        .dpl = 0,
        .db = !code64,
        .s = 1,
        .l = code64,
        .g = 1,
    };
}

static void common_sregs(struct kvm_sregs *sregs, struct kvm_segment code)
{
    struct kvm_segment data = flat_segment(BOOT_DS, 0x3, 0);

    sregs->cs = code;
    sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
    sregs->tr = (struct kvm_segment){
        .selector = BOOT_TSS,
        .limit = 0x67,
        .type = 0xb,
        .present = 1,
    };
    sregs->ldt = (struct kvm_segment){ .type = 0x2, .present = 1 };
    sregs->gdt.base = LAYOUT_BOOT_GDT;
    sregs->gdt.limit = sizeof(boot_gdt) - 1;
    sregs->idt.base = 0;
    sregs->idt.limit = 0;
}

void boot_state_entry64(struct kvm_regs *regs, struct kvm_sregs *sregs, uint64_t entry)
{
    common_sregs(sregs, flat_segment(BOOT_CS, 0xb, 1));
    sregs->cr3 = LAYOUT_PML4;
    sregs->cr4 = (1u << 5) | (1u << 9) | (1u << 10); /* PAE, OSFXSR, OSXMMEXCPT */
    sregs->cr0 = 0x80050033;                         /* PG WP NE ET MP PE */
    sregs->efer = (1u << 8) | (1u << 10);            /* LME LMA */

    memset(regs, 0, sizeof(*regs));
    regs->rflags = 0x2;
    regs->rip = entry;
    regs->rsi = LAYOUT_BOOT_PARAMS;
}

void boot_state_pvh(struct kvm_regs *regs, struct kvm_sregs *sregs, uint64_t entry)
{
    common_sregs(sregs, flat_segment(0x30, 0xb, 0));
    sregs->cr0 = 0x11; /* PE ET */
    sregs->cr3 = 0;
    sregs->cr4 = 0;
    sregs->efer = 0;

    memset(regs, 0, sizeof(*regs));
    regs->rflags = 0x2;
    regs->rip = entry;
    regs->rbx = LAYOUT_PVH_START_INFO;
}

uint64_t boot_place_high(uint64_t floor, uint64_t limit, uint64_t size)
{
    uint64_t at;

    if (!size || size > limit || limit - size < floor)
        return 0;
    at = (limit - size) & ~0xfffULL;
    return at >= floor ? at : 0;
}
