// SPDX-License-Identifier: MIT
/*
 * virtio-blk end to end, the data path (harness: blk_harness.h): scattered reads and writes, many
 * requests in flight under one interrupt, FLUSH, GET_ID, DISCARD / WRITE_ZEROES, and O_DIRECT with
 * misaligned guest buffers. Each test runs once per engine.
 */
#include <check.h>
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/blk_harness.h"

/*
 * OUT with the header split over two buffers and the data over three odd-sized ones, FLUSH, then
 * IN with the status byte at the end of the last data buffer: the data survives the round trip
 * and is in the file.
 */
START_TEST(write_flush_read_back)
{
    static const uint32_t wseg[] = { 1000, 3000, 4704 }; /* 8704 = 17 sectors */
    static const uint64_t wgpa[] = { DATA_GPA, DATA_GPA + 0x10000 + 3, DATA_GPA + 0x20000 + 1 };
    const uint64_t sector = 10, len = 8704, rgpa = DATA_GPA + 0x40000;
    uint8_t src[8704], buf[8704 + 1024];
    struct virtio_blk_outhdr h = { .type = htole32(VIRTIO_BLK_T_OUT), .sector = htole64(sector) };
    struct blk_stats st;
    struct tenv e;
    uint64_t off = 0;
    uint32_t n;

    env_start(&e, _i, &(struct topts){ 0 });
    driver_init(&e, ALL);
    for (size_t i = 0; i < len; i++)
        src[i] = pat2(i, 1);

    /* Header: 10 bytes here, 6 bytes elsewhere. */
    memcpy(gp(&e, CTL_GPA(0), 10), &h, 10);
    memcpy(gp(&e, CTL_GPA(1), 6), (uint8_t *)&h + 10, 6);
    fake_ring_desc(e.r, 0, CTL_GPA(0), 10, RD | NX, 1);
    fake_ring_desc(e.r, 1, CTL_GPA(1), 6, RD | NX, 2);
    for (uint16_t i = 0; i < 3; i++) {
        memcpy(gp(&e, wgpa[i], wseg[i]), src + off, wseg[i]);
        off += wseg[i];
        fake_ring_desc(e.r, 2 + i, wgpa[i], wseg[i], RD | NX, 3 + i);
    }
    *status_byte(&e, 0) = POISON;
    fake_ring_desc(e.r, 5, STATUS_GPA(0), 1, WR, 0);
    fake_ring_post(e.r, 0);
    kick(&e);
    wait_all_used(&e);
    ck_assert_uint_eq(status(&e, 0), VIRTIO_BLK_S_OK);
    ck_assert_uint_eq(used_len(&e, 0), 1);

    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_FLUSH, 0, 0, 0, &n), VIRTIO_BLK_S_OK);
    ck_assert_uint_eq(n, 1);

    /* IN: two buffers, the status byte the last byte of the second. */
    fill(&e, rgpa, 0x20000, POISON);
    write_hdr_at(&e, CTL_GPA(2), VIRTIO_BLK_T_IN, sector);
    fake_ring_desc(e.r, 8, CTL_GPA(2), 16, RD | NX, 9);
    fake_ring_desc(e.r, 9, rgpa, 4352, WR | NX, 10);
    fake_ring_desc(e.r, 10, rgpa + 0x10000 + 5, 4352 + 1, WR, 0);
    fake_ring_post(e.r, 8);
    kick(&e);
    wait_all_used(&e);
    ck_assert_uint_eq(*(uint8_t *)gp(&e, rgpa + 0x10000 + 5 + 4352, 1), VIRTIO_BLK_S_OK);
    ck_assert_uint_eq(used_len(&e, 8), len + 1);
    ck_assert_mem_eq(gp(&e, rgpa, 4352), src, 4352);
    ck_assert_mem_eq(gp(&e, rgpa + 0x10000 + 5, 4352), src + 4352, 4352);
    ck_assert_uint_eq(*(uint8_t *)gp(&e, rgpa + 4352, 1), POISON); /* nothing past the buffer */

    /* The host file: the 17 sectors changed, the sectors around them did not. */
    host_pread(&e, buf, sizeof(buf), sector * 512 - 512);
    ASSERT_PAT(buf, 512, sector * 512 - 512);
    ck_assert_mem_eq(buf + 512, src, len);
    ASSERT_PAT(buf + 512 + len, sizeof(buf) - 512 - len, sector * 512 + len);

    st = stats(&e);
    ck_assert_uint_eq(st.writes, 1);
    ck_assert_uint_eq(st.reads, 1);
    ck_assert_uint_eq(st.flushes, 1);
    ck_assert_uint_eq(st.bytes_written, len);
    ck_assert_uint_eq(st.bytes_read, len);
    ck_assert_uint_eq(st.errors + st.unsupported, 0);
    env_stop(&e);
}
END_TEST

