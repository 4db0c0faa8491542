// SPDX-License-Identifier: MIT
#include "devices/virtio/virtio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/core/log.h"

/* What the core itself implements for every device: modern interface, both ring extensions. */
#define VIRTIO_CORE_FEATURES                                                                       \
    ((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |                            \
     (1ULL << VIRTIO_RING_F_INDIRECT_DESC))

#define DRIVER_STATUS_BITS                                                                         \
    (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |          \
     VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FAILED)

int virtio_dev_init(struct virtio_dev *dev, uint32_t device_id, uint64_t features,
                    unsigned int nr_queues, uint16_t queue_max, struct gmem *mem,
                    const struct virtio_dev_ops *ops, void *priv)
{
    int rc;

    memset(dev, 0, sizeof(*dev));
    if (!ops || !nr_queues)
        return -EINVAL;
    dev->queues = calloc(nr_queues, sizeof(*dev->queues));
    if (!dev->queues)
        return -ENOMEM;
    for (unsigned int i = 0; i < nr_queues; i++) {
        rc = vq_init(&dev->queues[i], mem, queue_max);
        if (rc)
            goto err_free;
    }
    rc = -pthread_mutex_init(&dev->lock, NULL);
    if (rc)
        goto err_free;
    dev->device_id = device_id;
    dev->device_features = features | VIRTIO_CORE_FEATURES;
    dev->nr_queues = nr_queues;
    dev->ops = ops;
    dev->priv = priv;
    dev->reset_warnings = LOG_BUDGET(VIRTIO_NEEDS_RESET_REPORTS,
                                     "further needs-reset reports of this device are not shown");
    return 0;

err_free:
    free(dev->queues);
    dev->queues = NULL;
    return rc;
}

void virtio_dev_fini(struct virtio_dev *dev)
{
    if (!dev->queues)
        return;
    pthread_mutex_destroy(&dev->lock);
    free(dev->queues);
    dev->queues = NULL;
}

void virtio_set_transport(struct virtio_dev *dev, const struct virtio_transport *t)
{
    pthread_mutex_lock(&dev->lock);
    dev->transport = *t;
    pthread_mutex_unlock(&dev->lock);
}

static void notify_config(struct virtio_dev *dev)
{
    if (dev->transport.notify_config)
        dev->transport.notify_config(dev->transport.ctx);
}

uint32_t virtio_get_device_features(struct virtio_dev *dev, uint32_t sel)
{
    /* Constant after init: no lock needed. */
    return sel < 2 ? (uint32_t)(dev->device_features >> (32 * sel)) : 0;
}

uint32_t virtio_get_driver_features(struct virtio_dev *dev, uint32_t sel)
{
    uint32_t v;

    pthread_mutex_lock(&dev->lock);
    v = sel < 2 ? (uint32_t)(dev->driver_features >> (32 * sel)) : 0;
    pthread_mutex_unlock(&dev->lock);
    return v;
}

void virtio_set_driver_features(struct virtio_dev *dev, uint32_t sel, uint32_t val)
{
    uint64_t mask;

    if (sel > 1)
        return;
    mask = 0xffffffffULL << (32 * sel);
    pthread_mutex_lock(&dev->lock);
    /* Negotiation is over once FEATURES_OK stuck: the queues were set up for those features. */
    if (!(dev->status & VIRTIO_CONFIG_S_FEATURES_OK))
        dev->driver_features = (dev->driver_features & ~mask) | ((uint64_t)val << (32 * sel));
    pthread_mutex_unlock(&dev->lock);
}

uint8_t virtio_get_status(struct virtio_dev *dev)
{
    uint8_t s;

    pthread_mutex_lock(&dev->lock);
    s = dev->status;
    pthread_mutex_unlock(&dev->lock);
    return s;
}

static void log_needs_reset(struct virtio_dev *dev, const char *why)
{
    if (!log_budget_take(&dev->reset_warnings))
        return;
    for (unsigned int i = 0; i < dev->nr_queues; i++) {
        if (dev->queues[i].broken) {
            why = dev->queues[i].broken_why;
            break;
        }
    }
    if (dev->name)
        log_warn("%s needs reset: %s", dev->name, why ? why : "device error");
    else
        log_warn("virtio device %u needs reset: %s", dev->device_id, why ? why : "device error");
}

/* Returns whether a config interrupt is due; the caller raises it after unlocking. */
static bool needs_reset_locked(struct virtio_dev *dev, const char *why)
{
    if (dev->status & VIRTIO_CONFIG_S_NEEDS_RESET)
        return false; /* already reported: one message and one interrupt per reset cycle */
    dev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    dev->config_generation++;
    log_needs_reset(dev, why);
    /* Spec: the notification is owed only to a running driver; others see it in the status. */
    return dev->status & VIRTIO_CONFIG_S_DRIVER_OK;
}

/*
 * Status 0. The device's reset runs unlocked: it may wait for its I/O thread, which may be blocked
 * in virtio_set_needs_reset() on this lock. Clearing the status first makes kicks arriving
 * meanwhile go nowhere; the queues are forgotten only once the device has let go of them.
 */
static void reset(struct virtio_dev *dev)
{
    pthread_mutex_lock(&dev->lock);
    dev->status = 0;
    pthread_mutex_unlock(&dev->lock);
    if (dev->ops->reset)
        dev->ops->reset(dev);
    pthread_mutex_lock(&dev->lock);
    for (unsigned int i = 0; i < dev->nr_queues; i++)
        vq_reset(&dev->queues[i]);
    dev->driver_features = 0;
    dev->status = 0;
    pthread_mutex_unlock(&dev->lock);
}

static bool features_acceptable(const struct virtio_dev *dev)
{
    return !(dev->driver_features & ~dev->device_features) &&
           (dev->driver_features & (1ULL << VIRTIO_F_VERSION_1));
}

void virtio_set_status(struct virtio_dev *dev, uint8_t val)
{
    uint8_t old, add;
    bool irq = false;
    int rc;

    if (!val) {
        reset(dev);
        return;
    }
    pthread_mutex_lock(&dev->lock);
    old = dev->status;
    /* Bits the driver turns on now; it may not clear any (spec), so clearing is ignored. */
    add = (uint8_t)(val & DRIVER_STATUS_BITS & ~old);
    if ((add & VIRTIO_CONFIG_S_DRIVER) && !((old | add) & VIRTIO_CONFIG_S_ACKNOWLEDGE))
        add &= ~VIRTIO_CONFIG_S_DRIVER;
    if (add & VIRTIO_CONFIG_S_FEATURES_OK) {
        /* Not sticking is how the device refuses: the driver reads the status back. */
        if (!((old | add) & VIRTIO_CONFIG_S_DRIVER) || !features_acceptable(dev))
            add &= ~VIRTIO_CONFIG_S_FEATURES_OK;
    }
    if ((add & VIRTIO_CONFIG_S_DRIVER_OK) && !((old | add) & VIRTIO_CONFIG_S_FEATURES_OK))
        add &= ~VIRTIO_CONFIG_S_DRIVER_OK;
    dev->status = old | add;

    if (add & VIRTIO_CONFIG_S_DRIVER_OK) {
        if (old & VIRTIO_CONFIG_S_NEEDS_RESET) {
            /* Broken before the driver started: tell it now that it listens. */
            irq = true;
        } else if (dev->ops->activate && (rc = dev->ops->activate(dev)) < 0) {
            log_warn("virtio device %u: activation failed: %s", dev->device_id, strerror(-rc));
            irq = needs_reset_locked(dev, "activation failed");
        }
    }
    pthread_mutex_unlock(&dev->lock);
    if (irq)
        notify_config(dev);
}

uint32_t virtio_get_config_generation(struct virtio_dev *dev)
{
    uint32_t g;

    pthread_mutex_lock(&dev->lock);
    g = dev->config_generation;
    pthread_mutex_unlock(&dev->lock);
    return g;
}

static bool config_range_ok(const struct virtio_dev *dev, uint32_t off, uint32_t len)
{
    uint32_t end;

    return len && !__builtin_add_overflow(off, len, &end) && end <= dev->ops->config_size;
}

int virtio_config_read(struct virtio_dev *dev, uint32_t off, void *data, uint32_t len)
{
    memset(data, 0, len);
    if (!config_range_ok(dev, off, len))
        return -EINVAL;
    pthread_mutex_lock(&dev->lock);
    if (dev->ops->read_config)
        dev->ops->read_config(dev, off, data, len);
    pthread_mutex_unlock(&dev->lock);
    return 0;
}

int virtio_config_write(struct virtio_dev *dev, uint32_t off, const void *data, uint32_t len)
{
    if (!config_range_ok(dev, off, len))
        return -EINVAL;
    pthread_mutex_lock(&dev->lock);
    if (dev->ops->write_config)
        dev->ops->write_config(dev, off, data, len);
    pthread_mutex_unlock(&dev->lock);
    return 0;
}

uint64_t virtio_queue_get(struct virtio_dev *dev, unsigned int q, enum virtio_queue_field f)
{
    const struct virtq *vq;
    uint64_t v = 0;

    if (q >= dev->nr_queues)
        return 0;
    vq = &dev->queues[q];
    pthread_mutex_lock(&dev->lock);
    switch (f) {
    case VIRTIO_QUEUE_MAX_SIZE:
        v = vq->max_size;
        break;
    case VIRTIO_QUEUE_SIZE:
        v = vq->size;
        break;
    case VIRTIO_QUEUE_ENABLE:
        v = vq->ready;
        break;
    case VIRTIO_QUEUE_DESC:
        v = vq->desc_gpa;
        break;
    case VIRTIO_QUEUE_AVAIL:
        v = vq->avail_gpa;
        break;
    case VIRTIO_QUEUE_USED:
        v = vq->used_gpa;
        break;
    }
    pthread_mutex_unlock(&dev->lock);
    return v;
}

static int queue_enable_locked(struct virtio_dev *dev, struct virtq *vq, bool *irq)
{
    int rc;

    /* The ring layout extensions follow the negotiated features, so those must be final. */
    if (!(dev->status & VIRTIO_CONFIG_S_FEATURES_OK))
        return -EPERM;
    vq->event_idx = virtio_has_feature(dev, VIRTIO_RING_F_EVENT_IDX);
    vq->indirect = virtio_has_feature(dev, VIRTIO_RING_F_INDIRECT_DESC);
    rc = vq_enable(vq);
    if (rc < 0)
        *irq = needs_reset_locked(dev, "queue rings misaligned or outside guest RAM");
    return rc;
}

int virtio_queue_set(struct virtio_dev *dev, unsigned int q, enum virtio_queue_field f,
                     uint64_t val)
{
    struct virtq *vq;
    bool irq = false;
    int rc = 0;

    if (q >= dev->nr_queues)
        return -ENOENT;
    vq = &dev->queues[q];
    pthread_mutex_lock(&dev->lock);
    /* Frozen at DRIVER_OK: the I/O thread uses the queue from then on without this lock. */
    if ((dev->status & VIRTIO_CONFIG_S_DRIVER_OK) || vq->ready) {
        rc = -EBUSY;
        goto out;
    }
    switch (f) {
    case VIRTIO_QUEUE_SIZE:
        rc = val > UINT16_MAX ? -EINVAL : vq_set_size(vq, (uint16_t)val);
        break;
    case VIRTIO_QUEUE_ENABLE:
        if (val == 1)
            rc = queue_enable_locked(dev, vq, &irq);
        break;
    case VIRTIO_QUEUE_DESC:
        vq->desc_gpa = val;
        break;
    case VIRTIO_QUEUE_AVAIL:
        vq->avail_gpa = val;
        break;
    case VIRTIO_QUEUE_USED:
        vq->used_gpa = val;
        break;
    default:
        rc = -EINVAL;
        break;
    }
out:
    pthread_mutex_unlock(&dev->lock);
    if (irq)
        notify_config(dev);
    return rc;
}

void virtio_queue_notify(struct virtio_dev *dev, unsigned int q)
{
    bool running;

    if (q >= dev->nr_queues)
        return;
    pthread_mutex_lock(&dev->lock);
    running =
        (dev->status & VIRTIO_CONFIG_S_DRIVER_OK) && !(dev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
    pthread_mutex_unlock(&dev->lock);
    /* Outside the lock: the device may process the queue here and call virtio_set_needs_reset. */
    if (running && dev->ops->queue_notify)
        dev->ops->queue_notify(dev, q);
}

void virtio_set_needs_reset(struct virtio_dev *dev, const char *why)
{
    bool irq;

    pthread_mutex_lock(&dev->lock);
    irq = needs_reset_locked(dev, why);
    pthread_mutex_unlock(&dev->lock);
    if (irq)
        notify_config(dev);
}

void virtio_config_changed(struct virtio_dev *dev)
{
    bool irq;

    pthread_mutex_lock(&dev->lock);
    dev->config_generation++;
    irq = dev->status & VIRTIO_CONFIG_S_DRIVER_OK;
    pthread_mutex_unlock(&dev->lock);
    if (irq)
        notify_config(dev);
}

int virtio_notify(struct virtio_dev *dev, unsigned int q)
{
    if (q >= dev->nr_queues || !vq_should_notify(&dev->queues[q]))
        return 0;
    if (!dev->transport.notify_queue)
        return 0;
    return dev->transport.notify_queue(dev->transport.ctx, q);
}
