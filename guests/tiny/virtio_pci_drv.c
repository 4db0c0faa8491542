// SPDX-License-Identifier: MIT
/* Modern virtio-pci discovery, initialization and split virtqueues, polled (see the header). */
#include "guests/tiny/virtio_pci_drv.h"

#include <linux/pci_regs.h>

#define PCI_VENDOR_VIRTIO   0x1af4
#define PCI_ID_TRANSITIONAL 0x1000 /* 0x1000-0x103f: transitional (legacy-capable) devices */
#define PCI_ID_MODERN       0x1040
#define PCI_CAP_WALK_MAX    48 /* 192 bytes of capabilities hold at most 48 of them */
#define ADDR_4G             0x100000000ULL
#define CC(field)           offsetof(struct virtio_pci_common_cfg, field)

static inline void compiler_barrier(void)
{
    __asm__ volatile("" : : : "memory");
}

/* The "memory" clobbers keep ring stores before a kick and ring loads after a status read. */
static inline uint8_t mmio_read8(uint64_t a)
{
    uint8_t v = *(volatile uint8_t *)(uintptr_t)a;

    compiler_barrier();
    return v;
}

static inline uint16_t mmio_read16(uint64_t a)
{
    uint16_t v = *(volatile uint16_t *)(uintptr_t)a;

    compiler_barrier();
    return v;
}

static inline void mmio_write8(uint64_t a, uint8_t v)
{
    compiler_barrier();
    *(volatile uint8_t *)(uintptr_t)a = v;
}

static inline void mmio_write16(uint64_t a, uint16_t v)
{
    compiler_barrier();
    *(volatile uint16_t *)(uintptr_t)a = v;
}

static inline void mmio_write32b(uint64_t a, uint32_t v)
{
    compiler_barrier();
    mmio_write32(a, v);
}

/* --- PCI configuration mechanism #1 ------------------------------------------------------- */

static void cfg_select(uint8_t bus, uint8_t slot, uint8_t fn, uint8_t off)
{
    outl(PORT_PCI_CONFIG_ADDR, 0x80000000u | (uint32_t)bus << 16 | (uint32_t)slot << 11 |
                                   (uint32_t)fn << 8 | (off & 0xfc));
}

uint32_t pci_cfg_read32(uint8_t bus, uint8_t slot, uint8_t fn, uint8_t off)
{
    cfg_select(bus, slot, fn, off);
    return inl(PORT_PCI_CONFIG_DATA);
}

uint16_t pci_cfg_read16(uint8_t bus, uint8_t slot, uint8_t fn, uint8_t off)
{
    cfg_select(bus, slot, fn, off);
    return inw(PORT_PCI_CONFIG_DATA + (off & 2));
}

uint8_t pci_cfg_read8(uint8_t bus, uint8_t slot, uint8_t fn, uint8_t off)
{
    cfg_select(bus, slot, fn, off);
    return inb(PORT_PCI_CONFIG_DATA + (off & 3));
}

void pci_cfg_write32(uint8_t bus, uint8_t slot, uint8_t fn, uint8_t off, uint32_t v)
{
    cfg_select(bus, slot, fn, off);
    outl(PORT_PCI_CONFIG_DATA, v);
}

void pci_cfg_write16(uint8_t bus, uint8_t slot, uint8_t fn, uint8_t off, uint16_t v)
{
    cfg_select(bus, slot, fn, off);
    outw(PORT_PCI_CONFIG_DATA + (off & 2), v);
}

/* --- BARs ----------------------------------------------------------------------------------- */

struct bar_info {
    uint64_t addr, size;
    bool mem64, io;
};

