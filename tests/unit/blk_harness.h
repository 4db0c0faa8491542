/* SPDX-License-Identifier: MIT */
/*
 * The virtio-blk test harness, shared by test_blk_io and test_blk_errors: a fake driver
 * (fake_ring.h) negotiates with the device through the transport-side virtio calls, posts chains
 * into malloc'd guest RAM and kicks with virtio_queue_notify(), as virtio-pci would; the device
 * does real I/O on a temp-file disk through either disk engine, and its completions come back on a
 * real event loop thread. Interrupts go to a fake transport that counts them.
 *
 * Every helper that takes a struct tenv ck_asserts on failure, so it may only be called from inside
 * a test. Disk images live in the working directory (the build tree under ctest), not /tmp: /tmp
 * may be a tmpfs, which refuses O_DIRECT.
 */
#ifndef KVMINI_TESTS_UNIT_BLK_HARNESS_H
#define KVMINI_TESTS_UNIT_BLK_HARNESS_H

#include <check.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_blk.h>

#include "devices/disk/disk.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/blk_req.h"
#include "devices/virtio/virtio.h"
#include "tests/unit/fake_ring.h"
#include "vmm/core/evloop.h"

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

#define F(bit) (1ULL << (bit))
#define ALL    (~0ULL)

/* Indexed by a loop test's _i: 0 threads, 1 io_uring (only when blk_harness_main() saw it work). */
extern const char *const engines[];
extern int nr_engines;
/* The running executable's name, for what the tests print to stderr. */
extern const char *blk_test_name;

struct tenv {
    struct fake_ring *r;
    struct evloop loop;
    bool loop_started;
    struct blk *b;
    struct virtio_dev *dev;
    int queue_irqs, config_irqs; /* raised on the loop thread or the kicking one: atomic */
    char path[PATH_MAX];         /* unlinked once the disk is open */
    int host_fd;                 /* the image, as the host sees it */
    uint64_t size;
};

struct topts {
    uint64_t size; /* 0: DISK_SIZE */
    bool readonly;
    enum disk_cache cache;
    const char *dir; /* NULL: the working directory */
};

/* Probes io_uring (setting nr_engines), then runs make_suite()'s suite: main() of each executable.
 */
int blk_harness_main(const char *name, Suite *(*make_suite)(void));

/* ---- Patterns: what images start with and what tests write. ---- */

/* The initial content of every image: no two nearby sectors alike. */
uint8_t pat(uint64_t off);
/* What tests write: distinguishable from pat() and from each other by seed. */
uint8_t pat2(uint64_t off, unsigned int seed);
/* Index of the first byte of p[0..len) that is not pat(off + i), or -1. */
long pat_mismatch(const uint8_t *p, uint64_t len, uint64_t off);
long pat2_mismatch(const uint8_t *p, uint64_t len, unsigned int seed);

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

void sleep_ms(unsigned int ms);
bool all_bytes(const uint8_t *p, uint64_t len, uint8_t v);

/* ---- The host side of the image. ---- */

/* The whole image as the host sees it (malloc'd). */
uint8_t *read_image(const struct tenv *e, uint64_t *size);
void host_pread(const struct tenv *e, void *buf, size_t len, uint64_t off);
/* The image is exactly what make_image() wrote: same size, same bytes. */
void assert_image_pristine(const struct tenv *e);

/* ---- Device set-up and the driver side. ---- */

/*
 * Image, guest RAM, loop, device, transport; the loop runs. 0, or disk_open()'s error (nothing
 * left behind) so O_DIRECT tests can look elsewhere; any other failure fails the test.
 */
int env_start(struct tenv *e, int engine, const struct topts *o);
void env_stop(struct tenv *e);
int irqs(int *counter); /* e->queue_irqs or e->config_irqs, read atomically */
uint64_t offered(struct tenv *e);
/* Brings the device up as a driver does, accepting the offered features in want. */
uint64_t driver_init(struct tenv *e, uint64_t want);
void driver_reset(struct tenv *e);
uint32_t cfg32(struct tenv *e, uint32_t off);
#define CFG32(e, field) cfg32(e, offsetof(struct virtio_blk_config, field))

void *gp(struct tenv *e, uint64_t gpa, uint64_t len); /* guest RAM; fails the test if outside */
uint8_t *status_byte(struct tenv *e, unsigned int slot);
uint8_t status(struct tenv *e, unsigned int slot);
void write_hdr_at(struct tenv *e, uint64_t gpa, uint32_t type, uint64_t sector);
/* Slot's chain: header, one data buffer (if len), a separate status byte; posted, not kicked. */
void post_simple(struct tenv *e, unsigned int slot, uint32_t type, uint64_t sector,
                 uint64_t data_gpa, uint32_t len);
void kick(struct tenv *e);
/* Waits until the device has used every chain the driver made available. */
void wait_all_used(struct tenv *e);
/* The used length the device gave head (its latest use); fails if head was never used. */
uint32_t used_len(struct tenv *e, uint16_t head);
/* One request in slot 0, kicked and waited for; returns its status, *used its used length. */
uint8_t do_simple(struct tenv *e, uint32_t type, uint64_t sector, uint64_t data_gpa, uint32_t len,
                  uint32_t *used);
/* Slot 0: DISCARD / WRITE_ZEROES with nseg copies of one range, kicked and waited for; status. */
uint8_t do_range(struct tenv *e, uint32_t type, uint64_t sector, uint32_t sectors, uint32_t flags,
                 unsigned int nseg);
void fill(struct tenv *e, uint64_t gpa, uint64_t len, uint8_t v);
void fill_pat2(struct tenv *e, uint64_t gpa, uint64_t len, unsigned int seed);
void assert_pat_at(struct tenv *e, uint64_t gpa, uint64_t len, uint64_t disk_off);
struct blk_stats stats(struct tenv *e);

#endif
