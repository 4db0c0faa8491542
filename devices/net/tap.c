// SPDX-License-Identifier: MIT
#include "devices/net/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/core/log.h"

/* What TUNSETOFFLOAD takes when the guest accepts every receive offload we offer. */
#define TAP_GUEST_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)

/* The virtio bits a TAP that accepts TAP_GUEST_OFFLOADS can honour, both directions. */
#define TAP_VIRTIO_OFFLOADS                                                                        \
    ((1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_GUEST_CSUM) |                             \
     (1ull << VIRTIO_NET_F_HOST_TSO4) | (1ull << VIRTIO_NET_F_HOST_TSO6) |                         \
     (1ull << VIRTIO_NET_F_HOST_ECN) | (1ull << VIRTIO_NET_F_GUEST_TSO4) |                         \
     (1ull << VIRTIO_NET_F_GUEST_TSO6) | (1ull << VIRTIO_NET_F_GUEST_ECN))

struct tap {
    struct net_backend be;
    int fd;
    struct evloop *loop;
    struct net_backend_events ev;
};

static struct tap *to_tap(struct net_backend *be)
{
    return (struct tap *)be;
}

/* Edge-triggered: the device reads until -EAGAIN, and retries a send after the edge. */
static void on_tap(void *opaque, uint32_t events)
{
    struct tap *t = opaque;

    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        t->ev.rx_ready(t->ev.ctx);
    if (events & EPOLLOUT)
        t->ev.tx_room(t->ev.ctx);
}

static int tap_start(struct net_backend *be, struct evloop *loop,
                     const struct net_backend_events *ev)
{
    struct tap *t = to_tap(be);
    int rc;

    t->ev = *ev;
    rc = evloop_add(loop, t->fd, EPOLLIN | EPOLLOUT | EPOLLET, on_tap, t);
    if (rc == 0)
        t->loop = loop;
    return rc;
}

static ssize_t tap_recv(struct net_backend *be, void *buf, size_t len)
{
    ssize_t n = read(to_tap(be)->fd, buf, len);

    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return n;
}

static int tap_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
    if (writev(to_tap(be)->fd, iov, iovcnt) < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return 0;
}

/* What the guest takes on receive decides what the kernel may hand us for it. */
static int tap_configure(struct net_backend *be, uint64_t guest_features)
{
    unsigned int flags = 0;

    if (guest_features & (1ull << VIRTIO_NET_F_GUEST_CSUM)) {
        flags |= TUN_F_CSUM;
        if (guest_features & (1ull << VIRTIO_NET_F_GUEST_TSO4))
            flags |= TUN_F_TSO4;
        if (guest_features & (1ull << VIRTIO_NET_F_GUEST_TSO6))
            flags |= TUN_F_TSO6;
        if (guest_features & (1ull << VIRTIO_NET_F_GUEST_ECN))
            flags |= TUN_F_TSO_ECN;
    }
    if (!be->offloads)
        return 0;
    return ioctl(to_tap(be)->fd, TUNSETOFFLOAD, flags) < 0 ? -errno : 0;
}

static void tap_destroy(struct net_backend *be)
{
    struct tap *t = to_tap(be);

    if (t->loop)
        evloop_del(t->loop, t->fd);
    close(t->fd);
    free(t);
}

static const struct net_backend_ops tap_ops = {
    .start = tap_start,
    .recv = tap_recv,
    .send = tap_send,
    .configure = tap_configure,
    .destroy = tap_destroy,
};

/* A TAP kvmini created itself is down, and nobody else will bring it up. */
static int bring_up(const char *name)
{
    struct ifreq ifr = { 0 };
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

    if (s < 0)
        return -errno;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        rc = -errno;
    else if (!(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
            rc = -errno;
    }
    close(s);
    return rc;
}

int net_tap_create(struct net_backend **out, const char *name, char *err, size_t len)
{
    struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
    int hdr_len = sizeof(struct virtio_net_hdr_v1);
    bool existed;
    struct tap *t;
    char hint[160];
    int rc;

    *out = NULL;
    snprintf(hint, sizeof(hint),
             "create it first: sudo ip tuntap add dev %s mode tap user $USER && sudo ip link set "
             "%s up",
             name, name);
    if (!*name || strlen(name) >= IFNAMSIZ) {
        snprintf(err, len, "--net tap=%s: not a network interface name (1 to %d characters)", name,
                 IFNAMSIZ - 1);
        return -EINVAL;
    }
    t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (t->fd < 0) {
        rc = -errno;
        snprintf(err, len,
                 "--net tap=%s: cannot open /dev/net/tun: %s (load the tun module: "
                 "sudo modprobe tun)",
                 name, strerror(-rc));
        goto err_free;
    }
    existed = if_nametoindex(name) != 0;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
        rc = -errno;
        if (rc == -EPERM && existed)
            snprintf(err, len,
                     "--net tap=%s: not permitted to open this TAP device (it belongs "
                     "to another user); %s",
                     name, hint);
        else if (rc == -EPERM)
            snprintf(err, len,
                     "--net tap=%s: there is no such TAP device and kvmini may not "
                     "create one; %s",
                     name, hint);
        else
            snprintf(err, len,
                     "--net tap=%s: cannot attach to it: %s (is it a TAP device, "
                     "not a TUN one?); %s",
                     name, strerror(-rc), hint);
        goto err_close;
    }
    if (ioctl(t->fd, TUNSETVNETHDRSZ, &hdr_len) < 0) {
        rc = -errno;
        snprintf(err, len, "--net tap=%s: the kernel refuses virtio headers: %s", name,
                 strerror(-rc));
        goto err_close;
    }
    if (!existed && (rc = bring_up(name)) < 0) {
        snprintf(err, len, "--net tap=%s: created, but cannot bring it up: %s", name,
                 strerror(-rc));
        goto err_close;
    }
    t->be.ops = &tap_ops;
    t->be.vnet_hdr = true;
    /* Offered only where the kernel takes them; off until the guest has said what it accepts. */
    if (ioctl(t->fd, TUNSETOFFLOAD, TAP_GUEST_OFFLOADS) == 0)
        t->be.offloads = TAP_VIRTIO_OFFLOADS;
    ioctl(t->fd, TUNSETOFFLOAD, 0);
    snprintf(t->be.name, sizeof(t->be.name), "tap %s", name);
    *out = &t->be;
    return 0;

err_close:
    close(t->fd);
err_free:
    free(t);
    return rc;
}
