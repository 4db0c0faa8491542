// SPDX-License-Identifier: MIT
#include "firmware/dsdt.h"

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

/* --- The definition block ------------------------------------------------------------------ */

int dsdt_build(uint8_t *buf, size_t cap, const struct acpi_config *cfg, size_t *len)
{
    /* \_S5: PM1a and PM1b SLP_TYP, then two reserved values. */
    static const uint64_t s5[] = { ACPI_S5_SLP_TYP, ACPI_S5_SLP_TYP, 0, 0 };
    struct aml a = { .buf = buf, .cap = cap };

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
    *len = a.len;
    return a.err;
}
