// SPDX-License-Identifier: MIT
/*
 * Split virtqueues against a hostile driver. A fake_ring (fake_ring.h) is guest RAM (a malloc'd
 * buffer at RAM_BASE) with a queue in it; its helpers write descriptors and avail entries as a
 * driver would, then the tests check what vq_pop()/vq_push() make of them.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/virtio/virtqueue.h"
#include "tests/unit/fake_ring.h"
#include "tests/unit/unit.h"

#define RAM_BASE  FAKE_RING_RAM_BASE
#define RAM_SIZE  FAKE_RING_RAM_SIZE
#define RAM_END   (RAM_BASE + RAM_SIZE)
#define DESC_GPA  FAKE_RING_DESC_GPA
#define AVAIL_GPA FAKE_RING_AVAIL_GPA
#define USED_GPA  FAKE_RING_USED_GPA
#define INDIR_GPA (RAM_BASE + 0x8000) /* indirect tables */
#define DATA_GPA  (RAM_BASE + 0x10000)

/* A readable 16-byte header then a writable 512-byte buffer: the shape of a block request. */
static void post_req(struct fake_ring *r, uint16_t head, uint16_t second)
{
    fake_ring_desc(r, head, DATA_GPA + 0x1000ULL * head, 16, RD | NX, second);
    fake_ring_desc(r, second, DATA_GPA + 0x1000ULL * head + 0x100, 512, WR, 0);
    fake_ring_post(r, head);
}

static struct vq_chain chain; /* 16 KiB: not on the test's stack */

START_TEST(two_descriptor_chain)
{
    struct fake_ring *r = fake_ring_new(8);

    post_req(r, 3, 5);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), 1);
    ck_assert_uint_eq(chain.head, 3);
    ck_assert_uint_eq(chain.n_rd, 1);
    ck_assert_uint_eq(chain.n_wr, 1);
    ck_assert_ptr_eq(chain.iov[0].iov_base, fake_ring_host(r, DATA_GPA + 0x3000));
    ck_assert_uint_eq(chain.iov[0].iov_len, 16);
    ck_assert_ptr_eq(vq_chain_wr(&chain)[0].iov_base, fake_ring_host(r, DATA_GPA + 0x3100));
    ck_assert_uint_eq(chain.rd_len, 16);
    ck_assert_uint_eq(chain.wr_len, 512);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), 0);

    ck_assert_int_eq(vq_push(&r->vq, 3, 512), 0);
    ck_assert_uint_eq(fake_ring_used(r)->idx, 1);
    ck_assert_uint_eq(fake_ring_used(r)->ring[0].id, 3);
    ck_assert_uint_eq(fake_ring_used(r)->ring[0].len, 512);
    ck_assert_uint_eq(r->vq.inflight, 0);
    fake_ring_free(r);
}
END_TEST

START_TEST(rejects_descriptor_loop)
{
    struct fake_ring *r = fake_ring_new(8);

    fake_ring_desc(r, 1, DATA_GPA, 16, RD | NX, 0); /* 1 -> 0 -> 1 */
    fake_ring_desc(r, 0, DATA_GPA, 16, RD | NX, 1);
    fake_ring_post(r, 1);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), -EINVAL);
    ck_assert(r->vq.broken);
    /* Broken stays broken, and nothing is ever pushed for it. */
    ck_assert_int_eq(vq_pop(&r->vq, &chain), -EIO);
    ck_assert_int_eq(vq_push(&r->vq, 1, 0), -EIO);
    ck_assert_uint_eq(fake_ring_used(r)->idx, 0);
    vq_reset(&r->vq);
    ck_assert(!r->vq.broken && !r->vq.ready);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), 0); /* disabled: empty, even with avail->idx set */
    ck_assert(!vq_should_notify(&r->vq));
    fake_ring_free(r);

    r = fake_ring_new(4); /* a descriptor that is its own successor */
    fake_ring_desc(r, 2, DATA_GPA, 16, WR | NX, 2);
    fake_ring_post(r, 2);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), -EINVAL);
    fake_ring_free(r);
}
END_TEST

