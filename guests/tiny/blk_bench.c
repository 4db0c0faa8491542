// SPDX-License-Identifier: MIT
/*
 * bench=OP: keeps qd requests in flight for count requests (or `seconds`), polling the used ring,
 * and prints one line:
 *
 *   blk-bench: op=randread bs=4096 qd=32 ops=N bytes=B errors=0 cycles=C tsc_khz=K tsc_src=S us=U
 *
 * cycles is the TSC across the timed loop (first submission to last completion). The guest cannot
 * always tell what a cycle is worth (QEMU TCG has no frequency leaf), so the line gives the
 * source of tsc_khz (cmdline, cpuid-40000010, cpuid-15, cpuid-16, none) and us=0 when it is
 * unknown. The host can instead time the run itself: it may timestamp the "blk-bench: start" line
 * and the result line as they arrive on the serial port, or time the whole VM and subtract an
 * empty run; ops and bytes are exact either way. count mode (the default) makes runs comparable
 * across VMMs; seconds mode needs a known TSC frequency.
 *
 * Keys: bench=randread|randwrite|seqread|seqwrite, qd=N (32; 1 to the queue size), bs=BYTES
 * (4096; a multiple of the block size, at most 4 MiB, qd * bs at most 32 MiB), count=N (default:
 * 256 MiB worth, at least qd) or seconds=N, tsc_khz=N, seed=N (random offsets, bs-aligned over
 * the whole disk), align=N (0; every buffer starts N bytes past alignment, 0 to 4095: with
 * cache=none the device must bounce each request), samebuf (every request uses the same bs bytes
 * of guest memory, so qd * bs may exceed 32 MiB: a guest asking the host for far more bounce
 * memory than it has itself). Sequential ops wrap at the end of the disk. Requests are direct
 * chains (header, data, status) while qd of them fit in the ring, else one indirect descriptor each
 * (the start line says which). Exit 0; 1 when a request failed or nothing completed for 30 s; 2 for
 * bad keys or a write benchmark on a read-only disk; 3 when the device cannot be set up.
 */
#include "guests/tiny/blk.h"

#define BENCH_MAX_BS      (4 * 1024 * 1024)
#define BENCH_MAX_ALIGN   4095
#define BENCH_POOL        (32 * 1024 * 1024) /* qd * bs must fit: 32 x 1 MiB */
#define BENCH_DEFAULT_MiB 256                /* count defaults to this much data */
#define HV_LEAF_BASE      0x40000000
#define HV_LEAF_TIMING    0x40000010
#define STALL_SECONDS     30

static uint8_t pool[BENCH_POOL] __attribute__((aligned(4096)));

enum bench_op { RANDREAD, RANDWRITE, SEQREAD, SEQWRITE };
static const char *const op_names[] = { "randread", "randwrite", "seqread", "seqwrite" };