/*
 * 64 requests (reads, writes, flushes) made available at once, one kick. With EVENT_IDX and
 * used_event at the last of them, the driver gets exactly one interrupt for the lot.
 */
START_TEST(many_in_flight_one_interrupt)
{
    const uint32_t len = 4096;
    struct tenv e;
    uint64_t f;
    uint8_t *img;
    uint64_t size;

    env_start(&e, _i, &(struct topts){ 0 });
    f = driver_init(&e, ALL);
    ck_assert(f & F(VIRTIO_RING_F_EVENT_IDX));
    for (unsigned int i = 0; i < NR_SLOTS; i++) {
        uint64_t gpa = DATA_GPA + (uint64_t)len * i;

        switch (i % 3) {
        case 0: /* write a fresh pattern to the second MiB */
            fill_pat2(&e, gpa, len, i);
            post_simple(&e, i, VIRTIO_BLK_T_OUT, 2048 + 8 * i, gpa, len);
            break;
        case 1: /* read the first MiB */
            fill(&e, gpa, len, POISON);
            post_simple(&e, i, VIRTIO_BLK_T_IN, 8 * i, gpa, len);
            break;
        default:
            post_simple(&e, i, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
            break;
        }
    }
    *fake_ring_used_event(e.r) = NR_SLOTS - 1; /* interrupt once entry 63 is used */
    kick(&e);
    wait_all_used(&e);
    ck_assert_uint_eq(*fake_ring_avail_event(e.r), NR_SLOTS); /* device asked for the next kick */
    for (unsigned int i = 0; i < NR_SLOTS; i++) {
        ck_assert_msg(status(&e, i) == VIRTIO_BLK_S_OK, "slot %u status %u", i, status(&e, i));
        ck_assert_uint_eq(used_len(&e, (uint16_t)(4 * i)), i % 3 == 1 ? len + 1 : 1);
        if (i % 3 == 1)
            assert_pat_at(&e, DATA_GPA + (uint64_t)len * i, len, 8ULL * i * 512);
    }
    /* The interrupt follows the pushes: give it a moment, then make sure there was just one. */
    for (int ms = 0; irqs(&e.queue_irqs) < 1 && ms < TIMEOUT_MS; ms++)
        sleep_ms(1);
    sleep_ms(50);
    ck_assert_int_eq(irqs(&e.queue_irqs), 1);
    ck_assert_int_eq(irqs(&e.config_irqs), 0);
    /* 64 requests in one kick are two turns' worth: the loop served other sources in between. */
    ck_assert_uint_ge(stats(&e).deferred, 1);

    img = read_image(&e, &size);
    ck_assert_uint_eq(size, DISK_SIZE);
    for (unsigned int i = 0; i < NR_SLOTS; i += 3)
        ASSERT_PAT2(img + (2048 + 8ULL * i) * 512, len, i);
    free(img);
    env_stop(&e);
}
END_TEST

START_TEST(get_id)
{
    uint8_t want[VIRTIO_BLK_ID_BYTES] = SERIAL; /* NUL-padded */
    struct tenv e;
    uint32_t n;

    env_start(&e, _i, &(struct topts){ 0 });
    driver_init(&e, ALL);
    fill(&e, DATA_GPA, 64, 0xff);
    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_GET_ID, 0, DATA_GPA, 20, &n), VIRTIO_BLK_S_OK);
    ck_assert_uint_eq(n, 21);
    ck_assert_mem_eq(gp(&e, DATA_GPA, 20), want, 20);
    ck_assert_uint_eq(*(uint8_t *)gp(&e, DATA_GPA + 20, 1), 0xff);

    /* A short buffer gets the first 10 bytes. */
    fill(&e, DATA_GPA, 64, 0xff);
    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_GET_ID, 0, DATA_GPA, 10, &n), VIRTIO_BLK_S_OK);
    ck_assert_uint_eq(n, 11);
    ck_assert_mem_eq(gp(&e, DATA_GPA, 10), SERIAL, 10);
    ck_assert_uint_eq(*(uint8_t *)gp(&e, DATA_GPA + 10, 1), 0xff);

    /* A long one gets 20 and no more. */
    fill(&e, DATA_GPA, 64, 0xff);
    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_GET_ID, 0, DATA_GPA, 40, &n), VIRTIO_BLK_S_OK);
    ck_assert_uint_eq(n, 21);
    ck_assert_mem_eq(gp(&e, DATA_GPA, 20), want, 20);
    ck_assert(all_bytes(gp(&e, DATA_GPA + 20, 20), 20, 0xff));
    ck_assert_uint_eq(stats(&e).get_ids, 3);
    env_stop(&e);
}
END_TEST