START_TEST(chain_as_long_as_the_queue)
{
    struct fake_ring *r = fake_ring_new(8);

    for (uint16_t i = 0; i < 8; i++)
        fake_ring_desc(r, i, DATA_GPA + 64 * i, 64, RD | (i < 7 ? NX : 0), i + 1);
    fake_ring_post(r, 0);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), 1);
    ck_assert_uint_eq(chain.n_rd, 8);
    ck_assert_uint_eq(chain.rd_len, 512);
    fake_ring_free(r);

    /* One more "next" leaves the table: longer than the queue is impossible without a loop. */
    r = fake_ring_new(8);
    for (uint16_t i = 0; i < 8; i++)
        fake_ring_desc(r, i, DATA_GPA + 64 * i, 64, RD | NX, i + 1);
    fake_ring_post(r, 0);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), -EINVAL);
    fake_ring_free(r);
}
END_TEST

static int pop_one(uint64_t addr, uint32_t len, uint16_t flags)
{
    struct fake_ring *r = fake_ring_new(8);
    int rc;

    fake_ring_desc(r, 0, addr, len, flags, 0);
    fake_ring_post(r, 0);
    rc = vq_pop(&r->vq, &chain);
    fake_ring_free(r);
    return rc;
}

START_TEST(rejects_buffers_outside_ram)
{
    ck_assert_int_eq(pop_one(RAM_END - 16, 16, WR), 1);       /* last byte of RAM */
    ck_assert_int_eq(pop_one(RAM_END - 15, 16, WR), -EFAULT); /* one byte past */
    ck_assert_int_eq(pop_one(RAM_END, 1, RD), -EFAULT);
    ck_assert_int_eq(pop_one(RAM_BASE - 1, 2, RD), -EFAULT);     /* starts below RAM */
    ck_assert_int_eq(pop_one(UINT64_MAX - 15, 32, WR), -EFAULT); /* addr + len wraps */
    ck_assert_int_eq(pop_one(UINT64_MAX, 1, WR), -EFAULT);
    ck_assert_int_eq(pop_one(RAM_BASE, UINT32_MAX, RD), -EFAULT); /* huge length */
    ck_assert_int_eq(pop_one(RAM_BASE, RAM_SIZE, RD), 1);         /* all of RAM is fine */
    ck_assert_int_eq(pop_one(RAM_BASE, RAM_SIZE + 1, RD), -EFAULT);
}
END_TEST

START_TEST(rejects_zero_length)
{
    /* Decision: rejected, as QEMU does; Linux never sends one, so it means a confused driver. */
    ck_assert_int_eq(pop_one(DATA_GPA, 0, RD), -EINVAL);
    ck_assert_int_eq(pop_one(DATA_GPA, 0, WR), -EINVAL);
}
END_TEST

START_TEST(rejects_chain_over_4g)
{
    /* 8 GiB of address space, never touched: vq_pop only computes pointers into it. */
    struct fake_ring *r = fake_ring_new(8);
    size_t big = 8ULL << 30;
    void *res = mmap(NULL, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    uint64_t hi = 1ULL << 40;

    ck_assert_ptr_ne(res, MAP_FAILED);
    r->mem.regions[r->mem.nr++] = (struct gmem_region){ .gpa = hi, .size = big, .host = res };
    fake_ring_desc(r, 0, hi, 0xc0000000u, WR | NX, 1);
    fake_ring_desc(r, 1, hi + 0xc0000000u, 0xc0000000u, WR, 0); /* 6 GiB in total */
    fake_ring_post(r, 0);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), -EINVAL);
    munmap(res, big);
    fake_ring_free(r);
}
END_TEST

START_TEST(rejects_avail_idx_too_far_ahead)
{
    struct fake_ring *r = fake_ring_new(8);
    struct vring_avail *a = fake_ring_host(r, AVAIL_GPA);

    for (uint16_t i = 0; i < 8; i++)
        fake_ring_desc(r, i, DATA_GPA, 16, RD, 0);
    a->idx = 9;
    ck_assert_int_eq(vq_pop(&r->vq, &chain), -EINVAL);
    fake_ring_free(r);

    /* Exactly size ahead is a full ring: all of it pops, then nothing. */
    r = fake_ring_new(8);
    for (uint16_t i = 0; i < 8; i++) {
        fake_ring_desc(r, i, DATA_GPA, 16, RD, 0);
        fake_ring_post(r, 7 - i);
    }
    for (uint16_t i = 0; i < 8; i++) {
        ck_assert_int_eq(vq_pop(&r->vq, &chain), 1);
        ck_assert_uint_eq(chain.head, 7 - i);
    }
    ck_assert_int_eq(vq_pop(&r->vq, &chain), 0);
    fake_ring_free(r);
}
END_TEST

