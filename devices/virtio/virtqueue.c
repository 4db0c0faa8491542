// SPDX-License-Identifier: MIT
#include "devices/virtio/virtqueue.h"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

/*
 * Memory model. The guest driver runs on other CPUs and shares the rings with us, exactly as a
 * device and a CPU share memory, so the spec's barriers map to C11 fences:
 * - driver: write descriptors, write avail->ring[], wmb, write avail->idx. We load avail->idx with
 *   acquire semantics so the entries and descriptors we read afterwards are at least that new.
 * - we: write buffers, write used->ring[], then store used->idx with release semantics so the
 *   driver, after its rmb, never sees the index before the element and the data.
 * - notification decisions read a guest field (flags, used_event) after storing used->idx; that is
 *   a store->load ordering, which only a full (seq_cst) fence gives. Without it the CPU may read
 *   a stale used_event, the driver a stale used->idx, and both go to sleep.
 * Single guest fields are read with relaxed __atomic loads so the compiler emits exactly one
 * access (no tearing, no re-reads); the guest is little-endian like every x86 host, le*toh() says
 * so anyway.
 */

static inline uint16_t guest_load16(const void *p)
{
    return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED));
}

static inline void guest_store16(void *p, uint16_t v)
{
    __atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELAXED);
}

static inline void guest_store32(void *p, uint32_t v)
{
    __atomic_store_n((uint32_t *)p, htole32(v), __ATOMIC_RELAXED);
}

static bool is_pow2(uint32_t v)
{
    return v && !(v & (v - 1));
}

static size_t desc_bytes(uint16_t size)
{
    return sizeof(struct vring_desc) * (size_t)size;
}

/* flags, idx, ring[size], used_event */
static size_t avail_bytes(uint16_t size)
{
    return offsetof(struct vring_avail, ring) + sizeof(uint16_t) * ((size_t)size + 1);
}

/* flags, idx, ring[size], avail_event */
static size_t used_bytes(uint16_t size)
{
    return offsetof(struct vring_used, ring) + sizeof(struct vring_used_elem) * (size_t)size +
           sizeof(uint16_t);
}

int vq_init(struct virtq *vq, struct gmem *mem, uint16_t max_size)
{
    memset(vq, 0, sizeof(*vq));
    if (!is_pow2(max_size) || max_size > VQ_MAX_SIZE)
        return -EINVAL;
    vq->mem = mem;
    vq->max_size = max_size;
    vq->size = max_size;
    return 0;
}

void vq_reset(struct virtq *vq)
{
    struct gmem *mem = vq->mem;
    uint16_t max = vq->max_size;

    vq_init(vq, mem, max);
}

int vq_set_size(struct virtq *vq, uint16_t size)
{
    if (vq->ready)
        return -EBUSY;
    if (!is_pow2(size) || size > vq->max_size)
        return -EINVAL;
    vq->size = size;
    return 0;
}

int vq_enable(struct virtq *vq)
{
    void *desc, *avail, *used;

    if (vq->ready)
        return -EBUSY;
    if (!is_pow2(vq->size) || vq->size > vq->max_size)
        return -EINVAL;
    /* Spec alignments (2.7 split virtqueues); they also keep our 16/32-bit atomics aligned. */
    if ((vq->desc_gpa & (VRING_DESC_ALIGN_SIZE - 1)) ||
        (vq->avail_gpa & (VRING_AVAIL_ALIGN_SIZE - 1)) ||
        (vq->used_gpa & (VRING_USED_ALIGN_SIZE - 1)))
        return -EINVAL;
    /* Whole tables, checked once: the mapping never moves, so the host pointers stay valid. */
    desc = gmem_ptr(vq->mem, vq->desc_gpa, desc_bytes(vq->size));
    avail = gmem_ptr(vq->mem, vq->avail_gpa, avail_bytes(vq->size));
    used = gmem_ptr(vq->mem, vq->used_gpa, used_bytes(vq->size));
    if (!desc || !avail || !used)
        return -EFAULT;
    vq->desc = desc;
    vq->avail = avail;
    vq->used = used;
    vq->last_avail_idx = 0;
    vq->used_idx = 0;
    vq->signalled_used = 0;
    vq->ready = true;
    return 0;
}

