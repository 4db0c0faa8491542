// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for devices/virtio/virtqueue.c: the fuzz input is a driver. It picks the queue
 * shape and ring addresses, supplies the whole guest RAM image (descriptors, rings, indirect
 * tables) and a few patches the "driver" applies between kicks. The harness then behaves like a
 * device: pop until <= 0, touch every byte of every buffer (so ASan sees any pointer that left
 * guest RAM), push, decide on notifications.
 *
 * Input layout (little-endian):
 *   0  u8  log2 queue size (mod 11: 1..1024)     1  u8  flags: bit0 EVENT_IDX, bit1 INDIRECT,
 *                                                          bit2 defer pushes to the end of a kick
 *   2  u16 desc offset   4 u16 avail offset   6 u16 used offset   (into RAM, checked by vq_enable)
 *   8  u16 initial ring index (exercises 16-bit wraparound)
 *   10 u8  kicks (mod 4, + 1)                 11 u8  number of patches (mod 16)
 *   12 patches: {u16 RAM offset, u16 value} each, applied in turn before kicks 2..n
 *   then the RAM image (the rest of RAM is zero)
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "devices/virtio/virtqueue.h"

#define RAM_BASE 0x100000ULL
#define RAM_SIZE 0x10000ULL /* 64 KiB: offsets are u16 */
#define HDR_SIZE 12

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* Every segment lies inside RAM and the totals add up; then every byte is touched. */
static void check_chain(const struct vq_chain *c, const uint8_t *ram, uint16_t qsize)
{
    uint64_t rd = 0, wr = 0;
    volatile uint8_t sink = 0;

    CHECK(c->head < qsize);
    CHECK((unsigned int)c->n_rd + c->n_wr <= VQ_MAX_SEGS);
    CHECK(c->n_rd + c->n_wr > 0);
    for (unsigned int i = 0; i < (unsigned int)c->n_rd + c->n_wr; i++) {
        const uint8_t *b = c->iov[i].iov_base;
        size_t len = c->iov[i].iov_len;

        CHECK(len > 0);
        CHECK(b >= ram && len <= RAM_SIZE && (size_t)(b - ram) <= RAM_SIZE - len);
        if (i < c->n_rd) {
            rd += len;
            sink ^= b[0] ^ b[len - 1];
        } else {
            wr += len;
            /* The device writes the guest's buffers; only the ends to keep it fast. */
            ((uint8_t *)b)[0] = 0xa5;
            ((uint8_t *)b)[len - 1] = 0x5a;
        }
    }
    CHECK(rd == c->rd_len && wr == c->wr_len);
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vq_chain chain; /* 16 KiB, reused: not on the stack */
    uint16_t held[VQ_MAX_SIZE];
    const uint8_t *patches;
    struct virtq *vq;
    struct gmem mem;
    unsigned int kicks, npatch;
    uint16_t qsize, start;
    uint8_t *ram;
    bool defer;

    if (size < HDR_SIZE)
        return 0;
    kicks = data[10] % 4 + 1;
    npatch = data[11] % 16;
    if (size < HDR_SIZE + 4 * npatch)
        return 0;
    patches = data + HDR_SIZE;

    /* Exactly RAM_SIZE on the heap: one byte past guest RAM is one byte past the allocation. */
    ram = calloc(1, RAM_SIZE);
    vq = malloc(sizeof(*vq));
    if (!ram || !vq)
        abort();
    size -= HDR_SIZE + 4 * npatch;
    memcpy(ram, patches + 4 * npatch, size < RAM_SIZE ? size : RAM_SIZE);
    gmem_init_fixed(&mem, RAM_BASE, ram, RAM_SIZE);

    qsize = (uint16_t)(1u << (data[0] % 11));
    CHECK(vq_init(vq, &mem, qsize) == 0);
    vq->event_idx = data[1] & 1;
    vq->indirect = data[1] & 2;
    defer = data[1] & 4;
    vq->desc_gpa = RAM_BASE + rd16(data + 2);
    vq->avail_gpa = RAM_BASE + rd16(data + 4);
    vq->used_gpa = RAM_BASE + rd16(data + 6);
    if (vq_enable(vq) != 0)
        goto out;
    /* As if the queue had already run for a while. */
    start = rd16(data + 8);
    vq->last_avail_idx = vq->used_idx = vq->signalled_used = start;

    for (unsigned int k = 0; k < kicks; k++) {
        unsigned int popped = 0, nheld = 0;
        int rc;

        if (k > 0 && npatch) {
            const uint8_t *p = patches + 4 * ((k - 1) % npatch);
            uint16_t off = rd16(p) & (uint16_t)~1u;

            memcpy(ram + off, p + 2, 2);
        }
        /* Bounded: a kick can never yield more than the queue size (plus one to catch it). */
        while (popped <= qsize && (rc = vq_pop(vq, &chain)) > 0) {
            popped++;
            check_chain(&chain, ram, qsize);
            if (defer)
                held[nheld++] = chain.head;
            else
                CHECK(vq_push(vq, chain.head, chain.wr_len) == 0);
        }
        CHECK(popped <= qsize);
        for (unsigned int i = 0; i < nheld; i++)
            CHECK(vq_push(vq, held[i], 0) == 0 || vq->broken);
        if (!vq->broken)
            CHECK(vq->inflight == 0);
        (void)vq_should_notify(vq);
        (void)vq_set_avail_event(vq);
        if (vq->broken) {
            CHECK(vq_pop(vq, &chain) == -EIO);
            break;
        }
    }
out:
    free(vq);
    free(ram);
    return 0;
}