START_TEST(rejects_bad_heads)
{
    struct fake_ring *r = fake_ring_new(8);

    fake_ring_post(r, 8); /* head beyond the table */
    ck_assert_int_eq(vq_pop(&r->vq, &chain), -EINVAL);
    fake_ring_free(r);

    /* The same head made available again while the device still owns it. */
    r = fake_ring_new(8);
    fake_ring_desc(r, 2, DATA_GPA, 16, RD, 0);
    fake_ring_post(r, 2);
    fake_ring_post(r, 2);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), 1);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), -EINVAL);
    fake_ring_free(r);
}
END_TEST

START_TEST(indirect_table)
{
    struct fake_ring *r = fake_ring_new(4);

    fake_ring_desc_at(r, INDIR_GPA, 0, DATA_GPA, 16, RD | NX, 1);
    fake_ring_desc_at(r, INDIR_GPA, 1, DATA_GPA + 0x100, 100, WR | NX, 2);
    fake_ring_desc_at(r, INDIR_GPA, 2, DATA_GPA + 0x200, 28, WR, 0);
    fake_ring_desc(r, 1, INDIR_GPA, 3 * 16, IND, 0);
    fake_ring_post(r, 1);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), 1);
    ck_assert_uint_eq(chain.head, 1);
    ck_assert_uint_eq(chain.n_rd, 1);
    ck_assert_uint_eq(chain.n_wr, 2);
    ck_assert_uint_eq(chain.wr_len, 128);
    ck_assert_int_eq(vq_push(&r->vq, 1, 128), 0);

    /* Spec: zero or more direct descriptors may precede the indirect one. */
    fake_ring_desc_at(r, INDIR_GPA + 0x200, 0, DATA_GPA + 0x400, 8, WR | NX, 1);
    fake_ring_desc_at(r, INDIR_GPA + 0x200, 1, DATA_GPA + 0x500, 8, WR, 0);
    fake_ring_desc(r, 0, DATA_GPA + 0x300, 8, RD | NX, 3);
    fake_ring_desc(r, 3, INDIR_GPA + 0x200, 2 * 16, IND | WR, 0); /* WR on it is ignored */
    fake_ring_post(r, 0);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), 1);
    ck_assert_uint_eq(chain.n_rd, 1);
    ck_assert_uint_eq(chain.n_wr, 2);
    fake_ring_free(r);
}
END_TEST

/* pop result for an indirect descriptor (addr, len, flags) whose table holds one good entry. */
static int pop_indirect(bool negotiated, uint64_t addr, uint32_t len, uint16_t flags)
{
    struct fake_ring *r = fake_ring_new_ext(8, false, negotiated);
    int rc;

    fake_ring_desc_at(r, INDIR_GPA, 0, DATA_GPA, 16, RD, 0);
    fake_ring_desc(r, 0, addr, len, flags, 1);
    fake_ring_desc(r, 1, DATA_GPA, 16, WR, 0);
    fake_ring_post(r, 0);
    rc = vq_pop(&r->vq, &chain);
    fake_ring_free(r);
    return rc;
}

START_TEST(indirect_bad_tables)
{
    ck_assert_int_eq(pop_indirect(true, INDIR_GPA, 16, IND), 1);
    ck_assert_int_eq(pop_indirect(false, INDIR_GPA, 16, IND), -EINVAL); /* not negotiated */
    ck_assert_int_eq(pop_indirect(true, INDIR_GPA, 0, IND), -EINVAL);
    ck_assert_int_eq(pop_indirect(true, INDIR_GPA, 24, IND), -EINVAL); /* not a multiple */
    ck_assert_int_eq(pop_indirect(true, INDIR_GPA, 17, IND), -EINVAL);
    ck_assert_int_eq(pop_indirect(true, INDIR_GPA, (VQ_MAX_SEGS + 1) * 16, IND), -EINVAL);
    ck_assert_int_eq(pop_indirect(true, INDIR_GPA, UINT32_MAX & ~15u, IND), -EINVAL);
    ck_assert_int_eq(pop_indirect(true, INDIR_GPA, 16, IND | NX), -EINVAL); /* spec: not both */
    ck_assert_int_eq(pop_indirect(true, RAM_END - 8, 16, IND), -EFAULT);
    ck_assert_int_eq(pop_indirect(true, UINT64_MAX - 15, 32, IND), -EFAULT);
}
END_TEST