/* Reads sectors [sector, sector + n) through the device into DATA_GPA + 0x100000. */
static const uint8_t *read_back(struct tenv *e, uint64_t sector, uint32_t n)
{
    const uint64_t gpa = DATA_GPA + 0x100000;

    fill(e, gpa, (uint64_t)n * 512, POISON);
    ck_assert_uint_eq(do_simple(e, VIRTIO_BLK_T_IN, sector, gpa, n * 512, NULL), VIRTIO_BLK_S_OK);
    return gp(e, gpa, (uint64_t)n * 512);
}

START_TEST(discard_and_write_zeroes)
{
    const uint64_t cap = DISK_SIZE / 512;
    uint8_t host[16 * 512];
    struct tenv e;
    bool discard;
    uint64_t f;

    env_start(&e, _i, &(struct topts){ 0 });
    f = driver_init(&e, ALL);
    ck_assert(f & F(VIRTIO_BLK_F_WRITE_ZEROES));
    discard = f & F(VIRTIO_BLK_F_DISCARD);
    if (!discard)
        fprintf(stderr,
                "%s: the build tree's filesystem cannot punch holes: DISCARD not offered, its "
                "success cases skipped\n",
                blk_test_name);

    if (discard) {
        ck_assert_uint_eq(do_range(&e, VIRTIO_BLK_T_DISCARD, 16, 8, 0, 1), VIRTIO_BLK_S_OK);
        ck_assert(all_bytes(read_back(&e, 16, 8), 8 * 512, 0));
        host_pread(&e, host, 10 * 512, 15 * 512);
        ck_assert_uint_eq(host[511], pat(15 * 512 + 511)); /* neighbours intact */
        ck_assert(all_bytes(host + 512, 8 * 512, 0));
        ck_assert_uint_eq(host[9 * 512], pat(24 * 512));
    }
    ck_assert_uint_eq(do_range(&e, VIRTIO_BLK_T_WRITE_ZEROES, 40, 16, 0, 1), VIRTIO_BLK_S_OK);
    ck_assert(all_bytes(read_back(&e, 40, 16), 16 * 512, 0));
    host_pread(&e, host, 16 * 512, 40 * 512);
    ck_assert(all_bytes(host, 16 * 512, 0));
    ck_assert_uint_eq(
        do_range(&e, VIRTIO_BLK_T_WRITE_ZEROES, 80, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1),
        VIRTIO_BLK_S_OK);
    ck_assert(all_bytes(read_back(&e, 80, 8), 8 * 512, 0));
    ck_assert(!all_bytes(read_back(&e, 88, 1), 512, 0)); /* the next sector is not */
    ck_assert_uint_eq(read_back(&e, 88, 1)[0], pat(88 * 512));

    /* Requests the device turns away: nothing may change. */
    ck_assert_uint_eq(do_range(&e, VIRTIO_BLK_T_WRITE_ZEROES, 100, 8, 1u << 1, 1),
                      VIRTIO_BLK_S_UNSUPP); /* unknown flag */
    ck_assert_uint_eq(do_range(&e, VIRTIO_BLK_T_WRITE_ZEROES, 100, 8, 0, 2),
                      VIRTIO_BLK_S_UNSUPP); /* two segments; max_write_zeroes_seg is 1 */
    ck_assert_uint_eq(do_range(&e, VIRTIO_BLK_T_WRITE_ZEROES, cap - 4, 8, 0, 1),
                      VIRTIO_BLK_S_IOERR); /* past the end */
    ck_assert_uint_eq(do_range(&e, VIRTIO_BLK_T_WRITE_ZEROES, cap, 1, 0, 1), VIRTIO_BLK_S_IOERR);
    ck_assert_uint_eq(do_range(&e, VIRTIO_BLK_T_WRITE_ZEROES, 1ULL << 55, 1, 0, 1),
                      VIRTIO_BLK_S_IOERR);
    if (discard) {
        ck_assert_uint_eq(
            do_range(&e, VIRTIO_BLK_T_DISCARD, 100, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1),
            VIRTIO_BLK_S_UNSUPP); /* unmap means nothing to a discard */
        ck_assert_uint_eq(do_range(&e, VIRTIO_BLK_T_DISCARD, 100, 8, 1u << 7, 1),
                          VIRTIO_BLK_S_UNSUPP);
        ck_assert_uint_eq(do_range(&e, VIRTIO_BLK_T_DISCARD, 100, 8, 0, 2), VIRTIO_BLK_S_UNSUPP);
        ck_assert_uint_eq(do_range(&e, VIRTIO_BLK_T_DISCARD, cap - 4, 8, 0, 1), VIRTIO_BLK_S_IOERR);
    }
    host_pread(&e, host, 8 * 512, 100 * 512);
    ASSERT_PAT(host, 8 * 512, 100 * 512);
    host_pread(&e, host, 4 * 512, (cap - 4) * 512);
    ASSERT_PAT(host, 4 * 512, (cap - 4) * 512);

    /* Not negotiated: UNSUPP, and the data stays. */
    driver_reset(&e);
    f = driver_init(&e, ALL & ~(F(VIRTIO_BLK_F_DISCARD) | F(VIRTIO_BLK_F_WRITE_ZEROES)));
    ck_assert(!(f & (F(VIRTIO_BLK_F_DISCARD) | F(VIRTIO_BLK_F_WRITE_ZEROES))));
    ck_assert_uint_eq(do_range(&e, VIRTIO_BLK_T_DISCARD, 200, 8, 0, 1), VIRTIO_BLK_S_UNSUPP);
    ck_assert_uint_eq(do_range(&e, VIRTIO_BLK_T_WRITE_ZEROES, 200, 8, 0, 1), VIRTIO_BLK_S_UNSUPP);
    host_pread(&e, host, 8 * 512, 200 * 512);
    ASSERT_PAT(host, 8 * 512, 200 * 512);
    {
        uint64_t size;
        uint8_t *img = read_image(&e, &size);

        ck_assert_uint_eq(size, DISK_SIZE); /* KEEP_SIZE: zeroing never extends the file */
        free(img);
    }
    env_stop(&e);
}
END_TEST

