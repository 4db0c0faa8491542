/* SPDX-License-Identifier: MIT */
/*
 * The ACPI tables kvmini hands a guest in place of a BIOS: RSDP, XSDT, FADT (+FACS), DSDT and
 * MADT, written into the read-only ROM window. The FADT describes a fixed PM1a event/control
 * block and a reset register (devices/acpi_pm.c), so `poweroff` and `reboot` work without an SMI
 * or a PM timer. The structs below are the on-the-wire layouts (the uapi headers have none); the
 * unit test parses tables back through them.
 */
#ifndef KVMINI_FIRMWARE_ACPI_H
#define KVMINI_FIRMWARE_ACPI_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include "firmware/layout.h"
#include "vmm/mem/gmem.h"

/* Local APIC ids are 8 bits and 0xff means "all": one less than that many CPUs. */
#define ACPI_MAX_CPUS 255

struct acpi_config {
    unsigned int nr_cpus; /* 1..ACPI_MAX_CPUS; APIC id = processor UID = index */
    /*
     * The machine has an MC146818 CMOS clock at 0x70 (devices/rtc.c): the FADT then says so and
     * names its century byte, and the DSDT describes it (PNP0B00). Otherwise the FADT tells the
     * guest there is none, so it never reads garbage time from unclaimed ports.
     */
    bool cmos_rtc;
    /*
     * The machine has kvmini's PCI host bridge (devices/pci): the DSDT then describes the root
     * bridge, its resource windows and how each slot's INTx reaches an IOAPIC pin.
     */
    bool pci;
    /*
     * Later additions go here, each emitted by its own builder in acpi.c: e.g. a PCI host bridge
     * (ECAM base, bus range) gives an MCFG in the XSDT and a \_SB.PCI0 in the DSDT.
     */
};

/*
 * Writes all tables into [LAYOUT_ACPI_RSDP, LAYOUT_ACPI_END) of guest memory (zeroing the rest
 * of that window) and stores the RSDP's address in *rsdp_addr. 0, -EINVAL for a bad config,
 * -EFAULT if the window is not guest RAM, -ENOSPC if the tables do not fit in it.
 */
int acpi_write_tables(const struct gmem *mem, const struct acpi_config *cfg, uint64_t *rsdp_addr);

/* The 8-bit sum of len bytes: 0 for a table whose checksum is right. */
uint8_t acpi_sum(const void *p, size_t len);

/* --- On-the-wire layouts (ACPI 6.5) --------------------------------------------------------- */

struct acpi_rsdp {
    char signature[8]; /* "RSD PTR " */
    uint8_t checksum;  /* over the first 20 bytes (the ACPI 1.0 part) */
    char oem_id[6];
    uint8_t revision; /* 2: the XSDT fields below are valid */
    uint32_t rsdt_addr;
    uint32_t length;
    uint64_t xsdt_addr;
    uint8_t ext_checksum; /* over all of it */
    uint8_t reserved[3];
} __attribute__((packed));
static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP size");

struct acpi_header {
    char signature[4];
    uint32_t length;
    uint8_t revision;
    uint8_t checksum;
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    char creator_id[4];
    uint32_t creator_revision;
} __attribute__((packed));
static_assert(sizeof(struct acpi_header) == 36, "SDT header size");

/* Generic Address Structure. */
struct acpi_gas {
    uint8_t space_id; /* ACPI_GAS_IO, ... */
    uint8_t bit_width;
    uint8_t bit_offset;
    uint8_t access_size; /* 0 any, 1 byte, 2 word, 3 dword, 4 qword */
    uint64_t address;
} __attribute__((packed));
static_assert(sizeof(struct acpi_gas) == 12, "GAS size");

#define ACPI_GAS_IO 1