START_TEST(indirect_hostile_contents)
{
    struct fake_ring *r = fake_ring_new(8);

    /* Nested: an indirect descriptor inside an indirect table. */
    fake_ring_desc_at(r, INDIR_GPA, 0, INDIR_GPA + 0x100, 16, IND, 0);
    fake_ring_desc_at(r, INDIR_GPA + 0x100, 0, DATA_GPA, 16, RD, 0);
    fake_ring_desc(r, 0, INDIR_GPA, 16, IND, 0);
    fake_ring_post(r, 0);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), -EINVAL);
    fake_ring_free(r);

    /* A loop inside the table. */
    r = fake_ring_new(8);
    fake_ring_desc_at(r, INDIR_GPA, 0, DATA_GPA, 16, RD | NX, 1);
    fake_ring_desc_at(r, INDIR_GPA, 1, DATA_GPA, 16, RD | NX, 0);
    fake_ring_desc(r, 0, INDIR_GPA, 32, IND, 0);
    fake_ring_post(r, 0);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), -EINVAL);
    fake_ring_free(r);

    /* "next" beyond the table's own length (but inside the queue size). */
    r = fake_ring_new(8);
    fake_ring_desc_at(r, INDIR_GPA, 0, DATA_GPA, 16, RD | NX, 2);
    fake_ring_desc(r, 0, INDIR_GPA, 32, IND, 0);
    fake_ring_post(r, 0);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), -EINVAL);
    fake_ring_free(r);

    /* A maximal table is fine. */
    r = fake_ring_new(8);
    for (uint16_t i = 0; i < VQ_MAX_SEGS; i++)
        fake_ring_desc_at(r, INDIR_GPA, i, DATA_GPA, 4, WR | (i + 1 < VQ_MAX_SEGS ? NX : 0), i + 1);
    fake_ring_desc(r, 0, INDIR_GPA, VQ_MAX_SEGS * 16, IND, 0);
    fake_ring_post(r, 0);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), 1);
    ck_assert_uint_eq(chain.n_wr, VQ_MAX_SEGS);
    fake_ring_free(r);

    /* ... but not after a direct descriptor: too many buffers in one chain. */
    r = fake_ring_new(8);
    for (uint16_t i = 0; i < VQ_MAX_SEGS; i++)
        fake_ring_desc_at(r, INDIR_GPA, i, DATA_GPA, 4, WR | (i + 1 < VQ_MAX_SEGS ? NX : 0), i + 1);
    fake_ring_desc(r, 0, DATA_GPA, 4, RD | NX, 1);
    fake_ring_desc(r, 1, INDIR_GPA, VQ_MAX_SEGS * 16, IND, 0);
    fake_ring_post(r, 0);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), -EINVAL);
    fake_ring_free(r);
}
END_TEST

START_TEST(rejects_readable_after_writable)
{
    struct fake_ring *r = fake_ring_new(8);

    fake_ring_desc(r, 0, DATA_GPA, 16, WR | NX, 1);
    fake_ring_desc(r, 1, DATA_GPA + 16, 16, RD, 0);
    fake_ring_post(r, 0);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), -EINVAL);
    fake_ring_free(r);
}
END_TEST

START_TEST(push_exactly_once)
{
    struct fake_ring *r = fake_ring_new(8);

    ck_assert_int_eq(vq_push(&r->vq, 0, 0), -EINVAL); /* never popped */
    post_req(r, 0, 1);
    post_req(r, 2, 3);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), 1);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), 1);
    ck_assert_uint_eq(r->vq.inflight, 2);
    /* Completion out of order is fine. */
    ck_assert_int_eq(vq_push(&r->vq, 2, 1), 0);
    ck_assert_int_eq(vq_push(&r->vq, 2, 1), -EINVAL);
    ck_assert_int_eq(vq_push(&r->vq, 8, 1), -EINVAL);
    ck_assert_int_eq(vq_push(&r->vq, 0, 2), 0);
    ck_assert_uint_eq(r->vq.inflight, 0);
    ck_assert_uint_eq(fake_ring_used(r)->idx, 2);
    ck_assert_uint_eq(fake_ring_used(r)->ring[0].id, 2);
    ck_assert_uint_eq(fake_ring_used(r)->ring[1].id, 0);
    /* Once used, head 0 may be made available again. */
    post_req(r, 0, 1);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), 1);
    fake_ring_free(r);
}
END_TEST