/* An O_DIRECT disk in the first directory whose filesystem takes it; false if none does. */
static bool start_direct(struct tenv *e, int engine, uint64_t size)
{
    const char *dirs[] = { ".", getenv("HOME"), "/var/tmp", "/tmp" };

    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        if (!dirs[i])
            continue;
        if (!env_start(e, engine,
                       &(struct topts){ .size = size, .cache = DISK_CACHE_NONE, .dir = dirs[i] })) {
            fprintf(stderr, "%s: cache=none (%s): image in %s\n", blk_test_name, engines[engine],
                    dirs[i]);
            return true;
        }
    }
    fprintf(stderr,
            "%s: O_DIRECT refused in ., $HOME, /var/tmp and /tmp (see above): cache=none not "
            "tested\n",
            blk_test_name);
    return false;
}

/* cache=none: guest buffers at any alignment go through (the device bounces what it must). */
START_TEST(direct_io_misaligned_buffers)
{
    const uint64_t size = DISK_SIZE + 4096 + 512; /* a tail shorter than any block size */
    /* 8 bytes off: enough for a 512-byte dio_mem_align; 1 byte off: misaligned for any. */
    const uint64_t mis = DATA_GPA + 8, odd = DATA_GPA + 0x80000 + 1, aligned = DATA_GPA + 0x100000;
    uint32_t bs, n, len;
    uint64_t sector, cap;
    uint8_t *host;
    struct tenv e;

    if (!start_direct(&e, _i, size))
        return;
    driver_init(&e, ALL);
    bs = CFG32(&e, blk_size);
    ck_assert_uint_ge(bs, 512);
    ck_assert_uint_eq(bs & (bs - 1), 0);
    ck_assert_int_eq(
        virtio_config_read(e.dev, offsetof(struct virtio_blk_config, capacity), &cap, 8), 0);
    ck_assert_uint_eq(le64toh(cap), size / bs * (bs / 512));
    len = 2 * bs;
    sector = 3 * (bs / 512);

    /* Write from a buffer 8 bytes off alignment. */
    fill_pat2(&e, mis, len, 5);
    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_OUT, sector, mis, len, &n), VIRTIO_BLK_S_OK);
    ck_assert_uint_eq(n, 1);

    /* Read it back aligned (straight to the disk) and misaligned (bounced). */
    fill(&e, aligned, len, POISON);
    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_IN, sector, aligned, len, &n), VIRTIO_BLK_S_OK);
    ck_assert_uint_eq(n, len + 1);
    ck_assert_mem_eq(gp(&e, aligned, len), gp(&e, mis, len), len);
    fill(&e, aligned + 0x10000 + 8, len, POISON);
    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_IN, sector, aligned + 0x10000 + 8, len, &n),
                      VIRTIO_BLK_S_OK);
    ck_assert_mem_eq(gp(&e, aligned + 0x10000 + 8, len), gp(&e, mis, len), len);

    /* A misaligned scatter list: 100 + (len - 200) + 100 bytes at odd addresses. */
    write_hdr_at(&e, CTL_GPA(4), VIRTIO_BLK_T_IN, sector);
    fill(&e, aligned + 0x20000, 0x30000, POISON);
    fake_ring_desc(e.r, 16, CTL_GPA(4), 16, RD | NX, 17);
    fake_ring_desc(e.r, 17, aligned + 0x20000 + 1, 100, WR | NX, 18);
    fake_ring_desc(e.r, 18, aligned + 0x30000 + 3, len - 200, WR | NX, 19);
    fake_ring_desc(e.r, 19, aligned + 0x40000 + 5, 100 + 1, WR, 0); /* status at its end */
    fake_ring_post(e.r, 16);
    kick(&e);
    wait_all_used(&e);
    ck_assert_uint_eq(*(uint8_t *)gp(&e, aligned + 0x40000 + 5 + 100, 1), VIRTIO_BLK_S_OK);
    ck_assert_uint_eq(used_len(&e, 16), len + 1);
    ck_assert_mem_eq(gp(&e, aligned + 0x20000 + 1, 100), gp(&e, mis, 100), 100);
    ck_assert_mem_eq(gp(&e, aligned + 0x30000 + 3, len - 200), gp(&e, mis + 100, len - 200),
                     len - 200);
    ck_assert_mem_eq(gp(&e, aligned + 0x40000 + 5, 100), gp(&e, mis + len - 100, 100), 100);

    /* A write and a read through odd addresses, then an aligned write (straight through). */
    fill_pat2(&e, odd, len, 6);
    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_OUT, sector + 2 * (bs / 512), odd, len, &n),
                      VIRTIO_BLK_S_OK);
    fill(&e, odd, len, POISON);
    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_IN, sector + 2 * (bs / 512), odd, len, &n),
                      VIRTIO_BLK_S_OK);
    ck_assert_uint_eq(n, len + 1);
    ASSERT_PAT2((const uint8_t *)gp(&e, odd, len), len, 6);
    fill_pat2(&e, aligned, len, 7);
    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_OUT, sector + 4 * (bs / 512), aligned, len, &n),
                      VIRTIO_BLK_S_OK);
    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL), VIRTIO_BLK_S_OK);

    /* Whole sectors that are not whole blocks cannot be done with O_DIRECT. */
    if (bs > 512)
        ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_IN, 1, aligned, 512, NULL),
                          VIRTIO_BLK_S_IOERR);

    host = malloc(3 * (size_t)len);
    ck_assert_ptr_nonnull(host);
    host_pread(&e, host, 3 * (size_t)len, sector * 512);
    ASSERT_PAT2(host, len, 5);
    ASSERT_PAT2(host + len, len, 6);
    ASSERT_PAT2(host + 2 * len, len, 7);
    host_pread(&e, host, bs, sector * 512 - bs); /* the block before: untouched */
    ASSERT_PAT(host, bs, sector * 512 - bs);
    free(host);
    env_stop(&e);
}
END_TEST

