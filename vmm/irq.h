/* SPDX-License-Identifier: MIT */
/*
 * How a device raises an interrupt without knowing what delivers it: the VM hands each device an
 * irq_line (a sink and a GSI). Behind the sink is kvmini's IOAPIC (split irqchip) or the kernel's.
 */
#ifndef KVMINI_IRQ_H
#define KVMINI_IRQ_H

#include <stdbool.h>
#include <stdint.h>

struct irq_sink {
    /* Sets the level of input gsi. Edge-triggered users pulse it: set(1) then set(0). */
    int (*set_level)(void *ctx, uint32_t gsi, bool level);
    void *ctx;
};

struct irq_line {
    const struct irq_sink *sink;
    uint32_t gsi;
};

static inline int irq_line_set(const struct irq_line *line, bool level)
{
    if (!line->sink)
        return 0; /* device built without an interrupt (unit tests) */
    return line->sink->set_level(line->sink->ctx, line->gsi, level);
}

/* What kvmini's IOAPIC needs from the VM: deliver one MSI to the in-kernel LAPICs. */
struct msi_sender {
    int (*send)(void *ctx, uint64_t addr, uint32_t data);
    void *ctx;
};

#endif
