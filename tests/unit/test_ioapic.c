// SPDX-License-Identifier: MIT
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/ioapic.h"
#include "firmware/layout.h"
#include "tests/unit/fakes.h"
#include "tests/unit/unit.h"

#define SEL (LAYOUT_IOAPIC_BASE + 0x00)
#define WIN (LAYOUT_IOAPIC_BASE + 0x10)

struct msis {
    int n;
    uint64_t addr;
    uint32_t data;
    int fail; /* make the next send fail with this */
};

struct routes {
    int calls;
    uint32_t pin;
    uint64_t addr;
    uint32_t data;
    bool masked;
};

static int msi_send(void *ctx, uint64_t addr, uint32_t data)
{
    struct msis *m = ctx;
    int rc = m->fail;

    m->fail = 0;
    if (rc)
        return rc;
    m->n++;
    m->addr = addr;
    m->data = data;
    return 0;
}

static int route_update(void *ctx, uint32_t pin, uint64_t addr, uint32_t data, bool masked)
{
    struct routes *r = ctx;

    r->calls++;
    r->pin = pin;
    r->addr = addr;
    r->data = data;
    r->masked = masked;
    return 0;
}

struct rig {
    struct bus mmio;
    struct msis msi;
    struct routes routes;
    struct ioapic *io;
    const struct irq_sink *sink;
};

static void rig_init(struct rig *r)
{
    struct msi_sender ms;
    struct pin_routes rh;

    memset(r, 0, sizeof(*r));
    bus_init(&r->mmio, "mmio");
    ms = (struct msi_sender){ .send = msi_send, .ctx = &r->msi };
    rh = (struct pin_routes){ .update = route_update, .ctx = &r->routes };
    ck_assert_int_eq(ioapic_create(&r->io, &r->mmio, LAYOUT_IOAPIC_BASE, &ms, &rh), 0);
    r->sink = ioapic_irq_sink(r->io);
}

static void rig_fini(struct rig *r)
{
    ioapic_destroy(r->io);
    bus_fini(&r->mmio);
}

static uint32_t reg_read(struct rig *r, uint8_t reg)
{
    fake_write32(&r->mmio, SEL, reg);
    return fake_read32(&r->mmio, WIN);
}

static void reg_write(struct rig *r, uint8_t reg, uint32_t v)
{
    fake_write32(&r->mmio, SEL, reg);
    fake_write32(&r->mmio, WIN, v);
}

/* High dword first, so the entry is complete when the low dword (with the mask) lands. */
static void rte_write(struct rig *r, unsigned pin, uint64_t v)
{
    reg_write(r, (uint8_t)(0x11 + 2 * pin), (uint32_t)(v >> 32));
    reg_write(r, (uint8_t)(0x10 + 2 * pin), (uint32_t)v);
}

static uint64_t rte_read(struct rig *r, unsigned pin)
{
    return (uint64_t)reg_read(r, (uint8_t)(0x11 + 2 * pin)) << 32 |
           reg_read(r, (uint8_t)(0x10 + 2 * pin));
}

static int set(struct rig *r, uint32_t gsi, bool level)
{
    return r->sink->set_level(r->sink->ctx, gsi, level);
}

START_TEST(identity_registers)
{
    struct rig r;

    rig_init(&r);
    ck_assert_uint_eq(reg_read(&r, 0x01), 0x11 | (IOAPIC_NUM_PINS - 1) << 16);
    reg_write(&r, 0x01, 0); /* read-only */
    ck_assert_uint_eq(reg_read(&r, 0x01), 0x00170011);
    ck_assert_uint_eq(reg_read(&r, 0x00), 0);
    reg_write(&r, 0x00, 0xffffffff);
    ck_assert_uint_eq(reg_read(&r, 0x00), 0x0f000000);
    ck_assert_uint_eq(reg_read(&r, 0x02), 0x0f000000);
    fake_write32(&r.mmio, SEL, 0x12345);
    ck_assert_uint_eq(fake_read32(&r.mmio, SEL), 0x45);
    rig_fini(&r);
}
END_TEST

START_TEST(redirection_table_round_trip)
{
    struct rig r;

    rig_init(&r);
    ck_assert_int_eq(r.routes.calls, IOAPIC_NUM_PINS); /* every pin announced at create */
    for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++)
        ck_assert_uint_eq(rte_read(&r, pin), 0x10000); /* masked */

    rte_write(&r, 5, 0xab00000000000000ULL | 0x1a931);
    ck_assert_uint_eq(rte_read(&r, 5), 0xab00000000000000ULL | 0x1a931);
    /* Delivery status and Remote IRR are not the guest's to set; reserved bits stay 0. */
    rte_write(&r, 6, 0x00001234ffffffffULL);
    ck_assert_uint_eq(rte_read(&r, 6), 0x000000000001afffULL);
    ck_assert_uint_eq(rte_read(&r, 4), 0x10000);
    ck_assert_uint_eq(r.routes.pin, 6);
    ck_assert(r.routes.masked);
    rig_fini(&r);
}
END_TEST

