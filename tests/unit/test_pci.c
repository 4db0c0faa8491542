// SPDX-License-Identifier: MIT
#include <check.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "devices/pci/pci.h"
#include "tests/unit/pci_addrs.h"
#include "firmware/layout.h"
#include "vmm/core/irqroute.h"
#include "tests/unit/unit.h"

/* A function with every kind of BAR: 0 mem32 4K, 1-2 mem64 16K, 3 MSI-X, 4 I/O 32. */
struct tdev {
    struct pci_function f;
    int accesses;
    unsigned int last_bar;
    uint64_t last_off;
    uint32_t last_len;
    bool last_write;
    int moves;
    unsigned int moved_bar;
    uint64_t moved_from, moved_to;
};

struct rig {
    struct bus pio, mmio;
    struct irq_sink sink;
    bool level[64];
    int level_changes;
    struct msi_sender msi;
    int msis;
    uint64_t msi_addr;
    uint32_t msi_data;
    struct pci_bus *pci;
    struct tdev dev[2];
};

static int rig_set_level(void *ctx, uint32_t gsi, bool level)
{
    struct rig *r = ctx;

    ck_assert_uint_lt(gsi, 64);
    r->level[gsi] = level;
    r->level_changes++;
    return 0;
}

static int rig_msi(void *ctx, uint64_t addr, uint32_t data)
{
    struct rig *r = ctx;

    r->msis++;
    r->msi_addr = addr;
    r->msi_data = data;
    return 0;
}

#define TDEV_BAR_FN(n)                                                                             \
    static void tdev_bar##n(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)      \
    {                                                                                              \
        struct tdev *d = dev;                                                                      \
        d->accesses++;                                                                             \
        d->last_bar = n;                                                                           \
        d->last_off = off;                                                                         \
        d->last_len = len;                                                                         \
        d->last_write = is_write;                                                                  \
        if (!is_write)                                                                             \
            memset(data, 0x5a, len);                                                               \
    }
TDEV_BAR_FN(0)
TDEV_BAR_FN(1)
TDEV_BAR_FN(4)

static void tdev_moved(struct pci_function *f, unsigned int bar, uint64_t from, uint64_t to)
{
    struct tdev *d = f->opaque;

    d->moves++;
    d->moved_bar = bar;
    d->moved_from = from;
    d->moved_to = to;
}

static const struct pci_function_ops tdev_ops = { .bar_moved = tdev_moved };

static void tdev_init(struct tdev *d)
{
    static const uint8_t body[6] = { 8, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };

    memset(d, 0, sizeof(*d));
    pci_function_init(&d->f, 0x1234, 0x5678, 0xff0000, 2, 0x1234, 0x9);
    d->f.ops = &tdev_ops;
    d->f.opaque = d;
    ck_assert_int_eq(pci_function_set_bar(&d->f, 0, PCI_BAR_MEM32, 0x1000, tdev_bar0, d), 0);
    ck_assert_int_eq(pci_function_set_bar(&d->f, 1, PCI_BAR_MEM64, 0x4000, tdev_bar1, d), 0);
    ck_assert_int_eq(pci_function_set_bar(&d->f, 2, PCI_BAR_MEM32, 0x1000, tdev_bar0, d), -EINVAL);
    ck_assert_int_eq(pci_function_set_bar(&d->f, 4, PCI_BAR_IO, 32, tdev_bar4, d), 0);
    ck_assert_int_eq(pci_function_set_bar(&d->f, 5, PCI_BAR_MEM32, 100, tdev_bar0, d), -EINVAL);
    ck_assert_int_eq(pci_function_add_cap(&d->f, PCI_CAP_ID_VNDR, body, sizeof(body), NULL), 0);
    ck_assert_int_eq(pci_function_add_msix(&d->f, 3, 4), 0);
    pci_function_use_intx(&d->f);
}

static void rig_init(struct rig *r, const struct irq_routes *routes)
{
    memset(r, 0, sizeof(*r));
    bus_init(&r->pio, "pio");
    bus_init(&r->mmio, "mmio");
    r->sink = (struct irq_sink){ .set_level = rig_set_level, .ctx = r };
    r->msi = (struct msi_sender){ .send = rig_msi, .ctx = r };
    ck_assert_int_eq(
        pci_bus_create(&r->pci, &r->pio, &r->mmio, &pc_pci_addrs, &r->sink, &r->msi, routes), 0);
    for (int i = 0; i < 2; i++) {
        tdev_init(&r->dev[i]);
        ck_assert_int_eq(pci_add_device(r->pci, &r->dev[i].f), 0);
        ck_assert_uint_eq(r->dev[i].f.slot, i + 1);
    }
}

