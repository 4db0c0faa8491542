/* SPDX-License-Identifier: MIT */
/*
 * "--net tap=NAME": frames through a Linux TAP device, opened with IFF_NO_PI and IFF_VNET_HDR so
 * a virtio_net_hdr_v1 rides with every frame and checksum and segmentation offloads pass through
 * both ways, where the kernel accepts them (TUNSETOFFLOAD is asked, not assumed).
 */
#ifndef KVMINI_DEVICES_NET_TAP_H
#define KVMINI_DEVICES_NET_TAP_H

#include <stddef.h>

#include "devices/net/backend.h"

/*
 * Opens TAP device name: an existing one the user may open (`ip tuntap add ... user $USER`), or
 * a new one when kvmini has CAP_NET_ADMIN (then brought up; it goes away with kvmini). 0, or
 * -errno with one line in err naming the problem and the command that fixes it.
 */
int net_tap_create(struct net_backend **out, const char *name, char *err, size_t len);

#endif
