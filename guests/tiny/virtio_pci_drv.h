/* SPDX-License-Identifier: MIT */
/*
 * A poll-mode driver for modern (virtio 1.x) PCI devices and their split virtqueues, for the tiny
 * guests. It assumes nothing about the VMM beyond PCI configuration mechanism #1 on bus 0: devices
 * are found by id, their structures through the vendor capabilities, BARs where firmware put
 * them (or, when unassigned or above 4 GiB where the runtime maps nothing, in LAYOUT_PCI_MMIO_*).
 * The same binary therefore runs under kvmini and under QEMU (PVH, SeaBIOS-placed BARs).
 *
 * No interrupts: MSI-X stays off, queues get VIRTIO_MSI_NO_VECTOR and ask the device not to
 * interrupt at all; completions are found by polling the used ring. Rings and buffers are static
 * arrays, usable as DMA addresses because the runtime identity-maps RAM (va == gpa).
 */
#ifndef TINY_VIRTIO_PCI_DRV_H
#define TINY_VIRTIO_PCI_DRV_H

#include <stdbool.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "guests/tiny/tiny.h"

#define VQ_MAX_SIZE 256 /* ring storage per queue; the device's maximum may be lower */
#define VQ_IND_MAX  16  /* entries in each head's indirect table */

struct vpci_dev {
    uint8_t bus, slot, fn;
    uint16_t device_id;
    uint64_t common, isr, device, notify; /* MMIO addresses of the structures */
    uint32_t notify_mult;
    uint32_t device_len;
    uint64_t offered;  /* device features */
    uint64_t features; /* negotiated */
};

struct vq_buf {
    uint64_t addr;
    uint32_t len;
    bool write; /* device-writable */
};

struct vq {
    /* Ring memory first: the descriptor table must be 16-aligned, and a page costs nothing. */
    struct vring_desc desc[VQ_MAX_SIZE] __attribute__((aligned(4096)));
    struct vring_desc ind[VQ_MAX_SIZE][VQ_IND_MAX] __attribute__((aligned(16)));
    /* flags, idx, ring[size], used_event */
    uint16_t avail_mem[2 + VQ_MAX_SIZE + 1] __attribute__((aligned(4096)));
    /* flags, idx, ring[size] (8 bytes each), avail_event */
    uint32_t used_mem[1 + 2 * VQ_MAX_SIZE + 1] __attribute__((aligned(4096)));

    struct vpci_dev *dev;
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t index, size;
    uint64_t notify_addr;
    bool event_idx, indirect;

    /* Our own copies: the device may scribble on the shared ring, never on these. */
    uint16_t free_head, num_free;
    uint16_t next[VQ_MAX_SIZE];    /* free list and chain links */
    uint16_t chain_n[VQ_MAX_SIZE]; /* ring descriptors a head's chain holds */
    void *token[VQ_MAX_SIZE];
    uint16_t avail_idx;  /* next avail index we publish */
    uint16_t kicked_idx; /* avail_idx at the last notification decision */
    uint16_t last_used;  /* next used index we consume */
};

/* Configuration space of bus/slot/fn through 0xCF8/0xCFC (off aligned to the access size). */
uint32_t pci_cfg_read32(uint8_t bus, uint8_t slot, uint8_t fn, uint8_t off);
uint16_t pci_cfg_read16(uint8_t bus, uint8_t slot, uint8_t fn, uint8_t off);
uint8_t pci_cfg_read8(uint8_t bus, uint8_t slot, uint8_t fn, uint8_t off);
void pci_cfg_write32(uint8_t bus, uint8_t slot, uint8_t fn, uint8_t off, uint32_t v);
void pci_cfg_write16(uint8_t bus, uint8_t slot, uint8_t fn, uint8_t off, uint16_t v);

/*
 * Finds the nth (0-based) function on bus 0 with vendor 0x1af4 and this modern device id, maps
 * its BARs and enables memory decoding and bus mastering. 0, or -1 with the reason printed.
 */
int vpci_find(struct vpci_dev *d, uint16_t device_id, unsigned int nth);

/* Device status (VIRTIO_CONFIG_S_*). Writing 0 resets; vpci_reset also waits for it to stick. */
uint8_t vpci_status(const struct vpci_dev *d);
void vpci_set_status(const struct vpci_dev *d, uint8_t s);
int vpci_reset(const struct vpci_dev *d);

/*
 * Reset, ACKNOWLEDGE, DRIVER, then negotiates offered & want (VERSION_1 is required and always
 * wanted) and checks that FEATURES_OK sticks. 0 or -1 (status FAILED set, reason printed).
 */
int vpci_negotiate(struct vpci_dev *d, uint64_t want);
void vpci_driver_ok(const struct vpci_dev *d);

static inline bool vpci_has(const struct vpci_dev *d, unsigned int bit)
{
    return (d->features >> bit) & 1;
}

/* Device-specific configuration, re-read until the generation is stable around it. */
void vpci_config_read(const struct vpci_dev *d, uint32_t off, void *buf, uint32_t len);

/*
 * Sets up queue index (after vpci_negotiate, before vpci_driver_ok) with at most max_size entries
 * (the largest power of two the device allows). 0 or -1.
 */
int vq_setup(struct vq *q, struct vpci_dev *d, uint16_t index, uint16_t max_size);

/*
 * Adds one chain: readable buffers first, then writable ones (the order in b[] is kept and must
 * already be so). indirect puts them in the head's indirect table (needs n <= VQ_IND_MAX and the
 * feature). Not visible to the device until vq_publish. Returns the head, or -1 if it does not fit.
 */
int vq_add(struct vq *q, const struct vq_buf *b, unsigned int n, bool indirect, void *token);

/* Makes everything added visible and notifies the device if it asked for it. */
void vq_publish(struct vq *q);
/* The notification itself, unconditional. */
void vq_kick(struct vq *q);

/*
 * Takes the next used element: 1 (*len and *token set; chain freed) or 0 when none yet. A device
 * that returns a head not in flight ends the guest with status 3: nothing sane can follow.
 */
int vq_get_used(struct vq *q, void **token, uint32_t *len);

/* Used elements the device has published and we have not taken. */
static inline uint16_t vq_pending_used(const struct vq *q)
{
    return (uint16_t)(__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE) - q->last_used);
}

/* For hostile-ring tests: put head on the avail ring as is (descriptors written by the caller). */
void vq_publish_raw(struct vq *q, uint16_t head);

/* rdtsc-based deadline helper: a rough cycle budget, for timeouts only (never for results). */
uint64_t tiny_timeout_cycles(unsigned int seconds);

#endif
