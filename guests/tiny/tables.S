/* SPDX-License-Identifier: MIT */
/*
 * Descriptor tables, TSSs, page tables and stacks, all laid out at build time: filling them at
 * run time would mean CPL0 loops, which PVM hosts emulate one instruction at a time.
 */
#include "firmware/layout.h"
#include "guests/tiny/abi.h"

#define PTE_P    0x01
#define PTE_W    0x02
#define PTE_U    0x04 /* CPL3 runs everything, including MMIO accesses */
#define PTE_PWT  0x08
#define PTE_PCD  0x10
#define PTE_PS   0x80
#define PTE_TREE (PTE_P | PTE_W | PTE_U)

    .data
    .balign 16
    .globl tiny_gdt
tiny_gdt:
    .quad 0
    .quad 0
    .quad 0x00af9a000000ffff            /* SEL_KCODE: 64-bit, DPL0 */
    .quad 0x00cf92000000ffff            /* SEL_KDATA */
    .quad 0x00cff2000000ffff            /* SEL_UDATA: DPL3 */
    .quad 0x00affa000000ffff            /* SEL_UCODE: 64-bit, DPL3 */
    .fill 2 * TINY_MAX_CPUS, 8, 0       /* TSS descriptors, written by each CPU for itself */

    .balign 16
    .word 0                             /* aligns the base for the 64-bit lgdt */
    .globl tiny_gdt_ptr
tiny_gdt_ptr:
    .word TINY_GDT_SIZE - 1
    .quad tiny_gdt

    .balign 16
    .word 0
    .globl tiny_idt_ptr
tiny_idt_ptr:
    .word TINY_IDT_ENTRIES * 16 - 1
    .quad tiny_idt

/*
 * One TSS per CPU (RSP0: the top of that CPU's kernel stack), then one I/O permission bitmap that
 * all of them share: each TSS's I/O map base is the distance from that TSS to the bitmap, and each
 * descriptor's limit (start.S) reaches the 0xff byte the SDM requires after the bitmap. Every bit
 * is clear, so CPL3 may use every port even on a host that ignores IOPL (see TINY_USER_RFLAGS).
 */
    .balign 1 << TINY_TSS_STRIDE_SHIFT
    .globl tiny_tss
tiny_tss:
    .set tss_cpu, 0
    .rept TINY_MAX_CPUS
    .long 0
    .quad tiny_kstacks + ((tss_cpu + 1) << TINY_KSTACK_SHIFT)
    .fill TINY_TSS_IOMAP_BASE - 12, 1, 0
    .word (TINY_MAX_CPUS - tss_cpu) << TINY_TSS_STRIDE_SHIFT
    .fill (1 << TINY_TSS_STRIDE_SHIFT) - TINY_TSS_IOMAP_BASE - 2, 1, 0
    .set tss_cpu, tss_cpu + 1
    .endr
    .globl tiny_iomap
tiny_iomap:
    .fill TINY_IOMAP_BYTES, 1, 0
    .byte 0xff

/*
 * Identity map of 0..4 GiB with 2 MiB pages, user-accessible. The 32-bit MMIO hole is uncached
 * so device registers see every access.
 */
    .section .data.pagetables, "aw", @progbits
    .balign 4096
    .globl tiny_pml4
tiny_pml4:
    .quad tiny_pdpt + PTE_TREE
    .fill 511, 8, 0

    .balign 4096
tiny_pdpt:
    .quad tiny_pd + 0x0000 + PTE_TREE
    .quad tiny_pd + 0x1000 + PTE_TREE
    .quad tiny_pd + 0x2000 + PTE_TREE
    .quad tiny_pd + 0x3000 + PTE_TREE
    .fill 508, 8, 0

    .balign 4096
tiny_pd:
    .set pd_pa, 0
    .rept 2048
    .if pd_pa >= LAYOUT_MMIO_HOLE_START
    .quad pd_pa + (PTE_TREE | PTE_PS | PTE_PWT | PTE_PCD)
    .else
    .quad pd_pa + (PTE_TREE | PTE_PS)
    .endif
    .set pd_pa, pd_pa + 0x200000
    .endr

    .bss
    .balign 4096
    .globl tiny_idt
tiny_idt:
    .skip TINY_IDT_ENTRIES * 16         /* gates are written at CPL3 (runtime.c) */

    .globl tiny_kstacks
tiny_kstacks:
    .skip TINY_MAX_CPUS << TINY_KSTACK_SHIFT

    .globl tiny_ustacks
tiny_ustacks:
    .skip TINY_MAX_CPUS << TINY_USTACK_SHIFT

    .section .note.GNU-stack, "", @progbits
