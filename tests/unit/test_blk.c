// SPDX-License-Identifier: MIT
/*
 * virtio-blk end to end without KVM: a fake driver (fake_ring.h) negotiates with the device through
 * the transport-side virtio calls, posts chains into malloc'd guest RAM and kicks with
 * virtio_queue_notify(), as virtio-pci would; the device does real I/O on a temp-file disk through
 * either disk engine, and its completions come back on a real event loop thread. Interrupts go to
 * a fake transport that counts them. Every I/O test runs once per engine (threads, io_uring).
 *
 * Disk images live in the working directory (the build tree under ctest), not /tmp: /tmp may be a
 * tmpfs, which refuses O_DIRECT.
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_blk.h>

#include "devices/disk/disk.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/blk_req.h"
#include "devices/virtio/virtio.h"
#include "tests/unit/fake_ring.h"
#include "tests/unit/unit.h"
#include "vmm/evloop.h"

#define RAM_BASE  0x100000ULL
#define RAM_SIZE  (24ULL << 20)
#define QSIZE     256
#define DESC_GPA  (RAM_BASE + 0x0000)
#define AVAIL_GPA (RAM_BASE + 0x1000)
#define USED_GPA  (RAM_BASE + 0x2000)
/* Request slot i (0..63): descriptors 4i..4i+3, header at CTL(i), ranges after it, status byte. */
#define NR_SLOTS      64
#define CTL_GPA(i)    (RAM_BASE + 0x10000 + 128ULL * (i))
#define RANGE_GPA(i)  (CTL_GPA(i) + 16)
#define STATUS_GPA(i) (CTL_GPA(i) + 96)
#define DATA_GPA      (RAM_BASE + 0x100000)
#define DATA_SIZE     (RAM_SIZE - 0x100000)

#define DISK_SIZE  (4ULL << 20)
#define SERIAL     "kvmini-blk-test" /* 15 bytes: GET_ID pads it with NULs */
#define POISON     0xee
#define TIMEOUT_MS 10000

#define F(bit)    (1ULL << (bit))
#define ALL       (~0ULL)
#define DRV_START (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER)

static const char *const engines[] = { "threads", "io_uring" };
static int nr_engines = 1; /* 2 once main() has seen io_uring work here */

struct tenv {
    struct fake_ring *r;
    struct evloop loop;
    bool loop_started;
    struct blk *b;
    struct virtio_dev *dev;
    int queue_irqs, config_irqs; /* raised on the loop thread or the kicking one: atomic */
    char path[PATH_MAX];
    uint64_t size;
};

struct topts {
    uint64_t size;
    bool readonly;
    enum disk_cache cache;
    const char *dir;
};

/* The initial content of every image: no two nearby sectors alike. */
static uint8_t pat(uint64_t off)
{
    return (uint8_t)(off * 131 + (off >> 9) * 17 + (off >> 16));
}

/* What tests write: distinguishable from pat() and from each other by seed. */
static uint8_t pat2(uint64_t off, unsigned int seed)
{
    return (uint8_t)(off * 7 + seed * 53 + 1) ^ 0x5a;
}

/* Index of the first byte of p[0..len) that is not pat(off + i), or -1. */
static long pat_mismatch(const uint8_t *p, uint64_t len, uint64_t off)
{
    for (uint64_t i = 0; i < len; i++)
        if (p[i] != pat(off + i))
            return (long)i;
    return -1;
}

static long pat2_mismatch(const uint8_t *p, uint64_t len, unsigned int seed)
{
    for (uint64_t i = 0; i < len; i++)
        if (p[i] != pat2(i, seed))
            return (long)i;
    return -1;
}

/* Per-byte ck_asserts are far too slow (check records every passing one): compare, then assert. */
#define ASSERT_PAT(p, len, off)                                                                    \
    do {                                                                                           \
        long bad_ = pat_mismatch((p), (len), (off));                                               \
        ck_assert_msg(bad_ < 0, "byte %ld differs from the image's initial content", bad_);        \
    } while (0)
#define ASSERT_PAT2(p, len, seed)                                                                  \
    do {                                                                                           \
        long bad_ = pat2_mismatch((p), (len), (seed));                                             \
        ck_assert_msg(bad_ < 0, "byte %ld differs from what was written", bad_);                   \
    } while (0)