/* Pops and pushes one request; returns vq_should_notify(). */
static bool complete_one(struct fake_ring *r, uint16_t head)
{
    post_req(r, head, head + 1);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), 1);
    ck_assert_int_eq(vq_push(&r->vq, head, 0), 0);
    return vq_should_notify(&r->vq);
}

START_TEST(notify_without_event_idx)
{
    struct fake_ring *r = fake_ring_new(8);
    struct vring_avail *a = fake_ring_host(r, AVAIL_GPA);

    ck_assert(!vq_should_notify(&r->vq)); /* nothing used yet */
    ck_assert(complete_one(r, 0));
    ck_assert(!vq_should_notify(&r->vq)); /* nothing new */
    a->flags = VRING_AVAIL_F_NO_INTERRUPT;
    ck_assert(!complete_one(r, 2));
    a->flags = 0;
    ck_assert(complete_one(r, 4));
    ck_assert(!vq_set_avail_event(&r->vq));
    post_req(r, 6, 7);
    ck_assert(vq_set_avail_event(&r->vq)); /* arrived meanwhile: pop again */
    fake_ring_free(r);
}
END_TEST

START_TEST(notify_with_event_idx_and_wraparound)
{
    struct fake_ring *r = fake_ring_new_ext(8, true, false);
    struct vring_avail *a = fake_ring_host(r, AVAIL_GPA);
    uint16_t *used_event = &a->ring[8];
    uint16_t *avail_event = (uint16_t *)&fake_ring_used(r)->ring[8];

    /* A queue that has run for a while: every index 3 short of wrapping. */
    r->avail_idx = 65533;
    a->idx = 65533;
    r->vq.last_avail_idx = r->vq.used_idx = r->vq.signalled_used = 65533;

    *used_event = 65533; /* interrupt when entry 65533 is used */
    ck_assert(complete_one(r, 0));
    ck_assert_uint_eq(fake_ring_used(r)->idx, 65534);
    ck_assert(!complete_one(r, 2)); /* driver did not move used_event */

    *used_event = 0;                /* the entry after 65535: crosses the wrap */
    ck_assert(!complete_one(r, 4)); /* used 65535 */
    ck_assert_uint_eq(fake_ring_used(r)->idx, 0);
    ck_assert(complete_one(r, 6)); /* used 0: wrapped, and due */
    ck_assert_uint_eq(fake_ring_used(r)->idx, 1);
    ck_assert_uint_eq(fake_ring_used(r)->ring[65535 % 8].id, 4);
    ck_assert_uint_eq(fake_ring_used(r)->ring[0].id, 6);

    /* Several pushes in one batch: notify if used_event fell anywhere inside it. */
    *used_event = 1;
    post_req(r, 0, 1);
    post_req(r, 2, 3);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), 1);
    ck_assert_int_eq(vq_pop(&r->vq, &chain), 1);
    ck_assert_int_eq(vq_push(&r->vq, 0, 0), 0);
    ck_assert_int_eq(vq_push(&r->vq, 2, 0), 0);
    ck_assert(vq_should_notify(&r->vq));

    /* NO_INTERRUPT means nothing with EVENT_IDX: only used_event counts. */
    a->flags = VRING_AVAIL_F_NO_INTERRUPT;
    *used_event = 3;
    ck_assert(complete_one(r, 4));

    ck_assert(!vq_set_avail_event(&r->vq));
    ck_assert_uint_eq(*avail_event, 4);
    ck_assert_uint_eq(r->vq.last_avail_idx, 4);
    fake_ring_free(r);
}
END_TEST