START_TEST(masked_pin_does_not_deliver)
{
    struct rig r;

    rig_init(&r);
    ck_assert_int_eq(set(&r, 4, true), 0);
    ck_assert_int_eq(set(&r, 4, false), 0);
    rte_write(&r, 9, 0x18000 | 0x40); /* level, masked */
    set(&r, 9, true);
    ck_assert_int_eq(r.msi.n, 0);
    ck_assert_int_eq(set(&r, IOAPIC_NUM_PINS, true), -EINVAL);
    rig_fini(&r);
}
END_TEST

START_TEST(edge_pin_delivers_once_per_rising_edge)
{
    struct rig r;

    rig_init(&r);
    /* Vector 0x31, lowest priority, logical destination 0x03. */
    rte_write(&r, 4, 0x0300000000000000ULL | 0x0900 | 0x31);
    ck_assert_uint_eq(r.routes.addr, 0xfee03004ULL);
    ck_assert(!r.routes.masked);

    set(&r, 4, true);
    ck_assert_int_eq(r.msi.n, 1);
    ck_assert_uint_eq(r.msi.addr, 0xfee03004ULL);
    ck_assert_uint_eq(r.msi.data, 0x0131);
    set(&r, 4, true); /* still high: no new edge */
    ck_assert_int_eq(r.msi.n, 1);
    set(&r, 4, false);
    ck_assert_int_eq(r.msi.n, 1);
    set(&r, 4, true);
    ck_assert_int_eq(r.msi.n, 2);
    ioapic_eoi(r.io, 0x31); /* meaningless for edge */
    ck_assert_int_eq(r.msi.n, 2);

    /* Physical destination 0x7f, fixed: no dest-mode bit. */
    rte_write(&r, 1, 0x7f00000000000000ULL | 0x40);
    set(&r, 1, true);
    ck_assert_uint_eq(r.msi.addr, 0xfee7f000ULL);
    ck_assert_uint_eq(r.msi.data, 0x40);

    /* Entry bits 49-55 carry APIC ID bits 8-14 into MSI address bits 5-11 (extended dest ID). */
    rte_write(&r, 2, 0x0100000000000000ULL | 0x5ULL << 49 | 0x41);
    set(&r, 2, true);
    ck_assert_uint_eq(r.msi.addr, 0xfee010a0ULL);
    rig_fini(&r);
}
END_TEST

START_TEST(edge_while_masked_is_held_until_unmask)
{
    struct rig r;

    rig_init(&r);
    rte_write(&r, 3, 0x10000 | 0x33);
    set(&r, 3, true);
    set(&r, 3, false);
    ck_assert_int_eq(r.msi.n, 0);
    rte_write(&r, 3, 0x33);
    ck_assert_int_eq(r.msi.n, 1);
    rte_write(&r, 3, 0x33); /* rewriting the entry does not repeat it */
    ck_assert_int_eq(r.msi.n, 1);
    rig_fini(&r);
}
END_TEST

START_TEST(level_pin_waits_for_eoi)
{
    struct rig r;

    rig_init(&r);
    rte_write(&r, 10, 0x0100000000000000ULL | 0x8000 | 0x51);
    set(&r, 10, true);
    ck_assert_int_eq(r.msi.n, 1);
    ck_assert_uint_eq(r.msi.addr, 0xfee01000ULL);
    ck_assert_uint_eq(r.msi.data, 0xc051);                /* trigger = level, level = assert */
    ck_assert_uint_eq(rte_read(&r, 10) & 0x4000, 0x4000); /* Remote IRR */

    set(&r, 10, false);
    set(&r, 10, true);
    ck_assert_int_eq(r.msi.n, 1); /* held off by Remote IRR */

    ioapic_eoi(r.io, 0x52); /* another vector */
    ck_assert_int_eq(r.msi.n, 1);
    ioapic_eoi(r.io, 0x51); /* still high: again */
    ck_assert_int_eq(r.msi.n, 2);
    ck_assert_uint_eq(rte_read(&r, 10) & 0x4000, 0x4000);

    set(&r, 10, false);
    ioapic_eoi(r.io, 0x51); /* low now: Remote IRR clears, nothing sent */
    ck_assert_int_eq(r.msi.n, 2);
    ck_assert_uint_eq(rte_read(&r, 10) & 0x4000, 0);
    set(&r, 10, true);
    ck_assert_int_eq(r.msi.n, 3);
    rig_fini(&r);
}
END_TEST

