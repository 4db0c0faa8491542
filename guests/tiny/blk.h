/* SPDX-License-Identifier: MIT */
/*
 * The virtio-blk tiny guest, shared by its three modes: check (blk.c), bench (blk_bench.c) and
 * malformed (blk_bad.c). One device, one queue, everything polled.
 */
#ifndef TINY_BLK_H
#define TINY_BLK_H

#include <linux/virtio_blk.h>

#include "guests/tiny/virtio_pci_drv.h"

#define VIRTIO_PCI_ID_BLK 0x1042
#define SECTOR            512
#define BLK_STATUS_NONE   0xff /* preset before submitting: the device must overwrite it */

/* Exit statuses: 0 pass, 1 a check failed, 2 bad command line, 3 the device is unusable. */
#define BLK_EXIT_FAIL  1
#define BLK_EXIT_USAGE 2
#define BLK_EXIT_DEV   3

struct blk {
    struct vpci_dev dev;
    struct vq *q;
    uint64_t want;     /* features asked for (blk_init) */
    uint64_t capacity; /* sectors */
    uint32_t blk_size; /* bytes; 512 unless BLK_SIZE says more */
    uint32_t seg_max, size_max;
    uint32_t max_discard_sectors, max_discard_seg, discard_align;
    uint32_t max_wz_sectors, max_wz_seg;
};

/* Per-request memory the device reads (header) and writes (status), one per in-flight request. */
struct blk_slot {
    struct virtio_blk_outhdr hdr;
    uint8_t status;
    bool busy;
    uint64_t sector;
    uint32_t nseg;
    uint32_t seg_len[3], seg_off[3]; /* check mode's bookkeeping */
} __attribute__((aligned(16)));

#define BLK_SLOTS VQ_MAX_SIZE
extern struct blk_slot blk_slots[BLK_SLOTS];

/*
 * Finds the disk (cmdline disk=N picks the Nth virtio-blk function, default 0), negotiates,
 * reads the configuration and starts queue 0. Honours noindirect / noeventidx. 0 or -1.
 */
int blk_init(struct blk *b, const char *cmdline);
/* Reset and blk_init's steps again on the same device (after NEEDS_RESET). 0 or -1. */
int blk_reinit(struct blk *b);

/*
 * Queues request type/sector with data buffers (at most VQ_IND_MAX - 2) around slot's header
 * and status byte; indirect asks for one indirect descriptor. Not published. 0, or -1 when the
 * ring is full.
 */
int blk_queue(struct blk *b, struct blk_slot *s, uint32_t type, uint64_t sector,
              const struct vq_buf *data, unsigned int n, bool indirect);

enum blk_wait_result { BLK_WAIT_TIMEOUT, BLK_WAIT_DONE, BLK_WAIT_NEEDS_RESET };
/* Polls for one completion (slot in *s) or DEVICE_NEEDS_RESET, for up to `seconds`. */
enum blk_wait_result blk_wait(struct blk *b, struct blk_slot **s, unsigned int seconds);

/* One request, published and waited for: its status byte, or -1 (timeout, needs reset). */
int blk_sync(struct blk *b, uint32_t type, uint64_t sector, const struct vq_buf *data,
             unsigned int n, bool indirect);

int blk_bench(struct blk *b, const char *cmdline);
int blk_malformed(struct blk *b, const char *cmdline);
int blk_storm(struct blk *b, const char *cmdline);

const char *blk_status_name(int status);

#endif
