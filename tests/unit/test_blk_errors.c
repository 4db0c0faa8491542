// SPDX-License-Identifier: MIT
/*
 * virtio-blk end to end, what the device refuses or survives (harness: blk_harness.h): requests
 * past the end, writes to a read-only disk, unknown types and bad lengths, malformed chains and
 * broken rings (NEEDS_RESET, then recovery), a reset with I/O in flight, and the config space.
 * Every I/O test runs once per engine.
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/blk_harness.h"

/* Requests at or past the end, or whose sector * 512 or end overflows: IOERR, file untouched. */
START_TEST(past_end_of_disk)
{
    /* Not a multiple of 512: the tail is not addressable, capacity rounds down. */
    const uint64_t size = DISK_SIZE + 100, cap = DISK_SIZE / 512;
    static const struct {
        uint32_t type;
        uint64_t sector;
        uint32_t len;
    } bad[] = {
        { VIRTIO_BLK_T_OUT, DISK_SIZE / 512, 512 },      /* at capacity */
        { VIRTIO_BLK_T_OUT, DISK_SIZE / 512 - 1, 1024 }, /* crosses the end */
        { VIRTIO_BLK_T_OUT, DISK_SIZE / 512 + 1, 512 },
        { VIRTIO_BLK_T_OUT, 1ULL << 55, 512 },       /* sector * 512 wraps to 0 */
        { VIRTIO_BLK_T_OUT, (1ULL << 55) + 1, 512 }, /* ... to 512 */
        { VIRTIO_BLK_T_OUT, UINT64_MAX >> 9, 1024 }, /* offset + len wraps */
        { VIRTIO_BLK_T_OUT, UINT64_MAX, 512 },
        { VIRTIO_BLK_T_IN, DISK_SIZE / 512, 512 },
        { VIRTIO_BLK_T_IN, DISK_SIZE / 512 - 1, 1024 },
        { VIRTIO_BLK_T_IN, 1ULL << 55, 512 },
        { VIRTIO_BLK_T_IN, UINT64_MAX >> 9, 1024 },
    };
    uint64_t capacity;
    struct tenv e;
    uint32_t n;

    env_start(&e, _i, &(struct topts){ .size = size });
    driver_init(&e, ALL);
    ck_assert_int_eq(
        virtio_config_read(e.dev, offsetof(struct virtio_blk_config, capacity), &capacity, 8), 0);
    ck_assert_uint_eq(le64toh(capacity), cap);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fill_pat2(&e, DATA_GPA, bad[i].len, 9);
        ck_assert_msg(do_simple(&e, bad[i].type, bad[i].sector, DATA_GPA, bad[i].len, &n) ==
                          VIRTIO_BLK_S_IOERR,
                      "case %zu: status %u", i, status(&e, 0));
        ck_assert_uint_eq(n, 1); /* the status byte only, also for reads */
    }
    /* The last whole sector is fine, and reads what the file holds. */
    fill(&e, DATA_GPA, 512, POISON);
    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_IN, cap - 1, DATA_GPA, 512, &n), VIRTIO_BLK_S_OK);
    ck_assert_uint_eq(n, 513);
    assert_pat_at(&e, DATA_GPA, 512, (cap - 1) * 512);
    ck_assert_uint_eq(stats(&e).errors, sizeof(bad) / sizeof(bad[0]));
    assert_image_pristine(&e); /* not extended, not written */
    env_stop(&e);
}
END_TEST

