// SPDX-License-Identifier: MIT
#include "devices/virtio/net.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "devices/virtio/iov.h"

#define RXQ 0
#define TXQ 1

/* With VERSION_1 every frame carries the 12-byte header, num_buffers included, both ways. */
#define HDR_LEN sizeof(struct virtio_net_hdr_v1)

/* What the guest may send with, when negotiated: checksum offload and TSO. */
#define TX_OFFLOADS                                                                                \
    ((1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_HOST_TSO4) |                              \
     (1ull << VIRTIO_NET_F_HOST_TSO6) | (1ull << VIRTIO_NET_F_HOST_ECN))

struct net {
    struct virtio_dev vdev;
    struct net_backend *be;
    struct evloop *loop;
    struct virtio_net_config config; /* constant: MAC and link up */
    char name[80];                   /* "virtio-net (tap kvmini0)", for the log */

    /*
     * Covers everything below and both queues: backend events and kicks through ioeventfds
     * arrive on the loop thread; reset comes from a vCPU. Backends are only ever called on the
     * loop thread (a kick that exits to a vCPU is handed over through again_fd). Taken before
     * dev->lock, never after it.
     */
    pthread_mutex_t lock;
    int again_fd;      /* eventfd: work for the loop thread (left over, or handed over) */
    bool running;      /* DRIVER_OK and the rings sound; atomic (set under dev->lock) */
    bool configured;   /* the backend has been told the negotiated features */
    uint64_t features; /* negotiated; read after running is seen set */

    /* A frame read from the backend, header first, waiting for receive buffers while rx_len. */
    uint8_t *rx_frame;
    size_t rx_len;
    /* A transmit chain the backend had no room for: sent again first, header as checked. */
    bool tx_held;
    struct virtio_net_hdr_v1 tx_hdr;
    struct vq_chain rx_chain, tx_chain; /* 16 KiB each: not on a stack */
    struct iovec tx_iov[VQ_MAX_SEGS + 1];
    uint16_t rx_heads[NET_QUEUE_SIZE]; /* a merged frame's chains, in pop order */
    uint32_t rx_written[NET_QUEUE_SIZE];
    struct iovec rx_hdr_iov[HDR_LEN]; /* where the first chain keeps the header */
    unsigned int rx_hdr_n;
    struct net_stats stats;
};

static bool on_loop_thread(const struct net *n)
{
    return n->loop->running && pthread_equal(pthread_self(), n->loop->thread);
}

/* Work for the loop thread's next turn. Any thread. */
static void hand_to_loop(struct net *n)
{
    uint64_t one = 1;

    if (write(n->again_fd, &one, sizeof(one)) < 0) {
        /* Only when the counter would overflow: a wakeup is pending anyway. */
    }
}

static void stop_broken(struct net *n, const char *why)
{
    __atomic_store_n(&n->running, false, __ATOMIC_RELAXED);
    virtio_set_needs_reset(&n->vdev, why);
}

/* ---- Transmit ---- */

/*
 * The header, copied once: what the guest may ask of the backend. A segmentation or checksum
 * request must match what was negotiated and lie inside the frame.
 */