START_TEST(level_pin_unmasked_while_high_delivers)
{
    struct rig r;

    rig_init(&r);
    rte_write(&r, 11, 0x18000 | 0x61);
    set(&r, 11, true);
    ck_assert_int_eq(r.msi.n, 0);
    rte_write(&r, 11, 0x8000 | 0x61);
    ck_assert_int_eq(r.msi.n, 1);
    /* Switching to edge drops Remote IRR. */
    rte_write(&r, 11, 0x61);
    ck_assert_uint_eq(rte_read(&r, 11) & 0x4000, 0);
    rig_fini(&r);
}
END_TEST

START_TEST(failed_send_does_not_wedge_a_level_pin)
{
    struct rig r;

    rig_init(&r);
    rte_write(&r, 12, 0x8000 | 0x71);
    r.msi.fail = -EIO;
    ck_assert_int_eq(set(&r, 12, true), -EIO);
    ck_assert_uint_eq(rte_read(&r, 12) & 0x4000, 0);
    set(&r, 12, false);
    set(&r, 12, true);
    ck_assert_int_eq(r.msi.n, 1);
    rig_fini(&r);
}
END_TEST

START_TEST(odd_accesses_are_harmless)
{
    struct rig r;
    uint64_t q = ~0ULL;
    uint16_t h = 0xffff;
    uint8_t b = 0x10;

    rig_init(&r);
    ck_assert_uint_eq(reg_read(&r, 0x03), 0);
    ck_assert_uint_eq(reg_read(&r, 0x10 + 2 * IOAPIC_NUM_PINS), 0);
    ck_assert_uint_eq(reg_read(&r, 0xff), 0);
    reg_write(&r, 0xff, 0x1234);
    reg_write(&r, 0x10 + 2 * IOAPIC_NUM_PINS, 0);

    fake_write32(&r.mmio, SEL, 0x10);
    ck_assert_int_eq(fake_bus_io(&r.mmio, WIN, &q, 8, false), 0);
    ck_assert_uint_eq(q, 0);
    ck_assert_int_eq(fake_bus_io(&r.mmio, WIN, &h, 2, false), 0);
    ck_assert_uint_eq(h, 0);
    ck_assert_int_eq(fake_bus_io(&r.mmio, WIN, &b, 1, true), 0); /* ignored */
    ck_assert_int_eq(fake_bus_io(&r.mmio, SEL + 2, &h, 2, true), 0);
    fake_write32(&r.mmio, WIN + 4, 0);                      /* unaligned register */
    fake_write32(&r.mmio, LAYOUT_IOAPIC_BASE + 0x40, 0x30); /* no EOI register at version 0x11 */
    ck_assert_uint_eq(fake_read32(&r.mmio, LAYOUT_IOAPIC_BASE + 0xffc), 0);
    ck_assert_uint_eq(rte_read(&r, 0), 0x10000);
    ck_assert_int_eq(r.msi.n, 0);
    rig_fini(&r);
}
END_TEST

START_TEST(works_without_hooks_and_unwinds_on_conflict)
{
    struct bus mmio;
    struct ioapic *io = NULL, *other = NULL;
    const struct irq_sink *sink;

    bus_init(&mmio, "mmio");
    ck_assert_int_eq(ioapic_create(&io, &mmio, LAYOUT_IOAPIC_BASE, NULL, NULL), 0);
    ck_assert_int_eq(ioapic_create(&other, &mmio, LAYOUT_IOAPIC_BASE, NULL, NULL), -EEXIST);
    ck_assert_ptr_null(other);
    sink = ioapic_irq_sink(io);
    fake_write32(&mmio, SEL, 0x10);
    fake_write32(&mmio, WIN, 0x30); /* unmask pin 0, edge, vector 0x30 */
    ck_assert_int_eq(sink->set_level(sink->ctx, 0, true), 0);
    ioapic_destroy(io);
    ioapic_destroy(NULL);
    bus_fini(&mmio);
}
END_TEST

static Suite *ioapic_suite(void)
{
    Suite *s = suite_create("ioapic");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, identity_registers);
    tcase_add_test(tc, redirection_table_round_trip);
    tcase_add_test(tc, masked_pin_does_not_deliver);
    tcase_add_test(tc, edge_pin_delivers_once_per_rising_edge);
    tcase_add_test(tc, edge_while_masked_is_held_until_unmask);
    tcase_add_test(tc, level_pin_waits_for_eoi);
    tcase_add_test(tc, level_pin_unmasked_while_high_delivers);
    tcase_add_test(tc, failed_send_does_not_wedge_a_level_pin);
    tcase_add_test(tc, odd_accesses_are_harmless);
    tcase_add_test(tc, works_without_hooks_and_unwinds_on_conflict);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(ioapic_suite());
}
