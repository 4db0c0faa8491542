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

/*
 * Where an interrupt controller that turns its pins into MSIs (kvmini's IOAPIC, with a split
 * irqchip) publishes each pin's current MSI, so that KVM can report the EOIs of level-triggered
 * vectors. 0 or -errno.
 */
struct pin_routes {
    int (*update)(void *ctx, uint32_t pin, uint64_t addr, uint32_t data, bool masked);
    void *ctx;
};

/* A guest write that signals an eventfd instead of exiting to kvmini. */
struct ioeventfd {
    int fd;
    uint64_t addr; /* a port when pio, else a guest-physical address */
    uint32_t len;  /* the width of the write: 1, 2, 4 or 8 bytes */
    bool pio;
    bool datamatch; /* only writes of the value data signal */
    uint64_t data;
};

/*
 * What a device with MSI-X vectors and doorbells needs from the VM: a GSI per vector pointed at
 * the vector's MSI, an irqfd that injects that GSI, and ioeventfds. Each returns 0 or -errno;
 * msi_free and unbinding (assign false) are safe on what was never set up.
 */
struct irq_routes {
    int (*msi_alloc)(void *ctx, uint32_t *gsi);
    int (*msi_set)(void *ctx, uint32_t gsi, uint64_t addr, uint32_t data);
    int (*msi_free)(void *ctx, uint32_t gsi);
    int (*irqfd)(void *ctx, int fd, uint32_t gsi, bool assign);
    int (*ioeventfd)(void *ctx, const struct ioeventfd *ev, bool assign);
    void *ctx;
};

#endif