/*
 * cache=none: however many large misaligned requests a guest posts at once, the bounce memory the
 * device holds stays bounded (8 MiB: 8 requests at a time, 1 MiB each), and every byte still
 * arrives, written and read back chunk by chunk.
 */
START_TEST(direct_io_bounce_is_bounded)
{
    const uint32_t len = 3u << 20; /* three chunks */
    const uint64_t size = 8ULL << 20, second = 4ULL << 20;
    const uint64_t wbuf = DATA_GPA + 8, rbuf = DATA_GPA + (4ULL << 20) + 1;
    const unsigned int nreq = 24;
    struct blk_stats st;
    uint8_t *host;
    struct tenv e;
    uint32_t n;

    if (!start_direct(&e, _i, size))
        return;
    driver_init(&e, ALL);
    fill_pat2(&e, wbuf, len, 9);
    for (unsigned int i = 0; i < nreq; i++)
        post_simple(&e, i, VIRTIO_BLK_T_OUT, (i % 2) * second / 512, wbuf, len);
    kick(&e);
    wait_all_used(&e);
    for (unsigned int i = 0; i < nreq; i++)
        ck_assert_uint_eq(status(&e, i), VIRTIO_BLK_S_OK);
    st = stats(&e);
    ck_assert_uint_eq(st.writes, nreq);
    ck_assert_uint_eq(st.bytes_written, (uint64_t)nreq * len);
    ck_assert_uint_ge(st.bounce_bytes_peak, 1u << 20);
    ck_assert_uint_le(st.bounce_bytes_peak, 8u << 20);

    fill(&e, rbuf, len, POISON);
    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_IN, second / 512, rbuf, len, &n), VIRTIO_BLK_S_OK);
    ck_assert_uint_eq(n, len + 1);
    ASSERT_PAT2((const uint8_t *)gp(&e, rbuf, len), len, 9);
    host = malloc(len);
    ck_assert_ptr_nonnull(host);
    host_pread(&e, host, len, 0);
    ASSERT_PAT2(host, len, 9);
    free(host);
    env_stop(&e);
}
END_TEST

static Suite *blk_io_suite(void)
{
    Suite *s = suite_create("virtio-blk I/O");
    TCase *tc = tcase_create("device");

    /* Each loop test runs with _i = the engine: 0 threads, 1 io_uring. */
    tcase_add_loop_test(tc, write_flush_read_back, 0, nr_engines);
    tcase_add_loop_test(tc, many_in_flight_one_interrupt, 0, nr_engines);
    tcase_add_loop_test(tc, get_id, 0, nr_engines);
    tcase_add_loop_test(tc, discard_and_write_zeroes, 0, nr_engines);
    tcase_add_loop_test(tc, direct_io_misaligned_buffers, 0, nr_engines);
    tcase_add_loop_test(tc, direct_io_bounce_is_bounded, 0, nr_engines);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return blk_harness_main("test_blk_io", blk_io_suite);
}
