// SPDX-License-Identifier: MIT
/* The virtio-blk test harness (blk_harness.h): images, a fake transport, a driver, and main(). */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/blk_harness.h"
#include "tests/unit/unit.h"

const char *const engines[] = { "threads", "io_uring" };
static const enum disk_engine engine_ids[] = { DISK_ENGINE_THREADS, DISK_ENGINE_IO_URING };
int nr_engines = 1; /* 2 once blk_harness_main() has seen io_uring work here */
const char *blk_test_name = "test_blk";

uint8_t pat(uint64_t off)
{
    return (uint8_t)(off * 131 + (off >> 9) * 17 + (off >> 16));
}

uint8_t pat2(uint64_t off, unsigned int seed)
{
    return (uint8_t)(off * 7 + seed * 53 + 1) ^ 0x5a;
}

long pat_mismatch(const uint8_t *p, uint64_t len, uint64_t off)
{
    for (uint64_t i = 0; i < len; i++)
        if (p[i] != pat(off + i))
            return (long)i;
    return -1;
}

long pat2_mismatch(const uint8_t *p, uint64_t len, unsigned int seed)
{
    for (uint64_t i = 0; i < len; i++)
        if (p[i] != pat2(i, seed))
            return (long)i;
    return -1;
}

void sleep_ms(unsigned int ms)
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

uint8_t *read_image(const struct tenv *e, uint64_t *size)
{
    struct stat st;
    uint8_t *buf;
    int fd = e->host_fd;

    ck_assert_int_eq(fstat(fd, &st), 0);
    buf = malloc((size_t)st.st_size + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
    *size = (uint64_t)st.st_size;
    return buf;
}

void host_pread(const struct tenv *e, void *buf, size_t len, uint64_t off)
{
    ck_assert_int_eq(pread(e->host_fd, buf, len, (off_t)off), (ssize_t)len);
}

void assert_image_pristine(const struct tenv *e)
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

int irqs(int *counter)
{
    return __atomic_load_n(counter, __ATOMIC_SEQ_CST);
}

/* ---- Device set-up and a driver. ---- */

int env_start(struct tenv *e, int engine, const struct topts *o)
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
    dopts.engine = engine_ids[engine];
    rc = disk_open(&disk, &dopts, err, sizeof(err));
    /* The test reads the image through its own fd, so the name can go now: a test that
     * crashes or times out leaves no image behind in the directory it ran in. */
    e->host_fd = open(e->path, O_RDONLY);
    unlink(e->path);
    if (rc < 0) {
        if (e->host_fd >= 0)
            close(e->host_fd);
        if (o->cache == DISK_CACHE_NONE)
            fprintf(stderr, "%s: %s\n", blk_test_name, err);
        return rc;
    }
    ck_assert_int_ge(e->host_fd, 0);
    e->r = fake_ring_create(&l);
    ck_assert_int_eq(evloop_init(&e->loop), 0);
    rc = blk_create(&e->b, &disk, &e->r->mem, &e->loop);
    ck_assert_msg(rc == 0, "blk_create (%s): %s", engines[engine], strerror(-rc));
    ck_assert_str_eq(blk_engine_name(e->b), engines[engine]);
    e->dev = blk_vdev(e->b);
    virtio_set_transport(e->dev, &t);
    ck_assert_int_eq(evloop_start(&e->loop), 0);
    e->loop_started = true;
    return 0;
}

void env_stop(struct tenv *e)
{
    if (e->loop_started)
        evloop_stop(&e->loop); /* first: the loop watches the engine's event fd */
    blk_destroy(e->b);
    evloop_fini(&e->loop);
    fake_ring_free(e->r);
    close(e->host_fd);
}

uint64_t offered(struct tenv *e)
{
    return virtio_get_device_features(e->dev, 0) | (uint64_t)virtio_get_device_features(e->dev, 1)
                                                       << 32;
}

uint64_t driver_init(struct tenv *e, uint64_t want)
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

void driver_reset(struct tenv *e)
{
    virtio_set_status(e->dev, 0);
    ck_assert_uint_eq(virtio_get_status(e->dev), 0);
}

void *gp(struct tenv *e, uint64_t gpa, uint64_t len)
{
    return fake_ring_ptr(e->r, gpa, len);
}