static void rig_fini(struct rig *r)
{
    for (int i = 0; i < 2; i++)
        pci_function_fini(&r->dev[i].f);
    pci_bus_destroy(r->pci);
    bus_fini(&r->mmio);
    bus_fini(&r->pio);
}

static uint32_t cfg_addr(unsigned int slot, uint32_t reg)
{
    return 0x80000000u | slot << 11 | (reg & 0xfc);
}

static uint32_t cfg_read(struct rig *r, unsigned int slot, uint32_t reg, uint32_t len)
{
    uint32_t v = 0, a = cfg_addr(slot, reg);

    bus_access(&r->pio, 0xcf8, &a, 4, true);
    bus_access(&r->pio, 0xcfc + (reg & 3), &v, len, false);
    return v;
}

static void cfg_write(struct rig *r, unsigned int slot, uint32_t reg, uint32_t len, uint32_t v)
{
    uint32_t a = cfg_addr(slot, reg);

    bus_access(&r->pio, 0xcf8, &a, 4, true);
    bus_access(&r->pio, 0xcfc + (reg & 3), &v, len, true);
}

static uint32_t mmio_read(struct rig *r, uint64_t addr, uint32_t len)
{
    uint32_t v = 0;

    bus_access(&r->mmio, addr, &v, len, false);
    return v;
}

static void mmio_write(struct rig *r, uint64_t addr, uint32_t len, uint32_t v)
{
    bus_access(&r->mmio, addr, &v, len, true);
}

