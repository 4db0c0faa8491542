// SPDX-License-Identifier: MIT
#include "vmm/core/irqroute.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

static int real_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
    int rc = ioctl(fd, req, arg);

    return rc < 0 ? -errno : rc;
}

static bool bit_get(const uint8_t *map, uint32_t i)
{
    return map[i / 8] & (1u << (i % 8));
}

static void bit_put(uint8_t *map, uint32_t i, bool v)
{
    if (v)
        map[i / 8] |= (uint8_t)(1u << (i % 8));
    else
        map[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

int irqroute_init(struct irqroute *r, int vm_fd, bool kernel_irqchip, irqroute_ioctl_fn ioctl_fn,
                  void *ioctl_ctx)
{
    int rc;

    memset(r, 0, sizeof(*r));
    r->vm_fd = vm_fd;
    r->kernel_irqchip = kernel_irqchip;
    r->ioctl_fn = ioctl_fn ? ioctl_fn : real_ioctl;
    r->ioctl_ctx = ioctl_ctx;
    r->table = calloc(1, sizeof(*r->table) + IRQROUTE_MAX_ENTRIES * sizeof(r->table->entries[0]));
    if (!r->table)
        return -ENOMEM;
    rc = -pthread_mutex_init(&r->lock, NULL);
    if (rc) {
        free(r->table);
        r->table = NULL;
    }
    return rc;
}

void irqroute_fini(struct irqroute *r)
{
    if (!r->table)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r->table);
    r->table = NULL;
}

static void put_irqchip(struct kvm_irq_routing *t, uint32_t gsi, uint32_t chip, uint32_t pin)
{
    t->entries[t->nr++] = (struct kvm_irq_routing_entry){
        .gsi = gsi,
        .type = KVM_IRQ_ROUTING_IRQCHIP,
        .u.irqchip = { .irqchip = chip, .pin = pin },
    };
}

/* Builds the whole table from the state and hands it to KVM. Called with the lock held. */
static int commit(struct irqroute *r)
{
    struct kvm_irq_routing *t = r->table;
    int rc;

    t->nr = 0;
    t->flags = 0;
    for (uint32_t i = 0; i < IOAPIC_NUM_PINS; i++) {
        if (r->kernel_irqchip) {
            /* KVM's defaults: GSIs 0-15 reach both PICs and the IOAPIC, 16-23 the IOAPIC only. */
            if (i < 16 && i != 2)
                put_irqchip(t, i, i < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, i % 8);
            put_irqchip(t, i, KVM_IRQCHIP_IOAPIC, i);
        } else if (r->ioapic_live & (1u << i)) {
            t->entries[t->nr++] = r->ioapic[i];
        }
    }
    for (uint32_t i = 0; i < IRQROUTE_MAX_MSI; i++)
        if (bit_get(r->msi_live, i))
            t->entries[t->nr++] = r->msi[i];
    rc = r->ioctl_fn(r->ioctl_ctx, r->vm_fd, KVM_SET_GSI_ROUTING, t);
    r->table_writes++;
    return rc < 0 ? rc : 0;
}

static struct kvm_irq_routing_entry msi_entry(uint32_t gsi, uint64_t addr, uint32_t data)
{
    return (struct kvm_irq_routing_entry){
        .gsi = gsi,
        .type = KVM_IRQ_ROUTING_MSI,
        .u.msi = { .address_lo = (uint32_t)addr,
                   .address_hi = (uint32_t)(addr >> 32),
                   .data = data },
    };
}

int irqroute_ioapic_update(struct irqroute *r, uint32_t pin, uint64_t addr, uint32_t data,
                           bool masked)
{
    struct kvm_irq_routing_entry want = msi_entry(pin, addr, data);
    struct kvm_irq_routing_entry old;
    uint32_t bit = 1u << (pin % 32), was;
    int rc = 0;

    if (pin >= IOAPIC_NUM_PINS)
        return -EINVAL;
    pthread_mutex_lock(&r->lock);
    was = r->ioapic_live;
    old = r->ioapic[pin];
    /* Unchanged routes cost no ioctl: at creation every pin is masked and none is set. */
    if (masked && !(was & bit))
        goto out;
    if (!masked && (was & bit) && !memcmp(&old, &want, sizeof(want)))
        goto out;
    if (masked) {
        r->ioapic_live &= ~bit;
    } else {
        r->ioapic[pin] = want;
        r->ioapic_live |= bit;
    }
    rc = commit(r);
    if (rc) { /* KVM kept the old table: so do we */
        r->ioapic_live = was;
        r->ioapic[pin] = old;
    }
out:
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int irqroute_msi_alloc(struct irqroute *r, uint32_t *gsi)
{
    int rc = -ENOSPC;

    pthread_mutex_lock(&r->lock);
    for (uint32_t i = 0; i < IRQROUTE_MAX_MSI; i++) {
        if (!bit_get(r->msi_used, i)) {
            bit_put(r->msi_used, i, true);
            *gsi = IRQROUTE_MSI_FIRST + i;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

/* Index of an allocated MSI GSI, or -1. */
static int msi_index(const struct irqroute *r, uint32_t gsi)
{
    uint32_t i = gsi - IRQROUTE_MSI_FIRST;

    if (gsi < IRQROUTE_MSI_FIRST || i >= IRQROUTE_MAX_MSI || !bit_get(r->msi_used, i))
        return -1;
    return (int)i;
}

int irqroute_msi_set(struct irqroute *r, uint32_t gsi, uint64_t addr, uint32_t data)
{
    struct kvm_irq_routing_entry want = msi_entry(gsi, addr, data), old;
    bool was_live;
    int i, rc = 0;

    pthread_mutex_lock(&r->lock);
    i = msi_index(r, gsi);
    if (i < 0) {
        rc = -EINVAL;
        goto out;
    }
    was_live = bit_get(r->msi_live, (uint32_t)i);
    old = r->msi[i];
    if (was_live && !memcmp(&old, &want, sizeof(want)))
        goto out;
    r->msi[i] = want;
    bit_put(r->msi_live, (uint32_t)i, true);
    rc = commit(r);
    if (rc) {
        r->msi[i] = old;
        bit_put(r->msi_live, (uint32_t)i, was_live);
    }
out:
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int irqroute_msi_free(struct irqroute *r, uint32_t gsi)
{
    int i, rc = 0;

    pthread_mutex_lock(&r->lock);
    i = msi_index(r, gsi);
    if (i >= 0) {
        bit_put(r->msi_used, (uint32_t)i, false);
        if (bit_get(r->msi_live, (uint32_t)i)) {
            bit_put(r->msi_live, (uint32_t)i, false);
            rc = commit(r);
        }
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int irqroute_irqfd(struct irqroute *r, int fd, uint32_t gsi, bool assign)
{
    struct kvm_irqfd req = {
        .fd = (uint32_t)fd,
        .gsi = gsi,
        .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
    };
    int rc;

    if (fd < 0)
        return -EBADF;
    rc = r->ioctl_fn(r->ioctl_ctx, r->vm_fd, KVM_IRQFD, &req);
    return rc < 0 ? rc : 0;
}

int irqroute_ioeventfd(struct irqroute *r, const struct ioeventfd *ev, bool assign)
{
    struct kvm_ioeventfd req = {
        .datamatch = ev->datamatch ? ev->data : 0,
        .addr = ev->addr,
        .len = ev->len,
        .fd = ev->fd,
    };
    int rc;

    if (ev->fd < 0)
        return -EBADF;
    if (ev->len != 1 && ev->len != 2 && ev->len != 4 && ev->len != 8)
        return -EINVAL;
    if (ev->pio)
        req.flags |= KVM_IOEVENTFD_FLAG_PIO;
    if (ev->datamatch)
        req.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
    if (!assign)
        req.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
    rc = r->ioctl_fn(r->ioctl_ctx, r->vm_fd, KVM_IOEVENTFD, &req);
    return rc < 0 ? rc : 0;
}

/* --- The interfaces devices get: void * contexts onto the functions above ------------------- */

static int ops_msi_alloc(void *r, uint32_t *gsi)
{
    return irqroute_msi_alloc(r, gsi);
}

static int ops_msi_set(void *r, uint32_t gsi, uint64_t addr, uint32_t data)
{
    return irqroute_msi_set(r, gsi, addr, data);
}

static int ops_msi_free(void *r, uint32_t gsi)
{
    return irqroute_msi_free(r, gsi);
}

static int ops_irqfd(void *r, int fd, uint32_t gsi, bool assign)
{
    return irqroute_irqfd(r, fd, gsi, assign);
}

static int ops_ioeventfd(void *r, const struct ioeventfd *ev, bool assign)
{
    return irqroute_ioeventfd(r, ev, assign);
}

static int ops_pin_update(void *r, uint32_t pin, uint64_t addr, uint32_t data, bool masked)
{
    return irqroute_ioapic_update(r, pin, addr, data, masked);
}

struct irq_routes irqroute_ops(struct irqroute *r)
{
    return (struct irq_routes){
        .msi_alloc = ops_msi_alloc,
        .msi_set = ops_msi_set,
        .msi_free = ops_msi_free,
        .irqfd = ops_irqfd,
        .ioeventfd = ops_ioeventfd,
        .ctx = r,
    };
}

struct pin_routes irqroute_pin_routes(struct irqroute *r)
{
    return (struct pin_routes){ .update = ops_pin_update, .ctx = r };
}
