/* SPDX-License-Identifier: MIT */
/*
 * What every virtio device shares, independent of the transport (PCI today): feature negotiation,
 * the device status state machine, queue configuration, config space with its generation, and
 * DEVICE_NEEDS_RESET. A device type fills a virtio_dev_ops; a transport calls the "transport side"
 * functions below from its register handlers and supplies virtio_transport for interrupts.
 *
 * Locking: dev->lock serialises the transport-side calls (vCPU threads) and virtio_set_needs_reset.
 * ops->activate, ->read_config and ->write_config run with it held and must not call back into
 * this API; ops->reset, ops->queue_notify and the transport's callbacks run without it. Queues are
 * the device's alone from DRIVER_OK until its ops->reset returns: configuration is frozen then.
 */
#ifndef KVMINI_DEVICES_VIRTIO_VIRTIO_H
#define KVMINI_DEVICES_VIRTIO_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_config.h>

#include "devices/virtio/virtqueue.h"
#include "vmm/core/log.h"

/* How many needs-reset cycles of one device are reported, one line each; then they are not. */
#define VIRTIO_NEEDS_RESET_REPORTS 8

struct virtio_dev;

struct virtio_dev_ops {
    uint32_t config_size; /* bytes of device-specific config space */
    /* DRIVER_OK: features and queues are final. 0, or -errno and the device needs a reset. */
    int (*activate)(struct virtio_dev *dev);
    /* Driver wrote status 0: stop touching the queues (e.g. wait for the I/O thread). Optional. */
    void (*reset)(struct virtio_dev *dev);
    /* The driver kicked queue q (q < nr_queues, DRIVER_OK set). */
    void (*queue_notify)(struct virtio_dev *dev, unsigned int q);
    /* off + len <= config_size, checked. Either may be NULL: reads 0, writes dropped. */
    void (*read_config)(struct virtio_dev *dev, uint32_t off, void *data, uint32_t len);
    void (*write_config)(struct virtio_dev *dev, uint32_t off, const void *data, uint32_t len);
};

/* Interrupts, as the transport delivers them (MSI-X vector or INTx + ISR bits). */
struct virtio_transport {
    int (*notify_queue)(void *ctx, unsigned int q); /* used buffers in queue q */
    int (*notify_config)(void *ctx);                /* config change, incl. NEEDS_RESET */
    void *ctx;
};

struct virtio_dev {
    uint32_t device_id;       /* VIRTIO_ID_* */
    uint64_t device_features; /* offered: the device's | VERSION_1 | EVENT_IDX | INDIRECT_DESC */
    uint64_t driver_features; /* accepted by the driver; final once FEATURES_OK sticks */
    uint8_t status;           /* VIRTIO_CONFIG_S_* */
    uint32_t config_generation;
    unsigned int nr_queues;
    struct virtq *queues;
    const struct virtio_dev_ops *ops;
    struct virtio_transport transport;
    void *priv;       /* the device type's state */
    const char *name; /* for log lines, e.g. "virtio-blk disk.img"; NULL: by device id */
    struct log_budget reset_warnings; /* one line per needs-reset, while a guest cycles: bounded */
    pthread_mutex_t lock;
};

/*
 * Sets up dev with nr_queues queues of at most queue_max entries (power of two <= VQ_MAX_SIZE).
 * features are the device-type bits; the core adds its own. 0, -EINVAL, -ENOMEM.
 */
int virtio_dev_init(struct virtio_dev *dev, uint32_t device_id, uint64_t features,
                    unsigned int nr_queues, uint16_t queue_max, struct gmem *mem,
                    const struct virtio_dev_ops *ops, void *priv);
void virtio_dev_fini(struct virtio_dev *dev);

/* The transport attaches itself before the guest runs. */
void virtio_set_transport(struct virtio_dev *dev, const struct virtio_transport *t);

/* ---- Transport side: register handlers call these. ---- */

/* 32-bit feature words: sel 0 = bits 0..31, sel 1 = bits 32..63; other sel read 0. */
uint32_t virtio_get_device_features(struct virtio_dev *dev, uint32_t sel);
uint32_t virtio_get_driver_features(struct virtio_dev *dev, uint32_t sel);
/* Ignored once FEATURES_OK is set or for sel > 1. */
void virtio_set_driver_features(struct virtio_dev *dev, uint32_t sel, uint32_t val);

/*
 * Status register. 0 resets the device (ops->reset, queues, features, status; the generation
 * keeps counting). Otherwise bits only accumulate, each only after its predecessor
 * (ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK); FEATURES_OK sticks only for a subset of the
 * offered features that includes VERSION_1; DRIVER_OK calls ops->activate and freezes queue
 * configuration. NEEDS_RESET is the device's bit: the driver cannot set or clear it.
 */
uint8_t virtio_get_status(struct virtio_dev *dev);
void virtio_set_status(struct virtio_dev *dev, uint8_t status);

/* Config space; the transport re-reads the generation around multi-word reads. */
uint32_t virtio_get_config_generation(struct virtio_dev *dev);
/* 0, or -EINVAL (reads filled with 0) when [off, off+len) is not inside config_size. */
int virtio_config_read(struct virtio_dev *dev, uint32_t off, void *data, uint32_t len);
int virtio_config_write(struct virtio_dev *dev, uint32_t off, const void *data, uint32_t len);

enum virtio_queue_field {
    VIRTIO_QUEUE_MAX_SIZE, /* read-only */
    VIRTIO_QUEUE_SIZE,     /* power of two <= max; other values are ignored */
    VIRTIO_QUEUE_ENABLE,   /* write 1 to enable; 0 is ignored (no VIRTIO_F_RING_RESET) */
    VIRTIO_QUEUE_DESC,     /* guest-physical addresses, 64 bits: transports splice halves */
    VIRTIO_QUEUE_AVAIL,    /* "driver area" */
    VIRTIO_QUEUE_USED,     /* "device area" */
};

/* Reads a queue field; 0 for q >= nr_queues (size 0 tells the driver the queue does not exist). */
uint64_t virtio_queue_get(struct virtio_dev *dev, unsigned int q, enum virtio_queue_field f);
/*
 * Writes a queue field. 0; -ENOENT for no such queue; -EBUSY (ignored) after DRIVER_OK or once
 * the queue is enabled; -EINVAL for a bad size or read-only field; -EPERM for enabling before
 * FEATURES_OK; an enable whose rings fail vq_enable() returns its error and sets NEEDS_RESET.
 */
int virtio_queue_set(struct virtio_dev *dev, unsigned int q, enum virtio_queue_field f,
                     uint64_t val);

/* The driver kicked queue q: forwarded to ops->queue_notify when DRIVER_OK and q is real. */
void virtio_queue_notify(struct virtio_dev *dev, unsigned int q);

/* ---- Device side. ---- */

static inline bool virtio_has_feature(const struct virtio_dev *dev, unsigned int bit)
{
    return bit < 64 && (dev->driver_features >> bit) & 1;
}

/*
 * A queue broke or the device failed: sets DEVICE_NEEDS_RESET, bumps the config generation and,
 * if the driver is running (DRIVER_OK), raises a config interrupt. Logs one line per reset cycle,
 * naming the device and why (a broken queue's own reason comes first; why may be NULL).
 */
void virtio_set_needs_reset(struct virtio_dev *dev, const char *why);

/* Device config changed (e.g. disk resized): bump the generation, raise a config interrupt. */
void virtio_config_changed(struct virtio_dev *dev);

/* After pushing to queue q: interrupts the driver if vq_should_notify() says it wants one. */
int virtio_notify(struct virtio_dev *dev, unsigned int q);

#endif
