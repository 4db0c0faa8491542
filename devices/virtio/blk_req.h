/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk requests: turning one popped descriptor chain into a checked request, with no I/O.
 * Kept apart from the device so the parser can be tested and fuzzed on its own: everything a
 * guest controls in a request (header, lengths, sectors, discard segments) is judged here.
 *
 * A chain is: a 16-byte header (struct virtio_blk_outhdr) in device-readable buffers, then the
 * data (readable for OUT/DISCARD/WRITE_ZEROES, writable for IN/GET_ID), then one status byte,
 * the last byte of the last writable buffer. The header may be split across buffers; the spec
 * forbids relying on any framing.
 */
#ifndef KVMINI_DEVICES_VIRTIO_BLK_REQ_H
#define KVMINI_DEVICES_VIRTIO_BLK_REQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_blk.h>

#include "devices/virtio/iov.h"
#include "devices/virtio/virtqueue.h"

#define BLK_SECTOR_SHIFT 9
#define BLK_SECTOR_SIZE  (1U << BLK_SECTOR_SHIFT)
/* Data buffers per request (config seg_max): a 256-entry queue minus header and status. */
#define BLK_SEG_MAX 254
/* One DISCARD/WRITE_ZEROES request carries one range; its longest (config max_*_sectors). */
#define BLK_MAX_RANGE_SECTORS (1U << 22) /* 2 GiB */

/* What the device offers that the parser must know about. */
struct blk_geometry {
    uint64_t capacity;   /* in 512-byte sectors */
    uint32_t block_size; /* the disk's logical block size: O_DIRECT alignment */
    bool readonly;
    bool discard;      /* VIRTIO_BLK_F_DISCARD negotiated */
    bool write_zeroes; /* VIRTIO_BLK_F_WRITE_ZEROES negotiated */
};

enum blk_parse_result {
    BLK_PARSE_IO,        /* submit: op, offset, len, data */
    BLK_PARSE_GET_ID,    /* answer from the serial: data is the writable buffer */
    BLK_PARSE_STATUS,    /* finished already: write status, nothing else */
    BLK_PARSE_MALFORMED, /* no header or no status byte: the device must be reset */
};

enum blk_io {
    BLK_IO_READ,
    BLK_IO_WRITE,
    BLK_IO_FLUSH,
    BLK_IO_DISCARD,
    BLK_IO_WRITE_ZEROES,
};

struct blk_request {
    uint32_t type; /* VIRTIO_BLK_T_* as the guest sent it */
    enum blk_io io;
    uint64_t offset; /* bytes */
    uint64_t len;    /* bytes: data length for READ/WRITE, the range for DISCARD/WRITE_ZEROES */
    uint8_t status;  /* BLK_PARSE_STATUS: VIRTIO_BLK_S_* */
    uint8_t *status_byte; /* in guest memory; NULL only when MALFORMED */
    struct iovec data[BLK_SEG_MAX];
    unsigned int nr_data;
};

/* Parses c against geo into *r. Never touches memory outside the chain's buffers. */
enum blk_parse_result blk_parse(const struct vq_chain *c, const struct blk_geometry *geo,
                                struct blk_request *r);

#endif
