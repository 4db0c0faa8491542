// SPDX-License-Identifier: MIT
#include "devices/virtio/virtio_pci.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_ids.h>

#include "devices/devutil.h"

/* One queue's kick eventfd (fast path only). */
struct vp_kick {
    struct virtio_pci *vp;
    unsigned int q;
    int fd;
    uint64_t bound_at; /* notify address it is bound to with KVM_IOEVENTFD, or unmapped */
};

struct virtio_pci {
    struct pci_function pci;
    struct virtio_dev *vdev;
    const struct irq_routes *routes;
    struct evloop *loop;

    pthread_mutex_t lock; /* the selectors, msix_config and the kick bindings */
    uint32_t dfselect, gfselect;
    uint16_t queue_sel;
    uint16_t msix_config;   /* read without the lock by interrupt senders (atomics) */
    uint16_t *queue_vector; /* likewise */
    uint8_t isr;            /* atomics: set by interrupt senders, cleared by reads */
    uint8_t cfg_cap;        /* offset of the PCI cfg access capability */
    uint64_t bar_addr;      /* where BAR 0 decodes, or PCI_BAR_UNMAPPED */
    struct vp_kick *kicks;  /* nr_queues of them with the fast path, else NULL */
};

#define CC(field)      offsetof(struct virtio_pci_common_cfg, field)
#define CC_SIZE(field) sizeof(((struct virtio_pci_common_cfg *)0)->field)

/* --- Kicks ---------------------------------------------------------------------------------- */

/* A kick is a 2-byte write of the queue's index to its notify address (VIRTIO_F_NOTIFICATION_DATA
 * is not offered). */
static int kick_bind(struct virtio_pci *vp, const struct vp_kick *k, unsigned int q, uint64_t addr,
                     bool assign)
{
    const struct ioeventfd ev = {
        .fd = k->fd,
        .addr = addr,
        .len = 2,
        .pio = false,
        .datamatch = true,
        .data = q,
    };

    return vp->routes->ioeventfd(vp->routes->ctx, &ev, assign);
}

/* Binds or unbinds q's eventfd so that it matches "enabled and BAR 0 decodes". Lock held. */
static void kick_sync(struct virtio_pci *vp, unsigned int q)
{
    struct vp_kick *k = vp->kicks ? &vp->kicks[q] : NULL;
    uint64_t want = PCI_BAR_UNMAPPED;

    if (!k)
        return;
    if (vp->bar_addr != PCI_BAR_UNMAPPED && virtio_queue_get(vp->vdev, q, VIRTIO_QUEUE_ENABLE))
        want = vp->bar_addr + VIRTIO_PCI_NOTIFY_OFF + q * VIRTIO_PCI_NOTIFY_MULT;
    if (want == k->bound_at)
        return;
    if (k->bound_at != PCI_BAR_UNMAPPED)
        kick_bind(vp, k, q, k->bound_at, false);
    k->bound_at = PCI_BAR_UNMAPPED;
    /* On failure the queue still works through the exit path. */
    if (want != PCI_BAR_UNMAPPED && !kick_bind(vp, k, q, want, true))
        k->bound_at = want;
}

static void kick_sync_all(struct virtio_pci *vp)
{
    for (unsigned int q = 0; vp->kicks && q < vp->vdev->nr_queues; q++)
        kick_sync(vp, q);
}

static void on_kick(void *opaque, uint32_t events)
{
    struct vp_kick *k = opaque;
    uint64_t n;

    if (read(k->fd, &n, sizeof(n)) == sizeof(n))
        virtio_queue_notify(k->vp->vdev, k->q);
}

/* --- Interrupts ----------------------------------------------------------------------------- */

static int vp_interrupt(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
    int rc;

    if (pci_msix_enabled(&vp->pci)) {
        if (vector == VIRTIO_MSI_NO_VECTOR)
            return 0;
        rc = pci_msix_notify(&vp->pci, vector);
        if (rc != -EAGAIN) /* -EAGAIN: MSI-X was just turned off, fall back to INTx */
            return rc;
    }
    __atomic_or_fetch(&vp->isr, isr_bit, __ATOMIC_SEQ_CST);
    pci_set_intx(&vp->pci, true);
    return 0;
}

static int vp_notify_queue(void *ctx, unsigned int q)
{
    struct virtio_pci *vp = ctx;

    if (q >= vp->vdev->nr_queues)
        return -EINVAL;
    return vp_interrupt(vp, __atomic_load_n(&vp->queue_vector[q], __ATOMIC_ACQUIRE),
                        VIRTIO_PCI_ISR_VQ);
}

