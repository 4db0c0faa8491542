// SPDX-License-Identifier: MIT
#include "devices/ioapic.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "devices/devutil.h"
#include "firmware/layout.h"

#define IOREGSEL 0x00
#define IOWIN    0x10

#define REG_ID     0x00
#define REG_VER    0x01
#define REG_ARB    0x02
#define REG_REDIR  0x10 /* pin n: low dword at 0x10 + 2n, high dword at 0x11 + 2n */
#define IOAPIC_VER 0x11
#define ID_SHIFT   24
#define ID_MASK    0x0f000000u

#define RTE_VECTOR     0x00000000000000ffULL
#define RTE_DELIVERY   0x0000000000000700ULL
#define RTE_DEST_LOG   0x0000000000000800ULL
#define RTE_POLARITY   0x0000000000002000ULL
#define RTE_REMOTE_IRR 0x0000000000004000ULL
#define RTE_LEVEL      0x0000000000008000ULL
#define RTE_MASKED     0x0000000000010000ULL
#define RTE_EXT_DEST   0x00fe000000000000ULL /* bits 49-55: APIC ID bits 8-14 (ext dest ID) */
#define RTE_DEST       0xff00000000000000ULL
/* Delivery status (bit 12) reads 0 (we deliver at once); Remote IRR is ours to set. */
#define RTE_WRITABLE                                                                               \
    (RTE_VECTOR | RTE_DELIVERY | RTE_DEST_LOG | RTE_POLARITY | RTE_LEVEL | RTE_MASKED |            \
     RTE_EXT_DEST | RTE_DEST)

#define MSI_ADDR_BASE     0xfee00000ULL
#define MSI_ADDR_DEST_LOG (1u << 2)
#define MSI_DATA_ASSERT   (1u << 14)
#define MSI_DATA_LEVEL    (1u << 15)

struct ioapic {
    pthread_mutex_t lock;
    struct msi_sender msi;
    struct pin_routes routes;
    struct irq_sink sink;

    uint32_t id;
    uint8_t regsel;
    uint32_t line;         /* asserted inputs, one bit per pin */
    uint32_t edge_pending; /* rising edges that arrived while masked */
    uint64_t rte[IOAPIC_NUM_PINS];
};

static void ioapic_compose(uint64_t rte, uint64_t *addr, uint32_t *data)
{
    *addr = MSI_ADDR_BASE | ((rte & RTE_DEST) >> 56) << 12 | ((rte & RTE_EXT_DEST) >> 49) << 5 |
            ((rte & RTE_DEST_LOG) ? MSI_ADDR_DEST_LOG : 0);
    *data = (uint32_t)(rte & (RTE_VECTOR | RTE_DELIVERY));
    if (rte & RTE_LEVEL)
        *data |= MSI_DATA_LEVEL | MSI_DATA_ASSERT;
}

static int ioapic_send(struct ioapic *io, unsigned pin)
{
    uint64_t addr;
    uint32_t data;

    if (!io->msi.send)
        return 0;
    ioapic_compose(io->rte[pin], &addr, &data);
    return io->msi.send(io->msi.ctx, addr, data);
}

/* Sends pin's interrupt if its state calls for one now. Lock held. */
static int ioapic_service(struct ioapic *io, unsigned pin)
{
    uint64_t *rte = &io->rte[pin];
    uint32_t bit = 1u << pin;
    int rc;

    if (*rte & RTE_MASKED)
        return 0;
    if (!(*rte & RTE_LEVEL)) {
        if (!(io->edge_pending & bit))
            return 0;
        io->edge_pending &= ~bit;
        return ioapic_send(io, pin);
    }
    if (!(io->line & bit) || (*rte & RTE_REMOTE_IRR))
        return 0;
    /* Remote IRR holds the line off until the guest's EOI, or it would storm. */
    *rte |= RTE_REMOTE_IRR;
    rc = ioapic_send(io, pin);
    if (rc)
        *rte &= ~RTE_REMOTE_IRR; /* no EOI will come for an interrupt never sent */
    return rc;
}

static void ioapic_route_changed(struct ioapic *io, unsigned pin)
{
    uint64_t addr;
    uint32_t data;

    if (!io->routes.update)
        return;
    ioapic_compose(io->rte[pin], &addr, &data);
    io->routes.update(io->routes.ctx, pin, addr, data, io->rte[pin] & RTE_MASKED);
}

static int ioapic_set_level(void *ctx, uint32_t gsi, bool level)
{
    struct ioapic *io = ctx;
    uint32_t bit;
    int rc;

    if (gsi >= IOAPIC_NUM_PINS)
        return -EINVAL;
    bit = 1u << gsi;

    pthread_mutex_lock(&io->lock);
    if (level && !(io->line & bit) && !(io->rte[gsi] & RTE_LEVEL))
        io->edge_pending |= bit;
    if (level)
        io->line |= bit;
    else
        io->line &= ~bit;
    rc = ioapic_service(io, gsi);
    pthread_mutex_unlock(&io->lock);
    return rc;
}