/* A read-only disk refuses every kind of write, whatever the driver acknowledged. */
START_TEST(read_only_disk)
{
    struct tenv e;
    uint64_t f;
    uint32_t n;

    env_start(&e, _i, &(struct topts){ .readonly = true });
    f = offered(&e);
    ck_assert(f & F(VIRTIO_BLK_F_RO));
    ck_assert(!(f & F(VIRTIO_BLK_F_DISCARD)));
    ck_assert(!(f & F(VIRTIO_BLK_F_WRITE_ZEROES)));
    /* A driver that ignores RO (did not even acknowledge it). */
    f = driver_init(&e, ALL & ~F(VIRTIO_BLK_F_RO));
    ck_assert(!(f & F(VIRTIO_BLK_F_RO)));
    fill_pat2(&e, DATA_GPA, 4096, 3);
    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_OUT, 0, DATA_GPA, 4096, &n), VIRTIO_BLK_S_IOERR);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(do_range(&e, VIRTIO_BLK_T_DISCARD, 0, 8, 0, 1), VIRTIO_BLK_S_IOERR);
    ck_assert_uint_eq(do_range(&e, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0, 1), VIRTIO_BLK_S_IOERR);
    ck_assert_uint_eq(
        do_range(&e, VIRTIO_BLK_T_WRITE_ZEROES, 8, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1),
        VIRTIO_BLK_S_IOERR);
    /* Reads and flushes still work. */
    fill(&e, DATA_GPA, 4096, POISON);
    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_IN, 0, DATA_GPA, 4096, &n), VIRTIO_BLK_S_OK);
    ck_assert_uint_eq(n, 4097);
    assert_pat_at(&e, DATA_GPA, 4096, 0);
    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL), VIRTIO_BLK_S_OK);

    /* And with RO acknowledged, the same. */
    driver_reset(&e);
    f = driver_init(&e, ALL);
    ck_assert(f & F(VIRTIO_BLK_F_RO));
    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_OUT, 0, DATA_GPA, 4096, &n), VIRTIO_BLK_S_IOERR);
    assert_image_pristine(&e);
    env_stop(&e);
}
END_TEST

START_TEST(unknown_type_and_bad_lengths)
{
    static const uint32_t unknown[] = {
        0x42, 3, 5, 10 /* GET_LIFETIME */, VIRTIO_BLK_T_SECURE_ERASE, 0x80000000u
    };
    struct tenv e;
    uint32_t n;

    env_start(&e, _i, &(struct topts){ 0 });
    driver_init(&e, ALL);
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        fill(&e, DATA_GPA, 512, POISON);
        ck_assert_msg(do_simple(&e, unknown[i], 0, DATA_GPA, 512, &n) == VIRTIO_BLK_S_UNSUPP,
                      "type %#x: status %u", unknown[i], status(&e, 0));
        ck_assert_uint_eq(n, 1);
    }
    ck_assert_uint_eq(stats(&e).unsupported, sizeof(unknown) / sizeof(unknown[0]));

    /* Data not in whole sectors. */
    fill(&e, DATA_GPA, 4096, POISON);
    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_IN, 0, DATA_GPA, 100, &n), VIRTIO_BLK_S_IOERR);
    ck_assert_uint_eq(n, 1);
    ck_assert(all_bytes(gp(&e, DATA_GPA, 4096), 4096, POISON));
    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_IN, 0, DATA_GPA, 513, &n), VIRTIO_BLK_S_IOERR);
    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_OUT, 0, DATA_GPA, 700, &n), VIRTIO_BLK_S_IOERR);
    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_OUT, 4, DATA_GPA, 511, &n), VIRTIO_BLK_S_IOERR);
    ck_assert_uint_eq(n, 1);
    /* No data at all: nothing to do, and fine. */
    ck_assert_uint_eq(do_simple(&e, VIRTIO_BLK_T_OUT, 0, 0, 0, &n), VIRTIO_BLK_S_OK);
    assert_image_pristine(&e);
    env_stop(&e);
}
END_TEST

/* A good read in slot 1; returns whether it completed within ms. */
static bool good_read_completes(struct tenv *e, unsigned int ms)
{
    uint16_t before = fake_ring_used_idx(e->r);

    fill(e, DATA_GPA + 0x8000, 512, POISON);
    post_simple(e, 1, VIRTIO_BLK_T_IN, 3, DATA_GPA + 0x8000, 512);
    kick(e);
    for (unsigned int i = 0; i < ms && fake_ring_used_idx(e->r) == before; i++)
        sleep_ms(1);
    if (fake_ring_used_idx(e->r) == before)
        return false;
    ck_assert_uint_eq(status(e, 1), VIRTIO_BLK_S_OK);
    assert_pat_at(e, DATA_GPA + 0x8000, 512, 3 * 512);
    return true;
}

