/* SPDX-License-Identifier: MIT */
/*
 * Every fixed guest-physical address, I/O port and GSI of a kvmini machine, in one place.
 * Guests built by this project include it too (guests/tiny), so both sides agree by construction.
 * Only plain #defines here: this header is included from C and from assembly.
 */
#ifndef KVMINI_LAYOUT_H
#define KVMINI_LAYOUT_H

/* A 64-bit constant in C, a bare number for the assembler (which has no ULL suffix). */
#ifdef __ASSEMBLER__
#define LAYOUT_U64(x) x
#else
#define LAYOUT_U64(x) x##ULL
#endif

/* --- Low memory: what kvmini writes before the first instruction ------------------------- */
#define LAYOUT_BOOT_GDT       0x0500 /* flat GDT for the boot CPU state kvmini sets up */
#define LAYOUT_PVH_START_INFO 0x6000 /* struct hvm_start_info for PVH entry */
#define LAYOUT_PVH_MEMMAP     0x6100 /* hvm_memmap_table_entry array that start_info points at */
#define LAYOUT_BOOT_PARAMS    0x7000 /* Linux zero page (struct boot_params) */
#define LAYOUT_PML4           0x9000 /* identity page tables for the 64-bit entry */
#define LAYOUT_PDPT           0xa000
#define LAYOUT_PD             0xb000  /* four pages: identity-map 0..4 GiB with 2 MiB pages */
#define LAYOUT_CMDLINE        0x20000 /* kernel command line, NUL terminated */
#define LAYOUT_CMDLINE_MAX    0x10000
#define LAYOUT_EBDA_START     0x9fc00 /* RAM from here to 1 MiB is reserved (legacy BIOS areas) */
#define LAYOUT_ROM_START      0xe0000 /* read-only memslot: firmware tables live here */
#define LAYOUT_MPTABLE        0xf0000 /* MP floating pointer + configuration table */
#define LAYOUT_ACPI_RSDP      0xf1000 /* RSDP (found by a scan of 0xe0000-0xfffff), then tables */
#define LAYOUT_ACPI_END       0x100000
#define LAYOUT_ROM_END        0x100000
#define LAYOUT_KERNEL_LOAD    0x100000 /* 1 MiB: default load address of kernels and tiny guests */

/* --- The 32-bit MMIO hole: no RAM between these two addresses ----------------------------- */
#define LAYOUT_MMIO_HOLE_START LAYOUT_U64(0xc0000000)
#define LAYOUT_MMIO_HOLE_END   LAYOUT_U64(0x100000000)
/* kvmini's debug page: boot timer, exit latency probe. */
#define LAYOUT_DEBUG_MMIO      LAYOUT_U64(0xd0000000)
#define LAYOUT_DEBUG_MMIO_SIZE 0x1000
#define LAYOUT_IOAPIC_BASE     LAYOUT_U64(0xfec00000)
#define LAYOUT_IOAPIC_SIZE     0x1000
#define LAYOUT_IOAPIC_ID       0 /* its ID register at reset; MADT and MP table say so */
#define LAYOUT_LAPIC_BASE      LAYOUT_U64(0xfee00000)
/* PCI BARs are placed in this window (up to the IOAPIC); kvmini's PCI bus decodes all of it. */
#define LAYOUT_PCI_MMIO_BASE LAYOUT_U64(0xe0000000)
#define LAYOUT_PCI_MMIO_SIZE LAYOUT_U64(0x1e000000)
/* KVM_SET_TSS_ADDR (three pages) and KVM_SET_IDENTITY_MAP_ADDR (one page), needed on Intel. */
#define LAYOUT_TSS_ADDR     LAYOUT_U64(0xfffbd000)
#define LAYOUT_IDENTITY_MAP LAYOUT_U64(0xfffbc000)

/* --- I/O ports ----------------------------------------------------------------------------- */
#define PORT_POST_CODE       0x80 /* POST/io_delay port: accepted and ignored, a cheap exit probe */
#define PORT_I8042_DATA      0x60
#define PORT_I8042_CMD       0x64
#define PORT_RTC_INDEX       0x70 /* CMOS RTC: register select (bit 7: NMI disable) */
#define PORT_RTC_DATA        0x71
#define PORT_COM1            0x3f8
#define PORT_DEBUG_EXIT      0x501 /* one-byte write of V: kvmini exits with status V */
#define PORT_PVPANIC         0x505 /* QEMU's pvpanic port: the guest writes 1 when it panics */
#define PORT_BOOT_TIMER      0x510 /* Linux guests: a write timestamps a boot milestone */
#define PORT_ACPI_PM1A_EVT   0x600 /* PM1a event block: status (2 bytes) + enable (2 bytes) */
#define PORT_ACPI_PM1A_CNT   0x604 /* PM1a control block: SLP_TYP/SLP_EN for power-off */
#define ACPI_PM1_EVT_LEN     4     /* the blocks' lengths, in the FADT and in devices/acpi_pm.c */
#define ACPI_PM1_CNT_LEN     2
#define PORT_ACPI_RESET      0x608 /* FADT reset register: writing ACPI_RESET_VALUE reboots */
#define PORT_PCI_CONFIG_ADDR 0xcf8 /* PCI configuration mechanism #1 */
#define PORT_PCI_CONFIG_DATA 0xcfc
#define PORT_PCI_IO_BASE     0xc000 /* I/O BARs are placed from here to 0xffff */
#define PORT_PCI_IO_SIZE     0x4000
#define ACPI_RESET_VALUE     0x1
#define ACPI_S5_SLP_TYP      5 /* the SLP_TYP value the DSDT's _S5 gives for soft-off */

/* --- Interrupts (IOAPIC pins = GSIs) -------------------------------------------------------- */
#define GSI_COM1          4
#define GSI_RTC           8
#define GSI_ACPI_SCI      9
#define GSI_PCI_INTX_BASE 16 /* pins 16-23: PCI INTx, swizzled by slot */
/* PCI slot s, pin p (0 = INTA) reaches IOAPIC pin: the usual swizzle, so slots share fairly. */
#define PCI_INTX_GSI(slot, pin) (GSI_PCI_INTX_BASE + (((slot) + (pin)) & 7))
#define IOAPIC_NUM_PINS         24

/* --- The kvmini debug MMIO page (registers are 32-bit) ------------------------------------- */
#define DEBUG_MMIO_BOOT_MARK 0x0 /* write: timestamp a boot milestone (value = milestone id) */
#define DEBUG_MMIO_PROBE     0x4 /* read 0 / write ignored: a no-op MMIO exit for exitlat */

/*
 * The KVMINI ELF note: a guest built for kvmini may carry it to ask for a direct 64-bit entry
 * (no 32-bit code at CPL0, which matters on PVM hosts) and for all vCPUs to start at that entry
 * at once instead of waiting for INIT/SIPI. Note name "KVMINI", type KVMINI_NOTE_ENTRY64,
 * descriptor: u64 entry address, u64 flags.
 */
#define KVMINI_NOTE_NAME        "KVMINI"
#define KVMINI_NOTE_ENTRY64     1
#define KVMINI_NOTE_F_ALL_VCPUS 0x1

#endif
