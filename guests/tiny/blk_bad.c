// SPDX-License-Identifier: MIT
/*
 * malformed=CASE: hands the device one broken ring (or one request it must refuse), reports what
 * the device did, then resets it, initializes it again and proves it works with one good read.
 * Ring-level breakage must end in DEVICE_NEEDS_RESET with nothing completed; request-level errors
 * in a completed request with an error status and the device still running. Exit 0 when the
 * device did what it should, 1 when not, 2 for an unknown case (the list is printed).
 */
#include "guests/tiny/blk.h"

/* No guest has RAM at 512 GiB: QEMU and kvmini both fail to map it. */
#define FAR_ADDR     0x8000000000ULL
#define WAIT_SECONDS 30
/* More than any queue's size here and than QEMU's and kvmini's 1024-buffer limit. */
#define LONG_CHAIN 1025

/*
 * EXPECT_RETURNED: needs-reset too, but the device may also hand the chain back (nothing written,
 * used length 0): a request without a header or status byte is a broken request, not a broken
 * ring, and the spec does not forbid returning it. A broken ring has no chain to return.
 */
enum expect { EXPECT_RESET, EXPECT_IOERR, EXPECT_UNSUPP, EXPECT_RETURNED };

struct bad_case {
    const char *name;
    enum expect expect;
    bool indirect; /* needs VIRTIO_RING_F_INDIRECT_DESC */
    void (*build)(struct blk *b);
    const char *what;
};

static uint8_t data[4096] __attribute__((aligned(4096)));
static struct vring_desc table[LONG_CHAIN] __attribute__((aligned(16)));
static struct vring_desc table2[4] __attribute__((aligned(16)));

static struct blk_slot *slot0(uint32_t type, uint64_t sector)
{
    struct blk_slot *s = &blk_slots[0];

    s->hdr = (struct virtio_blk_outhdr){ .type = type, .sector = sector };
    s->status = BLK_STATUS_NONE;
    return s;
}

static void desc(struct vring_desc *d, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    *d = (struct vring_desc){ .addr = addr, .len = len, .flags = flags, .next = next };
}