/* Sizes BAR i by the all-ones probe; decoding must be off while it runs. */
static void bar_probe(const struct vpci_dev *d, unsigned int i, struct bar_info *b)
{
    uint8_t off = (uint8_t)(PCI_BASE_ADDRESS_0 + 4 * i);
    uint32_t lo = pci_cfg_read32(d->bus, d->slot, d->fn, off), hi = 0, slo, shi = 0xffffffff;

    b->io = lo & PCI_BASE_ADDRESS_SPACE_IO;
    b->mem64 = !b->io && (lo & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64;
    pci_cfg_write32(d->bus, d->slot, d->fn, off, 0xffffffff);
    slo = pci_cfg_read32(d->bus, d->slot, d->fn, off);
    pci_cfg_write32(d->bus, d->slot, d->fn, off, lo);
    if (b->mem64 && i < 5) {
        hi = pci_cfg_read32(d->bus, d->slot, d->fn, (uint8_t)(off + 4));
        pci_cfg_write32(d->bus, d->slot, d->fn, (uint8_t)(off + 4), 0xffffffff);
        shi = pci_cfg_read32(d->bus, d->slot, d->fn, (uint8_t)(off + 4));
        pci_cfg_write32(d->bus, d->slot, d->fn, (uint8_t)(off + 4), hi);
    }
    if (b->io) {
        b->addr = lo & PCI_BASE_ADDRESS_IO_MASK;
        b->size = slo ? (~(slo & PCI_BASE_ADDRESS_IO_MASK) & 0xffff) + 1 : 0;
        return;
    }
    b->addr = (lo & PCI_BASE_ADDRESS_MEM_MASK) | (uint64_t)hi << 32;
    uint64_t mask = (slo & PCI_BASE_ADDRESS_MEM_MASK) | (uint64_t)shi << 32;
    b->size = mask ? ~mask + 1 : 0;
}

/*
 * Where an unplaced BAR may go: above every memory BAR already decoding inside kvmini's window,
 * so firmware's (or kvmini's) placements are never overlapped. Only the fallback path sizes
 * other functions' BARs, and it turns their decoding off while it does.
 */
static uint64_t window_cursor;

static void window_scan(void)
{
    window_cursor = LAYOUT_PCI_MMIO_BASE;
    for (unsigned int slot = 0; slot < 32; slot++) {
        for (unsigned int fn = 0; fn < 8; fn++) {
            struct vpci_dev o = { .bus = 0, .slot = (uint8_t)slot, .fn = (uint8_t)fn };
            uint16_t cmd;

            if (pci_cfg_read16(0, o.slot, o.fn, PCI_VENDOR_ID) == 0xffff) {
                if (fn == 0)
                    break;
                continue;
            }
            if ((pci_cfg_read8(0, o.slot, o.fn, PCI_HEADER_TYPE) & 0x7f) != 0)
                continue;
            cmd = pci_cfg_read16(0, o.slot, o.fn, PCI_COMMAND);
            pci_cfg_write16(0, o.slot, o.fn, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
            for (unsigned int i = 0; i < 6; i++) {
                struct bar_info b;

                bar_probe(&o, i, &b);
                if (!b.io && b.addr >= LAYOUT_PCI_MMIO_BASE &&
                    b.addr < LAYOUT_PCI_MMIO_BASE + LAYOUT_PCI_MMIO_SIZE &&
                    b.addr + b.size > window_cursor)
                    window_cursor = b.addr + b.size;
                if (b.mem64)
                    i++;
            }
            pci_cfg_write16(0, o.slot, o.fn, PCI_COMMAND, cmd);
            if (fn == 0 && !(pci_cfg_read8(0, o.slot, o.fn, PCI_HEADER_TYPE) & 0x80))
                break;
        }
    }
}

/* The BAR's address, placing it first if firmware left it at 0 or out of our 4 GiB map. */
static uint64_t bar_map(const struct vpci_dev *d, unsigned int i, uint64_t need)
{
    uint8_t off = (uint8_t)(PCI_BASE_ADDRESS_0 + 4 * i);
    uint16_t cmd = pci_cfg_read16(d->bus, d->slot, d->fn, PCI_COMMAND);
    struct bar_info b;
    uint64_t at;

    pci_cfg_write16(d->bus, d->slot, d->fn, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
    bar_probe(d, i, &b);
    pci_cfg_write16(d->bus, d->slot, d->fn, PCI_COMMAND, cmd);
    if (b.io || b.size < need) {
        printf("virtio-pci: %02x.%x BAR %u is %s (size 0x%lx), cannot use it\n", d->slot, d->fn, i,
               b.io ? "an I/O BAR" : "too small", b.size);
        return 0;
    }
    if (b.addr && b.addr + b.size <= ADDR_4G)
        return b.addr;
    if (!window_cursor)
        window_scan();
    at = (window_cursor + b.size - 1) & ~(b.size - 1);
    if (at + b.size > LAYOUT_PCI_MMIO_BASE + LAYOUT_PCI_MMIO_SIZE || (!b.mem64 && at >= ADDR_4G)) {
        printf("virtio-pci: no room for BAR %u (0x%lx bytes)\n", i, b.size);
        return 0;
    }
    pci_cfg_write16(d->bus, d->slot, d->fn, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
    pci_cfg_write32(d->bus, d->slot, d->fn, off, (uint32_t)at);
    if (b.mem64)
        pci_cfg_write32(d->bus, d->slot, d->fn, (uint8_t)(off + 4), (uint32_t)(at >> 32));
    pci_cfg_write16(d->bus, d->slot, d->fn, PCI_COMMAND, cmd);
    printf("virtio-pci: %02x.%x BAR %u was at 0x%lx, placed at 0x%lx\n", d->slot, d->fn, i, b.addr,
           at);
    window_cursor = at + b.size;
    return at;
}

/* --- Discovery ------------------------------------------------------------------------------ */

/* Walks the vendor capabilities and fills in the four structures' addresses. 0 or -1. */
static int find_structures(struct vpci_dev *d)
{
    uint64_t *where[] = { [VIRTIO_PCI_CAP_COMMON_CFG] = &d->common,
                          [VIRTIO_PCI_CAP_NOTIFY_CFG] = &d->notify,
                          [VIRTIO_PCI_CAP_ISR_CFG] = &d->isr,
                          [VIRTIO_PCI_CAP_DEVICE_CFG] = &d->device };
    uint8_t pos;

    if (!(pci_cfg_read16(d->bus, d->slot, d->fn, PCI_STATUS) & PCI_STATUS_CAP_LIST))
        goto missing;
    pos = pci_cfg_read8(d->bus, d->slot, d->fn, PCI_CAPABILITY_LIST) & 0xfc;
    for (unsigned int n = 0; pos >= 0x40 && n < PCI_CAP_WALK_MAX; n++) {
        uint8_t id = pci_cfg_read8(d->bus, d->slot, d->fn, pos);
        uint8_t type = pci_cfg_read8(d->bus, d->slot, d->fn, pos + VIRTIO_PCI_CAP_CFG_TYPE);
        uint8_t bar = pci_cfg_read8(d->bus, d->slot, d->fn, pos + VIRTIO_PCI_CAP_BAR);
        uint32_t off = pci_cfg_read32(d->bus, d->slot, d->fn, pos + VIRTIO_PCI_CAP_OFFSET);
        uint32_t len = pci_cfg_read32(d->bus, d->slot, d->fn, pos + VIRTIO_PCI_CAP_LENGTH);
        uint8_t next = pci_cfg_read8(d->bus, d->slot, d->fn, pos + 1) & 0xfc;

        /* The spec lets a device list a structure twice; the driver takes the first it can. */
        if (id == PCI_CAP_ID_VNDR && type >= VIRTIO_PCI_CAP_COMMON_CFG &&
            type <= VIRTIO_PCI_CAP_DEVICE_CFG && bar < 6 && !*where[type]) {
            uint64_t base = bar_map(d, bar, (uint64_t)off + len);

            if (!base)
                return -1;
            *where[type] = base + off;
            if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
                d->notify_mult =
                    pci_cfg_read32(d->bus, d->slot, d->fn, pos + sizeof(struct virtio_pci_cap));
            if (type == VIRTIO_PCI_CAP_DEVICE_CFG)
                d->device_len = len;
        }
        pos = next;
    }
    /* The device structure is optional in general, but every device we drive has one. */
    if (d->common && d->notify && d->isr && d->device)
        return 0;
missing:
    printf("virtio-pci: %02x.%x lacks a common, notify, ISR or device capability\n", d->slot,
           d->fn);
    return -1;
}

int vpci_find(struct vpci_dev *d, uint16_t device_id, unsigned int nth)
{
    for (unsigned int slot = 0; slot < 32; slot++) {
        for (unsigned int fn = 0; fn < 8; fn++) {
            uint32_t id = pci_cfg_read32(0, (uint8_t)slot, (uint8_t)fn, PCI_VENDOR_ID);
            uint16_t did = (uint16_t)(id >> 16);

            if ((id & 0xffff) == 0xffff) {
                if (fn == 0)
                    break;
                continue;
            }
            if ((id & 0xffff) == PCI_VENDOR_VIRTIO && did >= PCI_ID_TRANSITIONAL &&
                did < PCI_ID_MODERN)
                printf("virtio-pci: %02x.%x is transitional (0x%x): skipped\n", slot, fn, did);
            if ((id & 0xffff) == PCI_VENDOR_VIRTIO && did == device_id && nth-- == 0) {
                *d = (struct vpci_dev){ .bus = 0, .slot = (uint8_t)slot, .fn = (uint8_t)fn };
                d->device_id = did;
                if (find_structures(d))
                    return -1;
                uint16_t cmd = pci_cfg_read16(0, d->slot, d->fn, PCI_COMMAND);
                /* INTx off too: nothing here takes interrupts. */
                pci_cfg_write16(0, d->slot, d->fn, PCI_COMMAND,
                                cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                                    PCI_COMMAND_INTX_DISABLE);
                return 0;
            }
            if (fn == 0 && !(pci_cfg_read8(0, (uint8_t)slot, 0, PCI_HEADER_TYPE) & 0x80))
                break;
        }
    }
    printf("virtio-pci: no device 0x%x:0x%x on bus 0\n", PCI_VENDOR_VIRTIO, device_id);
    return -1;
}

/* --- Status and features -------------------------------------------------------------------- */

uint8_t vpci_status(const struct vpci_dev *d)
{
    return mmio_read8(d->common + CC(device_status));
}

void vpci_set_status(const struct vpci_dev *d, uint8_t s)
{
    mmio_write8(d->common + CC(device_status), s);
}

uint64_t tiny_timeout_cycles(unsigned int seconds)
{
    /* Assumes at most 4 GHz: a slower TSC only makes the timeout longer. */
    return (uint64_t)seconds * 4000000000ULL;
}

int vpci_reset(const struct vpci_dev *d)
{
    uint64_t t0 = rdtsc();

    vpci_set_status(d, 0);
    /* 1.x: the reset is done only when the status reads back 0. */
    while (vpci_status(d) != 0) {
        if (rdtsc() - t0 > tiny_timeout_cycles(10)) {
            printf("virtio-pci: reset did not complete (status 0x%x)\n", vpci_status(d));
            return -1;
        }
        cpu_relax();
    }
    return 0;
}

int vpci_negotiate(struct vpci_dev *d, uint64_t want)
{
    uint8_t s;

    if (vpci_reset(d))
        return -1;
    vpci_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    vpci_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    mmio_write32b(d->common + CC(device_feature_select), 0);
    d->offered = mmio_read32(d->common + CC(device_feature));
    mmio_write32b(d->common + CC(device_feature_select), 1);
    d->offered |= (uint64_t)mmio_read32(d->common + CC(device_feature)) << 32;
    if (!((d->offered >> VIRTIO_F_VERSION_1) & 1)) {
        printf("virtio-pci: device offers no VERSION_1 (features 0x%lx)\n", d->offered);
        goto fail;
    }
    d->features = d->offered & (want | 1ULL << VIRTIO_F_VERSION_1);
    mmio_write32b(d->common + CC(guest_feature_select), 0);
    mmio_write32b(d->common + CC(guest_feature), (uint32_t)d->features);
    mmio_write32b(d->common + CC(guest_feature_select), 1);
    mmio_write32b(d->common + CC(guest_feature), (uint32_t)(d->features >> 32));
    s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
    vpci_set_status(d, s);
    if (!(vpci_status(d) & VIRTIO_CONFIG_S_FEATURES_OK)) {
        printf("virtio-pci: device refused features 0x%lx\n", d->features);
        goto fail;
    }
    return 0;
fail:
    vpci_set_status(d, vpci_status(d) | VIRTIO_CONFIG_S_FAILED);
    return -1;
}

void vpci_driver_ok(const struct vpci_dev *d)
{
    vpci_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                           VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

void vpci_config_read(const struct vpci_dev *d, uint32_t off, void *buf, uint32_t len)
{
    uint8_t gen, *p = buf;

    /* Byte reads: always legal, and the generation check makes the whole copy consistent. */
    do {
        gen = mmio_read8(d->common + CC(config_generation));
        for (uint32_t i = 0; i < len; i++)
            p[i] = mmio_read8(d->device + off + i);
    } while (gen != mmio_read8(d->common + CC(config_generation)));
}

/* --- Virtqueues ----------------------------------------------------------------------------- */

int vq_setup(struct vq *q, struct vpci_dev *d, uint16_t index, uint16_t max_size)
{
    uint16_t dev_max, size = 1, notify_off;

    mmio_write16(d->common + CC(queue_select), index);
    dev_max = mmio_read16(d->common + CC(queue_size));
    if (!dev_max) {
        printf("virtio-pci: queue %u does not exist\n", index);
        return -1;
    }
    if (max_size > VQ_MAX_SIZE)
        max_size = VQ_MAX_SIZE;
    while ((uint32_t)size * 2 <= dev_max && size * 2 <= max_size)
        size *= 2;

    memset(q->desc, 0, sizeof(q->desc));
    memset(q->avail_mem, 0, sizeof(q->avail_mem));
    memset(q->used_mem, 0, sizeof(q->used_mem));
    q->dev = d;
    q->avail = (struct vring_avail *)q->avail_mem;
    q->used = (struct vring_used *)q->used_mem;
    q->index = index;
    q->size = size;
    q->event_idx = vpci_has(d, VIRTIO_RING_F_EVENT_IDX);
    q->indirect = vpci_has(d, VIRTIO_RING_F_INDIRECT_DESC);
    q->free_head = 0;
    q->num_free = size;
    for (uint16_t i = 0; i < size; i++)
        q->next[i] = (uint16_t)(i + 1);
    q->avail_idx = q->kicked_idx = q->last_used = 0;
    /* Polling only: ask for no interrupts (used_event far ahead with EVENT_IDX). */
    if (q->event_idx)
        q->avail->ring[size] = 0x7fff;
    else
        q->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;

    mmio_write16(d->common + CC(queue_size), size);
    mmio_write16(d->common + CC(queue_msix_vector), VIRTIO_MSI_NO_VECTOR);
    mmio_write32b(d->common + CC(queue_desc_lo), (uint32_t)(uintptr_t)q->desc);
    mmio_write32b(d->common + CC(queue_desc_hi), (uint32_t)((uintptr_t)q->desc >> 32));
    mmio_write32b(d->common + CC(queue_avail_lo), (uint32_t)(uintptr_t)q->avail);
    mmio_write32b(d->common + CC(queue_avail_hi), (uint32_t)((uintptr_t)q->avail >> 32));
    mmio_write32b(d->common + CC(queue_used_lo), (uint32_t)(uintptr_t)q->used);
    mmio_write32b(d->common + CC(queue_used_hi), (uint32_t)((uintptr_t)q->used >> 32));
    notify_off = mmio_read16(d->common + CC(queue_notify_off));
    q->notify_addr = d->notify + (uint64_t)notify_off * d->notify_mult;
    mmio_write16(d->common + CC(queue_enable), 1);
    if (mmio_read16(d->common + CC(queue_enable)) != 1) {
        printf("virtio-pci: queue %u did not enable\n", index);
        return -1;
    }
    return 0;
}

static void desc_fill(struct vring_desc *t, const struct vq_buf *b, uint16_t flags, uint16_t next)
{
    t->addr = b->addr;
    t->len = b->len;
    t->flags = (uint16_t)(flags | (b->write ? VRING_DESC_F_WRITE : 0));
    t->next = next;
}

int vq_add(struct vq *q, const struct vq_buf *b, unsigned int n, bool indirect, void *token)
{
    uint16_t head = q->free_head, i = head;
    unsigned int ring_n = indirect ? 1 : n;

    if (!n || ring_n > q->num_free || (indirect && (!q->indirect || n > VQ_IND_MAX)))
        return -1;
    if (indirect) {
        struct vring_desc *t = q->ind[head];

        for (unsigned int k = 0; k < n; k++)
            desc_fill(&t[k], &b[k], k + 1 < n ? VRING_DESC_F_NEXT : 0, (uint16_t)(k + 1));
        desc_fill(&q->desc[head],
                  &(struct vq_buf){ (uintptr_t)t, (uint32_t)(n * sizeof(*t)), false },
                  VRING_DESC_F_INDIRECT, 0);
        i = q->next[head];
    } else {
        for (unsigned int k = 0; k < n; k++) {
            desc_fill(&q->desc[i], &b[k], k + 1 < n ? VRING_DESC_F_NEXT : 0, q->next[i]);
            i = q->next[i];
        }
    }
    q->free_head = i;
    q->num_free = (uint16_t)(q->num_free - ring_n);
    q->chain_n[head] = (uint16_t)ring_n;
    q->token[head] = token;
    q->avail->ring[q->avail_idx & (q->size - 1)] = head;
    q->avail_idx++;
    return head;
}

void vq_kick(struct vq *q)
{
    mmio_write16(q->notify_addr, q->index);
}

void vq_publish(struct vq *q)
{
    uint16_t old = q->kicked_idx, now = q->avail_idx;
    bool kick;

    /* Release: ring entries and descriptors are visible before the index that announces them. */
    __atomic_store_n(&q->avail->idx, now, __ATOMIC_RELEASE);
    /* Store(avail->idx) -> load(avail_event/flags): only a full fence orders these on x86. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    q->kicked_idx = now;
    if (q->event_idx)
        kick = vring_need_event(
            __atomic_load_n((volatile uint16_t *)&q->used->ring[q->size], __ATOMIC_RELAXED), now,
            old);
    else
        kick = !(__atomic_load_n(&q->used->flags, __ATOMIC_RELAXED) & VRING_USED_F_NO_NOTIFY);
    if (kick)
        vq_kick(q);
}

void vq_publish_raw(struct vq *q, uint16_t head)
{
    q->avail->ring[q->avail_idx & (q->size - 1)] = head;
    q->avail_idx++;
    __atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
    q->kicked_idx = q->avail_idx;
    vq_kick(q);
}

int vq_get_used(struct vq *q, void **token, uint32_t *len)
{
    struct vring_used_elem e;
    uint16_t head, n;

    if (!vq_pending_used(q))
        return 0;
    /* The acquire in vq_pending_used orders this element (and the data) after the index. */
    e = q->used->ring[q->last_used & (q->size - 1)];
    q->last_used++;
    if (q->event_idx)
        __atomic_store_n(&q->avail->ring[q->size], (uint16_t)(q->last_used + 0x7fff),
                         __ATOMIC_RELAXED);
    head = (uint16_t)e.id;
    if (head >= q->size || !q->chain_n[head]) {
        printf("virtio-pci: device returned bad head %u\n", e.id);
        exit(3);
    }
    /* Free from our own links: the shared descriptors are the device's to read, not to trust. */
    n = q->chain_n[head];
    q->chain_n[head] = 0;
    uint16_t tail = head;
    for (uint16_t k = 1; k < n; k++)
        tail = q->next[tail];
    q->next[tail] = q->free_head;
    q->free_head = head;
    q->num_free = (uint16_t)(q->num_free + n);
    *token = q->token[head];
    *len = e.len;
    return 1;
}