static int vq_fail(struct virtq *vq, int err, const char *why)
{
    vq->broken = true;
    vq->broken_why = why;
    return err;
}

static bool head_busy(const struct virtq *vq, uint16_t head)
{
    return vq->busy[head / 64] & (1ULL << (head % 64));
}

static void head_set_busy(struct virtq *vq, uint16_t head, bool busy)
{
    if (busy)
        vq->busy[head / 64] |= 1ULL << (head % 64);
    else
        vq->busy[head / 64] &= ~(1ULL << (head % 64));
}

/* Appends one buffer to the chain after checking it; 0 or the error for vq_fail(). */
static int chain_add(struct virtq *vq, struct vq_chain *c, const struct vring_desc *d,
                     const char **why)
{
    uint64_t addr = le64toh(d->addr);
    uint32_t len = le32toh(d->len);
    bool wr = le16toh(d->flags) & VRING_DESC_F_WRITE;
    void *host;

    if (!len) {
        *why = "zero-length buffer";
        return -EINVAL;
    }
    if (c->n_rd + c->n_wr >= VQ_MAX_SEGS) {
        *why = "too many buffers in a chain";
        return -EINVAL;
    }
    if (!wr && c->n_wr) {
        *why = "readable buffer after a writable one";
        return -EINVAL;
    }
    host = gmem_ptr(vq->mem, addr, len);
    if (!host) {
        *why = "buffer outside guest RAM";
        return -EFAULT;
    }
    /* used->len is 32 bits and the spec caps a chain at 4 GiB: refuse to sum past that. */
    if (__builtin_add_overflow(wr ? c->wr_len : c->rd_len, len, wr ? &c->wr_len : &c->rd_len)) {
        *why = "chain longer than 4 GiB";
        return -EINVAL;
    }
    c->iov[c->n_rd + c->n_wr] = (struct iovec){ .iov_base = host, .iov_len = len };
    if (wr)
        c->n_wr++;
    else
        c->n_rd++;
    return 0;
}

/*
 * Walks the chain starting at head. A table of n entries can hold a loop-free chain of at most n
 * descriptors, so visiting more than n in one table means a loop (or a chain longer than the
 * queue): that bound is all the loop detection needed, and it can never spin.
 */
static int walk_chain(struct virtq *vq, uint16_t head, struct vq_chain *c, const char **why)
{
    const struct vring_desc *table = vq->desc;
    uint32_t table_n = vq->size, visited = 0, idx = head;
    bool in_indirect = false;
    int rc;

    for (;;) {
        struct vring_desc d;
        uint16_t flags;

        if (idx >= table_n) {
            *why = "descriptor index out of range";
            return -EINVAL;
        }
        if (++visited > table_n) {
            *why = "descriptor loop or chain longer than its table";
            return -EINVAL;
        }
        /* The one and only read of this descriptor: all checks and uses below see this copy. */
        memcpy(&d, &table[idx], sizeof(d));
        flags = le16toh(d.flags);

        if (flags & VRING_DESC_F_INDIRECT) {
            uint32_t len = le32toh(d.len);
            const void *t;

            if (!vq->indirect) {
                *why = "indirect descriptor not negotiated";
                return -EINVAL;
            }
            if (in_indirect) {
                *why = "nested indirect table";
                return -EINVAL;
            }
            /* An indirect descriptor ends its chain (spec: never INDIRECT together with NEXT). */
            if (flags & VRING_DESC_F_NEXT) {
                *why = "indirect descriptor with NEXT";
                return -EINVAL;
            }
            if (!len || len % sizeof(struct vring_desc) ||
                len / sizeof(struct vring_desc) > VQ_MAX_SEGS) {
                *why = "bad indirect table length";
                return -EINVAL;
            }
            t = gmem_ptr(vq->mem, le64toh(d.addr), len);
            if (!t) {
                *why = "indirect table outside guest RAM";
                return -EFAULT;
            }
            /* Its WRITE flag means nothing (spec: ignored); walk the table from entry 0. */
            table = t;
            table_n = len / sizeof(struct vring_desc);
            visited = 0;
            idx = 0;
            in_indirect = true;
            continue;
        }

        rc = chain_add(vq, c, &d, why);
        if (rc)
            return rc;
        if (!(flags & VRING_DESC_F_NEXT))
            return 0;
        idx = le16toh(d.next);
    }
}