/* Header, one data buffer, status: the shape of a good read, in slots 0..2 of t. */
static void good_read(struct vring_desc *t, struct blk_slot *s, uint64_t addr, uint32_t len)
{
    desc(&t[0], (uintptr_t)&s->hdr, sizeof(s->hdr), VRING_DESC_F_NEXT, 1);
    desc(&t[1], addr, len, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
    desc(&t[2], (uintptr_t)&s->status, 1, VRING_DESC_F_WRITE, 0);
}

static void build_loop(struct blk *b)
{
    struct blk_slot *s = slot0(VIRTIO_BLK_T_OUT, 0);

    /* All readable, so the loop is the only thing wrong (not the buffers' order). */
    desc(&b->q->desc[0], (uintptr_t)&s->hdr, sizeof(s->hdr), VRING_DESC_F_NEXT, 1);
    desc(&b->q->desc[1], (uintptr_t)data, SECTOR, VRING_DESC_F_NEXT, 0);
    vq_publish_raw(b->q, 0);
}

static void build_oob(struct blk *b)
{
    good_read(b->q->desc, slot0(VIRTIO_BLK_T_IN, 0), FAR_ADDR, SECTOR);
    vq_publish_raw(b->q, 0);
}

static void build_longchain(struct blk *b)
{
    struct blk_slot *s = slot0(VIRTIO_BLK_T_IN, 0);

    desc(&table[0], (uintptr_t)&s->hdr, sizeof(s->hdr), VRING_DESC_F_NEXT, 1);
    for (uint16_t i = 1; i < LONG_CHAIN - 1; i++)
        desc(&table[i], (uintptr_t)data, SECTOR, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
             (uint16_t)(i + 1));
    desc(&table[LONG_CHAIN - 1], (uintptr_t)&s->status, 1, VRING_DESC_F_WRITE, 0);
    desc(&b->q->desc[0], (uintptr_t)table, sizeof(table), VRING_DESC_F_INDIRECT, 0);
    vq_publish_raw(b->q, 0);
}

static void build_availjump(struct blk *b)
{
    struct vq *q = b->q;

    good_read(q->desc, slot0(VIRTIO_BLK_T_IN, 0), (uintptr_t)data, SECTOR);
    q->avail->ring[0] = 0;
    /* One good head, but an index claiming more than the whole ring is new. */
    q->avail_idx = (uint16_t)(q->size + 1);
    __atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
    vq_kick(q);
}

static void build_indlen(struct blk *b)
{
    good_read(table, slot0(VIRTIO_BLK_T_IN, 0), (uintptr_t)data, SECTOR);
    desc(&b->q->desc[0], (uintptr_t)table, 24, VRING_DESC_F_INDIRECT, 0);
    vq_publish_raw(b->q, 0);
}

static void build_nested(struct blk *b)
{
    good_read(table2, slot0(VIRTIO_BLK_T_IN, 0), (uintptr_t)data, SECTOR);
    desc(&table[0], (uintptr_t)table2, 3 * sizeof(table2[0]), VRING_DESC_F_INDIRECT, 0);
    desc(&b->q->desc[0], (uintptr_t)table, sizeof(table[0]), VRING_DESC_F_INDIRECT, 0);
    vq_publish_raw(b->q, 0);
}

static void build_zerolen(struct blk *b)
{
    good_read(b->q->desc, slot0(VIRTIO_BLK_T_IN, 0), (uintptr_t)data, 0);
    vq_publish_raw(b->q, 0);
}

static void build_nostatus(struct blk *b)
{
    struct blk_slot *s = slot0(VIRTIO_BLK_T_OUT, 0);

    desc(&b->q->desc[0], (uintptr_t)&s->hdr, sizeof(s->hdr), VRING_DESC_F_NEXT, 1);
    desc(&b->q->desc[1], (uintptr_t)data, SECTOR, 0, 0);
    vq_publish_raw(b->q, 0);
}

static void build_nohdr(struct blk *b)
{
    struct blk_slot *s = slot0(VIRTIO_BLK_T_IN, 0);

    desc(&b->q->desc[0], (uintptr_t)&s->status, 1, VRING_DESC_F_WRITE, 0);
    vq_publish_raw(b->q, 0);
}

static void build_headoob(struct blk *b)
{
    good_read(b->q->desc, slot0(VIRTIO_BLK_T_IN, 0), (uintptr_t)data, SECTOR);
    vq_publish_raw(b->q, b->q->size);
}

static void build_nextoob(struct blk *b)
{
    struct blk_slot *s = slot0(VIRTIO_BLK_T_IN, 0);

    desc(&b->q->desc[0], (uintptr_t)&s->hdr, sizeof(s->hdr), VRING_DESC_F_NEXT, b->q->size);
    vq_publish_raw(b->q, 0);
}

static void build_rdafterwr(struct blk *b)
{
    struct vring_desc *t = b->q->desc;
    struct blk_slot *s = slot0(VIRTIO_BLK_T_IN, 0);

    desc(&t[0], (uintptr_t)&s->hdr, sizeof(s->hdr), VRING_DESC_F_NEXT, 1);
    desc(&t[1], (uintptr_t)data, SECTOR, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
    desc(&t[2], (uintptr_t)data + SECTOR, SECTOR, VRING_DESC_F_NEXT, 3);
    desc(&t[3], (uintptr_t)&s->status, 1, VRING_DESC_F_WRITE, 0);
    vq_publish_raw(b->q, 0);
}

static void build_pastend(struct blk *b)
{
    good_read(b->q->desc, slot0(VIRTIO_BLK_T_IN, b->capacity), (uintptr_t)data, SECTOR);
    vq_publish_raw(b->q, 0);
}

static void build_badtype(struct blk *b)
{
    good_read(b->q->desc, slot0(0x7f, 0), (uintptr_t)data, SECTOR);
    vq_publish_raw(b->q, 0);
}

static const struct bad_case cases[] = {
    { "loop", EXPECT_RESET, false, build_loop, "descriptor 1 chains back to 0" },
    { "oob", EXPECT_RESET, false, build_oob, "data buffer at 512 GiB, outside RAM" },
    { "longchain", EXPECT_RESET, true, build_longchain,
      "indirect chain of 1025 descriptors, longer than the queue" },
    { "availjump", EXPECT_RESET, false, build_availjump, "avail index moved by queue size + 1" },
    { "indlen", EXPECT_RESET, true, build_indlen, "indirect table of 24 bytes" },
    { "nested", EXPECT_RESET, true, build_nested, "indirect table inside an indirect table" },
    { "zerolen", EXPECT_RESET, false, build_zerolen, "zero-length data buffer" },
    { "nostatus", EXPECT_RETURNED, false, build_nostatus, "no writable status byte" },
    { "nohdr", EXPECT_RETURNED, false, build_nohdr, "no request header, only a status byte" },
    { "headoob", EXPECT_RESET, false, build_headoob, "avail ring names head = queue size" },
    { "nextoob", EXPECT_RESET, false, build_nextoob, "next index = queue size" },
    { "rdafterwr", EXPECT_RESET, false, build_rdafterwr,
      "device-readable buffer after a writable one" },
    { "pastend", EXPECT_IOERR, false, build_pastend, "read at the capacity" },
    { "badtype", EXPECT_UNSUPP, false, build_badtype, "unknown request type 0x7f" },
};

static const char *const expect_names[] = { "needs-reset", "IOERR", "UNSUPP", "needs-reset" };

/* Waits for a completion or NEEDS_RESET; prints and returns whether it was the expected one. */
static bool observe(struct blk *b, const struct bad_case *c)
{
    uint64_t t0 = rdtsc(), last = t0;
    uint8_t status = 0;
    bool used = false;

    for (;;) {
        uint64_t now = rdtsc();

        used = vq_pending_used(b->q) != 0;
        if (used || now - last > (1ULL << 22)) {
            last = now;
            status = vpci_status(&b->dev);
            if (used || status & VIRTIO_CONFIG_S_NEEDS_RESET)
                break;
        }
        if (now - t0 > tiny_timeout_cycles(WAIT_SECONDS)) {
            printf("blk: malformed=%s: saw nothing in %u s (status 0x%x)\n", c->name, WAIT_SECONDS,
                   status);
            return false;
        }
        cpu_relax();
    }
    /* A device may return a broken request just before it flags itself: give it a moment. */
    for (uint64_t t1 = rdtsc();
         used && !(status & VIRTIO_CONFIG_S_NEEDS_RESET) && rdtsc() - t1 < (1ULL << 29);) {
        for (uint64_t t2 = rdtsc(); rdtsc() - t2 < (1ULL << 20);)
            cpu_relax();
        status = vpci_status(&b->dev);
    }
    used = vq_pending_used(b->q) != 0;
    uint8_t st = __atomic_load_n(&blk_slots[0].status, __ATOMIC_ACQUIRE);
    uint32_t len = b->q->used->ring[b->q->last_used & (b->q->size - 1)].len;

    if (status & VIRTIO_CONFIG_S_NEEDS_RESET) {
        if (!used) {
            printf("blk: malformed=%s: saw needs-reset (status 0x%x)\n", c->name, status);
            return c->expect == EXPECT_RESET || c->expect == EXPECT_RETURNED;
        }
        printf("blk: malformed=%s: saw needs-reset (status 0x%x), chain returned with used "
               "length %u, status byte %s\n",
               c->name, status, len, st == BLK_STATUS_NONE ? "untouched" : "written");
        return c->expect == EXPECT_RETURNED && !len && st == BLK_STATUS_NONE;
    }

    printf("blk: malformed=%s: saw a completion, status %u (%s), device status 0x%x\n", c->name, st,
           blk_status_name(st), status);
    return (c->expect == EXPECT_IOERR && st == VIRTIO_BLK_S_IOERR) ||
           (c->expect == EXPECT_UNSUPP && st == VIRTIO_BLK_S_UNSUPP);
}

int blk_malformed(struct blk *b, const char *cmdline)
{
    const struct bad_case *c = NULL;
    struct vq_buf d = { (uintptr_t)data, SECTOR, true };
    char name[16];
    bool ok;
    int st;

    cmdline_get(cmdline, "malformed", name, sizeof(name));
    for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (!memcmp(name, cases[i].name, strlen(cases[i].name) + 1))
            c = &cases[i];
    if (!c) {
        printf("blk: unknown malformed case '%s'; cases:", name);
        for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
            printf(" %s", cases[i].name);
        puts("");
        return BLK_EXIT_USAGE;
    }
    if (c->indirect && !b->q->indirect) {
        printf("blk: malformed=%s needs VIRTIO_RING_F_INDIRECT_DESC, not negotiated\n", c->name);
        return BLK_EXIT_USAGE;
    }
    printf("blk: malformed=%s: %s, expecting %s\n", c->name, c->what, expect_names[c->expect]);
    c->build(b);
    ok = observe(b, c);

    if (blk_reinit(b)) {
        puts("blk: FAIL: the device did not come back after a reset");
        return BLK_EXIT_FAIL;
    }
    st = blk_sync(b, VIRTIO_BLK_T_IN, 0, &d, 1, false);
    printf("blk: after reset: read of sector 0: %s\n", blk_status_name(st));
    if (st != VIRTIO_BLK_S_OK || vpci_status(&b->dev) & VIRTIO_CONFIG_S_NEEDS_RESET) {
        puts("blk: FAIL: the device does not work after a reset");
        return BLK_EXIT_FAIL;
    }
    if (!ok) {
        printf("blk: FAIL: malformed=%s: expected %s\n", c->name, expect_names[c->expect]);
        return BLK_EXIT_FAIL;
    }
    puts("blk: PASS");
    return 0;
}

/* Polls until the device flags NEEDS_RESET; false after WAIT_SECONDS. */
static bool wait_needs_reset(struct blk *b)
{
    for (uint64_t t0 = rdtsc(); rdtsc() - t0 < tiny_timeout_cycles(WAIT_SECONDS);) {
        if (vpci_status(&b->dev) & VIRTIO_CONFIG_S_NEEDS_RESET)
            return true;
        cpu_relax();
    }
    return false;
}

/*
 * storm=reset rounds=N: breaks the device N times in a row (a buffer far outside RAM), resetting it
 * after each; kvmini must keep its log bounded and the device must still work after. storm=unsupp:
 * keeps the queue full of requests of an unknown type for ever (each completes at once, UNSUPP);
 * kvmini must still serve signals. Exit 0 when the reset storm ends with a working device.
 */
int blk_storm(struct blk *b, const char *cmdline)
{
    struct vq_buf d = { (uintptr_t)data, SECTOR, true };
    char name[16];
    uint64_t rounds = cmdline_uint(cmdline, "rounds", 500);

    cmdline_get(cmdline, "storm", name, sizeof(name));
    if (!memcmp(name, "unsupp", 7)) {
        puts("blk: storm=unsupp: started");
        for (;;) {
            void *token;
            uint32_t len;

            /* One header and status byte for all: nobody reads them. */
            while (blk_queue(b, slot0(0x7f, 0), 0x7f, 0, &d, 1, false) == 0)
                ;
            vq_publish(b->q);
            while (vq_get_used(b->q, &token, &len))
                ;
        }
    }
    if (memcmp(name, "reset", 6)) {
        printf("blk: unknown storm '%s' (reset, unsupp)\n", name);
        return BLK_EXIT_USAGE;
    }
    for (uint64_t i = 0; i < rounds; i++) {
        build_oob(b);
        if (!wait_needs_reset(b)) {
            printf("blk: storm=reset: cycle %lu never needed a reset\n", i);
            return BLK_EXIT_FAIL;
        }
        if (blk_reinit(b)) {
            printf("blk: storm=reset: the device did not come back after cycle %lu\n", i);
            return BLK_EXIT_FAIL;
        }
    }
    if (blk_sync(b, VIRTIO_BLK_T_IN, 0, &d, 1, false) != VIRTIO_BLK_S_OK) {
        puts("blk: storm=reset: FAIL: the device does not work after the storm");
        return BLK_EXIT_FAIL;
    }
    printf("blk: storm=reset: %lu cycles, the device still works\n", rounds);
    return 0;
}
