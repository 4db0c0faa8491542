// SPDX-License-Identifier: MIT
#include "firmware/acpi.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "firmware/dsdt.h"

#define ACPI_OEM_ID       "KVMINI"
#define ACPI_OEM_TABLE_ID "KVMINI  "
#define ACPI_CREATOR_ID   "KVMI"
#define ACPI_MAX_TABLES   8 /* XSDT entries: FACP, APIC now; MCFG etc. later */

#define RTC_CENTURY_INDEX 0x32 /* the CMOS byte PC firmware keeps the century in */

/* Where the tables go: one host view of the whole window, checked once by gmem_ptr(). */
struct acpi_ctx {
    uint8_t *win;
    uint64_t base; /* guest-physical address of win[0] */
    size_t size, used;
    int err;
    uint64_t tables[ACPI_MAX_TABLES]; /* what the XSDT lists */
    unsigned int nr_tables;
};

uint8_t acpi_sum(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t s = 0;

    for (size_t i = 0; i < len; i++)
        s += b[i];
    return s;
}

/* Reserves len bytes at the next multiple of align (a power of two); returns the offset. */
static size_t acpi_alloc(struct acpi_ctx *c, size_t len, size_t align)
{
    size_t off = (c->used + align - 1) & ~(align - 1);

    if (c->err)
        return 0;
    if (off > c->size || len > c->size - off) {
        c->err = -ENOSPC;
        return 0;
    }
    c->used = off + len;
    return off;
}

static void acpi_header_init(struct acpi_header *h, const char *sig, size_t len, uint8_t rev)
{
    memcpy(h->signature, sig, 4);
    h->length = (uint32_t)len;
    h->revision = rev;
    memcpy(h->oem_id, ACPI_OEM_ID, 6);
    memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
    h->oem_revision = 1;
    memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
    h->creator_revision = 1;
}

/* Last step for a table: every byte is in place, so the checksum can make them sum to 0. */
static void acpi_finish(struct acpi_header *h)
{
    h->checksum = 0;
    h->checksum = (uint8_t)-acpi_sum(h, h->length);
}

static void acpi_list(struct acpi_ctx *c, size_t off)
{
    if (c->err)
        return;
    if (c->nr_tables == ACPI_MAX_TABLES) {
        c->err = -ENOSPC;
        return;
    }
    c->tables[c->nr_tables++] = c->base + off;
}

/* --- Tables ---------------------------------------------------------------------------------- */

static size_t acpi_build_dsdt(struct acpi_ctx *c, const struct acpi_config *cfg)
{
    size_t off = acpi_alloc(c, sizeof(struct acpi_header), 8), len;

    if (c->err)
        return 0;
    if ((c->err = dsdt_build(c->win + c->used, c->size - c->used, cfg, &len)))
        return 0;
    c->used += len;
    /* Revision 2: integers in this definition block are 64 bits wide. */
    acpi_header_init((void *)(c->win + off), "DSDT", sizeof(struct acpi_header) + len, 2);
    acpi_finish((void *)(c->win + off));
    return off;
}

/* The FACS exists only because a non-hardware-reduced FADT is expected to point at one. */
static size_t acpi_build_facs(struct acpi_ctx *c)
{
    size_t off = acpi_alloc(c, sizeof(struct acpi_facs), 64);
    struct acpi_facs *facs = (void *)(c->win + off);

    if (c->err)
        return 0;
    memcpy(facs->signature, "FACS", 4);
    facs->length = sizeof(*facs);
    facs->version = 2;
    return off;
}

static struct acpi_gas acpi_io_reg(uint16_t port, unsigned int bytes, uint8_t access_size)
{
    return (struct acpi_gas){
        .space_id = ACPI_GAS_IO,
        .bit_width = (uint8_t)(bytes * 8),
        .access_size = access_size,
        .address = port,
    };
}

