/* SPDX-License-Identifier: MIT */
/*
 * virtio-net: an Ethernet NIC whose frames go to a backend (devices/net/backend.h): a TAP device
 * or user-mode networking. Queue 0 receives, queue 1 transmits; no control queue. Offered: MAC,
 * STATUS (link always up), MRG_RXBUF, and the backend's offloads (checksum, TSO), each only
 * where the backend honours it.
 *
 * Both directions run on the event loop, never blocking, with back-pressure both ways: a frame
 * that finds no receive buffer waits in the device (and nothing more is read from the backend)
 * until the driver posts buffers; a backend that is full holds the transmit queue until it has
 * room. Each turn of the loop moves at most NET_BATCH frames each way; the rest wait for the
 * next turn, so a busy NIC cannot starve the disks or the console.
 */
#ifndef KVMINI_DEVICES_VIRTIO_NET_H
#define KVMINI_DEVICES_VIRTIO_NET_H

#include <stdint.h>

#include "devices/net/backend.h"
#include "devices/virtio/virtio.h"
#include "vmm/core/evloop.h"
#include "vmm/mem/gmem.h"

#define NET_QUEUE_SIZE 256
#define NET_BATCH      64

struct net;

struct net_stats {
    uint64_t rx_frames, rx_bytes; /* to the guest */
    uint64_t tx_frames, tx_bytes; /* from the guest */
    uint64_t rx_dropped;          /* lost: a receive buffer too small, a backend error */
    uint64_t tx_dropped;          /* malformed: short or inconsistent header, too large, ... */
    uint64_t tx_errors;           /* the backend failed to send them */
    uint64_t rx_waits;            /* a frame waited for receive buffers (back-pressure) */
    uint64_t tx_waits;            /* the backend was full (back-pressure) */
    uint64_t deferred;            /* turns that left work for the next one */
};

/*
 * Creates the NIC over be (taken: destroyed with the device), with MAC mac. 0 or -errno. The
 * backend starts watching its fds on loop now; call before the loop runs.
 */
int net_create(struct net **out, struct net_backend *be, const uint8_t mac[6], struct gmem *mem,
               struct evloop *loop);
void net_destroy(struct net *n);

struct virtio_dev *net_vdev(struct net *n);
const char *net_backend_name(const struct net *n);
void net_get_stats(struct net *n, struct net_stats *out);

#endif