static bool tx_header_ok(const struct net *n, const struct virtio_net_hdr_v1 *h, uint32_t frame)
{
    uint8_t gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
    uint32_t start = le16toh(h->csum_start), off = le16toh(h->csum_offset);

    if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
        return false;
    if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        if (!(n->features & (1ull << VIRTIO_NET_F_CSUM)) || start + off + 2 > frame)
            return false;
    }
    if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !(n->features & (1ull << VIRTIO_NET_F_HOST_ECN)))
        return false;
    switch (gso) {
    case VIRTIO_NET_HDR_GSO_NONE:
        return !(h->gso_type & VIRTIO_NET_HDR_GSO_ECN);
    case VIRTIO_NET_HDR_GSO_TCPV4:
        return (n->features & (1ull << VIRTIO_NET_F_HOST_TSO4)) && h->gso_size &&
               (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
    case VIRTIO_NET_HDR_GSO_TCPV6:
        return (n->features & (1ull << VIRTIO_NET_F_HOST_TSO6)) && h->gso_size &&
               (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
    default:
        return false;
    }
}

/* Checks the popped chain and points tx_iov at header and frame. How many iovecs, or 0: drop. */
static int tx_prepare(struct net *n)
{
    struct vq_chain *c = &n->tx_chain;
    uint32_t frame;
    int segs;

    if (c->rd_len < HDR_LEN)
        return 0;
    frame = c->rd_len - HDR_LEN;
    if (frame < ETH_HLEN || frame > NET_FRAME_MAX)
        return 0;
    iov_to_buf(c->iov, c->n_rd, 0, &n->tx_hdr, HDR_LEN);
    if (!tx_header_ok(n, &n->tx_hdr, frame))
        return 0;
    n->tx_hdr.num_buffers = 0;
    segs = iov_slice(c->iov, c->n_rd, HDR_LEN, frame, n->tx_iov + 1, VQ_MAX_SEGS);
    if (segs <= 0)
        return 0;
    if (!n->be->vnet_hdr)
        return segs; /* the backend takes bare frames: skip our header */
    n->tx_iov[0] = (struct iovec){ &n->tx_hdr, HDR_LEN };
    return segs + 1;
}

/* Sends the held or popped chain. false: the backend is full, the chain is held. */
static bool tx_send(struct net *n, bool *pushed)
{
    struct vq_chain *c = &n->tx_chain;
    int segs = tx_prepare(n), rc = 0;

    if (segs > 0) {
        struct iovec *iov = n->be->vnet_hdr ? n->tx_iov : n->tx_iov + 1;

        rc = n->be->ops->send(n->be, iov, segs);
        if (rc == -EAGAIN) {
            n->tx_held = true;
            n->stats.tx_waits++;
            return false;
        }
        if (rc < 0) {
            n->stats.tx_errors++;
        } else {
            n->stats.tx_frames++;
            n->stats.tx_bytes += c->rd_len - HDR_LEN;
        }
    } else {
        n->stats.tx_dropped++;
    }
    n->tx_held = false;
    if (vq_push(&n->vdev.queues[TXQ], c->head, 0) == 0)
        *pushed = true;
    return true;
}

static void process_tx(struct net *n)
{
    struct virtq *vq = &n->vdev.queues[TXQ];
    unsigned int budget = NET_BATCH;
    bool pushed = false;
    int rc;

    if (n->tx_held && !tx_send(n, &pushed))
        goto out;
    for (;;) {
        if (!budget--) {
            n->stats.deferred++;
            hand_to_loop(n);
            break;
        }
        rc = vq_pop_or_arm(vq, &n->tx_chain);
        if (rc < 0)
            stop_broken(n, NULL);
        if (rc <= 0 || !tx_send(n, &pushed))
            break;
    }
out:
    if (pushed)
        virtio_notify(&n->vdev, TXQ);
}

/* ---- Receive ---- */

/* Puts the chains of a frame that did not fit back in the ring, newest first. */
static void rx_unpop(struct net *n, unsigned int count)
{
    while (count--)
        vq_unpop(&n->vdev.queues[RXQ], n->rx_heads[count]);
}

/*
 * Copies the waiting frame into receive buffers: one chain, or with MRG_RXBUF as many as it
 * takes (num_buffers tells the driver). 1 delivered (or dropped: a buffer too small), 0 the ring
 * has too little room now (nothing consumed), -1 the ring is broken.
 */
static int rx_deliver(struct net *n)
{
    struct virtq *vq = &n->vdev.queues[RXQ];
    bool merge = n->features & (1ull << VIRTIO_NET_F_MRG_RXBUF);
    unsigned int used = 0;
    size_t done = 0;
    uint16_t count;
    int rc;

    while (done < n->rx_len) {
        struct vq_chain *c = &n->rx_chain;
        size_t take;

        if (used == NET_QUEUE_SIZE || (used && !merge))
            break;
        rc = vq_pop(vq, c);
        if (rc < 0)
            return -1;
        if (rc == 0 && vq_set_avail_event(vq))
            continue;
        if (rc == 0 && used < vq->size) {
            rx_unpop(n, used);
            return 0;
        }
        if (rc == 0)
            break; /* every buffer the ring can hold is not enough: drop it */
        if (!c->n_wr) {
            vq_push(vq, c->head, 0);
            return -1; /* a receive buffer the device cannot write: not a driver's */
        }
        if (!used) {
            int segs = iov_slice(vq_chain_wr(c), c->n_wr, 0, HDR_LEN, n->rx_hdr_iov, HDR_LEN);

            n->rx_hdr_n = segs > 0 ? (unsigned int)segs : 0;
        }
        take = iov_from_buf(vq_chain_wr(c), c->n_wr, 0, n->rx_frame + done, n->rx_len - done);
        n->rx_heads[used] = c->head;
        n->rx_written[used++] = (uint32_t)take;
        done += take;
    }
    if (done < n->rx_len || !n->rx_hdr_n) {
        /* Too small even merged, or without MRG_RXBUF one buffer that cannot hold it. */
        n->stats.rx_dropped++;
        for (unsigned int i = 0; i < used; i++)
            vq_push(vq, n->rx_heads[i], 0);
        return 1;
    }
    count = htole16((uint16_t)used);
    iov_from_buf(n->rx_hdr_iov, n->rx_hdr_n, offsetof(struct virtio_net_hdr_v1, num_buffers),
                 &count, sizeof(count));
    for (unsigned int i = 0; i < used; i++)
        vq_push(vq, n->rx_heads[i], n->rx_written[i]);
    n->stats.rx_frames++;
    n->stats.rx_bytes += n->rx_len - HDR_LEN;
    return 1;
}

/* Reads a frame from the backend into rx_frame. 1 one waits, 0 none, -errno one was lost. */
static int rx_fetch(struct net *n)
{
    size_t at = n->be->vnet_hdr ? 0 : HDR_LEN;
    ssize_t got = n->be->ops->recv(n->be, n->rx_frame + at, HDR_LEN + NET_FRAME_MAX - at);

    if (got == -EAGAIN)
        return 0;
    if (got < 0)
        return (int)got;
    if ((size_t)got + at < HDR_LEN + ETH_HLEN)
        return -EINVAL;
    if (at)
        memset(n->rx_frame, 0, HDR_LEN); /* no offload: nothing for the driver to know */
    n->rx_len = (size_t)got + at;
    return 1;
}

static void process_rx(struct net *n)
{
    unsigned int budget = NET_BATCH;
    bool pushed = false;
    int rc;

    for (;;) {
        if (!n->rx_len) {
            if (!budget--) {
                n->stats.deferred++;
                hand_to_loop(n);
                break;
            }
            rc = rx_fetch(n);
            if (rc == 0)
                break;
            if (rc < 0) {
                n->stats.rx_dropped++;
                continue;
            }
        }
        rc = rx_deliver(n);
        if (rc < 0) {
            stop_broken(n, "receive buffer without writable space");
            break;
        }
        if (rc == 0) {
            n->stats.rx_waits++; /* the next kick of the receive queue goes on */
            break;
        }
        n->rx_len = 0;
        pushed = true;
    }
    if (pushed)
        virtio_notify(&n->vdev, RXQ);
}

/* ---- Events (loop thread) and virtio ops ---- */

/* Everything there may be to do, on the loop thread, under the lock. */
static void serve(struct net *n)
{
    if (!__atomic_load_n(&n->running, __ATOMIC_ACQUIRE))
        return;
    if (!n->configured) {
        n->configured = true;
        if (n->be->ops->configure && n->be->ops->configure(n->be, n->features) < 0) {
            stop_broken(n, "the backend refused the negotiated offloads");
            return;
        }
    }
    process_tx(n);
    if (__atomic_load_n(&n->running, __ATOMIC_RELAXED))
        process_rx(n);
}

static void on_again(void *opaque, uint32_t events)
{
    struct net *n = opaque;
    uint64_t count;

    (void)events;
    if (read(n->again_fd, &count, sizeof(count)) < 0) {
        /* Spurious: someone else drained it. */
    }
    pthread_mutex_lock(&n->lock);
    serve(n);
    pthread_mutex_unlock(&n->lock);
}

static void on_rx_ready(void *ctx)
{
    struct net *n = ctx;

    pthread_mutex_lock(&n->lock);
    if (__atomic_load_n(&n->running, __ATOMIC_ACQUIRE) && n->configured)
        process_rx(n);
    pthread_mutex_unlock(&n->lock);
}

static void on_tx_room(void *ctx)
{
    struct net *n = ctx;

    pthread_mutex_lock(&n->lock);
    if (__atomic_load_n(&n->running, __ATOMIC_ACQUIRE) && n->configured)
        serve(n); /* and so reads what the sends made waiting (backend.h) */
    pthread_mutex_unlock(&n->lock);
}

static void net_queue_notify(struct virtio_dev *dev, unsigned int q)
{
    struct net *n = dev->priv;

    (void)q; /* either queue: serve() looks at both */
    if (!on_loop_thread(n)) {
        hand_to_loop(n);
        return;
    }
    pthread_mutex_lock(&n->lock);
    serve(n);
    pthread_mutex_unlock(&n->lock);
}

/* Under dev->lock: publish what was negotiated; the loop tells the backend, then serves. */
static int net_activate(struct virtio_dev *dev)
{
    struct net *n = dev->priv;

    n->features = dev->driver_features;
    __atomic_store_n(&n->running, true, __ATOMIC_RELEASE);
    hand_to_loop(n);
    return 0;
}

/* Status 0: forget the waiting frame and the held chain; the backend keeps its own. */
static void net_reset(struct virtio_dev *dev)
{
    struct net *n = dev->priv;

    pthread_mutex_lock(&n->lock);
    __atomic_store_n(&n->running, false, __ATOMIC_RELAXED);
    n->configured = false;
    n->rx_len = 0;
    n->tx_held = false;
    pthread_mutex_unlock(&n->lock);
}

static void net_read_config(struct virtio_dev *dev, uint32_t off, void *data, uint32_t len)
{
    struct net *n = dev->priv;

    memcpy(data, (const uint8_t *)&n->config + off, len);
}

static const struct virtio_dev_ops net_ops = {
    /* mac and status: nothing else is offered */
    .config_size = offsetof(struct virtio_net_config, max_virtqueue_pairs),
    .activate = net_activate,
    .reset = net_reset,
    .queue_notify = net_queue_notify,
    .read_config = net_read_config,
};

int net_create(struct net **out, struct net_backend *be, const uint8_t mac[6], struct gmem *mem,
               struct evloop *loop)
{
    uint64_t features = (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS) |
                        (1ull << VIRTIO_NET_F_MRG_RXBUF);
    struct net_backend_events ev = { .rx_ready = on_rx_ready, .tx_room = on_tx_room };
    struct net *n;
    int rc;

    n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    n->rx_frame = malloc(HDR_LEN + NET_FRAME_MAX);
    if (!n->rx_frame) {
        rc = -ENOMEM;
        goto err_free;
    }
    n->be = be;
    n->loop = loop;
    memcpy(n->config.mac, mac, 6);
    n->config.status = htole16(VIRTIO_NET_S_LINK_UP);
    snprintf(n->name, sizeof(n->name), "virtio-net (%s)", be->name);
    pthread_mutex_init(&n->lock, NULL);
    if (be->vnet_hdr)
        features |= be->offloads;
    rc = virtio_dev_init(&n->vdev, VIRTIO_ID_NET, features, 2, NET_QUEUE_SIZE, mem, &net_ops, n);
    if (rc)
        goto err_lock;
    n->vdev.name = n->name;
    n->again_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (n->again_fd < 0) {
        rc = -errno;
        goto err_vdev;
    }
    if ((rc = evloop_add(loop, n->again_fd, EPOLLIN, on_again, n)))
        goto err_close;
    ev.ctx = n;
    if ((rc = be->ops->start(be, loop, &ev)))
        goto err_del;
    *out = n;
    return 0;

err_del:
    evloop_del(loop, n->again_fd);
err_close:
    close(n->again_fd);
err_vdev:
    virtio_dev_fini(&n->vdev);
err_lock:
    pthread_mutex_destroy(&n->lock);
    free(n->rx_frame);
err_free:
    free(n);
    return rc;
}

void net_destroy(struct net *n)
{
    if (!n)
        return;
    n->be->ops->destroy(n->be);
    evloop_del(n->loop, n->again_fd);
    close(n->again_fd);
    virtio_dev_fini(&n->vdev);
    pthread_mutex_destroy(&n->lock);
    free(n->rx_frame);
    free(n);
}

struct virtio_dev *net_vdev(struct net *n)
{
    return &n->vdev;
}

const char *net_backend_name(const struct net *n)
{
    return n->be->name;
}

void net_get_stats(struct net *n, struct net_stats *out)
{
    pthread_mutex_lock(&n->lock);
    *out = n->stats;
    pthread_mutex_unlock(&n->lock);
}
