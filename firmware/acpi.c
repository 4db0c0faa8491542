// SPDX-License-Identifier: MIT
#include "firmware/acpi.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/*
 * The DSDT is emitted from C by the small AML builder below rather than compiled from ASL with
 * iasl at build time: what goes in it depends on the machine's configuration (CPUs now, a PCI
 * root and per-device objects later), building kvmini then needs no iasl, and the AML we need
 * (names, integers, strings, packages, buffers, scopes, devices) is a handful of opcodes. iasl
 * is still used, by the unit test, to disassemble and check what we produce.
 */

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

/* --- AML ------------------------------------------------------------------------------------ */

#define AML_ZERO       0x00
#define AML_ONE        0x01
#define AML_NAME       0x08
#define AML_BYTE       0x0a
#define AML_WORD       0x0b
#define AML_DWORD      0x0c
#define AML_STRING     0x0d
#define AML_QWORD      0x0e
#define AML_SCOPE      0x10
#define AML_BUFFER     0x11
#define AML_PACKAGE    0x12
#define AML_DUAL_NAME  0x2e
#define AML_MULTI_NAME 0x2f
#define AML_EXT        0x5b
#define AML_EXT_DEVICE 0x82
#define AML_ROOT       0x5c

#define AML_MAX_DEPTH 8

/* Builds into a fixed buffer; the first error sticks and later calls do nothing. */
struct aml {
    uint8_t *buf;
    size_t len, cap;
    int err;
    unsigned int depth;
    size_t open[AML_MAX_DEPTH]; /* where each unfinished PkgLength starts */
};

/* Records the first error only: it is the one that explains the rest. */
static void aml_fail(struct aml *a, int err)
{
    if (!a->err)
        a->err = err;
}

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
    if (a->err)
        return;
    if (n > a->cap - a->len) {
        a->err = -ENOSPC;
        return;
    }
    memcpy(a->buf + a->len, p, n);
    a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
    aml_bytes(a, &b, 1);
}

/*
 * A PkgLength counts itself, and its own size (1-4 bytes) depends on the total: reserve the
 * largest, and once the body is known, slide it down to sit behind the smallest encoding.
 */
static void aml_pkg_begin(struct aml *a)
{
    static const uint8_t room[4];

    if (a->depth == AML_MAX_DEPTH)
        aml_fail(a, -E2BIG);
    if (a->err)
        return;
    a->open[a->depth++] = a->len;
    aml_bytes(a, room, sizeof(room));
}

