// SPDX-License-Identifier: MIT
/*
 * virtio-blk request parsing on hand-built chains (what vq_pop() hands the device): every way a
 * driver can get the header, the lengths, the sectors or the ranges wrong.
 */
#include <check.h>
#include <string.h>

#include "devices/virtio/blk_req.h"
#include "tests/unit/unit.h"

static uint8_t mem[64 * 1024];
static struct vq_chain chain;
static struct blk_request req;

static const struct blk_geometry disk = { .capacity = 2048, .block_size = 512 };

static void chain_reset(void)
{
    memset(&chain, 0, sizeof(chain));
}

static void add(uint32_t off, uint32_t len, bool writable)
{
    chain.iov[chain.n_rd + chain.n_wr] = (struct iovec){ mem + off, len };
    if (writable) {
        chain.n_wr++;
        chain.wr_len += len;
    } else {
        chain.n_rd++;
        chain.rd_len += len;
    }
}

static void header_at(uint32_t off, uint32_t type, uint64_t sector)
{
    struct virtio_blk_outhdr h = { .type = type, .sector = sector };

    memcpy(mem + off, &h, sizeof(h));
}

/* header, data of len bytes (readable for OUT), status byte */
static enum blk_parse_result rw(uint32_t type, uint64_t sector, uint32_t len,
                                const struct blk_geometry *geo)
{
    chain_reset();
    header_at(0, type, sector);
    add(0, 16, false);
    if (len)
        add(0x1000, len, type == VIRTIO_BLK_T_IN);
    add(0x100, 1, true);
    return blk_parse(&chain, geo, &req);
}

START_TEST(read_and_write_in_range)
{
    ck_assert_int_eq(rw(VIRTIO_BLK_T_IN, 2040, 4096, &disk), BLK_PARSE_IO);
    ck_assert_int_eq(req.io, BLK_IO_READ);
    ck_assert_uint_eq(req.offset, 2040 * 512);
    ck_assert_uint_eq(req.len, 4096);
    ck_assert_uint_eq(req.nr_data, 1);
    ck_assert_ptr_eq(req.status_byte, mem + 0x100);
    ck_assert_int_eq(rw(VIRTIO_BLK_T_OUT, 0, 512, &disk), BLK_PARSE_IO);
    ck_assert_int_eq(req.io, BLK_IO_WRITE);
}
END_TEST

START_TEST(past_the_end_is_an_io_error)
{
    ck_assert_int_eq(rw(VIRTIO_BLK_T_IN, 2041, 4096, &disk), BLK_PARSE_STATUS);
    ck_assert_uint_eq(req.status, VIRTIO_BLK_S_IOERR);
    ck_assert_int_eq(rw(VIRTIO_BLK_T_OUT, 2048, 512, &disk), BLK_PARSE_STATUS);
    ck_assert_uint_eq(req.status, VIRTIO_BLK_S_IOERR);
    /* sector * 512 and offset + len must not wrap around to a small offset */
    ck_assert_int_eq(rw(VIRTIO_BLK_T_OUT, UINT64_MAX / 256, 512, &disk), BLK_PARSE_STATUS);
    ck_assert_int_eq(rw(VIRTIO_BLK_T_OUT, UINT64_MAX >> 9, 512, &disk), BLK_PARSE_STATUS);
    ck_assert_uint_eq(req.status, VIRTIO_BLK_S_IOERR);
}
END_TEST

START_TEST(lengths_must_be_whole_blocks)
{
    const struct blk_geometry big = { .capacity = 2048, .block_size = 4096 };

    ck_assert_int_eq(rw(VIRTIO_BLK_T_IN, 0, 100, &disk), BLK_PARSE_STATUS);
    ck_assert_uint_eq(req.status, VIRTIO_BLK_S_IOERR);
    ck_assert_int_eq(rw(VIRTIO_BLK_T_IN, 1, 4096, &big), BLK_PARSE_STATUS);
    ck_assert_int_eq(rw(VIRTIO_BLK_T_IN, 8, 512, &big), BLK_PARSE_STATUS);
    ck_assert_int_eq(rw(VIRTIO_BLK_T_IN, 8, 4096, &big), BLK_PARSE_IO);
    /* No data at all is a valid (empty) request. */
    ck_assert_int_eq(rw(VIRTIO_BLK_T_IN, 0, 0, &disk), BLK_PARSE_IO);
    ck_assert_uint_eq(req.len, 0);
}
END_TEST

START_TEST(read_only_refuses_writes_whatever_was_negotiated)
{
    struct blk_geometry ro = disk;

    ro.readonly = true;
    ro.discard = ro.write_zeroes = true; /* a driver that acked them anyway */
    ck_assert_int_eq(rw(VIRTIO_BLK_T_OUT, 0, 512, &ro), BLK_PARSE_STATUS);
    ck_assert_uint_eq(req.status, VIRTIO_BLK_S_IOERR);
    ck_assert_int_eq(rw(VIRTIO_BLK_T_IN, 0, 512, &ro), BLK_PARSE_IO);
    ck_assert_int_eq(rw(VIRTIO_BLK_T_FLUSH, 0, 0, &ro), BLK_PARSE_IO);
}
END_TEST