int vq_pop(struct virtq *vq, struct vq_chain *chain)
{
    const char *why = NULL;
    uint16_t avail_idx, pending, head;
    int rc;

    if (vq->broken)
        return -EIO;
    if (!vq->ready)
        return 0;

    /* Acquire: pairs with the driver's wmb before its avail->idx update (see top of file). */
    avail_idx = le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
    pending = (uint16_t)(avail_idx - vq->last_avail_idx);
    if (!pending)
        return 0;
    if (pending > vq->size)
        return vq_fail(vq, -EINVAL, "avail index more than the queue size ahead");

    head = guest_load16(&vq->avail->ring[vq->last_avail_idx & (vq->size - 1)]);
    if (head >= vq->size)
        return vq_fail(vq, -EINVAL, "head index out of range");
    if (head_busy(vq, head))
        return vq_fail(vq, -EINVAL, "head made available twice");

    chain->head = head;
    chain->n_rd = chain->n_wr = 0;
    chain->rd_len = chain->wr_len = 0;
    rc = walk_chain(vq, head, chain, &why);
    if (rc)
        return vq_fail(vq, rc, why);

    vq->last_avail_idx++;
    head_set_busy(vq, head, true);
    vq->inflight++;
    return 1;
}

int vq_pop_or_arm(struct virtq *vq, struct vq_chain *chain)
{
    int rc;

    while ((rc = vq_pop(vq, chain)) == 0 && vq_set_avail_event(vq))
        ;
    return rc;
}

int vq_unpop(struct virtq *vq, uint16_t head)
{
    if (vq->broken)
        return -EIO;
    if (!vq->ready || head >= vq->size || !head_busy(vq, head) || !vq->inflight)
        return -EINVAL;
    head_set_busy(vq, head, false);
    vq->inflight--;
    vq->last_avail_idx--;
    return 0;
}

int vq_push(struct virtq *vq, uint16_t head, uint32_t written)
{
    struct vring_used_elem *e;

    if (vq->broken)
        return -EIO;
    if (!vq->ready || head >= vq->size || !head_busy(vq, head))
        return -EINVAL;
    head_set_busy(vq, head, false);
    vq->inflight--;

    e = &vq->used->ring[vq->used_idx & (vq->size - 1)];
    guest_store32(&e->id, head);
    guest_store32(&e->len, written);
    vq->used_idx++;
    /* Release: the element and the data written into the buffers before the index (top of file). */
    __atomic_store_n(&vq->used->idx, htole16(vq->used_idx), __ATOMIC_RELEASE);
    return 0;
}

/* vring_need_event, written out: did new_idx move past event since old (all mod 2^16)? */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool vq_should_notify(struct virtq *vq)
{
    uint16_t old = vq->signalled_used, now = vq->used_idx;

    if (!vq->ready || vq->broken)
        return false;
    vq->signalled_used = now;
    /* Store(used->idx) -> load(flags/used_event): only a full fence orders these (top of file). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!vq->event_idx)
        return now != old && !(guest_load16(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
    return need_event(guest_load16(&vq->avail->ring[vq->size]), now, old);
}

bool vq_set_avail_event(struct virtq *vq)
{
    uint16_t avail_idx;

    if (!vq->ready || vq->broken)
        return false;
    if (vq->event_idx)
        guest_store16(&vq->used->ring[vq->size], vq->last_avail_idx);
    /*
     * Store(avail_event) -> load(avail->idx): full fence. Otherwise the driver may read the old
     * avail_event and skip the kick while we read the old avail->idx and go idle.
     */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    avail_idx = le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
    return avail_idx != vq->last_avail_idx;
}
