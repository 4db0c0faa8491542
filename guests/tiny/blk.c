// SPDX-License-Identifier: MIT
/*
 * virtio-blk from a tiny guest. Modes, by command line:
 *   (default)          check: GET_ID, a pattern written with many requests in flight (several
 *                      data descriptors each, some through indirect tables), WRITE_ZEROES,
 *                      DISCARD, FLUSH, read back and compare, then requests the device must
 *                      refuse (past the end, unknown type). With `ro`: the RO feature, writes
 *                      that must fail, and data that must not change. Ends with "blk: PASS".
 *   bench=OP           a fixed-depth load, one result line (blk_bench.c).
 *   malformed=CASE     a broken ring or request, then reset and recovery (blk_bad.c).
 *   storm=reset|unsupp N broken rings with a reset after each, or unknown requests for ever
 *                      (blk_bad.c).
 * Other keys: disk=N (Nth virtio-blk function), sectors=N (check's span, default 2048),
 * seed=N (pattern), noindirect, noeventidx.
 *
 * Nothing here is kvmini-specific (see virtio_pci_drv.h); under QEMU the same binary runs as
 *   qemu-system-x86_64 -M q35 -m 128M -nodefaults -display none -serial stdio -kernel blk.elf
 *     -device isa-debug-exit,iobase=0x501,iosize=1 -append "..."
 *     -device virtio-blk-pci,drive=d0,disable-legacy=on -drive if=none,id=d0,file=IMG,format=raw
 * and exits with (status << 1) | 1. QEMU maps an address outside RAM to nothing instead of
 * failing the request, so malformed=oob completes there; every other case behaves alike.
 */
#include "guests/tiny/blk.h"

#define CHECK_MAX_SECTORS 8192 /* 4 MiB of pattern */
#define CHECK_MAX_UNIT    8    /* sectors per logical block: up to 4 KiB blocks */
#define CHECK_MAX_LEN     16   /* logical blocks per request */
#define CHECK_DEPTH       16   /* requests in flight */
#define WAIT_SECONDS      30

struct blk_slot blk_slots[BLK_SLOTS];

static struct vq blk_vq;
static uint8_t img[CHECK_MAX_SECTORS * SECTOR] __attribute__((aligned(4096)));
static uint8_t bounce[CHECK_DEPTH][CHECK_MAX_LEN * CHECK_MAX_UNIT * SECTOR]
    __attribute__((aligned(4096)));
static char id_buf[VIRTIO_BLK_ID_BYTES + 1] __attribute__((aligned(64)));

const char *blk_status_name(int status)
{
    switch (status) {
    case VIRTIO_BLK_S_OK:
        return "OK";
    case VIRTIO_BLK_S_IOERR:
        return "IOERR";
    case VIRTIO_BLK_S_UNSUPP:
        return "UNSUPP";
    case BLK_STATUS_NONE:
        return "untouched";
    case -1:
        return "no completion";
    default:
        return "unknown";
    }
}

/* --- Device setup --------------------------------------------------------------------------- */

static uint32_t cfg32(const struct blk *b, uint32_t off)
{
    uint32_t v;

    vpci_config_read(&b->dev, off, &v, sizeof(v));
    return v;
}

