/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.x, modern only), device side.
 *
 * Everything in a ring is written by the guest and may change while we read it, so the rules are:
 * every guest range goes through gmem_ptr() whole, every descriptor is copied once into host memory
 * before it is checked and used, and any malformation marks the queue broken (vq_pop() < 0) instead
 * of being worked around. A broken queue stays broken until vq_reset(); the device then sets
 * DEVICE_NEEDS_RESET (virtio_set_needs_reset()) and stops using it.
 *
 * Threading: one thread (the device's I/O thread) pops, pushes and notifies. Configuration
 * (vq_enable, vq_reset) happens while that thread is not using the queue.
 */
#ifndef KVMINI_DEVICES_VIRTIO_VIRTQUEUE_H
#define KVMINI_DEVICES_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_ring.h>

#include "vmm/mem/gmem.h"

/* Largest queue size any device may offer (split rings allow 32768; QEMU stops at 1024 too). */
#define VQ_MAX_SIZE 1024
/* Most buffers in one chain, direct and indirect together; also the largest indirect table. */
#define VQ_MAX_SEGS 1024

struct virtq {
    struct gmem *mem;
    uint16_t max_size; /* what the device offers; the driver may pick a smaller power of two */
    uint16_t size;

    /* Guest-physical addresses the driver configured; host pointers cached by vq_enable(). */
    uint64_t desc_gpa, avail_gpa, used_gpa;
    struct vring_desc *desc;
    struct vring_avail *avail;
    struct vring_used *used;

    bool ready;     /* enabled by the driver and validated */
    bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
    bool indirect;  /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
    bool broken;
    const char *broken_why; /* static string for the device's one log line */

    uint16_t last_avail_idx; /* next avail ring slot we will consume */
    uint16_t used_idx;       /* our copy of used->idx: the guest may scribble on the shared one */
    uint16_t signalled_used; /* used_idx when vq_should_notify() last ran (0 at enable) */
    unsigned int inflight;   /* chains popped and not pushed yet */
    uint64_t busy[VQ_MAX_SIZE / 64]; /* heads in flight: a head the guest re-posts is an error */
};

/*
 * One popped descriptor chain, in host terms. iov[0..n_rd) are device-readable buffers,
 * iov[n_rd..n_rd+n_wr) device-writable ones (the spec puts all writable buffers last, so one array
 * serves readv/writev-style backends directly). Pointers stay valid for the VM's lifetime; the
 * guest may still change the bytes behind them at any time, so device code copies what it parses.
 */
struct vq_chain {
    uint16_t head;
    uint16_t n_rd, n_wr;
    uint32_t rd_len, wr_len; /* totals; a chain never exceeds 4 GiB - 1 */
    struct iovec iov[VQ_MAX_SEGS];
};

static inline struct iovec *vq_chain_wr(struct vq_chain *c)
{
    return &c->iov[c->n_rd];
}

/* Resets vq to "not configured", size max_size (a power of two, 1..VQ_MAX_SIZE). 0, -EINVAL. */
int vq_init(struct virtq *vq, struct gmem *mem, uint16_t max_size);

/* Back to the state after vq_init(): addresses, indices, broken and in-flight chains forgotten. */
void vq_reset(struct virtq *vq);

/*
 * Driver choice of size before enabling: a power of two in 1..max_size. 0, -EINVAL (unchanged),
 * -EBUSY once enabled.
 */
int vq_set_size(struct virtq *vq, uint16_t size);

/*
 * The driver enabled the queue: checks the three tables (alignment 16/2/4, whole extent in guest
 * RAM, used_event/avail_event included) and caches host pointers. 0, -EINVAL for a misaligned
 * table or no size, -EFAULT for one outside RAM, -EBUSY if already enabled. On error the queue
 * stays disabled. Feature flags (event_idx, indirect) must be set before.
 */
int vq_enable(struct virtq *vq);

/*
 * Takes the next available chain. 1 = *chain filled (push it exactly once), 0 = nothing available
 * (or queue not enabled), < 0 = malformed ring: vq->broken is set and every later call fails
 * (-EIO) until vq_reset(). -EINVAL for a structural error, -EFAULT for a buffer outside RAM.
 * Zero-length buffers are rejected (-EINVAL), as QEMU does: no driver produces them.
 */
int vq_pop(struct virtq *vq, struct vq_chain *chain);

/*
 * vq_pop(), and when the queue looks drained, vq_set_avail_event() and a second look: what a
 * device's loop wants, so that a chain posted in between is not left without a kick. Same results.
 */
int vq_pop_or_arm(struct virtq *vq, struct vq_chain *chain);

/*
 * Gives back the chain popped last (head), unused: the next vq_pop() returns it again, read
 * afresh. For a device that found it needs more buffers than the ring holds now (a network frame
 * spread over several). Unpop in reverse order of popping. 0, -EINVAL for a head not in flight,
 * -EIO when broken.
 */
int vq_unpop(struct virtq *vq, uint16_t head);

/*
 * Returns chain head to the driver with `written` bytes written into its writable buffers and
 * publishes it. 0; -EINVAL if head is not in flight (never popped, or pushed twice); -EIO when
 * broken (nothing written: the driver will reset).
 */
int vq_push(struct virtq *vq, uint16_t head, uint32_t written);

/*
 * Whether the driver wants an interrupt for what was pushed since the last call: never when nothing
 * was pushed; otherwise used_event (EVENT_IDX) or VRING_AVAIL_F_NO_INTERRUPT decides.
 */
bool vq_should_notify(struct virtq *vq);

/*
 * Call when the queue looks drained. With EVENT_IDX, asks the driver to kick on the next buffer
 * (avail_event = last_avail_idx); then re-reads avail->idx. true = buffers arrived in between:
 * pop again instead of sleeping, or that kick is lost.
 */
bool vq_set_avail_event(struct virtq *vq);

#endif