START_TEST(header_split_across_buffers)
{
    chain_reset();
    header_at(0x200, VIRTIO_BLK_T_OUT, 7);
    add(0x200, 3, false);
    add(0x203, 13, false);
    add(0x1000, 512, false);
    add(0x100, 1, true);
    ck_assert_int_eq(blk_parse(&chain, &disk, &req), BLK_PARSE_IO);
    ck_assert_uint_eq(req.offset, 7 * 512);
    ck_assert_uint_eq(req.len, 512);
    ck_assert_ptr_eq(req.data[0].iov_base, mem + 0x1000);

    /* Data and header in one buffer: the data starts right after the 16 header bytes. */
    chain_reset();
    header_at(0x2000, VIRTIO_BLK_T_OUT, 1);
    add(0x2000, 16 + 1024, false);
    add(0x100, 1, true);
    ck_assert_int_eq(blk_parse(&chain, &disk, &req), BLK_PARSE_IO);
    ck_assert_ptr_eq(req.data[0].iov_base, mem + 0x2010);
    ck_assert_uint_eq(req.data[0].iov_len, 1024);
}
END_TEST

START_TEST(status_byte_shares_the_last_buffer)
{
    chain_reset();
    header_at(0, VIRTIO_BLK_T_IN, 0);
    add(0, 16, false);
    add(0x1000, 513, true);
    ck_assert_int_eq(blk_parse(&chain, &disk, &req), BLK_PARSE_IO);
    ck_assert_uint_eq(req.len, 512);
    ck_assert_ptr_eq(req.status_byte, mem + 0x1000 + 512);
}
END_TEST

START_TEST(malformed_without_header_or_status)
{
    chain_reset();
    add(0, 15, false);
    add(0x100, 1, true);
    ck_assert_int_eq(blk_parse(&chain, &disk, &req), BLK_PARSE_MALFORMED);
    chain_reset();
    header_at(0, VIRTIO_BLK_T_OUT, 0);
    add(0, 16 + 512, false);
    ck_assert_int_eq(blk_parse(&chain, &disk, &req), BLK_PARSE_MALFORMED);
}
END_TEST

START_TEST(too_many_data_buffers)
{
    chain_reset();
    header_at(0, VIRTIO_BLK_T_IN, 0);
    add(0, 16, false);
    for (int i = 0; i < BLK_SEG_MAX + 1; i++)
        add(0x1000 + 512 * (i % 64), 512, true);
    add(0x100, 1, true);
    ck_assert_int_eq(blk_parse(&chain, &disk, &req), BLK_PARSE_STATUS);
    ck_assert_uint_eq(req.status, VIRTIO_BLK_S_IOERR);
}
END_TEST

START_TEST(get_id_and_unknown_types)
{
    chain_reset();
    header_at(0, VIRTIO_BLK_T_GET_ID, 0);
    add(0, 16, false);
    add(0x1000, 20, true);
    add(0x100, 1, true);
    ck_assert_int_eq(blk_parse(&chain, &disk, &req), BLK_PARSE_GET_ID);
    ck_assert_uint_eq(req.nr_data, 1);
    ck_assert_uint_eq(req.data[0].iov_len, 20);

    ck_assert_int_eq(rw(VIRTIO_BLK_T_SCSI_CMD, 0, 0, &disk), BLK_PARSE_STATUS);
    ck_assert_uint_eq(req.status, VIRTIO_BLK_S_UNSUPP);
    ck_assert_int_eq(rw(0x12345, 0, 0, &disk), BLK_PARSE_STATUS);
    ck_assert_uint_eq(req.status, VIRTIO_BLK_S_UNSUPP);
}
END_TEST

static enum blk_parse_result range(uint32_t type, uint64_t sector, uint32_t sectors, uint32_t flags,
                                   int nseg, const struct blk_geometry *geo)
{
    struct virtio_blk_discard_write_zeroes r = { .sector = sector,
                                                 .num_sectors = sectors,
                                                 .flags = flags };

    chain_reset();
    header_at(0, type, 0);
    for (int i = 0; i < nseg; i++)
        memcpy(mem + 16 + 16 * i, &r, sizeof(r));
    add(0, 16 + 16 * (uint32_t)nseg, false);
    add(0x100, 1, true);
    return blk_parse(&chain, geo, &req);
}