static void acpi_build_fadt(struct acpi_ctx *c, const struct acpi_config *cfg, size_t facs,
                            size_t dsdt)
{
    size_t off = acpi_alloc(c, sizeof(struct acpi_fadt), 8);
    struct acpi_fadt *f = (void *)(c->win + off);

    if (c->err)
        return;
    acpi_header_init(&f->hdr, "FACP", sizeof(*f), 6);
    f->minor_version = 5;
    /* ACPI 6.5 wants X_FIRMWARE_CTRL zero when FIRMWARE_CTRL is used; DSDT may be in both. */
    f->firmware_ctrl = (uint32_t)(c->base + facs);
    f->dsdt = (uint32_t)(c->base + dsdt);
    f->x_dsdt = c->base + dsdt;
    f->sci_int = GSI_ACPI_SCI;
    /* No SMI_CMD: the system is permanently in ACPI mode, so the OS never tries to switch it. */
    f->smi_cmd = 0;
    f->pm1a_evt_blk = PORT_ACPI_PM1A_EVT;
    f->pm1_evt_len = ACPI_PM1_EVT_LEN;
    f->x_pm1a_evt_blk = acpi_io_reg(PORT_ACPI_PM1A_EVT, ACPI_PM1_EVT_LEN, 2);
    f->pm1a_cnt_blk = PORT_ACPI_PM1A_CNT;
    f->pm1_cnt_len = ACPI_PM1_CNT_LEN;
    f->x_pm1a_cnt_blk = acpi_io_reg(PORT_ACPI_PM1A_CNT, ACPI_PM1_CNT_LEN, 2);
    /* No PM timer (optional since ACPI 5.0a), no GPE blocks: nothing raises an SCI yet. */
    /* Latencies above 100/1000 us mean "no C2/C3". */
    f->p_lvl2_lat = 101;
    f->p_lvl3_lat = 1001;
    /* 8042 and COM1 are ISA devices; there is no VGA. */
    f->iapc_boot_arch = ACPI_BOOT_LEGACY_DEVICES | ACPI_BOOT_8042 | ACPI_BOOT_NO_VGA;
    if (cfg->cmos_rtc)
        f->century = RTC_CENTURY_INDEX;
    else
        f->iapc_boot_arch |= ACPI_BOOT_NO_CMOS_RTC;
    f->flags = ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 | ACPI_FADT_PWR_BUTTON | ACPI_FADT_SLP_BUTTON |
               ACPI_FADT_FIX_RTC | ACPI_FADT_RESET_REG_SUP;
    f->reset_reg = acpi_io_reg(PORT_ACPI_RESET, 1, 1);
    f->reset_value = ACPI_RESET_VALUE;
    memcpy(&f->hypervisor_vendor_id, "KVMINI\0\0", 8);
    acpi_finish(&f->hdr);
    acpi_list(c, off);
}