static int blk_start(struct blk *b)
{
    struct vpci_dev *d = &b->dev;

    if (vpci_negotiate(d, b->want))
        return -1;
    vpci_config_read(d, offsetof(struct virtio_blk_config, capacity), &b->capacity, 8);
    b->blk_size = vpci_has(d, VIRTIO_BLK_F_BLK_SIZE)
                      ? cfg32(b, offsetof(struct virtio_blk_config, blk_size))
                      : SECTOR;
    if (b->blk_size < SECTOR || b->blk_size > CHECK_MAX_UNIT * SECTOR ||
        b->blk_size & (b->blk_size - 1)) {
        printf("blk: unusable block size %u\n", b->blk_size);
        return -1;
    }
    b->seg_max = vpci_has(d, VIRTIO_BLK_F_SEG_MAX)
                     ? cfg32(b, offsetof(struct virtio_blk_config, seg_max))
                     : 0xffffffff;
    b->size_max = vpci_has(d, VIRTIO_BLK_F_SIZE_MAX)
                      ? cfg32(b, offsetof(struct virtio_blk_config, size_max))
                      : 0xffffffff;
    if (!b->seg_max || b->size_max < b->blk_size) {
        printf("blk: unusable seg_max %u / size_max %u\n", b->seg_max, b->size_max);
        return -1;
    }
    if (vpci_has(d, VIRTIO_BLK_F_DISCARD)) {
        b->max_discard_sectors = cfg32(b, offsetof(struct virtio_blk_config, max_discard_sectors));
        b->max_discard_seg = cfg32(b, offsetof(struct virtio_blk_config, max_discard_seg));
        b->discard_align = cfg32(b, offsetof(struct virtio_blk_config, discard_sector_alignment));
    }
    if (vpci_has(d, VIRTIO_BLK_F_WRITE_ZEROES)) {
        b->max_wz_sectors = cfg32(b, offsetof(struct virtio_blk_config, max_write_zeroes_sectors));
        b->max_wz_seg = cfg32(b, offsetof(struct virtio_blk_config, max_write_zeroes_seg));
    }
    if (vq_setup(b->q, d, 0, VQ_MAX_SIZE))
        return -1;
    vpci_driver_ok(d);
    if (vpci_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET) {
        printf("blk: device needs a reset right after DRIVER_OK\n");
        return -1;
    }
    for (unsigned int i = 0; i < BLK_SLOTS; i++)
        blk_slots[i].busy = false;
    return 0;
}

int blk_init(struct blk *b, const char *cmdline)
{
    memset(b, 0, sizeof(*b));
    b->q = &blk_vq;
    if (vpci_find(&b->dev, VIRTIO_PCI_ID_BLK, (unsigned int)cmdline_uint(cmdline, "disk", 0)))
        return -1;
    b->want = 1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_SIZE_MAX |
              1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH | 1ULL << VIRTIO_BLK_F_RO |
              1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES |
              1ULL << VIRTIO_RING_F_INDIRECT_DESC | 1ULL << VIRTIO_RING_F_EVENT_IDX;
    if (cmdline_get(cmdline, "noindirect", NULL, 0))
        b->want &= ~(1ULL << VIRTIO_RING_F_INDIRECT_DESC);
    if (cmdline_get(cmdline, "noeventidx", NULL, 0))
        b->want &= ~(1ULL << VIRTIO_RING_F_EVENT_IDX);
    if (blk_start(b))
        return -1;
    printf("blk: device %02x:%02x.%x features 0x%lx (offered 0x%lx) capacity %lu sectors "
           "blk_size %u seg_max %u queue %u\n",
           b->dev.bus, b->dev.slot, b->dev.fn, b->dev.features, b->dev.offered, b->capacity,
           b->blk_size, b->seg_max, b->q->size);
    return 0;
}

int blk_reinit(struct blk *b)
{
    return blk_start(b);
}

/* --- Requests ------------------------------------------------------------------------------- */

int blk_queue(struct blk *b, struct blk_slot *s, uint32_t type, uint64_t sector,
              const struct vq_buf *data, unsigned int n, bool indirect)
{
    struct vq_buf bufs[VQ_IND_MAX];
    int head;

    if (n > VQ_IND_MAX - 2)
        return -1;
    s->hdr = (struct virtio_blk_outhdr){ .type = type, .ioprio = 0, .sector = sector };
    s->status = BLK_STATUS_NONE;
    bufs[0] = (struct vq_buf){ (uintptr_t)&s->hdr, sizeof(s->hdr), false };
    for (unsigned int i = 0; i < n; i++)
        bufs[1 + i] = data[i];
    bufs[1 + n] = (struct vq_buf){ (uintptr_t)&s->status, 1, true };
    head = vq_add(b->q, bufs, n + 2, indirect, s);
    if (head < 0)
        return -1;
    s->busy = true;
    return 0;
}

enum blk_wait_result blk_wait(struct blk *b, struct blk_slot **s, unsigned int seconds)
{
    uint64_t t0 = rdtsc(), last_status = t0;

