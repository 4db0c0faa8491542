/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk: one request queue in front of a host disk (devices/disk/). Transport-independent:
 * the machine wraps blk_vdev() in a transport (virtio-pci).
 *
 * Request path: a kick (ioeventfd on the event loop, or a notify exit on a vCPU thread) pops every
 * available chain, parses it (blk_req.c) and hands the I/O to the disk engine in one batch; the
 * engine's completion eventfd, watched on the event loop, pushes the finished chains and raises
 * at most one interrupt per batch (EVENT_IDX permitting). No vCPU thread waits for the disk.
 */
#ifndef KVMINI_DEVICES_VIRTIO_BLK_H
#define KVMINI_DEVICES_VIRTIO_BLK_H

#include "devices/disk/disk.h"
#include "devices/virtio/virtio.h"
#include "vmm/core/evloop.h"
#include "vmm/mem/gmem.h"

#define BLK_QUEUE_SIZE 256

struct blk;

/* Counters for --stats. */
struct blk_stats {
    uint64_t reads, writes, flushes, discards, write_zeroes, get_ids, errors, unsupported;
    uint64_t bytes_read, bytes_written;
    uint64_t bounce_bytes_peak; /* cache=none: most bounce memory held at once (bounded) */
    uint64_t deferred;          /* times work was left for the next turn of the event loop */
};

/*
 * Creates a virtio-blk device on disk, which it takes over (closed by blk_destroy(), also on
 * failure). Watches the disk engine's completions on loop (before the loop starts). 0 or -errno.
 */
int blk_create(struct blk **out, struct disk *disk, struct gmem *mem, struct evloop *loop);

/* Waits for I/O in flight, closes the disk, frees the device. NULL-safe. */
void blk_destroy(struct blk *b);

struct virtio_dev *blk_vdev(struct blk *b);
const char *blk_engine_name(const struct blk *b);
void blk_get_stats(struct blk *b, struct blk_stats *out);

#endif
