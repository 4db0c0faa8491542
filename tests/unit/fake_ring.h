/* SPDX-License-Identifier: MIT */
/*
 * A fake driver's side of a split virtqueue, for tests without KVM: guest RAM is a zeroed,
 * page-aligned malloc'd buffer described by gmem_init_fixed(), and the helpers write descriptors
 * and avail entries into it as a driver would. Two ways to use it:
 *  - fake_ring_new(): a standalone struct virtq over a fixed layout (FAKE_RING_*), already enabled,
 *    for testing the queue itself (vq_pop/vq_push);
 *  - fake_ring_create(): RAM and table addresses only; a test hands r->mem to a device and tells it
 *    the addresses through virtio_queue_set(), as a driver would, and r->vq stays unused.
 * Failures to allocate are check assertions. Everything a ring owns is freed by fake_ring_free().
 */
#ifndef KVMINI_TESTS_UNIT_FAKE_RING_H
#define KVMINI_TESTS_UNIT_FAKE_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtqueue.h"
#include "vmm/mem/gmem.h"

/* Descriptor flags, short, as the tests spell chains. */
#define RD  0
#define WR  VRING_DESC_F_WRITE
#define NX  VRING_DESC_F_NEXT
#define IND VRING_DESC_F_INDIRECT

/* fake_ring_new()'s layout. */
#define FAKE_RING_RAM_BASE  0x10000ULL /* not 0, so "below RAM" is testable */
#define FAKE_RING_RAM_SIZE  0x20000ULL
#define FAKE_RING_DESC_GPA  (FAKE_RING_RAM_BASE + 0x0000)
#define FAKE_RING_AVAIL_GPA (FAKE_RING_RAM_BASE + 0x4000)
#define FAKE_RING_USED_GPA  (FAKE_RING_RAM_BASE + 0x6000)

struct fake_ring_layout {
    uint64_t ram_base, ram_size; /* ram_size: a multiple of 4 KiB */
    uint16_t size;               /* ring entries the helpers index with */
    uint64_t desc_gpa, avail_gpa, used_gpa;
};

struct fake_ring {
    uint8_t *ram; /* host view of [ram_base, ram_base + ram_size) */
    struct gmem mem;
    struct fake_ring_layout l;
    uint16_t avail_idx; /* the driver's copy */
    struct virtq vq;    /* fake_ring_new() only */
};

/* Guest RAM and ring addresses as in *l; tables zeroed, no queue. */
struct fake_ring *fake_ring_create(const struct fake_ring_layout *l);
/* The fixed layout with r->vq initialised to size entries and enabled with these extensions. */
struct fake_ring *fake_ring_new_ext(uint16_t size, bool event_idx, bool indirect);
/* fake_ring_new_ext(size, false, true). */
struct fake_ring *fake_ring_new(uint16_t size);
void fake_ring_free(struct fake_ring *r);

/* Host pointer to gpa; asserts that [gpa, gpa + len) is inside the fake RAM. */
void *fake_ring_ptr(struct fake_ring *r, uint64_t gpa, uint64_t len);
/* fake_ring_ptr(r, gpa, 1). */
void *fake_ring_host(struct fake_ring *r, uint64_t gpa);

/* Descriptor i of the table at table_gpa (an indirect table, or the ring's own). */
void fake_ring_desc_at(struct fake_ring *r, uint64_t table_gpa, uint16_t i, uint64_t addr,
                       uint32_t len, uint16_t flags, uint16_t next);
/* Descriptor i of the ring's table. */
void fake_ring_desc(struct fake_ring *r, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                    uint16_t next);
/* Makes head available and publishes the new avail->idx (release), as a driver does. */
void fake_ring_post(struct fake_ring *r, uint16_t head);

struct vring_avail *fake_ring_avail(struct fake_ring *r);
struct vring_used *fake_ring_used(struct fake_ring *r);
/* used->idx as the device last published it (acquire: entries before it are visible). */
uint16_t fake_ring_used_idx(struct fake_ring *r);
/* EVENT_IDX fields: used_event (the driver's, after avail->ring) and avail_event (the device's). */
uint16_t *fake_ring_used_event(struct fake_ring *r);
uint16_t *fake_ring_avail_event(struct fake_ring *r);
/* A driver after reset: tables zeroed, avail_idx 0. */
void fake_ring_clear(struct fake_ring *r);

#endif