struct acpi_fadt {
    struct acpi_header hdr;
    uint32_t firmware_ctrl;
    uint32_t dsdt;
    uint8_t reserved0;
    uint8_t preferred_pm_profile;
    uint16_t sci_int;
    uint32_t smi_cmd;
    uint8_t acpi_enable;
    uint8_t acpi_disable;
    uint8_t s4bios_req;
    uint8_t pstate_cnt;
    uint32_t pm1a_evt_blk;
    uint32_t pm1b_evt_blk;
    uint32_t pm1a_cnt_blk;
    uint32_t pm1b_cnt_blk;
    uint32_t pm2_cnt_blk;
    uint32_t pm_tmr_blk;
    uint32_t gpe0_blk;
    uint32_t gpe1_blk;
    uint8_t pm1_evt_len;
    uint8_t pm1_cnt_len;
    uint8_t pm2_cnt_len;
    uint8_t pm_tmr_len;
    uint8_t gpe0_blk_len;
    uint8_t gpe1_blk_len;
    uint8_t gpe1_base;
    uint8_t cst_cnt;
    uint16_t p_lvl2_lat;
    uint16_t p_lvl3_lat;
    uint16_t flush_size;
    uint16_t flush_stride;
    uint8_t duty_offset;
    uint8_t duty_width;
    uint8_t day_alrm;
    uint8_t mon_alrm;
    uint8_t century;
    uint16_t iapc_boot_arch;
    uint8_t reserved1;
    uint32_t flags;
    struct acpi_gas reset_reg;
    uint8_t reset_value;
    uint16_t arm_boot_arch;
    uint8_t minor_version;
    uint64_t x_firmware_ctrl;
    uint64_t x_dsdt;
    struct acpi_gas x_pm1a_evt_blk;
    struct acpi_gas x_pm1b_evt_blk;
    struct acpi_gas x_pm1a_cnt_blk;
    struct acpi_gas x_pm1b_cnt_blk;
    struct acpi_gas x_pm2_cnt_blk;
    struct acpi_gas x_pm_tmr_blk;
    struct acpi_gas x_gpe0_blk;
    struct acpi_gas x_gpe1_blk;
    struct acpi_gas sleep_control_reg;
    struct acpi_gas sleep_status_reg;
    uint64_t hypervisor_vendor_id;
} __attribute__((packed));
static_assert(sizeof(struct acpi_fadt) == 276, "FADT size");

/* FADT flags. */
#define ACPI_FADT_WBINVD        (1u << 0)
#define ACPI_FADT_PROC_C1       (1u << 2)
#define ACPI_FADT_PWR_BUTTON    (1u << 4) /* set: no fixed-feature power button */
#define ACPI_FADT_SLP_BUTTON    (1u << 5) /* set: no fixed-feature sleep button */
#define ACPI_FADT_FIX_RTC       (1u << 6) /* set: no RTC wake status in PM1 */
#define ACPI_FADT_RESET_REG_SUP (1u << 10)
#define ACPI_FADT_HW_REDUCED    (1u << 20)

/* FADT IA-PC boot architecture flags. */
#define ACPI_BOOT_LEGACY_DEVICES (1u << 0)
#define ACPI_BOOT_8042           (1u << 1)
#define ACPI_BOOT_NO_VGA         (1u << 2)
#define ACPI_BOOT_NO_MSI         (1u << 3)
#define ACPI_BOOT_NO_CMOS_RTC    (1u << 5)

struct acpi_facs {
    char signature[4]; /* "FACS"; no checksum */
    uint32_t length;
    uint32_t hardware_signature;
    uint32_t waking_vector;
    uint32_t global_lock;
    uint32_t flags;
    uint64_t x_waking_vector;
    uint8_t version;
    uint8_t reserved0[3];
    uint32_t ospm_flags;
    uint8_t reserved1[24];
} __attribute__((packed));
static_assert(sizeof(struct acpi_facs) == 64, "FACS size");

struct acpi_madt {
    struct acpi_header hdr;
    uint32_t lapic_addr;
    uint32_t flags; /* ACPI_MADT_PCAT_COMPAT: there is an 8259 pair */
} __attribute__((packed));
static_assert(sizeof(struct acpi_madt) == 44, "MADT size");

#define ACPI_MADT_PCAT_COMPAT 1u

enum acpi_madt_type {
    ACPI_MADT_LAPIC = 0,
    ACPI_MADT_IOAPIC = 1,
    ACPI_MADT_ISO = 2,
    ACPI_MADT_LAPIC_NMI = 4,
};

struct acpi_madt_lapic {
    uint8_t type, length;
    uint8_t processor_uid;
    uint8_t apic_id;
    uint32_t flags; /* ACPI_MADT_ENABLED */
} __attribute__((packed));
static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT LAPIC size");

#define ACPI_MADT_ENABLED 1u

struct acpi_madt_ioapic {
    uint8_t type, length;
    uint8_t ioapic_id;
    uint8_t reserved;
    uint32_t address;
    uint32_t gsi_base;
} __attribute__((packed));
static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT IOAPIC size");

struct acpi_madt_iso {
    uint8_t type, length;
    uint8_t bus; /* 0: ISA */
    uint8_t source;
    uint32_t gsi;
    uint16_t flags; /* MPS INTI flags: polarity bits 0-1, trigger mode bits 2-3 */
} __attribute__((packed));
static_assert(sizeof(struct acpi_madt_iso) == 10, "MADT ISO size");

#define ACPI_MPS_ACTIVE_HIGH 0x1
#define ACPI_MPS_LEVEL       0xc

struct acpi_madt_lapic_nmi {
    uint8_t type, length;
    uint8_t processor_uid; /* 0xff: all processors */
    uint16_t flags;
    uint8_t lint;
} __attribute__((packed));
static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "MADT LAPIC NMI size");

#endif
