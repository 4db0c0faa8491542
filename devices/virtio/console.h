/* SPDX-License-Identifier: MIT */
/*
 * virtio-console ("--console virtio"): one port, the guest's hvc0, wired to the same host
 * terminal handling as the UART (devices/console.h): input through the Ctrl-A filter into the
 * receive queue, output from the transmit queue to stdout through the bounded, non-blocking
 * outbuf. Back-pressure both ways: output the host cannot take yet holds the transmit queue until
 * output_room; input finds no receive buffer and is left with the host (the console stops
 * reading stdin) until the driver posts buffers. With VIRTIO_CONSOLE_F_SIZE the guest knows the
 * terminal's size, updated on every resize.
 */
#ifndef KVMINI_DEVICES_VIRTIO_CONSOLE_H
#define KVMINI_DEVICES_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/virtio.h"
#include "vmm/mem/gmem.h"

#define VCON_QUEUE_SIZE 64

struct vcon;

/* The host end, as the device sees it. Any thread; the host serialises its own state. */
struct vcon_host {
    size_t (*write)(void *ctx, const void *buf, size_t len); /* takes what fits now */
    void (*rx_ready)(void *ctx); /* receive buffers were posted: input may flow again */
    void *ctx;
};

/*
 * Creates the device. has_size: the host end is a terminal whose size (cols x rows) the guest
 * may know (VIRTIO_CONSOLE_F_SIZE offered). 0 or -errno.
 */
int vcon_create(struct vcon **out, struct gmem *mem, const struct vcon_host *host, bool has_size,
                uint16_t cols, uint16_t rows);
void vcon_destroy(struct vcon *v);
struct virtio_dev *vcon_vdev(struct vcon *v);

/* Typed input for the guest: how many leading bytes it took (0: no receive buffer now). */
int vcon_receive(struct vcon *v, const uint8_t *buf, size_t len);
/* The host can take output again after a short write. */
void vcon_output_room(struct vcon *v);
/* The terminal was resized. */
void vcon_resize(struct vcon *v, uint16_t cols, uint16_t rows);

#endif
