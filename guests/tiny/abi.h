/* SPDX-License-Identifier: MIT */
/*
 * Constants the tiny runtime's assembly and C halves must agree on: descriptor selectors, the
 * per-CPU stack and TSS geometry, and the kcall vector. Plain #defines only (included from .S).
 */
#ifndef TINY_ABI_H
#define TINY_ABI_H

/* Static per-CPU arrays are indexed by initial APIC id; vCPUs beyond this just park. */
#define TINY_MAX_CPUS 64

#define TINY_KSTACK_SHIFT 14 /* 16 KiB: exception and kcall frames only */
#define TINY_USTACK_SHIFT 14 /* 16 KiB: everything main() does */

/*
 * Code and data at the selectors kvmini's boot GDT already uses (0x10/0x18), so nothing changes
 * meaning when the 64-bit entry swaps GDTs. The user pair sits above; iretq needs no fixed order.
 */
#define SEL_KCODE     0x10
#define SEL_KDATA     0x18
#define SEL_UDATA     0x20
#define SEL_UCODE     0x28
#define SEL_TSS0      0x30 /* CPU n's 16-byte TSS descriptor is at SEL_TSS0 + 16 * n */
#define TINY_GDT_SIZE (SEL_TSS0 + 16 * TINY_MAX_CPUS)

#define TINY_TSS_STRIDE_SHIFT 7    /* a 104-byte TSS, padded to 128 */
#define TINY_TSS_IOMAP_BASE   102  /* offset of the I/O map base field in a 64-bit TSS */
#define TINY_IOMAP_BYTES      8192 /* one bit per port, 0 = allowed, then one 0xff byte */

/*
 * IOPL=3 lets main() reach ports directly; IF stays 0 because nothing handles interrupts. Some
 * PVM hosts ignore IOPL at CPL3; there the TSS I/O bitmap (all ports allowed) does the same job.
 */
#define TINY_USER_RFLAGS 0x3002
#define TINY_RFLAGS_IOPL 0x3000

/* `int $TINY_VEC_KCALL` from CPL3 runs a function at CPL0 (see tiny_kcall). */
#define TINY_VEC_KCALL   0x80
#define TINY_IDT_ENTRIES 256

/*
 * Exit statuses of the runtime itself. Programs use 0..30. An exception ends the guest with
 * TINY_EXIT_EXCEPTION plus the vector (32..63), reported from CPL0; an exception while the
 * runtime's CPL0 path was already handling one ends it at once with TINY_EXIT_NESTED_FAULT. All
 * stay below the statuses kvmini keeps for itself (64 and up).
 */
#define TINY_EXIT_NESTED_FAULT 31
#define TINY_EXIT_EXCEPTION    0x20

#endif