START_TEST(host_bridge_and_empty_slots)
{
    struct rig r;
    uint32_t v;

    rig_init(&r, NULL);
    ck_assert_uint_eq(cfg_read(&r, 0, PCI_VENDOR_ID, 4), PCI_HOST_DEVICE << 16 | PCI_HOST_VENDOR);
    ck_assert_uint_eq(cfg_read(&r, 0, PCI_CLASS_REVISION, 4) >> 8, PCI_HOST_CLASS);
    ck_assert_uint_eq(cfg_read(&r, 0, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_NORMAL);
    ck_assert_uint_eq(cfg_read(&r, 0, PCI_CLASS_DEVICE + 1, 1), 0x06); /* byte inside dword */
    ck_assert_uint_eq(cfg_read(&r, 1, PCI_DEVICE_ID, 2), 0x5678);
    ck_assert_uint_eq(cfg_read(&r, 5, PCI_VENDOR_ID, 4), 0xffffffff);
    ck_assert_uint_eq(cfg_read(&r, 31, PCI_VENDOR_ID, 2), 0xffff);
    /* Function 1 and bus 1 have nothing. */
    v = 0x80000100u;
    bus_access(&r.pio, 0xcf8, &v, 4, true);
    ck_assert_uint_eq(cfg_read(&r, 0, 0, 4), PCI_HOST_DEVICE << 16 | PCI_HOST_VENDOR);
    v = 0x80000100u;
    bus_access(&r.pio, 0xcf8, &v, 4, true);
    bus_access(&r.pio, 0xcfc, &v, 4, false);
    ck_assert_uint_eq(v, 0xffffffff);
    v = 0x80010000u;
    bus_access(&r.pio, 0xcf8, &v, 4, true);
    bus_access(&r.pio, 0xcfc, &v, 4, false);
    ck_assert_uint_eq(v, 0xffffffff);
    rig_fini(&r);
}
END_TEST

START_TEST(config_address_register)
{
    struct rig r;
    uint32_t v = 0x80001234u;
    uint8_t b = 1;

    rig_init(&r, NULL);
    bus_access(&r.pio, 0xcf8, &v, 4, true);
    v = 0;
    bus_access(&r.pio, 0xcf8, &v, 4, false);
    ck_assert_uint_eq(v, 0x80001234u & 0x80fffffcu);
    /* Linux's conf1 probe writes a byte to 0xCFB first: that is not the address register. */
    bus_access(&r.pio, 0xcfb, &b, 1, true);
    bus_access(&r.pio, 0xcf8, &v, 4, false);
    ck_assert_uint_eq(v, 0x80001234u & 0x80fffffcu);
    /* Enable bit clear: data reads all ones, writes go nowhere. */
    v = 1u << 11;
    bus_access(&r.pio, 0xcf8, &v, 4, true);
    bus_access(&r.pio, 0xcfc, &v, 4, false);
    ck_assert_uint_eq(v, 0xffffffff);
    v = 0;
    bus_access(&r.pio, 0xcfc + PCI_COMMAND, &v, 2, true);
    ck_assert_uint_ne(cfg_read(&r, 1, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY, 0);
    rig_fini(&r);
}
END_TEST

START_TEST(bar_sizing_protocol)
{
    struct rig r;
    uint32_t bar0, bar1, bar2, bar4;

    rig_init(&r, NULL);
    bar0 = cfg_read(&r, 1, PCI_BASE_ADDRESS_0, 4);
    bar1 = cfg_read(&r, 1, PCI_BASE_ADDRESS_1, 4);
    bar2 = cfg_read(&r, 1, PCI_BASE_ADDRESS_2, 4);
    bar4 = cfg_read(&r, 1, PCI_BASE_ADDRESS_4, 4);
    ck_assert_uint_eq(bar0 & 0xfff, 0);
    ck_assert_uint_ge(bar0, LAYOUT_PCI_MMIO_BASE);
    ck_assert_uint_eq(bar1 & 0xf, PCI_BASE_ADDRESS_MEM_TYPE_64);
    ck_assert_uint_eq(bar1 & 0x3ff0, 0); /* aligned to its size */
    ck_assert_uint_eq(bar2, 0);
    ck_assert_uint_eq(bar4 & 3, PCI_BASE_ADDRESS_SPACE_IO);
    ck_assert_uint_ge(bar4 & ~3u, PORT_PCI_IO_BASE);

    cfg_write(&r, 1, PCI_COMMAND, 2, 0); /* as Linux does around sizing */
    cfg_write(&r, 1, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
    ck_assert_uint_eq(cfg_read(&r, 1, PCI_BASE_ADDRESS_0, 4), 0xfffff000);
    cfg_write(&r, 1, PCI_BASE_ADDRESS_1, 4, 0xffffffff);
    cfg_write(&r, 1, PCI_BASE_ADDRESS_2, 4, 0xffffffff);
    ck_assert_uint_eq(cfg_read(&r, 1, PCI_BASE_ADDRESS_1, 4), 0xffffc004);
    ck_assert_uint_eq(cfg_read(&r, 1, PCI_BASE_ADDRESS_2, 4), 0xffffffff);
    cfg_write(&r, 1, PCI_BASE_ADDRESS_4, 4, 0xffffffff);
    ck_assert_uint_eq(cfg_read(&r, 1, PCI_BASE_ADDRESS_4, 4), 0x0000ffe1);
    /* Unused BAR and expansion ROM stay 0. */
    cfg_write(&r, 1, PCI_BASE_ADDRESS_5, 4, 0xffffffff);
    ck_assert_uint_eq(cfg_read(&r, 1, PCI_BASE_ADDRESS_5, 4), 0);
    cfg_write(&r, 1, PCI_ROM_ADDRESS, 4, 0xffffffff);
    ck_assert_uint_eq(cfg_read(&r, 1, PCI_ROM_ADDRESS, 4), 0);

    cfg_write(&r, 1, PCI_BASE_ADDRESS_0, 4, bar0);
    cfg_write(&r, 1, PCI_BASE_ADDRESS_1, 4, bar1);
    cfg_write(&r, 1, PCI_BASE_ADDRESS_2, 4, bar2);
    cfg_write(&r, 1, PCI_BASE_ADDRESS_4, 4, bar4);
    cfg_write(&r, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
    ck_assert_uint_eq(cfg_read(&r, 1, PCI_BASE_ADDRESS_0, 4), bar0);
    ck_assert_uint_eq(cfg_read(&r, 1, PCI_BASE_ADDRESS_1, 4), bar1);
    mmio_read(&r, bar1 & ~0xfu, 4);
    ck_assert_uint_eq(r.dev[0].last_bar, 1);
    rig_fini(&r);
}
END_TEST

START_TEST(read_only_bytes_stay)
{
    struct rig r;

    rig_init(&r, NULL);
    cfg_write(&r, 1, PCI_VENDOR_ID, 4, 0);
    ck_assert_uint_eq(cfg_read(&r, 1, PCI_VENDOR_ID, 4), 0x56781234);
    cfg_write(&r, 1, PCI_CLASS_REVISION, 4, 0);
    ck_assert_uint_eq(cfg_read(&r, 1, PCI_CLASS_REVISION, 4), 0xff000002);
    cfg_write(&r, 1, PCI_CAPABILITY_LIST, 1, 0x80);
    ck_assert_uint_eq(cfg_read(&r, 1, PCI_CAPABILITY_LIST, 1), PCI_CAP_FIRST);
    cfg_write(&r, 1, PCI_HEADER_TYPE, 1, 0x80);
    ck_assert_uint_eq(cfg_read(&r, 1, PCI_HEADER_TYPE, 1), 0);
    cfg_write(&r, 1, PCI_INTERRUPT_PIN, 1, 4);
    ck_assert_uint_eq(cfg_read(&r, 1, PCI_INTERRUPT_PIN, 1), 1);
    cfg_write(&r, 1, PCI_CAP_FIRST, 4, 0);
    ck_assert_uint_eq(cfg_read(&r, 1, PCI_CAP_FIRST, 1), PCI_CAP_ID_VNDR);
    cfg_write(&r, 1, PCI_COMMAND, 2, 0xffff);
    ck_assert_uint_eq(cfg_read(&r, 1, PCI_COMMAND, 2), 0x0507);
    cfg_write(&r, 1, PCI_STATUS, 2, 0xffff);
    ck_assert_uint_eq(cfg_read(&r, 1, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
    cfg_write(&r, 1, PCI_INTERRUPT_LINE, 1, 11);
    ck_assert_uint_eq(cfg_read(&r, 1, PCI_INTERRUPT_LINE, 1), 11);
    rig_fini(&r);
}
END_TEST

START_TEST(bar_relocation_moves_dispatch)
{
    struct rig r;
    struct tdev *d;
    uint32_t old, port;
    uint8_t v8 = 0;

    rig_init(&r, NULL);
    d = &r.dev[1];
    old = cfg_read(&r, 2, PCI_BASE_ADDRESS_0, 4);
    ck_assert_uint_eq(mmio_read(&r, old + 0x10, 4), 0x5a5a5a5a);
    ck_assert_uint_eq(d->last_off, 0x10);
    d->moves = 0;
    cfg_write(&r, 2, PCI_BASE_ADDRESS_0, 4, 0xe8000000);
    ck_assert_int_eq(d->moves, 1);
    ck_assert_uint_eq(d->moved_from, old);
    ck_assert_uint_eq(d->moved_to, 0xe8000000);
    d->accesses = 0;
    ck_assert_uint_eq(mmio_read(&r, old + 0x10, 4), 0xffffffff);
    ck_assert_int_eq(d->accesses, 0);
    mmio_write(&r, 0xe8000ffc, 4, 1);
    ck_assert_int_eq(d->accesses, 1);
    ck_assert_uint_eq(d->last_off, 0xffc);
    ck_assert(d->last_write);
    /* Straddling the BAR's end reaches nobody. */
    ck_assert_uint_eq(mmio_read(&r, 0xe8000ffe, 4), 0xffffffff);
    ck_assert_int_eq(d->accesses, 1);
    /* Memory decode off: gone; on again: back. */
    cfg_write(&r, 2, PCI_COMMAND, 2, PCI_COMMAND_IO);
    ck_assert_uint_eq(d->moved_to, PCI_BAR_UNMAPPED);
    ck_assert_uint_eq(mmio_read(&r, 0xe8000000, 4), 0xffffffff);
    port = cfg_read(&r, 2, PCI_BASE_ADDRESS_4, 4) & ~3u;
    bus_access(&r.pio, port + 3, &v8, 1, false);
    ck_assert_uint_eq(v8, 0x5a);
    ck_assert_uint_eq(d->last_bar, 4);
    ck_assert_uint_eq(d->last_off, 3);
    cfg_write(&r, 2, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    ck_assert_uint_eq(mmio_read(&r, 0xe8000000, 4), 0x5a5a5a5a);
    /* Outside the window (RAM, the debug page): decodes nothing. */
    cfg_write(&r, 2, PCI_BASE_ADDRESS_0, 4, (uint32_t)LAYOUT_DEBUG_MMIO);
    ck_assert_uint_eq(d->moved_to, PCI_BAR_UNMAPPED);
    rig_fini(&r);
}
END_TEST

START_TEST(capability_walk)
{
    struct rig r;
    uint8_t ids[8], n = 0, at;

    rig_init(&r, NULL);
    ck_assert_uint_ne(cfg_read(&r, 1, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
    at = (uint8_t)cfg_read(&r, 1, PCI_CAPABILITY_LIST, 1);
    while (at && n < 8) {
        ck_assert_uint_ge(at, PCI_CAP_FIRST);
        ck_assert_uint_eq(at & 3, 0);
        ids[n++] = (uint8_t)cfg_read(&r, 1, at, 1);
        if (ids[n - 1] == PCI_CAP_ID_VNDR)
            ck_assert_uint_eq(cfg_read(&r, 1, at + 2, 2), 0xaa08);
        at = (uint8_t)cfg_read(&r, 1, at + 1, 1);
    }
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(ids[0], PCI_CAP_ID_VNDR);
    ck_assert_uint_eq(ids[1], PCI_CAP_ID_MSIX);
    ck_assert_uint_eq(cfg_read(&r, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
    rig_fini(&r);
}
END_TEST

START_TEST(capability_space_runs_out)
{
    struct pci_function f;
    uint8_t body[60] = { 0 };
    int ok = 0;

    pci_function_init(&f, 1, 2, 0, 0, 0, 0);
    while (pci_function_add_cap(&f, PCI_CAP_ID_VNDR, body, sizeof(body), NULL) == 0)
        ok++;
    ck_assert_int_eq(ok, 3); /* at 0x40, 0x80, 0xc0; the last one ends the space */
    ck_assert_int_eq(pci_function_add_cap(&f, PCI_CAP_ID_VNDR, NULL, 0, NULL), -ENOSPC);
    ck_assert_uint_eq(f.cfg[0xc0 + 1], 0);
}
END_TEST

/* Finds the MSI-X capability and the table's guest address. */
static uint8_t msix_cap(struct rig *r, unsigned int slot, uint64_t *table)
{
    uint8_t at = (uint8_t)cfg_read(r, slot, PCI_CAPABILITY_LIST, 1);

    while (at && cfg_read(r, slot, at, 1) != PCI_CAP_ID_MSIX)
        at = (uint8_t)cfg_read(r, slot, at + 1, 1);
    ck_assert_uint_ne(at, 0);
    *table = cfg_read(r, slot, PCI_BASE_ADDRESS_3, 4) & ~0xfu;
    ck_assert_uint_eq(cfg_read(r, slot, at + PCI_MSIX_TABLE, 4), 3); /* BIR 3, offset 0 */
    return at;
}

START_TEST(msix_masking_and_pba)
{
    struct rig r;
    struct pci_function *f;
    uint64_t t, pba;
    uint8_t cap;

    rig_init(&r, NULL);
    f = &r.dev[0].f;
    cap = msix_cap(&r, 1, &t);
    pba = t + (cfg_read(&r, 1, cap + PCI_MSIX_PBA, 4) & ~7u);
    ck_assert_uint_eq(cfg_read(&r, 1, cap + PCI_MSIX_FLAGS, 2), 3); /* 4 vectors, off */
    ck_assert_int_eq(pci_msix_notify(f, 1), -EAGAIN);
    ck_assert(!pci_msix_enabled(f));
    cfg_write(&r, 1, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | 0x7ff);
    ck_assert_uint_eq(cfg_read(&r, 1, cap + PCI_MSIX_FLAGS, 2), PCI_MSIX_FLAGS_ENABLE | 3);
    ck_assert(pci_msix_enabled(f));
    ck_assert_int_eq(pci_msix_notify(f, 4), -EINVAL);

    /* Vectors start masked: the message waits in the PBA. */
    ck_assert_uint_eq(mmio_read(&r, t + 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4), 1);
    ck_assert_int_eq(pci_msix_notify(f, 1), 0);
    ck_assert_int_eq(r.msis, 0);
    ck_assert_uint_eq(mmio_read(&r, pba, 4), 2);
    mmio_write(&r, pba, 4, 0); /* read-only */
    ck_assert_uint_eq(mmio_read(&r, pba, 4), 2);
    mmio_write(&r, t + 16, 4, 0xfee01000);
    mmio_write(&r, t + 16 + 4, 4, 0);
    mmio_write(&r, t + 16 + 8, 4, 0x4055);
    ck_assert_uint_eq(mmio_read(&r, t + 16 + 8, 4), 0x4055);
    mmio_write(&r, t + 16 + 12, 4, 0); /* unmask: the pending message goes out */
    ck_assert_int_eq(r.msis, 1);
    ck_assert_uint_eq(r.msi_addr, 0xfee01000);
    ck_assert_uint_eq(r.msi_data, 0x4055);
    ck_assert_uint_eq(mmio_read(&r, pba, 4), 0);
    ck_assert_int_eq(pci_msix_notify(f, 1), 0);
    ck_assert_int_eq(r.msis, 2);

    /* Function mask holds everything; clearing it delivers. */
    cfg_write(&r, 1, cap + PCI_MSIX_FLAGS + 1, 1,
              (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8);
    ck_assert_int_eq(pci_msix_notify(f, 1), 0);
    ck_assert_int_eq(r.msis, 2);
    ck_assert_uint_eq(mmio_read(&r, pba, 1), 2);
    cfg_write(&r, 1, cap + PCI_MSIX_FLAGS + 1, 1, PCI_MSIX_FLAGS_ENABLE >> 8);
    ck_assert_int_eq(r.msis, 3);
    ck_assert_uint_eq(mmio_read(&r, pba, 1), 0);
    /* 64-bit table access. */
    {
        uint64_t q = 0, w = 0x00000000fee02000ULL;

        bus_access(&r.mmio, t, &w, 8, true);
        bus_access(&r.mmio, t, &q, 8, false);
        ck_assert_uint_eq(q, w);
    }
    rig_fini(&r);
}
END_TEST

START_TEST(intx_follows_level_and_disable)
{
    struct rig r;
    struct pci_function *f;
    uint32_t gsi = PCI_INTX_GSI(1, 0);

    rig_init(&r, NULL);
    f = &r.dev[0].f;
    ck_assert_uint_eq(gsi, 17);
    ck_assert_uint_eq(cfg_read(&r, 1, PCI_INTERRUPT_LINE, 1), 17);
    ck_assert_uint_eq(cfg_read(&r, 2, PCI_INTERRUPT_LINE, 1), 18);
    pci_set_intx(f, true);
    ck_assert(r.level[gsi]);
    ck_assert_uint_ne(cfg_read(&r, 1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
    pci_set_intx(f, true);
    ck_assert_int_eq(r.level_changes, 1);
    cfg_write(&r, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
    ck_assert(!r.level[gsi]);
    ck_assert_uint_ne(cfg_read(&r, 1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
    cfg_write(&r, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    ck_assert(r.level[gsi]);
    pci_set_intx(f, false);
    ck_assert(!r.level[gsi]);
    ck_assert_uint_eq(cfg_read(&r, 1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
    rig_fini(&r);
}
END_TEST

START_TEST(hostile_accesses)
{
    struct rig r;
    uint64_t t, junk = ~0ULL;
    uint32_t v;
    uint8_t buf[8];

    rig_init(&r, NULL);
    msix_cap(&r, 1, &t);
    /* Data port accesses crossing 0xCFF never reach the function. */
    v = cfg_addr(1, 0);
    bus_access(&r.pio, 0xcf8, &v, 4, true);
    ck_assert_int_eq(bus_access(&r.pio, 0xcfe, &v, 4, false), -ENOENT);
    v = 0xdeadbeef;
    bus_access(&r.pio, 0xcfd, &v, 2, true); /* bytes 1-2 of the vendor/device dword */
    ck_assert_uint_eq(cfg_read(&r, 1, 0, 4), 0x56781234);
    /* The last register of the space, every width the ports allow. */
    ck_assert_uint_eq(cfg_read(&r, 1, 0xff, 1), 0);
    ck_assert_uint_eq(cfg_read(&r, 1, 0xfe, 2), 0);
    cfg_write(&r, 1, 0xfc, 4, 0xffffffff);
    /* Direct config calls out of range. */
    pci_cfg_rw(r.pci, 1, 0xfe, buf, 4, false);
    ck_assert_uint_eq(buf[0], 0xff);
    pci_cfg_rw(r.pci, 1, 0x1000, buf, 4, true);
    pci_cfg_rw(r.pci, 99, 0, buf, 4, false);
    ck_assert_uint_eq(pci_cfg_peek(&r.dev[0].f, 0xfe, 4), 0);
    /* MSI-X table: unaligned or byte writes are dropped, reads past the table are 0. */
    mmio_write(&r, t + 2, 4, 0x12345678);
    mmio_write(&r, t + 1, 1, 0x12);
    ck_assert_uint_eq(mmio_read(&r, t, 4), 0);
    bus_access(&r.mmio, t + 4, &junk, 8, true);
    ck_assert_uint_eq(mmio_read(&r, t + 4, 4), 0);
    ck_assert_uint_eq(mmio_read(&r, t + 0x800, 4), 0);
    ck_assert_uint_eq(mmio_read(&r, t + 0xffe, 2), 0);
    bus_access(&r.mmio, t + 0xff8, &junk, 8, true);
    /* Window addresses with no BAR. */
    ck_assert_uint_eq(mmio_read(&r, LAYOUT_PCI_MMIO_BASE + LAYOUT_PCI_MMIO_SIZE - 4, 4),
                      0xffffffff);
    v = 0;
    bus_access(&r.pio, PORT_PCI_IO_BASE + PORT_PCI_IO_SIZE - 1, &v, 1, false);
    ck_assert_uint_eq(v, 0xff);
    /* A 64-bit BAR moved above 4 GiB is outside the window: decodes nothing, no crash. */
    cfg_write(&r, 1, PCI_BASE_ADDRESS_2, 4, 1);
    ck_assert_uint_eq(r.dev[0].moved_to, PCI_BAR_UNMAPPED);
    rig_fini(&r);
}
END_TEST

/* A fake KVM for the irqfd path: records the routes and irqfds. */
struct fake_kvm {
    int routing_calls, irqfds;
    int last_irqfd;
    uint32_t last_gsi;
};

static int fake_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
    struct fake_kvm *k = ctx;

    if (req == KVM_SET_GSI_ROUTING)
        k->routing_calls++;
    if (req == KVM_IRQFD) {
        struct kvm_irqfd *i = arg;

        k->irqfds += i->flags & KVM_IRQFD_FLAG_DEASSIGN ? -1 : 1;
        k->last_irqfd = (int)i->fd;
        k->last_gsi = i->gsi;
    }
    return 0;
}

START_TEST(msix_through_irqfd)
{
    struct fake_kvm k = { 0 };
    struct irqroute routes;
    struct irq_routes ops;
    struct rig r;
    struct pci_function *f;
    uint64_t t, n = 0;
    uint8_t cap;

    ck_assert_int_eq(irqroute_init(&routes, 3, false, fake_ioctl, &k), 0);
    ops = irqroute_ops(&routes);
    rig_init(&r, &ops);
    ck_assert_int_eq(k.irqfds, 8); /* 4 vectors, 2 functions */
    f = &r.dev[0].f;
    cap = msix_cap(&r, 1, &t);
    cfg_write(&r, 1, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
    mmio_write(&r, t + 8, 4, 0x4077);
    mmio_write(&r, t + 12, 4, 0);
    ck_assert_int_eq(pci_msix_notify(f, 0), 0);
    ck_assert_int_eq(r.msis, 0);
    ck_assert_int_eq(k.routing_calls, 1);
    ck_assert_int_eq(read(f->msix.irqfd[0], &n, sizeof(n)), sizeof(n));
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(pci_msix_notify(f, 0), 0);
    ck_assert_int_eq(k.routing_calls, 1); /* same message, same route */
    rig_fini(&r);
    ck_assert_int_eq(k.irqfds, 0);
    irqroute_fini(&routes);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pci");
    TCase *tc = tcase_create("bus");

    tcase_add_test(tc, host_bridge_and_empty_slots);
    tcase_add_test(tc, config_address_register);
    tcase_add_test(tc, bar_sizing_protocol);
    tcase_add_test(tc, read_only_bytes_stay);
    tcase_add_test(tc, bar_relocation_moves_dispatch);
    tcase_add_test(tc, capability_walk);
    tcase_add_test(tc, capability_space_runs_out);
    tcase_add_test(tc, msix_masking_and_pba);
    tcase_add_test(tc, intx_follows_level_and_disable);
    tcase_add_test(tc, hostile_accesses);
    tcase_add_test(tc, msix_through_irqfd);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
