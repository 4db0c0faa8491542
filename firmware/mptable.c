// SPDX-License-Identifier: MIT
#include "firmware/mptable.h"

#include <errno.h>
#include <string.h>

#define MP_SPEC_REV      4    /* MP spec 1.4 */
#define MP_APIC_VERSION  0x14 /* an integrated local APIC */
#define MP_IOAPIC_VER    0x11 /* what devices/ioapic.c reports */
#define MP_ISA_IRQS      16
#define MP_CPU_SIGNATURE 0x600 /* family 6; OSes read the real one from CPUID */
#define MP_CPU_FEATURES  0x201 /* FPU and APIC, for the same reason only a hint */

static uint8_t mp_sum(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t s = 0;

    for (size_t i = 0; i < len; i++)
        s += b[i];
    return s;
}

static size_t mp_config_len(unsigned int nr_cpus)
{
    /* ISA IRQ 2 has no entry: its pin carries IRQ 0 (see below). */
    return sizeof(struct mp_config) + nr_cpus * sizeof(struct mp_processor) +
           sizeof(struct mp_bus) + sizeof(struct mp_ioapic) +
           (MP_ISA_IRQS - 1) * sizeof(struct mp_intr) + 2 * sizeof(struct mp_intr);
}

static uint8_t *mp_put_intr(uint8_t *p, const struct mp_intr *e)
{
    memcpy(p, e, sizeof(*e));
    return p + sizeof(*e);
}

static void mp_fill_config(struct mp_config *mpc, unsigned int nr_cpus, size_t len)
{
    uint8_t *p = (uint8_t *)(mpc + 1);
    unsigned int entries = 0;

    memcpy(mpc->signature, "PCMP", 4);
    mpc->length = (uint16_t)len;
    mpc->spec_rev = MP_SPEC_REV;
    memcpy(mpc->oem_id, "KVMINI  ", 8);
    memcpy(mpc->product_id, "KVMINI      ", 12);
    mpc->lapic_addr = (uint32_t)LAYOUT_LAPIC_BASE;

    for (unsigned int i = 0; i < nr_cpus; i++, entries++) {
        struct mp_processor cpu = {
            .type = MP_PROCESSOR,
            .apic_id = (uint8_t)i,
            .apic_version = MP_APIC_VERSION,
            .flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
            .signature = MP_CPU_SIGNATURE,
            .features = MP_CPU_FEATURES,
        };

        memcpy(p, &cpu, sizeof(cpu));
        p += sizeof(cpu);
    }

    memcpy(p, &(struct mp_bus){ .type = MP_BUS, .bus_id = 0, .bus_type = "ISA   " },
           sizeof(struct mp_bus));
    p += sizeof(struct mp_bus);
    entries++;

    memcpy(p,
           &(struct mp_ioapic){ .type = MP_IOAPIC,
                                .apic_id = LAYOUT_IOAPIC_ID,
                                .version = MP_IOAPIC_VER,
                                .flags = 1,
                                .addr = (uint32_t)LAYOUT_IOAPIC_BASE },
           sizeof(struct mp_ioapic));
    p += sizeof(struct mp_ioapic);
    entries++;

    /*
     * ISA IRQ n on pin n, except the timer's IRQ 0 on pin 2 as on every PC since the IOAPIC; IRQ
     * 2 (the old cascade) gets no entry, so no pin has two sources. Same mapping as the MADT.
     */
    for (unsigned int irq = 0; irq < MP_ISA_IRQS; irq++) {
        if (irq == 2)
            continue;
        p = mp_put_intr(p, &(struct mp_intr){ .type = MP_IOINTR,
                                              .irq_type = MP_INT,
                                              .src_bus = 0,
                                              .src_irq = (uint8_t)irq,
                                              .dst_apic = LAYOUT_IOAPIC_ID,
                                              .dst_pin = (uint8_t)(irq == 0 ? 2 : irq) });
        entries++;
    }

    /* Virtual wire mode's local inputs, on every CPU: ExtINT on LINT0, NMI on LINT1. */
    p = mp_put_intr(p,
                    &(struct mp_intr){
                        .type = MP_LINTR, .irq_type = MP_EXTINT, .dst_apic = 0xff, .dst_pin = 0 });
    mp_put_intr(p, &(struct mp_intr){
                       .type = MP_LINTR, .irq_type = MP_NMI, .dst_apic = 0xff, .dst_pin = 1 });
    entries += 2;

    mpc->entry_count = (uint16_t)entries;
    mpc->checksum = (uint8_t)-mp_sum(mpc, len);
}

int mptable_write(const struct gmem *mem, unsigned int nr_cpus)
{
    size_t len = mp_config_len(nr_cpus);
    size_t total = sizeof(struct mp_floating) + len;
    struct mp_floating *mpf;
    uint8_t *area;

    if (nr_cpus == 0 || nr_cpus > MPTABLE_MAX_CPUS)
        return -EINVAL;
    /* The config table must end before the ACPI tables start. */
    if (total > LAYOUT_ACPI_RSDP - LAYOUT_MPTABLE)
        return -ENOSPC;
    area = gmem_ptr(mem, LAYOUT_MPTABLE, total);
    if (!area)
        return -EFAULT;
    memset(area, 0, total);

    mp_fill_config((struct mp_config *)(area + sizeof(*mpf)), nr_cpus, len);

    mpf = (struct mp_floating *)area;
    memcpy(mpf->signature, "_MP_", 4);
    mpf->config_addr = LAYOUT_MPTABLE + sizeof(*mpf);
    mpf->length = 1;
    mpf->spec_rev = MP_SPEC_REV;
    /* features all 0: the configuration table is there, and there is no IMCR (no PIC mode). */
    mpf->checksum = (uint8_t)-mp_sum(mpf, sizeof(*mpf));
    return 0;
}
