// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for devices/virtio/blk_req.c: the input is one descriptor chain as vq_pop()
 * hands it over (buffers inside guest RAM, readable ones first, none empty) plus the disk's
 * geometry; fuzz_virtqueue covers how chains come out of a ring. The harness checks that
 * whatever blk_parse() accepts stays on the disk and inside the chain's own buffers.
 *
 * Input layout (little-endian):
 *   0  u8  flags: bit0 read-only, bit1 DISCARD, bit2 WRITE_ZEROES
 *   1  u8  log2 block size (mod 4: 512..4096)
 *   2  u64 capacity in sectors (the harness rounds it down to whole blocks)
 *   10 u8  number of buffers (mod 16, + 1)
 *   11 buffers: {u16 RAM offset, u16 length, u8 writable} each
 *   then the RAM image: headers, discard ranges (the rest of RAM is zero)
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "devices/virtio/blk_req.h"

#define RAM_SIZE 0x10000 /* 64 KiB: offsets are u16 */
#define HDR_SIZE 11
#define SEG_SIZE 5

static uint8_t ram[RAM_SIZE];
static struct vq_chain chain;
static struct blk_request req;

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int in_ram(const void *p, size_t len)
{
    const uint8_t *b = p;

    return b >= ram && len <= RAM_SIZE && (size_t)(b - ram) <= RAM_SIZE - len;
}

/* Readable buffers first, as vq_pop() guarantees; zero-length ones never get this far. */
static size_t build_chain(const uint8_t *segs, unsigned int n)
{
    chain.n_rd = chain.n_wr = 0;
    chain.rd_len = chain.wr_len = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned int i = 0; i < n; i++) {
            const uint8_t *s = segs + SEG_SIZE * i;
            uint32_t off = (uint32_t)(s[0] | s[1] << 8), len = (uint32_t)(s[2] | s[3] << 8);
            int writable = s[4] & 1;

            if (writable != pass || !len)
                continue;
            if (len > RAM_SIZE - off)
                len = RAM_SIZE - off;
            if (!len)
                continue;
            chain.iov[chain.n_rd + chain.n_wr] = (struct iovec){ ram + off, len };
            if (writable) {
                chain.n_wr++;
                chain.wr_len += len;
            } else {
                chain.n_rd++;
                chain.rd_len += len;
            }
        }
    }
    return (size_t)chain.n_rd + chain.n_wr;
}

static uint64_t data_bytes(const struct blk_request *r)
{
    uint64_t total = 0;

    for (unsigned int i = 0; i < r->nr_data; i++) {
        CHECK(r->data[i].iov_len > 0);
        CHECK(in_ram(r->data[i].iov_base, r->data[i].iov_len));
        total += r->data[i].iov_len;
    }
    return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct blk_geometry geo;
    unsigned int nsegs;
    size_t image_at;
    uint64_t end;

    if (size < HDR_SIZE)
        return 0;
    nsegs = data[10] % 16 + 1;
    image_at = HDR_SIZE + (size_t)SEG_SIZE * nsegs;
    if (size < image_at)
        return 0;
    geo = (struct blk_geometry){
        .readonly = data[0] & 1,
        .discard = data[0] & 2,
        .write_zeroes = data[0] & 4,
        .block_size = 512u << (data[1] % 4),
    };
    geo.capacity = rd64(data + 2) & ~(uint64_t)((geo.block_size >> 9) - 1);
    memset(ram, 0, sizeof(ram));
    memcpy(ram, data + image_at, size - image_at < RAM_SIZE ? size - image_at : RAM_SIZE);
    if (!build_chain(data + HDR_SIZE, nsegs))
        return 0;

    switch (blk_parse(&chain, &geo, &req)) {
    case BLK_PARSE_MALFORMED:
        CHECK(chain.rd_len < 16 || chain.wr_len < 1);
        return 0;
    case BLK_PARSE_STATUS:
        CHECK(req.status == VIRTIO_BLK_S_IOERR || req.status == VIRTIO_BLK_S_UNSUPP);
        break;
    case BLK_PARSE_GET_ID:
        CHECK(data_bytes(&req) == chain.wr_len - 1u);
        break;
    case BLK_PARSE_IO:
        CHECK(!__builtin_add_overflow(req.offset, req.len, &end));
        CHECK(end / 512 <= geo.capacity); /* end is whole blocks: no rounding */
        CHECK(req.offset % geo.block_size == 0 && req.len % geo.block_size == 0);
        if (req.io == BLK_IO_READ || req.io == BLK_IO_WRITE)
            CHECK(data_bytes(&req) == req.len);
        if (req.io != BLK_IO_READ && req.io != BLK_IO_FLUSH)
            CHECK(!geo.readonly);
        if (req.io == BLK_IO_DISCARD)
            CHECK(geo.discard);
        if (req.io == BLK_IO_WRITE_ZEROES)
            CHECK(geo.write_zeroes);
        break;
    }
    /* The status goes to the last byte of the last writable buffer, which is in RAM. */
    CHECK(in_ram(req.status_byte, 1));
    CHECK(req.status_byte == (uint8_t *)chain.iov[chain.n_rd + chain.n_wr - 1].iov_base +
                                 chain.iov[chain.n_rd + chain.n_wr - 1].iov_len - 1);
    return 0;
}