static uint32_t ioapic_read_reg(const struct ioapic *io, uint8_t reg)
{
    unsigned pin;

    switch (reg) {
    case REG_ID:
    case REG_ARB:
        return io->id;
    case REG_VER:
        return IOAPIC_VER | (IOAPIC_NUM_PINS - 1) << 16;
    default:
        break;
    }
    if (reg < REG_REDIR || reg >= REG_REDIR + 2 * IOAPIC_NUM_PINS)
        return 0;
    pin = (reg - REG_REDIR) / 2;
    return (reg & 1) ? (uint32_t)(io->rte[pin] >> 32) : (uint32_t)io->rte[pin];
}

static void ioapic_write_reg(struct ioapic *io, uint8_t reg, uint32_t v)
{
    uint64_t old, val;
    unsigned pin;

    if (reg == REG_ID) {
        io->id = v & ID_MASK;
        return;
    }
    if (reg < REG_REDIR || reg >= REG_REDIR + 2 * IOAPIC_NUM_PINS)
        return; /* VER, ARB and unimplemented registers are read-only */

    pin = (reg - REG_REDIR) / 2;
    old = io->rte[pin];
    if (reg & 1)
        val = (old & 0xffffffffULL) | (uint64_t)v << 32;
    else
        val = (old & ~0xffffffffULL) | v;
    val = (val & RTE_WRITABLE) | (old & RTE_REMOTE_IRR);
    /* Remote IRR means nothing for an edge pin; a stale one would block it after a switch back. */
    if (!(val & RTE_LEVEL))
        val &= ~RTE_REMOTE_IRR;
    else
        io->edge_pending &= ~(1u << pin);
    io->rte[pin] = val;

    if (val != old)
        ioapic_route_changed(io, pin);
    /* An unmask (or a switch to level) may find the line already asking. */
    ioapic_service(io, pin);
}

static void ioapic_mmio(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
    struct ioapic *io = dev;
    uint32_t v = 0;

    /* The chip decodes aligned dwords only; anything else reads 0 and is ignored on write. */
    if (len != 4 || (off != IOREGSEL && off != IOWIN)) {
        if (!is_write)
            io_store(data, len, 0);
        return;
    }

    pthread_mutex_lock(&io->lock);
    if (off == IOREGSEL) {
        if (is_write)
            io->regsel = (uint8_t)io_load(data, len);
        else
            v = io->regsel;
    } else if (is_write) {
        ioapic_write_reg(io, io->regsel, (uint32_t)io_load(data, len));
    } else {
        v = ioapic_read_reg(io, io->regsel);
    }
    pthread_mutex_unlock(&io->lock);

    if (!is_write)
        io_store(data, len, v);
}

int ioapic_create(struct ioapic **out, struct bus *mmio, uint64_t base,
                  const struct msi_sender *msi, const struct pin_routes *routes)
{
    struct ioapic *io;
    int rc;

    io = calloc(1, sizeof(*io));
    if (!io)
        return -ENOMEM;
    rc = -pthread_mutex_init(&io->lock, NULL);
    if (rc)
        goto err_free;
    if (msi)
        io->msi = *msi;
    if (routes)
        io->routes = *routes;
    io->sink = (struct irq_sink){ .set_level = ioapic_set_level, .ctx = io };
    for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++)
        io->rte[pin] = RTE_MASKED;

    rc = bus_add(mmio, base, LAYOUT_IOAPIC_SIZE, ioapic_mmio, io, "ioapic");
    if (rc)
        goto err_mutex;

    /* No one else can see the IOAPIC yet, but the callback contract says "lock held". */
    pthread_mutex_lock(&io->lock);
    for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++)
        ioapic_route_changed(io, pin);
    pthread_mutex_unlock(&io->lock);
    *out = io;
    return 0;

err_mutex:
    pthread_mutex_destroy(&io->lock);
err_free:
    free(io);
    return rc;
}

void ioapic_destroy(struct ioapic *io)
{
    if (!io)
        return;
    pthread_mutex_destroy(&io->lock);
    free(io);
}

const struct irq_sink *ioapic_irq_sink(struct ioapic *io)
{
    return &io->sink;
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
    pthread_mutex_lock(&io->lock);
    for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        uint64_t *rte = &io->rte[pin];

        if (!(*rte & RTE_LEVEL) || !(*rte & RTE_REMOTE_IRR) || (*rte & RTE_VECTOR) != vector)
            continue;
        *rte &= ~RTE_REMOTE_IRR;
        ioapic_service(io, pin);
    }
    pthread_mutex_unlock(&io->lock);
}