static int enable_at(uint16_t size, uint64_t desc_gpa, uint64_t avail_gpa, uint64_t used_gpa)
{
    struct fake_ring *r = fake_ring_new(8);
    int rc;

    vq_reset(&r->vq);
    ck_assert_int_eq(vq_set_size(&r->vq, size), 0);
    r->vq.desc_gpa = desc_gpa;
    r->vq.avail_gpa = avail_gpa;
    r->vq.used_gpa = used_gpa;
    rc = vq_enable(&r->vq);
    ck_assert(rc == 0 || !r->vq.ready);
    fake_ring_free(r);
    return rc;
}

START_TEST(enable_checks_ring_addresses)
{
    ck_assert_int_eq(enable_at(8, DESC_GPA, AVAIL_GPA, USED_GPA), 0);
    ck_assert_int_eq(enable_at(8, DESC_GPA + 8, AVAIL_GPA, USED_GPA), -EINVAL);
    ck_assert_int_eq(enable_at(8, DESC_GPA, AVAIL_GPA + 1, USED_GPA), -EINVAL);
    ck_assert_int_eq(enable_at(8, DESC_GPA, AVAIL_GPA, USED_GPA + 2), -EINVAL);
    ck_assert_int_eq(enable_at(8, DESC_GPA, AVAIL_GPA + 2, USED_GPA + 4), 0);
    /* used: 4 + 8*8 + 2 = 70 bytes; one byte short of fitting at the end of RAM. */
    ck_assert_int_eq(enable_at(8, DESC_GPA, AVAIL_GPA, RAM_END - 72), 0);
    ck_assert_int_eq(enable_at(8, DESC_GPA, AVAIL_GPA, RAM_END - 68), -EFAULT);
    /* avail: 4 + 2*8 + 2 = 22 bytes, used_event included. */
    ck_assert_int_eq(enable_at(8, DESC_GPA, RAM_END - 22, USED_GPA), 0);
    ck_assert_int_eq(enable_at(8, DESC_GPA, RAM_END - 20, USED_GPA), -EFAULT);
    ck_assert_int_eq(enable_at(8, RAM_END - 112, AVAIL_GPA, USED_GPA), -EFAULT);
    ck_assert_int_eq(enable_at(8, 0, AVAIL_GPA, USED_GPA), -EFAULT);
    ck_assert_int_eq(enable_at(8, UINT64_MAX - 15, AVAIL_GPA, USED_GPA), -EFAULT);
}
END_TEST

START_TEST(queue_size_rules)
{
    struct virtq vq;
    struct gmem mem;

    ck_assert_int_eq(vq_init(&vq, &mem, 0), -EINVAL);
    ck_assert_int_eq(vq_init(&vq, &mem, 48), -EINVAL);
    ck_assert_int_eq(vq_init(&vq, &mem, VQ_MAX_SIZE * 2), -EINVAL);
    ck_assert_int_eq(vq_init(&vq, &mem, 256), 0);
    ck_assert_int_eq(vq_set_size(&vq, 0), -EINVAL);
    ck_assert_int_eq(vq_set_size(&vq, 100), -EINVAL);
    ck_assert_int_eq(vq_set_size(&vq, 512), -EINVAL);
    ck_assert_int_eq(vq_set_size(&vq, 1), 0);
    ck_assert_int_eq(vq_set_size(&vq, 64), 0);
    ck_assert_uint_eq(vq.size, 64);
}
END_TEST

static Suite *virtqueue_suite(void)
{
    Suite *s = suite_create("virtqueue");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, two_descriptor_chain);
    tcase_add_test(tc, rejects_descriptor_loop);
    tcase_add_test(tc, chain_as_long_as_the_queue);
    tcase_add_test(tc, rejects_buffers_outside_ram);
    tcase_add_test(tc, rejects_zero_length);
    tcase_add_test(tc, rejects_chain_over_4g);
    tcase_add_test(tc, rejects_avail_idx_too_far_ahead);
    tcase_add_test(tc, rejects_bad_heads);
    tcase_add_test(tc, indirect_table);
    tcase_add_test(tc, indirect_bad_tables);
    tcase_add_test(tc, indirect_hostile_contents);
    tcase_add_test(tc, rejects_readable_after_writable);
    tcase_add_test(tc, push_exactly_once);
    tcase_add_test(tc, notify_without_event_idx);
    tcase_add_test(tc, notify_with_event_idx_and_wraparound);
    tcase_add_test(tc, enable_checks_ring_addresses);
    tcase_add_test(tc, queue_size_rules);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(virtqueue_suite());
}
