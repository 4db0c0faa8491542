/* SPDX-License-Identifier: MIT */
/*
 * What replaces a BIOS for the two ELF entry kinds: the memory map, the Linux zero page, the PVH
 * start info, identity page tables and a boot GDT, and the vCPU register state at entry.
 */
#ifndef KVMINI_BOOT_H
#define KVMINI_BOOT_H

#include <linux/kvm.h>
#include <stdint.h>

#include "vmm/mem/gmem.h"

#define BOOT_E820_MAX 8

struct boot_e820 {
    uint64_t addr;
    uint64_t size;
    uint32_t type; /* E820_RAM = 1, E820_RESERVED = 2 */
};

struct boot_info {
    const char *cmdline; /* may be NULL */
    uint64_t initrd_addr;
    uint64_t initrd_size; /* 0: none */
    uint64_t rsdp_addr;   /* 0: no ACPI tables */
    /* bzImage: the kernel's setup header, copied into the zero page before kvmini's fields. */
    const uint8_t *setup_header;
    size_t setup_header_len;
};

/* The guest's memory map: RAM, the legacy reserved area below 1 MiB, RAM above 4 GiB. */
unsigned int boot_e820_build(const struct gmem *mem, struct boot_e820 *map, unsigned int max);

/*
 * Writes the command line, a Linux zero page with the e820 map (for the 64-bit entry), the PVH
 * start info (for PVH), identity page tables and the boot GDT. 0, -E2BIG for an over-long
 * command line, -EFAULT if guest RAM is too small for the layout.
 */
int boot_write_tables(const struct gmem *mem, const struct boot_info *info);

/* Register state for the 64-bit entry: long mode, CS 0x10, RSI = zero page. */
void boot_state_entry64(struct kvm_regs *regs, struct kvm_sregs *sregs, uint64_t entry);

/* Register state for the PVH entry: 32-bit protected mode, paging off, EBX = start info. */
void boot_state_pvh(struct kvm_regs *regs, struct kvm_sregs *sregs, uint64_t entry);

/*
 * Highest 4 KiB-aligned address at which size bytes fit below limit and above floor, or 0 if
 * they do not: where the initrd goes.
 */
uint64_t boot_place_high(uint64_t floor, uint64_t limit, uint64_t size);

#endif
