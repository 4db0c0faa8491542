// SPDX-License-Identifier: MIT
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/mptable.h"
#include "tests/unit/unit.h"

#define RAM_SIZE (1u << 20)

static uint8_t sum(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t s = 0;

    while (len--)
        s += *b++;
    return s;
}

struct counts {
    unsigned int cpus, bsps, buses, ioapics, ints, lints;
    bool irq0_on_pin2, irq2_listed, extint_lint0, nmi_lint1;
};

/* Walks the table as an OS does: by each entry's type, whose size is fixed. */
static void walk(const struct mp_config *mpc, unsigned int nr_cpus, struct counts *c)
{
    const uint8_t *p = (const uint8_t *)(mpc + 1), *end = (const uint8_t *)mpc + mpc->length;

    memset(c, 0, sizeof(*c));
    for (unsigned int i = 0; i < mpc->entry_count; i++) {
        ck_assert(p < end);
        switch (p[0]) {
        case MP_PROCESSOR: {
            const struct mp_processor *cpu = (const void *)p;

            ck_assert_uint_eq(cpu->apic_id, c->cpus);
            ck_assert_uint_ne(cpu->flags & MP_CPU_ENABLED, 0);
            c->bsps += !!(cpu->flags & MP_CPU_BSP);
            if (cpu->flags & MP_CPU_BSP)
                ck_assert_uint_eq(cpu->apic_id, 0);
            c->cpus++;
            p += sizeof(*cpu);
            break;
        }
        case MP_BUS:
            ck_assert_int_eq(memcmp(((const struct mp_bus *)p)->bus_type, "ISA   ", 6), 0);
            c->buses++;
            p += sizeof(struct mp_bus);
            break;
        case MP_IOAPIC: {
            const struct mp_ioapic *io = (const void *)p;

            ck_assert_uint_eq(io->addr, LAYOUT_IOAPIC_BASE);
            ck_assert_uint_eq(io->apic_id, LAYOUT_IOAPIC_ID);
            ck_assert_uint_eq(io->flags & 1, 1);
            c->ioapics++;
            p += sizeof(*io);
            break;
        }
        case MP_IOINTR: {
            const struct mp_intr *e = (const void *)p;

            ck_assert_uint_eq(e->dst_apic, LAYOUT_IOAPIC_ID);
            ck_assert_uint_lt(e->dst_pin, IOAPIC_NUM_PINS);
            if (e->src_irq == 0)
                c->irq0_on_pin2 = e->dst_pin == 2;
            else
                ck_assert_uint_eq(e->dst_pin, e->src_irq);
            c->irq2_listed |= e->src_irq == 2;
            c->ints++;
            p += sizeof(*e);
            break;
        }
        case MP_LINTR: {
            const struct mp_intr *e = (const void *)p;

            ck_assert_uint_eq(e->dst_apic, 0xff);
            c->extint_lint0 |= e->irq_type == MP_EXTINT && e->dst_pin == 0;
            c->nmi_lint1 |= e->irq_type == MP_NMI && e->dst_pin == 1;
            c->lints++;
            p += sizeof(*e);
            break;
        }
        default:
            ck_abort_msg("unknown MP entry type %u", p[0]);
        }
    }
    ck_assert_ptr_eq(p, end);
    ck_assert_uint_eq(c->cpus, nr_cpus);
}

static void check(unsigned int nr_cpus)
{
    uint8_t *ram = calloc(1, RAM_SIZE);
    struct gmem mem;
    const struct mp_floating *mpf;
    const struct mp_config *mpc;
    struct counts c;

    ck_assert_ptr_nonnull(ram);
    gmem_init_fixed(&mem, 0, ram, RAM_SIZE);
    ck_assert_int_eq(mptable_write(&mem, nr_cpus), 0);

    mpf = (const void *)(ram + LAYOUT_MPTABLE);
    ck_assert_uint_eq(LAYOUT_MPTABLE % 16, 0);
    ck_assert_int_eq(memcmp(mpf->signature, "_MP_", 4), 0);
    ck_assert_uint_eq(mpf->length, 1);
    ck_assert_uint_eq(mpf->spec_rev, 4);
    ck_assert_uint_eq(sum(mpf, 16), 0);
    ck_assert_uint_eq(mpf->features[0], 0); /* a configuration table follows */
    /* The floating pointer must be where the OS scans: the BIOS ROM area. */
    ck_assert_uint_ge(LAYOUT_MPTABLE, 0xf0000);
    ck_assert_uint_lt(LAYOUT_MPTABLE, 0x100000);

    ck_assert_uint_ge(mpf->config_addr, LAYOUT_MPTABLE + 16);
    mpc = (const void *)(ram + mpf->config_addr);
    ck_assert_int_eq(memcmp(mpc->signature, "PCMP", 4), 0);
    ck_assert_uint_eq(mpc->spec_rev, 4);
    ck_assert_uint_le(mpf->config_addr + mpc->length, LAYOUT_ACPI_RSDP);
    ck_assert_uint_eq(sum(mpc, mpc->length), 0);
    ck_assert_uint_eq(mpc->lapic_addr, LAYOUT_LAPIC_BASE);
    ck_assert_uint_eq(mpc->ext_length, 0);

    walk(mpc, nr_cpus, &c);
    ck_assert_uint_eq(c.bsps, 1);
    ck_assert_uint_eq(c.buses, 1);
    ck_assert_uint_eq(c.ioapics, 1);
    ck_assert_uint_eq(c.ints, 15); /* ISA IRQs 0-15 but 2 */
    ck_assert(c.irq0_on_pin2);
    ck_assert(!c.irq2_listed);
    ck_assert_uint_eq(c.lints, 2);
    ck_assert(c.extint_lint0 && c.nmi_lint1);
    ck_assert_uint_eq(mpc->entry_count, nr_cpus + 1 + 1 + 15 + 2);
    free(ram);
}

START_TEST(entries_for_1_2_64_cpus)
{
    check(1);
    check(2);
    check(64);
}
END_TEST

START_TEST(limits)
{
    uint8_t *ram = calloc(1, RAM_SIZE);
    struct gmem mem;
    unsigned int n;

    ck_assert_ptr_nonnull(ram);
    gmem_init_fixed(&mem, 0, ram, RAM_SIZE);
    ck_assert_int_eq(mptable_write(&mem, 0), -EINVAL);
    ck_assert_int_eq(mptable_write(&mem, 255), -EINVAL);
    /* The largest count that fits below the ACPI tables works; one more is -ENOSPC. */
    for (n = 1; mptable_write(&mem, n + 1) == 0; n++)
        ;
    ck_assert_uint_ge(n, 64);
    ck_assert_int_eq(mptable_write(&mem, n + 1), -ENOSPC);
    check(n);
    gmem_init_fixed(&mem, 0, ram, LAYOUT_MPTABLE + 64);
    ck_assert_int_eq(mptable_write(&mem, 1), -EFAULT);
    free(ram);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mptable");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, entries_for_1_2_64_cpus);
    tcase_add_test(tc, limits);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