    for (;;) {
        void *token;
        uint32_t len;
        uint64_t now;

        if (vq_get_used(b->q, &token, &len)) {
            *s = token;
            (*s)->busy = false;
            return BLK_WAIT_DONE;
        }
        now = rdtsc();
        /* The status is an exit: look at it every few million cycles, not every spin. */
        if (now - last_status > (1ULL << 22)) {
            last_status = now;
            if (vpci_status(&b->dev) & VIRTIO_CONFIG_S_NEEDS_RESET)
                return BLK_WAIT_NEEDS_RESET;
        }
        if (now - t0 > tiny_timeout_cycles(seconds))
            return BLK_WAIT_TIMEOUT;
        cpu_relax();
    }
}

int blk_sync(struct blk *b, uint32_t type, uint64_t sector, const struct vq_buf *data,
             unsigned int n, bool indirect)
{
    struct blk_slot *s = &blk_slots[0], *done;
    enum blk_wait_result r;

    if (blk_queue(b, s, type, sector, data, n, indirect))
        return -1;
    vq_publish(b->q);
    r = blk_wait(b, &done, WAIT_SECONDS);
    if (r != BLK_WAIT_DONE) {
        printf("blk: request type %u at %lu: %s\n", type, sector,
               r == BLK_WAIT_TIMEOUT ? "no completion" : "device needs reset");
        return -1;
    }
    return done->status;
}

/* --- Check mode ----------------------------------------------------------------------------- */

struct check {
    struct blk *b;
    uint64_t salt;
    uint64_t sectors; /* span under test, a multiple of unit */
    uint32_t unit;    /* sectors per logical block */
    bool ro;
    unsigned int failures;
    unsigned int requests, segments, indirect;
};

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Every word names its sector and position, so misplaced data is caught as well as bad data. */
static void pattern(const struct check *c, uint64_t first, uint64_t count)
{
    uint64_t *w = (uint64_t *)(img + first * SECTOR);

    for (uint64_t i = 0; i < count * SECTOR / 8; i++)
        w[i] = mix64(c->salt + first * (SECTOR / 8) + i);
}

static void expect(struct check *c, bool ok, const char *what, int status)
{
    if (ok) {
        printf("blk: ok: %s (%s)\n", what, blk_status_name(status));
        return;
    }
    printf("blk: FAIL: %s: status %d (%s)\n", what, status, blk_status_name(status));
    c->failures++;
}

/* Splits len blocks into up to three segments (1, half the rest, the rest), within seg_max. */
static unsigned int split(const struct check *c, uint32_t len, uint32_t seg[3])
{
    if (len < 2 || c->b->seg_max < 2) {
        seg[0] = len;
        return 1;
    }
    if (len == 2 || c->b->seg_max < 3) {
        seg[0] = 1;
        seg[1] = len - 1;
        return 2;
    }
    seg[0] = 1;
    seg[1] = (len - 1) / 2;
    seg[2] = len - 1 - seg[1];
    return 3;
}

static struct blk_slot *free_slot(void)
{
    for (unsigned int i = 0; i < CHECK_DEPTH; i++)
        if (!blk_slots[i].busy)
            return &blk_slots[i];
    return NULL;
}

/* Checks one completed request; reads are compared with img (or copied into it: `capture`). */
static void bulk_done(struct check *c, struct blk_slot *s, bool write, bool capture)
{
    uint8_t *buf = bounce[s - blk_slots];
    uint64_t sector = s->sector;

    if (s->status != VIRTIO_BLK_S_OK) {
        printf("blk: FAIL: %s at sector %lu: status %u (%s)\n", write ? "write" : "read", sector,
               s->status, blk_status_name(s->status));
        c->failures++;
        return;
    }
    if (write)
        return;
    for (unsigned int k = 0; k < s->nseg; k++) {
        uint8_t *want = img + sector * SECTOR;

        if (capture) {
            memcpy(want, buf + s->seg_off[k], s->seg_len[k]);
        } else if (memcmp(buf + s->seg_off[k], want, s->seg_len[k])) {
            printf("blk: FAIL: data read at sector %lu (segment %u, %u bytes) differs\n", sector, k,
                   s->seg_len[k]);
            c->failures++;
            return;
        }
        sector += s->seg_len[k] / SECTOR;
    }
}