static int vp_notify_config(void *ctx)
{
    struct virtio_pci *vp = ctx;

    return vp_interrupt(vp, __atomic_load_n(&vp->msix_config, __ATOMIC_ACQUIRE),
                        VIRTIO_PCI_ISR_CONFIG);
}

/* --- Common configuration ------------------------------------------------------------------- */

/* A vector the guest may assign: one the function has, or NO_VECTOR (also for bad values). */
static uint16_t vp_vector(const struct virtio_pci *vp, uint16_t v)
{
    return v < vp->pci.msix.nr ? v : VIRTIO_MSI_NO_VECTOR;
}

/* The whole structure as the driver would read it now. Lock held. */
static void common_snapshot(struct virtio_pci *vp, struct virtio_pci_common_cfg *c)
{
    struct virtio_dev *d = vp->vdev;
    unsigned int q = vp->queue_sel;
    uint64_t desc = virtio_queue_get(d, q, VIRTIO_QUEUE_DESC);
    uint64_t avail = virtio_queue_get(d, q, VIRTIO_QUEUE_AVAIL);
    uint64_t used = virtio_queue_get(d, q, VIRTIO_QUEUE_USED);

    *c = (struct virtio_pci_common_cfg){
        .device_feature_select = vp->dfselect,
        .device_feature = virtio_get_device_features(d, vp->dfselect),
        .guest_feature_select = vp->gfselect,
        .guest_feature = virtio_get_driver_features(d, vp->gfselect),
        .msix_config = vp->msix_config,
        .num_queues = (uint16_t)d->nr_queues,
        .device_status = virtio_get_status(d),
        .config_generation = (uint8_t)virtio_get_config_generation(d),
        .queue_select = vp->queue_sel,
        .queue_size = (uint16_t)virtio_queue_get(d, q, VIRTIO_QUEUE_SIZE),
        .queue_msix_vector = q < d->nr_queues ? vp->queue_vector[q] : VIRTIO_MSI_NO_VECTOR,
        .queue_enable = (uint16_t)virtio_queue_get(d, q, VIRTIO_QUEUE_ENABLE),
        .queue_notify_off = (uint16_t)q,
        .queue_desc_lo = (uint32_t)desc,
        .queue_desc_hi = (uint32_t)(desc >> 32),
        .queue_avail_lo = (uint32_t)avail,
        .queue_avail_hi = (uint32_t)(avail >> 32),
        .queue_used_lo = (uint32_t)used,
        .queue_used_hi = (uint32_t)(used >> 32),
    };
}

/* Device reset as the transport sees it: unbind kicks, forget vectors, drop INTx. Lock held. */
static void vp_reset(struct virtio_pci *vp)
{
    for (unsigned int q = 0; vp->kicks && q < vp->vdev->nr_queues; q++) {
        struct vp_kick *k = &vp->kicks[q];

        if (k->bound_at != PCI_BAR_UNMAPPED)
            kick_bind(vp, k, q, k->bound_at, false);
        k->bound_at = PCI_BAR_UNMAPPED;
    }
    virtio_set_status(vp->vdev, 0);
    __atomic_store_n(&vp->msix_config, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELEASE);
    for (unsigned int q = 0; q < vp->vdev->nr_queues; q++)
        __atomic_store_n(&vp->queue_vector[q], VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELEASE);
    __atomic_store_n(&vp->isr, 0, __ATOMIC_SEQ_CST);
    pci_set_intx(&vp->pci, false);
}

static bool wrote(uint64_t off, uint32_t len, size_t field, size_t size)
{
    return off < field + size && field < off + len;
}