static void aml_pkg_end(struct aml *a)
{
    size_t start, body, total;
    unsigned int n;

    if (a->depth == 0)
        aml_fail(a, -EINVAL);
    if (a->err)
        return;
    start = a->open[--a->depth];
    body = a->len - start - 4;
    for (n = 1; n <= 4; n++) {
        total = body + n;
        if (n == 1 ? total < 0x40 : total < (1ul << (4 + 8 * (n - 1))))
            break;
    }
    if (n > 4) {
        aml_fail(a, -E2BIG);
        return;
    }
    memmove(a->buf + start + n, a->buf + start + 4, body);
    if (n == 1) {
        a->buf[start] = (uint8_t)total;
    } else {
        a->buf[start] = (uint8_t)((n - 1) << 6 | (total & 0xf));
        for (unsigned int i = 1; i < n; i++)
            a->buf[start + i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
    }
    a->len = start + n + body;
}

/* One NameSeg: up to 4 characters of [A-Z0-9_] (no leading digit), padded with '_'. */
static void aml_nameseg(struct aml *a, const char *s, size_t n)
{
    char seg[4] = { '_', '_', '_', '_' };

    bool ok = n >= 1 && n <= 4 && !(s[0] >= '0' && s[0] <= '9');

    for (size_t i = 0; ok && i < n; i++) {
        ok = (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_';
        seg[i] = s[i];
    }
    if (ok)
        aml_bytes(a, seg, 4);
    else
        aml_fail(a, -EINVAL);
}

/* A NameString such as "\\_SB.COM1" or "_HID": optional root, then dot-separated segments. */
static void aml_namestring(struct aml *a, const char *path)
{
    unsigned int nsegs = 1;
    const char *p;

    if (*path == '\\') {
        aml_byte(a, AML_ROOT);
        path++;
    }
    for (p = path; *p; p++)
        nsegs += *p == '.';
    if (nsegs == 2)
        aml_byte(a, AML_DUAL_NAME);
    else if (nsegs > 2)
        aml_bytes(a, (uint8_t[]){ AML_MULTI_NAME, (uint8_t)nsegs }, 2);
    while (nsegs--) {
        size_t n = strcspn(path, ".");

        aml_nameseg(a, path, n);
        path += n + (path[n] == '.');
    }
}

/* The shortest encoding of an integer constant. */
static void aml_int(struct aml *a, uint64_t v)
{
    unsigned int n = v <= UINT8_MAX ? 1 : v <= UINT16_MAX ? 2 : v <= UINT32_MAX ? 4 : 8;

    if (v <= 1) {
        aml_byte(a, v ? AML_ONE : AML_ZERO);
        return;
    }
    aml_byte(a, n == 1 ? AML_BYTE : n == 2 ? AML_WORD : n == 4 ? AML_DWORD : AML_QWORD);
    for (unsigned int i = 0; i < n; i++) /* little-endian */
        aml_byte(a, (uint8_t)(v >> (8 * i)));
}

static void aml_string(struct aml *a, const char *s)
{
    aml_byte(a, AML_STRING);
    aml_bytes(a, s, strlen(s) + 1);
}

/* Name (name, ...): the caller emits the value next. */
static void aml_name(struct aml *a, const char *name)
{
    aml_byte(a, AML_NAME);
    aml_namestring(a, name);
}

/* EisaId ("PNP0501"): three letters in 5 bits each, then four hex digits. */
static void aml_eisaid(struct aml *a, const char *id)
{
    static const char hex[] = "0123456789ABCDEF";
    uint32_t v = 0;

    if (strlen(id) != 7) {
        aml_fail(a, -EINVAL);
        return;
    }
    for (int i = 0; i < 3; i++)
        v = v << 5 | ((uint32_t)(id[i] - '@') & 0x1f);
    for (int i = 3; i < 7; i++) {
        const char *d = strchr(hex, id[i]);

        if (!d || !*d) {
            aml_fail(a, -EINVAL);
            return;
        }
        v = v << 4 | (uint32_t)(d - hex);
    }
    /* The 32 bits are stored big-endian, as the byte sequence EISA defined. */
    aml_byte(a, AML_DWORD);
    aml_bytes(a, (uint8_t[]){ v >> 24, v >> 16, v >> 8, v }, 4);
}

static void aml_package(struct aml *a, const uint64_t *vals, uint8_t n)
{
    aml_byte(a, AML_PACKAGE);
    aml_pkg_begin(a);
    aml_byte(a, n);
    for (uint8_t i = 0; i < n; i++)
        aml_int(a, vals[i]);
    aml_pkg_end(a);
}

static void aml_scope_begin(struct aml *a, const char *path)
{
    aml_byte(a, AML_SCOPE);
    aml_pkg_begin(a);
    aml_namestring(a, path);
}

static void aml_device_begin(struct aml *a, const char *name)
{
    aml_bytes(a, (uint8_t[]){ AML_EXT, AML_EXT_DEVICE }, 2);
    aml_pkg_begin(a);
    aml_namestring(a, name);
}

/* Closes the innermost scope or device. */
static void aml_end(struct aml *a)
{
    aml_pkg_end(a);
}

/* --- Devices in \_SB ----------------------------------------------------------------------------
 */

/* A legacy device: fixed ports and at most one ISA interrupt. */
struct dsdt_isa_dev {
    const char *name;
    const char *eisaid; /* _HID as EisaId (), or NULL to use hid */
    const char *hid;    /* _HID as a string */
    uint16_t port;
    uint8_t nr_ports;
    int irq; /* -1: none */
};

/*
 * Name (_CRS, ResourceTemplate () { IO (Decode16, port, port, 1, n) [IRQNoFlags () {irq}] }):
 * a Buffer of small descriptors; the end tag's checksum 0 means "not used".
 */
static void aml_isa_crs(struct aml *a, const struct dsdt_isa_dev *d)
{
    uint16_t p = d->port, mask = d->irq >= 0 ? (uint16_t)(1u << d->irq) : 0;
    uint8_t io[] = { 0x47, 0x01, p & 0xff, p >> 8, p & 0xff, p >> 8, 1, d->nr_ports };
    uint8_t irq[] = { 0x22, mask & 0xff, mask >> 8 };
    size_t irq_len = d->irq >= 0 ? sizeof(irq) : 0;

    aml_name(a, "_CRS");
    aml_byte(a, AML_BUFFER);
    aml_pkg_begin(a);
    aml_int(a, sizeof(io) + irq_len + 2);
    aml_bytes(a, io, sizeof(io));
    aml_bytes(a, irq, irq_len);
    aml_bytes(a, (uint8_t[]){ 0x79, 0x00 }, 2);
    aml_pkg_end(a);
}

static void dsdt_isa_dev(struct aml *a, const struct dsdt_isa_dev *d, unsigned int uid)
{
    aml_device_begin(a, d->name);
    aml_name(a, "_HID");
    if (d->eisaid)
        aml_eisaid(a, d->eisaid);
    else
        aml_string(a, d->hid);
    aml_name(a, "_UID");
    aml_int(a, uid);
    aml_isa_crs(a, d);
    aml_end(a);
}

static const struct dsdt_isa_dev dsdt_com1 = { "COM1", "PNP0501", NULL, PORT_COM1, 8, GSI_COM1 };
static const struct dsdt_isa_dev dsdt_rtc = { "RTC", "PNP0B00", NULL, PORT_RTC_INDEX, 2, GSI_RTC };
/* QEMU's pvpanic ISA device, which Linux's pvpanic-mmio driver binds by this _HID. */
static const struct dsdt_isa_dev dsdt_pvpanic = { "PEVT", NULL, "QEMU0001", PORT_PVPANIC, 1, -1 };

/*
 * The PCI root bridge of bus 0, without ECAM (so PNP0A03 and configuration through 0xCF8): the
 * resources it decodes, from firmware/layout.h, as one ResourceTemplate.
 */
/* One descriptor per row: clang-format would give each byte its own line. */
// clang-format off
static const uint8_t pci_root_crs[] = {
    /* WordBusNumber: bus 0 only */
    0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00,
    /* IO (Decode16): the configuration ports 0xCF8-0xCFF, which the bridge itself consumes */
    0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08,
    /* WordIO: the I/O space around them, 0x0000-0x0CF7 and 0x0D00-0xFFFF (I/O BARs from 0xC000) */
    0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0, 0, 0x00, 0x00, 0xf7, 0x0c, 0, 0, 0xf8, 0x0c,
    0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0, 0, 0x00, 0x0d, 0xff, 0xff, 0, 0, 0x00, 0xf3,
    /* DWordMemory: the BAR window LAYOUT_PCI_MMIO_BASE .. + LAYOUT_PCI_MMIO_SIZE, non-cacheable */
    0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xfd,
    0, 0, 0, 0, 0x00, 0x00, 0x00, 0x1e,
    /* End tag */
    0x79, 0x00,
};
// clang-format on

static void dsdt_pci_root(struct aml *a)
{
    _Static_assert(LAYOUT_PCI_MMIO_BASE == 0xe0000000 && LAYOUT_PCI_MMIO_SIZE == 0x1e000000,
                   "pci_root_crs encodes the PCI MMIO window");
    aml_device_begin(a, "PCI0");
    aml_name(a, "_HID");
    aml_eisaid(a, "PNP0A03");
    aml_name(a, "_UID");
    aml_int(a, 0);
    aml_name(a, "_SEG");
    aml_int(a, 0);
    aml_name(a, "_BBN");
    aml_int(a, 0);
    aml_name(a, "_CRS");
    aml_byte(a, AML_BUFFER);
    aml_pkg_begin(a);
    aml_int(a, sizeof(pci_root_crs));
    aml_bytes(a, pci_root_crs, sizeof(pci_root_crs));
    aml_pkg_end(a);

    /* _PRT: slot s, pin p (0 = INTA) -> GSI, the same swizzle devices/pci applies (no link). */
    aml_name(a, "_PRT");
    aml_byte(a, AML_PACKAGE);
    aml_pkg_begin(a);
    aml_byte(a, 31 * 4);
    for (uint64_t slot = 1; slot < 32; slot++) {
        for (uint64_t pin = 0; pin < 4; pin++) {
            const uint64_t entry[] = { slot << 16 | 0xffff, pin, 0, PCI_INTX_GSI(slot, pin) };

            aml_package(a, entry, 4);
        }
    }
    aml_pkg_end(a);
    aml_end(a);
}

/* --- Tables ---------------------------------------------------------------------------------- */

static size_t acpi_build_dsdt(struct acpi_ctx *c, const struct acpi_config *cfg)
{
    /* \_S5: PM1a and PM1b SLP_TYP, then two reserved values. */
    static const uint64_t s5[] = { ACPI_S5_SLP_TYP, ACPI_S5_SLP_TYP, 0, 0 };
    size_t off = acpi_alloc(c, sizeof(struct acpi_header), 8);
    struct aml a;

    if (c->err)
        return 0;
    a = (struct aml){ .buf = c->win + c->used, .cap = c->size - c->used };
    aml_name(&a, "_S5");
    aml_package(&a, s5, 4);
    aml_scope_begin(&a, "\\_SB");
    dsdt_isa_dev(&a, &dsdt_com1, 1);
    if (cfg->cmos_rtc)
        dsdt_isa_dev(&a, &dsdt_rtc, 0);
    dsdt_isa_dev(&a, &dsdt_pvpanic, 0);
    if (cfg->pci)
        dsdt_pci_root(&a);
    aml_end(&a);
    if (!a.err && a.depth)
        a.err = -EINVAL;
    if (a.err) {
        c->err = a.err;
        return 0;
    }
    c->used += a.len;
    /* Revision 2: integers in this definition block are 64 bits wide. */
    acpi_header_init((void *)(c->win + off), "DSDT", sizeof(struct acpi_header) + a.len, 2);
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
