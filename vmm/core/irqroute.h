/* SPDX-License-Identifier: MIT */
/*
 * KVM's interrupt plumbing in one place: the GSI routing table (KVM_SET_GSI_ROUTING, which
 * replaces the whole table on every call, so exactly one owner may build it), irqfds and
 * ioeventfds.
 *
 * The table holds two kinds of routes:
 *  - GSIs 0..IOAPIC_NUM_PINS-1: with a split irqchip, MSI routes mirroring kvmini's IOAPIC pins
 *    (so KVM exits on the EOI of level-triggered vectors); with the in-kernel irqchip, KVM's
 *    default PIC/IOAPIC routes, which must be kept since any SET_GSI_ROUTING replaces them;
 *  - GSIs IOAPIC_NUM_PINS..+IRQROUTE_MAX_MSI-1: MSI routes of MSI-X vectors, used with irqfds.
 * Every entry point is thread-safe (one mutex); none calls back into its caller.
 */
#ifndef KVMINI_VMM_IRQROUTE_H
#define KVMINI_VMM_IRQROUTE_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "firmware/layout.h"
#include "vmm/core/irq.h"

#define IRQROUTE_MAX_MSI   256
#define IRQROUTE_MSI_FIRST IOAPIC_NUM_PINS
/* PIC (16, minus the cascade) + IOAPIC (24) default routes, or the 24 IOAPIC mirrors. */
#define IRQROUTE_MAX_ENTRIES (2 * IOAPIC_NUM_PINS + IRQROUTE_MAX_MSI)

/*
 * The ioctl layer: returns >= 0 on success, -errno on failure. Tests replace it to record calls;
 * ctx is theirs.
 */
typedef int (*irqroute_ioctl_fn)(void *ctx, int fd, unsigned long req, void *arg);

struct irqroute {
    int vm_fd;
    bool kernel_irqchip; /* KVM_CREATE_IRQCHIP: keep KVM's default routes for GSIs 0-23 */
    irqroute_ioctl_fn ioctl_fn;
    void *ioctl_ctx;

    pthread_mutex_t lock;
    struct kvm_irq_routing_entry ioapic[IOAPIC_NUM_PINS];
    uint32_t ioapic_live; /* bit per pin: its MSI route is in the table */
    struct kvm_irq_routing_entry msi[IRQROUTE_MAX_MSI];
    uint8_t msi_used[IRQROUTE_MAX_MSI / 8]; /* allocated */
    uint8_t msi_live[IRQROUTE_MAX_MSI / 8]; /* allocated and has a route in the table */
    struct kvm_irq_routing *table;          /* scratch for the ioctl, IRQROUTE_MAX_ENTRIES long */
    uint64_t table_writes; /* KVM_SET_GSI_ROUTING calls made, for tests and --stats */
};

/*
 * Starts with an empty table and no ioctl (KVM's own default stays until the first change).
 * ioctl_fn NULL means the real ioctl(2). 0 or -ENOMEM.
 */
int irqroute_init(struct irqroute *r, int vm_fd, bool kernel_irqchip, irqroute_ioctl_fn ioctl_fn,
                  void *ioctl_ctx);
void irqroute_fini(struct irqroute *r);

/* The narrow interfaces devices get (vmm/core/irq.h), implemented by r. */
struct irq_routes irqroute_ops(struct irqroute *r);
struct pin_routes irqroute_pin_routes(struct irqroute *r);

/*
 * An IOAPIC pin's MSI changed (gsi = pin). An unchanged route costs no ioctl. 0, -EINVAL for a
 * bad pin, -errno of KVM.
 */
int irqroute_ioapic_update(struct irqroute *r, uint32_t pin, uint64_t addr, uint32_t data,
                           bool masked);

/* Reserves a GSI for an MSI (no route yet, no ioctl). 0 and *gsi, or -ENOSPC. */
int irqroute_msi_alloc(struct irqroute *r, uint32_t *gsi);

/*
 * Points an allocated MSI GSI at (addr, data): one KVM_SET_GSI_ROUTING, none when unchanged.
 * 0, -EINVAL for a GSI not allocated, -errno of KVM (the table then stays as it was).
 */
int irqroute_msi_set(struct irqroute *r, uint32_t gsi, uint64_t addr, uint32_t data);

/* Releases an MSI GSI; rewrites the table if it had a route. Unallocated GSIs are ignored. */
int irqroute_msi_free(struct irqroute *r, uint32_t gsi);

/* KVM_IRQFD: a write to eventfd fd injects gsi. assign false removes it. 0 or -errno. */
int irqroute_irqfd(struct irqroute *r, int fd, uint32_t gsi, bool assign);

/* KVM_IOEVENTFD for ev (see struct ioeventfd); deassign with the same ev. 0 or -errno. */
int irqroute_ioeventfd(struct irqroute *r, const struct ioeventfd *ev, bool assign);

#endif