/*
 * Moves [first, first + count) between img and the disk with up to CHECK_DEPTH requests in flight,
 * published in batches so the device finds several at once. Request i is 1 + 5i mod 16 blocks in
 * up to three descriptors; every third goes through an indirect table. Reads land in a bounce
 * buffer with their segments in reverse memory order, so a device that ignored descriptor order
 * would be caught.
 */
static void bulk(struct check *c, bool write, uint64_t first, uint64_t count, bool capture)
{
    struct blk *b = c->b;
    uint64_t at = first, end = first + count;
    unsigned int i = 0, inflight = 0;

    while (at < end || inflight) {
        struct blk_slot *s;
        bool queued = false;

        while (at < end && (s = free_slot())) {
            uint32_t len = (1 + (i * 5) % CHECK_MAX_LEN) * c->unit, seg[3], off = 0;
            struct vq_buf data[3];
            unsigned int n;
            bool ind = b->q->indirect && i % 3 == 2;

            if (len > end - at)
                len = (uint32_t)(end - at);
            n = split(c, len / c->unit, seg);
            s->sector = at;
            s->nseg = n;
            for (unsigned int k = 0; k < n; k++) {
                s->seg_len[k] = seg[k] * c->unit * SECTOR;
                if (s->seg_len[k] > b->size_max) {
                    printf("blk: size_max %u below the check's segments\n", b->size_max);
                    exit(BLK_EXIT_DEV);
                }
            }
            for (unsigned int k = n; k-- > 0;) {
                s->seg_off[k] = off;
                off += s->seg_len[k];
            }
            for (unsigned int k = 0, sec = 0; k < n; sec += s->seg_len[k] / SECTOR, k++) {
                uint64_t addr = write ? (uintptr_t)(img + (at + sec) * SECTOR)
                                      : (uintptr_t)(bounce[s - blk_slots] + s->seg_off[k]);

                data[k] = (struct vq_buf){ addr, s->seg_len[k], !write };
            }
            if (blk_queue(b, s, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, at, data, n, ind))
                break; /* ring full: reap first */
            c->requests++;
            c->segments += n;
            c->indirect += ind;
            queued = true;
            inflight++;
            at += len;
            i++;
        }
        if (queued)
            vq_publish(b->q);
        if (!inflight)
            continue;
        if (blk_wait(b, &s, WAIT_SECONDS) != BLK_WAIT_DONE) {
            printf("blk: FAIL: no completion (or the device needs a reset) during bulk %s\n",
                   write ? "write" : "read");
            exit(BLK_EXIT_FAIL);
        }
        inflight--;
        bulk_done(c, s, write, capture);
    }
}

static void check_id(struct check *c)
{
    struct vq_buf d = { (uintptr_t)id_buf, VIRTIO_BLK_ID_BYTES, true };
    int st;

    memset(id_buf, 0, sizeof(id_buf));
    st = blk_sync(c->b, VIRTIO_BLK_T_GET_ID, 0, &d, 1, false);
    expect(c, st == VIRTIO_BLK_S_OK, "GET_ID", st);
    for (unsigned int i = 0; i < VIRTIO_BLK_ID_BYTES && id_buf[i]; i++) {
        if (id_buf[i] < 0x20 || id_buf[i] > 0x7e) {
            id_buf[i] = '?';
            c->failures++;
            printf("blk: FAIL: id byte %u is not printable\n", i);
        }
    }
    printf("blk: id '%s'\n", id_buf);
}