/* Applies a write to every writable field it touches, with the merged field value. Lock held. */
static void common_write(struct virtio_pci *vp, uint64_t off, const void *data, uint32_t len)
{
    struct virtio_dev *d = vp->vdev;
    struct virtio_pci_common_cfg c;
    unsigned int q;

    common_snapshot(vp, &c);
    memcpy((uint8_t *)&c + off, data, len);
    q = vp->queue_sel;
    if (wrote(off, len, CC(device_feature_select), 4))
        vp->dfselect = c.device_feature_select;
    if (wrote(off, len, CC(guest_feature_select), 4))
        vp->gfselect = c.guest_feature_select;
    if (wrote(off, len, CC(guest_feature), 4))
        virtio_set_driver_features(d, vp->gfselect, c.guest_feature);
    if (wrote(off, len, CC(msix_config), 2))
        __atomic_store_n(&vp->msix_config, vp_vector(vp, c.msix_config), __ATOMIC_RELEASE);
    if (wrote(off, len, CC(device_status), 1)) {
        if (c.device_status == 0)
            vp_reset(vp);
        else
            virtio_set_status(d, c.device_status);
    }
    if (wrote(off, len, CC(queue_select), 2))
        vp->queue_sel = c.queue_select;
    if (wrote(off, len, CC(queue_size), 2))
        virtio_queue_set(d, q, VIRTIO_QUEUE_SIZE, c.queue_size);
    if (wrote(off, len, CC(queue_msix_vector), 2) && q < d->nr_queues)
        __atomic_store_n(&vp->queue_vector[q], vp_vector(vp, c.queue_msix_vector),
                         __ATOMIC_RELEASE);
    if (wrote(off, len, CC(queue_enable), 2) && c.queue_enable == 1 &&
        !virtio_queue_set(d, q, VIRTIO_QUEUE_ENABLE, 1))
        kick_sync(vp, q);
    if (wrote(off, len, CC(queue_desc_lo), 8))
        virtio_queue_set(d, q, VIRTIO_QUEUE_DESC,
                         c.queue_desc_lo | (uint64_t)c.queue_desc_hi << 32);
    if (wrote(off, len, CC(queue_avail_lo), 8))
        virtio_queue_set(d, q, VIRTIO_QUEUE_AVAIL,
                         c.queue_avail_lo | (uint64_t)c.queue_avail_hi << 32);
    if (wrote(off, len, CC(queue_used_lo), 8))
        virtio_queue_set(d, q, VIRTIO_QUEUE_USED,
                         c.queue_used_lo | (uint64_t)c.queue_used_hi << 32);
}

static void common_io(struct virtio_pci *vp, uint64_t off, void *data, uint32_t len, bool is_write)
{
    struct virtio_pci_common_cfg c;

    if (off >= sizeof(c) || len > sizeof(c) - off) {
        if (!is_write)
            memset(data, 0, len);
        return;
    }
    pthread_mutex_lock(&vp->lock);
    if (is_write) {
        common_write(vp, off, data, len);
    } else {
        common_snapshot(vp, &c);
        memcpy(data, (uint8_t *)&c + off, len);
    }
    pthread_mutex_unlock(&vp->lock);
}

/* --- BAR 0 ---------------------------------------------------------------------------------- */

static void vp_bar_io(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
    struct virtio_pci *vp = dev;
    uint64_t page = off & ~0xfffULL, in = off & 0xfff;

    if (page == VIRTIO_PCI_COMMON_OFF) {
        common_io(vp, in, data, len, is_write);
    } else if (page == VIRTIO_PCI_ISR_OFF) {
        if (!is_write && in == 0) {
            io_store(data, len, __atomic_exchange_n(&vp->isr, 0, __ATOMIC_SEQ_CST));
            pci_set_intx(&vp->pci, false);
        } else if (!is_write) {
            memset(data, 0, len);
        }
    } else if (page == VIRTIO_PCI_DEVICE_OFF) {
        if (is_write)
            virtio_config_write(vp->vdev, (uint32_t)in, data, len);
        else
            virtio_config_read(vp->vdev, (uint32_t)in, data, len);
    } else if (page == VIRTIO_PCI_NOTIFY_OFF) {
        if (is_write && in % VIRTIO_PCI_NOTIFY_MULT == 0)
            virtio_queue_notify(vp->vdev, (unsigned int)(in / VIRTIO_PCI_NOTIFY_MULT));
        else if (!is_write)
            memset(data, 0, len);
    } else if (!is_write) {
        memset(data, 0, len);
    }
}

/* --- PCI hooks ------------------------------------------------------------------------------ */

/*
 * VIRTIO_PCI_CAP_PCI_CFG: the driver picks bar/offset/length in the capability, then reads or
 * writes pci_cfg_data to access that BAR through configuration space.
 */