static void acpi_build_madt(struct acpi_ctx *c, unsigned int nr_cpus)
{
    size_t len = sizeof(struct acpi_madt) + nr_cpus * sizeof(struct acpi_madt_lapic) +
                 sizeof(struct acpi_madt_ioapic) + 2 * sizeof(struct acpi_madt_iso) +
                 sizeof(struct acpi_madt_lapic_nmi);
    size_t off = acpi_alloc(c, len, 8);
    struct acpi_madt *m = (void *)(c->win + off);
    uint8_t *p = c->win + off + sizeof(*m);

    if (c->err)
        return;
    acpi_header_init(&m->hdr, "APIC", len, 5);
    m->lapic_addr = (uint32_t)LAYOUT_LAPIC_BASE;
    /* No PCAT_COMPAT: kvmini has no 8259 pair, and Linux must not assume one without probing. */
    m->flags = 0;
    for (unsigned int i = 0; i < nr_cpus; i++) {
        *(struct acpi_madt_lapic *)p = (struct acpi_madt_lapic){
            .type = ACPI_MADT_LAPIC,
            .length = sizeof(struct acpi_madt_lapic),
            .processor_uid = (uint8_t)i,
            .apic_id = (uint8_t)i,
            .flags = ACPI_MADT_ENABLED,
        };
        p += sizeof(struct acpi_madt_lapic);
    }
    *(struct acpi_madt_ioapic *)p = (struct acpi_madt_ioapic){
        .type = ACPI_MADT_IOAPIC,
        .length = sizeof(struct acpi_madt_ioapic),
        .ioapic_id = LAYOUT_IOAPIC_ID,
        .address = (uint32_t)LAYOUT_IOAPIC_BASE,
        .gsi_base = 0,
    };
    p += sizeof(struct acpi_madt_ioapic);
    /* The PC convention: the timer's ISA IRQ 0 arrives on IOAPIC pin 2. */
    *(struct acpi_madt_iso *)p = (struct acpi_madt_iso){
        .type = ACPI_MADT_ISO,
        .length = sizeof(struct acpi_madt_iso),
        .source = 0,
        .gsi = 2,
    };
    p += sizeof(struct acpi_madt_iso);
    /*
     * Without an override the SCI is level, active-low; kvmini's interrupt lines are active-high,
     * so say level, active-high (as QEMU's PC does).
     */
    *(struct acpi_madt_iso *)p = (struct acpi_madt_iso){
        .type = ACPI_MADT_ISO,
        .length = sizeof(struct acpi_madt_iso),
        .source = GSI_ACPI_SCI,
        .gsi = GSI_ACPI_SCI,
        .flags = ACPI_MPS_ACTIVE_HIGH | ACPI_MPS_LEVEL,
    };
    p += sizeof(struct acpi_madt_iso);
    *(struct acpi_madt_lapic_nmi *)p = (struct acpi_madt_lapic_nmi){
        .type = ACPI_MADT_LAPIC_NMI,
        .length = sizeof(struct acpi_madt_lapic_nmi),
        .processor_uid = 0xff,
        .lint = 1,
    };
    acpi_finish(&m->hdr);
    acpi_list(c, off);
}

static size_t acpi_build_xsdt(struct acpi_ctx *c)
{
    size_t len = sizeof(struct acpi_header) + c->nr_tables * sizeof(uint64_t);
    size_t off = acpi_alloc(c, len, 8);
    struct acpi_header *h = (void *)(c->win + off);

    if (c->err)
        return 0;
    acpi_header_init(h, "XSDT", len, 1);
    /* Entries are 64-bit but only 4-byte aligned after the 36-byte header. */
    memcpy(h + 1, c->tables, c->nr_tables * sizeof(uint64_t));
    acpi_finish(h);
    return off;
}

int acpi_write_tables(const struct gmem *mem, const struct acpi_config *cfg, uint64_t *rsdp_addr)
{
    struct acpi_ctx c = { .base = LAYOUT_ACPI_RSDP, .size = LAYOUT_ACPI_END - LAYOUT_ACPI_RSDP };
    struct acpi_rsdp *rsdp;
    size_t facs, dsdt, xsdt;

    if (!cfg || cfg->nr_cpus == 0 || cfg->nr_cpus > ACPI_MAX_CPUS)
        return -EINVAL;
    c.win = gmem_ptr(mem, c.base, c.size);
    if (!c.win)
        return -EFAULT;
    /* A reset rewrites the tables: nothing from the last boot may survive in the window. */
    memset(c.win, 0, c.size);

    rsdp = (void *)(c.win + acpi_alloc(&c, sizeof(*rsdp), 16));
    facs = acpi_build_facs(&c);
    dsdt = acpi_build_dsdt(&c, cfg);
    acpi_build_fadt(&c, cfg, facs, dsdt);
    acpi_build_madt(&c, cfg->nr_cpus);
    xsdt = acpi_build_xsdt(&c);
    if (c.err) {
        memset(c.win, 0, c.size); /* no half-written RSDP for a guest to find */
        return c.err;
    }

    memcpy(rsdp->signature, "RSD PTR ", 8);
    memcpy(rsdp->oem_id, ACPI_OEM_ID, 6);
    rsdp->revision = 2;
    rsdp->length = sizeof(*rsdp);
    rsdp->xsdt_addr = c.base + xsdt;
    rsdp->checksum = (uint8_t)-acpi_sum(rsdp, 20);
    rsdp->ext_checksum = (uint8_t)-acpi_sum(rsdp, sizeof(*rsdp));
    *rsdp_addr = c.base;
    return 0;
}
