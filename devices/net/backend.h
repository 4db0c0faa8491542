/* SPDX-License-Identifier: MIT */
/*
 * A network backend: where a virtio-net device's frames leave the VM and where the guest's come
 * from. The device (devices/virtio/net.c) knows only this interface; the backends are a TAP
 * device (tap.c) and user-mode networking through libslirp (slirp.c).
 *
 * Frames are whole Ethernet frames (no FCS), at most NET_FRAME_MAX bytes. A backend with
 * vnet_hdr set carries a struct virtio_net_hdr_v1 (12 bytes, <linux/virtio_net.h>) in front of
 * every frame, both ways (a TAP opened with IFF_VNET_HDR); otherwise frames are bare and the
 * device deals with checksums and segmentation itself (it then offers no offloads).
 *
 * Threading: every call runs on the event loop's thread (the device takes its own lock around
 * them), except create and destroy, which run on the main thread while the loop is not running.
 * Nothing here may block: a backend that cannot take or give a frame now says -EAGAIN, and calls
 * the matching callback on the loop thread when it can again.
 */
#ifndef KVMINI_DEVICES_NET_BACKEND_H
#define KVMINI_DEVICES_NET_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "vmm/core/evloop.h"

/* The largest frame either way, virtio_net_hdr excluded: 64 KiB of IP plus an Ethernet header
 * (a TSO frame). A frame longer than this is dropped. */
#define NET_FRAME_MAX (65536 + 14 + 4)

struct net_backend;

/* What the backend tells its device; on the loop thread. */
struct net_backend_events {
    void (*rx_ready)(void *ctx); /* frames may be waiting: call recv until -EAGAIN */
    void (*tx_room)(void *ctx);  /* send said -EAGAIN before and may now succeed */
    void *ctx;
};

struct net_backend_ops {
    /*
     * From now on, report readiness through ev (copied); watch fds on loop. Called once, before
     * the loop starts. 0 or -errno.
     */
    int (*start)(struct net_backend *be, struct evloop *loop, const struct net_backend_events *ev);
    /*
     * One frame into buf (len >= the virtio_net_hdr if vnet_hdr, + NET_FRAME_MAX): its length,
     * header included; -EAGAIN when none is waiting (rx_ready will be called when one may be);
     * another -errno for a frame lost (the device counts it and calls again).
     */
    ssize_t (*recv)(struct net_backend *be, void *buf, size_t len);
    /*
     * One whole frame, gathered from iov (header first if vnet_hdr). 0 when sent (or dropped by
     * the backend as a real network would drop it); -EAGAIN when the backend is full: nothing
     * was taken, send it again after tx_room; another -errno: the frame is lost (counted).
     * Frames a send makes waiting (user networking answers at once) need no rx_ready: after
     * sending, the device always calls recv until -EAGAIN.
     */
    int (*send)(struct net_backend *be, const struct iovec *iov, int iovcnt);
    /*
     * Optional (NULL: nothing to do). The driver accepted features (VIRTIO_NET_F_* bits) at
     * DRIVER_OK, or 0 at a reset: the backend gives the guest only what it accepted (a TAP's
     * TUNSETOFFLOAD). 0 or -errno (the device then needs a reset).
     */
    int (*configure)(struct net_backend *be, uint64_t guest_features);
    /* Stops watching fds and frees everything. The loop is not running. */
    void (*destroy)(struct net_backend *be);
};

struct net_backend {
    const struct net_backend_ops *ops;
    bool vnet_hdr; /* frames carry a virtio_net_hdr_v1, both ways */
    /*
     * With vnet_hdr: the VIRTIO_NET_F_* offload bits this backend can honour, as the device
     * may offer them (CSUM, GUEST_CSUM, HOST_TSO4/6, GUEST_TSO4/6, ...); 0 without.
     */
    uint64_t offloads;
    char name[48]; /* "tap kvmini0", "user": for log lines and --stats */
};

#endif