/* Requests the device must refuse, whatever the disk's mode. */
static void check_refusals(struct check *c)
{
    struct blk *b = c->b;
    uint64_t cap = b->capacity, last = cap - c->unit;
    struct vq_buf one = { (uintptr_t)bounce[0], c->unit * SECTOR, true };
    struct vq_buf two = { (uintptr_t)bounce[0], 2 * c->unit * SECTOR, true };
    struct vq_buf out = { (uintptr_t)img, c->unit * SECTOR, false };
    int st;

    st = blk_sync(b, VIRTIO_BLK_T_IN, last, &one, 1, false);
    expect(c, st == VIRTIO_BLK_S_OK, "read of the last block", st);
    st = blk_sync(b, VIRTIO_BLK_T_IN, cap, &one, 1, false);
    expect(c, st == VIRTIO_BLK_S_IOERR, "read at the capacity is refused", st);
    st = blk_sync(b, VIRTIO_BLK_T_IN, last, &two, 1, false);
    expect(c, st == VIRTIO_BLK_S_IOERR, "read straddling the end is refused", st);
    st = blk_sync(b, VIRTIO_BLK_T_IN, ~0ULL - 1, &one, 1, false);
    expect(c, st == VIRTIO_BLK_S_IOERR, "read at sector 2^64-2 is refused", st);
    st = blk_sync(b, VIRTIO_BLK_T_OUT, cap, &out, 1, false);
    expect(c, st == VIRTIO_BLK_S_IOERR, "write at the capacity is refused", st);
    /* No data at all: at the capacity it touches nothing past the end; one further it does. */
    st = blk_sync(b, VIRTIO_BLK_T_IN, cap, NULL, 0, false);
    expect(c, st == VIRTIO_BLK_S_OK, "zero-length read at the capacity", st);
    st = blk_sync(b, VIRTIO_BLK_T_IN, cap + c->unit, NULL, 0, false);
    expect(c, st == VIRTIO_BLK_S_IOERR, "zero-length read past the capacity is refused", st);
    st = blk_sync(b, 0x7f, 0, &one, 1, false);
    expect(c, st == VIRTIO_BLK_S_UNSUPP, "unknown request type 0x7f", st);
}

/* DISCARD / WRITE_ZEROES with one segment; -2 when the feature or its limits do not allow it. */
static int range_op(struct check *c, uint32_t type, uint64_t sector, uint32_t n)
{
    static struct virtio_blk_discard_write_zeroes seg __attribute__((aligned(16)));
    struct blk *b = c->b;
    struct vq_buf d = { (uintptr_t)&seg, sizeof(seg), false };
    bool wz = type == VIRTIO_BLK_T_WRITE_ZEROES;
    uint32_t max = wz ? b->max_wz_sectors : b->max_discard_sectors;

    if (!vpci_has(&b->dev, wz ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD) || max < n ||
        (!wz && b->discard_align && sector % b->discard_align))
        return -2;
    seg = (struct virtio_blk_discard_write_zeroes){ .sector = sector, .num_sectors = n };
    return blk_sync(b, type, sector, &d, 1, false);
}

static int check_rw(struct check *c)
{
    struct blk *b = c->b;
    uint64_t zs = 8 * c->unit, ds = 24 * c->unit, n = 8 * c->unit;
    int st;

    pattern(c, 0, c->sectors);
    bulk(c, true, 0, c->sectors, false);
    printf("blk: wrote %lu sectors: %u requests, %u data segments, %u indirect\n", c->sectors,
           c->requests, c->segments, c->indirect);
    if (b->q->indirect && !c->indirect) {
        puts("blk: FAIL: no request went through an indirect table");
        c->failures++;
    }

    st = range_op(c, VIRTIO_BLK_T_WRITE_ZEROES, zs, (uint32_t)n);
    if (st != -2) {
        expect(c, st == VIRTIO_BLK_S_OK, "WRITE_ZEROES of 8 blocks", st);
        memset(img + zs * SECTOR, 0, n * SECTOR);
    }
    /* After a discard the contents are undefined: write the pattern there again. */
    st = range_op(c, VIRTIO_BLK_T_DISCARD, ds, (uint32_t)n);
    if (st != -2) {
        expect(c, st == VIRTIO_BLK_S_OK, "DISCARD of 8 blocks", st);
        bulk(c, true, ds, n, false);
    }
    if (vpci_has(&b->dev, VIRTIO_BLK_F_FLUSH)) {
        st = blk_sync(b, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false);
        expect(c, st == VIRTIO_BLK_S_OK, "FLUSH", st);
    }
    c->requests = c->segments = c->indirect = 0;
    bulk(c, false, 0, c->sectors, false);
    printf("blk: read back %lu sectors: %u requests, %u indirect\n", c->sectors, c->requests,
           c->indirect);
    check_refusals(c);
    return 0;
}

