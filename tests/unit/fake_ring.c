// SPDX-License-Identifier: MIT
#include "tests/unit/fake_ring.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

struct fake_ring *fake_ring_create(const struct fake_ring_layout *l)
{
    struct fake_ring *r = calloc(1, sizeof(*r));

    ck_assert_ptr_nonnull(r);
    ck_assert_uint_gt(l->size, 0);
    /* Page-aligned, so a guest buffer's alignment is its GPA's (O_DIRECT tests rely on it). */
    ck_assert_int_eq(posix_memalign((void **)&r->ram, 4096, l->ram_size), 0);
    memset(r->ram, 0, l->ram_size);
    r->l = *l;
    gmem_init_fixed(&r->mem, l->ram_base, r->ram, l->ram_size);
    return r;
}

struct fake_ring *fake_ring_new_ext(uint16_t size, bool event_idx, bool indirect)
{
    const struct fake_ring_layout l = {
        .ram_base = FAKE_RING_RAM_BASE,
        .ram_size = FAKE_RING_RAM_SIZE,
        .size = size,
        .desc_gpa = FAKE_RING_DESC_GPA,
        .avail_gpa = FAKE_RING_AVAIL_GPA,
        .used_gpa = FAKE_RING_USED_GPA,
    };
    struct fake_ring *r = fake_ring_create(&l);

    ck_assert_int_eq(vq_init(&r->vq, &r->mem, size), 0);
    r->vq.desc_gpa = l.desc_gpa;
    r->vq.avail_gpa = l.avail_gpa;
    r->vq.used_gpa = l.used_gpa;
    r->vq.event_idx = event_idx;
    r->vq.indirect = indirect;
    ck_assert_int_eq(vq_enable(&r->vq), 0);
    return r;
}

struct fake_ring *fake_ring_new(uint16_t size)
{
    return fake_ring_new_ext(size, false, true);
}

void fake_ring_free(struct fake_ring *r)
{
    if (!r)
        return;
    free(r->ram);
    free(r);
}

void *fake_ring_ptr(struct fake_ring *r, uint64_t gpa, uint64_t len)
{
    /* Not ck_assert: check records a mark point for every passing one, and this is called a lot. */
    if (gpa < r->l.ram_base || len > r->l.ram_size || gpa - r->l.ram_base > r->l.ram_size - len)
        ck_abort_msg("fake ring: [%#llx, +%#llx) is not in its RAM", (unsigned long long)gpa,
                     (unsigned long long)len);
    return r->ram + (gpa - r->l.ram_base);
}

void *fake_ring_host(struct fake_ring *r, uint64_t gpa)
{
    return fake_ring_ptr(r, gpa, 1);
}

void fake_ring_desc_at(struct fake_ring *r, uint64_t table_gpa, uint16_t i, uint64_t addr,
                       uint32_t len, uint16_t flags, uint16_t next)
{
    struct vring_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };

    memcpy(fake_ring_ptr(r, table_gpa + 16ULL * i, sizeof(d)), &d, sizeof(d));
}

void fake_ring_desc(struct fake_ring *r, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                    uint16_t next)
{
    fake_ring_desc_at(r, r->l.desc_gpa, i, addr, len, flags, next);
}

void fake_ring_post(struct fake_ring *r, uint16_t head)
{
    struct vring_avail *a = fake_ring_avail(r);

    a->ring[r->avail_idx % r->l.size] = head;
    /* The device may be reading the ring on another thread: descriptors first, then the index. */
    __atomic_store_n(&a->idx, ++r->avail_idx, __ATOMIC_RELEASE);
}

struct vring_avail *fake_ring_avail(struct fake_ring *r)
{
    return fake_ring_ptr(r, r->l.avail_gpa, 4 + 2ULL * r->l.size + 2);
}

struct vring_used *fake_ring_used(struct fake_ring *r)
{
    return fake_ring_ptr(r, r->l.used_gpa, 4 + 8ULL * r->l.size + 2);
}

uint16_t fake_ring_used_idx(struct fake_ring *r)
{
    return __atomic_load_n(&fake_ring_used(r)->idx, __ATOMIC_ACQUIRE);
}

uint16_t *fake_ring_used_event(struct fake_ring *r)
{
    return &fake_ring_avail(r)->ring[r->l.size];
}

uint16_t *fake_ring_avail_event(struct fake_ring *r)
{
    return (uint16_t *)&fake_ring_used(r)->ring[r->l.size];
}

void fake_ring_clear(struct fake_ring *r)
{
    memset(fake_ring_ptr(r, r->l.desc_gpa, 16ULL * r->l.size), 0, 16ULL * r->l.size);
    memset(fake_ring_avail(r), 0, 4 + 2ULL * r->l.size + 2);
    memset(fake_ring_used(r), 0, 4 + 8ULL * r->l.size + 2);
    r->avail_idx = 0;
}
