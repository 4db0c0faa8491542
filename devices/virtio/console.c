// SPDX-License-Identifier: MIT
#include "devices/virtio/console.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>

#include "devices/virtio/iov.h"

#define RXQ 0
#define TXQ 1

struct vcon {
    struct virtio_dev vdev;
    struct vcon_host host;
    /*
     * Covers everything below and both queues: kicks come from vCPUs or the loop, input and
     * output room from the loop, reset from a vCPU. Taken before dev->lock, never after it.
     */
    pthread_mutex_t lock;
    bool running;  /* DRIVER_OK and the rings sound; atomic */
    uint32_t size; /* cols | rows << 16; atomic: config reads hold dev->lock, not ours */
    /* A transmit chain the host could not take whole: written from tx_done on, later. */
    bool tx_held;
    uint32_t tx_done;
    struct vq_chain tx, rx; /* 16 KiB each: not on a stack */
};

static void stop_broken(struct vcon *v)
{
    __atomic_store_n(&v->running, false, __ATOMIC_RELAXED);
    virtio_set_needs_reset(&v->vdev, NULL);
}

/* Writes the held or next chains to the host until it is full or the queue is empty. */
static void process_tx(struct vcon *v)
{
    struct virtq *vq = &v->vdev.queues[TXQ];
    bool pushed = false;
    int rc;

    for (;;) {
        if (!v->tx_held) {
            rc = vq_pop_or_arm(vq, &v->tx);
            if (rc < 0)
                stop_broken(v);
            if (rc <= 0)
                break;
            v->tx_held = true;
            v->tx_done = 0;
        }
        /* Readable buffers one by one, from where the host stopped taking them. */
        while (v->tx_done < v->tx.rd_len) {
            uint8_t chunk[512];
            size_t len = iov_to_buf(v->tx.iov, v->tx.n_rd, v->tx_done, chunk, sizeof(chunk));
            size_t took = v->host.write(v->host.ctx, chunk, len);

            v->tx_done += (uint32_t)took;
            if (took < len)
                goto out; /* output_room resumes here */
        }
        v->tx_held = false;
        if (vq_push(vq, v->tx.head, 0) == 0)
            pushed = true;
    }
out:
    if (pushed)
        virtio_notify(&v->vdev, TXQ);
}

int vcon_receive(struct vcon *v, const uint8_t *buf, size_t len)
{
    struct virtq *vq = &v->vdev.queues[RXQ];
    size_t done = 0;
    bool pushed = false;
    int rc = 0;

    pthread_mutex_lock(&v->lock);
    while (done < len && __atomic_load_n(&v->running, __ATOMIC_ACQUIRE)) {
        size_t took;

        rc = vq_pop_or_arm(vq, &v->rx);
        if (rc < 0)
            stop_broken(v);
        if (rc <= 0)
            break; /* none: the host keeps the rest until rx_ready */
        took = iov_from_buf(vq_chain_wr(&v->rx), v->rx.n_wr, 0, buf + done, len - done);
        if (vq_push(vq, v->rx.head, (uint32_t)took) == 0)
            pushed = true;
        done += took;
        if (!took) { /* a receive buffer without writable space */
            stop_broken(v);
            break;
        }
    }
    if (pushed)
        virtio_notify(&v->vdev, RXQ);
    pthread_mutex_unlock(&v->lock);
    return (int)done;
}

void vcon_output_room(struct vcon *v)
{
    pthread_mutex_lock(&v->lock);
    if (__atomic_load_n(&v->running, __ATOMIC_ACQUIRE) && v->tx_held)
        process_tx(v);
    pthread_mutex_unlock(&v->lock);
}

void vcon_resize(struct vcon *v, uint16_t cols, uint16_t rows)
{
    __atomic_store_n(&v->size, (uint32_t)cols | (uint32_t)rows << 16, __ATOMIC_RELAXED);
    if (virtio_has_feature(&v->vdev, VIRTIO_CONSOLE_F_SIZE))
        virtio_config_changed(&v->vdev);
}

static void vcon_queue_notify(struct virtio_dev *dev, unsigned int q)
{
    struct vcon *v = dev->priv;

    if (q == RXQ) {
        v->host.rx_ready(v->host.ctx); /* the host sends what it held back */
        return;
    }
    pthread_mutex_lock(&v->lock);
    if (__atomic_load_n(&v->running, __ATOMIC_ACQUIRE))
        process_tx(v);
    pthread_mutex_unlock(&v->lock);
}

static int vcon_activate(struct virtio_dev *dev)
{
    struct vcon *v = dev->priv;

    __atomic_store_n(&v->running, true, __ATOMIC_RELEASE);
    return 0;
}

static void vcon_reset(struct virtio_dev *dev)
{
    struct vcon *v = dev->priv;

    pthread_mutex_lock(&v->lock);
    __atomic_store_n(&v->running, false, __ATOMIC_RELAXED);
    v->tx_held = false;
    pthread_mutex_unlock(&v->lock);
}

static void vcon_read_config(struct virtio_dev *dev, uint32_t off, void *data, uint32_t len)
{
    struct vcon *v = dev->priv;
    uint32_t size = __atomic_load_n(&v->size, __ATOMIC_RELAXED);
    struct virtio_console_config c = {
        .cols = htole16((uint16_t)size),
        .rows = htole16((uint16_t)(size >> 16)),
        .max_nr_ports = htole32(1),
    };

    memcpy(data, (const uint8_t *)&c + off, len);
}

static const struct virtio_dev_ops vcon_ops = {
    .config_size = sizeof(struct virtio_console_config),
    .activate = vcon_activate,
    .reset = vcon_reset,
    .queue_notify = vcon_queue_notify,
    .read_config = vcon_read_config,
};

int vcon_create(struct vcon **out, struct gmem *mem, const struct vcon_host *host, bool has_size,
                uint16_t cols, uint16_t rows)
{
    struct vcon *v = calloc(1, sizeof(*v));
    int rc;

    if (!v)
        return -ENOMEM;
    v->host = *host;
    v->size = (uint32_t)cols | (uint32_t)rows << 16;
    pthread_mutex_init(&v->lock, NULL);
    rc = virtio_dev_init(&v->vdev, VIRTIO_ID_CONSOLE, has_size ? 1ull << VIRTIO_CONSOLE_F_SIZE : 0,
                         2, VCON_QUEUE_SIZE, mem, &vcon_ops, v);
    if (rc) {
        pthread_mutex_destroy(&v->lock);
        free(v);
        return rc;
    }
    v->vdev.name = "virtio-console";
    *out = v;
    return 0;
}

void vcon_destroy(struct vcon *v)
{
    if (!v)
        return;
    virtio_dev_fini(&v->vdev);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

struct virtio_dev *vcon_vdev(struct vcon *v)
{
    return &v->vdev;
}