/* After NEEDS_RESET: kicks do nothing; a reset and a new driver bring the device back. */
static void assert_stopped_then_recover(struct tenv *e, int config_irqs)
{
    ck_assert(virtio_get_status(e->dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
    ck_assert_int_eq(irqs(&e->config_irqs), config_irqs);
    ck_assert(!good_read_completes(e, 100));
    ck_assert_uint_eq(status(e, 1), POISON);
    ck_assert_int_eq(irqs(&e->config_irqs), config_irqs); /* one per reset cycle */
    driver_reset(e);
    driver_init(e, ALL);
    ck_assert(good_read_completes(e, TIMEOUT_MS));
}

/* A chain with nowhere to put a status, or too short for a header: given back, device stops. */
START_TEST(malformed_request_needs_reset)
{
    struct tenv e;

    env_start(&e, _i, &(struct topts){ 0 });
    driver_init(&e, ALL & ~F(VIRTIO_RING_F_EVENT_IDX));

    /* Header and data, all device-readable: no status byte. */
    write_hdr_at(&e, CTL_GPA(0), VIRTIO_BLK_T_OUT, 0);
    fake_ring_desc(e.r, 0, CTL_GPA(0), 16, RD | NX, 1);
    fake_ring_desc(e.r, 1, DATA_GPA, 512, RD, 0);
    fake_ring_post(e.r, 0);
    kick(&e);
    wait_all_used(&e);
    ck_assert_uint_eq(used_len(&e, 0), 0);
    ck_assert_int_eq(irqs(&e.queue_irqs), 1); /* the used chain is announced */
    assert_stopped_then_recover(&e, 1);

    /* An 8-byte header. */
    write_hdr_at(&e, CTL_GPA(0), VIRTIO_BLK_T_IN, 0);
    *status_byte(&e, 0) = POISON;
    fake_ring_desc(e.r, 0, CTL_GPA(0), 8, RD | NX, 1);
    fake_ring_desc(e.r, 1, STATUS_GPA(0), 1, WR, 0);
    fake_ring_post(e.r, 0);
    kick(&e);
    wait_all_used(&e);
    ck_assert_uint_eq(used_len(&e, 0), 0);
    ck_assert_uint_eq(status(&e, 0), POISON);
    assert_stopped_then_recover(&e, 2);

    /* A writable header and status only: no readable header at all. */
    *status_byte(&e, 0) = POISON;
    fake_ring_desc(e.r, 0, CTL_GPA(0), 16, WR | NX, 1);
    fake_ring_desc(e.r, 1, STATUS_GPA(0), 1, WR, 0);
    fake_ring_post(e.r, 0);
    kick(&e);
    wait_all_used(&e);
    ck_assert_uint_eq(used_len(&e, 0), 0);
    assert_stopped_then_recover(&e, 3);
    assert_image_pristine(&e);
    env_stop(&e);
}
END_TEST

/* Ring-level garbage: a descriptor loop, a buffer outside RAM. The device stops; we go on. */
START_TEST(broken_ring_needs_reset)
{
    struct tenv e;

    env_start(&e, _i, &(struct topts){ 0 });
    driver_init(&e, ALL);
    fake_ring_desc(e.r, 0, CTL_GPA(0), 16, RD | NX, 1);
    fake_ring_desc(e.r, 1, CTL_GPA(1), 16, RD | NX, 0); /* back to 0 */
    fake_ring_post(e.r, 0);
    kick(&e);
    ck_assert_uint_eq(fake_ring_used_idx(e.r), 0); /* nothing is pushed for a broken ring */
    assert_stopped_then_recover(&e, 1);

    fake_ring_desc(e.r, 0, CTL_GPA(0), 16, RD | NX, 1);
    fake_ring_desc(e.r, 1, RAM_BASE + RAM_SIZE - 1, 2, WR, 0);
    fake_ring_post(e.r, 0);
    kick(&e);
    ck_assert_uint_eq(fake_ring_used_idx(e.r), 1); /* the recovery's good read only */
    assert_stopped_then_recover(&e, 2);

    /*
     * A good read, then garbage in the same kick. The read is already with the disk when the ring
     * breaks: it finishes (and the reset waits for it) but is never used, the ring being broken.
     */
    post_simple(&e, 2, VIRTIO_BLK_T_IN, 5, DATA_GPA + 0x10000, 4096);
    fake_ring_post(e.r, QSIZE); /* head beyond the table */
    kick(&e);
    sleep_ms(50);
    ck_assert_uint_eq(fake_ring_used_idx(e.r), 1); /* good_read_completes' only */
    assert_stopped_then_recover(&e, 3);
    env_stop(&e);
}
END_TEST

/*
 * Status 0 with reads in flight: the reset returns once the disk is done with guest memory, and
 * nothing (data, status, used ring) changes after it. Five rounds of 64 requests also prove the
 * device got its request slots back (it has 256).
 */
START_TEST(reset_waits_for_io_in_flight)
{
    const uint32_t len = 64 << 10; /* 64 x 64 KiB = the whole 4 MiB disk */
    const uint64_t span = (uint64_t)NR_SLOTS * len;
    uint8_t *snap = malloc(span), *ctl = malloc(128 * NR_SLOTS);
    struct vring_used *u;
    unsigned int finished = 0;
    struct tenv e;

    ck_assert_ptr_nonnull(snap);
    ck_assert_ptr_nonnull(ctl);
    env_start(&e, _i, &(struct topts){ 0 });
    u = fake_ring_used(e.r);
    for (int round = 0; round < 5; round++) {
        uint16_t used_idx;

        driver_init(&e, ALL);
        fill(&e, DATA_GPA, span, POISON);
        for (unsigned int i = 0; i < NR_SLOTS; i++)
            post_simple(&e, i, VIRTIO_BLK_T_IN, (uint64_t)i * (len / 512), DATA_GPA + i * len, len);
        kick(&e);
        driver_reset(&e);
        used_idx = fake_ring_used_idx(e.r);
        finished += used_idx;
        memcpy(snap, gp(&e, DATA_GPA, span), span);
        memcpy(ctl, gp(&e, CTL_GPA(0), 128 * NR_SLOTS), 128 * NR_SLOTS);
        sleep_ms(100);
        ck_assert_uint_eq(fake_ring_used_idx(e.r), used_idx);
        ck_assert_uint_eq(u->idx, used_idx);
        ck_assert_msg(!memcmp(snap, gp(&e, DATA_GPA, span), span),
                      "guest data written after reset returned");
        ck_assert_msg(!memcmp(ctl, gp(&e, CTL_GPA(0), 128 * NR_SLOTS), 128 * NR_SLOTS),
                      "status written after reset returned");
        /* What was used before the reset is complete and right. */
        for (uint16_t k = 0; k < used_idx; k++) {
            unsigned int slot = u->ring[k].id / 4;

            ck_assert_uint_eq(status(&e, slot), VIRTIO_BLK_S_OK);
            ck_assert_uint_eq(u->ring[k].len, len + 1);
        }
    }
    fprintf(stderr, "%s: reset (%s): %u of %u reads had completed when reset was asked\n",
            blk_test_name, engines[_i], finished, 5 * NR_SLOTS);
    /* Slots all back: a full batch still goes through. */
    driver_init(&e, ALL);
    for (unsigned int i = 0; i < NR_SLOTS; i++)
        post_simple(&e, i, VIRTIO_BLK_T_IN, (uint64_t)i * (len / 512), DATA_GPA + i * len, len);
    kick(&e);
    wait_all_used(&e);
    for (unsigned int i = 0; i < NR_SLOTS; i++)
        ck_assert_uint_eq(status(&e, i), VIRTIO_BLK_S_OK);
    assert_pat_at(&e, DATA_GPA, span, 0);
    env_stop(&e);
    free(snap);
    free(ctl);
}
END_TEST

START_TEST(config_space)
{
    const uint64_t size = DISK_SIZE + 300;
    uint64_t cap, f;
    uint16_t nq;
    uint8_t b;
    struct tenv e;

    env_start(&e, 0, &(struct topts){ .size = size });
    f = offered(&e);
    ck_assert(f & F(VIRTIO_F_VERSION_1));
    ck_assert(f & F(VIRTIO_RING_F_EVENT_IDX));
    ck_assert(f & F(VIRTIO_BLK_F_SEG_MAX));
    ck_assert(f & F(VIRTIO_BLK_F_BLK_SIZE));
    ck_assert(f & F(VIRTIO_BLK_F_FLUSH));
    ck_assert(f & F(VIRTIO_BLK_F_WRITE_ZEROES));
    ck_assert(!(f & F(VIRTIO_BLK_F_RO)));
    ck_assert_int_eq(
        virtio_config_read(e.dev, offsetof(struct virtio_blk_config, capacity), &cap, 8), 0);
    ck_assert_uint_eq(le64toh(cap), DISK_SIZE / 512); /* the 300-byte tail is not addressable */
    ck_assert_uint_eq(CFG32(&e, seg_max), BLK_SEG_MAX);
    ck_assert_uint_eq(CFG32(&e, blk_size), 512);
    ck_assert_int_eq(
        virtio_config_read(e.dev, offsetof(struct virtio_blk_config, num_queues), &nq, 2), 0);
    ck_assert_uint_eq(le16toh(nq), 1);
    ck_assert_uint_eq(CFG32(&e, max_discard_sectors), BLK_MAX_RANGE_SECTORS);
    ck_assert_uint_eq(CFG32(&e, max_discard_seg), 1);
    ck_assert_uint_eq(CFG32(&e, discard_sector_alignment), 1);
    ck_assert_uint_eq(CFG32(&e, max_write_zeroes_sectors), BLK_MAX_RANGE_SECTORS);
    ck_assert_uint_eq(CFG32(&e, max_write_zeroes_seg), 1);
    ck_assert_int_eq(virtio_config_read(
                         e.dev, offsetof(struct virtio_blk_config, write_zeroes_may_unmap), &b, 1),
                     0);
    ck_assert_uint_eq(b, 0);
    /* Byte-wise reads see the same little-endian bytes; nothing past the end. */
    ck_assert_int_eq(virtio_config_read(e.dev, 0, &b, 1), 0);
    ck_assert_uint_eq(b, (DISK_SIZE / 512) & 0xff);
    ck_assert_int_eq(virtio_config_read(e.dev, 1, &b, 1), 0);
    ck_assert_uint_eq(b, ((DISK_SIZE / 512) >> 8) & 0xff);
    ck_assert_int_eq(virtio_config_read(e.dev, sizeof(struct virtio_blk_config), &b, 1), -EINVAL);
    ck_assert_int_eq(virtio_config_read(e.dev, sizeof(struct virtio_blk_config) - 2, &cap, 4),
                     -EINVAL);
    env_stop(&e);
}
END_TEST

static Suite *blk_errors_suite(void)
{
    Suite *s = suite_create("virtio-blk errors");
    TCase *tc = tcase_create("device");

    /* Each loop test runs with _i = the engine: 0 threads, 1 io_uring. */
    tcase_add_loop_test(tc, past_end_of_disk, 0, nr_engines);
    tcase_add_loop_test(tc, read_only_disk, 0, nr_engines);
    tcase_add_loop_test(tc, unknown_type_and_bad_lengths, 0, nr_engines);
    tcase_add_loop_test(tc, malformed_request_needs_reset, 0, nr_engines);
    tcase_add_loop_test(tc, broken_ring_needs_reset, 0, nr_engines);
    tcase_add_loop_test(tc, reset_waits_for_io_in_flight, 0, nr_engines);
    tcase_add_test(tc, config_space);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return blk_harness_main("test_blk_errors", blk_errors_suite);
}