static bool vp_cfg_access(struct pci_function *f, uint32_t off, void *data, uint32_t len,
                          bool is_write)
{
    struct virtio_pci *vp = f->opaque;
    uint32_t win = vp->cfg_cap + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data);
    uint32_t bar, boff, blen;
    uint8_t buf[4] = { 0 };

    if (off + len <= win || off >= win + 4)
        return false;
    bar = pci_cfg_peek(f, vp->cfg_cap + offsetof(struct virtio_pci_cap, bar), 1);
    boff = pci_cfg_peek(f, vp->cfg_cap + offsetof(struct virtio_pci_cap, offset), 4);
    blen = pci_cfg_peek(f, vp->cfg_cap + offsetof(struct virtio_pci_cap, length), 4);
    /* Only whole accesses of 1, 2 or 4 aligned bytes to one of our BARs; the rest is dropped. */
    if (off != win || len < blen || (blen != 1 && blen != 2 && blen != 4) || boff % blen ||
        bar >= PCI_STD_NUM_BARS || !f->bars[bar].fn || boff >= f->bars[bar].size ||
        blen > f->bars[bar].size - boff) {
        if (!is_write)
            memset(data, 0, len);
        return true;
    }
    if (is_write) {
        f->bars[bar].fn(f->bars[bar].dev, boff, data, blen, true);
    } else {
        f->bars[bar].fn(f->bars[bar].dev, boff, buf, blen, false);
        memset(data, 0, len);
        memcpy(data, buf, blen);
    }
    return true;
}

static void vp_bar_moved(struct pci_function *f, unsigned int bar, uint64_t old_addr,
                         uint64_t new_addr)
{
    struct virtio_pci *vp = f->opaque;

    if (bar != VIRTIO_PCI_BAR)
        return;
    pthread_mutex_lock(&vp->lock);
    vp->bar_addr = new_addr;
    kick_sync_all(vp);
    pthread_mutex_unlock(&vp->lock);
}

static const struct pci_function_ops vp_pci_ops = {
    .cfg_access = vp_cfg_access,
    .bar_moved = vp_bar_moved,
};

/* --- Creation ------------------------------------------------------------------------------- */

static uint32_t vp_class(uint32_t device_id)
{
    switch (device_id) {
    case VIRTIO_ID_NET:
        return 0x020000; /* network controller */
    case VIRTIO_ID_BLOCK:
        return 0x010000; /* mass storage (SCSI) */
    case VIRTIO_ID_CONSOLE:
        return 0x078000; /* other communication controller */
    default:
        return 0x00ff00; /* unclassified */
    }
}

static int vp_add_cap(struct virtio_pci *vp, uint8_t type, uint32_t off, uint32_t len, uint8_t *at)
{
    /* Every variant is a virtio_pci_cap plus, for notify and pci-cfg, one more dword. */
    uint8_t size = type == VIRTIO_PCI_CAP_NOTIFY_CFG ? sizeof(struct virtio_pci_notify_cap)
                   : type == VIRTIO_PCI_CAP_PCI_CFG  ? sizeof(struct virtio_pci_cfg_cap)
                                                     : sizeof(struct virtio_pci_cap);
    struct virtio_pci_cap c = {
        .cap_len = size,
        .cfg_type = type,
        .bar = type == VIRTIO_PCI_CAP_PCI_CFG ? 0 : VIRTIO_PCI_BAR,
        .offset = type == VIRTIO_PCI_CAP_PCI_CFG ? 0 : off,
        .length = type == VIRTIO_PCI_CAP_PCI_CFG ? 0 : len,
    };
    uint32_t mult = type == VIRTIO_PCI_CAP_NOTIFY_CFG ? VIRTIO_PCI_NOTIFY_MULT : 0;
    uint8_t buf[sizeof(struct virtio_pci_cfg_cap)];

    memcpy(buf, &c, sizeof(c));
    memcpy(buf + sizeof(c), &mult, sizeof(mult));
    /* The PCI builder writes cap_vndr and cap_next; the body is the rest. */
    return pci_function_add_cap(&vp->pci, PCI_CAP_ID_VNDR, buf + 2, (uint8_t)(size - 2), at);
}

static int vp_build_caps(struct virtio_pci *vp)
{
    const struct virtio_dev *d = vp->vdev;
    uint32_t cfg_size = d->ops->config_size;
    uint8_t at;
    int rc;

    if ((rc = vp_add_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF,
                         sizeof(struct virtio_pci_common_cfg), NULL)) ||
        (rc = vp_add_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
                         d->nr_queues * VIRTIO_PCI_NOTIFY_MULT, NULL)) ||
        (rc = vp_add_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 1, NULL)) ||
        (cfg_size &&
         (rc = vp_add_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF, cfg_size, NULL))) ||
        (rc = vp_add_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, &at)))
        return rc;
    vp->cfg_cap = at;
    /* bar, offset, length and the data window are the driver's to write. */
    pci_function_set_wmask(&vp->pci, at + offsetof(struct virtio_pci_cap, bar), 1, 0xff);
    pci_function_set_wmask(&vp->pci, at + offsetof(struct virtio_pci_cap, offset), 8, 0xff);
    pci_function_set_wmask(&vp->pci, at + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data), 4,
                           0xff);
    return 0;
}