static int check_ro(struct check *c)
{
    struct blk *b = c->b;
    struct vq_buf out = { (uintptr_t)bounce[0], c->unit * SECTOR, false };
    int st;

    if (!vpci_has(&b->dev, VIRTIO_BLK_F_RO)) {
        puts("blk: FAIL: `ro` given but the device does not offer VIRTIO_BLK_F_RO");
        c->failures++;
    }
    bulk(c, false, 0, c->sectors, true);
    /* A driver must not write a read-only disk; this one does, to see the device refuse. */
    memset(bounce[0], 0xa5, c->unit * SECTOR);
    st = blk_sync(b, VIRTIO_BLK_T_OUT, 0, &out, 1, false);
    expect(c, st == VIRTIO_BLK_S_IOERR, "write to a read-only disk is refused", st);
    if (b->q->indirect) {
        st = blk_sync(b, VIRTIO_BLK_T_OUT, c->unit, &out, 1, true);
        expect(c, st == VIRTIO_BLK_S_IOERR, "indirect write to a read-only disk is refused", st);
    }
    b->max_wz_sectors = b->max_discard_sectors = 0xffffffff;
    st = range_op(c, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8 * c->unit);
    if (st != -2)
        expect(c, st == VIRTIO_BLK_S_IOERR, "WRITE_ZEROES on a read-only disk is refused", st);
    /* Discard is only a hint (QEMU answers OK on read-only drives): what counts is the data. */
    st = range_op(c, VIRTIO_BLK_T_DISCARD, 0, 8 * c->unit);
    if (st != -2)
        expect(c, st == VIRTIO_BLK_S_IOERR || st == VIRTIO_BLK_S_OK,
               "DISCARD on a read-only disk changes nothing", st);
    bulk(c, false, 0, c->sectors, false);
    printf("blk: read %lu sectors twice around the refused writes: %s\n", c->sectors,
           c->failures ? "see above" : "unchanged");
    check_refusals(c);
    return 0;
}

static int check(struct blk *b, const char *cmdline)
{
    struct check c = { .b = b, .unit = b->blk_size / SECTOR };
    uint64_t span = cmdline_uint(cmdline, "sectors", 2048);

    c.ro = cmdline_get(cmdline, "ro", NULL, 0);
    c.salt = cmdline_uint(cmdline, "seed", rdtsc());
    if (vpci_has(&b->dev, VIRTIO_BLK_F_RO) && !c.ro) {
        puts("blk: the disk is read-only (VIRTIO_BLK_F_RO): pass `ro` to check it as such");
        return BLK_EXIT_USAGE;
    }
    if (span > CHECK_MAX_SECTORS)
        span = CHECK_MAX_SECTORS;
    if (span > b->capacity)
        span = b->capacity;
    c.sectors = span - span % (32 * c.unit);
    if (!c.sectors) {
        printf("blk: the disk (%lu sectors) is too small to check\n", b->capacity);
        return BLK_EXIT_USAGE;
    }
    check_id(&c);
    if (c.ro)
        check_ro(&c);
    else
        check_rw(&c);
    if (vpci_status(&b->dev) & VIRTIO_CONFIG_S_NEEDS_RESET) {
        puts("blk: FAIL: the device needs a reset after the checks");
        c.failures++;
    }
    if (c.failures) {
        printf("blk: FAIL: %u checks failed\n", c.failures);
        return BLK_EXIT_FAIL;
    }
    puts("blk: PASS");
    return 0;
}

int main(unsigned int cpu, const char *cmdline)
{
    static struct blk b;

    if (cpu != 0)
        park();
    if (blk_init(&b, cmdline))
        return BLK_EXIT_DEV;
    if (cmdline_get(cmdline, "bench", NULL, 0))
        return blk_bench(&b, cmdline);
    if (cmdline_get(cmdline, "malformed", NULL, 0))
        return blk_malformed(&b, cmdline);
    if (cmdline_get(cmdline, "storm", NULL, 0))
        return blk_storm(&b, cmdline);
    return check(&b, cmdline);
}