static void sleep_ms(unsigned int ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* ---- The host side: image files. ---- */

static void make_image(char *path, size_t pathlen, const char *dir, uint64_t size)
{
    static uint8_t buf[1 << 16];
    uint64_t off;
    int fd;

    snprintf(path, pathlen, "%s/blktest-XXXXXX", dir);
    fd = mkstemp(path);
    ck_assert_msg(fd >= 0, "mkstemp in %s: %s", dir, strerror(errno));
    for (off = 0; off < size; off += sizeof(buf)) {
        size_t n = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);

        for (size_t i = 0; i < n; i++)
            buf[i] = pat(off + i);
        ck_assert_int_eq(pwrite(fd, buf, n, (off_t)off), (ssize_t)n);
    }
    close(fd);
}

/* The whole image as the host sees it (malloc'd). */
static uint8_t *read_image(const struct tenv *e, uint64_t *size)
{
    struct stat st;
    uint8_t *buf;
    int fd = open(e->path, O_RDONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fstat(fd, &st), 0);
    buf = malloc((size_t)st.st_size + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
    close(fd);
    *size = (uint64_t)st.st_size;
    return buf;
}

static void host_pread(const struct tenv *e, void *buf, size_t len, uint64_t off)
{
    int fd = open(e->path, O_RDONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
    close(fd);
}

/* The image is exactly what make_image() wrote: same size, same bytes. */
static void assert_image_pristine(const struct tenv *e)
{
    uint64_t size;
    uint8_t *img = read_image(e, &size);

    ck_assert_uint_eq(size, e->size);
    ASSERT_PAT(img, size, 0);
    free(img);
}

/* ---- The fake transport. ---- */

static int count_queue_irq(void *ctx, unsigned int q)
{
    struct tenv *e = ctx;

    ck_assert_uint_eq(q, 0);
    __atomic_fetch_add(&e->queue_irqs, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static int count_config_irq(void *ctx)
{
    struct tenv *e = ctx;

    __atomic_fetch_add(&e->config_irqs, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static int irqs(int *counter)
{
    return __atomic_load_n(counter, __ATOMIC_SEQ_CST);
}

/* ---- Device set-up and a driver. ---- */

/*
 * Image, guest RAM, loop, device, transport; the loop runs. 0, or disk_open()'s error (nothing
 * left behind) so O_DIRECT tests can look elsewhere; any other failure fails the test.
 */
static int env_start(struct tenv *e, int engine, const struct topts *o)
{
    const struct fake_ring_layout l = {
        .ram_base = RAM_BASE,
        .ram_size = RAM_SIZE,
        .size = QSIZE,
        .desc_gpa = DESC_GPA,
        .avail_gpa = AVAIL_GPA,
        .used_gpa = USED_GPA,
    };
    struct disk_options dopts = {
        .readonly = o->readonly,
        .cache = o->cache,
        .serial = SERIAL,
    };
    struct virtio_transport t = {
        .notify_queue = count_queue_irq,
        .notify_config = count_config_irq,
        .ctx = e,
    };
    struct disk disk;
    char err[256];
    int rc;

    memset(e, 0, sizeof(*e));
    e->size = o->size ? o->size : DISK_SIZE;
    make_image(e->path, sizeof(e->path), o->dir ? o->dir : ".", e->size);
    dopts.path = e->path;
    rc = disk_open(&disk, &dopts, err, sizeof(err));
    if (rc < 0) {
        unlink(e->path);
        if (o->cache == DISK_CACHE_NONE)
            fprintf(stderr, "test_blk: %s\n", err);
        return rc;
    }
    e->r = fake_ring_create(&l);
    ck_assert_int_eq(evloop_init(&e->loop), 0);
    ck_assert_int_eq(setenv("KVMINI_DISK_ENGINE", engines[engine], 1), 0);
    rc = blk_create(&e->b, &disk, &e->r->mem, &e->loop);
    ck_assert_msg(rc == 0, "blk_create (%s): %s", engines[engine], strerror(-rc));
    ck_assert_str_eq(blk_engine_name(e->b), engines[engine]);
    e->dev = blk_vdev(e->b);
    virtio_set_transport(e->dev, &t);
    ck_assert_int_eq(evloop_start(&e->loop), 0);
    e->loop_started = true;
    return 0;
}

static void env_stop(struct tenv *e)
{
    if (e->loop_started)
        evloop_stop(&e->loop); /* first: the loop watches the engine's event fd */
    blk_destroy(e->b);
    evloop_fini(&e->loop);
    fake_ring_free(e->r);
    unlink(e->path);
}

static uint64_t offered(struct tenv *e)
{
    return virtio_get_device_features(e->dev, 0) | (uint64_t)virtio_get_device_features(e->dev, 1)
                                                       << 32;
}

/* Brings the device up as a driver does, accepting the offered features in want. */
static uint64_t driver_init(struct tenv *e, uint64_t want)
{
    struct virtio_dev *d = e->dev;
    uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE;
    uint64_t f;

    ck_assert_uint_eq(virtio_get_status(d), 0);
    fake_ring_clear(e->r);
    virtio_set_status(d, s);
    s |= VIRTIO_CONFIG_S_DRIVER;
    virtio_set_status(d, s);
    f = offered(e) & (want | F(VIRTIO_F_VERSION_1));
    virtio_set_driver_features(d, 0, (uint32_t)f);
    virtio_set_driver_features(d, 1, (uint32_t)(f >> 32));
    s |= VIRTIO_CONFIG_S_FEATURES_OK;
    virtio_set_status(d, s);
    ck_assert_uint_eq(virtio_get_status(d), s);
    ck_assert_uint_eq(virtio_queue_get(d, 0, VIRTIO_QUEUE_MAX_SIZE), BLK_QUEUE_SIZE);
    ck_assert_int_eq(virtio_queue_set(d, 0, VIRTIO_QUEUE_SIZE, QSIZE), 0);
    ck_assert_int_eq(virtio_queue_set(d, 0, VIRTIO_QUEUE_DESC, DESC_GPA), 0);
    ck_assert_int_eq(virtio_queue_set(d, 0, VIRTIO_QUEUE_AVAIL, AVAIL_GPA), 0);
    ck_assert_int_eq(virtio_queue_set(d, 0, VIRTIO_QUEUE_USED, USED_GPA), 0);
    ck_assert_int_eq(virtio_queue_set(d, 0, VIRTIO_QUEUE_ENABLE, 1), 0);
    s |= VIRTIO_CONFIG_S_DRIVER_OK;
    virtio_set_status(d, s);
    ck_assert_uint_eq(virtio_get_status(d), s);
    return f;
}

static void driver_reset(struct tenv *e)
{
    virtio_set_status(e->dev, 0);
    ck_assert_uint_eq(virtio_get_status(e->dev), 0);
}

static void *gp(struct tenv *e, uint64_t gpa, uint64_t len)
{
    return fake_ring_ptr(e->r, gpa, len);
}

static uint8_t *status_byte(struct tenv *e, unsigned int slot)
{
    return gp(e, STATUS_GPA(slot), 1);
}

static uint8_t status(struct tenv *e, unsigned int slot)
{
    return __atomic_load_n(status_byte(e, slot), __ATOMIC_ACQUIRE);
}

static void write_hdr_at(struct tenv *e, uint64_t gpa, uint32_t type, uint64_t sector)
{
    struct virtio_blk_outhdr h = { .type = htole32(type), .sector = htole64(sector) };

    memcpy(gp(e, gpa, sizeof(h)), &h, sizeof(h));
}

static bool device_writes(uint32_t type)
{
    return type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
}

/* Slot's chain: header, one data buffer (if len), a separate status byte; posted, not kicked. */
static void post_simple(struct tenv *e, unsigned int slot, uint32_t type, uint64_t sector,
                        uint64_t data_gpa, uint32_t len)
{
    uint16_t d = (uint16_t)(4 * slot);

    ck_assert_uint_lt(slot, NR_SLOTS);
    write_hdr_at(e, CTL_GPA(slot), type, sector);
    *status_byte(e, slot) = POISON;
    fake_ring_desc(e->r, d, CTL_GPA(slot), 16, RD | NX, d + 1);
    if (len) {
        fake_ring_desc(e->r, d + 1, data_gpa, len, (device_writes(type) ? WR : RD) | NX, d + 2);
        d++;
    }
    fake_ring_desc(e->r, d + 1, STATUS_GPA(slot), 1, WR, 0);
    fake_ring_post(e->r, (uint16_t)(4 * slot));
}

/* DISCARD / WRITE_ZEROES with nseg copies of one range. */
static void post_range(struct tenv *e, unsigned int slot, uint32_t type, uint64_t sector,
                       uint32_t sectors, uint32_t flags, unsigned int nseg)
{
    struct virtio_blk_discard_write_zeroes rg = {
        .sector = htole64(sector),
        .num_sectors = htole32(sectors),
        .flags = htole32(flags),
    };
    uint16_t d = (uint16_t)(4 * slot);

    ck_assert_uint_le(nseg, 4);
    write_hdr_at(e, CTL_GPA(slot), type, 0);
    for (unsigned int i = 0; i < nseg; i++)
        memcpy(gp(e, RANGE_GPA(slot) + 16 * i, 16), &rg, 16);
    *status_byte(e, slot) = POISON;
    fake_ring_desc(e->r, d, CTL_GPA(slot), 16, RD | NX, d + 1);
    fake_ring_desc(e->r, d + 1, RANGE_GPA(slot), 16 * nseg, RD | NX, d + 2);
    fake_ring_desc(e->r, d + 2, STATUS_GPA(slot), 1, WR, 0);
    fake_ring_post(e->r, d);
}

static void kick(struct tenv *e)
{
    virtio_queue_notify(e->dev, 0);
}

/* Waits until the device has used every chain the driver made available. */
static void wait_all_used(struct tenv *e)
{
    for (int ms = 0; fake_ring_used_idx(e->r) != e->r->avail_idx; ms++) {
        if (ms >= TIMEOUT_MS)
            ck_abort_msg("device used %u of %u chains", (unsigned int)fake_ring_used_idx(e->r),
                         (unsigned int)e->r->avail_idx);
        sleep_ms(1);
    }
}

/* The used length the device gave head (its latest use); fails if head was never used. */
static uint32_t used_len(struct tenv *e, uint16_t head)
{
    struct vring_used *u = fake_ring_used(e->r);
    uint16_t idx = fake_ring_used_idx(e->r);
    unsigned int n = idx < QSIZE ? idx : QSIZE;

    for (unsigned int i = 1; i <= n; i++) {
        const struct vring_used_elem *el = &u->ring[(uint16_t)(idx - i) % QSIZE];

        if (el->id == head)
            return el->len;
    }
    ck_abort_msg("head %u not in the used ring", head);
    return 0;
}

/* One request in slot 0, kicked and waited for; returns its status, *len its used length. */
static uint8_t do_simple(struct tenv *e, uint32_t type, uint64_t sector, uint64_t data_gpa,
                         uint32_t len, uint32_t *used)
{
    post_simple(e, 0, type, sector, data_gpa, len);
    kick(e);
    wait_all_used(e);
    if (used)
        *used = used_len(e, 0);
    return status(e, 0);
}

static uint8_t do_range(struct tenv *e, uint32_t type, uint64_t sector, uint32_t sectors,
                        uint32_t flags, unsigned int nseg)
{
    post_range(e, 0, type, sector, sectors, flags, nseg);
    kick(e);
    wait_all_used(e);
    ck_assert_uint_eq(used_len(e, 0), 1);
    return status(e, 0);
}

static void fill(struct tenv *e, uint64_t gpa, uint64_t len, uint8_t v)
{
    memset(gp(e, gpa, len), v, len);
}

static void fill_pat2(struct tenv *e, uint64_t gpa, uint64_t len, unsigned int seed)
{
    uint8_t *p = gp(e, gpa, len);

    for (uint64_t i = 0; i < len; i++)
        p[i] = pat2(i, seed);
}

static void assert_pat_at(struct tenv *e, uint64_t gpa, uint64_t len, uint64_t disk_off)
{
    ASSERT_PAT((const uint8_t *)gp(e, gpa, len), len, disk_off);
}

static bool all_bytes(const uint8_t *p, uint64_t len, uint8_t v)
{
    for (uint64_t i = 0; i < len; i++)
        if (p[i] != v)
            return false;
    return true;
}

static struct blk_stats stats(struct tenv *e)
{
    struct blk_stats s;

    blk_get_stats(e->b, &s);
    return s;
}

/* ---- Tests. ---- */

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

    img = read_image(&e, &size);
    ck_assert_uint_eq(size, DISK_SIZE);
    for (unsigned int i = 0; i < NR_SLOTS; i += 3)
        ASSERT_PAT2(img + (2048 + 8ULL * i) * 512, len, i);
    free(img);
    env_stop(&e);
}
END_TEST

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
        fprintf(stderr, "test_blk: the build tree's filesystem cannot punch holes: DISCARD "
                        "not offered, its success cases skipped\n");

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
    fprintf(stderr, "test_blk: reset (%s): %u of %u reads had completed when reset was asked\n",
            engines[_i], finished, 5 * NR_SLOTS);
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

static uint32_t cfg32(struct tenv *e, uint32_t off)
{
    uint32_t v;

    ck_assert_int_eq(virtio_config_read(e->dev, off, &v, 4), 0);
    return le32toh(v);
}

#define CFG32(e, field) cfg32(e, offsetof(struct virtio_blk_config, field))

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

/* An O_DIRECT disk in the first directory whose filesystem takes it; false if none does. */
static bool start_direct(struct tenv *e, int engine, uint64_t size)
{
    const char *dirs[] = { ".", getenv("HOME"), "/var/tmp", "/tmp" };

    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        if (!dirs[i])
            continue;
        if (!env_start(e, engine,
                       &(struct topts){ .size = size, .cache = DISK_CACHE_NONE, .dir = dirs[i] })) {
            fprintf(stderr, "test_blk: cache=none (%s): image in %s\n", engines[engine], dirs[i]);
            return true;
        }
    }
    fprintf(stderr, "test_blk: O_DIRECT refused in ., $HOME, /var/tmp and /tmp (see above): "
                    "cache=none not tested\n");
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

/* Whether io_uring works here with every opcode the engine needs; prints why not. */
static bool io_uring_works(void)
{
    struct disk_options o = { .serial = SERIAL };
    char path[] = "./blktest-probe-XXXXXX", err[256];
    struct disk_aio *a;
    struct disk d;
    int fd, rc, efd;

    fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, 4096) < 0) {
        fprintf(stderr, "test_blk: cannot create %s: %s\n", path, strerror(errno));
        exit(EXIT_FAILURE);
    }
    close(fd);
    o.path = path;
    rc = disk_open(&d, &o, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "test_blk: %s\n", err);
        unlink(path);
        exit(EXIT_FAILURE);
    }
    rc = disk_aio_create_engine(&a, &d, 8, DISK_ENGINE_IO_URING, &efd);
    if (rc == 0)
        disk_aio_destroy(a);
    else
        fprintf(stderr, "test_blk: io_uring unavailable here (%s): threads engine only\n",
                strerror(-rc));
    disk_close(&d);
    unlink(path);
    return rc == 0;
}

static Suite *blk_suite(void)
{
    Suite *s = suite_create("virtio-blk");
    TCase *tc = tcase_create("device");

    /* Each loop test runs with _i = the engine: 0 threads, 1 io_uring. */
    tcase_add_loop_test(tc, write_flush_read_back, 0, nr_engines);
    tcase_add_loop_test(tc, many_in_flight_one_interrupt, 0, nr_engines);
    tcase_add_loop_test(tc, past_end_of_disk, 0, nr_engines);
    tcase_add_loop_test(tc, read_only_disk, 0, nr_engines);
    tcase_add_loop_test(tc, get_id, 0, nr_engines);
    tcase_add_loop_test(tc, discard_and_write_zeroes, 0, nr_engines);
    tcase_add_loop_test(tc, unknown_type_and_bad_lengths, 0, nr_engines);
    tcase_add_loop_test(tc, malformed_request_needs_reset, 0, nr_engines);
    tcase_add_loop_test(tc, broken_ring_needs_reset, 0, nr_engines);
    tcase_add_loop_test(tc, reset_waits_for_io_in_flight, 0, nr_engines);
    tcase_add_test(tc, config_space);
    tcase_add_loop_test(tc, direct_io_misaligned_buffers, 0, nr_engines);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (io_uring_works())
        nr_engines = 2;
    fprintf(stderr, "test_blk: engines under test: threads%s\n",
            nr_engines == 2 ? ", io_uring" : "");
    return run_suite(blk_suite());
}