uint8_t *status_byte(struct tenv *e, unsigned int slot)
{
    return gp(e, STATUS_GPA(slot), 1);
}

uint8_t status(struct tenv *e, unsigned int slot)
{
    return __atomic_load_n(status_byte(e, slot), __ATOMIC_ACQUIRE);
}

void write_hdr_at(struct tenv *e, uint64_t gpa, uint32_t type, uint64_t sector)
{
    struct virtio_blk_outhdr h = { .type = htole32(type), .sector = htole64(sector) };

    memcpy(gp(e, gpa, sizeof(h)), &h, sizeof(h));
}

static bool device_writes(uint32_t type)
{
    return type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
}

void post_simple(struct tenv *e, unsigned int slot, uint32_t type, uint64_t sector,
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

void kick(struct tenv *e)
{
    virtio_queue_notify(e->dev, 0);
}

void wait_all_used(struct tenv *e)
{
    for (int ms = 0; fake_ring_used_idx(e->r) != e->r->avail_idx; ms++) {
        if (ms >= TIMEOUT_MS)
            ck_abort_msg("device used %u of %u chains", (unsigned int)fake_ring_used_idx(e->r),
                         (unsigned int)e->r->avail_idx);
        sleep_ms(1);
    }
}

uint32_t used_len(struct tenv *e, uint16_t head)
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

uint8_t do_simple(struct tenv *e, uint32_t type, uint64_t sector, uint64_t data_gpa, uint32_t len,
                  uint32_t *used)
{
    post_simple(e, 0, type, sector, data_gpa, len);
    kick(e);
    wait_all_used(e);
    if (used)
        *used = used_len(e, 0);
    return status(e, 0);
}

uint8_t do_range(struct tenv *e, uint32_t type, uint64_t sector, uint32_t sectors, uint32_t flags,
                 unsigned int nseg)
{
    post_range(e, 0, type, sector, sectors, flags, nseg);
    kick(e);
    wait_all_used(e);
    ck_assert_uint_eq(used_len(e, 0), 1);
    return status(e, 0);
}

void fill(struct tenv *e, uint64_t gpa, uint64_t len, uint8_t v)
{
    memset(gp(e, gpa, len), v, len);
}

void fill_pat2(struct tenv *e, uint64_t gpa, uint64_t len, unsigned int seed)
{
    uint8_t *p = gp(e, gpa, len);

    for (uint64_t i = 0; i < len; i++)
        p[i] = pat2(i, seed);
}

void assert_pat_at(struct tenv *e, uint64_t gpa, uint64_t len, uint64_t disk_off)
{
    ASSERT_PAT((const uint8_t *)gp(e, gpa, len), len, disk_off);
}

bool all_bytes(const uint8_t *p, uint64_t len, uint8_t v)
{
    for (uint64_t i = 0; i < len; i++)
        if (p[i] != v)
            return false;
    return true;
}

struct blk_stats stats(struct tenv *e)
{
    struct blk_stats s;

    blk_get_stats(e->b, &s);
    return s;
}

uint32_t cfg32(struct tenv *e, uint32_t off)
{
    uint32_t v;

    ck_assert_int_eq(virtio_config_read(e->dev, off, &v, 4), 0);
    return le32toh(v);
}

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
        fprintf(stderr, "%s: cannot create %s: %s\n", blk_test_name, path, strerror(errno));
        exit(EXIT_FAILURE);
    }
    close(fd);
    o.path = path;
    rc = disk_open(&d, &o, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", blk_test_name, err);
        unlink(path);
        exit(EXIT_FAILURE);
    }
    rc = disk_aio_create_engine(&a, &d, 8, DISK_ENGINE_IO_URING, NULL, &efd);
    if (rc == 0)
        disk_aio_destroy(a);
    else
        fprintf(stderr, "%s: io_uring unavailable here (%s): threads engine only\n", blk_test_name,
                strerror(-rc));
    disk_close(&d);
    unlink(path);
    return rc == 0;
}

int blk_harness_main(const char *name, Suite *(*make_suite)(void))
{
    blk_test_name = name;
    if (io_uring_works())
        nr_engines = 2;
    fprintf(stderr, "%s: engines under test: threads%s\n", blk_test_name,
            nr_engines == 2 ? ", io_uring" : "");
    return run_suite(make_suite());
}
