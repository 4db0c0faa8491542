// SPDX-License-Identifier: MIT
#include "devices/virtio/blk_req.h"

#include <endian.h>
#include <string.h>

#include "devices/virtio/iov.h"

#define BLK_HEADER_SIZE sizeof(struct virtio_blk_outhdr)
#define BLK_RANGE_SIZE  sizeof(struct virtio_blk_discard_write_zeroes)
#define BLK_MAX_SECTOR  (UINT64_MAX >> BLK_SECTOR_SHIFT)

static enum blk_parse_result finish(struct blk_request *r, uint8_t status)
{
    r->status = status;
    return BLK_PARSE_STATUS;
}

/* [sector, sector + bytes) must lie on the disk, in whole logical blocks. */
static bool range_ok(const struct blk_geometry *geo, uint64_t sector, uint64_t bytes,
                     uint64_t *offset)
{
    /* A capacity past 2^64 bytes cannot come from a real disk, but must not wrap either. */
    uint64_t end,
        disk_end = geo->capacity > BLK_MAX_SECTOR ? UINT64_MAX : geo->capacity << BLK_SECTOR_SHIFT;

    if (sector > BLK_MAX_SECTOR)
        return false;
    *offset = sector << BLK_SECTOR_SHIFT;
    if (__builtin_add_overflow(*offset, bytes, &end) || end > disk_end)
        return false;
    return !(*offset % geo->block_size) && !(bytes % geo->block_size);
}

/* The data buffers: readable ones after the header (to the disk) or writable ones (from it). */
static bool slice_data(const struct vq_chain *c, bool to_disk, struct blk_request *r)
{
    int n;

    if (to_disk)
        n = iov_slice(c->iov, c->n_rd, BLK_HEADER_SIZE, c->rd_len - BLK_HEADER_SIZE, r->data,
                      BLK_SEG_MAX);
    else
        n = iov_slice(c->iov + c->n_rd, c->n_wr, 0, c->wr_len - 1u, r->data, BLK_SEG_MAX);
    if (n < 0)
        return false;
    r->nr_data = (unsigned int)n;
    return true;
}

static enum blk_parse_result parse_rw(const struct vq_chain *c, const struct blk_geometry *geo,
                                      uint64_t sector, struct blk_request *r)
{
    bool write = r->type == VIRTIO_BLK_T_OUT;

    if (write && geo->readonly)
        return finish(r, VIRTIO_BLK_S_IOERR); /* whatever the driver negotiated */
    r->io = write ? BLK_IO_WRITE : BLK_IO_READ;
    r->len = write ? c->rd_len - BLK_HEADER_SIZE : c->wr_len - 1u;
    if (r->len % BLK_SECTOR_SIZE || !range_ok(geo, sector, r->len, &r->offset) ||
        !slice_data(c, write, r))
        return finish(r, VIRTIO_BLK_S_IOERR);
    return BLK_PARSE_IO;
}

/* DISCARD and WRITE_ZEROES: one range after the header; kvmini offers max_*_seg = 1. */
static enum blk_parse_result parse_range(const struct vq_chain *c, const struct blk_geometry *geo,
                                         struct blk_request *r)
{
    bool zeroes = r->type == VIRTIO_BLK_T_WRITE_ZEROES;
    struct virtio_blk_discard_write_zeroes range;
    uint32_t flags, sectors, allowed = zeroes ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;
    uint64_t bytes = c->rd_len - BLK_HEADER_SIZE;

    /* First: a read-only device offers neither feature, yet a write is an IOERR, as for OUT. */
    if (geo->readonly)
        return finish(r, VIRTIO_BLK_S_IOERR);
    if (!(zeroes ? geo->write_zeroes : geo->discard))
        return finish(r, VIRTIO_BLK_S_UNSUPP);
    if (bytes > BLK_RANGE_SIZE && !(bytes % BLK_RANGE_SIZE))
        return finish(r, VIRTIO_BLK_S_UNSUPP); /* more segments than max_*_seg */
    if (bytes != BLK_RANGE_SIZE ||
        iov_to_buf(c->iov, c->n_rd, BLK_HEADER_SIZE, &range, sizeof(range)) != sizeof(range))
        return finish(r, VIRTIO_BLK_S_IOERR);
    flags = le32toh(range.flags);
    sectors = le32toh(range.num_sectors);
    if (flags & ~allowed)
        return finish(r, VIRTIO_BLK_S_UNSUPP); /* unknown flags, or unmap on a discard */
    if (sectors > BLK_MAX_RANGE_SECTORS ||
        !range_ok(geo, le64toh(range.sector), (uint64_t)sectors << BLK_SECTOR_SHIFT, &r->offset))
        return finish(r, VIRTIO_BLK_S_IOERR);
    r->io = zeroes ? BLK_IO_WRITE_ZEROES : BLK_IO_DISCARD;
    r->len = (uint64_t)sectors << BLK_SECTOR_SHIFT;
    return BLK_PARSE_IO;
}

enum blk_parse_result blk_parse(const struct vq_chain *c, const struct blk_geometry *geo,
                                struct blk_request *r)
{
    struct virtio_blk_outhdr hdr;
    const struct iovec *last;

    r->status_byte = NULL;
    r->nr_data = 0;
    r->offset = r->len = 0;
    r->status = VIRTIO_BLK_S_OK;
    if (c->rd_len < BLK_HEADER_SIZE || c->wr_len < 1 || !c->n_wr)
        return BLK_PARSE_MALFORMED;
    last = &c->iov[c->n_rd + c->n_wr - 1];
    r->status_byte = (uint8_t *)last->iov_base + last->iov_len - 1;
    /* Copied once: the guest may rewrite the header while we look at it. */
    iov_to_buf(c->iov, c->n_rd, 0, &hdr, sizeof(hdr));
    r->type = le32toh(hdr.type);

    switch (r->type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        return parse_rw(c, geo, le64toh(hdr.sector), r);
    case VIRTIO_BLK_T_FLUSH:
        r->io = BLK_IO_FLUSH;
        return BLK_PARSE_IO;
    case VIRTIO_BLK_T_GET_ID:
        if (!slice_data(c, false, r))
            return finish(r, VIRTIO_BLK_S_IOERR);
        return BLK_PARSE_GET_ID;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        return parse_range(c, geo, r);
    default:
        return finish(r, VIRTIO_BLK_S_UNSUPP);
    }
}