START_TEST(discard_and_write_zeroes)
{
    struct blk_geometry g = disk;

    ck_assert_int_eq(range(VIRTIO_BLK_T_DISCARD, 8, 16, 0, 1, &g), BLK_PARSE_STATUS);
    ck_assert_uint_eq(req.status, VIRTIO_BLK_S_UNSUPP); /* not negotiated */
    g.discard = g.write_zeroes = true;
    ck_assert_int_eq(range(VIRTIO_BLK_T_DISCARD, 8, 16, 0, 1, &g), BLK_PARSE_IO);
    ck_assert_int_eq(req.io, BLK_IO_DISCARD);
    ck_assert_uint_eq(req.offset, 8 * 512);
    ck_assert_uint_eq(req.len, 16 * 512);
    ck_assert_int_eq(
        range(VIRTIO_BLK_T_WRITE_ZEROES, 0, 2048, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1, &g),
        BLK_PARSE_IO);
    ck_assert_int_eq(req.io, BLK_IO_WRITE_ZEROES);

    /* unmap on a discard, unknown flags, more ranges than max_*_seg */
    ck_assert_int_eq(range(VIRTIO_BLK_T_DISCARD, 0, 1, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1, &g),
                     BLK_PARSE_STATUS);
    ck_assert_uint_eq(req.status, VIRTIO_BLK_S_UNSUPP);
    ck_assert_int_eq(range(VIRTIO_BLK_T_WRITE_ZEROES, 0, 1, 0x80, 1, &g), BLK_PARSE_STATUS);
    ck_assert_uint_eq(req.status, VIRTIO_BLK_S_UNSUPP);
    ck_assert_int_eq(range(VIRTIO_BLK_T_DISCARD, 0, 1, 0, 2, &g), BLK_PARSE_STATUS);
    ck_assert_uint_eq(req.status, VIRTIO_BLK_S_UNSUPP);
    /* past the end, wrapping, no range at all */
    ck_assert_int_eq(range(VIRTIO_BLK_T_DISCARD, 2040, 16, 0, 1, &g), BLK_PARSE_STATUS);
    ck_assert_uint_eq(req.status, VIRTIO_BLK_S_IOERR);
    ck_assert_int_eq(range(VIRTIO_BLK_T_DISCARD, UINT64_MAX - 1, 4, 0, 1, &g), BLK_PARSE_STATUS);
    ck_assert_uint_eq(req.status, VIRTIO_BLK_S_IOERR);
    ck_assert_int_eq(range(VIRTIO_BLK_T_DISCARD, 0, 1, 0, 0, &g), BLK_PARSE_STATUS);
    ck_assert_uint_eq(req.status, VIRTIO_BLK_S_IOERR);
    g.readonly = true;
    ck_assert_int_eq(range(VIRTIO_BLK_T_WRITE_ZEROES, 0, 1, 0, 1, &g), BLK_PARSE_STATUS);
    ck_assert_uint_eq(req.status, VIRTIO_BLK_S_IOERR);
}
END_TEST

START_TEST(iov_copies_stop_at_the_end)
{
    struct iovec iov[2] = { { mem, 3 }, { mem + 10, 4 } };
    uint8_t buf[16];

    memcpy(mem, "abc", 3);
    memcpy(mem + 10, "defg", 4);
    ck_assert_uint_eq(iov_to_buf(iov, 2, 2, buf, sizeof(buf)), 5);
    ck_assert_int_eq(memcmp(buf, "cdefg", 5), 0);
    ck_assert_uint_eq(iov_from_buf(iov, 2, 0, "0123456789", 10), 7);
    ck_assert_int_eq(memcmp(mem + 10, "3456", 4), 0);
    /* With a skip: the first 4 bytes (the whole first buffer and one more) stay. */
    ck_assert_uint_eq(iov_from_buf(iov, 2, 4, "xyz", 3), 3);
    ck_assert_int_eq(memcmp(mem, "012", 3), 0);
    ck_assert_int_eq(memcmp(mem + 10, "3xyz", 4), 0);
    ck_assert_uint_eq(iov_from_buf(iov, 2, 7, "!", 1), 0);
}
END_TEST

static Suite *blk_req_suite(void)
{
    Suite *s = suite_create("blk_req");
    TCase *tc = tcase_create("parse");

    tcase_add_test(tc, read_and_write_in_range);
    tcase_add_test(tc, past_the_end_is_an_io_error);
    tcase_add_test(tc, lengths_must_be_whole_blocks);
    tcase_add_test(tc, read_only_refuses_writes_whatever_was_negotiated);
    tcase_add_test(tc, header_split_across_buffers);
    tcase_add_test(tc, status_byte_shares_the_last_buffer);
    tcase_add_test(tc, malformed_without_header_or_status);
    tcase_add_test(tc, too_many_data_buffers);
    tcase_add_test(tc, get_id_and_unknown_types);
    tcase_add_test(tc, discard_and_write_zeroes);
    tcase_add_test(tc, iov_copies_stop_at_the_end);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(blk_req_suite());
}
