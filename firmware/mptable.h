/* SPDX-License-Identifier: MIT */
/*
 * The Intel MultiProcessor Specification 1.4 tables: how a guest booted with acpi=off (or an OS
 * without ACPI) finds its CPUs, the IOAPIC and the ISA interrupt routing. The floating pointer
 * lives at LAYOUT_MPTABLE, where the OS's scan of 0xf0000-0xfffff finds it, and the
 * configuration table follows it, all below LAYOUT_ACPI_RSDP.
 */
#ifndef KVMINI_FIRMWARE_MPTABLE_H
#define KVMINI_FIRMWARE_MPTABLE_H

#include <assert.h>
#include <stdint.h>

#include "firmware/layout.h"
#include "vmm/mem/gmem.h"

/* 8-bit APIC ids, 0xff being broadcast and the IOAPIC taking one. */
#define MPTABLE_MAX_CPUS 254

/*
 * Writes the floating pointer and the configuration table for nr_cpus CPUs (APIC id = index,
 * cpu 0 the bootstrap processor). 0, -EINVAL for 0 CPUs or more than MPTABLE_MAX_CPUS, -ENOSPC if
 * the table would run into the ACPI tables, -EFAULT if the area is not guest RAM.
 */
int mptable_write(const struct gmem *mem, unsigned int nr_cpus);

/* --- On-the-wire layouts --------------------------------------------------------------------- */

struct mp_floating {
    char signature[4]; /* "_MP_" */
    uint32_t config_addr;
    uint8_t length; /* in 16-byte units: 1 */
    uint8_t spec_rev;
    uint8_t checksum;
    uint8_t features[5]; /* [0] 0: a configuration table is present; [1] bit 7: IMCR present */
} __attribute__((packed));
static_assert(sizeof(struct mp_floating) == 16, "MP floating pointer size");

struct mp_config {
    char signature[4]; /* "PCMP" */
    uint16_t length;   /* header and base entries */
    uint8_t spec_rev;
    uint8_t checksum;
    char oem_id[8];
    char product_id[12];
    uint32_t oem_table;
    uint16_t oem_table_size;
    uint16_t entry_count;
    uint32_t lapic_addr;
    uint16_t ext_length;
    uint8_t ext_checksum;
    uint8_t reserved;
} __attribute__((packed));
static_assert(sizeof(struct mp_config) == 44, "MP config header size");

enum mp_entry_type {
    MP_PROCESSOR = 0,
    MP_BUS = 1,
    MP_IOAPIC = 2,
    MP_IOINTR = 3,
    MP_LINTR = 4,
};

struct mp_processor {
    uint8_t type;
    uint8_t apic_id;
    uint8_t apic_version;
    uint8_t flags; /* MP_CPU_ENABLED, MP_CPU_BSP */
    uint32_t signature;
    uint32_t features;
    uint32_t reserved[2];
} __attribute__((packed));
static_assert(sizeof(struct mp_processor) == 20, "MP processor entry size");

#define MP_CPU_ENABLED 0x1
#define MP_CPU_BSP     0x2

struct mp_bus {
    uint8_t type;
    uint8_t bus_id;
    char bus_type[6]; /* "ISA   " */
} __attribute__((packed));
static_assert(sizeof(struct mp_bus) == 8, "MP bus entry size");

struct mp_ioapic {
    uint8_t type;
    uint8_t apic_id;
    uint8_t version;
    uint8_t flags; /* 1: usable */
    uint32_t addr;
} __attribute__((packed));
static_assert(sizeof(struct mp_ioapic) == 8, "MP IOAPIC entry size");

/* I/O and local interrupt assignment entries share one layout. */
struct mp_intr {
    uint8_t type;
    uint8_t irq_type; /* enum mp_irq_type */
    uint16_t flags;   /* 0: polarity and trigger conform to the bus */
    uint8_t src_bus;
    uint8_t src_irq;
    uint8_t dst_apic; /* IOAPIC id, or 0xff for every local APIC */
    uint8_t dst_pin;  /* IOAPIC pin or LINTn */
} __attribute__((packed));
static_assert(sizeof(struct mp_intr) == 8, "MP interrupt entry size");

enum mp_irq_type {
    MP_INT = 0,
    MP_NMI = 1,
    MP_EXTINT = 3,
};

#endif