/* The TSC frequency in kHz, and where it came from; 0 and "none" when nothing says. */
static uint64_t tsc_khz(const char *cmdline, const char **src)
{
    uint64_t khz = cmdline_uint(cmdline, "tsc_khz", 0);
    struct cpuid_regs r;

    *src = "cmdline";
    if (khz)
        return khz;
    /* Only a hypervisor (CPUID.1:ECX[31]) defines the 0x4000xxxx leaves. */
    if (cpuid(1, 0).ecx & (1u << 31) && cpuid(HV_LEAF_BASE, 0).eax >= HV_LEAF_TIMING &&
        (khz = cpuid(HV_LEAF_TIMING, 0).eax)) {
        *src = "cpuid-40000010";
        return khz;
    }
    if (cpuid(0, 0).eax >= 0x15) {
        r = cpuid(0x15, 0);
        if (r.eax && r.ebx && r.ecx) {
            *src = "cpuid-15";
            return (uint64_t)r.ecx * r.ebx / r.eax / 1000;
        }
    }
    if (cpuid(0, 0).eax >= 0x16 && (khz = (cpuid(0x16, 0).eax & 0xffff) * 1000ULL)) {
        *src = "cpuid-16"; /* base frequency: close to the TSC's on the CPUs that have it */
        return khz;
    }
    *src = "none";
    return 0;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static int op_parse(const char *s)
{
    for (unsigned int i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
        if (!memcmp(s, op_names[i], strlen(op_names[i]) + 1))
            return (int)i;
    return -1;
}

int blk_bench(struct blk *b, const char *cmdline)
{
    char name[16];
    const char *src;
    int op;
    uint64_t qd = cmdline_uint(cmdline, "qd", 32), bs = cmdline_uint(cmdline, "bs", 4096);
    uint64_t count = cmdline_uint(cmdline, "count", 0), secs = cmdline_uint(cmdline, "seconds", 0);
    uint64_t seed = cmdline_uint(cmdline, "seed", 1) | 1, khz = tsc_khz(cmdline, &src);
    uint64_t align = cmdline_uint(cmdline, "align", 0);
    bool samebuf = cmdline_get(cmdline, "samebuf", NULL, 0);
    uint64_t stride = samebuf ? 0 : bs; /* guest memory between two slots' buffers */
    uint64_t blocks, next_seq = 0, issued = 0, done = 0, errors = 0, t0, t1, limit = 0, last;
    uint32_t segs;
    bool writes, indirect = false, stop = false;
    uint16_t free_slots[BLK_SLOTS];
    unsigned int nfree = 0, inflight = 0;

    cmdline_get(cmdline, "bench", name, sizeof(name));
    op = op_parse(name);
    if (op < 0) {
        printf("blk-bench: unknown op '%s' (randread, randwrite, seqread, seqwrite)\n", name);
        return BLK_EXIT_USAGE;
    }
    writes = op == RANDWRITE || op == SEQWRITE;
    /* Pieces per request, at most: one more when a misaligned start cuts the first one short. */
    segs = (uint32_t)((bs + b->size_max - 1) / b->size_max) + (align ? 1 : 0);
    blocks = bs ? b->capacity * SECTOR / bs : 0;
    if (!bs || bs % b->blk_size || bs > BENCH_MAX_BS || !qd || qd > BLK_SLOTS || qd > b->q->size ||
        align > BENCH_MAX_ALIGN || (qd - 1) * stride + bs + align > BENCH_POOL ||
        segs > b->seg_max || segs + 2 > VQ_IND_MAX) {
        printf("blk-bench: bad bs=%lu qd=%lu align=%lu (bs: a multiple of %u up to %u; qd: 1 to "
               "%u; qd*bs+align up to %u without samebuf; align up to %u)\n",
               bs, qd, align, b->blk_size, BENCH_MAX_BS, b->q->size, BENCH_POOL, BENCH_MAX_ALIGN);
        return BLK_EXIT_USAGE;
    }
    if (!blocks) {
        printf("blk-bench: the disk (%lu sectors) is smaller than one block\n", b->capacity);
        return BLK_EXIT_USAGE;
    }
    /* Direct chains while qd of them fit in the ring, else one indirect descriptor each. */
    if (qd * (segs + 2) > b->q->size) {
        if (!b->q->indirect) {
            printf("blk-bench: qd=%lu needs %lu descriptors; queue has %u and no indirect\n", qd,
                   qd * (segs + 2), b->q->size);
            return BLK_EXIT_USAGE;
        }
        indirect = true;
    }
    if (secs && !khz) {
        puts("blk-bench: seconds= needs the TSC frequency: pass tsc_khz= (or use count=)");
        return BLK_EXIT_USAGE;
    }
    if (!count && !secs)
        count = (BENCH_DEFAULT_MiB << 20) / bs < qd ? qd : (BENCH_DEFAULT_MiB << 20) / bs;
    if (writes && vpci_has(&b->dev, VIRTIO_BLK_F_RO)) {
        puts("blk-bench: the disk is read-only");
        return BLK_EXIT_USAGE;
    }
    if (writes)
        for (uint64_t i = 0; i + 8 <= (qd - 1) * stride + bs + align; i += 8)
            *(uint64_t *)(pool + i) = i * 0x9e3779b97f4a7c15ULL;
    for (unsigned int i = 0; i < qd; i++)
        free_slots[nfree++] = (uint16_t)i;

    printf("blk-bench: start op=%s bs=%lu qd=%lu count=%lu seconds=%lu indirect=%u align=%lu "
           "samebuf=%u\n",
           op_names[op], bs, qd, count, secs, indirect, align, samebuf);
    if (secs)
        limit = secs * khz * 1000;
    t0 = last = rdtsc();
    for (;;) {
        bool queued = false;
        void *token;
        uint32_t len;

        while (!stop && nfree) {
            struct blk_slot *s;
            struct vq_buf data[VQ_IND_MAX];
            uint64_t blk, left = bs, addr;
            unsigned int n = 0;

            if (count && issued >= count) {
                stop = true;
                break;
            }
            s = &blk_slots[free_slots[nfree - 1]];
            blk =
                op == RANDREAD || op == RANDWRITE ? xorshift(&seed) % blocks : next_seq++ % blocks;
            addr = (uintptr_t)(pool + (s - blk_slots) * stride + align);
            for (; left; n++) {
                /* A misaligned start makes one more piece, so that none crosses size_max. */
                uint32_t l = left > b->size_max ? b->size_max : (uint32_t)left;

                if (n == 0 && align && l == b->size_max)
                    l -= (uint32_t)align;

                data[n] = (struct vq_buf){ addr, l, !writes };
                addr += l;
                left -= l;
            }
            if (blk_queue(b, s, writes ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, blk * bs / SECTOR,
                          data, n, indirect))
                break;
            nfree--;
            inflight++;
            issued++;
            queued = true;
        }
        if (queued)
            vq_publish(b->q);
        if (!inflight)
            break;
        if (!vq_get_used(b->q, &token, &len)) {
            uint64_t now = rdtsc();

            if (limit && now - t0 >= limit)
                stop = true;
            if (now - last > tiny_timeout_cycles(STALL_SECONDS)) {
                printf("blk-bench: no completion for %u s (%lu done, %u in flight, device "
                       "status 0x%x, avail %u used %u)\n",
                       STALL_SECONDS, done, inflight, vpci_status(&b->dev), b->q->avail_idx,
                       __atomic_load_n(&b->q->used->idx, __ATOMIC_ACQUIRE));
                return BLK_EXIT_FAIL;
            }
            cpu_relax();
            continue;
        }
        /* Reap everything that is there before refilling: one publish per batch. */
        do {
            struct blk_slot *s = token;

            s->busy = false;
            errors += s->status != VIRTIO_BLK_S_OK;
            free_slots[nfree++] = (uint16_t)(s - blk_slots);
            inflight--;
            done++;
        } while (vq_get_used(b->q, &token, &len));
        last = rdtsc();
        if (limit && last - t0 >= limit)
            stop = true;
    }
    t1 = rdtsc();
    printf("blk-bench: op=%s bs=%lu qd=%lu ops=%lu bytes=%lu errors=%lu cycles=%lu tsc_khz=%lu "
           "tsc_src=%s us=%lu\n",
           op_names[op], bs, qd, done, done * bs, errors, t1 - t0, khz, src,
           khz ? (t1 - t0) * 1000 / khz : 0);
    if (errors) {
        printf("blk-bench: %lu requests failed\n", errors);
        return BLK_EXIT_FAIL;
    }
    return 0;
}