static void vp_free(struct virtio_pci *vp)
{
    for (unsigned int q = 0; vp->kicks && q < vp->vdev->nr_queues; q++) {
        struct vp_kick *k = &vp->kicks[q];

        if (k->fd < 0)
            continue;
        if (k->bound_at != PCI_BAR_UNMAPPED)
            kick_bind(vp, k, q, k->bound_at, false);
        evloop_del(vp->loop, k->fd);
        close(k->fd);
    }
    free(vp->kicks);
    free(vp->queue_vector);
    pci_function_fini(&vp->pci);
    pthread_mutex_destroy(&vp->lock);
    free(vp);
}

static int vp_setup_kicks(struct virtio_pci *vp)
{
    int rc;

    vp->kicks = calloc(vp->vdev->nr_queues, sizeof(*vp->kicks));
    if (!vp->kicks)
        return -ENOMEM;
    for (unsigned int q = 0; q < vp->vdev->nr_queues; q++)
        vp->kicks[q] = (struct vp_kick){ .vp = vp, .q = q, .fd = -1, .bound_at = PCI_BAR_UNMAPPED };
    for (unsigned int q = 0; q < vp->vdev->nr_queues; q++) {
        struct vp_kick *k = &vp->kicks[q];

        k->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (k->fd < 0)
            return -errno;
        if ((rc = evloop_add(vp->loop, k->fd, EPOLLIN, on_kick, k))) {
            close(k->fd);
            k->fd = -1;
            return rc;
        }
    }
    return 0;
}

int virtio_pci_create(struct virtio_pci **out, struct pci_bus *bus, struct virtio_dev *vdev,
                      const struct irq_routes *routes, struct evloop *loop)
{
    struct virtio_transport t;
    struct virtio_pci *vp;
    unsigned int nr_vecs;
    int rc;

    if (!vdev->nr_queues || vdev->nr_queues > VIRTIO_PCI_MAX_QUEUES ||
        vdev->ops->config_size > 0x1000 || !routes != !loop)
        return -EINVAL;
    vp = calloc(1, sizeof(*vp));
    if (!vp)
        return -ENOMEM;
    if ((rc = -pthread_mutex_init(&vp->lock, NULL))) {
        free(vp);
        return rc;
    }
    vp->vdev = vdev;
    vp->routes = routes;
    vp->loop = loop;
    vp->msix_config = VIRTIO_MSI_NO_VECTOR;
    vp->bar_addr = PCI_BAR_UNMAPPED;
    pci_function_init(&vp->pci, VIRTIO_PCI_VENDOR,
                      (uint16_t)(VIRTIO_PCI_DEVICE_BASE + vdev->device_id),
                      vp_class(vdev->device_id), 1, VIRTIO_PCI_VENDOR, VIRTIO_PCI_SUBSYS_ID);
    vp->pci.ops = &vp_pci_ops;
    vp->pci.opaque = vp;
    pci_function_use_intx(&vp->pci);
    vp->queue_vector = malloc(vdev->nr_queues * sizeof(*vp->queue_vector));
    rc = -ENOMEM;
    if (!vp->queue_vector)
        goto err_free;
    for (unsigned int q = 0; q < vdev->nr_queues; q++)
        vp->queue_vector[q] = VIRTIO_MSI_NO_VECTOR;
    nr_vecs = vdev->nr_queues + 1 < PCI_MSIX_MAX_VECS ? vdev->nr_queues + 1 : PCI_MSIX_MAX_VECS;
    if ((rc = pci_function_set_bar(&vp->pci, VIRTIO_PCI_BAR, PCI_BAR_MEM64, VIRTIO_PCI_BAR_SIZE,
                                   vp_bar_io, vp)) ||
        (rc = vp_build_caps(vp)) ||
        (rc = pci_function_add_msix(&vp->pci, VIRTIO_PCI_MSIX_BAR, (uint16_t)nr_vecs)))
        goto err_free;
    if (loop && (rc = vp_setup_kicks(vp)))
        goto err_free;
    if ((rc = pci_add_device(bus, &vp->pci)))
        goto err_free;
    t = (struct virtio_transport){ .notify_queue = vp_notify_queue,
                                   .notify_config = vp_notify_config,
                                   .ctx = vp };
    virtio_set_transport(vdev, &t);
    *out = vp;
    return 0;

err_free:
    vp_free(vp);
    return rc;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
    if (!vp)
        return;
    vp_free(vp);
}

struct pci_function *virtio_pci_function(struct virtio_pci *vp)
{
    return &vp->pci;
}
